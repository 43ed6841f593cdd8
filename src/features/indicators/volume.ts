import {
  CHUNK_ROWS,
  defineIndicator,
  input,
  intOption,
  iopt,
  nanPrefix,
  uninitNanPrefix,
} from "./indicatorKit.js";
import { perToK } from "./ma.js";
import type { Indicator, IndicatorStream } from "./types.js";
import { runKernel } from "./wasmKernels.js";

/**
 * TA-Lib's volume indicators: AD (Chaikin accumulation/distribution, cumulative from the first
 * bar), ADOSC (fast EMA − slow EMA of AD, both seeded with the first bar's AD, not with an SMA)
 * and OBV (starting at the first bar's volume).
 */

/** One bar's money-flow volume, added to AD only when the bar has a range. */
function adStep(ad: number, high: number, low: number, close: number, volume: number): number {
  const range = high - low;
  return range > 0.0 ? ad + ((close - low - (high - close)) / range) * volume : ad;
}

export function ad(
  high: Float64Array,
  low: Float64Array,
  close: Float64Array,
  volume: Float64Array,
): Float64Array {
  const n = high.length;
  const out = new Float64Array(n);
  let acc = 0.0;
  for (let i = 0; i < n; i++) {
    acc = adStep(acc, high[i] as number, low[i] as number, close[i] as number, volume[i] as number);
    out[i] = acc;
  }
  return out;
}

export function adoscLookback(fastPeriod: number, slowPeriod: number): number {
  return Math.max(fastPeriod, slowPeriod) - 1;
}

export function adosc(
  high: Float64Array,
  low: Float64Array,
  close: Float64Array,
  volume: Float64Array,
  fastPeriod: number,
  slowPeriod: number,
): Float64Array {
  const n = high.length;
  const lb = adoscLookback(fastPeriod, slowPeriod);
  const out = nanPrefix(n, lb);
  if (n <= lb) return out;
  const fastK = perToK(fastPeriod);
  const slowK = perToK(slowPeriod);
  const fastOmk = 1.0 - fastK;
  const slowOmk = 1.0 - slowK;
  let acc = adStep(0.0, high[0] as number, low[0] as number, close[0] as number, volume[0] as number);
  let fast = acc;
  let slow = acc;
  for (let i = 1; i < n; i++) {
    acc = adStep(acc, high[i] as number, low[i] as number, close[i] as number, volume[i] as number);
    fast = fastK * acc + fastOmk * fast;
    slow = slowK * acc + slowOmk * slow;
    if (i >= lb) out[i] = fast - slow;
  }
  return out;
}

export function obv(real: Float64Array, volume: Float64Array): Float64Array {
  const n = real.length;
  const out = uninitNanPrefix(n, 0); // every position is written below
  if (n === 0) return out;
  const st = new Float64Array([volume[0] as number, real[0] as number]);
  if (runKernel("obv", [real, volume], [out], 0, 0, st)) return out;
  for (let i = 0; i < n; i += CHUNK_ROWS) obvChunk(real, volume, out, st, i, Math.min(n, i + CHUNK_ROWS));
  return out;
}

/** obv's loop over rows [i0, i1); st = [prevOBV, prevReal]. */
function obvChunk(
  real: Float64Array,
  volume: Float64Array,
  out: Float64Array,
  st: Float64Array,
  i0: number,
  i1: number,
): void {
  let prevOBV = st[0] as number;
  let prevReal = st[1] as number;
  for (let i = i0; i < i1; i++) {
    const v = real[i] as number;
    prevOBV += obvTerm(+(v > prevReal) - +(v < prevReal), volume[i] as number);
    out[i] = prevOBV;
    prevReal = v;
  }
  st[0] = prevOBV;
  st[1] = prevReal;
}

/**
 * ±volume or 0, without branching on the price direction (up/down is a coin flip, and the
 * mispredictions doubled OBV's time). TA-Lib skips the volume of an unchanged bar, so a NaN or
 * infinite volume there must add 0, not 0·NaN; that guard is a branch that is never taken.
 */
function obvTerm(direction: number, volume: number): number {
  const t = direction * volume;
  return !Number.isNaN(t) ? t : direction === 0 ? 0 : t;
}

class AdStream implements IndicatorStream {
  private acc = 0.0;
  next(values: ArrayLike<number>, out: Float64Array): void {
    this.acc = adStep(
      this.acc,
      values[0] as number,
      values[1] as number,
      values[2] as number,
      values[3] as number,
    );
    out[0] = this.acc;
  }
}

class AdoscStream implements IndicatorStream {
  private readonly lb: number;
  private readonly fastK: number;
  private readonly slowK: number;
  private readonly fastOmk: number;
  private readonly slowOmk: number;
  private count = 0;
  private acc = 0.0;
  private fast = 0;
  private slow = 0;
  constructor(fastPeriod: number, slowPeriod: number) {
    this.lb = adoscLookback(fastPeriod, slowPeriod);
    this.fastK = perToK(fastPeriod);
    this.slowK = perToK(slowPeriod);
    this.fastOmk = 1.0 - this.fastK;
    this.slowOmk = 1.0 - this.slowK;
  }
  next(values: ArrayLike<number>, out: Float64Array): void {
    this.acc = adStep(
      this.acc,
      values[0] as number,
      values[1] as number,
      values[2] as number,
      values[3] as number,
    );
    const t = this.count++;
    if (t === 0) {
      this.fast = this.acc;
      this.slow = this.acc;
    } else {
      this.fast = this.fastK * this.acc + this.fastOmk * this.fast;
      this.slow = this.slowK * this.acc + this.slowOmk * this.slow;
    }
    out[0] = t < this.lb ? Number.NaN : this.fast - this.slow;
  }
}

class ObvStream implements IndicatorStream {
  private started = false;
  private prevOBV = 0;
  private prevReal = 0;
  next(values: ArrayLike<number>, out: Float64Array): void {
    const v = values[0] as number;
    const vol = values[1] as number;
    if (!this.started) {
      this.started = true;
      this.prevOBV = vol;
      this.prevReal = v;
    }
    this.prevOBV += obvTerm(+(v > this.prevReal) - +(v < this.prevReal), vol);
    this.prevReal = v;
    out[0] = this.prevOBV;
  }
}

export const VOLUME_INDICATORS: readonly Indicator[] = [
  defineIndicator({
    name: "AD",
    inputs: ["high", "low", "close", "volume"],
    options: [],
    outputs: ["real"],
    lookback: () => 0,
    batch: (ins) => [ad(input(ins, 0), input(ins, 1), input(ins, 2), input(ins, 3))],
    stream: () => new AdStream(),
  }),
  defineIndicator({
    name: "ADOSC",
    inputs: ["high", "low", "close", "volume"],
    options: [intOption("fastperiod", 3, 2), intOption("slowperiod", 10, 2)],
    outputs: ["real"],
    lookback: (o) => adoscLookback(iopt(o, "fastperiod"), iopt(o, "slowperiod")),
    batch: (ins, o) => [
      adosc(
        input(ins, 0),
        input(ins, 1),
        input(ins, 2),
        input(ins, 3),
        iopt(o, "fastperiod"),
        iopt(o, "slowperiod"),
      ),
    ],
    stream: (o) => new AdoscStream(iopt(o, "fastperiod"), iopt(o, "slowperiod")),
  }),
  defineIndicator({
    name: "OBV",
    inputs: ["real", "volume"],
    options: [],
    outputs: ["real"],
    lookback: () => 0,
    batch: (ins) => [obv(input(ins, 0), input(ins, 1))],
    stream: () => new ObvStream(),
  }),
];
