import type { Frame } from "../core/frame.js";
import type { GeneratorConfig } from "../features/generator.js";
import { LabelConfig } from "./config.js";
import type { LabelGenerator } from "./types.js";

/**
 * `highlow2`: did the price reach the take-profit before the stop-loss within `horizon` bars?
 *
 * For `function: "high"` and threshold T (percent), row t is 1 when some bar j in t+1..t+horizon
 * has high[j] > close[t]·(1 + T/100) and no bar before j has low < close[t]·(1 + S/100), where
 * S = round(−T·tolerance, 6) (the original's stop, e.g. −0.4 for T = 2, tolerance 0.2). A stop
 * touched in bar j itself does not count against it (the original's `first <= second`). Mirrored
 * for `"low"`: low < close·(1 − T/100) before high > close·(1 + T·tolerance/100). Comparisons are
 * strict and the levels are computed exactly as the original computes them.
 *
 * Deliberate differences from the original:
 * - The last `horizon` rows are NaN (their window is incomplete), not false.
 * - A NaN close gives NaN (the original's rolling function returned offset 0 for it, i.e. true).
 * - A NaN high or low inside the window crosses nothing (the original's `argmax` could report
 *   a NaN first bar as a cross at offset 0).
 *
 * The kernel finds each first crossing by scanning bars, skipping whole aligned blocks of
 * 2^shift bars (shift ≈ log2 √horizon) whose maximum (or minimum) stays on the near side of the
 * level: O(√horizon) steps per row instead of O(horizon), and memory for one value per block.
 */

/** Per-block maxima (or minima) of x over aligned blocks of 2^shift values; NaN is ignored. */
export class BlockExtremes {
  readonly values: Float64Array;
  readonly shift: number;

  constructor(x: Float64Array, shift: number, isMax: boolean) {
    this.shift = shift;
    const n = x.length;
    const nb = (n + (1 << shift) - 1) >> shift;
    const out = new Float64Array(nb);
    for (let b = 0; b < nb; b++) {
      const end = Math.min(n, (b + 1) << shift);
      let m = isMax ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
      if (isMax) {
        for (let i = b << shift; i < end; i++) {
          const v = x[i] as number;
          if (v > m) m = v;
        }
      } else {
        for (let i = b << shift; i < end; i++) {
          const v = x[i] as number;
          if (v < m) m = v;
        }
      }
      out[b] = m;
    }
    this.values = out;
  }
}

/** The block size used for a horizon: about √horizon, a power of two from 4 to 256. */
export function blockShift(horizon: number): number {
  return Math.min(8, Math.max(2, Math.round(Math.log2(Math.sqrt(horizon)))));
}

/** First i in [s, e] with x[i] > level (NaN never is), or -1; `bx` holds x's block maxima. */
function firstAbove(x: Float64Array, bx: BlockExtremes, s: number, e: number, level: number): number {
  const shift = bx.shift;
  const mask = (1 << shift) - 1;
  const bv = bx.values;
  let i = s;
  for (; i <= e && (i & mask) !== 0; i++) if ((x[i] as number) > level) return i;
  while (i + mask <= e && !((bv[i >> shift] as number) > level)) i += mask + 1;
  for (; i <= e; i++) if ((x[i] as number) > level) return i;
  return -1;
}

/** First i in [s, e] with x[i] < level (NaN never is), or -1; `bx` holds x's block minima. */
function firstBelow(x: Float64Array, bx: BlockExtremes, s: number, e: number, level: number): number {
  const shift = bx.shift;
  const mask = (1 << shift) - 1;
  const bv = bx.values;
  let i = s;
  for (; i <= e && (i & mask) !== 0; i++) if ((x[i] as number) < level) return i;
  while (i + mask <= e && !((bv[i >> shift] as number) < level)) i += mask + 1;
  for (; i <= e; i++) if ((x[i] as number) < level) return i;
  return -1;
}

/** Python's `round(x, 6)` (an exact binary tie at the 7th decimal rounds half up here, not half-even). */
function round6(x: number): number {
  return Number(x.toFixed(6));
}

/**
 * One highlow2 label column. `threshold` is the take-profit in percent (its sign is ignored and
 * set by `up`), `tolerance` the stop as a fraction of it. `blocks` may be shared between calls
 * over the same columns and horizon.
 */
export function highlow2Kernel(
  close: Float64Array,
  high: Float64Array,
  low: Float64Array,
  horizon: number,
  threshold: number,
  tolerance: number,
  up: boolean,
  blocks?: { highs: BlockExtremes; lows: BlockExtremes },
): Float64Array {
  const n = close.length;
  const out = new Float64Array(n).fill(Number.NaN);
  const thr = up ? Math.abs(threshold) : -Math.abs(threshold);
  const stop = round6(-thr * tolerance);
  const f1 = 1 + thr / 100;
  const f2 = 1 + stop / 100;
  const shift = blockShift(horizon);
  const highs = blocks?.highs ?? new BlockExtremes(high, shift, true);
  const lows = blocks?.lows ?? new BlockExtremes(low, shift, false);
  for (let t = 0; t + horizon < n; t++) {
    const c = close[t] as number;
    if (Number.isNaN(c)) continue;
    const s = t + 1;
    const take = c * f1;
    // The first bar crossing the take-profit, then: did the stop cross strictly before it?
    const j = up
      ? firstAbove(high, highs, s, t + horizon, take)
      : firstBelow(low, lows, s, t + horizon, take);
    if (j < 0) {
      out[t] = 0;
      continue;
    }
    const stopLevel = c * f2;
    const k = up ? firstBelow(low, lows, s, j - 1, stopLevel) : firstAbove(high, highs, s, j - 1, stopLevel);
    out[t] = k < 0 ? 1 : 0;
  }
  return out;
}

interface Plan {
  columns: [string, string, string];
  up: boolean;
  thresholds: number[];
  tolerance: number;
  horizon: number;
  names: string[];
}

function plan(config: GeneratorConfig): Plan {
  const c = new LabelConfig("highlow2", config);
  const columns = c.columns("columns", 3, "close, high, low") as [string, string, string];
  const up = c.oneOf("function", ["high", "low"] as const) === "high";
  const thresholds = c.numbers("thresholds");
  if (thresholds.some((t) => t === 0)) c.fail("thresholds", "non-zero percentages");
  const tolerance = c.number("tolerance", 0);
  const horizon = c.positiveInt("horizon");
  const names = c.names("names", thresholds.length, "threshold");
  return { columns, up, thresholds, tolerance, horizon, names };
}

export const highlow2: LabelGenerator = {
  inputs: (config) => plan(config).columns,
  outputs: (config) => plan(config).names,
  horizon: (config) => plan(config).horizon,
  batch(frame: Frame, config) {
    const p = plan(config);
    const [close, high, low] = p.columns.map((col) => frame.get(col)) as [
      Float64Array,
      Float64Array,
      Float64Array,
    ];
    const shift = blockShift(p.horizon);
    const blocks = {
      highs: new BlockExtremes(high, shift, true),
      lows: new BlockExtremes(low, shift, false),
    };
    return p.thresholds.map((t) => highlow2Kernel(close, high, low, p.horizon, t, p.tolerance, p.up, blocks));
  },
};
