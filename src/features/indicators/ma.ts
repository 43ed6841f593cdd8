import { CHUNK_ROWS, nanPrefix, TA_EPSILON, uninitNanPrefix } from "./indicatorKit.js";
import { IndicatorError } from "./registry.js";
import { runKernel } from "./wasmKernels.js";

/**
 * TA-Lib's moving averages (TA_MA and the functions it dispatches to), as batch kernels over
 * Float64Array and O(1) streaming twins. Each kernel repeats TA-Lib's C arithmetic in the same
 * order (running sums included), so batch results equal TA-Lib's bit for bit on x86-64, and each
 * stream repeats the batch arithmetic, so it equals the batch bit for bit.
 *
 * Kernels return a full-length array with NaN before the lookback; TA-Lib's "classic"
 * compatibility (EMA seeded with the SMA of the first `period` values) and unstable period 0.
 */

/** TA-Lib's TA_MAType codes, as Python talib's `matype` takes them. */
export const MA_TYPE = {
  SMA: 0,
  EMA: 1,
  WMA: 2,
  DEMA: 3,
  TEMA: 4,
  TRIMA: 5,
  KAMA: 6,
  MAMA: 7,
  T3: 8,
} as const;

/** The scalar streaming interface of a moving average: NaN until warm, then the batch value. */
export interface ScalarStream {
  next(x: number): number;
}

/** T3's volume factor when it runs as an MA type (TA_MA passes 0.7). */
const MA_T3_VFACTOR = 0.7;

/** Throws unless `matype` is one of the MA types itb implements (0..6 and 8). */
export function checkMaType(matype: number): void {
  if (matype === MA_TYPE.MAMA) throw new IndicatorError("MA type 7 (MAMA) is not supported");
  if (!Number.isInteger(matype) || matype < 0 || matype > 8) {
    throw new IndicatorError(
      `MA type ${matype} is not valid; use 0 SMA, 1 EMA, 2 WMA, 3 DEMA, 4 TEMA, 5 TRIMA, 6 KAMA or 8 T3`,
    );
  }
}

function checkPeriod(period: number, min: number): void {
  if (!Number.isInteger(period) || period < min || period > 100000) {
    throw new IndicatorError(`MA period must be an integer from ${min} to 100000, found ${period}`);
  }
}

/** TA_MA_Lookback: the first valid index of `maBatch(matype, ·, period)`. */
export function maLookback(matype: number, period: number): number {
  checkMaType(matype);
  checkPeriod(period, 1);
  if (period <= 1) return 0;
  switch (matype) {
    case MA_TYPE.DEMA:
      return 2 * (period - 1);
    case MA_TYPE.TEMA:
      return 3 * (period - 1);
    case MA_TYPE.KAMA:
      return period;
    case MA_TYPE.T3:
      return 6 * (period - 1);
    default:
      return period - 1;
  }
}

/** TA_MA: the moving average of type `matype`; period 1 returns a copy of the input. */
export function maBatch(matype: number, real: Float64Array, period: number): Float64Array {
  checkMaType(matype);
  checkPeriod(period, 1);
  // `| 0`: a period that arrives as a boxed double would make the kernels' loops float64.
  const p = period | 0;
  if (p === 1) return Float64Array.from(real);
  switch (matype | 0) {
    case MA_TYPE.SMA:
      return sma(real, p);
    case MA_TYPE.EMA:
      return ema(real, p);
    case MA_TYPE.WMA:
      return wma(real, p);
    case MA_TYPE.DEMA:
      return dema(real, p);
    case MA_TYPE.TEMA:
      return tema(real, p);
    case MA_TYPE.TRIMA:
      return trima(real, p);
    case MA_TYPE.KAMA:
      return kama(real, p);
    default:
      return t3(real, p, MA_T3_VFACTOR);
  }
}

/** The streaming twin of `maBatch`. */
export function maStream(matype: number, period: number): ScalarStream {
  checkMaType(matype);
  checkPeriod(period, 1);
  const p = period | 0;
  if (p === 1) return new IdentityStream();
  switch (matype | 0) {
    case MA_TYPE.SMA:
      return new RunningSumStream(p, p);
    case MA_TYPE.EMA:
      return new EmaStream(p);
    case MA_TYPE.WMA:
      return new WmaStream(p);
    case MA_TYPE.DEMA:
      return new DemaStream(p);
    case MA_TYPE.TEMA:
      return new TemaStream(p);
    case MA_TYPE.TRIMA:
      return new TrimaStream(p);
    case MA_TYPE.KAMA:
      return new KamaStream(p);
    default:
      return new T3Stream(p, MA_T3_VFACTOR);
  }
}

