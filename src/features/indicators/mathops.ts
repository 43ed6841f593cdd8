import { defineIndicator, input, iopt, nanPrefix, scalarStream, timeperiod } from "./indicatorKit.js";
import { RunningSumStream, runningSum } from "./ma.js";
import type { Indicator, IndicatorStream } from "./types.js";

/**
 * TA-Lib's MAX, MIN, MAXINDEX, MININDEX and SUM.
 *
 * TA-Lib's MAX keeps (highestIdx, highest): a new value >= highest takes over (so a tie moves the
 * index to the newest bar), and when highestIdx leaves the window it rescans the window from its
 * oldest bar, taking the first strict maximum (so a tie keeps the oldest bar). That rescan is
 * O(period); here a monotonic deque of candidates answers it in O(1) amortized with the same
 * index, NaN included (NaN never wins a comparison, but a NaN oldest bar seeds the rescan and so
 * becomes the result, as in TA-Lib's loop).
 */

// ---------------------------------------------------------------------------------------------
// Batch kernels

/** TA_MAX / TA_MAXINDEX into `outV` / `outI` (either may be undefined). */
export function maxCore(
  real: Float64Array,
  period: number,
  outV: Float64Array | undefined,
  outI: Float64Array | undefined,
): void {
  const n = real.length;
  const lb = period - 1;
  const dq = new Int32Array(n);
  let head = 0;
  let tail = 0;
  let hiIdx = -1;
  let hi = 0;
  for (let today = 0; today < n; today++) {
    const v = real[today] as number;
    if (!Number.isNaN(v)) {
      while (tail > head && (real[dq[tail - 1] as number] as number) < v) tail--;
      dq[tail++] = today;
    }
    if (today < lb) continue;
    const trailing = today - lb;
    while (head < tail && (dq[head] as number) < trailing) head++;
    if (hiIdx < trailing) {
      const tv = real[trailing] as number;
      hiIdx = Number.isNaN(tv) ? trailing : (dq[head] as number);
      hi = real[hiIdx] as number;
    } else if (v >= hi) {
      hiIdx = today;
      hi = v;
    }
    if (outV) outV[today] = hi;
    if (outI) outI[today] = hiIdx;
  }
}

/** TA_MIN / TA_MININDEX into `outV` / `outI` (either may be undefined). */
export function minCore(
  real: Float64Array,
  period: number,
  outV: Float64Array | undefined,
  outI: Float64Array | undefined,
): void {
  const n = real.length;
  const lb = period - 1;
  const dq = new Int32Array(n);
  let head = 0;
  let tail = 0;
  let loIdx = -1;
  let lo = 0;
  for (let today = 0; today < n; today++) {
    const v = real[today] as number;
    if (!Number.isNaN(v)) {
      while (tail > head && (real[dq[tail - 1] as number] as number) > v) tail--;
      dq[tail++] = today;
    }
    if (today < lb) continue;
    const trailing = today - lb;
    while (head < tail && (dq[head] as number) < trailing) head++;
    if (loIdx < trailing) {
      const tv = real[trailing] as number;
      loIdx = Number.isNaN(tv) ? trailing : (dq[head] as number);
      lo = real[loIdx] as number;
    } else if (v <= lo) {
      loIdx = today;
      lo = v;
    }
    if (outV) outV[today] = lo;
    if (outI) outI[today] = loIdx;
  }
}

/**
 * The window's highest (isMax) or lowest value as MIDPOINT/MIDPRICE compute it: a scan seeded
 * with the oldest bar, so a NaN oldest bar gives NaN and other NaNs are skipped.
 */
