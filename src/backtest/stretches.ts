/**
 * The kernels of the backtest's fast paths: stretches of rows where nothing can happen (flat
 * without a signal that could open a position; in a position without a signal against it and
 * without a stop or take-profit reached) are run in tight loops over the columns that do exactly
 * the per-bar arithmetic that remains. The threshold search's engine and the Trader-driven
 * backtest share them; both are proven equal to their plain per-bar paths, bit for bit.
 */

// Slots of the state vector the stretch kernels share with the bar loops (a Float64Array holds doubles
// unboxed, and passing it to a call passes no double).
export const EQ_PREV = 0;
export const SUM_R = 1;
export const SUM_R2 = 2;
export const SUM_DOWN2 = 3;
export const PEAK = 4;
export const DD_FLOOR = 5;
export const MAX_DD = 6;
export const CASH = 7;
/** Signed position quantity (position × quantity). */
export const SIGNED_QTY = 8;
export const STOP_LEVEL = 9;
export const TAKE_PROFIT = 10;
export const BEST = 11;
export const STATE_SLOTS = 12;

/**
 * Rows [j, bound) of an open position without stops, up to the first with a signal against it
 * (`against`) or without a close: the marked equity and its return statistics, bit for bit as the
 * bar loop computes them. Returns the first row not done.
 */
export function holdRows(
  state: Float64Array,
  closes: Float64Array,
  against: Uint8Array,
  from: number,
  bound: number,
): number {
  const cash = state[CASH] as number;
  const signedQty = state[SIGNED_QTY] as number;
  let prevEquity = state[EQ_PREV] as number;
  let sumR = state[SUM_R] as number;
  let sumR2 = state[SUM_R2] as number;
  let sumDown2 = state[SUM_DOWN2] as number;
  let peak = state[PEAK] as number;
  let ddFloor = state[DD_FLOOR] as number;
  let maxDD = state[MAX_DD] as number;
  let j = from;
  for (; j < bound; j++) {
    if (against[j] !== 0) break;
    const marked = cash + signedQty * (closes[j] as number);
    // a NaN close (marked is NaN), or a zero or infinite equity: the bar loop's path
    if (!(Math.abs(marked) < Number.POSITIVE_INFINITY) || marked === 0) break;
    // The bar loop's update without its `marked !== prevEquity` test (a mispredicted branch:
    // equal closes are frequent): with marked finite and non-zero, marked === prevEquity gives
    // ret = +0, and adding +0 to sums that are never −0 changes no bit; marked is not above the
    // peak nor below the floor (both were updated with prevEquity).
    const ret = marked / prevEquity - 1;
    sumR += ret;
    sumR2 += ret * ret;
    const down = (ret - Math.abs(ret)) * 0.5;
    sumDown2 += down * down;
    prevEquity = marked;
    if (marked > peak) {
      peak = marked;
      ddFloor = marked * (1 - maxDD);
    } else if (marked < ddFloor) {
      maxDD = 1 - marked / peak;
      ddFloor = marked;
    }
  }
  state[EQ_PREV] = prevEquity;
  state[SUM_R] = sumR;
  state[SUM_R2] = sumR2;
  state[SUM_DOWN2] = sumDown2;
  state[PEAK] = peak;
  state[DD_FLOOR] = ddFloor;
  state[MAX_DD] = maxDD;
  return j;
}

/**
 * `holdRows` with stops: also stops at the first row whose range touches the stop or the
 * take-profit or beats the best price (the bar loop then checks it).
 */
