/**
 * Decimal strings the way Binance writes them: a fixed number of fraction digits per field
 * (spot pads every price and quantity to 8, futures to the symbol's precision). Every string
 * parses back to the exact double the simulator holds: stored values are checked when a symbol
 * is loaded (`fitsDecimals`), and aggregated sums are kept as exact decimals (`DecimalSum`).
 */

const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);
/**
 * Below 2^50 the scaled value `x * 10^d` is within 0.5 of the mantissa of x's decimal form, so
 * rounding it recovers that mantissa; above, `toFixed` (exact, but slower) decides.
 */
const FAST_LIMIT = 2 ** 50;

/** Whether `x` written with `d` fraction digits parses back to exactly `x`. */
export function fitsDecimals(x: number, d: number): boolean {
  if (!Number.isFinite(x)) return false;
  const p = POW10[d] as number;
  if (Math.abs(x) * p >= FAST_LIMIT) return Number(x.toFixed(d)) === x;
  return Math.round(x * p) / p === x;
}

/** Fewest fraction digits (up to `max`) with which `x` round-trips; `max + 1` if none. */
export function decimalsNeeded(x: number, max = 8): number {
  for (let d = 0; d <= max; d++) if (fitsDecimals(x, d)) return d;
  return max + 1;
}

/**
 * `x` with exactly `d` fraction digits (`d` of -1: the shortest round-trip form, for data that
 * no fixed precision fits). Integer arithmetic on the scaled mantissa, not `toFixed`, on the
 * hot path: the kline handler formats eight of these per row.
 */
export function formatDecimal(x: number, d: number): string {
  if (d < 0) return String(x);
  if (x < 0) return `-${formatDecimal(-x, d)}`;
  const p = POW10[d] as number;
  const m = Math.round(x * p);
  if (m >= FAST_LIMIT || m / p !== x) return x.toFixed(d);
  const frac = m % p;
  return joinDecimal((m - frac) / p, frac, d);
}

/**
 * A non-negative decimal with `d` fraction digits as two exact integers: the integer part and
 * the fraction's digits. Sums of these stay exact where a double's 15-17 digits do not (a
 * day's quote volume has 19), so an aggregated bar reports the exchange's exact decimal sum.
 */
export function splitDecimal(x: number, d: number): [number, number] {
  const p = POW10[d] as number;
  if (Math.abs(x) * p < FAST_LIMIT) {
    const m = Math.round(x * p);
    const f = m % p;
    return [(m - f) / p, f];
  }
  const s = x.toFixed(d);
  const dot = s.indexOf(".");
  return dot === -1 ? [Number(s), 0] : [Number(s.slice(0, dot)), Number(s.slice(dot + 1))];
}

/**
 * Accumulates the exact decimal sum of values with `d` fraction digits. Negative or
 * non-finite values, or `d` of -1 (no fixed precision), fall back to a floating-point sum.
 */
export class DecimalSum {
  private int = 0;
  private frac = 0;
  private fp = 0;
  private exact: boolean;
  private readonly p: number;
  constructor(readonly d: number) {
    this.p = d < 0 ? 1 : (POW10[d] as number);
    this.exact = d >= 0;
  }

  add(x: number): void {
    this.fp += x;
    if (!this.exact) return;
    if (!(x >= 0 && Number.isFinite(x))) {
      this.exact = false;
      return;
    }
    const [i, f] = splitDecimal(x, this.d);
    this.int += i;
    this.frac += f;
    if (this.frac >= this.p) {
      this.frac -= this.p;
      this.int += 1;
    }
  }

  reset(): void {
    this.int = 0;
    this.frac = 0;
    this.fp = 0;
    this.exact = this.d >= 0;
  }

  /** The sum as the exchange writes it. */
  text(): string {
    return this.exact ? joinDecimal(this.int, this.frac, this.d) : formatDecimal(this.fp, this.d);
  }
}

export function joinDecimal(int: number, frac: number, d: number): string {
  if (d === 0) return String(int);
  const f = String(frac);
  return `${int}.${f.length < d ? "0".repeat(d - f.length) + f : f}`;
}
