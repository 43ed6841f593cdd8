import {
  CHUNK_ROWS,
  defineIndicator,
  input,
  iopt,
  MATYPE_OPTION,
  opt,
  REAL_BOUND,
  realOption,
  scalarStream,
  TA_EPSILON,
  timeperiod,
  uninitNanPrefix,
} from "./indicatorKit.js";
import {
  DemaStream,
  dema,
  EmaStream,
  ema,
  KamaStream,
  kama,
  MA_TYPE,
  maBatch,
  maLookback,
  maStream,
  RunningSumStream,
  type ScalarStream,
  sma,
  T3Stream,
  TemaStream,
  TrimaStream,
  t3,
  t3Lookback,
  tema,
  trima,
  WmaStream,
  wma,
} from "./ma.js";
import { MonoDeque, windowExtreme } from "./mathops.js";
import { SAR_INDICATOR } from "./sar.js";
import { StddevStream, varRange } from "./statistic.js";
import type { Indicator, IndicatorStream } from "./types.js";
import { runKernel } from "./wasmKernels.js";

/** TA-Lib's overlap studies: the moving averages, MA, BBANDS, MIDPOINT, MIDPRICE (and SAR). */

function maIndicator(
  name: string,
  defaultPeriod: number,
  lookback: (p: number) => number,
  batch: (real: Float64Array, p: number) => Float64Array,
  stream: (p: number) => ScalarStream,
): Indicator {
  return defineIndicator({
    name,
    inputs: ["real"],
    options: [timeperiod(defaultPeriod)],
    outputs: ["real"],
    lookback: (o) => lookback(iopt(o, "timeperiod")),
    batch: (ins, o) => [batch(input(ins, 0), iopt(o, "timeperiod"))],
    stream: (o) => scalarStream(stream(iopt(o, "timeperiod"))),
  });
}

// ---------------------------------------------------------------------------------------------
// BBANDS

/**
 * TA_BBANDS: middle = MA(matype); for SMA the deviation reuses the SMA as the mean
 * (TA_INT_stddev_using_precalc_ma), for other types it is STDDEV(period, 1) started at the MA's
 * lookback, exactly as TA-Lib does (not a deviation around the chosen MA).
 */
export function bbands(
  real: Float64Array,
  period: number,
  nbdevup: number,
  nbdevdn: number,
  matype: number,
): [Float64Array, Float64Array, Float64Array] {
  const n = real.length;
  const lb = maLookback(matype, period);
  if (matype === MA_TYPE.SMA) return bbandsSma(real, period | 0, nbdevup, nbdevdn);
  const middle = maBatch(matype, real, period);
  const upper = new Float64Array(n).fill(Number.NaN);
  const lower = new Float64Array(n).fill(Number.NaN);
  if (n <= lb) return [upper, middle, lower];
  const sd = new Float64Array(n);
  varRange(real, lb, period, sd, 1.0);
  for (let i = lb; i < n; i++) {
    const s = sd[i] as number;
    const m = middle[i] as number;
    upper[i] = m + s * nbdevup;
    lower[i] = m - s * nbdevdn;
  }
  return [upper, middle, lower];
}

/**
 * BBANDS with an SMA middle band in one pass: TA_INT_SMA's running sum and
 * TA_INT_stddev_using_precalc_ma's running sum of squares side by side, each in TA-Lib's order
 * (the same numbers as computing the SMA first), and the bands written from them.
 */
function bbandsSma(
  real: Float64Array,
  period: number,
  nbdevup: number,
  nbdevdn: number,
): [Float64Array, Float64Array, Float64Array] {
  const n = real.length;
  const lb = period - 1;
  // Every position from lb on is written below, in all three.
  const upper = uninitNanPrefix(n, lb);
  const middle = uninitNanPrefix(n, lb);
  const lower = uninitNanPrefix(n, lb);
  if (n <= lb) return [upper, middle, lower];
  let total = 0;
  let total2 = 0;
  for (let i = 0; i < lb; i++) {
    const v = real[i] as number;
    total += v;
    total2 += v * v;
  }
  const st = new Float64Array([total, total2]);
  const bands = [upper, middle, lower] as const;
  if (runKernel("bbandsSma", [real], bands, lb, lb, st, period, nbdevup, nbdevdn))
    return [upper, middle, lower];
  for (let i = lb; i < n; i += CHUNK_ROWS)
    bbandsSmaChunk(real, bands, st, i, Math.min(n, i + CHUNK_ROWS), period, nbdevup, nbdevdn);
  return [upper, middle, lower];
}

