import {
  CHUNK_ROWS,
  input,
  intOption,
  isZero,
  nanArray,
  optOf,
  uninitNanPrefix,
  val,
} from "./indicatorKit.js";
import { WindowExtreme } from "./momentumCommon.js";
import type { Indicator, IndicatorStream, OptionSpec, Options } from "./types.js";
import { runKernel } from "./wasmKernels.js";

/**
 * Bounded oscillators: RSI, CMO, WILLR, AROON, AROONOSC, ULTOSC, CCI, MFI, BOP.
 *
 * The arithmetic follows TA-Lib's C code step for step (the order of operations in Wilder's
 * smoothing, MFI's and ULTOSC's running sums, CCI's summation over its circular buffer), so the
 * numbers agree with TA-Lib to the last bit on ordinary data; every "divide by zero" case
 * outputs what TA-Lib outputs (0 in most places, see each class).
 */

// ---------------------------------------------------------------- RSI, CMO

/**
 * Wilder's RSI (and CMO, which differs only in the last step). TA-Lib's classic mode: the
 * average gain and loss start as plain means of the first `period` changes (first output at
 * index `period`), then avg = (avg * (period - 1) + change) / period. Output 0 when both
 * averages are (almost) zero.
 */
export class RsiState {
  private t = -1;
  private prev = 0;
  private gain = 0;
  private loss = 0;

  constructor(
    private readonly period: number,
    private readonly cmo: boolean,
  ) {}

  next(x: number): number {
    const t = ++this.t;
    const d = x - this.prev;
    this.prev = x;
    if (t === 0) return Number.NaN;
    const p = this.period;
    if (t > p) {
      this.loss *= p - 1;
      this.gain *= p - 1;
    }
    if (d < 0) this.loss -= d;
    else this.gain += d;
    if (t < p) return Number.NaN;
    this.loss /= p;
    this.gain /= p;
    const sum = this.gain + this.loss;
    if (isZero(sum)) return 0.0;
    return this.cmo ? 100.0 * ((this.gain - this.loss) / sum) : 100.0 * (this.gain / sum);
  }
}

/** Batch RSI/CMO over a NaN-free series (the registry strips leading NaNs). */
export function rsiBatch(x: Float64Array, p: number, cmo: boolean): Float64Array {
  const n = x.length;
  if (n <= p) return nanArray(n);
  const out = uninitNanPrefix(n, p); // out[p] and every later position are written below
  let prev = x[0] as number;
  let gain = 0;
  let loss = 0;
  for (let i = 1; i <= p; i++) {
    const v = x[i] as number;
    const d = v - prev;
    prev = v;
    if (d < 0) loss -= d;
    else gain += d;
  }
  loss /= p;
  gain /= p;
  const sum = gain + loss;
  if (isZero(sum)) out[p] = 0.0;
  else out[p] = cmo ? 100.0 * ((gain - loss) / sum) : 100.0 * (gain / sum);
  const st = new Float64Array([prev, gain, loss]);
  if (runKernel(cmo ? "cmo" : "rsi", [x], [out], p + 1, 0, st, p)) return out;
  for (let i = p + 1; i < n; i += CHUNK_ROWS) rsiChunk(x, out, st, i, Math.min(n, i + CHUNK_ROWS), p, cmo);
  return out;
}

/**
 * RSI's (or CMO's) smoothing over rows [i0, i1); st = [prev, gain, loss]. The twin of the wasm
 * kernels, for windows they do not take and runtimes without WebAssembly; one loop for both
 * (two copies kept the CMO test out of RSI's loop when this was the hot path: 4.8–5.1 against
 * 5.2–5.5 ms per 525,600 rows).
 */
