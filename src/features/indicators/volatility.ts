import {
  CHUNK_ROWS,
  defineIndicator,
  input,
  iopt,
  nanPrefix,
  TA_EPSILON,
  timeperiod,
  uninitNanPrefix,
} from "./indicatorKit.js";
import type { Indicator, IndicatorStream } from "./types.js";
import { runKernel } from "./wasmKernels.js";

/**
 * TA-Lib's volatility functions: TRANGE, ATR (Wilder's smoothing of TRANGE seeded with its SMA)
 * and NATR (ATR / close · 100). With period 1 both ATR and NATR return TRANGE, un-normalized:
 * TA-Lib's shortcut, kept.
 */

function trueRange(high: number, low: number, prevClose: number): number {
  let greatest = high - low;
  const v2 = Math.abs(prevClose - high);
  if (v2 > greatest) greatest = v2;
  const v3 = Math.abs(prevClose - low);
  if (v3 > greatest) greatest = v3;
  return greatest;
}

/** TA_TRANGE (first value at index 1). */
export function trange(high: Float64Array, low: Float64Array, close: Float64Array): Float64Array {
  const n = high.length;
  const out = nanPrefix(n, 1);
  for (let i = 1; i < n; i++) out[i] = trueRange(high[i] as number, low[i] as number, close[i - 1] as number);
  return out;
}

/** TA_ATR, or TA_NATR when `normalized`. */
export function atr(
  high: Float64Array,
  low: Float64Array,
  close: Float64Array,
  period: number,
  normalized: boolean,
): Float64Array {
  if (period <= 1) return trange(high, low, close);
  const n = high.length;
  const lb = period;
  const out = uninitNanPrefix(n, lb); // out[lb] and every later position are written below
  if (n <= lb) return out;
  // The seed: TA_INT_SMA over TRANGE[1..period], summed in order.
  let prevATR = 0;
  for (let i = 1; i <= period; i++) {
    prevATR += trueRange(high[i] as number, low[i] as number, close[i - 1] as number);
  }
  prevATR = prevATR / period;
  out[lb] = normalized ? natrValue(prevATR, close[lb] as number) : prevATR;
  const st = new Float64Array([prevATR]);
  const hlc = [high, low, close] as const;
  if (runKernel(normalized ? "natr" : "atr", hlc, [out], lb + 1, 1, st, period)) return out;
  for (let i = lb + 1; i < n; i += CHUNK_ROWS)
    atrChunk(hlc, out, st, i, Math.min(n, i + CHUNK_ROWS), period, normalized);
  return out;
}

/** atr's smoothing over rows [i0, i1); st = [prevATR]. */
function atrChunk(
  hlc: readonly [Float64Array, Float64Array, Float64Array],
  out: Float64Array,
  st: Float64Array,
  i0: number,
  i1: number,
  period: number,
  normalized: boolean,
): void {
  const [high, low, close] = hlc;
  let prevATR = st[0] as number;
  for (let i = i0; i < i1; i++) {
    prevATR *= period - 1;
    prevATR += trueRange(high[i] as number, low[i] as number, close[i - 1] as number);
    prevATR /= period;
    out[i] = normalized ? natrValue(prevATR, close[i] as number) : prevATR;
  }
  st[0] = prevATR;
}

/**
 * NATR's value; TA-Lib writes 0 for a zero close (its loop writes that 0 to the first output slot
 * instead of the current one, a bug whose result depends on buffer contents; 0 here).
 */
function natrValue(atrValue: number, close: number): number {
  return -TA_EPSILON < close && close < TA_EPSILON ? 0.0 : (atrValue / close) * 100.0;
}

class AtrStream implements IndicatorStream {
  private count = 0;
  private prevClose = 0;
  private prevATR = 0;
  constructor(
    private readonly period: number,
    private readonly normalized: boolean,
  ) {}
  next(values: ArrayLike<number>, out: Float64Array): void {
    const high = values[0] as number;
    const low = values[1] as number;
    const close = values[2] as number;
    const t = this.count++;
    const prevClose = this.prevClose;
    this.prevClose = close;
    if (t === 0) {
      out[0] = Number.NaN;
      return;
    }
    const tr = trueRange(high, low, prevClose);
    const p = this.period;
    if (p <= 1) {
      out[0] = tr;
      return;
    }
    if (t < p) {
      this.prevATR += tr;
      out[0] = Number.NaN;
      return;
    }
    if (t === p) {
      this.prevATR += tr;
      this.prevATR = this.prevATR / p;
    } else {
      this.prevATR *= p - 1;
      this.prevATR += tr;
      this.prevATR /= p;
    }
    out[0] = this.normalized ? natrValue(this.prevATR, close) : this.prevATR;
  }
}

class TrangeStream implements IndicatorStream {
  private count = 0;
  private prevClose = 0;
  next(values: ArrayLike<number>, out: Float64Array): void {
    const close = values[2] as number;
    out[0] =
      this.count++ === 0 ? Number.NaN : trueRange(values[0] as number, values[1] as number, this.prevClose);
    this.prevClose = close;
  }
}

function atrIndicator(name: string, normalized: boolean): Indicator {
  return defineIndicator({
    name,
    inputs: ["high", "low", "close"],
    options: [timeperiod(14, 1)],
    outputs: ["real"],
    lookback: (o) => iopt(o, "timeperiod"),
    batch: (ins, o) => [atr(input(ins, 0), input(ins, 1), input(ins, 2), iopt(o, "timeperiod"), normalized)],
    stream: (o) => new AtrStream(iopt(o, "timeperiod"), normalized),
  });
}

export const VOLATILITY_INDICATORS: readonly Indicator[] = [
  atrIndicator("ATR", false),
  atrIndicator("NATR", true),
  defineIndicator({
    name: "TRANGE",
    inputs: ["high", "low", "close"],
    options: [],
    outputs: ["real"],
    lookback: () => 1,
    batch: (ins) => [trange(input(ins, 0), input(ins, 1), input(ins, 2))],
    stream: () => new TrangeStream(),
  }),
];