/** bbandsSma's loop over rows [i0, i1); st = [total, total2]. */
function bbandsSmaChunk(
  real: Float64Array,
  bands: readonly [Float64Array, Float64Array, Float64Array],
  st: Float64Array,
  i0: number,
  i1: number,
  period: number,
  nbdevup: number,
  nbdevdn: number,
): void {
  const [upper, middle, lower] = bands;
  let total = st[0] as number;
  let total2 = st[1] as number;
  for (let i = i0, start = i0 - (period - 1); i < i1; i++, start++) {
    let v = real[i] as number;
    total += v;
    total2 += v * v;
    const m = total / period;
    let mean2 = total2 / period;
    v = real[start] as number;
    total -= v;
    total2 -= v * v;
    mean2 -= m * m;
    const s = mean2 < TA_EPSILON ? 0.0 : Math.sqrt(mean2);
    middle[i] = m;
    upper[i] = m + s * nbdevup;
    lower[i] = m - s * nbdevdn;
  }
  st[0] = total;
  st[1] = total2;
}

/** The deviation of BBANDS with an SMA middle band: mean of squares minus the SMA squared. */
class PrecalcStddevStream {
  private readonly buf: Float64Array;
  private pos = 0;
  private count = 0;
  private total2 = 0;
  constructor(private readonly period: number) {
    this.buf = new Float64Array(period);
  }
  next(x: number, mean: number): number {
    const p = this.period;
    this.buf[this.pos] = x;
    let nextPos = this.pos + 1;
    if (nextPos === p) nextPos = 0;
    this.pos = nextPos;
    this.total2 += x * x;
    if (this.count < p) {
      this.count++;
      if (this.count < p) return Number.NaN;
    }
    let mean2 = this.total2 / p;
    const t = this.buf[nextPos] as number;
    this.total2 -= t * t;
    mean2 -= mean * mean;
    return mean2 < TA_EPSILON ? 0.0 : Math.sqrt(mean2);
  }
}

class BbandsStream implements IndicatorStream {
  private readonly ma: ScalarStream;
  private readonly precalc: PrecalcStddevStream | undefined;
  private readonly sd: StddevStream | undefined;
  constructor(
    period: number,
    private readonly up: number,
    private readonly dn: number,
    matype: number,
  ) {
    this.ma = maStream(matype, period);
    if (matype === MA_TYPE.SMA) this.precalc = new PrecalcStddevStream(period);
    else this.sd = new StddevStream(period, 1.0, maLookback(matype, period) - (period - 1));
  }
  next(values: ArrayLike<number>, out: Float64Array): void {
    const x = values[0] as number;
    const m = this.ma.next(x);
    const s = this.precalc ? this.precalc.next(x, m) : (this.sd as StddevStream).next(x);
    if (Number.isNaN(m)) {
      out[0] = Number.NaN;
      out[1] = Number.NaN;
      out[2] = Number.NaN;
      return;
    }
    out[0] = m + s * this.up;
    out[1] = m;
    out[2] = m - s * this.dn;
  }
}

// ---------------------------------------------------------------------------------------------
// MIDPOINT, MIDPRICE

/** TA_MIDPOINT: (highest + lowest) / 2 over the window. */
export function midpoint(real: Float64Array, period: number): Float64Array {
  const hi = windowExtreme(real, period, true);
  const lo = windowExtreme(real, period, false);
  for (let i = period - 1; i < real.length; i++) hi[i] = ((hi[i] as number) + (lo[i] as number)) / 2.0;
  return hi;
}

/** TA_MIDPRICE: (highest high + lowest low) / 2 over the window. */
export function midprice(high: Float64Array, low: Float64Array, period: number): Float64Array {
  const hi = windowExtreme(high, period, true);
  const lo = windowExtreme(low, period, false);
  for (let i = period - 1; i < high.length; i++) hi[i] = ((hi[i] as number) + (lo[i] as number)) / 2.0;
  return hi;
}

