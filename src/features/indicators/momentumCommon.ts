/**
 * Running-window helpers shared by the momentum kernels. Everything here reproduces TA-Lib's C arithmetic
 * operation by operation (same order of additions and divisions), so results agree bit for bit
 * with the C library rather than merely within a tolerance.
 */

/**
 * Sliding-window extreme over the last `window` bars (monotonic deque, amortized O(1) per bar,
 * no allocation after construction). Among equal extremes the latest bar wins, which is the
 * index TA-Lib's AROON reports; STOCH and WILLR only use the value.
 */
export class WindowExtreme {
  private readonly idx: Float64Array;
  private readonly vals: Float64Array;
  /** Ring capacity - 1 (capacity is a power of two above `window`). */
  private readonly mask: number;
  private head = 0;
  /** One past the last element (head === tail: empty). */
  private tail = 0;

  constructor(
    private readonly window: number,
    private readonly isMax: boolean,
  ) {
    let cap = 2;
    while (cap <= window) cap *= 2;
    this.mask = cap - 1;
    this.idx = new Float64Array(cap);
    this.vals = new Float64Array(cap);
  }

  /** Adds bar `i` (bars are pushed in increasing order) and drops bars before `i - window + 1`. */
  push(i: number, v: number): void {
    const mask = this.mask;
    const idx = this.idx;
    const vals = this.vals;
    let head = this.head;
    let tail = this.tail;
    const first = i - this.window + 1;
    while (head !== tail && (idx[head] as number) < first) head = (head + 1) & mask;
    if (this.isMax) {
      while (head !== tail && (vals[(tail - 1) & mask] as number) <= v) tail = (tail - 1) & mask;
    } else {
      while (head !== tail && (vals[(tail - 1) & mask] as number) >= v) tail = (tail - 1) & mask;
    }
    idx[tail] = i;
    vals[tail] = v;
    this.tail = (tail + 1) & mask;
    this.head = head;
  }

  get value(): number {
    return this.vals[this.head] as number;
  }

  get index(): number {
    return this.idx[this.head] as number;
  }
}

/**
 * TA_INT_EMA as a running state: the first value is the simple average of the first `period`
 * inputs (summed in order, then divided), after that prev + (x - prev) * k, written as TA-Lib
 * writes it. `next` returns NaN until `period` inputs have been seen.
 */
export class SeededEma {
  private count = 0;
  private acc = 0;

  constructor(
    private readonly period: number,
    private readonly k: number,
  ) {}

  next(x: number): number {
    if (this.count >= this.period) {
      this.acc = (x - this.acc) * this.k + this.acc;
      return this.acc;
    }
    this.acc += x;
    this.count++;
    if (this.count < this.period) return Number.NaN;
    this.acc = this.acc / this.period;
    return this.acc;
  }
}

/**
 * Batch TA_INT_EMA over `x[from..n)`: writes out[from + period - 1 ..) and leaves the rest
 * untouched. Same arithmetic as `SeededEma`.
 */
export function emaInto(x: Float64Array, from: number, period: number, k: number, out: Float64Array): void {
  const n = x.length;
  const first = from + period - 1;
  if (first >= n) return;
  let acc = 0;
  for (let i = from; i <= first; i++) acc += x[i] as number;
  acc = acc / period;
  out[first] = acc;
  for (let i = first + 1; i < n; i++) {
    acc = ((x[i] as number) - acc) * k + acc;
    out[i] = acc;
  }
}

/** TA-Lib's PER_TO_K: 2 / (period + 1). */
export function perToK(period: number): number {
  return 2.0 / (period + 1);
}
