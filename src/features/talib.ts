import { ConfigError } from "../core/errors.js";
import type { Frame } from "../core/frame.js";
import { type FillPolicy, ForwardFill, fillGaps } from "./fill.js";
import type { FeatureGenerator, GeneratorConfig, GeneratorStream } from "./generator.js";
import {
  computeIndicator,
  getIndicator,
  type Indicator,
  type IndicatorStream,
  type Options,
  resolveOptions,
  streamIndicator,
} from "./indicators/index.js";
import { applyRelative, applyRelativeRow, parseRelativeParams, type RelativeParams } from "./relative.js";

/** A `talib` feature set that cannot run as configured: a config mistake, exit status 2. */
export class FeatureConfigError extends ConfigError {}

/** Output-name suffixes for multi-output functions, as users of the original name them. */
const SUFFIX: Record<string, string> = { upperband: "upper", middleband: "middle", lowerband: "lower" };

interface Call {
  ind: Indicator;
  opts: Options;
  /** Index into the plan's input columns, per indicator input. */
  inputIdx: number[];
  /** True for window 1 on a single input: the (filled) input itself, as the original does. */
  identity: boolean;
  names: string[];
}

/** One function's calls (one per window) and the relative post-processing applied across them. */
interface FunctionPlan {
  calls: Call[];
}

interface Plan {
  columns: string[];
  functions: FunctionPlan[];
  params: RelativeParams;
  fill: FillPolicy;
}

function asList<T>(v: T | T[] | undefined | null): (T | undefined)[] {
  if (v === undefined || v === null) return [undefined];
  return Array.isArray(v) ? v : [v];
}

/**
 * Maps the set's `columns` onto the indicator's inputs: a `{input: column}` map as given; one
 * column to a single-input function; a list positionally onto the inputs (ATR's high/low/close,
 * OBV's real/volume, BETA's real0/real1).
 */
function bindColumns(ind: Indicator, columns: unknown): [string, string][] {
  if (typeof columns === "string") columns = [columns];
  if (Array.isArray(columns)) {
    const cols = columns as string[];
    if (cols.length !== ind.inputs.length) {
      throw new FeatureConfigError(
        `talib ${ind.name} takes ${ind.inputs.length} input column(s) (${ind.inputs.join(", ")}), but columns lists ${cols.length}: ${cols.join(", ")}`,
      );
    }
    return ind.inputs.map((inp, k) => [inp, cols[k] as string]);
  }
  if (columns && typeof columns === "object") {
    const map = columns as Record<string, string>;
    return ind.inputs.map((inp) => {
      const col = map[inp];
      if (col === undefined) {
        throw new FeatureConfigError(
          `talib ${ind.name}: columns has no entry for input "${inp}" (it takes ${ind.inputs.join(", ")})`,
        );
      }
      return [inp, col];
    });
  }
  throw new FeatureConfigError(
    "talib: columns must be a column name, a list of names or an {input: column} map",
  );
}

function plan(config: GeneratorConfig): Plan {
  const columnsCfg = config.columns;
  const functions = asList(config.functions as string | string[] | undefined).filter(
    (f): f is string => typeof f === "string",
  );
  if (functions.length === 0) throw new FeatureConfigError("talib: no functions given");
  const windows = asList(config.windows as number | (number | null)[] | undefined);
  const names = config.names as string | string[] | undefined;
  const args = (config.args ?? {}) as Record<string, unknown>;
  const fill = (config.fill ?? "ffill") as FillPolicy;
  if (fill !== "ffill" && fill !== "linear") {
    throw new FeatureConfigError(
      `talib: fill must be "ffill" or "linear", found ${JSON.stringify(config.fill)}`,
    );
  }
  const columns: string[] = [];
  const colIndex = (c: string): number => {
    let i = columns.indexOf(c);
    if (i < 0) i = columns.push(c) - 1;
    return i;
  };
  const fplans: FunctionPlan[] = functions.map((fname) => {
    const ind = getIndicator(fname);
    const bound = bindColumns(ind, columnsCfg);
    const colOut = bound.map(([, c]) => c).join("_");
    const calls = windows.map((w, j): Call => {
      const given: Record<string, unknown> = { ...args };
      if (w) {
        if (!ind.options.some((o) => o.name === "timeperiod")) {
          throw new FeatureConfigError(
            `talib ${ind.name} has no timeperiod, so windows cannot be set; use args`,
          );
        }
        given.timeperiod = w;
      }
      const identity = w === 1 && bound.length === 1 && ind.outputs.length === 1;
      const opts = identity ? {} : resolveOptions(ind, given);
      let base: string;
      if (!w) base = !names ? `${colOut}_${ind.name}` : Array.isArray(names) ? (names[j] ?? "") : names;
      else if (!names) base = `${colOut}_${ind.name}_${w}`;
      else if (typeof names === "string") base = `${colOut}_${ind.name}_${names}_${w}`;
      else base = names[j] ?? `${colOut}_${ind.name}_${w}`;
      const outNames =
        identity || ind.outputs.length === 1 ? [base] : ind.outputs.map((o) => `${base}_${SUFFIX[o] ?? o}`);
      return { ind, opts, inputIdx: bound.map(([, c]) => colIndex(c)), identity, names: outNames };
    });
    return { calls };
  });
  return {
    columns,
    functions: fplans,
    params: parseRelativeParams(config.parameters, "talib"),
    fill,
  };
}

