import { DEFAULT_PARTICIPATION } from "./defaults.js";
import { ApiError } from "./errors.js";
import { formatDecimal } from "./format.js";
import type { Series } from "./series.js";
import { lowerBound, upperBound } from "./series.js";

/**
 * Spot accounts of the simulator: balances (free and locked per asset), orders, OCO order lists
 * and trades, filled on the virtual clock.
 *
 * - MARKET orders fill at once, whole, at the current candle's price, as taker.
 * - A LIMIT whose price is already marketable fills at once, whole, at the current price, as
 *   taker; LIMIT_MAKER is refused then ("Order would immediately match and take.").
 * - Resting orders (LIMIT, LIMIT_MAKER, and stop-limits once triggered) fill at their price, as
 *   maker, on base candles that opened at or after the order, have closed, and whose range reaches
 *   the price; at most `participation` x the candle's volume per candle (whole lot steps), so
 *   a large order fills over several candles (PARTIALLY_FILLED in between).
 * - Stop orders (STOP_LOSS, TAKE_PROFIT and their _LIMIT forms) trigger on the first such closed
 *   candle whose range reaches stopPrice, at stopPrice, or at the candle's open when it opened
 *   beyond it (a gap). The market forms then fill whole at that price as taker; the limit forms
 *   become resting limits (filled as taker at the trigger price in that candle when their limit
 *   is marketable there; with IOC what that does not fill expires, with FOK all or nothing).
 * - One leg of an OCO list acting (triggering, or filling even partly) expires the other leg.
 *
 * The fee is 0.1% of what the account receives, in that asset (base for buys, quote for sells).
 * Every change is reported to the accounts' listener (the user-data stream) as it happens.
 */

export interface AccountConfig {
  apiKey: string;
  apiSecret: string;
  /** Starting free balances by asset, e.g. `{ USDT: 10000 }`. */
  balances: Record<string, number>;
}

const FEE_RATE = 0.001;

export type OrderStatus = "NEW" | "PARTIALLY_FILLED" | "FILLED" | "CANCELED" | "EXPIRED";
export type OrderType =
  | "MARKET"
  | "LIMIT"
  | "LIMIT_MAKER"
  | "STOP_LOSS"
  | "STOP_LOSS_LIMIT"
  | "TAKE_PROFIT"
  | "TAKE_PROFIT_LIMIT";
export type TimeInForce = "GTC" | "IOC" | "FOK";

/** Types with a limit price. */
export const LIMIT_TYPES: readonly OrderType[] = [
  "LIMIT",
  "LIMIT_MAKER",
  "STOP_LOSS_LIMIT",
  "TAKE_PROFIT_LIMIT",
];
/** Types with a stop price. */
export const STOP_TYPES: readonly OrderType[] = [
  "STOP_LOSS",
  "STOP_LOSS_LIMIT",
  "TAKE_PROFIT",
  "TAKE_PROFIT_LIMIT",
];

/** Funds an open order holds; the two legs of an OCO share one. */
interface Lock {
  asset: string;
  amount: number;
}

export interface SimOrder {
  symbol: string;
  orderId: number;
  orderListId: number;
  clientOrderId: string;
  side: "BUY" | "SELL";
  type: OrderType;
  timeInForce: TimeInForce;
  price: number;
  stopPrice: number;
  origQty: number;
  executedQty: number;
  cummulativeQuoteQty: number;
  origQuoteOrderQty: number;
  status: OrderStatus;
  time: number;
  updateTime: number;
  /** Whether the order is on the book (false for a stop not yet triggered). */
  working: boolean;
  /** When it went on the book; -1 while a stop waits for its trigger. */
  workingTime: number;
  baseAsset: string;
  quoteAsset: string;
  lock: Lock | undefined;
  fills: SimTrade[];
  /** Index of the next base candle this order is checked against. */
  next: number;
}

export interface SimTrade {
  symbol: string;
  id: number;
  orderId: number;
  orderListId: number;
  price: number;
  qty: number;
  quoteQty: number;
  commission: number;
  commissionAsset: string;
  time: number;
  isBuyer: boolean;
  isMaker: boolean;
}

