import { TradingError } from "../core/errors.js";
import type {
  ExchangeFilters,
  ExecutionEvent,
  Fill,
  FillAt,
  Order,
  OrderIntent,
  OrderSide,
  Position,
} from "../core/trading.js";
import { LIMIT, MARKET, type OrderKind, type PriceFill, SimBroker, STOP } from "./fillModel.js";

/**
 * A simulated exchange for one market, driven by candles: the execution side of backtests and
 * paper trading. Orders rest in it and fill from each candle's prices, in three phases the
 * caller runs in order per candle (`openBar`, `rangeBar`, `closeBar`):
 *
 * 1. The open: resting orders the open has gapped through fill (a stop at the open, a limit at
 *    its price); then, under `next_open`, the market orders waiting since the last close fill
 *    at the open.
 * 2. The range: resting orders the bar's high and low reach fill; stop orders are assumed to be
 *    reached before limit orders (the worse case, the intrabar path being unknown), the
 *    tightest stop first. Trailing stops then follow the bar's extreme.
 * 3. The close: under `next_close` and `close`, waiting market orders fill at the close.
 *
 * Market orders placed while a phase fills (a reversal's entry after its exit) fill in the
 * same phase at the same price. A candle without a close (a gap on the grid) fills nothing.
 * Prices, quantities, fees and filters follow `fillModel.ts`. Events go synchronously to the
 * listener, which may submit and cancel from inside it.
 */

/** The venue's whole state (see `SimulatedVenue.snapshot`). */
export interface VenueSnapshot {
  version: 1;
  lastClose: number;
  time: number;
  base: number;
  quote: number;
  fills: number;
  seq: number;
  queue: Order[];
  resting: { order: Order; seq: number; best: number; trigger: number }[];
  finished: Order[];
}

export interface SimulatedVenueOptions {
  symbol: string;
  fillAt: FillAt;
  takerFee: number;
  makerFee: number;
  slippageBps: number;
  filters?: ExchangeFilters | undefined;
  /** Quote balance at the start. */
  cash?: number;
}

interface Working {
  order: Order;
  /** When it was placed: a phase considers only orders placed before it started. */
  seq: number;
  /** trailing_stop: best price since placed, and the current trigger. */
  best: number;
  trigger: number;
}

/** Finished orders kept for `order` and idempotent `submit` (a paper run must not grow without end). */
const FINISHED_KEPT = 4096;
const SELL = -1;
const BUY = 1;

export class SimulatedVenue {
  readonly symbol: string;
  readonly fillAt: FillAt;
  /** Last close seen (NaN before the first candle with a close). */
  lastClose = Number.NaN;

  private readonly model: SimBroker;
  private readonly listener: (e: ExecutionEvent) => void;
  private readonly orders = new Map<string, Order>();
  /** Market orders waiting for their fill phase, in submission order. */
  private queue: Order[] = [];
  private resting: Working[] = [];
  private readonly out: PriceFill = { price: Number.NaN, qty: Number.NaN, fee: Number.NaN };
  // the candle in progress
  private time = Number.NaN;
  private open = Number.NaN;
  private high = Number.NaN;
  private low = Number.NaN;
  private close = Number.NaN;
  /** Signed base quantity held. */
  private base = 0;
  private quote: number;
  private fills = 0;
  private seq = 0;
  /** Finished orders, oldest first: the map keeps the last FINISHED_KEPT for look-ups by id. */
  private readonly finished: string[] = [];

  constructor(o: SimulatedVenueOptions, listener: (e: ExecutionEvent) => void) {
    this.symbol = o.symbol;
    this.fillAt = o.fillAt;
    this.model = new SimBroker(o);
    this.listener = listener;
    this.quote = o.cash ?? 0;
  }

  /** Everything the venue holds, as plain data (numbers may be NaN or infinite: encode it with core/json.ts). */
  snapshot(): VenueSnapshot {
    const kept = this.finished.filter((id) => this.orders.has(id));
    return {
      version: 1,
      lastClose: this.lastClose,
      time: this.time,
      base: this.base,
      quote: this.quote,
      fills: this.fills,
      seq: this.seq,
      queue: this.queue.map((o) => ({ ...o })),
      resting: this.resting.map((w) => ({
        order: { ...w.order },
        seq: w.seq,
        best: w.best,
        trigger: w.trigger,
      })),
      finished: kept.map((id) => ({ ...(this.orders.get(id) as Order) })),
    };
  }