function rsiChunk(
  x: Float64Array,
  out: Float64Array,
  st: Float64Array,
  i0: number,
  i1: number,
  p: number,
  cmo: boolean,
): void {
  let prev = st[0] as number;
  let gain = st[1] as number;
  let loss = st[2] as number;
  const pm1 = p - 1;
  for (let i = i0; i < i1; i++) {
    const v = x[i] as number;
    const d = v - prev;
    prev = v;
    loss *= pm1;
    gain *= pm1;
    if (d < 0) loss -= d;
    else gain += d;
    loss /= p;
    gain /= p;
    const sum = gain + loss;
    out[i] = isZero(sum) ? 0.0 : 100.0 * ((cmo ? gain - loss : gain) / sum);
  }
  st[0] = prev;
  st[1] = gain;
  st[2] = loss;
}

function rsiLike(name: string, cmo: boolean): Indicator {
  const period = intOption("timeperiod", 14, 2);
  return {
    name,
    inputs: ["real"],
    options: [period],
    outputs: ["real"],
    lookback: (opts) => optOf(opts, period),
    batch: (inputs, opts) => [rsiBatch(input(inputs, 0), optOf(opts, period), cmo)],
    stream(opts) {
      const s = new RsiState(optOf(opts, period), cmo);
      return {
        next(values, out) {
          out[0] = s.next(val(values, 0));
        },
      };
    },
  };
}

export const RSI = rsiLike("RSI", false);
export const CMO = rsiLike("CMO", true);

// ---------------------------------------------------------------- generic bar states

interface BarState {
  /** Feeds one bar (inputs in the indicator's order; unused ones 0) and writes its outputs. */
  update(x0: number, x1: number, x2: number, x3: number, out: Float64Array): void;
}

/**
 * An indicator whose batch kernel runs the streaming state over the rows: one implementation,
 * so batch and stream agree bit for bit. No allocation per row.
 */
function stateIndicator(
  def: Omit<Indicator, "batch" | "stream" | "lookback"> & {
    lookback(opts: Options): number;
    make(opts: Options): BarState;
  },
): Indicator {
  const nIn = def.inputs.length;
  const nOut = def.outputs.length;
  return {
    name: def.name,
    inputs: def.inputs,
    options: def.options,
    outputs: def.outputs,
    lookback: def.lookback,
    batch(inputs, opts) {
      const c0 = input(inputs, 0);
      const n = c0.length;
      const zeros = nIn < 4 ? new Float64Array(n) : c0;
      const c1 = nIn > 1 ? input(inputs, 1) : zeros;
      const c2 = nIn > 2 ? input(inputs, 2) : zeros;
      const c3 = nIn > 3 ? input(inputs, 3) : zeros;
      const o0 = new Float64Array(n);
      const o1 = nOut > 1 ? new Float64Array(n) : o0;
      const s = def.make(opts);
      const o = new Float64Array(nOut);
      for (let i = 0; i < n; i++) {
        s.update(c0[i] as number, c1[i] as number, c2[i] as number, c3[i] as number, o);
        o0[i] = o[0] as number;
        if (nOut > 1) o1[i] = o[1] as number;
      }
      return nOut > 1 ? [o0, o1] : [o0];
    },
    stream(opts): IndicatorStream {
      const s = def.make(opts);
      return {
        next(values, out) {
          s.update(
            val(values, 0),
            nIn > 1 ? val(values, 1) : 0,
            nIn > 2 ? val(values, 2) : 0,
            nIn > 3 ? val(values, 3) : 0,
            out,
          );
        },
      };
    },
  };
}

// ---------------------------------------------------------------- WILLR

/** Williams' %R over `period` bars: (highest - close) / ((highest - lowest) / -100); 0 on a flat range. */
class WillrState implements BarState {
  private t = -1;
  private readonly hi: WindowExtreme;
  private readonly lo: WindowExtreme;
  constructor(private readonly period: number) {
    this.hi = new WindowExtreme(period, true);
    this.lo = new WindowExtreme(period, false);
  }
  update(x0: number, x1: number, x2: number, _x3: number, out: Float64Array): void {
    const t = ++this.t;
    this.hi.push(t, x0);
    this.lo.push(t, x1);
    if (t < this.period - 1) {
      out[0] = Number.NaN;
      return;
    }
    const highest = this.hi.value;
    const diff = (highest - this.lo.value) / -100.0;
    out[0] = diff !== 0.0 ? (highest - x2) / diff : 0.0;
  }
}