export interface SimOrderList {
  orderListId: number;
  symbol: string;
  listClientOrderId: string;
  listStatusType: "EXEC_STARTED" | "ALL_DONE";
  listOrderStatus: "EXECUTING" | "ALL_DONE";
  transactionTime: number;
  /** The legs, below leg first. */
  orders: SimOrder[];
}

export type ExecType = "NEW" | "TRADE" | "CANCELED" | "EXPIRED";

/** What happened to an account, in the order it happened. */
export type AccountEvent =
  | { kind: "order"; order: SimOrder; exec: ExecType; trade: SimTrade | undefined; time: number }
  | { kind: "list"; list: SimOrderList; time: number }
  | { kind: "balance"; assets: string[]; time: number };

export type AccountListener = (account: Account, event: AccountEvent) => void;

/** Binance's decimals: 8 fraction digits. */
export const dec8 = (x: number): string => formatDecimal(round8(x), 8);
const round8 = (x: number): number => Math.round(x * 1e8) / 1e8;

interface Balance {
  free: number;
  locked: number;
}

/** One order of a placement, as checked by the routes. */
export interface OrderRequest {
  symbol: string;
  side: "BUY" | "SELL";
  type: OrderType;
  timeInForce: TimeInForce;
  price: number;
  stopPrice: number;
  quantity: number;
  quoteOrderQty: number;
  clientOrderId: string;
  baseAsset: string;
  quoteAsset: string;
}

/** The price a market order takes at `now`: the open of the base candle in progress, else the last close. */
export function currentPrice(series: Series, now: number): number | undefined {
  const b = series.base;
  const j = upperBound(b.time, now) - 1;
  if (j < 0) return undefined;
  return (b.time[j] as number) + b.step > now ? (b.open[j] as number) : (b.close[j] as number);
}

export const isStopLoss = (t: OrderType): boolean => t === "STOP_LOSS" || t === "STOP_LOSS_LIMIT";

/** Whether a stop order triggers on the price falling to its stop (else on it rising). */
function triggersBelow(o: { type: OrderType; side: "BUY" | "SELL" }): boolean {
  return isStopLoss(o.type) === (o.side === "SELL");
}

/** Whether a stop at `stopPrice` would trigger at `price` already. */
function stopReached(
  o: { type: OrderType; side: "BUY" | "SELL" },
  stopPrice: number,
  price: number,
): boolean {
  return triggersBelow(o) ? price <= stopPrice : price >= stopPrice;
}

/** Whether a limit at `limit` is marketable at `price`. */
function marketableAt(side: "BUY" | "SELL", limit: number, price: number): boolean {
  return side === "BUY" ? limit >= price : limit <= price;
}

/** What an order locks while open: quote at its limit (or stop) price for a buy, the quantity of base for a sell. */
function lockNeed(req: OrderRequest): number {
  if (req.side === "SELL") return req.quantity;
  const at = LIMIT_TYPES.includes(req.type) ? req.price : req.stopPrice;
  return round8(at * req.quantity);
}

export class Account {
  readonly apiKey: string;
  /** Not enumerable, so it is never serialized or logged with the account. */
  declare readonly secret: string;
  private readonly balances = new Map<string, Balance>();
  readonly orders: SimOrder[] = [];
  readonly trades: SimTrade[] = [];
  readonly lists: SimOrderList[] = [];
  /** Series of the symbols this account has orders on, for settling open orders. */
  private readonly series = new Map<string, Series>();
  /** Assets whose balance changed since the last balance event. */
  private readonly touched = new Set<string>();

  constructor(
    config: AccountConfig,
    private readonly shared: Accounts,
  ) {
    this.apiKey = config.apiKey;
    Object.defineProperty(this, "secret", { value: config.apiSecret, enumerable: false });
    for (const [asset, amount] of Object.entries(config.balances)) {
      this.balances.set(asset, { free: amount, locked: 0 });
    }
  }

  balance(asset: string): Balance {
    let b = this.balances.get(asset);
    if (b === undefined) {
      b = { free: 0, locked: 0 };
      this.balances.set(asset, b);
    }
    return b;
  }

