import { ITBSTATS_FUNCTIONS } from "../config/index.js";
import { ConfigError } from "../core/errors.js";
import type { Frame } from "../core/frame.js";
import { type FillPolicy, ForwardFill, fillGaps } from "./fill.js";
import type { FeatureGenerator, GeneratorConfig, GeneratorStream } from "./generator.js";
import { applyRelative, applyRelativeRow, parseRelativeParams, type RelativeParams } from "./relative.js";
import {
  area,
  fmax,
  lsbm,
  mean,
  minPeriods,
  pandasKurtosis,
  pandasSkew,
  RollingWindow,
  rolling,
  scipyKurtosis,
  scipySkew,
  slope,
  std,
  type WindowFn,
} from "./stats.js";

/**
 * The `itbstats` generator: rolling statistics over each window of each column, named
 * `<column>_<function>_<window>` (the function as written in the config), with pandas'
 * `rolling(w, min_periods=max(1, w // 2))` windows as the original uses, so the first rows get
 * values from partial windows.
 *
 * Functions (case-insensitive, as in the original):
 * - `scipy_skew`: `scipy.stats.skew(x, 0, bias)` with `bias` = `parameters.bias`, **default
 *   false** as in the original, so by default the bias-corrected estimator.
 * - `scipy_kurtosis`: the original calls `scipy.stats.kurtosis(x, 0, bias)`, whose third
 *   positional argument is `fisher`, not `bias`: the biased estimator, Pearson's (not excess,
 *   normal = 3) by default and Fisher's (excess) with `parameters.bias: true`. itb keeps these
 *   numbers so that models trained on the original's features still fit. Both scipy functions
 *   give NaN for a constant window.
 * - `pandas_skew`, `pandas_kurtosis`: `pd.Series(x).skew()` / `.kurtosis()` (always corrected);
 *   NaN below 3 / 4 values, 0 for a constant window.
 * - `mean`, `std`: `np.nanmean`, `np.nanstd` (ddof 0).
 * - `lsbm`: longest run below the window mean; `fmax`: first argmax / window length;
 *   `area`: sum(x − last) / sum(|x − last|); `slope`: least-squares slope per bar.
 *
 * Config: `columns` (a name or a list; the original used only the first — itb computes every
 * listed column), `functions`, `windows`, `parameters` (`rel_base`, `rel_func`, `percentage`,
 * `log` as for talib, see relative.ts, plus `bias`), and `fill` (`"ffill"`, default, or
 * `"linear"`) for gaps, as the talib generator: the original interpolates linearly, which looks
 * ahead across a gap; the live engine can only hold the last value.
 */

interface Plan {
  columns: string[];
  functions: { name: string; fn: WindowFn }[];
  windows: number[];
  params: RelativeParams;
  fill: FillPolicy;
}

const WHERE = "itbstats";

function kernel(name: string, bias: boolean): WindowFn {
  switch (name.toLowerCase()) {
    case "scipy_skew":
      return scipySkew(bias);
    case "pandas_skew":
      return pandasSkew;
    case "scipy_kurtosis":
      // The original calls stats.kurtosis(x, 0, bias): the third positional argument is `fisher`.
      return scipyKurtosis(bias, true);
    case "pandas_kurtosis":
      return pandasKurtosis;
    case "lsbm":
      return lsbm;
    case "fmax":
      return fmax;
    case "mean":
      return mean;
    case "std":
      return std;
    case "area":
      return area;
    case "slope":
      return slope;
    default:
      throw new ConfigError(
        `${WHERE}: unknown function "${name}"; available: ${ITBSTATS_FUNCTIONS.join(", ")}`,
      );
  }
}

function columnsOf(v: unknown): string[] {
  const list =
    typeof v === "string"
      ? [v]
      : Array.isArray(v)
        ? v
        : v && typeof v === "object"
          ? Object.values(v as Record<string, unknown>)
          : [];
  if (list.length === 0 || !list.every((c): c is string => typeof c === "string" && c.length > 0)) {
    throw new ConfigError(
      `${WHERE}: columns must be a column name or a non-empty list of names, found ${JSON.stringify(v)}`,
    );
  }
  return list;
}

function plan(config: GeneratorConfig): Plan {
  const params = config.parameters as Record<string, unknown> | undefined;
  const rel = parseRelativeParams(params, WHERE);
  const bias = params?.bias ?? false;
  if (typeof bias !== "boolean") {
    throw new ConfigError(`${WHERE}: parameters.bias must be true or false, found ${JSON.stringify(bias)}`);
  }
  const fnames = Array.isArray(config.functions) ? config.functions : [config.functions];
  if (fnames.length === 0 || !fnames.every((f): f is string => typeof f === "string")) {
    throw new ConfigError(
      `${WHERE}: functions must be a function name or a list of names, found ${JSON.stringify(config.functions)}`,
    );
  }
  const windows = Array.isArray(config.windows) ? config.windows : [config.windows];
  if (windows.length === 0 || !windows.every((w): w is number => Number.isInteger(w) && (w as number) >= 1)) {
    throw new ConfigError(
      `${WHERE}: windows must be a positive integer or a list of them, found ${JSON.stringify(config.windows)}`,
    );
  }
  const fill = config.fill ?? "ffill";
  if (fill !== "ffill" && fill !== "linear") {
    throw new ConfigError(`${WHERE}: fill must be "ffill" or "linear", found ${JSON.stringify(config.fill)}`);
  }
  return {
    columns: columnsOf(config.columns),
    functions: fnames.map((name) => ({ name, fn: kernel(name, bias) })),
    windows,
    params: rel,
    fill,
  };
}

export const itbstatsGenerator: FeatureGenerator = {
  inputs: (config) => plan(config).columns,

  outputs(config) {
    const p = plan(config);
    return p.columns.flatMap((c) => p.functions.flatMap((f) => p.windows.map((w) => `${c}_${f.name}_${w}`)));
  },

  /** From this bar on every window is complete in the stream, so it matches any longer batch. */
  warmup: (config) => Math.max(...plan(config).windows) - 1,

  batch(frame: Frame, config) {
    const p = plan(config);
    return p.columns.flatMap((c) => {
      const x = fillGaps(frame.get(c), p.fill);
      return p.functions.flatMap((f) =>
        applyRelative(
          p.windows.map((w) => rolling(x, w, f.fn)),
          p.params,
        ),
      );
    });
  },

  stream(config): GeneratorStream {
    const p = plan(config);
    const cap = Math.max(...p.windows);
    const cols = p.columns.map(() => ({ fill: new ForwardFill(), win: new RollingWindow(cap) }));
    const row = new Float64Array(p.windows.length);
    const rowOut = new Float64Array(p.windows.length);
    const mins = p.windows.map(minPeriods);
    return {
      next(values, out) {
        let at = 0;
        cols.forEach((c, k) => {
          c.win.push(c.fill.next(values[k] as number));
          for (const f of p.functions) {
            p.windows.forEach((w, j) => {
              row[j] = c.win.apply(w, f.fn, mins[j]);
            });
            applyRelativeRow(row, p.params, rowOut);
            out.set(rowOut, at);
            at += rowOut.length;
          }
        });
      },
    };
  },
};
