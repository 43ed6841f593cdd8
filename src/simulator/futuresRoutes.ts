import { randomBytes } from "node:crypto";
import { ApiError, illegalChars, invalidParam, invalidSymbol } from "./errors.js";
import { decimalsNeeded } from "./format.js";
import {
  type AlgoOrder,
  BRACKETS,
  breakEven,
  type ConditionalType,
  type FuturesAccount,
  type FuturesOrder,
  type FuturesTrade,
  fixed,
  isWorking,
  MAKER_RATE,
  maxNotional,
  type PositionView,
  short8,
  TAKER_RATE,
  usd8,
  type WalletView,
} from "./futuresAccount.js";
import { parseSymbol } from "./klines.js";
import { historyPage, intParam, need, num, oneOf } from "./params.js";
import { json, type RequestContext, type Route, type Security } from "./router.js";
import type { Series } from "./series.js";
import { allParams, authenticate } from "./signing.js";
import type { SymbolSpec } from "./specs.js";

/**
 * Binance USD-M futures' signed endpoints over the simulator's futures accounts: orders
 * (/fapi/v1/order and friends), conditional orders (the Algo Service, /fapi/v1/algoOrder,
 * where Binance has taken STOP_MARKET and TAKE_PROFIT_MARKET since December 2025), leverage,
 * margin type, position mode, positions, balances and commission rates, with Binance's
 * weights, parameters, filters, error codes and reply shapes (v2 and v3 reads, as ccxt's
 * binanceusdm uses v3 by default).
 */

const CLIENT_ID = /^[.A-Z:/a-z0-9_-]{1,36}$/;
const CLIENT_ID_RANGE = "^[\\.A-Z\\:/a-z0-9_-]{1,36}$";
/** Conditional types Binance serves only through the Algo Service now. */
const ALGO_ONLY = ["STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"];

function boolParam(p: URLSearchParams, name: string): boolean {
  const v = p.get(name);
  if (v === null || v === "") return false;
  const lower = v.toLowerCase();
  if (lower !== "true" && lower !== "false") throw invalidParam(name);
  return lower === "true";
}

const newId = (): string => randomBytes(16).toString("base64url").slice(0, 22);

async function seriesOf(ctx: RequestContext, account: FuturesAccount, symbol: string): Promise<Series> {
  const entry = ctx.state.data.entry("um", symbol);
  if (entry === undefined) throw invalidSymbol();
  const s = ctx.state.data.loaded("um", symbol) ?? (await ctx.state.data.load(entry));
  account.use(s);
  return s;
}

async function symbolParam(
  ctx: RequestContext,
  a: FuturesAccount,
  required: boolean,
): Promise<string | undefined> {
  const v = allParams(ctx).get("symbol");
  if (v === null && !required) return undefined;
  const symbol = parseSymbol(v);
  await seriesOf(ctx, a, symbol);
  return symbol;
}

/** Binance futures' price and quantity checks, with their codes (the -1013 "Filter failure" texts are spot's). */
function checkPrice(spec: SymbolSpec, price: number): void {
  if (decimalsNeeded(price) > spec.pricePrecision) {
    throw new ApiError(400, -1111, "Precision is over the maximum defined for this asset.");
  }
  if (price < spec.minPrice) throw new ApiError(400, -4013, "Price less than min price.");
  if (price > spec.maxPrice) throw new ApiError(400, -4002, "Price greater than max price.");
  const k = (price - spec.minPrice) / spec.tickSize;
  if (Math.abs(k - Math.round(k)) > 1e-6) throw new ApiError(400, -4014, "Price not increased by tick size.");
}

function checkQuantity(spec: SymbolSpec, qty: number, market: boolean): void {
  if (decimalsNeeded(qty) > spec.quantityPrecision) {
    throw new ApiError(400, -1111, "Precision is over the maximum defined for this asset.");
  }
  if (qty <= 0) throw new ApiError(400, -4003, "Quantity less than or equal to zero.");
  if (qty < spec.minQty) throw new ApiError(400, -4004, "Quantity less than min quantity.");
  if (qty > (market ? spec.marketMaxQty : spec.maxQty)) {
    throw new ApiError(400, -4005, "Quantity greater than max quantity.");
  }
  const k = (qty - spec.minQty) / spec.stepSize;
  if (Math.abs(k - Math.round(k)) > 1e-6) throw new ApiError(400, -4023, "Qty not increased by step size.");
}