  /** Every asset with its free and locked amounts, in first-seen order. */
  balanceList(): { asset: string; free: number; locked: number }[] {
    return [...this.balances].map(([asset, b]) => ({ asset, free: b.free, locked: b.locked }));
  }

  openOrders(symbol?: string): SimOrder[] {
    return this.orders.filter((o) => isOpen(o) && (symbol === undefined || o.symbol === symbol));
  }

  findOrder(symbol: string, orderId?: number, clientOrderId?: string): SimOrder | undefined {
    // The newest order with the client id wins (ids may be reused once an order is closed).
    for (let i = this.orders.length - 1; i >= 0; i--) {
      const o = this.orders[i] as SimOrder;
      if (o.symbol !== symbol) continue;
      if (orderId !== undefined ? o.orderId === orderId : o.clientOrderId === clientOrderId) return o;
    }
    return undefined;
  }

  findList(orderListId?: number, listClientOrderId?: string): SimOrderList | undefined {
    for (let i = this.lists.length - 1; i >= 0; i--) {
      const l = this.lists[i] as SimOrderList;
      if (
        orderListId !== undefined ? l.orderListId === orderListId : l.listClientOrderId === listClientOrderId
      )
        return l;
    }
    return undefined;
  }

  listOf(order: SimOrder): SimOrderList | undefined {
    return order.orderListId === -1 ? undefined : this.findList(order.orderListId);
  }

  /** Places an order that passed the filters; throws Binance's -2010 texts on balance, duplicate, or a price that acts at once. */
  place(req: OrderRequest, series: Series, marketPrice: number, now: number, test: boolean): SimOrder {
    this.checkNew(req, marketPrice);
    const buy = req.side === "BUY";
    const immediate =
      req.type === "MARKET" || (req.type === "LIMIT" && marketableAt(req.side, req.price, marketPrice));
    const needAsset = buy ? req.quoteAsset : req.baseAsset;
    const need = immediate ? (buy ? round8(marketPrice * req.quantity) : req.quantity) : lockNeed(req);
    if (this.balance(needAsset).free + 1e-12 < need) {
      throw new ApiError(400, -2010, "Account has insufficient balance for requested action.");
    }
    const order = this.newOrder(req, test ? -1 : this.shared.nextOrderId(), -1, series, now);
    if (test) return order;
    this.orders.push(order);
    this.emit({ kind: "order", order, exec: "NEW", trade: undefined, time: now });
    if (immediate) this.fill(order, req.quantity, marketPrice, now, false);
    else if (req.type === "LIMIT" && req.timeInForce !== "GTC") {
      order.status = "EXPIRED";
      this.emit({ kind: "order", order, exec: "EXPIRED", trade: undefined, time: now });
    } else {
      order.lock = this.lockFunds(needAsset, need);
    }
    this.flushBalances(now);
    return order;
  }

  /**
   * Places an OCO list: two legs on one quantity, below leg first; the funds are locked once
   * (the larger of the legs' needs). The routes have checked the prices' relation.
   */
  placeList(
    legs: [OrderRequest, OrderRequest],
    listClientOrderId: string,
    series: Series,
    marketPrice: number,
    now: number,
  ): SimOrderList {
    for (const leg of legs) this.checkNew(leg, marketPrice);
    if (legs[0].clientOrderId === legs[1].clientOrderId)
      throw new ApiError(400, -2010, "Duplicate order sent.");
    const first = legs[0];
    const needAsset = first.side === "BUY" ? first.quoteAsset : first.baseAsset;
    const need = Math.max(lockNeed(legs[0]), lockNeed(legs[1]));
    if (this.balance(needAsset).free + 1e-12 < need) {
      throw new ApiError(400, -2010, "Account has insufficient balance for requested action.");
    }
    const listId = this.shared.nextListId();
    const orders = legs.map((leg) => this.newOrder(leg, this.shared.nextOrderId(), listId, series, now));
    const list: SimOrderList = {
      orderListId: listId,
      symbol: first.symbol,
      listClientOrderId,
      listStatusType: "EXEC_STARTED",
      listOrderStatus: "EXECUTING",
      transactionTime: now,
      orders,
    };
    this.lists.push(list);
    const lock = this.lockFunds(needAsset, need);
    for (const o of orders) {
      o.lock = lock;
      this.orders.push(o);
      this.emit({ kind: "order", order: o, exec: "NEW", trade: undefined, time: now });
    }
    this.emit({ kind: "list", list, time: now });
    this.flushBalances(now);
    return list;
  }