// ---------------------------------------------------------------------------------------------
// SMA

/** TA_SMA (TA_INT_SMA): a running sum, the leaving value subtracted after each output. */
export function sma(real: Float64Array, period: number): Float64Array {
  return runningSum(real, period, period);
}

/**
 * TA-Lib's running window sum divided by `divisor` (TA_SUM with 1, TA_SMA with the period): the
 * leaving value is subtracted after each output, in TA-Lib's order, so both are bit-exact.
 */
export function runningSum(real: Float64Array, period: number, divisor: number): Float64Array {
  const n = real.length;
  const lb = period - 1;
  const out = uninitNanPrefix(n, lb); // every position from lb on is written below
  if (n <= lb) return out;
  let total = 0;
  for (let i = 0; i < lb; i++) total += real[i] as number;
  const st = new Float64Array([total]);
  if (runKernel("sum", [real], [out], lb, lb, st, divisor)) return out;
  for (let i = lb; i < n; i += CHUNK_ROWS)
    runningSumChunk(real, out, st, i, Math.min(n, i + CHUNK_ROWS), lb, divisor);
  return out;
}

/** runningSum's loop over rows [i0, i1); st = [total]. */
function runningSumChunk(
  real: Float64Array,
  out: Float64Array,
  st: Float64Array,
  i0: number,
  i1: number,
  lb: number,
  divisor: number,
): void {
  let total = st[0] as number;
  for (let i = i0, trailing = i0 - lb; i < i1; i++, trailing++) {
    total += real[i] as number;
    out[i] = total / divisor;
    total -= real[trailing] as number;
  }
  st[0] = total;
}

/**
 * The streaming twin of `runningSum`: the window's total divided by `divisor` (1 for TA_SUM, the
 * period for TA_SMA), the leaving value subtracted after each output as the batch kernel does.
 */
export class RunningSumStream implements ScalarStream {
  private readonly buf: Float64Array;
  private pos = 0;
  private count = 0;
  private total = 0;
  constructor(
    private readonly period: number,
    private readonly divisor: number,
  ) {
    this.buf = new Float64Array(period);
  }
  next(x: number): number {
    const p = this.period;
    const buf = this.buf;
    buf[this.pos] = x;
    let nextPos = this.pos + 1;
    if (nextPos === p) nextPos = 0;
    this.pos = nextPos;
    this.total += x;
    if (this.count < p) {
      this.count++;
      if (this.count < p) return Number.NaN;
    }
    const out = this.total / this.divisor;
    this.total -= buf[nextPos] as number;
    return out;
  }
}

class IdentityStream implements ScalarStream {
  next(x: number): number {
    return x;
  }
}

// ---------------------------------------------------------------------------------------------
// EMA, DEMA, TEMA

/** TA-Lib's PER_TO_K. */
export function perToK(period: number): number {
  return 2.0 / (period + 1);
}

/**
 * TA_INT_EMA over src[from..n): seeded with the mean of src[from..from+period), then
 * prev = (x - prev) * k + prev; writes out[from+period-1..n) and nothing else.
 */
export function emaRange(
  src: Float64Array,
  from: number,
  period: number,
  k: number,
  out: Float64Array,
): void {
  const n = src.length;
  const first = from + period - 1;
  if (first >= n) return;
  let sum = 0;
  for (let i = from; i <= first; i++) sum += src[i] as number;
  const st = new Float64Array([sum / period]);
  out[first] = st[0] as number;
  if (runKernel("ema", [src], [out], first + 1, 0, st, k)) return;
  for (let i = first + 1; i < n; i += CHUNK_ROWS) emaChunk(src, out, st, i, Math.min(n, i + CHUNK_ROWS), k);
}

/** emaRange's loop over rows [i0, i1); st = [prev]. */
function emaChunk(
  src: Float64Array,
  out: Float64Array,
  st: Float64Array,
  i0: number,
  i1: number,
  k: number,
): void {
  let prev = st[0] as number;
  for (let i = i0; i < i1; i++) {
    prev = ((src[i] as number) - prev) * k + prev;
    out[i] = prev;
  }
  st[0] = prev;
}

/** TA_EMA. */
export function ema(real: Float64Array, period: number): Float64Array {
  const out = uninitNanPrefix(real.length, period - 1); // emaRange writes the rest
  emaRange(real, 0, period, perToK(period), out);
  return out;
}