function checkNotional(spec: SymbolSpec, notional: number): void {
  if (notional + 1e-9 < spec.minNotional) {
    throw new ApiError(
      400,
      -4164,
      `Order's notional must be no smaller than ${spec.minNotional} (unless you choose reduce only).`,
    );
  }
}

const side = (p: URLSearchParams) =>
  oneOf(
    need(p.get("side"), "side"),
    ["BUY", "SELL"] as const,
    () => new ApiError(400, -1117, "Invalid side."),
  );

/** One-way mode only: positionSide may be BOTH (or absent). */
function checkPositionSide(p: URLSearchParams): void {
  const ps = p.get("positionSide");
  if (ps === null || ps === "" || ps === "BOTH") return;
  if (ps === "LONG" || ps === "SHORT") {
    throw new ApiError(400, -4061, "Order's position side does not match user's setting.");
  }
  throw invalidParam("positionSide");
}

function clientId(p: URLSearchParams, name: string): string {
  const id = p.get(name) ?? newId();
  if (!CLIENT_ID.test(id)) throw illegalChars(name, CLIENT_ID_RANGE);
  return id;
}

function orderFields(o: FuturesOrder, spec: SymbolSpec): Record<string, unknown> {
  const pd = spec.pricePrecision;
  const qd = spec.quantityPrecision;
  return {
    orderId: o.orderId,
    symbol: o.symbol,
    status: o.status,
    clientOrderId: o.clientOrderId,
    price: fixed(o.price, pd),
    avgPrice: fixed(o.avgPrice, pd),
    origQty: fixed(o.origQty, qd),
    executedQty: fixed(o.executedQty, qd),
    cumQuote: usd8(o.cumQuote),
    timeInForce: o.timeInForce,
    type: o.type,
    reduceOnly: o.reduceOnly,
    closePosition: o.closePosition,
    side: o.side,
    positionSide: "BOTH",
    stopPrice: fixed(o.stopPrice, pd),
    workingType: o.workingType,
    priceProtect: false,
    origType: o.origType,
    priceMatch: "NONE",
    selfTradePreventionMode: "EXPIRE_MAKER",
    goodTillDate: 0,
  };
}

/** GET /fapi/v1/order, openOrders, allOrders. */
function orderBody(o: FuturesOrder, spec: SymbolSpec): Record<string, unknown> {
  return { ...orderFields(o, spec), time: o.time, updateTime: o.updateTime };
}

/** POST /fapi/v1/order: RESULT is the order after matching; ACK is what was accepted (nothing filled yet). */
function newOrderBody(o: FuturesOrder, spec: SymbolSpec, ack: boolean): Record<string, unknown> {
  const f = orderFields(o, spec);
  if (!ack) return { ...f, cumQty: f.executedQty, updateTime: o.updateTime };
  const zeroQty = fixed(0, spec.quantityPrecision);
  return {
    ...f,
    status: "NEW",
    avgPrice: fixed(0, spec.pricePrecision),
    executedQty: zeroQty,
    cumQty: zeroQty,
    cumQuote: usd8(0),
    updateTime: o.time,
  };
}

function tradeBody(t: FuturesTrade, spec: SymbolSpec): Record<string, unknown> {
  return {
    buyer: t.side === "BUY",
    commission: usd8(t.commission),
    commissionAsset: "USDT",
    id: t.id,
    maker: t.maker,
    orderId: t.orderId,
    price: fixed(t.price, spec.pricePrecision),
    qty: fixed(t.qty, spec.quantityPrecision),
    quoteQty: usd8(t.quoteQty),
    realizedPnl: usd8(t.realizedPnl),
    side: t.side,
    positionSide: "BOTH",
    symbol: t.symbol,
    time: t.time,
  };
}