/**
 * The original's `parameters` across a function's windows (relative to the next/last/prev/first
 * window, percentage, log), once per output of a multi-output function. Output order: window by
 * window, each window's outputs in the function's order, as the names are listed.
 */
function postProcess(outs: Float64Array[][], params: RelativeParams): Float64Array[] {
  if (!params.rel_base && !params.percentage && !params.log) return outs.flat();
  const perOutput = outs[0]?.length ?? 0;
  const result: Float64Array[][] = outs.map(() => []);
  for (let k = 0; k < perOutput; k++) {
    const rel = applyRelative(
      outs.map((o) => o[k] as Float64Array),
      params,
    );
    rel.forEach((series, w) => {
      (result[w] as Float64Array[]).push(series);
    });
  }
  return result.flat();
}

/** The fill policy of a `talib` set's inputs (a bad one is a FeatureConfigError). */
export function talibFill(config: GeneratorConfig): FillPolicy {
  return plan(config).fill;
}

export const talibGenerator: FeatureGenerator = {
  inputs: (config) => plan(config).columns,
  outputs: (config) => plan(config).functions.flatMap((f) => f.calls.flatMap((c) => c.names)),
  warmup: (config) =>
    Math.max(
      0,
      ...plan(config).functions.flatMap((f) => f.calls.map((c) => (c.identity ? 0 : c.ind.lookback(c.opts)))),
    ),

  batch(frame: Frame, config) {
    const pl = plan(config);
    const inputs = pl.columns.map((c) => fillGaps(frame.get(c), pl.fill));
    return pl.functions.flatMap((fp) => {
      const outs = fp.calls.map((c) =>
        c.identity
          ? [new Float64Array(inputs[c.inputIdx[0] as number] as Float64Array)]
          : computeIndicator(
              c.ind,
              c.inputIdx.map((i) => inputs[i] as Float64Array),
              c.opts,
            ),
      );
      return postProcess(outs, pl.params);
    });
  },

  stream(config): GeneratorStream {
    const pl = plan(config);
    const fills = pl.columns.map(() => new ForwardFill());
    const filled = new Float64Array(pl.columns.length);
    const functions = pl.functions.map((fp) => {
      const calls = fp.calls.map((c) => ({
        call: c,
        s: c.identity ? undefined : (streamIndicator(c.ind, c.opts) as IndicatorStream),
        vals: new Float64Array(c.inputIdx.length),
        out: new Float64Array(c.identity ? 1 : c.ind.outputs.length),
      }));
      const perOutput = calls[0]?.out.length ?? 0;
      return {
        calls,
        perOutput,
        across: new Float64Array(calls.length),
        rel: new Float64Array(calls.length),
      };
    });
    return {
      next(values, out) {
        for (let i = 0; i < fills.length; i++)
          filled[i] = (fills[i] as ForwardFill).next(values[i] as number);
        let base = 0;
        for (const f of functions) {
          for (const c of f.calls) {
            if (c.s === undefined) c.out[0] = filled[c.call.inputIdx[0] as number] as number;
            else {
              for (let k = 0; k < c.vals.length; k++)
                c.vals[k] = filled[c.call.inputIdx[k] as number] as number;
              c.s.next(c.vals, c.out);
            }
          }
          for (let k = 0; k < f.perOutput; k++) {
            for (let w = 0; w < f.calls.length; w++)
              f.across[w] = (f.calls[w]?.out[k] ?? Number.NaN) as number;
            applyRelativeRow(f.across, pl.params, f.rel);
            for (let w = 0; w < f.calls.length; w++) out[base + w * f.perOutput + k] = f.rel[w] as number;
          }
          base += f.calls.length * f.perOutput;
        }
      },
    };
  },
};
