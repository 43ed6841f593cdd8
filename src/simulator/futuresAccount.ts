import { type AccountConfig, currentPrice } from "./account.js";
import { DEFAULT_PARTICIPATION } from "./defaults.js";
import { ApiError } from "./errors.js";
import { formatDecimal } from "./format.js";
import type { Series } from "./series.js";
import { lowerBound } from "./series.js";

/**
 * USD-M futures accounts of the simulator: one USDT wallet per API key, one-way positions
 * (positionSide BOTH) with per-symbol leverage and margin type, orders, conditional (algo)
 * orders and trades, on the virtual clock.
 *
 * - The wallet starts at the account's USDT balance (the same `balances` as spot), as a
 *   separate futures wallet: spot trades do not move it, futures trades do not move spot.
 * - The mark price is the current price of the stored candles (the open of the candle in
 *   progress, else the last close); there is no separate mark-price series and no funding.
 * - MARKET fills at once at the current price (taker, 0.05 %). A LIMIT whose price is
 *   marketable fills at once at the current price as taker; otherwise it rests and fills whole
 *   at its price (maker, 0.02 %) when a base candle that opened at or after the order and has
 *   closed by now reaches the price. GTX (post only) that would fill at once is rejected,
 *   IOC/FOK that would not fill at once expire.
 * - Conditional STOP_MARKET / TAKE_PROFIT_MARKET orders trigger when such a candle reaches the
 *   trigger price and fill at once (taker) at the trigger price, or at the candle's open when
 *   it opened beyond it (a gap). Fill times are the candle's close time.
 * - Initial margin = notional / leverage (at the mark price for positions, at the order price
 *   for resting orders), checked against the available balance (-2019). Fees and realized PnL
 *   go to the wallet, in USDT. Isolated positions hold their margin in an isolated wallet
 *   (entry notional / leverage). There is no liquidation and no maintenance-margin call: a
 *   losing position is never closed by the simulator.
 */

/** Binance's default commission tier (VIP 0, no BNB discount). */
export const MAKER_RATE = 0.0002;
export const TAKER_RATE = 0.0005;
/** A symbol's leverage before it is set, as on Binance. */
const DEFAULT_LEVERAGE = 20;

export type FuturesSide = "BUY" | "SELL";
export type MarginType = "CROSSED" | "ISOLATED";
export type ConditionalType = "STOP_MARKET" | "TAKE_PROFIT_MARKET";
export type FuturesOrderType = "MARKET" | "LIMIT" | ConditionalType;
export type FuturesTimeInForce = "GTC" | "IOC" | "FOK" | "GTX";
export type FuturesOrderStatus = "NEW" | "PARTIALLY_FILLED" | "FILLED" | "CANCELED" | "EXPIRED";
export type AlgoStatus = "NEW" | "CANCELED" | "FINISHED" | "EXPIRED" | "REJECTED";
export type WorkingType = "CONTRACT_PRICE" | "MARK_PRICE";

export interface FuturesOrder {
  symbol: string;
  orderId: number;
  clientOrderId: string;
  side: FuturesSide;
  /** MARKET for an order a triggered conditional order placed; origType keeps the conditional type. */
  type: "MARKET" | "LIMIT";
  origType: FuturesOrderType;
  timeInForce: FuturesTimeInForce;
  price: number;
  /** The trigger price of the conditional order that placed it, else 0. */
  stopPrice: number;
  origQty: number;
  executedQty: number;
  cumQuote: number;
  avgPrice: number;
  reduceOnly: boolean;
  closePosition: boolean;
  workingType: WorkingType;
  status: FuturesOrderStatus;
  time: number;
  updateTime: number;
  /** A resting order filled in part: the next candle that may fill it (index in the base series). */
  nextCandle?: number;
}

/** Working: new, or filled in part (a resting order on a thin market). */
export const isWorking = (o: FuturesOrder): boolean => o.status === "NEW" || o.status === "PARTIALLY_FILLED";

export interface FuturesTrade {
  symbol: string;
  id: number;
  orderId: number;
  side: FuturesSide;
  price: number;
  qty: number;
  quoteQty: number;
  commission: number;
  realizedPnl: number;
  time: number;
  maker: boolean;
}