/** A conditional order as POST /fapi/v1/algoOrder answers it; `full` adds what the queries show. */
function algoBody(a: AlgoOrder, spec: SymbolSpec, full: boolean): Record<string, unknown> {
  const pd = spec.pricePrecision;
  const body: Record<string, unknown> = {
    algoId: a.algoId,
    clientAlgoId: a.clientAlgoId,
    algoType: "CONDITIONAL",
    orderType: a.orderType,
    symbol: a.symbol,
    side: a.side,
    positionSide: "BOTH",
    timeInForce: a.timeInForce,
    quantity: fixed(a.quantity, spec.quantityPrecision),
    algoStatus: a.algoStatus,
  };
  if (full) {
    body.actualOrderId = a.actualOrderId === undefined ? "" : String(a.actualOrderId);
    body.actualPrice = fixed(a.actualPrice, pd);
  }
  Object.assign(body, {
    triggerPrice: fixed(a.triggerPrice, pd),
    price: fixed(0, pd),
    icebergQuantity: null,
  });
  if (full) {
    Object.assign(body, {
      tpTriggerPrice: fixed(0, pd),
      tpPrice: fixed(0, pd),
      slTriggerPrice: fixed(0, pd),
      slPrice: fixed(0, pd),
      tpOrderType: "",
    });
  }
  return Object.assign(body, {
    selfTradePreventionMode: "EXPIRE_MAKER",
    workingType: a.workingType,
    priceMatch: "NONE",
    closePosition: a.closePosition,
    priceProtect: a.priceProtect,
    reduceOnly: a.reduceOnly,
    createTime: a.createTime,
    updateTime: a.updateTime,
    triggerTime: a.triggerTime,
    goodTillDate: 0,
  });
}

const isolatedMargin = (v: PositionView): number =>
  v.marginType === "ISOLATED" ? v.isolatedWallet + v.unrealizedPnl : 0;

/** GET /fapi/v2/positionRisk: every symbol, with leverage and margin type. */
function positionRiskV2(v: PositionView, spec: SymbolSpec): Record<string, unknown> {
  return {
    symbol: v.symbol,
    positionAmt: fixed(v.amt, spec.quantityPrecision),
    entryPrice: short8(v.entryPrice),
    breakEvenPrice: short8(breakEven(v)),
    markPrice: fixed(v.markPrice, 8),
    unRealizedProfit: usd8(v.unrealizedPnl),
    liquidationPrice: "0",
    leverage: String(v.leverage),
    maxNotionalValue: String(maxNotional(v.leverage)),
    marginType: v.marginType === "ISOLATED" ? "isolated" : "cross",
    isolatedMargin: usd8(isolatedMargin(v)),
    isAutoAddMargin: "false",
    positionSide: "BOTH",
    notional: usd8(v.notional),
    isolatedWallet: usd8(v.marginType === "ISOLATED" ? v.isolatedWallet : 0),
    updateTime: v.updateTime,
  };
}

/** GET /fapi/v3/positionRisk: symbols with a position or open orders, with margins and no leverage. */
function positionRiskV3(v: PositionView, spec: SymbolSpec): Record<string, unknown> {
  return {
    symbol: v.symbol,
    positionSide: "BOTH",
    positionAmt: fixed(v.amt, spec.quantityPrecision),
    entryPrice: short8(v.entryPrice),
    breakEvenPrice: short8(breakEven(v)),
    markPrice: fixed(v.markPrice, 8),
    unRealizedProfit: usd8(v.unrealizedPnl),
    liquidationPrice: "0",
    isolatedMargin: usd8(isolatedMargin(v)),
    notional: usd8(v.notional),
    marginAsset: "USDT",
    isolatedWallet: usd8(v.marginType === "ISOLATED" ? v.isolatedWallet : 0),
    initialMargin: usd8(v.initialMargin + v.openOrderInitialMargin),
    maintMargin: usd8(v.maintMargin),
    positionInitialMargin: usd8(v.initialMargin),
    openOrderInitialMargin: usd8(v.openOrderInitialMargin),
    adl: 0,
    bidNotional: usd8(v.bidNotional),
    askNotional: usd8(v.askNotional),
    updateTime: v.updateTime,
  };
}

function assetBody(w: WalletView, v2: boolean): Record<string, unknown> {
  return {
    asset: "USDT",
    walletBalance: usd8(w.walletBalance),
    unrealizedProfit: usd8(w.unrealizedPnl),
    marginBalance: usd8(w.marginBalance),
    maintMargin: usd8(w.maintMargin),
    initialMargin: usd8(w.positionInitialMargin + w.openOrderInitialMargin),
    positionInitialMargin: usd8(w.positionInitialMargin),
    openOrderInitialMargin: usd8(w.openOrderInitialMargin),
    crossWalletBalance: usd8(w.crossWalletBalance),
    crossUnPnl: usd8(w.crossUnPnl),
    availableBalance: usd8(w.availableBalance),
    maxWithdrawAmount: usd8(w.maxWithdrawAmount),
    ...(v2 ? { marginAvailable: true } : {}),
    updateTime: w.updateTime,
  };
}

