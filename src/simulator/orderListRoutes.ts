import {
  type Account,
  isStopLoss,
  type OrderRequest,
  type OrderType,
  type SimOrder,
  type SimOrderList,
} from "./account.js";
import { ApiError } from "./errors.js";
import { parseSymbol } from "./klines.js";
import {
  cancelBody,
  checkQuantity,
  clientId,
  type LegNames,
  marketOf,
  newOrderBody,
  orderPrices,
  parseSide,
  parseType,
  seriesOf,
  signed,
} from "./orderRoutes.js";
import { intParam, limitParam, need, num, oneOf } from "./params.js";
import { json, type RequestContext, type Route } from "./router.js";
import { allParams } from "./signing.js";

/**
 * Binance spot's OCO order lists: `POST /api/v3/orderList/oco` (above and below legs) and the
 * older `POST /api/v3/order/oco` (a LIMIT_MAKER and a STOP_LOSS or STOP_LOSS_LIMIT), cancel
 * (`DELETE /api/v3/orderList`), query (`GET /api/v3/orderList`), open and all lists. The legs
 * are ordinary orders carrying the list's `orderListId`; one acting expires the other.
 */

const ABOVE_BELOW_TYPES: readonly OrderType[] = [
  "STOP_LOSS_LIMIT",
  "STOP_LOSS",
  "LIMIT_MAKER",
  "TAKE_PROFIT",
  "TAKE_PROFIT_LIMIT",
];

const badPrices = (): ApiError =>
  new ApiError(400, -2010, "The relationship of the prices for the orders is not correct.");

/** The price a leg acts at: its limit for LIMIT_MAKER, its stop price otherwise. */
const level = (leg: OrderRequest): number => (leg.type === "LIMIT_MAKER" ? leg.price : leg.stopPrice);

/** The list's reply: its status, the legs' ids and their reports (`report` per leg). */
function listBody(
  list: SimOrderList,
  report?: (o: SimOrder) => Record<string, unknown>,
): Record<string, unknown> {
  return {
    orderListId: list.orderListId,
    contingencyType: "OCO",
    listStatusType: list.listStatusType,
    listOrderStatus: list.listOrderStatus,
    listClientOrderId: list.listClientOrderId,
    transactionTime: list.transactionTime,
    symbol: list.symbol,
    orders: list.orders.map((o) => ({
      symbol: o.symbol,
      orderId: o.orderId,
      clientOrderId: o.clientOrderId,
    })),
    ...(report === undefined ? {} : { orderReports: list.orders.map(report) }),
  };
}

interface Leg {
  type: OrderType;
  names: LegNames;
  clientOrderId: string;
}

/**
 * Checks and places an OCO: `above` and `below` legs on one side and quantity. Binance's price
 * rule: the above leg acts above the last price and the below leg below it; for a SELL the
 * above leg takes profit (LIMIT_MAKER, TAKE_PROFIT[_LIMIT]) and the below leg stops the loss
 * (STOP_LOSS[_LIMIT]), for a BUY the other way round.
 */
async function placeOco(
  ctx: RequestContext,
  account: Account,
  p: URLSearchParams,
  legs: { first: Leg; second: Leg; above: 0 | 1 },
): Promise<Record<string, unknown>> {
  const symbol = parseSymbol(need(p.get("symbol"), "symbol"));
  const side = parseSide(p);
  const quantity = need(num(p, "quantity"), "quantity");
  const { series, market, now } = await marketOf(ctx, symbol);
  const spec = series.spec;
  const listClientOrderId = clientId(p, "listClientOrderId");
  const respType = oneOf(
    p.get("newOrderRespType") ?? "FULL",
    ["ACK", "RESULT", "FULL"] as const,
    () => new ApiError(400, -1177, "Invalid newOrderRespType."),
  );
  const reqs = [legs.first, legs.second].map((leg): OrderRequest => {
    const { price, stopPrice, timeInForce } = orderPrices(p, leg.type, leg.names, spec);
    return {
      symbol,
      side,
      type: leg.type,
      timeInForce,
      price,
      stopPrice,
      quantity,
      quoteOrderQty: 0,
      clientOrderId: leg.clientOrderId,
      baseAsset: spec.baseAsset,
      quoteAsset: spec.quoteAsset,
    };
  }) as [OrderRequest, OrderRequest];
  const above = reqs[legs.above];
  const below = reqs[1 - legs.above] as OrderRequest;
  if (isStopLoss(above.type) === isStopLoss(below.type)) {
    throw new ApiError(400, -1014, "Unsupported order combination.");
  }
  if (isStopLoss(above.type) !== (side === "BUY") || !(level(above) > market && market > level(below))) {
    throw badPrices();
  }
  for (const r of reqs) checkQuantity(r.type, quantity, r.price, r.stopPrice, market, spec);
  const list = account.placeList(reqs, listClientOrderId, series, market, now);
  return listBody(list, (o) => newOrderBody(o, respType === "ACK" ? "RESULT" : respType));
}