class MidStream implements IndicatorStream {
  private readonly hi: MonoDeque;
  private readonly lo: MonoDeque;
  private count = 0;
  constructor(
    private readonly period: number,
    private readonly twoInputs: boolean,
  ) {
    this.hi = new MonoDeque(period, true);
    this.lo = new MonoDeque(period, false);
  }
  next(values: ArrayLike<number>, out: Float64Array): void {
    const t = this.count++;
    this.hi.push(t, values[0] as number);
    this.lo.push(t, values[this.twoInputs ? 1 : 0] as number);
    out[0] = t < this.period - 1 ? Number.NaN : (this.hi.extreme(t) + this.lo.extreme(t)) / 2.0;
  }
}

// ---------------------------------------------------------------------------------------------
// Indicator definitions

const NBDEVUP = realOption("nbdevup", 2, -REAL_BOUND, REAL_BOUND);
const NBDEVDN = realOption("nbdevdn", 2, -REAL_BOUND, REAL_BOUND);

export const OVERLAP_INDICATORS: readonly Indicator[] = [
  maIndicator(
    "SMA",
    30,
    (p) => p - 1,
    sma,
    (p) => new RunningSumStream(p, p),
  ),
  maIndicator(
    "EMA",
    30,
    (p) => p - 1,
    ema,
    (p) => new EmaStream(p),
  ),
  maIndicator(
    "WMA",
    30,
    (p) => p - 1,
    wma,
    (p) => new WmaStream(p),
  ),
  maIndicator(
    "DEMA",
    30,
    (p) => 2 * (p - 1),
    dema,
    (p) => new DemaStream(p),
  ),
  maIndicator(
    "TEMA",
    30,
    (p) => 3 * (p - 1),
    tema,
    (p) => new TemaStream(p),
  ),
  maIndicator(
    "TRIMA",
    30,
    (p) => p - 1,
    trima,
    (p) => new TrimaStream(p),
  ),
  maIndicator(
    "KAMA",
    30,
    (p) => p,
    kama,
    (p) => new KamaStream(p),
  ),
  defineIndicator({
    name: "T3",
    inputs: ["real"],
    options: [timeperiod(5), realOption("vfactor", 0.7, 0, 1)],
    outputs: ["real"],
    lookback: (o) => t3Lookback(iopt(o, "timeperiod")),
    batch: (ins, o) => [t3(input(ins, 0), iopt(o, "timeperiod"), opt(o, "vfactor"))],
    stream: (o) => scalarStream(new T3Stream(iopt(o, "timeperiod"), opt(o, "vfactor"))),
  }),
  defineIndicator({
    name: "MA",
    inputs: ["real"],
    options: [timeperiod(30, 1), MATYPE_OPTION],
    outputs: ["real"],
    lookback: (o) => maLookback(iopt(o, "matype"), iopt(o, "timeperiod")),
    batch: (ins, o) => [maBatch(iopt(o, "matype"), input(ins, 0), iopt(o, "timeperiod"))],
    stream: (o) => scalarStream(maStream(iopt(o, "matype"), iopt(o, "timeperiod"))),
  }),
  defineIndicator({
    name: "BBANDS",
    inputs: ["real"],
    options: [timeperiod(5), NBDEVUP, NBDEVDN, MATYPE_OPTION],
    outputs: ["upperband", "middleband", "lowerband"],
    lookback: (o) => maLookback(iopt(o, "matype"), iopt(o, "timeperiod")),
    batch: (ins, o) =>
      bbands(input(ins, 0), iopt(o, "timeperiod"), opt(o, "nbdevup"), opt(o, "nbdevdn"), iopt(o, "matype")),
    stream: (o) =>
      new BbandsStream(iopt(o, "timeperiod"), opt(o, "nbdevup"), opt(o, "nbdevdn"), iopt(o, "matype")),
  }),
  defineIndicator({
    name: "MIDPOINT",
    inputs: ["real"],
    options: [timeperiod(14)],
    outputs: ["real"],
    lookback: (o) => iopt(o, "timeperiod") - 1,
    batch: (ins, o) => [midpoint(input(ins, 0), iopt(o, "timeperiod"))],
    stream: (o) => new MidStream(iopt(o, "timeperiod"), false),
  }),
  defineIndicator({
    name: "MIDPRICE",
    inputs: ["high", "low"],
    options: [timeperiod(14)],
    outputs: ["real"],
    lookback: (o) => iopt(o, "timeperiod") - 1,
    batch: (ins, o) => [midprice(input(ins, 0), input(ins, 1), iopt(o, "timeperiod"))],
    stream: (o) => new MidStream(iopt(o, "timeperiod"), true),
  }),
  SAR_INDICATOR,
];