  /** Cancels an open order; an OCO leg cancels its whole list. */
  cancel(order: SimOrder, now: number): void {
    const list = this.listOf(order);
    if (list !== undefined) {
      this.cancelList(list, now);
      return;
    }
    this.unlock(order);
    this.close(order, "CANCELED", now);
    this.flushBalances(now);
  }

  cancelList(list: SimOrderList, now: number): void {
    for (const o of list.orders) {
      if (!isOpen(o)) continue;
      this.unlock(o);
      this.close(o, "CANCELED", now);
    }
    this.finishList(list, now);
    this.flushBalances(now);
  }

  /**
   * Fills what the base candles closed by `now` (and opened at or after each order) reach,
   * candle by candle across the account's open orders, so events come in time order per symbol.
   * Within one candle, stop-loss orders act first (a candle's range does not tell which price
   * came first; this is the cautious reading, so an OCO whose two legs are both reached stops out).
   */
  settle(now: number): void {
    const bySymbol = new Map<string, SimOrder[]>();
    for (const o of this.orders) {
      if (!isOpen(o)) continue;
      const list = bySymbol.get(o.symbol);
      if (list === undefined) bySymbol.set(o.symbol, [o]);
      else list.push(o);
    }
    for (const [symbol, open] of bySymbol) {
      const series = this.series.get(symbol);
      if (series === undefined) continue;
      const b = series.base;
      const closedEnd = lowerBound(b.time, now - b.step + 1);
      for (const o of open) if (o.next < 0) o.next = lowerBound(b.time, o.time);
      open.sort((x, y) => Number(!isStopLoss(x.type)) - Number(!isStopLoss(y.type)));
      let i = Math.min(...open.map((o) => o.next));
      for (; i < closedEnd; i++) {
        const time = (b.time[i] as number) + b.step - 1;
        let acted = false;
        for (const o of open) {
          if (o.next > i || !isOpen(o)) continue;
          o.next = i + 1;
          acted = this.onCandle(o, series, i, time) || acted;
        }
        if (acted) this.flushBalances(time);
        if (!open.some(isOpen)) break;
      }
    }
  }

  /** One open order against one closed base candle; true if anything happened. */
  private onCandle(o: SimOrder, series: Series, i: number, time: number): boolean {
    const b = series.base;
    const open = b.open[i] as number;
    const high = b.high[i] as number;
    const low = b.low[i] as number;
    if (!o.working) {
      const below = triggersBelow(o);
      if (!(below ? low <= o.stopPrice : high >= o.stopPrice)) return false;
      const at = (below ? open < o.stopPrice : open > o.stopPrice) ? open : o.stopPrice;
      o.working = true;
      o.workingTime = time;
      o.updateTime = time;
      this.activate(o, time);
      if (o.type === "STOP_LOSS" || o.type === "TAKE_PROFIT") {
        this.fill(o, o.origQty, at, time, false);
        return true;
      }
      const marketable = marketableAt(o.side, o.price, at);
      if (o.timeInForce === "FOK") {
        // All at once at the trigger, or nothing.
        if (marketable && this.cap(series, i) >= o.origQty) this.fill(o, o.origQty, at, time, false);
      } else if (marketable) {
        this.fillUpTo(o, series, i, at, time, false);
      }
      if (o.timeInForce !== "GTC" && isOpen(o)) {
        // IOC and FOK do not rest: what the trigger did not fill expires.
        this.unlock(o);
        this.close(o, "EXPIRED", time);
      }
      return true;
    }
    if (!(o.side === "BUY" ? low <= o.price : high >= o.price)) return false;
    return this.fillUpTo(o, series, i, o.price, time, true);
  }

