import { ApiError } from "./errors.js";
import { formatDecimal } from "./format.js";
import type { Series } from "./series.js";
import { lowerBound, upperBound } from "./series.js";

/**
 * Spot accounts of the simulator: balances (free and locked per asset), orders and trades.
 * Orders fill on the virtual clock: MARKET at once at the current candle's price, LIMIT when a
 * base candle that opened at or after the order and has closed by now reaches the limit price
 * (filled whole at the limit price, as maker). A LIMIT whose price is already marketable fills
 * at once at the current price, as taker. The fee is 0.1% of what the account receives, in
 * that asset (base for buys, quote for sells). No partial fills.
 */

export interface AccountConfig {
  apiKey: string;
  apiSecret: string;
  /** Starting free balances by asset, e.g. `{ USDT: 10000 }`. */
  balances: Record<string, number>;
}

/** The account a simulator has when none is configured. */
export const DEFAULT_ACCOUNT: AccountConfig = {
  apiKey: "itb-sim-key",
  apiSecret: "itb-sim-secret",
  balances: { USDT: 10_000 },
};

const FEE_RATE = 0.001;

export type OrderStatus = "NEW" | "FILLED" | "CANCELED" | "EXPIRED";

export interface SimOrder {
  symbol: string;
  orderId: number;
  clientOrderId: string;
  side: "BUY" | "SELL";
  type: "MARKET" | "LIMIT";
  timeInForce: "GTC" | "IOC" | "FOK";
  price: number;
  origQty: number;
  executedQty: number;
  cummulativeQuoteQty: number;
  origQuoteOrderQty: number;
  status: OrderStatus;
  time: number;
  updateTime: number;
  baseAsset: string;
  quoteAsset: string;
  /** Amount locked while open (quote for a buy, base for a sell). */
  locked: number;
  fills: SimTrade[];
}

export interface SimTrade {
  symbol: string;
  id: number;
  orderId: number;
  price: number;
  qty: number;
  quoteQty: number;
  commission: number;
  commissionAsset: string;
  time: number;
  isBuyer: boolean;
  isMaker: boolean;
}

/** Binance's decimals: 8 fraction digits. */
export const dec8 = (x: number): string => formatDecimal(round8(x), 8);
const round8 = (x: number): number => Math.round(x * 1e8) / 1e8;

interface Balance {
  free: number;
  locked: number;
}

/** The price a market order takes at `now`: the open of the base candle in progress, else the last close. */
export function currentPrice(series: Series, now: number): number | undefined {
  const b = series.base;
  const j = upperBound(b.time, now) - 1;
  if (j < 0) return undefined;
  return (b.time[j] as number) + b.step > now ? (b.open[j] as number) : (b.close[j] as number);
}

export class Account {
  readonly apiKey: string;
  /** Not enumerable, so it is never serialized or logged with the account. */
  declare readonly secret: string;
  private readonly balances = new Map<string, Balance>();
  readonly orders: SimOrder[] = [];
  readonly trades: SimTrade[] = [];
  /** Series of the symbols this account has orders on, for settling open orders. */
  private readonly series = new Map<string, Series>();

