import { randomBytes } from "node:crypto";
import {
  type Account,
  currentPrice,
  dec8,
  isOpen,
  LIMIT_TYPES,
  type OrderType,
  type SimOrder,
  type SimTrade,
  STOP_TYPES,
  type TimeInForce,
} from "./account.js";
import { ApiError, illegalChars, invalidSymbol } from "./errors.js";
import { parseSymbol } from "./klines.js";
import { historyPage, intParam, need, num, oneOf } from "./params.js";
import { json, type RequestContext, type Route, type Security } from "./router.js";
import type { Series } from "./series.js";
import { allParams, authenticate } from "./signing.js";
import type { SymbolSpec } from "./specs.js";

/**
 * Binance spot's signed trading endpoints over the simulator's accounts: new order (MARKET,
 * LIMIT, LIMIT_MAKER, STOP_LOSS, STOP_LOSS_LIMIT, TAKE_PROFIT, TAKE_PROFIT_LIMIT; and its test
 * twin), cancel, query, open orders, all orders, trades and the account's balances, with
 * Binance's weights, parameters, filters, error codes and reply shapes. The order-list (OCO)
 * endpoints are in orderListRoutes.ts and share the helpers exported here.
 */

const CLIENT_ID = /^[.A-Z:/a-z0-9_-]{1,36}$/;

export const filterFailure = (name: string): ApiError => new ApiError(400, -1013, `Filter failure: ${name}`);

/** Whether x is min plus a whole number of steps (step 0: anything). */
function onStep(x: number, min: number, step: number): boolean {
  if (step === 0) return true;
  const k = (x - min) / step;
  return Math.abs(k - Math.round(k)) < 1e-6;
}

export async function seriesOf(ctx: RequestContext, symbol: string): Promise<Series> {
  const entry = ctx.state.data.entry("spot", symbol);
  if (entry === undefined) throw invalidSymbol();
  return ctx.state.data.loaded("spot", symbol) ?? (await ctx.state.data.load(entry));
}

/** An order's fields as GET /api/v3/order shows them. */
export function orderBody(o: SimOrder): Record<string, unknown> {
  return {
    symbol: o.symbol,
    orderId: o.orderId,
    orderListId: o.orderListId,
    clientOrderId: o.clientOrderId,
    price: dec8(o.price),
    origQty: dec8(o.origQty),
    executedQty: dec8(o.executedQty),
    cummulativeQuoteQty: dec8(o.cummulativeQuoteQty),
    status: o.status,
    timeInForce: o.timeInForce,
    type: o.type,
    side: o.side,
    stopPrice: dec8(o.stopPrice),
    icebergQty: dec8(0),
    time: o.time,
    updateTime: o.updateTime,
    isWorking: o.working,
    workingTime: o.workingTime,
    origQuoteOrderQty: dec8(o.origQuoteOrderQty),
    selfTradePreventionMode: "EXPIRE_MAKER",
  };
}

/** The reply to a new order (and each of an order list's `orderReports`), by response type. */
export function newOrderBody(o: SimOrder, respType: string): Record<string, unknown> {
  const ack = {
    symbol: o.symbol,
    orderId: o.orderId,
    orderListId: o.orderListId,
    clientOrderId: o.clientOrderId,
    transactTime: o.time,
  };
  if (respType === "ACK") return ack;
  const result = {
    ...ack,
    price: dec8(o.price),
    origQty: dec8(o.origQty),
    executedQty: dec8(o.executedQty),
    origQuoteOrderQty: dec8(o.origQuoteOrderQty),
    cummulativeQuoteQty: dec8(o.cummulativeQuoteQty),
    status: o.status,
    timeInForce: o.timeInForce,
    type: o.type,
    side: o.side,
    ...(STOP_TYPES.includes(o.type) ? { stopPrice: dec8(o.stopPrice) } : {}),
    workingTime: o.workingTime,
    selfTradePreventionMode: "EXPIRE_MAKER",
  };
  if (respType === "RESULT") return result;
  return {
    ...result,
    fills: o.fills.map((t) => ({
      price: dec8(t.price),
      qty: dec8(t.qty),
      commission: dec8(t.commission),
      commissionAsset: t.commissionAsset,
      tradeId: t.id,
    })),
  };
}