export interface AlgoOrder {
  symbol: string;
  algoId: number;
  clientAlgoId: string;
  orderType: ConditionalType;
  side: FuturesSide;
  /** 0 with closePosition. */
  quantity: number;
  triggerPrice: number;
  reduceOnly: boolean;
  closePosition: boolean;
  workingType: WorkingType;
  priceProtect: boolean;
  timeInForce: "GTC" | "IOC" | "FOK";
  algoStatus: AlgoStatus;
  /** The MARKET order placed when it triggered. */
  actualOrderId: number | undefined;
  actualPrice: number;
  createTime: number;
  updateTime: number;
  triggerTime: number;
}

export interface FuturesPosition {
  symbol: string;
  /** Signed: long > 0, short < 0. */
  amt: number;
  entryPrice: number;
  leverage: number;
  marginType: MarginType;
  /** Realized PnL accumulated over the symbol's trades (before fees). */
  realized: number;
  /** Margin held by an isolated position. */
  isolatedWallet: number;
  updateTime: number;
}

/** A position with its values at the mark price. */
export interface PositionView extends FuturesPosition {
  markPrice: number;
  notional: number;
  unrealizedPnl: number;
  initialMargin: number;
  maintMargin: number;
  openOrderInitialMargin: number;
  bidNotional: number;
  askNotional: number;
}

export interface WalletView {
  walletBalance: number;
  unrealizedPnl: number;
  marginBalance: number;
  positionInitialMargin: number;
  openOrderInitialMargin: number;
  maintMargin: number;
  crossWalletBalance: number;
  crossUnPnl: number;
  availableBalance: number;
  maxWithdrawAmount: number;
  updateTime: number;
}

/** A user-data event payload (ORDER_TRADE_UPDATE, ACCOUNT_UPDATE, ALGO_UPDATE, ACCOUNT_CONFIG_UPDATE). */
export type UserEvent = Record<string, unknown>;
export type UserEventSink = (apiKey: string, payload: UserEvent) => void;

/** Binance's leverage brackets (ETHUSDT's, used for every symbol): notional tiers with their maximum leverage and maintenance margin. */
export const BRACKETS: readonly {
  bracket: number;
  initialLeverage: number;
  notionalCap: number;
  notionalFloor: number;
  maintMarginRatio: number;
  cum: number;
}[] = [
  [125, 50_000, 0, 0.004, 0],
  [100, 600_000, 50_000, 0.005, 50],
  [75, 3_000_000, 600_000, 0.0065, 950],
  [50, 12_000_000, 3_000_000, 0.01, 11_450],
  [25, 50_000_000, 12_000_000, 0.02, 131_450],
  [20, 65_000_000, 50_000_000, 0.025, 381_450],
  [10, 150_000_000, 65_000_000, 0.05, 2_006_450],
  [5, 320_000_000, 150_000_000, 0.1, 9_506_450],
  [4, 400_000_000, 320_000_000, 0.125, 17_506_450],
  [3, 530_000_000, 400_000_000, 0.15, 27_506_450],
  [2, 800_000_000, 530_000_000, 0.25, 80_506_450],
  [1, 1_200_000_000, 800_000_000, 0.5, 280_506_450],
].map(([initialLeverage, notionalCap, notionalFloor, maintMarginRatio, cum], i) => ({
  bracket: i + 1,
  initialLeverage: initialLeverage as number,
  notionalCap: notionalCap as number,
  notionalFloor: notionalFloor as number,
  maintMarginRatio: maintMarginRatio as number,
  cum: cum as number,
}));

/** The largest position notional a leverage allows (the cap of the last bracket still allowing it). */
export function maxNotional(leverage: number): number {
  let cap = 0;
  for (const b of BRACKETS) if (b.initialLeverage >= leverage) cap = b.notionalCap;
  return cap;
}

function maintenance(notional: number): number {
  const b =
    BRACKETS.find((x) => notional < x.notionalCap) ?? (BRACKETS[BRACKETS.length - 1] as (typeof BRACKETS)[0]);
  return Math.max(0, notional * b.maintMarginRatio - b.cum);
}