const willrPeriod = intOption("timeperiod", 14, 2);
export const WILLR = stateIndicator({
  name: "WILLR",
  inputs: ["high", "low", "close"],
  options: [willrPeriod],
  outputs: ["real"],
  lookback: (opts) => optOf(opts, willrPeriod) - 1,
  make: (opts) => new WillrState(optOf(opts, willrPeriod)),
});

// ---------------------------------------------------------------- AROON, AROONOSC

/**
 * Aroon over `period + 1` bars; bars since the highest high / lowest low, the latest bar winning
 * ties (TA-Lib scans with >= / <=). AROON writes [down, up], AROONOSC [up - down].
 */
class AroonState implements BarState {
  private t = -1;
  private readonly hi: WindowExtreme;
  private readonly lo: WindowExtreme;
  private readonly factor: number;
  constructor(
    private readonly period: number,
    private readonly osc: boolean,
  ) {
    this.hi = new WindowExtreme(period + 1, true);
    this.lo = new WindowExtreme(period + 1, false);
    this.factor = 100.0 / period;
  }
  update(x0: number, x1: number, _x2: number, _x3: number, out: Float64Array): void {
    const t = ++this.t;
    this.hi.push(t, x0);
    this.lo.push(t, x1);
    const p = this.period;
    if (t < p) {
      out.fill(Number.NaN);
      return;
    }
    const hiIdx = this.hi.index;
    const loIdx = this.lo.index;
    if (this.osc) {
      out[0] = this.factor * (hiIdx - loIdx);
    } else {
      out[0] = this.factor * (p - (t - loIdx));
      out[1] = this.factor * (p - (t - hiIdx));
    }
  }
}

const aroonPeriod = intOption("timeperiod", 14, 2);
export const AROON = stateIndicator({
  name: "AROON",
  inputs: ["high", "low"],
  options: [aroonPeriod],
  outputs: ["aroondown", "aroonup"],
  lookback: (opts) => optOf(opts, aroonPeriod),
  make: (opts) => new AroonState(optOf(opts, aroonPeriod), false),
});
export const AROONOSC = stateIndicator({
  name: "AROONOSC",
  inputs: ["high", "low"],
  options: [aroonPeriod],
  outputs: ["real"],
  lookback: (opts) => optOf(opts, aroonPeriod),
  make: (opts) => new AroonState(optOf(opts, aroonPeriod), true),
});

// ---------------------------------------------------------------- ULTOSC

/**
 * Ultimate Oscillator. The three periods are sorted (shortest weighted 4, middle 2, longest 1);
 * each keeps a running sum of buying pressure (close - true low) and true range, primed over the
 * bars before the first output and updated add-then-subtract as TA-Lib does. A sum of true
 * ranges that is (almost) zero drops its term.
 */
class UltoscState implements BarState {
  private t = -1;
  private prevClose = 0;
  private readonly ring: Float64Array;
  private readonly p1: number;
  private readonly p2: number;
  private readonly p3: number;
  private a1 = 0;
  private a2 = 0;
  private a3 = 0;
  private b1 = 0;
  private b2 = 0;
  private b3 = 0;

  constructor(periods: readonly number[]) {
    const s = [...periods].sort((x, y) => x - y);
    this.p1 = s[0] as number;
    this.p2 = s[1] as number;
    this.p3 = s[2] as number;
    // Pressure and range of the last p3 bars, interleaved.
    this.ring = new Float64Array(2 * this.p3);
  }