export class EmaStream implements ScalarStream {
  private count = 0;
  private prev = 0;
  private readonly k: number;
  constructor(private readonly period: number) {
    this.k = perToK(period);
  }
  next(x: number): number {
    if (this.count >= this.period) {
      this.prev = (x - this.prev) * this.k + this.prev;
      return this.prev;
    }
    this.prev += x; // the seed's running sum while warming up
    if (++this.count < this.period) return Number.NaN;
    this.prev = this.prev / this.period;
    return this.prev;
  }
}

/** TA_DEMA: 2·EMA − EMA(EMA), each EMA seeded with its own SMA. */
export function dema(real: Float64Array, period: number): Float64Array {
  const n = real.length;
  const lbEma = period - 1;
  const out = nanPrefix(n, 2 * lbEma);
  if (n <= 2 * lbEma) return out;
  const k = perToK(period);
  const e1 = new Float64Array(n);
  emaRange(real, 0, period, k, e1);
  const e2 = new Float64Array(n);
  emaRange(e1, lbEma, period, k, e2);
  for (let i = 2 * lbEma; i < n; i++) out[i] = 2.0 * (e1[i] as number) - (e2[i] as number);
  return out;
}

export class DemaStream implements ScalarStream {
  private readonly e1: EmaStream;
  private readonly e2: EmaStream;
  constructor(period: number) {
    this.e1 = new EmaStream(period);
    this.e2 = new EmaStream(period);
  }
  next(x: number): number {
    const a = this.e1.next(x);
    if (Number.isNaN(a)) return Number.NaN;
    const b = this.e2.next(a);
    if (Number.isNaN(b)) return Number.NaN;
    return 2.0 * a - b;
  }
}

/** TA_TEMA: EMA3 + (3·EMA1 − 3·EMA2). */
export function tema(real: Float64Array, period: number): Float64Array {
  const n = real.length;
  const lbEma = period - 1;
  const out = nanPrefix(n, 3 * lbEma);
  if (n <= 3 * lbEma) return out;
  const k = perToK(period);
  const e1 = new Float64Array(n);
  emaRange(real, 0, period, k, e1);
  const e2 = new Float64Array(n);
  emaRange(e1, lbEma, period, k, e2);
  const e3 = new Float64Array(n);
  emaRange(e2, 2 * lbEma, period, k, e3);
  for (let i = 3 * lbEma; i < n; i++) {
    out[i] = (e3[i] as number) + (3.0 * (e1[i] as number) - 3.0 * (e2[i] as number));
  }
  return out;
}

export class TemaStream implements ScalarStream {
  private readonly e1: EmaStream;
  private readonly e2: EmaStream;
  private readonly e3: EmaStream;
  constructor(period: number) {
    this.e1 = new EmaStream(period);
    this.e2 = new EmaStream(period);
    this.e3 = new EmaStream(period);
  }
  next(x: number): number {
    const a = this.e1.next(x);
    if (Number.isNaN(a)) return Number.NaN;
    const b = this.e2.next(a);
    if (Number.isNaN(b)) return Number.NaN;
    const c = this.e3.next(b);
    if (Number.isNaN(c)) return Number.NaN;
    return c + (3.0 * a - 3.0 * b);
  }
}

// ---------------------------------------------------------------------------------------------
// WMA

/** TA_WMA: periodSum carries weights 1..p; periodSub (the plain sum) is removed after each output. */
export function wma(real: Float64Array, periodIn: number): Float64Array {
  const period = periodIn | 0;
  const n = real.length;
  const lb = period - 1;
  const out = nanPrefix(n, lb);
  if (n <= lb) return out;
  const divider = (period * (period + 1)) >> 1;
  let periodSum = 0;
  let periodSub = 0;
  for (let i = 0; i < lb; i++) {
    const v = real[i] as number;
    periodSub += v;
    periodSum += v * (i + 1);
  }
  let trailingValue = 0;
  for (let i = lb, trailing = 0; i < n; i++, trailing++) {
    const v = real[i] as number;
    periodSub += v;
    periodSub -= trailingValue;
    periodSum += v * period;
    trailingValue = real[trailing] as number;
    out[i] = periodSum / divider;
    periodSum -= periodSub;
  }
  return out;
}