export const round8 = (x: number): number => Math.round(x * 1e8) / 1e8;
/** A USDT amount as Binance writes it: 8 fraction digits. */
export const usd8 = (x: number): string => formatDecimal(round8(x), 8);
/** A price or quantity in the symbol's precision. */
export const fixed = (x: number, digits: number): string => formatDecimal(x, digits);
/** A computed price (entry, mark, break-even): the shortest form, at most 8 fraction digits. */
export const short8 = (x: number): string => String(round8(x));

const sign = (side: FuturesSide): number => (side === "BUY" ? 1 : -1);

/** Whether a conditional order triggers when the price rises to its trigger (else when it falls). */
const triggersRising = (o: AlgoOrder): boolean => (o.orderType === "STOP_MARKET") === (o.side === "BUY");

export interface NewOrder {
  symbol: string;
  side: FuturesSide;
  type: "MARKET" | "LIMIT";
  timeInForce: FuturesTimeInForce;
  price: number;
  quantity: number;
  reduceOnly: boolean;
  clientOrderId: string;
}

export interface NewAlgoOrder {
  symbol: string;
  side: FuturesSide;
  orderType: ConditionalType;
  quantity: number;
  triggerPrice: number;
  reduceOnly: boolean;
  closePosition: boolean;
  workingType: WorkingType;
  priceProtect: boolean;
  timeInForce: "GTC" | "IOC" | "FOK";
  clientAlgoId: string;
}

/** The next item `settle` must act on: a resting LIMIT or a conditional order, at a candle. */
interface Due {
  at: number;
  price: number;
  /** The candle of a resting order's fill (its volume caps the fill). */
  candle?: number;
  limit?: FuturesOrder;
  algo?: AlgoOrder;
}

export class FuturesAccount {
  readonly apiKey: string;
  private wallet: number;
  private updateTime: number;
  readonly orders: FuturesOrder[] = [];
  readonly trades: FuturesTrade[] = [];
  readonly algoOrders: AlgoOrder[] = [];
  private readonly positions = new Map<string, FuturesPosition>();
  private readonly series = new Map<string, Series>();

  constructor(
    config: AccountConfig,
    private readonly ids: { order: number; trade: number; algo: number },
    start: number,
    private readonly sink: UserEventSink,
    /** Share of a candle's volume a resting order may fill per candle. */
    private readonly participation = DEFAULT_PARTICIPATION,
  ) {
    this.apiKey = config.apiKey;
    this.wallet = config.balances.USDT ?? 0;
    this.updateTime = start;
  }

  /** Remembers a symbol's candles (for marks and settling); routes call it before any use. */
  use(series: Series): void {
    this.series.set(series.spec.symbol, series);
  }

  position(symbol: string): FuturesPosition {
    let p = this.positions.get(symbol);
    if (p === undefined) {
      p = {
        symbol,
        amt: 0,
        entryPrice: 0,
        leverage: DEFAULT_LEVERAGE,
        marginType: "CROSSED",
        realized: 0,
        isolatedWallet: 0,
        updateTime: 0,
      };
      this.positions.set(symbol, p);
    }
    return p;
  }

  /** Symbols this account has a position record for, in first-use order. */
  symbols(): string[] {
    return [...this.positions.keys()];
  }

  markPrice(symbol: string, now: number): number {
    const s = this.series.get(symbol);
    const p = s === undefined ? undefined : currentPrice(s, now);
    return p ?? this.position(symbol).entryPrice;
  }

  openOrders(symbol?: string): FuturesOrder[] {
    return this.orders.filter((o) => isWorking(o) && (symbol === undefined || o.symbol === symbol));
  }

  openAlgoOrders(symbol?: string): AlgoOrder[] {
    return this.algoOrders.filter(
      (o) => o.algoStatus === "NEW" && (symbol === undefined || o.symbol === symbol),
    );
  }

  findOrder(symbol: string, orderId?: number, clientOrderId?: string): FuturesOrder | undefined {
    for (let i = this.orders.length - 1; i >= 0; i--) {
      const o = this.orders[i] as FuturesOrder;
      if (o.symbol !== symbol) continue;
      if (orderId !== undefined ? o.orderId === orderId : o.clientOrderId === clientOrderId) return o;
    }
    return undefined;
  }

  findAlgo(algoId?: number, clientAlgoId?: string): AlgoOrder | undefined {
    for (let i = this.algoOrders.length - 1; i >= 0; i--) {
      const o = this.algoOrders[i] as AlgoOrder;
      if (algoId !== undefined ? o.algoId === algoId : o.clientAlgoId === clientAlgoId) return o;
    }
    return undefined;
  }

