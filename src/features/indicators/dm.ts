import { input, intOption, isZero, nanArray, optOf, trueRange, val } from "./indicatorKit.js";
import type { Indicator, IndicatorStream, Options } from "./types.js";

/**
 * Wilder's directional movement family: PLUS_DM, MINUS_DM, PLUS_DI, MINUS_DI, DX, ADX, ADXR.
 *
 * TA-Lib seeds every Wilder sum with the plain sum of the first `period - 1` one-bar values
 * (there is no DM or TR on the first bar) and smooths from then on with s - s/period + v; the
 * DI and DX values appear one bar later (after one smoothing step), ADX after `period` DX
 * values. A zero true range (or zero DI sum) gives 0 for DI/DX at the start and repeats the
 * previous value afterwards, exactly as the C code does. Unstable periods are TA-Lib's default 0.
 *
 * Each indicator is one bar-by-bar state; the batch kernel runs the same state over the arrays,
 * so batch and stream agree bit for bit.
 */

const HLC = ["high", "low", "close"] as const;
const HL = ["high", "low"] as const;

/** One bar of directional movement: DM1, TR1 and the Wilder sums, in TA-Lib's arithmetic. */
class Directional {
  /** Index of the bar last fed (-1 before the first). */
  t = -1;
  plus = 0;
  minus = 0;
  tr = 0;
  plus1 = 0;
  minus1 = 0;
  tr1 = 0;
  private ph = 0;
  private pl = 0;
  private pc = 0;

  constructor(
    private readonly period: number,
    private readonly withTr: boolean,
  ) {}

  /** Feeds a bar; returns its index. */
  step(h: number, l: number, c: number): number {
    const t = ++this.t;
    if (t === 0) {
      this.ph = h;
      this.pl = l;
      this.pc = c;
      return 0;
    }
    const diffP = h - this.ph;
    const diffM = this.pl - l;
    this.ph = h;
    this.pl = l;
    let plus1 = 0;
    let minus1 = 0;
    if (diffM > 0 && diffP < diffM) minus1 = diffM;
    else if (diffP > 0 && diffP > diffM) plus1 = diffP;
    this.plus1 = plus1;
    this.minus1 = minus1;
    const p = this.period;
    if (t < p) {
      this.plus += plus1;
      this.minus += minus1;
    } else {
      this.plus = this.plus - this.plus / p + plus1;
      this.minus = this.minus - this.minus / p + minus1;
    }
    if (this.withTr) {
      const tr1 = trueRange(h, l, this.pc);
      this.pc = c;
      this.tr1 = tr1;
      this.tr = t < p ? this.tr + tr1 : this.tr - this.tr / p + tr1;
    }
    return t;
  }

  /** DX of the current sums, or NaN when TA-Lib skips it (zero TR or zero DI sum). */
  dx(): number {
    if (isZero(this.tr)) return Number.NaN;
    const minusDI = 100.0 * (this.minus / this.tr);
    const plusDI = 100.0 * (this.plus / this.tr);
    const sum = minusDI + plusDI;
    if (isZero(sum)) return Number.NaN;
    return 100.0 * (Math.abs(minusDI - plusDI) / sum);
  }
}

interface BarState {
  update(h: number, l: number, c: number): number;
}

class DmState implements BarState {
  private readonly d: Directional;
  constructor(
    private readonly period: number,
    private readonly isPlus: boolean,
  ) {
    this.d = new Directional(period, false);
  }
  update(h: number, l: number, c: number): number {
    const d = this.d;
    const t = d.step(h, l, c);
    if (this.period <= 1) {
      if (t < 1) return Number.NaN;
      return this.isPlus ? d.plus1 : d.minus1;
    }
    if (t < this.period - 1) return Number.NaN;
    return this.isPlus ? d.plus : d.minus;
  }
}

class DiState implements BarState {
  private readonly d: Directional;
  constructor(
    private readonly period: number,
    private readonly isPlus: boolean,
  ) {
    this.d = new Directional(period, true);
  }
  update(h: number, l: number, c: number): number {
    const d = this.d;
    const t = d.step(h, l, c);
    if (this.period <= 1) {
      if (t < 1) return Number.NaN;
      const dm1 = this.isPlus ? d.plus1 : d.minus1;
      // TA-Lib's one-bar DI is the plain ratio (no factor 100) and 0 without movement.
      if (dm1 === 0 || isZero(d.tr1)) return 0;
      return dm1 / d.tr1;
    }
    if (t < this.period) return Number.NaN;
    if (isZero(d.tr)) return 0;
    return 100.0 * ((this.isPlus ? d.plus : d.minus) / d.tr);
  }
}