  /** Puts the venue back in the state `snapshot` recorded (the options must be the same). */
  restore(s: VenueSnapshot): void {
    if (s.version !== 1) throw new TradingError(`unknown venue snapshot version ${s.version}`);
    this.lastClose = s.lastClose;
    this.time = s.time;
    this.base = s.base;
    this.quote = s.quote;
    this.fills = s.fills;
    this.seq = s.seq;
    this.orders.clear();
    this.finished.length = 0;
    for (const o of s.finished) {
      this.orders.set(o.clientOrderId, { ...o });
      this.finished.push(o.clientOrderId);
    }
    this.queue = s.queue.map((o) => {
      const order = { ...o };
      this.orders.set(order.clientOrderId, order);
      return order;
    });
    this.resting = s.resting.map((w) => {
      const order = { ...w.order };
      this.orders.set(order.clientOrderId, order);
      return { order, seq: w.seq, best: w.best, trigger: w.trigger };
    });
  }

  /** Takes an order: market orders wait for their phase, the others rest. Returns its state. */
  submit(intent: OrderIntent): Order {
    const known = this.orders.get(intent.clientOrderId);
    if (known !== undefined) return known;
    const order: Order = {
      clientOrderId: intent.clientOrderId,
      symbol: intent.symbol,
      side: intent.side,
      type: intent.type,
      quantity: intent.quantity,
      quoteQuantity: intent.quoteQuantity,
      price: intent.price,
      trailingFraction: intent.trailingFraction,
      reduceOnly: intent.reduceOnly,
      ocoGroup: intent.ocoGroup,
      purpose: intent.purpose,
      decidedAt: intent.decidedAt,
      status: "new",
      exchangeOrderId: undefined,
      filledQuantity: 0,
      averagePrice: Number.NaN,
      fees: 0,
      reason: undefined,
      createdAt: this.time,
      updatedAt: this.time,
    };
    this.orders.set(order.clientOrderId, order);
    const problem = this.check(intent);
    if (problem !== undefined) {
      this.reject(order, problem);
      return order;
    }
    this.listener({ type: "accepted", order });
    if (intent.type === "market") this.queue.push(order);
    else {
      const price = intent.price as number;
      const f = intent.trailingFraction ?? 0;
      const trigger =
        intent.type === "trailing_stop"
          ? intent.side === "sell"
            ? price * (1 - f)
            : price * (1 + f)
          : price;
      this.resting.push({ order, seq: ++this.seq, best: price, trigger });
    }
    return order;
  }

  /** Cancels a working order; returns its state (unchanged when it had finished), undefined if unknown. */
  cancel(clientOrderId: string, reason = "canceled"): Order | undefined {
    const order = this.orders.get(clientOrderId);
    if (order === undefined) return undefined;
    if (order.status !== "new" && order.status !== "partially_filled") return order;
    this.remove(order);
    order.status = "canceled";
    order.reason = reason;
    order.updatedAt = this.time;
    this.listener({ type: "canceled", order, reason });
    return order;
  }

  order(clientOrderId: string): Order | undefined {
    return this.orders.get(clientOrderId);
  }

  openOrders(): Order[] {
    return [...this.queue, ...this.resting.map((w) => w.order)];
  }

  position(): Position {
    const side = this.base > 0 ? "long" : this.base < 0 ? "short" : null;
    return { symbol: this.symbol, side, quantity: Math.abs(this.base), entryPrice: Number.NaN };
  }

  /** Quote balance (fills and fees applied). */
  get quoteBalance(): number {
    return this.quote;
  }

  /** Orders resting (stops, limits, trailing stops). */
  get restingCount(): number {
    return this.resting.length;
  }

  /** Market orders wait for their fill phase. */
  get hasMarketOrders(): boolean {
    return this.queue.length > 0;
  }

