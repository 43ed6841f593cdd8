import {
  CHUNK_ROWS,
  defineIndicator,
  input,
  iopt,
  nanPrefix,
  opt,
  REAL_BOUND,
  realOption,
  scalarStream,
  TA_EPSILON,
  timeperiod,
  uninitNanPrefix,
} from "./indicatorKit.js";
import type { ScalarStream } from "./ma.js";
import type { Indicator, IndicatorStream } from "./types.js";
import { type KernelName, runKernel } from "./wasmKernels.js";

/**
 * TA-Lib's statistic functions: VAR, STDDEV, BETA, CORREL, the LINEARREG family and TSF.
 * VAR/STDDEV/BETA/CORREL keep TA-Lib's running sums in TA-Lib's order (bit-identical results,
 * including TA-Lib's rounding drift); the LINEARREG family rolls its sums (O(1) per bar) and
 * re-anchors them exactly at intervals, staying within ~1e-12 of TA-Lib's per-bar recomputation.
 */

// ---------------------------------------------------------------------------------------------
// VAR / STDDEV

/**
 * TA_INT_VAR from `startIdx`: population variance as mean of squares minus squared mean, with
 * running sums that start at startIdx-(period-1). Writes out[startIdx..n) only. BBANDS calls it
 * from its MA's lookback, which changes where the sums (and their rounding) start. With `nbdev`
 * it writes TA_STDDEV's square root step of each variance instead (see sqrtVar), a chunk at a
 * time while the chunk is in cache.
 */
export function varRange(
  real: Float64Array,
  startIdx: number,
  period: number,
  out: Float64Array,
  nbdev?: number,
): void {
  const n = real.length;
  if (startIdx >= n) return;
  let total1 = 0;
  let total2 = 0;
  for (let i = startIdx - (period - 1); i < startIdx; i++) {
    const v = real[i] as number;
    total1 += v;
    total2 += v * v;
  }
  const st = new Float64Array([total1, total2]);
  const lb = period - 1;
  const kernel = nbdev === undefined ? "variance" : "stddev";
  if (runKernel(kernel, [real], [out], startIdx, lb, st, period, nbdev ?? 1)) return;
  for (let i = startIdx; i < n; i += CHUNK_ROWS) {
    const end = Math.min(n, i + CHUNK_ROWS);
    varChunk(real, out, st, i, end, period);
    if (nbdev !== undefined) sqrtVarChunk(out, i, end, nbdev);
  }
}

/** varRange's loop over rows [i0, i1); st = [total1, total2]. */
function varChunk(
  real: Float64Array,
  out: Float64Array,
  st: Float64Array,
  i0: number,
  i1: number,
  period: number,
): void {
  let total1 = st[0] as number;
  let total2 = st[1] as number;
  for (let i = i0, trailing = i0 - (period - 1); i < i1; i++) {
    const v = real[i] as number;
    total1 += v;
    total2 += v * v;
    const mean1 = total1 / period;
    const mean2 = total2 / period;
    const t = real[trailing++] as number;
    total1 -= t;
    total2 -= t * t;
    out[i] = mean2 - mean1 * mean1;
  }
  st[0] = total1;
  st[1] = total2;
}

/** TA_VAR (its nbdev is accepted and ignored, as in TA-Lib). */
export function variance(real: Float64Array, period: number): Float64Array {
  const out = uninitNanPrefix(real.length, period - 1); // varRange writes the rest
  varRange(real, period - 1, period, out);
  return out;
}

/** sqrtVar over out[i0..i1), in place. */
function sqrtVarChunk(out: Float64Array, i0: number, i1: number, nbdev: number): void {
  for (let i = i0; i < i1; i++) out[i] = sqrtVar(out[i] as number, nbdev);
}

/** TA-Lib's square root step of STDDEV: variances below 1e-14 (and negatives) give 0. */
export function sqrtVar(v: number, nbdev: number): number {
  return v < TA_EPSILON ? 0.0 : Math.sqrt(v) * nbdev;
}