function totals(w: WalletView): Record<string, unknown> {
  return {
    totalInitialMargin: usd8(w.positionInitialMargin + w.openOrderInitialMargin),
    totalMaintMargin: usd8(w.maintMargin),
    totalWalletBalance: usd8(w.walletBalance),
    totalUnrealizedProfit: usd8(w.unrealizedPnl),
    totalMarginBalance: usd8(w.marginBalance),
    totalPositionInitialMargin: usd8(w.positionInitialMargin),
    totalOpenOrderInitialMargin: usd8(w.openOrderInitialMargin),
    totalCrossWalletBalance: usd8(w.crossWalletBalance),
    totalCrossUnPnl: usd8(w.crossUnPnl),
    availableBalance: usd8(w.availableBalance),
    maxWithdrawAmount: usd8(w.maxWithdrawAmount),
  };
}

/** Views of the positions to list: every futures symbol (v2) or those with a position or open orders (v3). */
async function positionViews(
  ctx: RequestContext,
  a: FuturesAccount,
  all: boolean,
): Promise<{ view: PositionView; spec: SymbolSpec }[]> {
  const only = await symbolParam(ctx, a, false);
  const now = ctx.state.clock.now();
  const names = only !== undefined ? [only] : ctx.state.data.symbols("um").map((e) => e.symbol);
  const out: { view: PositionView; spec: SymbolSpec }[] = [];
  for (const symbol of names) {
    const spec = (await seriesOf(ctx, a, symbol)).spec;
    const view = a.view(symbol, now);
    const active = view.amt !== 0 || a.openOrders(symbol).length > 0;
    if (all || active) out.push({ view, spec });
  }
  return out;
}

async function newOrder(ctx: RequestContext, a: FuturesAccount) {
  const p = allParams(ctx);
  const symbol = parseSymbol(need(p.get("symbol"), "symbol"));
  const s = side(p);
  const typeText = need(p.get("type"), "type");
  if (ALGO_ONLY.includes(typeText)) {
    throw new ApiError(
      400,
      -4120,
      "Order type not supported for this endpoint. Please use the Algo Order API endpoints instead.",
    );
  }
  const type = oneOf(
    typeText,
    ["MARKET", "LIMIT"] as const,
    () => new ApiError(400, -1116, "Invalid orderType."),
  );
  const series = await seriesOf(ctx, a, symbol);
  const spec = series.spec;
  checkPositionSide(p);
  const clientOrderId = clientId(p, "newClientOrderId");
  const ack =
    oneOf(
      p.get("newOrderRespType") ?? "ACK",
      ["ACK", "RESULT"] as const,
      () => new ApiError(400, -1177, "Invalid newOrderRespType."),
    ) === "ACK";
  const reduceOnly = boolParam(p, "reduceOnly");
  const quantity = need(num(p, "quantity"), "quantity");
  const now = ctx.state.clock.now();
  let price = 0;
  let timeInForce: "GTC" | "IOC" | "FOK" | "GTX" = "GTC";
  if (type === "LIMIT") {
    timeInForce = oneOf(
      need(p.get("timeInForce"), "timeInForce"),
      ["GTC", "IOC", "FOK", "GTX"] as const,
      () => new ApiError(400, -1115, "Invalid timeInForce."),
    );
    price = need(num(p, "price"), "price");
    checkPrice(spec, price);
  } else if (p.get("price") !== null) {
    throw new ApiError(400, -1106, "Parameter 'price' sent when not required.");
  }
  checkQuantity(spec, quantity, type === "MARKET");
  if (!reduceOnly) checkNotional(spec, (type === "LIMIT" ? price : a.markPrice(symbol, now)) * quantity);
  const order = a.place(
    { symbol, side: s, type, timeInForce, price, quantity, reduceOnly, clientOrderId },
    now,
  );
  return json(newOrderBody(order, spec, ack));
}