class DxState implements BarState {
  private readonly d: Directional;
  private last = 0;
  constructor(private readonly period: number) {
    this.d = new Directional(period, true);
  }
  update(h: number, l: number, c: number): number {
    const t = this.d.step(h, l, c);
    if (t < this.period) return Number.NaN;
    const dx = this.d.dx();
    if (!Number.isNaN(dx)) this.last = dx;
    return this.last;
  }
}

class AdxState implements BarState {
  private readonly d: Directional;
  private sumDX = 0;
  private adx = 0;
  constructor(private readonly period: number) {
    this.d = new Directional(period, true);
  }
  update(h: number, l: number, c: number): number {
    const p = this.period;
    const t = this.d.step(h, l, c);
    if (t < p) return Number.NaN;
    const dx = this.d.dx();
    if (t < 2 * p - 1) {
      if (!Number.isNaN(dx)) this.sumDX += dx;
      return Number.NaN;
    }
    if (t === 2 * p - 1) {
      if (!Number.isNaN(dx)) this.sumDX += dx;
      this.adx = this.sumDX / p;
    } else if (!Number.isNaN(dx)) {
      this.adx = (this.adx * (p - 1) + dx) / p;
    }
    return this.adx;
  }
}

/** ADXR = (ADX today + ADX period-1 bars ago) / 2; keeps the last `period` ADX values. */
class AdxrState implements BarState {
  private readonly adx: AdxState;
  private readonly ring: Float64Array;
  private t = -1;
  constructor(private readonly period: number) {
    this.adx = new AdxState(period);
    this.ring = new Float64Array(period);
  }
  update(h: number, l: number, c: number): number {
    const p = this.period;
    const t = ++this.t;
    const a = this.adx.update(h, l, c);
    this.ring[t % p] = a;
    if (t < 3 * p - 2) return Number.NaN;
    return (a + (this.ring[(t - p + 1) % p] as number)) / 2.0;
  }
}

function hlcIndicator(
  name: string,
  minPeriod: number,
  lookback: (p: number) => number,
  make: (p: number) => BarState,
  twoInputs = false,
): Indicator {
  const period = intOption("timeperiod", 14, minPeriod);
  return {
    name,
    inputs: twoInputs ? HL : HLC,
    options: [period],
    outputs: ["real"],
    lookback: (opts: Options) => lookback(optOf(opts, period)),
    batch(inputs, opts) {
      const h = input(inputs, 0);
      const l = input(inputs, 1);
      // DM needs no close; the state ignores it when it keeps no true range.
      const c = twoInputs ? h : input(inputs, 2);
      const n = h.length;
      const out = nanArray(n);
      const s = make(optOf(opts, period));
      for (let i = 0; i < n; i++) out[i] = s.update(h[i] as number, l[i] as number, c[i] as number);
      return [out];
    },
    stream(opts): IndicatorStream {
      const s = make(optOf(opts, period));
      return {
        next(values, out) {
          out[0] = s.update(val(values, 0), val(values, 1), twoInputs ? 0 : val(values, 2));
        },
      };
    },
  };
}

const adxLookback = (p: number) => 2 * p - 1;

export const PLUS_DM = hlcIndicator(
  "PLUS_DM",
  1,
  (p) => (p > 1 ? p - 1 : 1),
  (p) => new DmState(p, true),
  true,
);
export const MINUS_DM = hlcIndicator(
  "MINUS_DM",
  1,
  (p) => (p > 1 ? p - 1 : 1),
  (p) => new DmState(p, false),
  true,
);
export const PLUS_DI = hlcIndicator(
  "PLUS_DI",
  1,
  (p) => Math.max(p, 1),
  (p) => new DiState(p, true),
);
export const MINUS_DI = hlcIndicator(
  "MINUS_DI",
  1,
  (p) => Math.max(p, 1),
  (p) => new DiState(p, false),
);
export const DX = hlcIndicator(
  "DX",
  2,
  (p) => p,
  (p) => new DxState(p),
);
export const ADX = hlcIndicator("ADX", 2, adxLookback, (p) => new AdxState(p));
export const ADXR = hlcIndicator(
  "ADXR",
  2,
  (p) => p + adxLookback(p) - 1,
  (p) => new AdxrState(p),
);

export const DM_GROUP: readonly Indicator[] = [ADX, ADXR, DX, MINUS_DI, MINUS_DM, PLUS_DI, PLUS_DM];