/** TA_STDDEV: the variance and its square root step, chunk by chunk. */
export function stddev(real: Float64Array, period: number, nbdev: number): Float64Array {
  const out = uninitNanPrefix(real.length, period - 1); // varRange writes the rest
  varRange(real, period - 1, period, out, nbdev);
  return out;
}

/** Streaming TA_INT_VAR; `skip` leading values are ignored (the batch's startIdx offset). */
export class VarStream implements ScalarStream {
  private readonly buf: Float64Array;
  private pos = 0;
  private count = 0;
  private skipped = 0;
  private total1 = 0;
  private total2 = 0;
  constructor(
    private readonly period: number,
    private readonly skip = 0,
  ) {
    this.buf = new Float64Array(period);
  }
  next(x: number): number {
    if (this.skipped < this.skip) {
      this.skipped++;
      return Number.NaN;
    }
    const p = this.period;
    const buf = this.buf;
    buf[this.pos] = x;
    let nextPos = this.pos + 1;
    if (nextPos === p) nextPos = 0;
    this.pos = nextPos;
    this.total1 += x;
    this.total2 += x * x;
    if (this.count < p) {
      this.count++;
      if (this.count < p) return Number.NaN;
    }
    const mean1 = this.total1 / p;
    const mean2 = this.total2 / p;
    const t = buf[nextPos] as number;
    this.total1 -= t;
    this.total2 -= t * t;
    return mean2 - mean1 * mean1;
  }
}

export class StddevStream implements ScalarStream {
  private readonly v: VarStream;
  constructor(
    period: number,
    private readonly nbdev: number,
    skip = 0,
  ) {
    this.v = new VarStream(period, skip);
  }
  next(x: number): number {
    const v = this.v.next(x);
    if (Number.isNaN(v)) return v;
    return sqrtVar(v, this.nbdev);
  }
}

// ---------------------------------------------------------------------------------------------
// BETA

function pctChange(x: number, last: number): number {
  return -TA_EPSILON < last && last < TA_EPSILON ? 0.0 : (x - last) / last;
}

/** TA_BETA: regression slope of real1's returns on real0's returns over `period` returns. */
export function beta(real0: Float64Array, real1: Float64Array, period: number): Float64Array {
  const n = real0.length;
  const lb = period;
  const out = nanPrefix(n, lb);
  if (n <= lb) return out;
  let sxx = 0;
  let sxy = 0;
  let sx = 0;
  let sy = 0;
  let trailingIdx = 0;
  let lastX = real0[0] as number;
  let lastY = real1[0] as number;
  let trailLastX = lastX;
  let trailLastY = lastY;
  let i = ++trailingIdx;
  for (; i < lb; i++) {
    let v = real0[i] as number;
    const x = pctChange(v, lastX);
    lastX = v;
    v = real1[i] as number;
    const y = pctChange(v, lastY);
    lastY = v;
    sxx += x * x;
    sxy += x * y;
    sx += x;
    sy += y;
  }
  const p = period;
  for (; i < n; i++) {
    let v = real0[i] as number;
    let x = pctChange(v, lastX);
    lastX = v;
    v = real1[i] as number;
    let y = pctChange(v, lastY);
    lastY = v;
    sxx += x * x;
    sxy += x * y;
    sx += x;
    sy += y;
    v = real0[trailingIdx] as number;
    x = pctChange(v, trailLastX);
    trailLastX = v;
    v = real1[trailingIdx++] as number;
    y = pctChange(v, trailLastY);
    trailLastY = v;
    const d = p * sxx - sx * sx;
    out[i] = -TA_EPSILON < d && d < TA_EPSILON ? 0.0 : (p * sxy - sx * sy) / d;
    sxx -= x * x;
    sxy -= x * y;
    sx -= x;
    sy -= y;
  }
  return out;
}