  /** A symbol's position valued at the mark price, with its open orders' margin and notionals. */
  view(symbol: string, now: number): PositionView {
    const p = this.position(symbol);
    const mark = this.markPrice(symbol, now);
    const notional = p.amt * mark;
    let bid = 0;
    let ask = 0;
    let ooim = 0;
    for (const o of this.openOrders(symbol)) {
      const left = o.origQty - o.executedQty;
      const n = left * o.price;
      if (o.side === "BUY") bid += n;
      else ask += n;
      ooim += this.opening(p, o.side, left) * o.price;
    }
    return {
      ...p,
      markPrice: mark,
      notional,
      unrealizedPnl: p.amt === 0 ? 0 : p.amt * (mark - p.entryPrice),
      initialMargin: Math.abs(notional) / p.leverage,
      maintMargin: maintenance(Math.abs(notional)),
      openOrderInitialMargin: ooim / p.leverage,
      bidNotional: bid,
      askNotional: ask,
    };
  }

  /** The USDT wallet valued at the mark prices. */
  walletView(now: number): WalletView {
    let upnl = 0;
    let crossUpnl = 0;
    let pim = 0;
    let crossIm = 0;
    let ooim = 0;
    let mm = 0;
    let isolated = 0;
    for (const symbol of this.positions.keys()) {
      const v = this.view(symbol, now);
      upnl += v.unrealizedPnl;
      pim += v.initialMargin;
      ooim += v.openOrderInitialMargin;
      mm += v.maintMargin;
      if (v.marginType === "ISOLATED") isolated += v.isolatedWallet;
      else {
        crossUpnl += v.unrealizedPnl;
        crossIm += v.initialMargin;
      }
    }
    const crossWallet = this.wallet - isolated;
    const available = crossWallet + crossUpnl - crossIm - ooim;
    return {
      walletBalance: this.wallet,
      unrealizedPnl: upnl,
      marginBalance: this.wallet + upnl,
      positionInitialMargin: pim,
      openOrderInitialMargin: ooim,
      maintMargin: mm,
      crossWalletBalance: crossWallet,
      crossUnPnl: crossUpnl,
      availableBalance: available,
      maxWithdrawAmount: Math.max(0, Math.min(available, crossWallet)),
      updateTime: this.updateTime,
    };
  }

  setLeverage(symbol: string, leverage: number, now: number): void {
    const p = this.position(symbol);
    p.leverage = leverage;
    this.emit(now, { e: "ACCOUNT_CONFIG_UPDATE", ac: { s: symbol, l: leverage } });
  }

  setMarginType(symbol: string, marginType: MarginType): void {
    const p = this.position(symbol);
    if (p.marginType === marginType) throw new ApiError(400, -4046, "No need to change margin type.");
    if (p.amt !== 0)
      throw new ApiError(400, -4048, "Margin type cannot be changed if there exists position.");
    if (this.openOrders(symbol).length > 0 || this.openAlgoOrders(symbol).length > 0) {
      throw new ApiError(400, -4047, "Margin type cannot be changed if there exists open orders.");
    }
    p.marginType = marginType;
  }