async function newAlgoOrder(ctx: RequestContext, a: FuturesAccount) {
  const p = allParams(ctx);
  const algoType = need(p.get("algoType"), "algoType");
  if (algoType !== "CONDITIONAL") throw invalidParam("algoType");
  const symbol = parseSymbol(need(p.get("symbol"), "symbol"));
  const s = side(p);
  const typeText = need(p.get("type"), "type");
  const orderType = oneOf(
    typeText,
    ["STOP_MARKET", "TAKE_PROFIT_MARKET"] as ConditionalType[],
    () => new ApiError(400, -1116, "Invalid orderType."),
  );
  const spec = (await seriesOf(ctx, a, symbol)).spec;
  checkPositionSide(p);
  const clientAlgoId = clientId(p, "clientAlgoId");
  const triggerPrice = need(num(p, "triggerPrice"), "triggerPrice");
  checkPrice(spec, triggerPrice);
  const closePosition = boolParam(p, "closePosition");
  const reduceOnly = boolParam(p, "reduceOnly");
  const qty = num(p, "quantity");
  if (closePosition && qty !== undefined) {
    throw new ApiError(400, -1106, "Parameter 'quantity' sent when not required.");
  }
  if (closePosition && reduceOnly) {
    throw new ApiError(400, -1106, "Parameter 'reduceOnly' sent when not required.");
  }
  const quantity = closePosition ? 0 : need(qty, "quantity");
  if (!closePosition) checkQuantity(spec, quantity, true);
  if (!closePosition && !reduceOnly) checkNotional(spec, triggerPrice * quantity);
  const workingType = oneOf(
    p.get("workingType") ?? "CONTRACT_PRICE",
    ["CONTRACT_PRICE", "MARK_PRICE"] as const,
    () => invalidParam("workingType"),
  );
  const timeInForce = oneOf(
    p.get("timeInForce") ?? "GTC",
    ["GTC", "IOC", "FOK"] as const,
    () => new ApiError(400, -1115, "Invalid timeInForce."),
  );
  const priceProtect = boolParam(p, "priceProtect");
  const now = ctx.state.clock.now();
  const order = a.placeAlgo(
    {
      symbol,
      side: s,
      orderType,
      quantity,
      triggerPrice,
      reduceOnly,
      closePosition,
      workingType,
      priceProtect,
      timeInForce,
      clientAlgoId,
    },
    now,
  );
  return json(algoBody(order, spec, false));
}

/** The order named by orderId or origClientOrderId, or undefined. */
function lookup(p: URLSearchParams, a: FuturesAccount, symbol: string): FuturesOrder | undefined {
  const orderId = intParam(p, "orderId");
  const client = p.get("origClientOrderId");
  if (orderId === undefined && (client === null || client === "")) {
    throw new ApiError(
      400,
      -1102,
      "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
    );
  }
  return a.findOrder(symbol, orderId, client ?? undefined);
}

function lookupAlgo(p: URLSearchParams, a: FuturesAccount): AlgoOrder | undefined {
  const algoId = intParam(p, "algoId");
  const client = p.get("clientAlgoId");
  if (algoId === undefined && (client === null || client === "")) {
    throw new ApiError(
      400,
      -1102,
      "Param 'clientAlgoId' or 'algoId' must be sent, but both were empty/null!",
    );
  }
  return a.findAlgo(algoId, client ?? undefined);
}

function specOf(a: FuturesAccount, ctx: RequestContext, symbol: string): SymbolSpec {
  const s = ctx.state.data.loaded("um", symbol);
  if (s === undefined) throw invalidSymbol();
  a.use(s);
  return s.spec;
}

function signed(
  method: Route["method"],
  path: string,
  security: Security,
  weight: (p: URLSearchParams) => number,
  handle: (ctx: RequestContext, account: FuturesAccount) => ReturnType<Route["handle"]>,
): Route {
  return {
    method,
    path,
    market: "um",
    weight,
    security,
    handle: (ctx) => {
      const spot = authenticate(ctx, ctx.state.accounts);
      const account = ctx.state.futures.byKey(spot.apiKey);
      if (account === undefined)
        throw new ApiError(401, -2015, "Invalid API-key, IP, or permissions for action.");
      account.settle(ctx.state.clock.now());
      return handle(ctx, account);
    },
  };
}