  /**
   * The levels at which a candle would fill a resting order of a position on `side` (+1 long:
   * sell orders; −1 short: buy orders), written to `out`: [0] the tightest stop trigger, [1] the
   * nearest limit, [2] the trailing stop's best price. A level without an order is at infinity
   * on its side, so a bar whose low stays above [0], whose high stays below [1] and does not
   * pass [2] (mirrored for a short) changes nothing here.
   */
  restingLevels(side: 1 | -1, out: Float64Array): void {
    const long = side === 1;
    let stop = long ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
    let limit = long ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
    let best = long ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
    for (const w of this.resting) {
      const t = w.trigger;
      if (w.order.type === "limit") limit = long ? Math.min(limit, t) : Math.max(limit, t);
      else {
        stop = long ? Math.max(stop, t) : Math.min(stop, t);
        if (w.order.type === "trailing_stop") best = w.best;
      }
    }
    out[0] = stop;
    out[1] = limit;
    out[2] = best;
  }

  /** Phase 1 of a candle: its open. */
  openBar(time: number, open: number, high: number, low: number, close: number): void {
    this.time = time;
    this.open = open;
    this.high = high;
    this.low = low;
    this.close = close;
    if (Number.isNaN(close)) return;
    if (this.resting.length > 0) this.triggerResting(true);
    if (this.fillAt === "next_open") this.fillMarket(open);
  }

  /** Phase 2: the bar's range meets the resting orders. */
  rangeBar(): void {
    if (Number.isNaN(this.close) || this.resting.length === 0) return;
    this.triggerResting(false);
    const h = this.high;
    const l = this.low;
    for (const w of this.resting) {
      const f = w.order.trailingFraction;
      if (w.order.type !== "trailing_stop" || f === undefined) continue;
      if (w.order.side === "sell" ? h > w.best : l < w.best) {
        w.best = w.order.side === "sell" ? h : l;
        w.trigger = w.order.side === "sell" ? w.best * (1 - f) : w.best * (1 + f);
      }
    }
  }

  /** Phase 3: the close. */
  closeBar(): void {
    if (Number.isNaN(this.close)) return;
    this.lastClose = this.close;
    if (this.fillAt !== "next_open") this.fillMarket(this.close);
  }

  /** Fills the waiting market orders now, at the last close (the end of a backtest). */
  settleAtClose(): void {
    if (!Number.isNaN(this.close)) this.lastClose = this.close;
    this.fillMarket(this.lastClose);
  }

  private check(intent: OrderIntent): string | undefined {
    const q = intent.quantity;
    const qq = intent.quoteQuantity;
    if ((q === undefined) === (qq === undefined)) return "invalid_quantity: give quantity or quoteQuantity";
    if (q !== undefined && !(q > 0 && Number.isFinite(q))) return `invalid_quantity: ${q}`;
    if (qq !== undefined && !(qq > 0 && Number.isFinite(qq))) return `invalid_quantity: quote ${qq}`;
    if (intent.type !== "market") {
      const p = intent.price;
      if (p === undefined || !(p > 0 && Number.isFinite(p))) return `invalid_price: ${p}`;
      if (qq !== undefined) return "invalid_quantity: resting orders take a base quantity";
      if (intent.type === "trailing_stop") {
        const f = intent.trailingFraction;
        if (f === undefined || !(f > 0 && f < 1)) return `invalid_trailing_fraction: ${f}`;
      }
    }
    return undefined;
  }

  private remove(order: Order): void {
    this.finished.push(order.clientOrderId);
    if (this.finished.length > FINISHED_KEPT * 2) {
      for (const id of this.finished.splice(0, FINISHED_KEPT)) this.orders.delete(id);
    }
    const qi = this.queue.indexOf(order);
    if (qi >= 0) this.queue.splice(qi, 1);
    const ri = this.resting.findIndex((w) => w.order === order);
    if (ri >= 0) this.resting.splice(ri, 1);
  }

  private reject(order: Order, reason: string): void {
    this.remove(order);
    order.status = "rejected";
    order.reason = reason;
    order.updatedAt = this.time;
    this.listener({ type: "rejected", order, reason });
  }

