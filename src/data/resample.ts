import { Frame } from "../core/frame.js";

/** How a kline column aggregates when bars are combined into a coarser bar. */
type Agg = "first" | "last" | "max" | "min" | "sum";

const KLINE_AGG: Record<string, Agg> = {
  open: "first",
  high: "max",
  low: "min",
  close: "last",
  volume: "sum",
  close_time: "last",
  quote_av: "sum",
  trades: "sum",
  tb_base_av: "sum",
  tb_quote_av: "sum",
};

const WEEK_MS = 604_800_000;
/** Binance weeks start on Monday 00:00 UTC; the epoch was a Thursday, so shift by four days. */
const WEEK_OFFSET_MS = 4 * 86_400_000;

/** Open time of the coarser bar that holds a bar opening at `t`. */
export function bucketStart(t: number, stepMs: number): number {
  const offset = stepMs === WEEK_MS ? WEEK_OFFSET_MS : 0;
  return Math.floor((t - offset) / stepMs) * stepMs + offset;
}

/**
 * The most common spacing between consecutive rows: the frame's native bar size. Gaps (halts)
 * make some spacings longer, so the mode, not the minimum or the mean, is the honest estimate.
 */
export function nativeStep(time: Float64Array): number | undefined {
  if (time.length < 2) return undefined;
  const counts = new Map<number, number>();
  const n = Math.min(time.length, 10_001);
  for (let i = 1; i < n; i++) {
    const d = (time[i] as number) - (time[i - 1] as number);
    counts.set(d, (counts.get(d) ?? 0) + 1);
  }
  let best: number | undefined;
  let bestCount = 0;
  for (const [d, c] of counts) {
    if (c > bestCount) {
      best = d;
      bestCount = c;
    }
  }
  return best;
}

/**
 * Aggregates candles onto a coarser step (e.g. 1m → 1h) with the exchange's OHLCV rules: open of
 * the first bar, max high, min low, close of the last bar, summed volumes and trade counts.
 * Columns it does not know take the last value. A coarse bar is emitted when at least one fine
 * bar falls into it, so a bar over a partial halt is built from what the exchange published.
 */
export function resampleKlines(frame: Frame, stepMs: number): Frame {
  const t = frame.time;
  const n = t.length;
  // First pass: count buckets so the output arrays are allocated once.
  let buckets = 0;
  let prev = Number.NaN;
  for (let i = 0; i < n; i++) {
    const b = bucketStart(t[i] as number, stepMs);
    if (b !== prev) {
      buckets++;
      prev = b;
    }
  }
  const time = new Float64Array(buckets);
  const starts = new Int32Array(buckets + 1);
  prev = Number.NaN;
  let k = -1;
  for (let i = 0; i < n; i++) {
    const b = bucketStart(t[i] as number, stepMs);
    if (b !== prev) {
      k++;
      time[k] = b;
      starts[k] = i;
      prev = b;
    }
  }
  starts[buckets] = n;
  const out = new Frame(time);
  for (const [name, src] of frame.columns()) {
    const agg = KLINE_AGG[name] ?? "last";
    const dst = new Float64Array(buckets);
    for (let j = 0; j < buckets; j++) {
      const a = starts[j] as number;
      const e = starts[j + 1] as number;
      let v = agg === "last" ? (src[e - 1] as number) : (src[a] as number);
      if (agg === "sum") for (let i = a + 1; i < e; i++) v += src[i] as number;
      else if (agg === "max") for (let i = a + 1; i < e; i++) v = Math.max(v, src[i] as number);
      else if (agg === "min") for (let i = a + 1; i < e; i++) v = Math.min(v, src[i] as number);
      dst[j] = v;
    }
    out.set(name, dst);
  }
  return out;
}