/** The reply to a cancel (and each of a cancelled list's `orderReports`). */
export function cancelBody(
  o: SimOrder,
  newClientOrderId: string | null,
  now: number,
): Record<string, unknown> {
  return {
    symbol: o.symbol,
    origClientOrderId: o.clientOrderId,
    orderId: o.orderId,
    orderListId: o.orderListId,
    clientOrderId: newClientOrderId ?? randomClientId(),
    transactTime: now,
    price: dec8(o.price),
    origQty: dec8(o.origQty),
    executedQty: dec8(o.executedQty),
    origQuoteOrderQty: dec8(o.origQuoteOrderQty),
    cummulativeQuoteQty: dec8(o.cummulativeQuoteQty),
    status: o.status,
    timeInForce: o.timeInForce,
    type: o.type,
    side: o.side,
    ...(STOP_TYPES.includes(o.type) ? { stopPrice: dec8(o.stopPrice) } : {}),
    selfTradePreventionMode: "EXPIRE_MAKER",
  };
}

export const randomClientId = (): string => randomBytes(16).toString("base64url").slice(0, 22);

function tradeBody(t: SimTrade): Record<string, unknown> {
  return {
    symbol: t.symbol,
    id: t.id,
    orderId: t.orderId,
    orderListId: t.orderListId,
    price: dec8(t.price),
    qty: dec8(t.qty),
    quoteQty: dec8(t.quoteQty),
    commission: dec8(t.commission),
    commissionAsset: t.commissionAsset,
    time: t.time,
    isBuyer: t.isBuyer,
    isMaker: t.isMaker,
    isBestMatch: true,
  };
}

const ORDER_TYPES: readonly OrderType[] = [
  "MARKET",
  "LIMIT",
  "LIMIT_MAKER",
  "STOP_LOSS",
  "STOP_LOSS_LIMIT",
  "TAKE_PROFIT",
  "TAKE_PROFIT_LIMIT",
];

const notRequired = (name: string): ApiError =>
  new ApiError(400, -1106, `Parameter '${name}' sent when not required.`);

export const parseSide = (p: URLSearchParams): "BUY" | "SELL" =>
  oneOf(
    need(p.get("side"), "side"),
    ["BUY", "SELL"] as const,
    () => new ApiError(400, -1117, "Invalid side."),
  );

export const parseType = (text: string): OrderType =>
  oneOf(text, ORDER_TYPES, () => new ApiError(400, -1116, "Invalid orderType."));

export function clientId(p: URLSearchParams, name: string): string {
  const v = p.get(name);
  const id = v === null || v === "" ? randomClientId() : v;
  if (!CLIENT_ID.test(id)) throw illegalChars(name, "^[\\.A-Z\\:/a-z0-9_-]{1,36}$");
  return id;
}

/** Names of one order's parameters (an OCO leg's are prefixed: `abovePrice`, ...). */
export interface LegNames {
  price: string;
  stopPrice: string;
  timeInForce: string;
}

export const PLAIN: LegNames = { price: "price", stopPrice: "stopPrice", timeInForce: "timeInForce" };

/**
 * Price, stop price and time in force of one order of `type`, with Binance's mandatory and
 * not-required parameter errors and its PRICE_FILTER on both prices.
 */
export function orderPrices(
  p: URLSearchParams,
  type: OrderType,
  names: LegNames,
  spec: SymbolSpec,
): { price: number; stopPrice: number; timeInForce: TimeInForce } {
  const hasLimit = LIMIT_TYPES.includes(type);
  const hasStop = STOP_TYPES.includes(type);
  const hasTif = hasLimit && type !== "LIMIT_MAKER";
  const rawPrice = num(p, names.price);
  const rawStop = num(p, names.stopPrice);
  const tifText = p.get(names.timeInForce);
  if (!hasLimit && rawPrice !== undefined && type !== "MARKET") throw notRequired(names.price);
  if (!hasStop && rawStop !== undefined) throw notRequired(names.stopPrice);
  if (!hasTif && tifText !== null && tifText !== "" && type !== "MARKET")
    throw notRequired(names.timeInForce);
  const timeInForce = hasTif
    ? oneOf(
        need(tifText, names.timeInForce),
        ["GTC", "IOC", "FOK"] as const,
        () => new ApiError(400, -1115, "Invalid timeInForce."),
      )
    : "GTC";
  const price = hasLimit ? need(rawPrice, names.price) : 0;
  const stopPrice = hasStop ? need(rawStop, names.stopPrice) : 0;
  for (const x of [hasLimit ? price : undefined, hasStop ? stopPrice : undefined]) {
    if (x === undefined) continue;
    if (x < spec.minPrice || x > spec.maxPrice || !onStep(x, spec.minPrice, spec.tickSize)) {
      throw filterFailure("PRICE_FILTER");
    }
  }
  return { price, stopPrice, timeInForce };
}