  /** Places an order that passed the filters: fills a marketable one at once, rests or expires the rest. */
  place(req: NewOrder, now: number): FuturesOrder {
    if (this.openOrders(req.symbol).some((o) => o.clientOrderId === req.clientOrderId)) {
      throw new ApiError(400, -4116, "ClientOrderId is duplicated.");
    }
    const p = this.position(req.symbol);
    const market = this.markPrice(req.symbol, now);
    const buy = req.side === "BUY";
    if (req.reduceOnly) this.checkReduceOnly(p, req.side);
    const marketable = req.type === "MARKET" || (buy ? req.price >= market : req.price <= market);
    if (marketable && req.timeInForce === "GTX") {
      throw new ApiError(
        400,
        -5022,
        "Due to the order could not be executed as maker, the Post Only order will be rejected. The order will not be recorded in the order history",
      );
    }
    if (!req.reduceOnly) {
      const price = marketable ? market : req.price;
      const need = (this.opening(p, req.side, req.quantity) * price) / p.leverage;
      if (need > 0 && need > this.walletView(now).availableBalance + 1e-9) {
        throw new ApiError(400, -2019, "Margin is insufficient.");
      }
    }
    const order: FuturesOrder = {
      symbol: req.symbol,
      orderId: this.ids.order++,
      clientOrderId: req.clientOrderId,
      side: req.side,
      type: req.type,
      origType: req.type,
      timeInForce: req.timeInForce,
      price: req.type === "LIMIT" ? req.price : 0,
      stopPrice: 0,
      origQty: req.quantity,
      executedQty: 0,
      cumQuote: 0,
      avgPrice: 0,
      reduceOnly: req.reduceOnly,
      closePosition: false,
      workingType: "CONTRACT_PRICE",
      status: "NEW",
      time: now,
      updateTime: now,
    };
    this.orders.push(order);
    this.orderEvent(order, "NEW", now, undefined);
    if (marketable) this.fill(order, market, now, false);
    else if (req.timeInForce === "IOC" || req.timeInForce === "FOK") this.expire(order, now);
    return order;
  }

  cancel(order: FuturesOrder, now: number): void {
    order.status = "CANCELED";
    order.updateTime = now;
    this.orderEvent(order, "CANCELED", now, undefined);
  }

  /** Places a conditional order; refuses one whose trigger the current price has already passed (-2021). */
  placeAlgo(req: NewAlgoOrder, now: number): AlgoOrder {
    if (this.openAlgoOrders(req.symbol).some((o) => o.clientAlgoId === req.clientAlgoId)) {
      throw new ApiError(400, -4116, "ClientOrderId is duplicated.");
    }
    const p = this.position(req.symbol);
    if (req.reduceOnly) this.checkReduceOnly(p, req.side);
    const order: AlgoOrder = {
      symbol: req.symbol,
      algoId: this.ids.algo++,
      clientAlgoId: req.clientAlgoId,
      orderType: req.orderType,
      side: req.side,
      quantity: req.quantity,
      triggerPrice: req.triggerPrice,
      reduceOnly: req.reduceOnly,
      closePosition: req.closePosition,
      workingType: req.workingType,
      priceProtect: req.priceProtect,
      timeInForce: req.timeInForce,
      algoStatus: "NEW",
      actualOrderId: undefined,
      actualPrice: 0,
      createTime: now,
      updateTime: now,
      triggerTime: 0,
    };
    const market = this.markPrice(req.symbol, now);
    if (triggersRising(order) ? market >= req.triggerPrice : market <= req.triggerPrice) {
      throw new ApiError(400, -2021, "Order would immediately trigger.");
    }
    this.algoOrders.push(order);
    this.algoEvent(order, now);
    return order;
  }

  cancelAlgo(order: AlgoOrder, now: number): void {
    order.algoStatus = "CANCELED";
    order.updateTime = now;
    this.algoEvent(order, now);
  }

  /**
   * Fills resting LIMIT orders and triggers conditional orders that the candles closed by
   * `now` reached, in the order the candles closed (a take-profit that closes a position
   * first leaves a reduce-only stop with nothing to reduce: it expires).
   */
  settle(now: number): void {
    for (;;) {
      let next: Due | undefined;
      for (const o of this.orders) {
        if (!isWorking(o) || o.type !== "LIMIT") continue;
        const d = this.dueLimit(o, now);
        if (d !== undefined && (next === undefined || d.at < next.at)) next = d;
      }
      for (const a of this.algoOrders) {
        if (a.algoStatus !== "NEW") continue;
        const d = this.dueAlgo(a, now);
        if (d !== undefined && (next === undefined || d.at < next.at)) next = d;
      }
      if (next === undefined) return;
      if (next.limit !== undefined) {
        const o = next.limit;
        if (o.reduceOnly && this.reducible(o.symbol, o.side) === 0) this.expire(o, next.at);
        else this.fill(o, next.price, next.at, true, next.candle);
      } else if (next.algo !== undefined) this.trigger(next.algo, next.price, next.at);
    }
  }