export class WmaStream implements ScalarStream {
  private readonly buf: Float64Array;
  private readonly divider: number;
  private pos = 0;
  private count = 0;
  private periodSum = 0;
  private periodSub = 0;
  private trailingValue = 0;
  constructor(private readonly period: number) {
    this.buf = new Float64Array(period);
    this.divider = (period * (period + 1)) >> 1;
  }
  next(x: number): number {
    const p = this.period;
    this.buf[this.pos] = x;
    let nextPos = this.pos + 1;
    if (nextPos === p) nextPos = 0;
    this.pos = nextPos;
    if (this.count < p - 1) {
      this.count++;
      this.periodSub += x;
      this.periodSum += x * this.count;
      return Number.NaN;
    }
    this.periodSub += x;
    this.periodSub -= this.trailingValue;
    this.periodSum += x * p;
    this.trailingValue = this.buf[nextPos] as number;
    const out = this.periodSum / this.divider;
    this.periodSum -= this.periodSub;
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// TRIMA

/**
 * TA_TRIMA: an SMA of an SMA kept as one numerator with two running halves (numeratorSub over the
 * older half, numeratorAdd over the newer); odd and even periods differ in the order of step 2.
 */
export function trima(real: Float64Array, period: number): Float64Array {
  const n = real.length;
  const lb = period - 1;
  const out = nanPrefix(n, lb);
  if (n <= lb) return out;
  const odd = period % 2 === 1;
  const half = period >> 1;
  const factor = 1.0 / (odd ? (half + 1) * (half + 1) : half * (half + 1));
  let trailingIdx = 0;
  let middleIdx = odd ? half : half - 1;
  let todayIdx = middleIdx + half;
  let numerator = 0;
  let numeratorSub = 0;
  for (let i = middleIdx; i >= trailingIdx; i--) {
    numeratorSub += real[i] as number;
    numerator += numeratorSub;
  }
  let numeratorAdd = 0;
  middleIdx++;
  for (let i = middleIdx; i <= todayIdx; i++) {
    numeratorAdd += real[i] as number;
    numerator += numeratorAdd;
  }
  let outIdx = lb;
  let t = real[trailingIdx++] as number;
  out[outIdx++] = numerator * factor;
  todayIdx++;
  if (odd) {
    while (todayIdx < n) {
      numerator -= numeratorSub;
      numeratorSub -= t;
      t = real[middleIdx++] as number;
      numeratorSub += t;
      numerator += numeratorAdd;
      numeratorAdd -= t;
      t = real[todayIdx++] as number;
      numeratorAdd += t;
      numerator += t;
      t = real[trailingIdx++] as number;
      out[outIdx++] = numerator * factor;
    }
  } else {
    while (todayIdx < n) {
      numerator -= numeratorSub;
      numeratorSub -= t;
      t = real[middleIdx++] as number;
      numeratorSub += t;
      numeratorAdd -= t;
      numerator += numeratorAdd;
      t = real[todayIdx++] as number;
      numeratorAdd += t;
      numerator += t;
      t = real[trailingIdx++] as number;
      out[outIdx++] = numerator * factor;
    }
  }
  return out;
}

export class TrimaStream implements ScalarStream {
  private readonly buf: Float64Array;
  private readonly odd: boolean;
  private readonly half: number;
  private readonly factor: number;
  private count = 0;
  private numerator = 0;
  private numeratorSub = 0;
  private numeratorAdd = 0;
  /** TA-Lib's tempReal carried between iterations: the value that left the window. */
  private saved = 0;
  constructor(private readonly period: number) {
    this.buf = new Float64Array(period);
    this.odd = period % 2 === 1;
    this.half = period >> 1;
    this.factor = 1.0 / (this.odd ? (this.half + 1) * (this.half + 1) : this.half * (this.half + 1));
  }
  next(x: number): number {
    const p = this.period;
    const buf = this.buf;
    const t = this.count++; // index of x
    buf[t % p] = x;
    if (t < p - 1) return Number.NaN;
    if (t === p - 1) {
      let middle = this.odd ? this.half : this.half - 1;
      let num = 0;
      let sub = 0;
      for (let i = middle; i >= 0; i--) {
        sub += buf[i] as number;
        num += sub;
      }
      let add = 0;
      middle++;
      for (let i = middle; i <= p - 1; i++) {
        add += buf[i] as number;
        num += add;
      }
      this.numerator = num;
      this.numeratorSub = sub;
      this.numeratorAdd = add;
      this.saved = buf[0] as number;
      return num * this.factor;
    }
    this.numerator -= this.numeratorSub;
    this.numeratorSub -= this.saved;
    const mid = buf[(t - this.half) % p] as number;
    this.numeratorSub += mid;
    if (this.odd) {
      this.numerator += this.numeratorAdd;
      this.numeratorAdd -= mid;
    } else {
      this.numeratorAdd -= mid;
      this.numerator += this.numeratorAdd;
    }
    this.numeratorAdd += x;
    this.numerator += x;
    this.saved = buf[(t + 1) % p] as number; // x[t-p+1], the oldest value of the window
    return this.numerator * this.factor;
  }
}

// ---------------------------------------------------------------------------------------------
// KAMA

const KAMA_CONST_MAX = 2.0 / (30.0 + 1.0);
const KAMA_CONST_DIFF = 2.0 / (2.0 + 1.0) - KAMA_CONST_MAX;

/** KAMA's squared smoothing constant from the efficiency ratio (TA-Lib's exact steps). */
function kamaSmoothing(sumROC1: number, periodROC: number): number {
  let er: number;
  if (sumROC1 <= periodROC || (-TA_EPSILON < sumROC1 && sumROC1 < TA_EPSILON)) er = 1.0;
  else er = Math.abs(periodROC / sumROC1);
  const sc = er * KAMA_CONST_DIFF + KAMA_CONST_MAX;
  return sc * sc;
}

/** TA_KAMA: Kaufman's adaptive MA, fast 2 / slow 30, first value at index `period`. */
export function kama(real: Float64Array, period: number): Float64Array {
  const n = real.length;
  const lb = period;
  const out = nanPrefix(n, lb);
  if (n <= lb) return out;
  let sumROC1 = 0;
  let today = 0;
  let trailingIdx = 0;
  for (let i = 0; i < period; i++) {
    let v = real[today++] as number;
    v -= real[today] as number;
    sumROC1 += Math.abs(v);
  }
  let prevKAMA = real[today - 1] as number;
  let v = real[today] as number;
  let v2 = real[trailingIdx++] as number;
  let periodROC = v - v2;
  let trailingValue = v2;
  let sc = kamaSmoothing(sumROC1, periodROC);
  prevKAMA = ((real[today++] as number) - prevKAMA) * sc + prevKAMA;
  out[lb] = prevKAMA;
  while (today < n) {
    v = real[today] as number;
    v2 = real[trailingIdx++] as number;
    periodROC = v - v2;
    sumROC1 -= Math.abs(trailingValue - v2);
    sumROC1 += Math.abs(v - (real[today - 1] as number));
    trailingValue = v2;
    sc = kamaSmoothing(sumROC1, periodROC);
    prevKAMA = ((real[today] as number) - prevKAMA) * sc + prevKAMA;
    out[today++] = prevKAMA;
  }
  return out;
}

export class KamaStream implements ScalarStream {
  private readonly buf: Float64Array;
  private readonly size: number;
  private count = 0;
  private sumROC1 = 0;
  private trailingValue = 0;
  private prevKAMA = 0;
  constructor(private readonly period: number) {
    this.size = period + 1;
    this.buf = new Float64Array(this.size);
  }
  next(x: number): number {
    const p = this.period;
    const size = this.size;
    const buf = this.buf;
    const t = this.count++;
    buf[t % size] = x;
    if (t === 0) return Number.NaN;
    const prevX = buf[(t - 1) % size] as number;
    if (t < p) {
      this.sumROC1 += Math.abs(prevX - x);
      return Number.NaN;
    }
    const old = buf[(t - p) % size] as number;
    const periodROC = x - old;
    if (t === p) {
      this.sumROC1 += Math.abs(prevX - x);
      this.prevKAMA = prevX;
    } else {
      this.sumROC1 -= Math.abs(this.trailingValue - old);
      this.sumROC1 += Math.abs(x - prevX);
    }
    this.trailingValue = old;
    const sc = kamaSmoothing(this.sumROC1, periodROC);
    this.prevKAMA = (x - this.prevKAMA) * sc + this.prevKAMA;
    return this.prevKAMA;
  }
}

// ---------------------------------------------------------------------------------------------
// T3

function t3Coefficients(vfactor: number): [number, number, number, number] {
  const v2 = vfactor * vfactor;
  const c1 = -(v2 * vfactor);
  const c2 = 3.0 * (v2 - c1);
  const c3 = -6.0 * v2 - 3.0 * (vfactor - c1);
  const c4 = 1.0 + 3.0 * vfactor - c1 + 3.0 * v2;
  return [c1, c2, c3, c4];
}

/** TA_T3 lookback: six chained EMAs, each seeded with the mean of its first `period` values. */
export function t3Lookback(period: number): number {
  return 6 * (period - 1);
}

/** TA_T3: Tillson's T3, six EMAs combined with the vfactor coefficients. */
export function t3(real: Float64Array, period: number, vfactor: number): Float64Array {
  const n = real.length;
  const lb = t3Lookback(period);
  const out = nanPrefix(n, lb);
  if (n <= lb) return out;
  const k = 2.0 / (period + 1.0);
  const omk = 1.0 - k;
  let today = 0;
  let acc = real[today++] as number;
  for (let i = period - 1; i > 0; i--) acc += real[today++] as number;
  let e1 = acc / period;
  acc = e1;
  for (let i = period - 1; i > 0; i--) {
    e1 = k * (real[today++] as number) + omk * e1;
    acc += e1;
  }
  let e2 = acc / period;
  acc = e2;
  for (let i = period - 1; i > 0; i--) {
    e1 = k * (real[today++] as number) + omk * e1;
    e2 = k * e1 + omk * e2;
    acc += e2;
  }
  let e3 = acc / period;
  acc = e3;
  for (let i = period - 1; i > 0; i--) {
    e1 = k * (real[today++] as number) + omk * e1;
    e2 = k * e1 + omk * e2;
    e3 = k * e2 + omk * e3;
    acc += e3;
  }
  let e4 = acc / period;
  acc = e4;
  for (let i = period - 1; i > 0; i--) {
    e1 = k * (real[today++] as number) + omk * e1;
    e2 = k * e1 + omk * e2;
    e3 = k * e2 + omk * e3;
    e4 = k * e3 + omk * e4;
    acc += e4;
  }
  let e5 = acc / period;
  acc = e5;
  for (let i = period - 1; i > 0; i--) {
    e1 = k * (real[today++] as number) + omk * e1;
    e2 = k * e1 + omk * e2;
    e3 = k * e2 + omk * e3;
    e4 = k * e3 + omk * e4;
    e5 = k * e4 + omk * e5;
    acc += e5;
  }
  let e6 = acc / period;
  const [c1, c2, c3, c4] = t3Coefficients(vfactor);
  out[lb] = c1 * e6 + c2 * e5 + c3 * e4 + c4 * e3;
  while (today < n) {
    e1 = k * (real[today] as number) + omk * e1;
    e2 = k * e1 + omk * e2;
    e3 = k * e2 + omk * e3;
    e4 = k * e3 + omk * e4;
    e5 = k * e4 + omk * e5;
    e6 = k * e5 + omk * e6;
    out[today++] = c1 * e6 + c2 * e5 + c3 * e4 + c4 * e3;
  }
  return out;
}

export class T3Stream implements ScalarStream {
  /** e[1..6]; e[0] unused. */
  private readonly e = new Float64Array(7);
  private readonly k: number;
  private readonly omk: number;
  private readonly c1: number;
  private readonly c2: number;
  private readonly c3: number;
  private readonly c4: number;
  /** How many EMAs are seeded (0..6). */
  private seeded = 0;
  /** Values seen in the current seeding phase. */
  private inPhase = 0;
  private acc = 0;
  constructor(
    private readonly period: number,
    vfactor: number,
  ) {
    this.k = 2.0 / (period + 1.0);
    this.omk = 1.0 - this.k;
    [this.c1, this.c2, this.c3, this.c4] = t3Coefficients(vfactor);
  }
  next(x: number): number {
    const e = this.e;
    const k = this.k;
    const omk = this.omk;
    const s = this.seeded;
    // Update the EMAs that are already seeded, in chain order.
    let prev = x;
    for (let m = 1; m <= s; m++) {
      const v = k * prev + omk * (e[m] as number);
      e[m] = v;
      prev = v;
    }
    if (s === 6) return this.output();
    // Seeding phase s+1: the mean of `period` values of the previous stage (its seed included).
    this.acc += prev;
    this.inPhase++;
    const need = s === 0 ? this.period : this.period - 1;
    if (this.inPhase < need) return Number.NaN;
    const seed = this.acc / this.period;
    e[s + 1] = seed;
    this.seeded = s + 1;
    this.acc = seed;
    this.inPhase = 0;
    return this.seeded === 6 ? this.output() : Number.NaN;
  }
  private output(): number {
    const e = this.e;
    return (
      this.c1 * (e[6] as number) +
      this.c2 * (e[5] as number) +
      this.c3 * (e[4] as number) +
      this.c4 * (e[3] as number)
    );
  }
}
