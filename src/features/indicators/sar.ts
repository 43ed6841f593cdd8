import { defineIndicator, input, nanPrefix, opt, REAL_BOUND, realOption } from "./indicatorKit.js";
import type { Indicator, IndicatorStream } from "./types.js";

/**
 * TA_SAR, Wilder's parabolic stop-and-reverse, as TA-Lib implements it: the first direction is
 * short when bar 1 has a positive -DM (its low fell more than its high rose), long otherwise; the
 * SAR written for a bar is the one computed at the previous bar; a reversal writes the extreme
 * point clamped by the last two bars, then restarts the acceleration. The same state machine runs
 * the batch and the stream, one bar per step.
 */
class SarState {
  private count = 0;
  private isLong = true;
  private af: number;
  private readonly acceleration: number;
  private ep = 0;
  private sar = 0;
  private newHigh = 0;
  private newLow = 0;
  constructor(
    acceleration: number,
    private readonly maximum: number,
  ) {
    // TA-Lib clamps the starting acceleration to the maximum (and keeps using the clamped value).
    this.acceleration = Math.min(acceleration, maximum);
    this.af = this.acceleration;
  }

  /** Consumes one bar; returns the SAR for it (NaN for bar 0). */
  step(high: number, low: number): number {
    if (this.count === 0) {
      this.count = 1;
      this.newHigh = high;
      this.newLow = low;
      return Number.NaN;
    }
    if (this.count === 1) {
      this.count = 2;
      // TA_MINUS_DM with period 1 at bar 1.
      const diffP = high - this.newHigh;
      const diffM = this.newLow - low;
      const minusDM = diffM > 0 && diffP < diffM ? diffM : 0;
      this.isLong = !(minusDM > 0);
      if (this.isLong) {
        this.ep = high;
        this.sar = this.newLow;
      } else {
        this.ep = low;
        this.sar = this.newHigh;
      }
      this.newLow = low;
      this.newHigh = high;
    }
    const prevLow = this.newLow;
    const prevHigh = this.newHigh;
    const newLow = low;
    const newHigh = high;
    this.newLow = newLow;
    this.newHigh = newHigh;
    const accel = this.acceleration;
    let sar = this.sar;
    let out: number;
    if (this.isLong) {
      if (newLow <= sar) {
        this.isLong = false;
        sar = this.ep;
        if (sar < prevHigh) sar = prevHigh;
        if (sar < newHigh) sar = newHigh;
        out = sar;
        this.af = accel;
        this.ep = newLow;
        sar = sar + this.af * (this.ep - sar);
        if (sar < prevHigh) sar = prevHigh;
        if (sar < newHigh) sar = newHigh;
      } else {
        out = sar;
        if (newHigh > this.ep) {
          this.ep = newHigh;
          this.af += accel;
          if (this.af > this.maximum) this.af = this.maximum;
        }
        sar = sar + this.af * (this.ep - sar);
        if (sar > prevLow) sar = prevLow;
        if (sar > newLow) sar = newLow;
      }
    } else if (newHigh >= sar) {
      this.isLong = true;
      sar = this.ep;
      if (sar > prevLow) sar = prevLow;
      if (sar > newLow) sar = newLow;
      out = sar;
      this.af = accel;
      this.ep = newHigh;
      sar = sar + this.af * (this.ep - sar);
      if (sar > prevLow) sar = prevLow;
      if (sar > newLow) sar = newLow;
    } else {
      out = sar;
      if (newLow < this.ep) {
        this.ep = newLow;
        this.af += accel;
        if (this.af > this.maximum) this.af = this.maximum;
      }
      sar = sar + this.af * (this.ep - sar);
      if (sar < prevHigh) sar = prevHigh;
      if (sar < newHigh) sar = newHigh;
    }
    this.sar = sar;
    return out;
  }
}

export function sar(
  high: Float64Array,
  low: Float64Array,
  acceleration: number,
  maximum: number,
): Float64Array {
  const n = high.length;
  const out = nanPrefix(n, 1);
  if (n <= 1) return out;
  const s = new SarState(acceleration, maximum);
  for (let i = 0; i < n; i++) out[i] = s.step(high[i] as number, low[i] as number);
  return out;
}

export const SAR_INDICATOR: Indicator = defineIndicator({
  name: "SAR",
  inputs: ["high", "low"],
  options: [realOption("acceleration", 0.02, 0, REAL_BOUND), realOption("maximum", 0.2, 0, REAL_BOUND)],
  outputs: ["real"],
  lookback: () => 1,
  batch: (ins, o) => [sar(input(ins, 0), input(ins, 1), opt(o, "acceleration"), opt(o, "maximum"))],
  stream: (o): IndicatorStream => {
    const s = new SarState(opt(o, "acceleration"), opt(o, "maximum"));
    return {
      next(values, out) {
        out[0] = s.step(values[0] as number, values[1] as number);
      },
    };
  },
});