export function holdRowsStops(
  state: Float64Array,
  closes: Float64Array,
  highs: Float64Array,
  lows: Float64Array,
  against: Uint8Array,
  long: boolean,
  from: number,
  bound: number,
): number {
  const cash = state[CASH] as number;
  const signedQty = state[SIGNED_QTY] as number;
  const stop = state[STOP_LEVEL] as number;
  const takeProfit = state[TAKE_PROFIT] as number;
  const best = state[BEST] as number;
  let prevEquity = state[EQ_PREV] as number;
  let sumR = state[SUM_R] as number;
  let sumR2 = state[SUM_R2] as number;
  let sumDown2 = state[SUM_DOWN2] as number;
  let peak = state[PEAK] as number;
  let ddFloor = state[DD_FLOOR] as number;
  let maxDD = state[MAX_DD] as number;
  let j = from;
  for (; j < bound; j++) {
    if (against[j] !== 0) break;
    const high = highs[j] as number;
    const low = lows[j] as number;
    if (
      long
        ? low <= stop || high >= takeProfit || high > best
        : high >= stop || low <= takeProfit || low < best
    )
      break;
    const marked = cash + signedQty * (closes[j] as number);
    if (!(Math.abs(marked) < Number.POSITIVE_INFINITY) || marked === 0) break; // as in holdRows
    const ret = marked / prevEquity - 1;
    sumR += ret;
    sumR2 += ret * ret;
    const down = (ret - Math.abs(ret)) * 0.5;
    sumDown2 += down * down;
    prevEquity = marked;
    if (marked > peak) {
      peak = marked;
      ddFloor = marked * (1 - maxDD);
    } else if (marked < ddFloor) {
      maxDD = 1 - marked / peak;
      ddFloor = marked;
    }
  }
  state[EQ_PREV] = prevEquity;
  state[SUM_R] = sumR;
  state[SUM_R2] = sumR2;
  state[SUM_DOWN2] = sumDown2;
  state[PEAK] = peak;
  state[DD_FLOOR] = ddFloor;
  state[MAX_DD] = maxDD;
  return j;
}

/**
 * The running drawdown of the closes of rows [from, to), state in `drawdown` = [peak, floor, maxDD]:
 * a new maximum is only possible below `floor`; NaN closes change nothing.
 */
export function drawdownOfCloses(
  closes: Float64Array,
  from: number,
  to: number,
  drawdown: Float64Array,
): void {
  let peak = drawdown[0] as number;
  let floor = drawdown[1] as number;
  let maxDD = drawdown[2] as number;
  for (let q = from; q < to; q++) {
    const close = closes[q] as number;
    if (close > peak) {
      peak = close;
      floor = close * (1 - maxDD);
    } else if (close < floor) {
      maxDD = 1 - close / peak;
      floor = close;
    }
  }
  drawdown[0] = peak;
  drawdown[1] = floor;
  drawdown[2] = maxDD;
}

/** The bytes of `a` as 32-bit words (the tail of fewer than 4 bytes left out), or null if unaligned. */
export function words(a: Uint8Array): Uint32Array | null {
  return a.byteOffset % 4 === 0 ? new Uint32Array(a.buffer, a.byteOffset, a.length >> 2) : null;
}

/** The first row in [j, bound) with a signal in `a` (bound if none); `w` is `words(a)`. */
export function nextSignal(a: Uint8Array, w: Uint32Array | null, from: number, bound: number): number {
  let j = from;
  if (w !== null) {
    for (; j < bound && (j & 3) !== 0; j++) if (a[j] !== 0) return j;
    // words wholly below bound, four rows at a time
    const end = bound >> 2;
    let i = j >> 2;
    while (i < end && w[i] === 0) i++;
    if (i > j >> 2) j = i << 2;
  }
  while (j < bound && a[j] === 0) j++;
  return j;
}

/** `nextSignal` over two columns: the first row with a signal in either. */
export function nextSignal2(
  a: Uint8Array,
  aw: Uint32Array | null,
  b: Uint8Array,
  bw: Uint32Array | null,
  from: number,
  bound: number,
): number {
  let j = from;
  if (aw !== null && bw !== null) {
    for (; j < bound && (j & 3) !== 0; j++) if (((a[j] as number) | (b[j] as number)) !== 0) return j;
    const end = bound >> 2;
    let i = j >> 2;
    while (i < end && ((aw[i] as number) | (bw[i] as number)) === 0) i++;
    if (i > j >> 2) j = i << 2;
  }
  while (j < bound && ((a[j] as number) | (b[j] as number)) === 0) j++;
  return j;
}

/** The first row in [from, to) whose time is at or after t (to if none); times ascend. */
export function firstRowAtOrAfter(time: Float64Array, t: number, from: number, to: number): number {
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((time[mid] as number) < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
