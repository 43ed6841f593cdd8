import { configKeys, SmoothenConfigSchema } from "../config/index.js";
import type { ConfigReader } from "./parse.js";
import type { SignalGenerator, SignalKernel } from "./types.js";
import { EwmMean, RollingMean } from "./windows.js";

/**
 * `smoothen` (the original's generate_smoothen_scores): the row-wise mean of `columns` (NaN
 * skipped; NaN when all are NaN), binarised to 1/0 by `point_threshold` when it is set
 * (mean >= threshold; a NaN mean gives 0), then smoothed over time by `window`:
 *   - an integer → rolling mean with min_periods = floor(window / 2);
 *   - a non-integer number (3.5), or an integer with `"ewm": true` → exponential mean with
 *     span = window, adjust = False, min_periods = floor(window / 2).
 * JSON cannot tell 3.0 from 3, so the original's float window 3.0 is written here as
 * `"window": 3, "ewm": true`.
 */
export interface SmoothenConfig {
  columns: string[];
  name: string;
  pointThreshold: number | undefined;
  window: { kind: "rolling" | "ewm"; size: number } | undefined;
}

const KEYS = configKeys(SmoothenConfigSchema);

export function parseSmoothen(c: ConfigReader): SmoothenConfig {
  c.allowOnly(KEYS);
  const columns = c.columns("columns", { min: 1, max: Number.POSITIVE_INFINITY, allowString: true });
  const name = c.name("names");
  const pointThreshold = c.truthyNumber("point_threshold");
  const ewm = c.optionalBoolean("ewm");
  const w = c.raw("window");
  let window: SmoothenConfig["window"];
  if (w === undefined || w === null) {
    if (ewm === true) c.fail("ewm", "needs a window (the span)");
  } else {
    if (typeof w !== "number" || !Number.isFinite(w) || w < 1) {
      c.fail(
        "window",
        `expected a number >= 1 (integer: rolling mean; fraction or "ewm": true: exponential mean), got ${JSON.stringify(w)}`,
      );
    }
    window = { kind: ewm === true || !Number.isInteger(w) ? "ewm" : "rolling", size: w };
  }
  return { columns, name, pointThreshold, window };
}

/**
 * Mean of the row's values skipping NaN, as pandas' `mean(axis=1, skipna=True)` computes it:
 * NaN replaced by 0, summed in column order starting from the first column, divided by the
 * count of non-NaN values.
 */
function rowMean(values: ArrayLike<number>): number {
  let sum = 0;
  let count = 0;
  for (let k = 0; k < values.length; k++) {
    const v = values[k] as number;
    // biome-ignore lint/suspicious/noSelfCompare: the NaN test, cheaper than a call in this loop.
    const filled = v === v ? v : 0;
    sum = k === 0 ? filled : sum + filled;
    // biome-ignore lint/suspicious/noSelfCompare: the NaN test.
    if (v === v) count++;
  }
  return count === 0 ? Number.NaN : sum / count;
}

function windowKernel(w: SmoothenConfig["window"]): ((x: number) => number) | undefined {
  if (w === undefined) return undefined;
  const minPeriods = Math.floor(w.size / 2);
  const k = w.kind === "rolling" ? new RollingMean(w.size, minPeriods) : new EwmMean(w.size, minPeriods);
  return (x) => k.update(x);
}

export function smoothenGenerator(cfg: SmoothenConfig): SignalGenerator {
  const thr = cfg.pointThreshold;
  const point = (row: ArrayLike<number>): number => {
    const m = rowMean(row);
    return thr === undefined ? m : m >= thr ? 1 : 0;
  };
  return {
    inputs: cfg.columns,
    outputs: [cfg.name],
    roles: [undefined],
    batch(inputs) {
      const n = inputs[0]?.length ?? 0;
      const out = new Float64Array(n);
      const row = new Float64Array(inputs.length);
      for (let i = 0; i < n; i++) {
        for (let k = 0; k < inputs.length; k++) row[k] = (inputs[k] as Float64Array)[i] as number;
        out[i] = point(row);
      }
      const smooth = windowKernel(cfg.window);
      if (smooth) for (let i = 0; i < n; i++) out[i] = smooth(out[i] as number);
      return [out];
    },
    stream(): SignalKernel {
      const smooth = windowKernel(cfg.window);
      return {
        next(inputs, out) {
          const p = point(inputs);
          out[0] = smooth ? smooth(p) : p;
        },
      };
    },
  };
}
