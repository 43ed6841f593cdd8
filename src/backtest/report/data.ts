import type { Bars, Trade } from "../types.js";

/**
 * Display-side reduction of a run for the report: a year of 1-minute bars (525k rows) is far
 * more than a chart can show, so bars are grouped into time buckets of a "nice" length (5m, 1h,
 * 1d, ...) chosen so that at most `maxBuckets` buckets remain. The numbers in the tables never
 * go through here; only the charts do.
 */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const NICE_MS = [
  MINUTE,
  2 * MINUTE,
  3 * MINUTE,
  5 * MINUTE,
  10 * MINUTE,
  15 * MINUTE,
  30 * MINUTE,
  HOUR,
  2 * HOUR,
  4 * HOUR,
  6 * HOUR,
  8 * HOUR,
  12 * HOUR,
  DAY,
  2 * DAY,
  3 * DAY,
  7 * DAY,
];

/** Contiguous groups of source rows: bucket k holds rows [starts[k], starts[k + 1]). */
export interface Buckets {
  /** Bucket length in ms; 0 when every row is its own bucket (no aggregation). */
  bucketMs: number;
  /** count + 1 entries; the last is the number of source rows. */
  starts: Int32Array;
  /** Each bucket's time (ms): its aligned start, or the row's own time without aggregation. */
  time: Float64Array;
}

export function bucketCount(b: Buckets): number {
  return b.starts.length - 1;
}

/** The smallest positive step between consecutive times (the bar length), 0 with < 2 rows. */
export function inferBarMs(time: Float64Array): number {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 1; i < time.length; i++) {
    const d = (time[i] as number) - (time[i - 1] as number);
    if (d > 0 && d < best) best = d;
  }
  return Number.isFinite(best) ? best : 0;
}

function countBuckets(time: Float64Array, ms: number): number {
  let count = 0;
  let prev = Number.NaN;
  for (let i = 0; i < time.length; i++) {
    const k = Math.floor((time[i] as number) / ms);
    if (k !== prev) {
      count++;
      prev = k;
    }
  }
  return count;
}

/**
 * Buckets for ascending `time`: identity when there are at most `maxBuckets` rows, otherwise the
 * shortest nice bucket length (longer than the bar) that leaves at most `maxBuckets` buckets
 * aligned to the epoch (UTC midnight for days; weeks past 7 days double until they fit).
 */
export function chooseBuckets(time: Float64Array, maxBuckets: number, barMs = inferBarMs(time)): Buckets {
  const n = time.length;
  if (!(maxBuckets >= 1)) throw new RangeError(`maxBuckets must be >= 1, got ${maxBuckets}`);
  if (n <= maxBuckets) {
    const starts = new Int32Array(n + 1);
    for (let i = 0; i <= n; i++) starts[i] = i;
    return { bucketMs: 0, starts, time: Float64Array.from(time) };
  }
  const first = time[0] as number;
  const last = time[n - 1] as number;
  const fits = (ms: number): boolean =>
    Math.floor(last / ms) - Math.floor(first / ms) + 1 <= maxBuckets || countBuckets(time, ms) <= maxBuckets;
  let ms = NICE_MS.find((c) => c > barMs && fits(c));
  if (ms === undefined) {
    ms = Math.max(7 * DAY, barMs * 2);
    while (!fits(ms)) ms *= 2;
  }
  const startsList: number[] = [];
  const times: number[] = [];
  let prev = Number.NaN;
  for (let i = 0; i < n; i++) {
    const k = Math.floor((time[i] as number) / ms);
    if (k !== prev) {
      startsList.push(i);
      times.push(k * ms);
      prev = k;
    }
  }
  startsList.push(n);
  return { bucketMs: ms, starts: Int32Array.from(startsList), time: Float64Array.from(times) };
}

/** OHLC per bucket: first open, highest high, lowest low, last close (NaN rows ignored). */
export function aggregateOhlc(bars: Bars, b: Buckets): Bars {
  const m = bucketCount(b);
  const out: Bars = {
    time: Float64Array.from(b.time),
    open: new Float64Array(m),
    high: new Float64Array(m),
    low: new Float64Array(m),
    close: new Float64Array(m),
  };
  for (let k = 0; k < m; k++) {
    const s = b.starts[k] as number;
    const e = b.starts[k + 1] as number;
    let open = Number.NaN;
    let high = Number.NEGATIVE_INFINITY;
    let low = Number.POSITIVE_INFINITY;
    let close = Number.NaN;
    for (let i = s; i < e; i++) {
      const o = bars.open[i] as number;
      const h = bars.high[i] as number;
      const l = bars.low[i] as number;
      const c = bars.close[i] as number;
      if (Number.isNaN(open) && !Number.isNaN(o)) open = o;
      if (h > high) high = h;
      if (l < low) low = l;
      if (!Number.isNaN(c)) close = c;
    }
    out.open[k] = open;
    out.high[k] = Number.isFinite(high) ? high : Number.NaN;
    out.low[k] = Number.isFinite(low) ? low : Number.NaN;
    out.close[k] = close;
  }
  return out;
}