/** Streaming BETA: the window's returns are kept, as TA-Lib recomputes them identically. */
class BetaStream implements IndicatorStream {
  private readonly rx: Float64Array;
  private readonly ry: Float64Array;
  private count = 0;
  private lastX = 0;
  private lastY = 0;
  private sxx = 0;
  private sxy = 0;
  private sx = 0;
  private sy = 0;
  constructor(private readonly period: number) {
    this.rx = new Float64Array(period);
    this.ry = new Float64Array(period);
  }
  next(values: ArrayLike<number>, out: Float64Array): void {
    const v0 = values[0] as number;
    const v1 = values[1] as number;
    const t = this.count++;
    if (t === 0) {
      this.lastX = v0;
      this.lastY = v1;
      out[0] = Number.NaN;
      return;
    }
    const x = pctChange(v0, this.lastX);
    this.lastX = v0;
    const y = pctChange(v1, this.lastY);
    this.lastY = v1;
    const p = this.period;
    const slot = t % p;
    this.rx[slot] = x;
    this.ry[slot] = y;
    this.sxx += x * x;
    this.sxy += x * y;
    this.sx += x;
    this.sy += y;
    if (t < p) {
      out[0] = Number.NaN;
      return;
    }
    // The trailing return is that of bar t-p+1, the oldest one in the window.
    const oldSlot = (t + 1) % p;
    const ox = this.rx[oldSlot] as number;
    const oy = this.ry[oldSlot] as number;
    const d = p * this.sxx - this.sx * this.sx;
    out[0] = -TA_EPSILON < d && d < TA_EPSILON ? 0.0 : (p * this.sxy - this.sx * this.sy) / d;
    this.sxx -= ox * ox;
    this.sxy -= ox * oy;
    this.sx -= ox;
    this.sy -= oy;
  }
}

// ---------------------------------------------------------------------------------------------
// CORREL

function correlValue(
  sumX: number,
  sumY: number,
  sumX2: number,
  sumY2: number,
  sumXY: number,
  p: number,
): number {
  const t = (sumX2 - (sumX * sumX) / p) * (sumY2 - (sumY * sumY) / p);
  return t < TA_EPSILON ? 0.0 : (sumXY - (sumX * sumY) / p) / Math.sqrt(t);
}

/** TA_CORREL: Pearson's r over running sums. */
export function correl(real0: Float64Array, real1: Float64Array, period: number): Float64Array {
  const n = real0.length;
  const lb = period - 1;
  const out = nanPrefix(n, lb);
  if (n <= lb) return out;
  let sumXY = 0;
  let sumX = 0;
  let sumY = 0;
  let sumX2 = 0;
  let sumY2 = 0;
  let today = 0;
  for (; today <= lb; today++) {
    const x = real0[today] as number;
    sumX += x;
    sumX2 += x * x;
    const y = real1[today] as number;
    sumXY += x * y;
    sumY += y;
    sumY2 += y * y;
  }
  let trailingIdx = 0;
  let tx = real0[trailingIdx] as number;
  let ty = real1[trailingIdx++] as number;
  out[lb] = correlValue(sumX, sumY, sumX2, sumY2, sumXY, period);
  for (; today < n; today++) {
    sumX -= tx;
    sumX2 -= tx * tx;
    sumXY -= tx * ty;
    sumY -= ty;
    sumY2 -= ty * ty;
    const x = real0[today] as number;
    sumX += x;
    sumX2 += x * x;
    const y = real1[today] as number;
    sumXY += x * y;
    sumY += y;
    sumY2 += y * y;
    tx = real0[trailingIdx] as number;
    ty = real1[trailingIdx++] as number;
    out[today] = correlValue(sumX, sumY, sumX2, sumY2, sumXY, period);
  }
  return out;
}