  /** What candle i's volume allows one order: participation x volume, in whole lot steps. */
  private cap(series: Series, i: number): number {
    const step = series.spec.stepSize;
    const cap = this.shared.participation * (series.base.volume[i] as number);
    return step > 0 ? round8(Math.floor(cap / step + 1e-9) * step) : round8(cap);
  }

  /** Fills what candle i's volume allows of the rest of the order. */
  private fillUpTo(
    o: SimOrder,
    series: Series,
    i: number,
    price: number,
    time: number,
    maker: boolean,
  ): boolean {
    const qty = Math.min(round8(o.origQty - o.executedQty), this.cap(series, i));
    if (qty <= 0) return false;
    if (o.executedQty === 0) this.activate(o, time);
    this.fill(o, qty, price, time, maker);
    return true;
  }

  /** An OCO leg acting (triggered or filling): the other leg expires. */
  private activate(o: SimOrder, time: number): void {
    const list = this.listOf(o);
    if (list === undefined) return;
    for (const other of list.orders) {
      if (other === o || !isOpen(other)) continue;
      // The lock is shared: the acting leg keeps it.
      other.lock = undefined;
      this.close(other, "EXPIRED", time);
    }
  }

  private checkNew(req: OrderRequest, marketPrice: number): void {
    if (this.openOrders(req.symbol).some((o) => o.clientOrderId === req.clientOrderId)) {
      throw new ApiError(400, -2010, "Duplicate order sent.");
    }
    if (req.type === "LIMIT_MAKER" && marketableAt(req.side, req.price, marketPrice)) {
      throw new ApiError(400, -2010, "Order would immediately match and take.");
    }
    if (STOP_TYPES.includes(req.type) && stopReached(req, req.stopPrice, marketPrice)) {
      throw new ApiError(400, -2010, "Order would trigger immediately.");
    }
  }

  private newOrder(
    req: OrderRequest,
    orderId: number,
    orderListId: number,
    series: Series,
    now: number,
  ): SimOrder {
    this.series.set(req.symbol, series);
    const stop = STOP_TYPES.includes(req.type);
    return {
      symbol: req.symbol,
      orderId,
      orderListId,
      clientOrderId: req.clientOrderId,
      side: req.side,
      type: req.type,
      timeInForce: req.timeInForce,
      price: LIMIT_TYPES.includes(req.type) ? req.price : 0,
      stopPrice: stop ? req.stopPrice : 0,
      origQty: req.quantity,
      executedQty: 0,
      cummulativeQuoteQty: 0,
      origQuoteOrderQty: req.quoteOrderQty,
      status: "NEW",
      time: now,
      updateTime: now,
      working: !stop,
      workingTime: stop ? -1 : now,
      baseAsset: req.baseAsset,
      quoteAsset: req.quoteAsset,
      lock: undefined,
      fills: [],
      next: -1,
    };
  }

  private lockFunds(asset: string, amount: number): Lock {
    const b = this.balance(asset);
    b.free = round8(b.free - amount);
    b.locked = round8(b.locked + amount);
    this.touched.add(asset);
    return { asset, amount };
  }

  /** Returns `amount` of a lock (all of it by default) to free. */
  private release(lock: Lock, amount = lock.amount): void {
    if (amount === 0) return;
    const b = this.balance(lock.asset);
    b.locked = round8(b.locked - amount);
    b.free = round8(b.free + amount);
    lock.amount = round8(lock.amount - amount);
    this.touched.add(lock.asset);
  }

  private unlock(order: SimOrder): void {
    if (order.lock !== undefined) this.release(order.lock);
    order.lock = undefined;
  }

  private close(order: SimOrder, status: "CANCELED" | "EXPIRED", time: number): void {
    order.status = status;
    order.updateTime = time;
    this.emit({ kind: "order", order, exec: status, trade: undefined, time });
    const list = this.listOf(order);
    if (list !== undefined && !list.orders.some(isOpen)) this.finishList(list, time);
  }

  private finishList(list: SimOrderList, time: number): void {
    if (list.listStatusType === "ALL_DONE") return;
    list.listStatusType = "ALL_DONE";
    list.listOrderStatus = "ALL_DONE";
    list.transactionTime = time;
    this.emit({ kind: "list", list, time });
  }

