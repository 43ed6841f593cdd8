import type { Frame } from "../core/frame.js";
import type { GeneratorConfig } from "../features/generator.js";
import { LabelConfig } from "./config.js";
import type { LabelGenerator } from "./types.js";

/**
 * `highlow`, the original's older label set (`generate_labels_highlow`). With h = `horizon`:
 *
 * - hi[t] = 100·(max(high[t+1..t+h]) − close[t]) / close[t], lo[t] likewise with min(low).
 * - `high_10` … `high_30`: hi ≥ 1.0, 1.5, 2.0, 2.5, 3.0 (some high reaches the threshold);
 *   `high_01` … `high_05`: hi ≤ 0.1 … 0.5 (every high stays under it);
 *   `low_01` … `low_05`: lo ≥ −0.1 … −0.5; `low_10` … `low_30`: lo ≤ −1.0 … −3.0.
 * - `high_max_<h>` = max(hi, 0) and `low_min_<h>` = −min(lo, 0): the original returns these two
 *   columns after clipping them in place, so its output holds the clipped values.
 * - `high_to_low_<h>` = 2·max(hi,0) / (max(hi,0) − min(lo,0)) − 1 in [−1, +1] (NaN when both
 *   are 0). The original computes this ratio but leaves it out of its returned list; itb returns
 *   it as the last column.
 *
 * Config: `horizon`, and optionally `columns` [close, high, low] (the original hard-codes these
 * names). Unlike the original (false), a label whose future window is incomplete (the last h
 * rows) or holds a NaN price is NaN.
 */

const HIGH_UP = [1.0, 1.5, 2.0, 2.5, 3.0];
const HIGH_UP_NAMES = ["high_10", "high_15", "high_20", "high_25", "high_30"];
const HIGH_UNDER = [0.1, 0.2, 0.3, 0.4, 0.5];
const HIGH_UNDER_NAMES = ["high_01", "high_02", "high_03", "high_04", "high_05"];
const LOW_OVER = [-0.1, -0.2, -0.3, -0.4, -0.5];
const LOW_OVER_NAMES = ["low_01", "low_02", "low_03", "low_04", "low_05"];
const LOW_DOWN = [-1.0, -1.5, -2.0, -2.5, -3.0];
const LOW_DOWN_NAMES = ["low_10", "low_15", "low_20", "low_25", "low_30"];

/**
 * out[t] = max (or min) of x[t+1 .. t+h], NaN when that window runs past the end or holds a NaN.
 * A monotonic deque: O(n).
 */
export function futureExtreme(x: Float64Array, h: number, isMax: boolean): Float64Array {
  const n = x.length;
  const out = new Float64Array(n).fill(Number.NaN);
  const dq = new Int32Array(n);
  let head = 0;
  let tail = 0;
  let lastNaN = -1;
  for (let i = 0; i < n; i++) {
    const v = x[i] as number;
    if (Number.isNaN(v)) lastNaN = i;
    else {
      while (tail > head) {
        const u = x[dq[tail - 1] as number] as number;
        if (isMax ? u <= v : u >= v) tail--;
        else break;
      }
      dq[tail++] = i;
    }
    while (head < tail && (dq[head] as number) <= i - h) head++;
    // Window i−h+1 .. i belongs to row t = i − h.
    const t = i - h;
    if (t >= 0 && lastNaN < t + 1) out[t] = x[dq[head] as number] as number;
  }
  return out;
}

function relative(f: Float64Array, close: Float64Array): Float64Array {
  const out = new Float64Array(f.length);
  for (let t = 0; t < f.length; t++) {
    const c = close[t] as number;
    out[t] = (100.0 * ((f[t] as number) - c)) / c;
  }
  return out;
}

function compare(x: Float64Array, threshold: number, atLeast: boolean): Float64Array {
  const out = new Float64Array(x.length);
  for (let t = 0; t < x.length; t++) {
    const v = x[t] as number;
    out[t] = Number.isNaN(v) ? Number.NaN : (atLeast ? v >= threshold : v <= threshold) ? 1 : 0;
  }
  return out;
}

interface Plan {
  columns: [string, string, string];
  horizon: number;
}

function plan(config: GeneratorConfig): Plan {
  const c = new LabelConfig("highlow", config);
  return {
    columns: c.columns("columns", 3, "close, high, low", ["close", "high", "low"]) as [
      string,
      string,
      string,
    ],
    horizon: c.positiveInt("horizon"),
  };
}

export const highlow: LabelGenerator = {
  inputs: (config) => plan(config).columns,
  outputs(config) {
    const h = plan(config).horizon;
    return [
      `high_max_${h}`,
      ...HIGH_UP_NAMES,
      ...HIGH_UNDER_NAMES,
      `low_min_${h}`,
      ...LOW_OVER_NAMES,
      ...LOW_DOWN_NAMES,
      `high_to_low_${h}`,
    ];
  },
  horizon: (config) => plan(config).horizon,
  batch(frame: Frame, config) {
    const p = plan(config);
    const [close, high, low] = p.columns.map((col) => frame.get(col)) as [
      Float64Array,
      Float64Array,
      Float64Array,
    ];
    const hi = relative(futureExtreme(high, p.horizon, true), close);
    const lo = relative(futureExtreme(low, p.horizon, false), close);
    const n = close.length;
    const hiClip = new Float64Array(n);
    const loClip = new Float64Array(n);
    const ratio = new Float64Array(n);
    for (let t = 0; t < n; t++) {
      const a = hi[t] as number;
      const b = lo[t] as number;
      const hc = Math.max(a, 0);
      const lc = -Math.min(b, 0);
      hiClip[t] = hc;
      loClip[t] = lc;
      ratio[t] = (hc / (hc + lc)) * 2 - 1;
    }
    return [
      hiClip,
      ...HIGH_UP.map((thr) => compare(hi, thr, true)),
      ...HIGH_UNDER.map((thr) => compare(hi, thr, false)),
      loClip,
      ...LOW_OVER.map((thr) => compare(lo, thr, true)),
      ...LOW_DOWN.map((thr) => compare(lo, thr, false)),
      ratio,
    ];
  },
};