class CorrelStream implements IndicatorStream {
  private readonly bx: Float64Array;
  private readonly by: Float64Array;
  private count = 0;
  private sumXY = 0;
  private sumX = 0;
  private sumY = 0;
  private sumX2 = 0;
  private sumY2 = 0;
  constructor(private readonly period: number) {
    this.bx = new Float64Array(period);
    this.by = new Float64Array(period);
  }
  next(values: ArrayLike<number>, out: Float64Array): void {
    const x = values[0] as number;
    const y = values[1] as number;
    const p = this.period;
    const t = this.count++;
    const slot = t % p;
    if (t >= p) {
      // Remove the value leaving the window (it sits in the slot x takes).
      const tx = this.bx[slot] as number;
      const ty = this.by[slot] as number;
      this.sumX -= tx;
      this.sumX2 -= tx * tx;
      this.sumXY -= tx * ty;
      this.sumY -= ty;
      this.sumY2 -= ty * ty;
    }
    this.bx[slot] = x;
    this.by[slot] = y;
    this.sumX += x;
    this.sumX2 += x * x;
    this.sumXY += x * y;
    this.sumY += y;
    this.sumY2 += y * y;
    out[0] =
      t < p - 1 ? Number.NaN : correlValue(this.sumX, this.sumY, this.sumX2, this.sumY2, this.sumXY, p);
  }
}

// ---------------------------------------------------------------------------------------------
// LINEARREG family

/** Which value of the least-squares line a LINEARREG function outputs. */
export const LinregKind = { Value: 0, Angle: 1, Intercept: 2, Slope: 3, Tsf: 4 } as const;
export type LinregKind = (typeof LinregKind)[keyof typeof LinregKind];

const RAD_TO_DEG = 180.0 / Math.PI;

/**
 * TA-Lib's closed forms for x = 0..p-1 (x is the bar's age), computed in C `int` arithmetic that
 * overflows for long periods. The oracle build (gcc, x86-64) wraps SumX's product as signed
 * (wrong above period 46341) and divides SumXSqr's wrapped product as unsigned (wrong above
 * period 1625); both are reproduced so every period gives TA-Lib's numbers.
 *
 * `shift`: TA-Lib's slope numerator p·ΣxY − SumX·ΣY written over the deviations D = Y − c from an
 * anchor c is p·ΣxD − SumX·ΣD + c·p·(Σx − SumX), with Σx the true p(p−1)/2; this is the factor of
 * c in the last term, 0 unless SumX overflowed.
 */
function linregConstants(p: number): { sumX: number; divisor: number; shift: number } {
  const sumX = Math.imul(p, p - 1) * 0.5;
  const sumXSqr = Math.floor((Math.imul(Math.imul(p, p - 1), 2 * p - 1) >>> 0) / 6);
  return { sumX, divisor: sumX * sumX - p * sumXSqr, shift: p * ((p * (p - 1)) / 2 - sumX) };
}

/**
 * Bars between exact recomputations of the rolling sums. Between two, each bar adds one rounding
 * to sums of deviations from the anchor (small numbers next to prices); with 4 periods the drift
 * stays below 1e-11 of TA-Lib's results on BTC 1m closes and volumes (a year, periods 2 to 1000),
 * and the recomputation costs p additions every 4p bars.
 */
function reanchorEvery(p: number): number {
  return 4 * p;
}

/**
 * The LINEARREG output (not the angle) from the window's deviations from the anchor c: ΣD = ΣY −
 * p·c and ΣxD = ΣxY − c·Σx, with TA-Lib's formulas rewritten over them (see `linregConstants`).
 */
function linregFromDeviations(
  kind: LinregKind,
  p: number,
  k: { sumX: number; divisor: number; shift: number },
  c: number,
  sumXD: number,
  sumD: number,
): number {
  const sumX = k.sumX;
  const m = (p * sumXD - sumX * sumD + c * k.shift) / k.divisor;
  switch (kind) {
    case LinregKind.Slope:
      return m;
    case LinregKind.Intercept:
      return (sumD + p * c - m * sumX) / p;
    case LinregKind.Value:
      return (sumD + p * c - m * sumX) / p + m * (p - 1);
    default:
      return (sumD + p * c - m * sumX) / p + m * p;
  }
}

