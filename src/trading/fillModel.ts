import type { ExchangeFilters } from "../core/trading.js";

/**
 * The simulated exchange's price and quantity rules: the one place where prices and quantities
 * are rounded to exchange precision, slippage is applied and fees are charged. The simulated
 * venue (backtest and paper trading) and the threshold search's engine both fill through it.
 */

/** Order side: +1 buy, −1 sell. */
export type OrderSide = 1 | -1;

/**
 * How an order executes. Market and stop orders pay the taker fee and suffer slippage; a limit
 * order (take-profit) fills at its limit price and pays the maker fee.
 */
export const MARKET = 0;
export const STOP = 1;
export const LIMIT = 2;
export type OrderKind = typeof MARKET | typeof STOP | typeof LIMIT;

/** A fill, written into a caller-owned object so that placing an order allocates nothing. */
export interface PriceFill {
  /** Executed price after slippage and tick rounding. */
  price: number;
  /** Executed base quantity, a multiple of the step size. */
  qty: number;
  /** Fee in quote: price × qty × fee rate. */
  fee: number;
}

export function emptyFill(): PriceFill {
  // NaN, a double, so that V8 stores the fields unboxed (see metrics.ts)
  return { price: Number.NaN, qty: Number.NaN, fee: Number.NaN };
}

/**
 * The threshold search engine's order port: one call per order, never per bar, the fill written
 * into a caller-owned object so that placing an order allocates nothing.
 */
export interface Broker {
  /**
   * Opens a position: spends at most `quote` (fill notional + fee) on `side` at about
   * `refPrice`. Returns false, leaving `out` unspecified, when the exchange would refuse the
   * order (zero quantity after rounding, or below the minimum notional).
   */
  entry(side: OrderSide, kind: OrderKind, refPrice: number, quote: number, out: PriceFill): boolean;
  /** Closes `qty` (a quantity returned by `entry`) on `side`. Exits are never refused. */
  exit(side: OrderSide, kind: OrderKind, refPrice: number, qty: number, out: PriceFill): boolean;
}

export interface SimBrokerOptions {
  takerFee: number;
  makerFee: number;
  slippageBps: number;
  filters?: ExchangeFilters | undefined;
}

/** x rounded to a multiple of `inc` (up or down); exact multiples, give or take float noise, stay. */
export function roundToIncrement(x: number, inc: number, up: boolean): number {
  if (!(inc > 0)) return x;
  const k = x / inc;
  const r = Math.round(k);
  const n = Math.abs(k - r) <= 1e-9 + Math.abs(k) * 1e-12 ? r : up ? Math.ceil(k) : Math.floor(k);
  return multipleOf(n, inc);
}

/**
 * n × inc without the float noise of the product when inc is 1/integer (0.01 × 10010 is
 * 100.10000000000001, while 10010 / 100 is 100.1).
 */
function multipleOf(n: number, inc: number): number {
  if (inc < 1) {
    const inv = Math.round(1 / inc);
    if (Math.abs(inv * inc - 1) < 1e-12) return n / inv;
  }
  return n * inc;
}

/** A price rounded adversely to the tick: buys round up, sells round down. */
export function roundPrice(price: number, side: OrderSide, tickSize: number): number {
  return roundToIncrement(price, tickSize, side === 1);
}

/** A quantity rounded down to the step. */
export function roundQty(qty: number, stepSize: number): number {
  return roundToIncrement(qty, stepSize, false);
}

/**
 * The simulated exchange. Fill price = reference price moved against the order by the slippage
 * (market and stop orders only), then rounded adversely to the tick. Entry quantity =
 * quote / (price × (1 + fee)) rounded down to the step, so notional + fee never exceeds the
 * stake. An entry with zero quantity or a notional below minNotional is refused.
 */
export class SimBroker implements Broker {
  private readonly taker: number;
  private readonly maker: number;
  private readonly slip: number;
  private readonly tick: number;
  private readonly step: number;
  private readonly minNotional: number;

  constructor(o: SimBrokerOptions) {
    this.taker = o.takerFee;
    this.maker = o.makerFee;
    this.slip = o.slippageBps / 1e4;
    this.tick = o.filters?.tickSize ?? 0;
    this.step = o.filters?.stepSize ?? 0;
    this.minNotional = o.filters?.minNotional ?? 0;
  }

  private price(side: OrderSide, kind: OrderKind, ref: number): number {
    const p = kind === LIMIT ? ref : ref * (1 + side * this.slip);
    return this.tick > 0 ? roundPrice(p, side, this.tick) : p;
  }

  entry(side: OrderSide, kind: OrderKind, refPrice: number, quote: number, out: PriceFill): boolean {
    const price = this.price(side, kind, refPrice);
    const rate = kind === LIMIT ? this.maker : this.taker;
    let qty = quote / (price * (1 + rate));
    if (this.step > 0) qty = roundQty(qty, this.step);
    const notional = qty * price;
    // A price rounded to 0 (below one tick) gives an infinite quantity and a NaN notional:
    // refused like any order the exchange would not take.
    if (!(price > 0) || !(qty > 0) || !Number.isFinite(notional) || notional < this.minNotional) return false;
    out.price = price;
    out.qty = qty;
    out.fee = notional * rate;
    return true;
  }

  exit(side: OrderSide, kind: OrderKind, refPrice: number, qty: number, out: PriceFill): boolean {
    const price = this.price(side, kind, refPrice);
    out.price = price;
    out.qty = qty;
    out.fee = qty * price * (kind === LIMIT ? this.maker : this.taker);
    return true;
  }
}