  constructor(
    config: AccountConfig,
    private readonly ids: { order: number; trade: number },
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
    return this.orders.filter((o) => o.status === "NEW" && (symbol === undefined || o.symbol === symbol));
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

  /** Places an order that passed the filters; throws -2010 texts on balance or duplicate. */
  place(
    req: {
      symbol: string;
      side: "BUY" | "SELL";
      type: "MARKET" | "LIMIT";
      timeInForce: "GTC" | "IOC" | "FOK";
      price: number;
      quantity: number;
      quoteOrderQty: number;
      clientOrderId: string;
      baseAsset: string;
      quoteAsset: string;
    },
    series: Series,
    marketPrice: number,
    now: number,
    test: boolean,
  ): SimOrder {
    if (this.openOrders(req.symbol).some((o) => o.clientOrderId === req.clientOrderId)) {
      throw new ApiError(400, -2010, "Duplicate order sent.");
    }
    const buy = req.side === "BUY";
    const marketable = req.type === "MARKET" || (buy ? req.price >= marketPrice : req.price <= marketPrice);
    const fillPrice = marketable ? marketPrice : req.price;
    const needAsset = buy ? req.quoteAsset : req.baseAsset;
    const need = buy ? round8((req.type === "LIMIT" ? req.price : fillPrice) * req.quantity) : req.quantity;
    if (this.balance(needAsset).free + 1e-12 < need) {
      throw new ApiError(400, -2010, "Account has insufficient balance for requested action.");
    }
    const order: SimOrder = {
      symbol: req.symbol,
      orderId: test ? -1 : this.ids.order++,
      clientOrderId: req.clientOrderId,
      side: req.side,
      type: req.type,
      timeInForce: req.timeInForce,
      price: req.type === "LIMIT" ? req.price : 0,
      origQty: req.quantity,
      executedQty: 0,
      cummulativeQuoteQty: 0,
      origQuoteOrderQty: req.quoteOrderQty,
      status: "NEW",
      time: now,
      updateTime: now,
      baseAsset: req.baseAsset,
      quoteAsset: req.quoteAsset,
      locked: 0,
      fills: [],
    };
    if (test) return order;
    this.orders.push(order);
    this.series.set(req.symbol, series);
    if (marketable) this.fill(order, fillPrice, now, false);
    else if (req.timeInForce !== "GTC") {
      order.status = "EXPIRED";
    } else {
      order.locked = need;
      const b = this.balance(needAsset);
      b.free = round8(b.free - need);
      b.locked = round8(b.locked + need);
    }
    return order;
  }

  cancel(order: SimOrder, now: number): void {
    this.unlock(order);
    order.status = "CANCELED";
    order.updateTime = now;
  }

  /** Fills open LIMIT orders whose price a base candle closed by `now` (and opened at or after the order) reached. */
  settle(now: number): void {
    for (const o of this.orders) {
      if (o.status !== "NEW") continue;
      const series = this.series.get(o.symbol);
      if (series === undefined) continue;
      const b = series.base;
      const closedEnd = lowerBound(b.time, now - b.step + 1);
      for (let i = lowerBound(b.time, o.time); i < closedEnd; i++) {
        const hit = o.side === "BUY" ? (b.low[i] as number) <= o.price : (b.high[i] as number) >= o.price;
        if (hit) {
          this.fill(o, o.price, (b.time[i] as number) + b.step - 1, true);
          break;
        }
      }
    }
  }

  private unlock(order: SimOrder): void {
    if (order.locked === 0) return;
    const b = this.balance(order.side === "BUY" ? order.quoteAsset : order.baseAsset);
    b.locked = round8(b.locked - order.locked);
    b.free = round8(b.free + order.locked);
    order.locked = 0;
  }

  private fill(order: SimOrder, price: number, time: number, maker: boolean): void {
    this.unlock(order);
    const qty = order.origQty;
    const quoteQty = round8(price * qty);
    const buy = order.side === "BUY";
    const base = this.balance(order.baseAsset);
    const quote = this.balance(order.quoteAsset);
    const commission = round8((buy ? qty : quoteQty) * FEE_RATE);
    if (buy) {
      quote.free = round8(quote.free - quoteQty);
      base.free = round8(base.free + qty - commission);
    } else {
      base.free = round8(base.free - qty);
      quote.free = round8(quote.free + quoteQty - commission);
    }
    const trade: SimTrade = {
      symbol: order.symbol,
      id: this.ids.trade++,
      orderId: order.orderId,
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
    order.executedQty = qty;
    order.cummulativeQuoteQty = quoteQty;
    order.status = "FILLED";
    order.updateTime = time;
  }
}

/** The simulator's accounts by API key; order and trade ids are shared, as on an exchange. */
export class Accounts {
  private readonly byApiKey = new Map<string, Account>();
  private readonly ids = { order: 1, trade: 1 };

  constructor(configs: readonly AccountConfig[]) {
    for (const c of configs) this.byApiKey.set(c.apiKey, new Account(c, this.ids));
  }

  byKey(apiKey: string): Account | undefined {
    return this.byApiKey.get(apiKey);
  }
}