/**
 * TA_LINEARREG / _INTERCEPT / _SLOPE / TA_TSF in O(1) per bar (`linregAngle` for the angle).
 * TA-Lib recomputes the window's ΣY and ΣxY per bar (O(period)); here they roll: when a bar
 * enters, every age grows by one, so ΣxY gains ΣY and loses p times the leaving value. Rolling
 * sums of prices drift (4.5e-10 for LINEARREG_ANGLE on BTC 1m over a month), so the sums are
 * kept over deviations from an anchor value and recomputed exactly, anchored anew, every
 * `reanchorEvery(p)` bars (and after a NaN has left the window). What remains is TA-Lib's own rounding (its numerator is a difference
 * of two ~p²·price products): up to 2e-11 for the slope, 1e-14 relative for the others.
 * The stream repeats these operations bar by bar.
 */
export function linreg(real: Float64Array, periodIn: number, kind: LinregKind): Float64Array {
  const period = periodIn | 0; // a boxed-double period makes the loops float64 (2x slower)
  if (kind === LinregKind.Angle) return linregAngle(real, period);
  const n = real.length;
  const lb = period - 1;
  const out = uninitNanPrefix(n, lb); // every bar from lb on is written below
  if (n <= lb) return out;
  const k = linregConstants(period);
  // [anchor c, ΣD, ΣxD, next scheduled recomputation]
  const st = new Float64Array([0, 0, 0, lb]);
  // The first bar reads no leaving value: the twin computes it, the wasm kernel the rest (its
  // state counts the bars to the next recomputation and carries the constants).
  linregChunk(real, out, st, lb, lb + 1, period, kind, k);
  const kernel = LINREG_KERNEL[kind];
  const wst = Float64Array.of(
    st[0] as number,
    st[1] as number,
    st[2] as number,
    (st[3] as number) - (lb + 1),
    k.sumX,
    k.divisor,
    k.shift,
  );
  if (kernel !== undefined && runKernel(kernel, [real], [out], lb + 1, period, wst, period)) return out;
  for (let t = lb + 1; t < n; t += CHUNK_ROWS)
    linregChunk(real, out, st, t, Math.min(n, t + CHUNK_ROWS), period, kind, k);
  return out;
}

const LINREG_KERNEL: Partial<Record<LinregKind, KernelName>> = {
  [LinregKind.Value]: "linreg",
  [LinregKind.Intercept]: "linregIntercept",
  [LinregKind.Slope]: "linregSlope",
  [LinregKind.Tsf]: "tsf",
};

/** linreg's loop over bars [t0, t1); st = [c, ΣD, ΣxD, next]. */
function linregChunk(
  real: Float64Array,
  out: Float64Array,
  st: Float64Array,
  t0: number,
  t1: number,
  period: number,
  kind: LinregKind,
  k: { sumX: number; divisor: number; shift: number },
): void {
  const lb = period - 1;
  const every = reanchorEvery(period);
  let c = st[0] as number;
  let sumD = st[1] as number;
  let sumXD = st[2] as number;
  let next = st[3] as number;
  for (let today = t0; today < t1; today++) {
    const scheduled = today === next;
    // A NaN in the window (an interior gap) makes the sums NaN: TA-Lib's NaN while it is inside,
    // and an exact recomputation once it has left.
    if (scheduled || Number.isNaN(sumD)) {
      if (scheduled) next += every;
      // Exact sums anchored at the newest value, oldest first.
      c = real[today] as number;
      sumD = 0;
      sumXD = 0;
      for (let age = lb, j = today - lb; age >= 0; age--, j++) {
        const d = (real[j] as number) - c;
        sumD += d;
        sumXD += age * d;
      }
    } else {
      const old = (real[today - period] as number) - c;
      sumXD += sumD - period * old;
      sumD += (real[today] as number) - c - old;
    }
    out[today] = linregFromDeviations(kind, period, k, c, sumXD, sumD);
  }
  st[0] = c;
  st[1] = sumD;
  st[2] = sumXD;
  st[3] = next;
}

/**
 * TA_LINEARREG_ANGLE: the window's sums recomputed per bar in TA-Lib's order (oldest first), so
 * the slope is TA-Lib's bit for bit. atan(m)·180/π multiplies the slope's rounding by up to 57,
 * and TA-Lib's own rounding alone would then reach 1.1e-9 (BTC 1m closes, period 3): the rolling
 * form is not used here. Four consecutive windows are summed in one pass: each keeps its own
 * exact order, and the independent chains let the CPU overlap the additions (~2x faster). The
 * last block is aligned to end at the last bar and may recompute (identically) windows the
 * previous block did: a separate remainder loop would stay cold and make V8 deoptimize.
 */