  /** Fills the market queue at `ref`, including orders placed while it fills. */
  private fillMarket(ref: number): void {
    while (this.queue.length > 0) {
      const order = this.queue.shift() as Order;
      this.execute(order, ref, order.side === "buy" ? BUY : SELL, MARKET);
    }
  }

  /**
   * Resting orders reached by the open (`atOpen`) or by the range, one at a time: the first to
   * fill may cancel others (one-cancels-the-others) or make the listener place new ones, which
   * wait for the next phase.
   */
  private triggerResting(atOpen: boolean): void {
    const before = this.seq;
    for (;;) {
      let best: Working | undefined;
      let bestRank = Number.POSITIVE_INFINITY;
      let bestLevel = 0;
      for (const w of this.resting) {
        if (w.seq > before) continue;
        const rank = this.reached(w, atOpen);
        if (rank === 0) continue;
        // stops before limits; among stops the tightest (the one the price meets first), a
        // stop-loss before a trailing stop at the same level
        const level = w.order.side === "sell" ? -w.trigger : w.trigger;
        if (
          best === undefined ||
          rank < bestRank ||
          (rank === bestRank && (level < bestLevel || (level === bestLevel && w.order.type === "stop")))
        ) {
          best = w;
          bestRank = rank;
          bestLevel = level;
        }
      }
      if (best === undefined) return;
      const o = best.order;
      const sell = o.side === "sell";
      const t = best.trigger;
      let ref: number;
      if (o.type === "limit") ref = t;
      else if (atOpen) ref = this.open;
      else ref = sell ? Math.min(this.open, t) : Math.max(this.open, t);
      this.execute(o, ref, sell ? SELL : BUY, o.type === "limit" ? LIMIT : STOP);
    }
  }

  /** 0 if the order is not reached; 1 for a stop reached, 2 for a limit reached. */
  private reached(w: Working, atOpen: boolean): number {
    const o = w.order;
    const t = w.trigger;
    const sell = o.side === "sell";
    if (o.type === "limit") {
      const top = atOpen ? this.open : this.high;
      const bottom = atOpen ? this.open : this.low;
      return (sell ? top >= t : bottom <= t) ? 2 : 0;
    }
    const top = atOpen ? this.open : this.high;
    const bottom = atOpen ? this.open : this.low;
    return (sell ? bottom <= t : top >= t) ? 1 : 0;
  }

  /** Fills `order` completely at reference price `ref`, or rejects it. */
  private execute(order: Order, ref: number, side: 1 | -1, kind: OrderKind): void {
    const out = this.out;
    if (order.quoteQuantity !== undefined) {
      if (!this.model.entry(side, kind, ref, order.quoteQuantity, out)) {
        this.reject(order, "below_minimum: zero quantity or notional below the minimum");
        return;
      }
    } else {
      let qty = order.quantity as number;
      if (order.reduceOnly) {
        const held = side === SELL ? this.base : -this.base;
        if (!(held > 0)) {
          this.reject(order, "nothing_to_reduce");
          return;
        }
        if (qty > held) qty = held;
      }
      this.model.exit(side, kind, ref, qty, out);
    }
    this.remove(order);
    const price = out.price;
    const qty = out.qty;
    const fee = out.fee;
    this.base += side * qty;
    if (Math.abs(this.base) < 1e-12 * qty) this.base = 0;
    this.quote -= side * qty * price + fee;
    order.status = "filled";
    order.filledQuantity = qty;
    order.averagePrice = price;
    order.fees = fee;
    order.updatedAt = this.time;
    const fill: Fill = {
      clientOrderId: order.clientOrderId,
      symbol: this.symbol,
      side: order.side as OrderSide,
      price,
      quantity: qty,
      fee,
      liquidity: kind === LIMIT ? "maker" : "taker",
      time: this.time,
      final: true,
      tradeId: `sim-${++this.fills}`,
    };
    if (order.ocoGroup !== undefined) {
      for (const w of [...this.resting]) {
        if (w.order.ocoGroup === order.ocoGroup) this.cancel(w.order.clientOrderId, "oco");
      }
    }
    this.listener({ type: "fill", order, fill });
  }
}