export function windowExtreme(real: Float64Array, period: number, isMax: boolean): Float64Array {
  const n = real.length;
  const lb = period - 1;
  const out = nanPrefix(n, lb);
  const dq = new Int32Array(n);
  let head = 0;
  let tail = 0;
  for (let today = 0; today < n; today++) {
    const v = real[today] as number;
    if (!Number.isNaN(v)) {
      if (isMax) while (tail > head && (real[dq[tail - 1] as number] as number) < v) tail--;
      else while (tail > head && (real[dq[tail - 1] as number] as number) > v) tail--;
      dq[tail++] = today;
    }
    if (today < lb) continue;
    const trailing = today - lb;
    while (head < tail && (dq[head] as number) < trailing) head++;
    const tv = real[trailing] as number;
    out[today] = Number.isNaN(tv) ? tv : (real[dq[head] as number] as number);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Streams

/**
 * A sliding window of the last `period` values with a monotonic deque of candidate indices
 * (NaN never enters the deque). Indices are absolute bar numbers of the stream.
 */
export class MonoDeque {
  private readonly vals: Float64Array;
  private readonly idx: Float64Array;
  private head = 0;
  private size = 0;
  constructor(
    private readonly period: number,
    private readonly isMax: boolean,
  ) {
    this.vals = new Float64Array(period);
    this.idx = new Float64Array(period);
  }
  /** Adds bar t (bars must come as 0, 1, 2, ...), dropping bars older than t-period+1. */
  push(t: number, v: number): void {
    const p = this.period;
    const idx = this.idx;
    const vals = this.vals;
    const trailing = t - p + 1;
    while (this.size > 0 && (idx[this.head] as number) < trailing) {
      this.head = this.head + 1 === p ? 0 : this.head + 1;
      this.size--;
    }
    vals[t % p] = v;
    if (Number.isNaN(v)) return;
    if (this.isMax) {
      while (this.size > 0 && (vals[(idx[(this.head + this.size - 1) % p] as number) % p] as number) < v) {
        this.size--;
      }
    } else {
      while (this.size > 0 && (vals[(idx[(this.head + this.size - 1) % p] as number) % p] as number) > v) {
        this.size--;
      }
    }
    idx[(this.head + this.size) % p] = t;
    this.size++;
  }
  /** The value of bar j, which must be within the last `period` bars. */
  value(j: number): number {
    return this.vals[j % this.period] as number;
  }
  /** The first bar holding the window's extreme (NaN skipped), or -1 if the window is all NaN. */
  front(): number {
    return this.size > 0 ? (this.idx[this.head] as number) : -1;
  }
  /** The window extreme as MIDPOINT/MIDPRICE compute it (NaN if the oldest bar t-period+1 is NaN). */
  extreme(t: number): number {
    const tv = this.value(t - this.period + 1);
    return Number.isNaN(tv) ? tv : this.value(this.front());
  }
}

/** Streaming MAX/MIN/MAXINDEX/MININDEX: TA-Lib's state machine over a MonoDeque. */
class ExtremeStream implements IndicatorStream {
  private readonly dq: MonoDeque;
  private count = 0;
  private bestIdx = -1;
  private best = 0;
  constructor(
    private readonly period: number,
    private readonly isMax: boolean,
    private readonly wantIndex: boolean,
  ) {
    this.dq = new MonoDeque(period, isMax);
  }
  next(values: ArrayLike<number>, out: Float64Array): void {
    const v = values[0] as number;
    const t = this.count++;
    this.dq.push(t, v);
    const trailing = t - this.period + 1;
    if (trailing < 0) {
      out[0] = Number.NaN;
      return;
    }
    if (this.bestIdx < trailing) {
      const tv = this.dq.value(trailing);
      this.bestIdx = Number.isNaN(tv) ? trailing : this.dq.front();
      this.best = this.dq.value(this.bestIdx);
    } else if (this.isMax ? v >= this.best : v <= this.best) {
      this.bestIdx = t;
      this.best = v;
    }
    out[0] = this.wantIndex ? this.bestIdx : this.best;
  }
}

// ---------------------------------------------------------------------------------------------
// Indicator definitions

function extremeIndicator(name: string, isMax: boolean, wantIndex: boolean): Indicator {
  return defineIndicator({
    name,
    inputs: ["real"],
    options: [timeperiod(30)],
    outputs: [wantIndex ? "integer" : "real"],
    indexOutputs: wantIndex,
    lookback: (o) => iopt(o, "timeperiod") - 1,
    batch: (ins, o) => {
      const real = input(ins, 0);
      const p = iopt(o, "timeperiod");
      const out = nanPrefix(real.length, p - 1);
      const core = isMax ? maxCore : minCore;
      if (wantIndex) core(real, p, undefined, out);
      else core(real, p, out, undefined);
      return [out];
    },
    stream: (o) => new ExtremeStream(iopt(o, "timeperiod"), isMax, wantIndex),
  });
}

export const MATHOPS_INDICATORS: readonly Indicator[] = [
  extremeIndicator("MAX", true, false),
  extremeIndicator("MIN", false, false),
  extremeIndicator("MAXINDEX", true, true),
  extremeIndicator("MININDEX", false, true),
  defineIndicator({
    name: "SUM",
    inputs: ["real"],
    options: [timeperiod(30)],
    outputs: ["real"],
    lookback: (o) => iopt(o, "timeperiod") - 1,
    batch: (ins, o) => [runningSum(input(ins, 0), iopt(o, "timeperiod"), 1)],
    stream: (o) => scalarStream(new RunningSumStream(iopt(o, "timeperiod"), 1)),
  }),
];