function linregAngle(real: Float64Array, period: number): Float64Array {
  const n = real.length;
  const lb = period - 1;
  const out = nanPrefix(n, lb);
  if (n <= lb) return out;
  const { sumX, divisor } = linregConstants(period);
  if (n - lb < 4) {
    for (let today = lb; today < n; today++) {
      let sumXY = 0;
      let sumY = 0;
      for (let i = lb, j = today - lb; i >= 0; i--, j++) {
        const v = real[j] as number;
        sumY += v;
        sumXY += i * v;
      }
      out[today] = angleOf(period, sumX, divisor, sumXY, sumY);
    }
    return out;
  }
  for (let block = lb; block < n; block += 4) {
    const today = block + 4 <= n ? block : n - 4;
    let y0 = 0;
    let y1 = 0;
    let y2 = 0;
    let y3 = 0;
    let xy0 = 0;
    let xy1 = 0;
    let xy2 = 0;
    let xy3 = 0;
    for (let i = lb, j = today - lb; i >= 0; i--, j++) {
      const v0 = real[j] as number;
      const v1 = real[j + 1] as number;
      const v2 = real[j + 2] as number;
      const v3 = real[j + 3] as number;
      y0 += v0;
      xy0 += i * v0;
      y1 += v1;
      xy1 += i * v1;
      y2 += v2;
      xy2 += i * v2;
      y3 += v3;
      xy3 += i * v3;
    }
    out[today] = angleOf(period, sumX, divisor, xy0, y0);
    out[today + 1] = angleOf(period, sumX, divisor, xy1, y1);
    out[today + 2] = angleOf(period, sumX, divisor, xy2, y2);
    out[today + 3] = angleOf(period, sumX, divisor, xy3, y3);
  }
  return out;
}

function angleOf(p: number, sumX: number, divisor: number, sumXY: number, sumY: number): number {
  return Math.atan((p * sumXY - sumX * sumY) / divisor) * RAD_TO_DEG;
}

/** Streaming LINEARREG (not the angle): the batch's rolling sums and re-anchoring, bar by bar. */
class LinregStream implements ScalarStream {
  private readonly buf: Float64Array;
  private readonly k: { sumX: number; divisor: number; shift: number };
  private readonly every: number;
  private count = 0;
  /** Bars since the last anchor. */
  private since = 0;
  private c = 0;
  private sumD = 0;
  private sumXD = 0;
  constructor(
    private readonly period: number,
    private readonly kind: LinregKind,
  ) {
    this.buf = new Float64Array(period);
    this.k = linregConstants(period);
    this.every = reanchorEvery(period);
  }
  next(x: number): number {
    const p = this.period;
    const buf = this.buf;
    const t = this.count++;
    const slot = t % p;
    // The value leaving the window (bar t-p) sits in the slot x takes.
    const leaving = buf[slot] as number;
    buf[slot] = x;
    if (t < p - 1) return Number.NaN;
    let scheduled = t === p - 1;
    if (!scheduled && ++this.since === this.every) scheduled = true;
    if (scheduled) this.since = 0;
    if (scheduled || Number.isNaN(this.sumD)) {
      const c = x;
      let sumD = 0;
      let sumXD = 0;
      let j = slot + 1;
      for (let age = p - 1; age >= 0; age--, j++) {
        if (j === p) j = 0;
        const d = (buf[j] as number) - c;
        sumD += d;
        sumXD += age * d;
      }
      this.c = c;
      this.sumD = sumD;
      this.sumXD = sumXD;
    } else {
      const c = this.c;
      const old = leaving - c;
      this.sumXD += this.sumD - p * old;
      this.sumD += x - c - old;
    }
    return linregFromDeviations(this.kind, p, this.k, this.c, this.sumXD, this.sumD);
  }
}