  update(x0: number, x1: number, x2: number, _x3: number, out: Float64Array): void {
    const t = ++this.t;
    const h = x0;
    const l = x1;
    const c = x2;
    const yc = this.prevClose;
    this.prevClose = c;
    out[0] = Number.NaN;
    if (t === 0) return;
    // biome-ignore lint/complexity/useMathMinMax: TA-Lib's min() macro, NaN handling included
    const trueLow = l < yc ? l : yc;
    const bp = c - trueLow;
    let tr = h - l;
    let tmp = Math.abs(yc - h);
    if (tmp > tr) tr = tmp;
    tmp = Math.abs(yc - l);
    if (tmp > tr) tr = tmp;
    const { p1, p2, p3, ring } = this;
    const at = 2 * (t % p3);
    ring[at] = bp;
    ring[at + 1] = tr;
    const lb = p3;
    if (t < lb) {
      if (t >= lb - p1 + 1) {
        this.a1 += bp;
        this.b1 += tr;
      }
      if (t >= lb - p2 + 1) {
        this.a2 += bp;
        this.b2 += tr;
      }
      if (t >= lb - p3 + 1) {
        this.a3 += bp;
        this.b3 += tr;
      }
      return;
    }
    this.a1 += bp;
    this.a2 += bp;
    this.a3 += bp;
    this.b1 += tr;
    this.b2 += tr;
    this.b3 += tr;
    let output = 0.0;
    if (!isZero(this.b1)) output += 4.0 * (this.a1 / this.b1);
    if (!isZero(this.b2)) output += 2.0 * (this.a2 / this.b2);
    if (!isZero(this.b3)) output += this.a3 / this.b3;
    let k = 2 * ((t - p1 + 1) % p3);
    this.a1 -= ring[k] as number;
    this.b1 -= ring[k + 1] as number;
    k = 2 * ((t - p2 + 1) % p3);
    this.a2 -= ring[k] as number;
    this.b2 -= ring[k + 1] as number;
    k = 2 * ((t - p3 + 1) % p3);
    this.a3 -= ring[k] as number;
    this.b3 -= ring[k + 1] as number;
    out[0] = 100.0 * (output / 7.0);
  }
}

const ultP1 = intOption("timeperiod1", 7, 1);
const ultP2 = intOption("timeperiod2", 14, 1);
const ultP3 = intOption("timeperiod3", 28, 1);
export const ULTOSC = stateIndicator({
  name: "ULTOSC",
  inputs: ["high", "low", "close"],
  options: [ultP1, ultP2, ultP3],
  outputs: ["real"],
  lookback: (opts) => Math.max(optOf(opts, ultP1), optOf(opts, ultP2), optOf(opts, ultP3)),
  make: (opts) => new UltoscState([optOf(opts, ultP1), optOf(opts, ultP2), optOf(opts, ultP3)]),
});

// ---------------------------------------------------------------- CCI

/**
 * Commodity Channel Index: (tp - mean) / (0.015 * mean absolute deviation) over `period`
 * typical prices; 0 when either is 0. The mean deviation needs the whole window each bar
 * (O(period)); the window is summed in TA-Lib's circular-buffer order (slot = bar % period) so
 * the rounding matches.
 */
class CciState implements BarState {
  private t = -1;
  private readonly buf: Float64Array;
  constructor(private readonly period: number) {
    this.buf = new Float64Array(period);
  }
  update(x0: number, x1: number, x2: number, _x3: number, out: Float64Array): void {
    const t = ++this.t;
    const p = this.period;
    const buf = this.buf;
    const last = (x0 + x1 + x2) / 3;
    buf[t % p] = last;
    if (t < p - 1) {
      out[0] = Number.NaN;
      return;
    }
    let avg = 0;
    for (let j = 0; j < p; j++) avg += buf[j] as number;
    avg /= p;
    let dev = 0;
    for (let j = 0; j < p; j++) dev += Math.abs((buf[j] as number) - avg);
    const num = last - avg;
    out[0] = num !== 0.0 && dev !== 0.0 ? num / (0.015 * (dev / p)) : 0.0;
  }
}