  /** Fills `qty` of the order at `price`; the last fill releases what is left of the lock. */
  private fill(order: SimOrder, qty: number, price: number, time: number, maker: boolean): void {
    const buy = order.side === "BUY";
    const remaining = round8(order.origQty - order.executedQty);
    const last = qty >= remaining - 1e-12;
    const quoteQty = round8(price * qty);
    const base = this.balance(order.baseAsset);
    const quote = this.balance(order.quoteAsset);
    const lock = order.lock;
    const share = lock === undefined ? 0 : last ? lock.amount : round8((lock.amount * qty) / remaining);
    if (buy && quote.free + share + 1e-12 < quoteQty) {
      // A buy stop that gapped above what it locked, with too little free quote: it cannot fill.
      this.unlock(order);
      this.close(order, "EXPIRED", time);
      return;
    }
    if (lock !== undefined) this.release(lock, share);
    if (last) order.lock = undefined;
    const commission = round8((buy ? qty : quoteQty) * FEE_RATE);
    if (buy) {
      quote.free = round8(quote.free - quoteQty);
      base.free = round8(base.free + qty - commission);
    } else {
      base.free = round8(base.free - qty);
      quote.free = round8(quote.free + quoteQty - commission);
    }
    this.touched.add(order.baseAsset);
    this.touched.add(order.quoteAsset);
    const trade: SimTrade = {
      symbol: order.symbol,
      id: this.shared.nextTradeId(),
      orderId: order.orderId,
      orderListId: order.orderListId,
      price,
      qty,
      quoteQty,
      commission,
      commissionAsset: buy ? order.baseAsset : order.quoteAsset,
      time,
      isBuyer: buy,
      isMaker: maker,
    };
    this.trades.push(trade);
    order.fills.push(trade);
    order.executedQty = round8(order.executedQty + qty);
    order.cummulativeQuoteQty = round8(order.cummulativeQuoteQty + quoteQty);
    order.status = last ? "FILLED" : "PARTIALLY_FILLED";
    order.updateTime = time;
    this.emit({ kind: "order", order, exec: "TRADE", trade, time });
    const list = this.listOf(order);
    if (last && list !== undefined && !list.orders.some(isOpen)) this.finishList(list, time);
  }

  private flushBalances(time: number): void {
    if (this.touched.size === 0) return;
    const assets = [...this.touched];
    this.touched.clear();
    this.emit({ kind: "balance", assets, time });
  }

  private emit(event: AccountEvent): void {
    this.shared.emit(this, event);
  }
}

export function isOpen(o: SimOrder): boolean {
  return o.status === "NEW" || o.status === "PARTIALLY_FILLED";
}

/**
 * The simulator's accounts by API key; order, list and trade ids are shared, as on an
 * exchange. `listen` receives every account's events (the user-data stream publishes them).
 */
export class Accounts {
  private readonly byApiKey = new Map<string, Account>();
  private readonly ids = { order: 1, trade: 1, list: 1 };
  private readonly listeners = new Set<AccountListener>();
  readonly participation: number;

  constructor(configs: readonly AccountConfig[], participation = DEFAULT_PARTICIPATION) {
    if (!(participation > 0 && participation <= 1)) {
      throw new RangeError(`participation must be in (0, 1], got ${participation}`);
    }
    this.participation = participation;
    for (const c of configs) this.byApiKey.set(c.apiKey, new Account(c, this));
  }

  byKey(apiKey: string): Account | undefined {
    return this.byApiKey.get(apiKey);
  }

  /** Settles every account's open orders up to `now` (called as the clock passes candle closes). */
  settle(now: number): void {
    for (const a of this.byApiKey.values()) a.settle(now);
  }

  listen(listener: AccountListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(account: Account, event: AccountEvent): void {
    for (const l of this.listeners) l(account, event);
  }

  nextOrderId(): number {
    return this.ids.order++;
  }

  nextTradeId(): number {
    return this.ids.trade++;
  }

  nextListId(): number {
    return this.ids.list++;
  }
}