/** Streaming LINEARREG_ANGLE: the window's sums recomputed per bar in TA-Lib's order, as the batch. */
class LinregAngleStream implements ScalarStream {
  private readonly buf: Float64Array;
  private readonly sumX: number;
  private readonly divisor: number;
  private count = 0;
  constructor(private readonly period: number) {
    this.buf = new Float64Array(period);
    const c = linregConstants(period);
    this.sumX = c.sumX;
    this.divisor = c.divisor;
  }
  next(x: number): number {
    const p = this.period;
    const buf = this.buf;
    const t = this.count++;
    const slot = t % p;
    buf[slot] = x;
    if (t < p - 1) return Number.NaN;
    // Oldest first: ages p-1 .. 0, starting at the slot after the newest.
    let sumY = 0;
    let sumXY = 0;
    let j = slot + 1;
    for (let age = p - 1; age >= 0; age--, j++) {
      if (j === p) j = 0;
      const v = buf[j] as number;
      sumY += v;
      sumXY += age * v;
    }
    return angleOf(p, this.sumX, this.divisor, sumXY, sumY);
  }
}

// ---------------------------------------------------------------------------------------------
// Indicator definitions

const NBDEV = realOption("nbdev", 1, -REAL_BOUND, REAL_BOUND);

function linregIndicator(name: string, kind: LinregKind): Indicator {
  return defineIndicator({
    name,
    inputs: ["real"],
    options: [timeperiod(14)],
    outputs: ["real"],
    lookback: (o) => iopt(o, "timeperiod") - 1,
    batch: (ins, o) => [linreg(input(ins, 0), iopt(o, "timeperiod"), kind)],
    stream: (o) =>
      scalarStream(
        kind === LinregKind.Angle
          ? new LinregAngleStream(iopt(o, "timeperiod"))
          : new LinregStream(iopt(o, "timeperiod"), kind),
      ),
  });
}

export const STATISTIC_INDICATORS: readonly Indicator[] = [
  defineIndicator({
    name: "VAR",
    inputs: ["real"],
    options: [timeperiod(5, 1), NBDEV],
    outputs: ["real"],
    lookback: (o) => iopt(o, "timeperiod") - 1,
    batch: (ins, o) => [variance(input(ins, 0), iopt(o, "timeperiod"))],
    stream: (o) => scalarStream(new VarStream(iopt(o, "timeperiod"))),
  }),
  defineIndicator({
    name: "STDDEV",
    inputs: ["real"],
    options: [timeperiod(5), NBDEV],
    outputs: ["real"],
    lookback: (o) => iopt(o, "timeperiod") - 1,
    batch: (ins, o) => [stddev(input(ins, 0), iopt(o, "timeperiod"), opt(o, "nbdev"))],
    stream: (o) => scalarStream(new StddevStream(iopt(o, "timeperiod"), opt(o, "nbdev"))),
  }),
  defineIndicator({
    name: "BETA",
    inputs: ["real0", "real1"],
    options: [timeperiod(5, 1)],
    outputs: ["real"],
    lookback: (o) => iopt(o, "timeperiod"),
    batch: (ins, o) => [beta(input(ins, 0), input(ins, 1), iopt(o, "timeperiod"))],
    stream: (o) => new BetaStream(iopt(o, "timeperiod")),
  }),
  defineIndicator({
    name: "CORREL",
    inputs: ["real0", "real1"],
    options: [timeperiod(30, 1)],
    outputs: ["real"],
    lookback: (o) => iopt(o, "timeperiod") - 1,
    batch: (ins, o) => [correl(input(ins, 0), input(ins, 1), iopt(o, "timeperiod"))],
    stream: (o) => new CorrelStream(iopt(o, "timeperiod")),
  }),
  linregIndicator("LINEARREG", LinregKind.Value),
  linregIndicator("LINEARREG_ANGLE", LinregKind.Angle),
  linregIndicator("LINEARREG_INTERCEPT", LinregKind.Intercept),
  linregIndicator("LINEARREG_SLOPE", LinregKind.Slope),
  linregIndicator("TSF", LinregKind.Tsf),
];