const cciPeriod = intOption("timeperiod", 14, 2);
export const CCI = stateIndicator({
  name: "CCI",
  inputs: ["high", "low", "close"],
  options: [cciPeriod],
  outputs: ["real"],
  lookback: (opts) => optOf(opts, cciPeriod) - 1,
  make: (opts) => new CciState(optOf(opts, cciPeriod)),
});

// ---------------------------------------------------------------- MFI

/**
 * Money Flow Index: running sums of positive and negative money flow (typical price * volume)
 * over `period` bars; an unchanged typical price adds to neither. TA-Lib outputs 0 when the
 * two sums add up to less than 1.
 */
class MfiState implements BarState {
  private t = -1;
  private prevTp = 0;
  private pos = 0;
  private neg = 0;
  private slot = 0;
  private readonly ring: Float64Array;
  constructor(private readonly period: number) {
    this.ring = new Float64Array(2 * period);
  }
  update(x0: number, x1: number, x2: number, x3: number, out: Float64Array): void {
    const t = ++this.t;
    const tp = (x0 + x1 + x2) / 3.0;
    out[0] = Number.NaN;
    if (t === 0) {
      this.prevTp = tp;
      return;
    }
    const p = this.period;
    const ring = this.ring;
    const at = 2 * this.slot;
    if (t > p) {
      this.pos -= ring[at] as number;
      this.neg -= ring[at + 1] as number;
    }
    const d = tp - this.prevTp;
    this.prevTp = tp;
    const flow = tp * x3;
    if (d < 0) {
      ring[at] = 0.0;
      ring[at + 1] = flow;
      this.neg += flow;
    } else if (d > 0) {
      ring[at] = flow;
      ring[at + 1] = 0.0;
      this.pos += flow;
    } else {
      ring[at] = 0.0;
      ring[at + 1] = 0.0;
    }
    this.slot = this.slot + 1 === p ? 0 : this.slot + 1;
    if (t < p) return;
    const sum = this.pos + this.neg;
    out[0] = sum < 1.0 ? 0.0 : 100.0 * (this.pos / sum);
  }
}

const mfiPeriod = intOption("timeperiod", 14, 2);
export const MFI = stateIndicator({
  name: "MFI",
  inputs: ["high", "low", "close", "volume"],
  options: [mfiPeriod],
  outputs: ["real"],
  lookback: (opts) => optOf(opts, mfiPeriod),
  make: (opts) => new MfiState(optOf(opts, mfiPeriod)),
});

// ---------------------------------------------------------------- BOP

/** Balance of Power: (close - open) / (high - low), 0 when the range is below TA_EPSILON. */
function bop(o: number, h: number, l: number, c: number): number {
  const range = h - l;
  return range < 1e-14 ? 0.0 : (c - o) / range;
}

const noOptions: readonly OptionSpec[] = [];
export const BOP: Indicator = {
  name: "BOP",
  inputs: ["open", "high", "low", "close"],
  options: noOptions,
  outputs: ["real"],
  lookback: () => 0,
  batch(inputs) {
    const o = input(inputs, 0);
    const h = input(inputs, 1);
    const l = input(inputs, 2);
    const c = input(inputs, 3);
    const n = o.length;
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = bop(o[i] as number, h[i] as number, l[i] as number, c[i] as number);
    return [out];
  },
  stream() {
    return {
      next(values, out) {
        out[0] = bop(val(values, 0), val(values, 1), val(values, 2), val(values, 3));
      },
    };
  },
};

export const OSCILLATOR_GROUP: readonly Indicator[] = [
  AROON,
  AROONOSC,
  BOP,
  CCI,
  CMO,
  MFI,
  RSI,
  ULTOSC,
  WILLR,
];