const CANCEL_ALL_DONE = { code: 200, msg: "The operation of cancel all open order is done." };

function orderRoutes(): Route[] {
  const v1 = "/fapi/v1";
  return [
    signed("POST", `${v1}/order`, "TRADE", () => 0, newOrder),
    signed(
      "DELETE",
      `${v1}/order`,
      "TRADE",
      () => 1,
      async (ctx, a) => {
        const q = allParams(ctx);
        const symbol = (await symbolParam(ctx, a, true)) as string;
        const o = lookup(q, a, symbol);
        if (o === undefined || !isWorking(o)) throw new ApiError(400, -2011, "Unknown order sent.");
        a.cancel(o, ctx.state.clock.now());
        return json(orderBody(o, specOf(a, ctx, symbol)));
      },
    ),
    signed(
      "GET",
      `${v1}/order`,
      "USER_DATA",
      () => 1,
      async (ctx, a) => {
        const symbol = (await symbolParam(ctx, a, true)) as string;
        const o = lookup(allParams(ctx), a, symbol);
        if (o === undefined) throw new ApiError(400, -2013, "Order does not exist.");
        return json(orderBody(o, specOf(a, ctx, symbol)));
      },
    ),
    signed(
      "GET",
      `${v1}/openOrder`,
      "USER_DATA",
      () => 1,
      async (ctx, a) => {
        const symbol = (await symbolParam(ctx, a, true)) as string;
        const o = lookup(allParams(ctx), a, symbol);
        if (o === undefined || !isWorking(o)) throw new ApiError(400, -2013, "Order does not exist.");
        return json(orderBody(o, specOf(a, ctx, symbol)));
      },
    ),
    signed(
      "GET",
      `${v1}/openOrders`,
      "USER_DATA",
      (q) => (q.get("symbol") === null ? 40 : 1),
      async (ctx, a) => {
        const symbol = await symbolParam(ctx, a, false);
        return json(a.openOrders(symbol).map((o) => orderBody(o, specOf(a, ctx, o.symbol))));
      },
    ),
    signed(
      "GET",
      `${v1}/allOrders`,
      "USER_DATA",
      () => 5,
      async (ctx, a) => {
        const q = allParams(ctx);
        const symbol = (await symbolParam(ctx, a, true)) as string;
        const spec = specOf(a, ctx, symbol);
        const page = historyPage(a.orders, q, symbol, {
          idParam: "orderId",
          id: (o) => o.orderId,
          time: (o) => o.time,
        });
        return json(page.map((o) => orderBody(o, spec)));
      },
    ),
    signed(
      "DELETE",
      `${v1}/allOpenOrders`,
      "TRADE",
      () => 1,
      async (ctx, a) => {
        const symbol = (await symbolParam(ctx, a, true)) as string;
        const now = ctx.state.clock.now();
        for (const o of a.openOrders(symbol)) a.cancel(o, now);
        return json(CANCEL_ALL_DONE);
      },
    ),
    signed(
      "GET",
      `${v1}/userTrades`,
      "USER_DATA",
      () => 5,
      async (ctx, a) => {
        const q = allParams(ctx);
        const symbol = (await symbolParam(ctx, a, true)) as string;
        const spec = specOf(a, ctx, symbol);
        const orderId = intParam(q, "orderId");
        const page = historyPage(a.trades, q, symbol, {
          idParam: "fromId",
          id: (t) => t.id,
          time: (t) => t.time,
          startFirst: true,
          match: (t) => orderId === undefined || t.orderId === orderId,
        });
        return json(page.map((t) => tradeBody(t, spec)));
      },
    ),
  ];
}