/** LOT_SIZE, MARKET_LOT_SIZE and NOTIONAL for one order (market forms: at the stop price, or the current price). */
export function checkQuantity(
  type: OrderType,
  quantity: number,
  price: number,
  stopPrice: number,
  market: number,
  spec: SymbolSpec,
): void {
  const marketForm = type === "MARKET" || type === "STOP_LOSS" || type === "TAKE_PROFIT";
  if (marketForm && quantity > spec.marketMaxQty) throw filterFailure("MARKET_LOT_SIZE");
  if (quantity < spec.minQty || quantity > spec.maxQty || !onStep(quantity, spec.minQty, spec.stepSize)) {
    throw filterFailure("LOT_SIZE");
  }
  const at = type === "MARKET" ? market : marketForm ? stopPrice : price;
  const notional = at * quantity;
  if (notional < spec.minNotional || (!marketForm && notional > spec.maxNotional)) {
    throw filterFailure("NOTIONAL");
  }
}

export async function marketOf(
  ctx: RequestContext,
  symbol: string,
): Promise<{ series: Series; market: number; now: number }> {
  const series = await seriesOf(ctx, symbol);
  const now = ctx.state.clock.now();
  const market = currentPrice(series, now);
  if (market === undefined) throw new ApiError(400, -1013, "Market is closed.");
  return { series, market, now };
}

async function newOrder(ctx: RequestContext, account: Account, test: boolean) {
  const p = allParams(ctx);
  const symbol = parseSymbol(need(p.get("symbol"), "symbol"));
  const side = parseSide(p);
  const type = parseType(need(p.get("type"), "type"));
  const { series, market, now } = await marketOf(ctx, symbol);
  const spec = series.spec;
  const clientOrderId = clientId(p, "newClientOrderId");
  const respType = oneOf(
    p.get("newOrderRespType") ?? (type === "MARKET" || type === "LIMIT" ? "FULL" : "ACK"),
    ["ACK", "RESULT", "FULL"] as const,
    () => new ApiError(400, -1177, "Invalid newOrderRespType."),
  );
  let quantity = num(p, "quantity");
  const quoteOrderQty = num(p, "quoteOrderQty") ?? 0;
  const { price, stopPrice, timeInForce } = orderPrices(p, type, PLAIN, spec);
  if (type === "MARKET") {
    if (quantity === undefined && quoteOrderQty === 0) {
      throw new ApiError(
        400,
        -1102,
        "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!",
      );
    }
    if (quantity !== undefined && quoteOrderQty > 0) throw notRequired("quoteOrderQty");
    if (quantity === undefined) {
      const steps = Math.floor(quoteOrderQty / market / spec.stepSize + 1e-9);
      quantity = Math.round(steps * spec.stepSize * 1e8) / 1e8;
    }
  } else {
    if (quoteOrderQty > 0) throw notRequired("quoteOrderQty");
    quantity = need(quantity, "quantity");
  }
  checkQuantity(type, quantity, price, stopPrice, market, spec);
  const order = account.place(
    {
      symbol,
      side,
      type,
      timeInForce,
      price,
      stopPrice,
      quantity,
      quoteOrderQty,
      clientOrderId,
      baseAsset: spec.baseAsset,
      quoteAsset: spec.quoteAsset,
    },
    series,
    market,
    now,
    test,
  );
  return test ? json({}) : json(newOrderBody(order, respType));
}

/** The order named by orderId or origClientOrderId, or undefined. */
function lookup(p: URLSearchParams, account: Account, symbol: string): SimOrder | undefined {
  const orderId = intParam(p, "orderId");
  const client = p.get("origClientOrderId");
  if (orderId === undefined && (client === null || client === "")) {
    throw new ApiError(
      400,
      -1102,
      "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
    );
  }
  return account.findOrder(symbol, orderId, client ?? undefined);
}