  private dueLimit(o: FuturesOrder, now: number): Due | undefined {
    const s = this.series.get(o.symbol);
    if (s === undefined) return undefined;
    const b = s.base;
    const closedEnd = lowerBound(b.time, now - b.step + 1);
    for (let i = o.nextCandle ?? lowerBound(b.time, o.time); i < closedEnd; i++) {
      const hit = o.side === "BUY" ? (b.low[i] as number) <= o.price : (b.high[i] as number) >= o.price;
      if (hit) return { at: (b.time[i] as number) + b.step - 1, price: o.price, limit: o, candle: i };
    }
    return undefined;
  }

  private dueAlgo(a: AlgoOrder, now: number): Due | undefined {
    const s = this.series.get(a.symbol);
    if (s === undefined) return undefined;
    const b = s.base;
    const closedEnd = lowerBound(b.time, now - b.step + 1);
    const rising = triggersRising(a);
    for (let i = lowerBound(b.time, a.createTime); i < closedEnd; i++) {
      const open = b.open[i] as number;
      const at = (b.time[i] as number) + b.step - 1;
      if (rising ? open >= a.triggerPrice : open <= a.triggerPrice) return { at, price: open, algo: a };
      if (rising ? (b.high[i] as number) >= a.triggerPrice : (b.low[i] as number) <= a.triggerPrice) {
        return { at, price: a.triggerPrice, algo: a };
      }
    }
    return undefined;
  }

  /** A triggered conditional order places a MARKET order that fills at `price`. */
  private trigger(a: AlgoOrder, price: number, at: number): void {
    a.triggerTime = at;
    a.updateTime = at;
    const p = this.position(a.symbol);
    const reduceOnly = a.reduceOnly || a.closePosition;
    let qty = a.quantity;
    if (reduceOnly) {
      const room = this.reducible(a.symbol, a.side);
      qty = a.closePosition ? room : Math.min(qty, room);
      if (qty === 0) {
        a.algoStatus = "EXPIRED";
        this.algoEvent(a, at);
        return;
      }
    } else if (
      (this.opening(p, a.side, qty) * price) / p.leverage >
      this.walletView(at).availableBalance + 1e-9
    ) {
      a.algoStatus = "REJECTED";
      this.algoEvent(a, at);
      return;
    }
    const order: FuturesOrder = {
      symbol: a.symbol,
      orderId: this.ids.order++,
      clientOrderId: a.clientAlgoId,
      side: a.side,
      type: "MARKET",
      origType: a.orderType,
      timeInForce: "GTC",
      price: 0,
      stopPrice: a.triggerPrice,
      origQty: qty,
      executedQty: 0,
      cumQuote: 0,
      avgPrice: 0,
      reduceOnly,
      closePosition: a.closePosition,
      workingType: a.workingType,
      status: "NEW",
      time: at,
      updateTime: at,
    };
    this.orders.push(order);
    a.actualOrderId = order.orderId;
    this.orderEvent(order, "NEW", at, undefined);
    this.fill(order, price, at, false);
    a.actualPrice = price;
    a.algoStatus = "FINISHED";
    this.algoEvent(a, at);
  }

  private checkReduceOnly(p: FuturesPosition, side: FuturesSide): void {
    if (p.amt === 0 || Math.sign(p.amt) === sign(side)) {
      throw new ApiError(400, -2022, "ReduceOnly Order is rejected.");
    }
  }

  /** How much of a position an order on `side` can close. */
  private reducible(symbol: string, side: FuturesSide): number {
    const a = this.position(symbol).amt;
    return a !== 0 && Math.sign(a) !== sign(side) ? Math.abs(a) : 0;
  }

  /** The part of an order's quantity that opens or adds to a position (the rest closes it). */
  private opening(p: FuturesPosition, side: FuturesSide, qty: number): number {
    if (p.amt === 0 || Math.sign(p.amt) === sign(side)) return qty;
    return Math.max(0, qty - Math.abs(p.amt));
  }

  private expire(order: FuturesOrder, now: number): void {
    order.status = "EXPIRED";
    order.updateTime = now;
    this.orderEvent(order, "EXPIRED", now, undefined);
  }