/** `POST /api/v3/orderList/oco`: aboveType/belowType and their prices. */
function newOrderListOco(ctx: RequestContext, account: Account) {
  const p = allParams(ctx);
  const legType = (name: string) =>
    oneOf(
      parseType(need(p.get(name), name)),
      ABOVE_BELOW_TYPES,
      () => new ApiError(400, -1116, "Invalid orderType."),
    );
  const leg = (which: "above" | "below"): Leg => ({
    type: legType(`${which}Type`),
    names: { price: `${which}Price`, stopPrice: `${which}StopPrice`, timeInForce: `${which}TimeInForce` },
    clientOrderId: clientId(p, `${which}ClientOrderId`),
  });
  // Reports list the below leg first.
  return placeOco(ctx, account, p, { first: leg("below"), second: leg("above"), above: 1 }).then(json);
}

/** `POST /api/v3/order/oco` (deprecated by Binance, still served): a LIMIT_MAKER at `price` and a stop at `stopPrice`. */
function newOrderOco(ctx: RequestContext, account: Account) {
  const p = allParams(ctx);
  const side = parseSide(p);
  const stopLimit = num(p, "stopLimitPrice") !== undefined;
  const stop: Leg = {
    type: stopLimit ? "STOP_LOSS_LIMIT" : "STOP_LOSS",
    names: { price: "stopLimitPrice", stopPrice: "stopPrice", timeInForce: "stopLimitTimeInForce" },
    clientOrderId: clientId(p, "stopClientOrderId"),
  };
  const limit: Leg = {
    type: "LIMIT_MAKER",
    names: { price: "price", stopPrice: "limitStopPrice", timeInForce: "limitTimeInForce" },
    clientOrderId: clientId(p, "limitClientOrderId"),
  };
  // Reports list the stop leg first; for a SELL the limit is above, for a BUY the stop.
  return placeOco(ctx, account, p, { first: stop, second: limit, above: side === "SELL" ? 1 : 0 }).then(json);
}

/** The list named by orderListId or `clientName` (listClientOrderId, or origClientOrderId for queries). */
function lookupList(p: URLSearchParams, account: Account, clientName: string): SimOrderList | undefined {
  const id = intParam(p, "orderListId");
  const client = p.get(clientName);
  if (id === undefined && (client === null || client === "")) {
    throw new ApiError(
      400,
      -1102,
      `Param '${clientName}' or 'orderListId' must be sent, but both were empty/null!`,
    );
  }
  return account.findList(id, client ?? undefined);
}

export function orderListRoutes(): Route[] {
  const p = "/api/v3";
  return [
    signed("POST", `${p}/orderList/oco`, "TRADE", () => 1, newOrderListOco),
    signed("POST", `${p}/order/oco`, "TRADE", () => 1, newOrderOco),
    signed(
      "DELETE",
      `${p}/orderList`,
      "TRADE",
      () => 1,
      async (ctx, a) => {
        const q = allParams(ctx);
        const symbol = parseSymbol(need(q.get("symbol"), "symbol"));
        await seriesOf(ctx, symbol);
        const list = lookupList(q, a, "listClientOrderId");
        if (list === undefined || list.symbol !== symbol || list.listStatusType === "ALL_DONE") {
          throw new ApiError(400, -2011, "Unknown order sent.");
        }
        const now = ctx.state.clock.now();
        a.cancelList(list, now);
        return json(listBody(list, (o) => cancelBody(o, null, now)));
      },
    ),
    signed(
      "GET",
      `${p}/orderList`,
      "USER_DATA",
      () => 4,
      (ctx, a) => {
        const list = lookupList(allParams(ctx), a, "origClientOrderId");
        if (list === undefined) throw new ApiError(400, -2013, "Order list does not exist.");
        return json(listBody(list));
      },
    ),
    signed(
      "GET",
      `${p}/openOrderList`,
      "USER_DATA",
      () => 6,
      (_ctx, a) => json(a.lists.filter((l) => l.listStatusType !== "ALL_DONE").map((l) => listBody(l))),
    ),
    signed(
      "GET",
      `${p}/allOrderList`,
      "USER_DATA",
      () => 20,
      (ctx, a) => {
        const q = allParams(ctx);
        const fromId = intParam(q, "fromId");
        const start = intParam(q, "startTime");
        const end = intParam(q, "endTime");
        const list = a.lists.filter((l) => {
          const time = l.orders[0]?.time ?? 0;
          return (
            (fromId === undefined || l.orderListId >= fromId) &&
            (start === undefined || time >= start) &&
            (end === undefined || time <= end)
          );
        });
        const limit = limitParam(q);
        return json(
          (fromId === undefined ? list.slice(-limit) : list.slice(0, limit)).map((l) => listBody(l)),
        );
      },
    ),
  ];
}
