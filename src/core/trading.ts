/**
 * The trading domain, shared by the Trader (which decides), the execution adapters (simulated,
 * paper, exchange) that carry orders out, the backtest and the live service. Prices are quote
 * currency per base unit, quantities base units, fees quote currency; times epoch ms (UTC).
 */

/** One closed candle of a market. `time` is the open time; the candle closed at time + bar length. */
export interface Candle {
  time: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

/** A candle with what the signal stage decided on it, as the Trader receives it. */
export interface SignalBar {
  /**
   * Position of the bar in its series (the backtest's row; in the live service the bar count
   * since the epoch, time / bar length), so trades can say how many bars they lasted.
   */
  index: number;
  time: number;
  open: number;
  high: number;
  low: number;
  close: number;
  /** The buy signal fired at this bar's close. */
  buy: boolean;
  /** The sell signal fired at this bar's close. */
  sell: boolean;
}

export type Side = "long" | "short";

/** Which positions a strategy takes: long only, short only, or both (a signal reverses). */
export type Direction = "long" | "short" | "both";

export type OrderSide = "buy" | "sell";

/**
 * - `market`: fills at once at the going price (taker).
 * - `stop`: a stop-market order: triggers when the price reaches `price` (a sell stop when it
 *   falls to it, a buy stop when it rises to it), then fills as a market order (taker).
 * - `limit`: rests at `price`, fills at it or better (maker); the take-profit.
 * - `trailing_stop`: a stop whose trigger follows the best price since it was placed
 *   (`trailingFraction` behind it, starting from `price`), then fills as a market order.
 */
export type OrderType = "market" | "stop" | "limit" | "trailing_stop";

/** Why an order exists: the exit reason a trade records, or an entry. */
/** `manual`: an exit asked for by the operator (`/forceexit`). */
export type OrderPurpose =
  | "entry"
  | "signal"
  | "stop_loss"
  | "take_profit"
  | "trailing_stop"
  | "end"
  | "manual";

export type ExitReason = Exclude<OrderPurpose, "entry">;

/** What the Trader wants done: one order, identified by the client order id it chose. */
export interface OrderIntent {
  /**
   * Unique per order and stable across retries: an adapter that is asked twice for the same id
   * places one order (idempotency after a timeout or a restart).
   */
  clientOrderId: string;
  symbol: string;
  side: OrderSide;
  type: OrderType;
  /** Base quantity. Exactly one of `quantity` and `quoteQuantity` is set. */
  quantity?: number;
  /**
   * Quote amount to spend (buy) or to raise (sell), fee included: the adapter chooses the
   * largest quantity whose notional plus fee fits (Binance's quoteOrderQty).
   */
  quoteQuantity?: number;
  /**
   * Trigger price (stop), limit price (limit), or the reference a trailing stop starts from
   * (its trigger is `price × (1 − trailingFraction)` for a sell, `× (1 + trailingFraction)` for
   * a buy, and follows the best price from there).
   */
  price?: number;
  /** trailing_stop: the trigger's distance behind the best price, a fraction (0.02 = 2 %). */
  trailingFraction?: number;
  /**
   * The order may only shrink the position: an adapter refuses it (rejected, reason
   * `nothing_to_reduce`) when there is no position on the other side to close.
   */
  reduceOnly: boolean;
  /**
   * One-cancels-the-others: when an order of the group fills, the adapter cancels the rest
   * (protective stop-loss, take-profit and trailing stop of one position).
   */
  ocoGroup?: string;
  purpose: OrderPurpose;
  /** Open time of the bar whose close decided the order. */
  decidedAt: number;
}

export type OrderStatus = "new" | "partially_filled" | "filled" | "canceled" | "rejected";

/** An order as an adapter knows it. */
export interface Order extends OrderIntent {
  status: OrderStatus;
  /** The venue's id, when it has one. */
  exchangeOrderId?: string;
  /** Base quantity filled so far. */
  filledQuantity: number;
  /** Volume-weighted fill price so far (NaN before the first fill). */
  averagePrice: number;
  /** Fees charged so far, quote. */
  fees: number;
  /** Why it was rejected or canceled. */
  reason?: string;
  createdAt: number;
  updatedAt: number;
}

/** One execution of (part of) an order. */
export interface Fill {
  clientOrderId: string;
  symbol: string;
  side: OrderSide;
  price: number;
  quantity: number;
  /** Quote currency. */
  fee: number;
  liquidity: "maker" | "taker";
  time: number;
  /** The order is now completely filled. */
  final: boolean;
  /** The venue's trade id (deduplicates a fill delivered twice). */
  tradeId: string;
}

/** What an adapter reports, in the order it happened. */
export type ExecutionEvent =
  | { type: "accepted"; order: Order }
  | { type: "fill"; order: Order; fill: Fill }
  | { type: "rejected"; order: Order; reason: string }
  | { type: "canceled"; order: Order; reason: string };

/** The position a venue holds for one symbol. */
export interface Position {
  symbol: string;
  side: Side | null;
  /** Base quantity, ≥ 0. */
  quantity: number;
  /** Average entry price (NaN when flat). */
  entryPrice: number;
}

export type Balances = Readonly<Record<string, number>>;

/** A closed round trip. */
export interface Trade {
  side: Side;
  entryIndex: number;
  entryTime: number;
  entryPrice: number;
  exitIndex: number;
  exitTime: number;
  exitPrice: number;
  qty: number;
  /** Fees paid on entry and exit, in quote. */
  fees: number;
  /** Net profit in quote after fees and slippage. */
  pnl: number;
  /** pnl / entry notional (entry qty × entry price), as a fraction. */
  ret: number;
  exitReason: ExitReason;
}

/** How much an entry spends. */
export type Stake =
  /** The same quote amount on every entry (cut to the equity when it is less: no leverage). */
  | { mode: "fixed"; amount: number }
  /** A fraction of the current equity on every entry (compounding). */
  | { mode: "compound"; fraction: number };

/** Exchange trading rules applied to every order (Binance's PRICE_FILTER, LOT_SIZE, NOTIONAL). */
export interface ExchangeFilters {
  /** Price increment; 0 = none. */
  tickSize: number;
  /** Quantity increment; 0 = none. */
  stepSize: number;
  /** Smallest order value in quote; 0 = none. */
  minNotional: number;
}

/**
 * When a signal computed on bar t is executed.
 * - `next_open`: at bar t+1's open (default; what a live bot reacting to a closed candle gets).
 * - `next_close`: at bar t+1's close.
 * - `close`: at bar t's own close, the original's convention (optimistic: the order is placed
 *   at the very price the signal was computed from).
 */
export type FillAt = "next_open" | "next_close" | "close";

/**
 * How trades are simulated (the backtest, the threshold search, paper trading): the config's
 * `backtest` section as typed values (src/config/settings.ts makes them). Fees and stops are
 * fractions (0.001 = 0.1 %), slippage is in basis points.
 */
export interface BacktestOptions {
  direction: Direction;
  fillAt: FillAt;
  /** Fee per side for market and stop orders (signal entries/exits, stop-loss, trailing stop). */
  takerFee: number;
  /** Fee per side for resting limit orders (take-profit). */
  makerFee: number;
  /** Adverse price move applied to market and stop fills, in basis points of the price. */
  slippageBps: number;
  initialCapital: number;
  stake: Stake;
  /** Fractions of the entry price; undefined = off. */
  stopLoss?: number;
  takeProfit?: number;
  /** Fraction below the highest high (long) / above the lowest low (short) since entry. */
  trailingStop?: number;
  filters?: ExchangeFilters;
  /** Bar length in ms, for annualising Sharpe/Sortino and expressing holding times. */
  barMs: number;
}