  /**
   * Fills the order at `price` (a resting one at most `participation` × candle `candle`'s
   * volume, in whole lot steps, at least one step): moves the position, books realized PnL and
   * the fee.
   */
  private fill(order: FuturesOrder, price: number, time: number, maker: boolean, candle?: number): void {
    const p = this.position(order.symbol);
    let qty = round8(order.origQty - order.executedQty);
    const s = this.series.get(order.symbol);
    if (candle !== undefined && s !== undefined) {
      const step = s.spec.stepSize > 0 ? s.spec.stepSize : 1e-8;
      const cap = Math.max(
        step,
        Math.floor((this.participation * (s.base.volume[candle] as number)) / step) * step,
      );
      qty = Math.min(qty, round8(cap));
      order.nextCandle = candle + 1;
    }
    if (order.reduceOnly) qty = Math.min(qty, this.reducible(order.symbol, order.side));
    const q = sign(order.side) * qty;
    const old = p.amt;
    let realized = 0;
    if (old === 0 || Math.sign(old) === Math.sign(q)) {
      const total = Math.abs(old) + qty;
      p.entryPrice = (Math.abs(old) * p.entryPrice + qty * price) / total;
      if (p.marginType === "ISOLATED")
        p.isolatedWallet = round8(p.isolatedWallet + (qty * price) / p.leverage);
    } else {
      const closing = Math.min(qty, Math.abs(old));
      realized = round8(closing * (price - p.entryPrice) * Math.sign(old));
      const left = Math.abs(old) - closing;
      if (p.marginType === "ISOLATED") {
        p.isolatedWallet = round8((p.isolatedWallet * left) / Math.abs(old));
        if (qty > closing) p.isolatedWallet = round8(((qty - closing) * price) / p.leverage);
      }
      if (qty > closing) p.entryPrice = price;
      else if (left === 0) p.entryPrice = 0;
    }
    p.amt = round8(old + q);
    p.realized = round8(p.realized + realized);
    p.updateTime = time;
    const quoteQty = round8(qty * price);
    const commission = round8(quoteQty * (maker ? MAKER_RATE : TAKER_RATE));
    this.wallet = round8(this.wallet + realized - commission);
    this.updateTime = time;
    const trade: FuturesTrade = {
      symbol: order.symbol,
      id: this.ids.trade++,
      orderId: order.orderId,
      side: order.side,
      price,
      qty,
      quoteQty,
      commission,
      realizedPnl: realized,
      time,
      maker,
    };
    this.trades.push(trade);
    order.executedQty = round8(order.executedQty + qty);
    order.cumQuote = round8(order.cumQuote + quoteQty);
    order.avgPrice = order.executedQty > 0 ? order.cumQuote / order.executedQty : price;
    // a reduce-only order whose position is gone is done too
    const done =
      order.executedQty >= order.origQty - 1e-9 ||
      (order.reduceOnly && this.reducible(order.symbol, order.side) === 0);
    order.status = done ? "FILLED" : "PARTIALLY_FILLED";
    order.updateTime = time;
    this.emit(time, {
      e: "ACCOUNT_UPDATE",
      a: {
        m: "ORDER",
        B: [
          { a: "USDT", wb: usd8(this.wallet), cw: usd8(this.walletView(time).crossWalletBalance), bc: "0" },
        ],
        P: [this.positionEntry(order.symbol, time)],
      },
    });
    this.orderEvent(order, "TRADE", time, trade);
  }

  private positionEntry(symbol: string, now: number): Record<string, unknown> {
    const v = this.view(symbol, now);
    const s = this.series.get(symbol);
    const qd = s?.spec.quantityPrecision ?? 8;
    return {
      s: symbol,
      pa: fixed(v.amt, qd),
      ep: short8(v.entryPrice),
      bep: short8(breakEven(v)),
      cr: usd8(v.realized),
      up: usd8(v.unrealizedPnl),
      mt: v.marginType === "ISOLATED" ? "isolated" : "cross",
      iw: usd8(v.marginType === "ISOLATED" ? v.isolatedWallet : 0),
      ps: "BOTH",
    };
  }