/** The last non-NaN value of each bucket (NaN when the bucket has none). */
export function lastPerBucket(values: Float64Array, b: Buckets): Float64Array {
  const m = bucketCount(b);
  const out = new Float64Array(m).fill(Number.NaN);
  for (let k = 0; k < m; k++) {
    for (let i = (b.starts[k + 1] as number) - 1; i >= (b.starts[k] as number); i--) {
      const v = values[i] as number;
      if (!Number.isNaN(v)) {
        out[k] = v;
        break;
      }
    }
  }
  return out;
}

/** The smallest value of each bucket (NaN when the bucket has no value). */
export function minPerBucket(values: Float64Array, b: Buckets): Float64Array {
  const m = bucketCount(b);
  const out = new Float64Array(m);
  for (let k = 0; k < m; k++) {
    let lo = Number.POSITIVE_INFINITY;
    for (let i = b.starts[k] as number; i < (b.starts[k + 1] as number); i++) {
      const v = values[i] as number;
      if (v < lo) lo = v;
    }
    out[k] = Number.isFinite(lo) ? lo : Number.NaN;
  }
  return out;
}

/** Bucket index of a source row (binary search over the bucket starts). */
export function bucketOf(b: Buckets, row: number): number {
  let lo = 0;
  let hi = bucketCount(b) - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((b.starts[mid] as number) <= row) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * Drawdown of each row below the running peak of `equity`, in percent (0 or negative). The peak
 * starts at `initialPeak` (the initial capital), as in the engine's max drawdown.
 */
export function drawdownPct(equity: Float64Array, initialPeak = Number.NEGATIVE_INFINITY): Float64Array {
  const out = new Float64Array(equity.length);
  let peak = initialPeak;
  for (let i = 0; i < equity.length; i++) {
    const e = equity[i] as number;
    if (e > peak) peak = e;
    out[i] = peak > 0 && !Number.isNaN(e) ? (e / peak - 1) * 100 : Number.NaN;
  }
  return out;
}

/**
 * Buy and hold with the same starting capital, as the engine's metrics define it: bought at the
 * first bar's open (the first bar with an open price) and marked to each close.
 */
export function buyHoldEquity(bars: Bars, capital: number): Float64Array {
  const n = bars.close.length;
  const out = new Float64Array(n).fill(Number.NaN);
  let ref = Number.NaN;
  let last = Number.NaN;
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(ref)) {
      const o = bars.open[i] as number;
      if (o > 0) ref = o;
    }
    const c = bars.close[i] as number;
    if (!Number.isNaN(c)) last = c;
    out[i] = Number.isNaN(ref) ? capital : (capital * last) / ref;
  }
  return out;
}

export interface ChartMarker {
  /** Seconds (lightweight-charts' UTCTimestamp) of the bucket holding the fill. */
  time: number;
  position: "aboveBar" | "belowBar";
  shape: "arrowUp" | "arrowDown";
  color: string;
  text?: string;
}

const BUY_COLOR = "#1b9e4b";
const SELL_COLOR = "#d63b3b";

/**
 * One marker per fill (entry and exit of each trade), placed on the bucket holding the fill,
 * sorted by time as lightweight-charts requires. A buy (long entry, short exit) is an up arrow
 * below the bar, a sell an arrow down above it. Only the first `maxMarkers` fills are kept.
 */
export function tradeMarkers(
  trades: readonly Trade[],
  b: Buckets,
  maxMarkers: number,
  withText: boolean,
): { markers: ChartMarker[]; total: number } {
  const total = trades.length * 2;
  const markers: ChartMarker[] = [];
  const marker = (row: number, buy: boolean, text: string): ChartMarker => {
    const m: ChartMarker = {
      time: Math.floor((b.time[bucketOf(b, row)] as number) / 1000),
      position: buy ? "belowBar" : "aboveBar",
      shape: buy ? "arrowUp" : "arrowDown",
      color: buy ? BUY_COLOR : SELL_COLOR,
    };
    if (withText) m.text = text;
    return m;
  };
  for (const t of trades) {
    if (markers.length >= maxMarkers) break;
    const long = t.side === "long";
    markers.push(marker(t.entryIndex, long, long ? "buy" : "short"));
    if (markers.length >= maxMarkers) break;
    markers.push(marker(t.exitIndex, !long, long ? "sell" : "cover"));
  }
  markers.sort((a, z) => a.time - z.time);
  return { markers, total };
}

/** Rounds to `digits` significant digits for chart series (keeps the page small); NaN → null. */
export function chartValues(values: Float64Array, digits = 10): (number | null)[] {
  const out: (number | null)[] = new Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    out[i] = Number.isFinite(v) ? Number(v.toPrecision(digits)) : null;
  }
  return out;
}