function algoRoutes(): Route[] {
  const v1 = "/fapi/v1";
  return [
    signed("POST", `${v1}/algoOrder`, "TRADE", () => 0, newAlgoOrder),
    signed(
      "DELETE",
      `${v1}/algoOrder`,
      "TRADE",
      () => 1,
      (ctx, a) => {
        const o = lookupAlgo(allParams(ctx), a);
        if (o === undefined || o.algoStatus !== "NEW") throw new ApiError(400, -2011, "Unknown order sent.");
        a.cancelAlgo(o, ctx.state.clock.now());
        return json({ algoId: o.algoId, clientAlgoId: o.clientAlgoId, code: "200", msg: "success" });
      },
    ),
    signed(
      "GET",
      `${v1}/algoOrder`,
      "USER_DATA",
      () => 1,
      (ctx, a) => {
        const o = lookupAlgo(allParams(ctx), a);
        if (o === undefined) throw new ApiError(400, -2013, "Order does not exist.");
        return json(algoBody(o, specOf(a, ctx, o.symbol), true));
      },
    ),
    signed(
      "GET",
      `${v1}/openAlgoOrders`,
      "USER_DATA",
      (q) => (q.get("symbol") === null ? 40 : 1),
      async (ctx, a) => {
        const symbol = await symbolParam(ctx, a, false);
        return json(a.openAlgoOrders(symbol).map((o) => algoBody(o, specOf(a, ctx, o.symbol), true)));
      },
    ),
    signed(
      "GET",
      `${v1}/allAlgoOrders`,
      "USER_DATA",
      () => 5,
      async (ctx, a) => {
        const q = allParams(ctx);
        const symbol = (await symbolParam(ctx, a, true)) as string;
        const spec = specOf(a, ctx, symbol);
        const page = historyPage(a.algoOrders, q, symbol, {
          idParam: "algoId",
          id: (o) => o.algoId,
          time: (o) => o.createTime,
          limit: { max: 100, dflt: 100 },
        });
        return json(page.map((o) => algoBody(o, spec, true)));
      },
    ),
    signed(
      "DELETE",
      `${v1}/algoOpenOrders`,
      "TRADE",
      () => 1,
      async (ctx, a) => {
        const symbol = (await symbolParam(ctx, a, true)) as string;
        const now = ctx.state.clock.now();
        for (const o of a.openAlgoOrders(symbol)) a.cancelAlgo(o, now);
        return json(CANCEL_ALL_DONE);
      },
    ),
  ];
}

function settingRoutes(): Route[] {
  const v1 = "/fapi/v1";
  return [
    signed(
      "POST",
      `${v1}/leverage`,
      "TRADE",
      () => 1,
      async (ctx, a) => {
        const q = allParams(ctx);
        const symbol = (await symbolParam(ctx, a, true)) as string;
        const text = need(q.get("leverage"), "leverage");
        if (!/^\d{1,20}$/.test(text)) throw illegalChars("leverage", "^[0-9]{1,20}$");
        const leverage = Number(text);
        if (leverage < 1 || leverage > (BRACKETS[0]?.initialLeverage ?? 125)) {
          throw new ApiError(400, -4028, `Leverage ${leverage} is not valid`);
        }
        a.setLeverage(symbol, leverage, ctx.state.clock.now());
        return json({ symbol, leverage, maxNotionalValue: String(maxNotional(leverage)) });
      },
    ),
    signed(
      "POST",
      `${v1}/marginType`,
      "TRADE",
      () => 1,
      async (ctx, a) => {
        const q = allParams(ctx);
        const symbol = (await symbolParam(ctx, a, true)) as string;
        const marginType = oneOf(
          need(q.get("marginType"), "marginType"),
          ["ISOLATED", "CROSSED"] as const,
          () => invalidParam("marginType"),
        );
        a.setMarginType(symbol, marginType);
        return json({ code: 200, msg: "success" });
      },
    ),
    signed(
      "GET",
      `${v1}/positionSide/dual`,
      "USER_DATA",
      () => 30,
      () => json({ dualSidePosition: false }),
    ),
    signed(
      "POST",
      `${v1}/positionSide/dual`,
      "TRADE",
      () => 1,
      (ctx) => {
        const dual = boolParam(allParams(ctx), "dualSidePosition");
        // One-way mode only: hedge mode is not simulated.
        if (dual) throw invalidParam("dualSidePosition");
        throw new ApiError(400, -4059, "No need to change position side.");
      },
    ),
    signed(
      "GET",
      `${v1}/commissionRate`,
      "USER_DATA",
      () => 20,
      async (ctx, a) => {
        const symbol = await symbolParam(ctx, a, true);
        return json({
          symbol,
          makerCommissionRate: String(MAKER_RATE),
          takerCommissionRate: String(TAKER_RATE),
          rpiCommissionRate: "0",
        });
      },
    ),
    signed(
      "GET",
      `${v1}/leverageBracket`,
      "USER_DATA",
      () => 1,
      async (ctx, a) => {
        const only = await symbolParam(ctx, a, false);
        const names = only !== undefined ? [only] : ctx.state.data.symbols("um").map((e) => e.symbol);
        return json(names.map((symbol) => ({ symbol, notionalCoef: 1.0, brackets: BRACKETS })));
      },
    ),
  ];
}