export function signed(
  method: Route["method"],
  path: string,
  security: Security,
  weight: (p: URLSearchParams) => number,
  handle: (ctx: RequestContext, account: Account) => ReturnType<Route["handle"]>,
): Route {
  return {
    method,
    path,
    market: "spot",
    weight,
    security,
    handle: (ctx) => {
      const account = authenticate(ctx, ctx.state.accounts);
      account.settle(ctx.state.clock.now());
      return handle(ctx, account);
    },
  };
}

export function orderRoutes(): Route[] {
  const p = "/api/v3";
  return [
    signed(
      "POST",
      `${p}/order`,
      "TRADE",
      () => 1,
      (ctx, a) => newOrder(ctx, a, false),
    ),
    signed(
      "POST",
      `${p}/order/test`,
      "TRADE",
      () => 1,
      (ctx, a) => newOrder(ctx, a, true),
    ),
    signed(
      "DELETE",
      `${p}/order`,
      "TRADE",
      () => 1,
      async (ctx, a) => {
        const q = allParams(ctx);
        const symbol = parseSymbol(need(q.get("symbol"), "symbol"));
        await seriesOf(ctx, symbol);
        const o = lookup(q, a, symbol);
        if (o === undefined || !isOpen(o)) throw new ApiError(400, -2011, "Unknown order sent.");
        const now = ctx.state.clock.now();
        // An OCO leg cancels its whole list (both legs CANCELED); the reply is this leg's.
        a.cancel(o, now);
        return json(cancelBody(o, q.get("newClientOrderId"), now));
      },
    ),
    signed(
      "GET",
      `${p}/order`,
      "USER_DATA",
      () => 4,
      async (ctx, a) => {
        const q = allParams(ctx);
        const symbol = parseSymbol(need(q.get("symbol"), "symbol"));
        await seriesOf(ctx, symbol);
        const o = lookup(q, a, symbol);
        if (o === undefined) throw new ApiError(400, -2013, "Order does not exist.");
        return json(orderBody(o));
      },
    ),
    signed(
      "GET",
      `${p}/openOrders`,
      "USER_DATA",
      (q) => (q.get("symbol") === null ? 80 : 6),
      async (ctx, a) => {
        const s = allParams(ctx).get("symbol");
        const symbol = s === null ? undefined : parseSymbol(s);
        if (symbol !== undefined) await seriesOf(ctx, symbol);
        return json(a.openOrders(symbol).map(orderBody));
      },
    ),
    signed(
      "GET",
      `${p}/allOrders`,
      "USER_DATA",
      () => 20,
      async (ctx, a) => {
        const q = allParams(ctx);
        const symbol = parseSymbol(need(q.get("symbol"), "symbol"));
        await seriesOf(ctx, symbol);
        const page = historyPage(a.orders, q, symbol, {
          idParam: "orderId",
          id: (o) => o.orderId,
          time: (o) => o.time,
        });
        return json(page.map(orderBody));
      },
    ),
    signed(
      "GET",
      `${p}/myTrades`,
      "USER_DATA",
      () => 20,
      async (ctx, a) => {
        const q = allParams(ctx);
        const symbol = parseSymbol(need(q.get("symbol"), "symbol"));
        await seriesOf(ctx, symbol);
        const orderId = intParam(q, "orderId");
        const page = historyPage(a.trades, q, symbol, {
          idParam: "fromId",
          id: (t) => t.id,
          time: (t) => t.time,
          startFirst: true,
          match: (t) => orderId === undefined || t.orderId === orderId,
        });
        return json(page.map(tradeBody));
      },
    ),
    signed(
      "GET",
      `${p}/account`,
      "USER_DATA",
      () => 20,
      (ctx, a) => {
        const omitZero = allParams(ctx).get("omitZeroBalances") === "true";
        const balances = a
          .balanceList()
          .filter((b) => !omitZero || b.free !== 0 || b.locked !== 0)
          .map((b) => ({ asset: b.asset, free: dec8(b.free), locked: dec8(b.locked) }));
        return json({
          makerCommission: 10,
          takerCommission: 10,
          buyerCommission: 0,
          sellerCommission: 0,
          commissionRates: {
            maker: "0.00100000",
            taker: "0.00100000",
            buyer: "0.00000000",
            seller: "0.00000000",
          },
          canTrade: true,
          canWithdraw: true,
          canDeposit: true,
          brokered: false,
          requireSelfTradePrevention: false,
          preventSor: false,
          updateTime: ctx.state.clock.now(),
          accountType: "SPOT",
          balances,
          permissions: ["SPOT"],
          uid: 1,
        });
      },
    ),
  ];
}