  private orderEvent(
    o: FuturesOrder,
    execution: "NEW" | "TRADE" | "CANCELED" | "EXPIRED",
    now: number,
    trade: FuturesTrade | undefined,
  ): void {
    const s = this.series.get(o.symbol);
    const pd = s?.spec.pricePrecision ?? 8;
    const qd = s?.spec.quantityPrecision ?? 8;
    const v = this.view(o.symbol, now);
    this.emit(now, {
      e: "ORDER_TRADE_UPDATE",
      o: {
        s: o.symbol,
        c: o.clientOrderId,
        S: o.side,
        o: o.type,
        f: o.timeInForce,
        q: fixed(o.origQty, qd),
        p: fixed(o.price, pd),
        ap: short8(o.avgPrice),
        sp: fixed(o.stopPrice, pd),
        x: execution,
        X: o.status,
        i: o.orderId,
        l: fixed(trade?.qty ?? 0, qd),
        z: fixed(o.executedQty, qd),
        L: fixed(trade?.price ?? 0, pd),
        N: "USDT",
        n: usd8(trade?.commission ?? 0),
        T: now,
        t: trade?.id ?? 0,
        b: usd8(v.bidNotional),
        a: usd8(v.askNotional),
        m: trade?.maker ?? false,
        R: o.reduceOnly,
        wt: o.workingType,
        ot: o.origType,
        ps: "BOTH",
        cp: o.closePosition,
        rp: usd8(trade?.realizedPnl ?? 0),
        pP: false,
        si: 0,
        ss: 0,
        V: "EXPIRE_MAKER",
        pm: "NONE",
        gtd: 0,
      },
    });
  }

  private algoEvent(a: AlgoOrder, now: number): void {
    const s = this.series.get(a.symbol);
    const pd = s?.spec.pricePrecision ?? 8;
    const qd = s?.spec.quantityPrecision ?? 8;
    this.emit(now, {
      e: "ALGO_UPDATE",
      o: {
        caid: a.clientAlgoId,
        aid: a.algoId,
        at: "CONDITIONAL",
        o: a.orderType,
        s: a.symbol,
        S: a.side,
        ps: "BOTH",
        f: a.timeInForce,
        q: fixed(a.quantity, qd),
        X: a.algoStatus,
        ai: a.actualOrderId === undefined ? "" : String(a.actualOrderId),
        ap: fixed(a.actualPrice, pd),
        aq: fixed(a.actualOrderId === undefined ? 0 : a.quantity, qd),
        act: "0",
        tp: fixed(a.triggerPrice, pd),
        p: fixed(0, pd),
        V: "EXPIRE_MAKER",
        wt: a.workingType,
        pm: "NONE",
        cp: a.closePosition,
        pP: a.priceProtect,
        R: a.reduceOnly,
        tt: a.triggerTime,
        gtd: 0,
      },
    });
  }

  /** Hands a payload, with its event and transaction times, to the user-data sink. */
  private emit(now: number, body: Record<string, unknown>): void {
    const { e, ...rest } = body;
    this.sink(this.apiKey, { e, E: now, T: now, ...rest });
  }
}

/** The price at which closing the position pays back the fees of opening and closing it (taker). */
export function breakEven(p: { amt: number; entryPrice: number }): number {
  if (p.amt === 0) return 0;
  return p.amt > 0
    ? (p.entryPrice * (1 + TAKER_RATE)) / (1 - TAKER_RATE)
    : (p.entryPrice * (1 - TAKER_RATE)) / (1 + TAKER_RATE);
}

/**
 * The simulator's futures accounts by API key; order, trade and algo ids are shared, as on an
 * exchange. User-data events go to every subscribed listener (the `onUserEvent` option, a
 * WebSocket publisher).
 */
export class FuturesAccounts {
  private readonly byApiKey = new Map<string, FuturesAccount>();
  private readonly ids = { order: 1, trade: 1, algo: 1 };
  private readonly listeners = new Set<UserEventSink>();

  constructor(configs: readonly AccountConfig[], start: number, participation = DEFAULT_PARTICIPATION) {
    const sink: UserEventSink = (apiKey, payload) => {
      for (const l of this.listeners) l(apiKey, payload);
    };
    for (const c of configs) {
      this.byApiKey.set(c.apiKey, new FuturesAccount(c, this.ids, start, sink, participation));
    }
  }

  byKey(apiKey: string): FuturesAccount | undefined {
    return this.byApiKey.get(apiKey);
  }

  /** Calls `listener` with every user-data event from now on; returns the unsubscribe function. */
  subscribe(listener: UserEventSink): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Settles every account's open orders against the candles closed by `now`. */
  settle(now: number): void {
    for (const a of this.byApiKey.values()) a.settle(now);
  }
}