function readRoutes(): Route[] {
  const positionRisk = (v: 2 | 3) =>
    signed(
      "GET",
      `/fapi/v${v}/positionRisk`,
      "USER_DATA",
      () => 5,
      async (ctx, a) => {
        const views = await positionViews(ctx, a, v === 2);
        return json(
          views.map((x) => (v === 2 ? positionRiskV2(x.view, x.spec) : positionRiskV3(x.view, x.spec))),
        );
      },
    );
  const balance = (v: 2 | 3) =>
    signed(
      "GET",
      `/fapi/v${v}/balance`,
      "USER_DATA",
      () => 5,
      (ctx, a) => {
        const w = a.walletView(ctx.state.clock.now());
        return json([
          {
            accountAlias: "SgsR",
            asset: "USDT",
            balance: usd8(w.walletBalance),
            crossWalletBalance: usd8(w.crossWalletBalance),
            crossUnPnl: usd8(w.crossUnPnl),
            availableBalance: usd8(w.availableBalance),
            maxWithdrawAmount: usd8(w.maxWithdrawAmount),
            marginAvailable: true,
            updateTime: w.updateTime,
          },
        ]);
      },
    );
  return [
    positionRisk(2),
    positionRisk(3),
    balance(2),
    balance(3),
    signed(
      "GET",
      "/fapi/v2/account",
      "USER_DATA",
      () => 5,
      async (ctx, a) => {
        const views = await positionViews(ctx, a, true);
        const w = a.walletView(ctx.state.clock.now());
        return json({
          feeTier: 0,
          feeBurn: false,
          canTrade: true,
          canDeposit: true,
          canWithdraw: true,
          updateTime: 0,
          multiAssetsMargin: false,
          tradeGroupId: -1,
          ...totals(w),
          assets: [assetBody(w, true)],
          positions: views.map(({ view: v, spec }) => ({
            symbol: v.symbol,
            initialMargin: usd8(v.initialMargin + v.openOrderInitialMargin),
            maintMargin: usd8(v.maintMargin),
            unrealizedProfit: usd8(v.unrealizedPnl),
            positionInitialMargin: usd8(v.initialMargin),
            openOrderInitialMargin: usd8(v.openOrderInitialMargin),
            leverage: String(v.leverage),
            isolated: v.marginType === "ISOLATED",
            entryPrice: short8(v.entryPrice),
            breakEvenPrice: short8(breakEven(v)),
            maxNotional: String(maxNotional(v.leverage)),
            bidNotional: usd8(v.bidNotional),
            askNotional: usd8(v.askNotional),
            positionSide: "BOTH",
            positionAmt: fixed(v.amt, spec.quantityPrecision),
            updateTime: v.updateTime,
          })),
        });
      },
    ),
    signed(
      "GET",
      "/fapi/v3/account",
      "USER_DATA",
      () => 5,
      async (ctx, a) => {
        const views = await positionViews(ctx, a, false);
        const w = a.walletView(ctx.state.clock.now());
        return json({
          ...totals(w),
          assets: [assetBody(w, false)],
          positions: views.map(({ view: v, spec }) => ({
            symbol: v.symbol,
            positionSide: "BOTH",
            positionAmt: fixed(v.amt, spec.quantityPrecision),
            unrealizedProfit: usd8(v.unrealizedPnl),
            isolatedMargin: usd8(isolatedMargin(v)),
            notional: usd8(v.notional),
            isolatedWallet: usd8(v.marginType === "ISOLATED" ? v.isolatedWallet : 0),
            initialMargin: usd8(v.initialMargin + v.openOrderInitialMargin),
            maintMargin: usd8(v.maintMargin),
            updateTime: v.updateTime,
          })),
        });
      },
    ),
  ];
}

export function futuresRoutes(): Route[] {
  return [...orderRoutes(), ...algoRoutes(), ...settingRoutes(), ...readRoutes()];
}
