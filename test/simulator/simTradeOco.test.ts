import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Simulator, startSimulator } from "../../src/simulator/index.js";
import { SAMPLE } from "../helpers/paths.js";
import { candleAt, MIN, r8, signedRequest, simTrader } from "../helpers/simTrader.js";

/**
 * OCO order lists against the simulator with the real ccxt binance client (its implicit
 * methods for /api/v3/orderList/oco, /api/v3/order/oco and the list queries): reply shapes,
 * one lock for both legs, the other leg EXPIRED when one acts (even by a partial fill),
 * cancelling a leg cancels the list, and Binance's errors.
 */

const KEY = "oco-key";
const SECRET = "oco-secret-4Rt";
const T0 = Date.UTC(2023, 2, 15, 12, 0, 30);
const M12 = (m: number) => Date.UTC(2023, 2, 15, 12, m);

let sim: Simulator;

beforeAll(async () => {
  sim = await startSimulator({
    archive: SAMPLE,
    start: T0,
    speed: 0,
    preload: true,
    participation: 0.001,
    accounts: [
      { apiKey: KEY, apiSecret: SECRET, balances: { USDT: 10_000, BTC: 1 } },
      { apiKey: "part-key", apiSecret: "part-secret", balances: { BTC: 5 } },
      { apiKey: "err-key", apiSecret: "err-secret", balances: { USDT: 100, BTC: 0.001 } },
    ],
  });
});
afterAll(async () => {
  await sim?.close();
});

type Json = Record<string, unknown>;

describe("OCO order lists", () => {
  it("orderList/oco SELL: one lock, the stop leg triggers on the candle reaching its stop, the other leg EXPIRES, the list is ALL_DONE", async () => {
    const ex = simTrader(sim, KEY, SECRET);
    await ex.loadMarkets();
    const c1 = candleAt(sim, M12(1));
    expect([c1.o, c1.l]).toEqual([24715, 24692.12]); // the stop (24700) is reached without a gap
    const reply = (await ex.privatePostOrderListOco({
      symbol: "BTCUSDT",
      side: "SELL",
      quantity: "0.01",
      aboveType: "LIMIT_MAKER",
      abovePrice: "24830",
      belowType: "STOP_LOSS_LIMIT",
      belowStopPrice: "24700",
      belowPrice: "24690",
      belowTimeInForce: "GTC",
      listClientOrderId: "oco-1",
      aboveClientOrderId: "oco-tp",
      belowClientOrderId: "oco-sl",
    })) as Json;
    const listId = reply.orderListId as number;
    const [below, above] = reply.orders as { orderId: number }[];
    expect(reply).toEqual({
      orderListId: listId,
      contingencyType: "OCO",
      listStatusType: "EXEC_STARTED",
      listOrderStatus: "EXECUTING",
      listClientOrderId: "oco-1",
      transactionTime: T0,
      symbol: "BTCUSDT",
      orders: [
        { symbol: "BTCUSDT", orderId: below?.orderId, clientOrderId: "oco-sl" },
        { symbol: "BTCUSDT", orderId: above?.orderId, clientOrderId: "oco-tp" },
      ],
      orderReports: [
        {
          symbol: "BTCUSDT",
          orderId: below?.orderId,
          orderListId: listId,
          clientOrderId: "oco-sl",
          transactTime: T0,
          price: "24690.00000000",
          origQty: "0.01000000",
          executedQty: "0.00000000",
          origQuoteOrderQty: "0.00000000",
          cummulativeQuoteQty: "0.00000000",
          status: "NEW",
          timeInForce: "GTC",
          type: "STOP_LOSS_LIMIT",
          side: "SELL",
          stopPrice: "24700.00000000",
          workingTime: -1,
          selfTradePreventionMode: "EXPIRE_MAKER",
          fills: [],
        },
        {
          symbol: "BTCUSDT",
          orderId: above?.orderId,
          orderListId: listId,
          clientOrderId: "oco-tp",
          transactTime: T0,
          price: "24830.00000000",
          origQty: "0.01000000",
          executedQty: "0.00000000",
          origQuoteOrderQty: "0.00000000",
          cummulativeQuoteQty: "0.00000000",
          status: "NEW",
          timeInForce: "GTC",
          type: "LIMIT_MAKER",
          side: "SELL",
          workingTime: T0,
          selfTradePreventionMode: "EXPIRE_MAKER",
          fills: [],
        },
      ],
    });
    // Both legs hold one 0.01 BTC lock between them.
    expect((await ex.fetchBalance()).BTC).toEqual({ free: 0.99, used: 0.01, total: 1 });
    expect(((await ex.privateGetOpenOrderList()) as Json[]).map((l) => l.orderListId)).toEqual([listId]);

    sim.clock.set(M12(2));
    const end1 = M12(1) + MIN - 1;
    const trades = await ex.fetchMyTrades("BTC/USDT");
    expect(trades.map((t) => [t.order, t.price, t.amount, t.takerOrMaker, t.timestamp])).toEqual([
      [String(below?.orderId), 24700, 0.01, "taker", end1],
    ]);
    const tp = await ex.fetchOrder(String(above?.orderId), "BTC/USDT");
    expect(tp).toMatchObject({ status: "expired", filled: 0 });
    expect(tp.info).toMatchObject({ status: "EXPIRED", orderListId: listId, updateTime: end1 });
    expect(await ex.privateGetOrderList({ orderListId: listId })).toMatchObject({
      orderListId: listId,
      listStatusType: "ALL_DONE",
      listOrderStatus: "ALL_DONE",
      transactionTime: end1,
    });
    expect(await ex.privateGetOpenOrderList()).toEqual([]);
    const bal = await ex.fetchBalance();
    expect(bal.BTC).toEqual({ free: 0.99, used: 0, total: 0.99 });
    expect(bal.USDT).toEqual({ free: r8(10_000 + 247 - 0.247), used: 0, total: r8(10_000 + 247 - 0.247) });
  });

  it("order/oco BUY (LIMIT_MAKER below, STOP_LOSS_LIMIT above) locks the larger leg's quote; cancelling one leg cancels the list", async () => {
    const ex = simTrader(sim, KEY, SECRET);
    const before = await ex.fetchBalance();
    const reply = (await ex.privatePostOrderOco({
      symbol: "BTCUSDT",
      side: "BUY",
      quantity: "0.01",
      price: "24000",
      stopPrice: "25500",
      stopLimitPrice: "25510",
      stopLimitTimeInForce: "GTC",
      listClientOrderId: "oco-2",
      limitClientOrderId: "oco-2-limit",
      stopClientOrderId: "oco-2-stop",
    })) as Json;
    const reports = reply.orderReports as Json[];
    expect(reports.map((r) => [r.clientOrderId, r.type, r.price, r.stopPrice, r.status])).toEqual([
      ["oco-2-stop", "STOP_LOSS_LIMIT", "25510.00000000", "25500.00000000", "NEW"],
      ["oco-2-limit", "LIMIT_MAKER", "24000.00000000", undefined, "NEW"],
    ]);
    const during = await ex.fetchBalance();
    expect(during.USDT?.used).toBe(255.1);
    const limitId = String(reports[1]?.orderId);
    const canceled = await ex.cancelOrder(limitId, "BTC/USDT");
    expect(canceled).toMatchObject({ id: limitId, status: "canceled" });
    expect(canceled.info).toMatchObject({ orderListId: reply.orderListId, origClientOrderId: "oco-2-limit" });
    const stop = await ex.fetchOrder(String(reports[0]?.orderId), "BTC/USDT");
    expect(stop).toMatchObject({ status: "canceled" });
    expect(await ex.privateGetOrderList({ origClientOrderId: "oco-2" })).toMatchObject({
      listStatusType: "ALL_DONE",
      listOrderStatus: "ALL_DONE",
    });
    expect((await ex.fetchBalance()).USDT).toEqual(before.USDT);
  });

  it("DELETE /api/v3/orderList cancels both legs and reports them; a second cancel is an unknown order", async () => {
    const ex = simTrader(sim, KEY, SECRET);
    const reply = (await ex.privatePostOrderListOco({
      symbol: "BTCUSDT",
      side: "SELL",
      quantity: "0.02",
      aboveType: "TAKE_PROFIT",
      aboveStopPrice: "26000",
      belowType: "STOP_LOSS",
      belowStopPrice: "23000",
      listClientOrderId: "oco-3",
    })) as Json;
    expect((await ex.fetchBalance()).BTC?.used).toBe(0.02);
    const now = sim.clock.now();
    const canceled = (await ex.privateDeleteOrderList({
      symbol: "BTCUSDT",
      listClientOrderId: "oco-3",
    })) as Json;
    expect(canceled).toMatchObject({
      orderListId: reply.orderListId,
      contingencyType: "OCO",
      listStatusType: "ALL_DONE",
      listOrderStatus: "ALL_DONE",
      listClientOrderId: "oco-3",
      transactionTime: now,
    });
    expect(
      (canceled.orderReports as Json[]).map((r) => [r.type, r.status, r.stopPrice, r.transactTime]),
    ).toEqual([
      ["STOP_LOSS", "CANCELED", "23000.00000000", now],
      ["TAKE_PROFIT", "CANCELED", "26000.00000000", now],
    ]);
    expect((await ex.fetchBalance()).BTC).toMatchObject({ used: 0 });
    await expect(
      ex.privateDeleteOrderList({ symbol: "BTCUSDT", listClientOrderId: "oco-3" }),
    ).rejects.toThrow('{"code":-2011,"msg":"Unknown order sent."}');
    const all = (await ex.privateGetAllOrderList()) as Json[];
    expect(all.map((l) => [l.listClientOrderId, l.listStatusType])).toEqual([
      ["oco-1", "ALL_DONE"],
      ["oco-2", "ALL_DONE"],
      ["oco-3", "ALL_DONE"],
    ]);
  });

  it("a partial fill of one leg expires the other; the list stays EXECUTING until that leg has filled", async () => {
    const ex = simTrader(sim, "part-key", "part-secret");
    const start = sim.clock.now();
    const market = candleAt(sim, Math.floor(start / MIN) * MIN).o;
    const price = r8(Math.round((market + 5) * 100) / 100);
    const qty = 2;
    const reply = (await ex.privatePostOrderListOco({
      symbol: "BTCUSDT",
      side: "SELL",
      quantity: String(qty),
      aboveType: "LIMIT_MAKER",
      abovePrice: String(price),
      belowType: "STOP_LOSS",
      belowStopPrice: "20000",
    })) as Json;
    const [stopLeg, limitLeg] = (reply.orders as { orderId: number }[]).map((o) => String(o.orderId));
    // The limit's fills from the stored candles: 0.1% of each reaching candle's volume.
    const fills: [number, number][] = [];
    let left = qty;
    // Candles that opened at or after the list's placement count (the clock stands on a candle's open).
    let t = Math.ceil(start / MIN) * MIN;
    for (; left > 0; t += MIN) {
      const c = candleAt(sim, t);
      if (c.h < price) continue;
      const q = Math.min(left, r8(Math.floor((c.v * 0.001) / 0.00001 + 1e-9) * 0.00001));
      fills.push([q, t + MIN - 1]);
      left = r8(left - q);
    }
    expect(fills.length).toBeGreaterThan(1);
    const firstTime = (fills[0] as [number, number])[1];
    sim.clock.set(firstTime + 1);
    expect(await ex.fetchOrder(stopLeg as string, "BTC/USDT")).toMatchObject({ status: "expired" });
    expect((await ex.fetchOrder(limitLeg as string, "BTC/USDT")).info).toMatchObject({
      status: "PARTIALLY_FILLED",
      executedQty: (fills[0] as [number, number])[0].toFixed(8),
    });
    expect(await ex.privateGetOrderList({ orderListId: reply.orderListId })).toMatchObject({
      listStatusType: "EXEC_STARTED",
      listOrderStatus: "EXECUTING",
    });
    expect((await ex.fetchBalance()).BTC?.used).toBeCloseTo(qty - (fills[0] as [number, number])[0], 8);
    sim.clock.set(t);
    const trades = await ex.fetchMyTrades("BTC/USDT");
    expect(trades.map((x) => [x.order, x.amount, x.price, x.takerOrMaker, x.timestamp])).toEqual(
      fills.map(([q, time]) => [limitLeg, q, price, "maker", time]),
    );
    expect(await ex.privateGetOrderList({ orderListId: reply.orderListId })).toMatchObject({
      listStatusType: "ALL_DONE",
      transactionTime: (fills[fills.length - 1] as [number, number])[1],
    });
    expect((await ex.fetchBalance()).BTC).toEqual({ free: 3, used: 0, total: 3 });
  });

  it("Binance's errors: price relation, leg combination, mandatory leg parameters, balance, unknown lists", async () => {
    const ts = sim.clock.now();
    const oco = (q: string, quantity = "0.001") =>
      signedRequest(
        sim,
        "POST",
        "/api/v3/orderList/oco",
        `symbol=BTCUSDT&quantity=${quantity}&${q}&timestamp=${ts}`,
        "err-key",
        "err-secret",
      );
    const relation = { code: -2010, msg: "The relationship of the prices for the orders is not correct." };
    // SELL: the take-profit leg above the market, the stop below it.
    expect(
      (await oco("side=SELL&aboveType=LIMIT_MAKER&abovePrice=20000&belowType=STOP_LOSS&belowStopPrice=19000"))
        .json,
    ).toEqual(relation);
    // BUY: the stop leg must be above.
    expect(
      (await oco("side=BUY&aboveType=LIMIT_MAKER&abovePrice=30000&belowType=STOP_LOSS&belowStopPrice=20000"))
        .json,
    ).toEqual(relation);
    expect(
      (await oco("side=SELL&aboveType=LIMIT_MAKER&abovePrice=30000&belowType=LIMIT_MAKER&belowPrice=20000"))
        .json,
    ).toEqual({ code: -1014, msg: "Unsupported order combination." });
    expect((await oco("side=SELL&aboveType=LIMIT_MAKER&abovePrice=30000&belowType=STOP_LOSS")).json).toEqual({
      code: -1102,
      msg: "Mandatory parameter 'belowStopPrice' was not sent, was empty/null, or malformed.",
    });
    expect((await oco("side=SELL&aboveType=LIMIT&abovePrice=30000&belowType=STOP_LOSS")).json).toEqual({
      code: -1116,
      msg: "Invalid orderType.",
    });
    expect(
      await oco(
        "side=BUY&aboveType=STOP_LOSS&aboveStopPrice=30000&belowType=LIMIT_MAKER&belowPrice=20000",
        "0.01",
      ),
    ).toMatchObject({
      status: 400,
      json: { code: -2010, msg: "Account has insufficient balance for requested action." },
    });
    const ex = simTrader(sim, "err-key", "err-secret");
    await expect(ex.privateGetOrderList({ orderListId: 9999 })).rejects.toThrow('"code":-2013');
    await expect(ex.privateDeleteOrderList({ symbol: "BTCUSDT", orderListId: 9999 })).rejects.toThrow(
      '{"code":-2011,"msg":"Unknown order sent."}',
    );
  });
});

describe("both legs reached in one candle", () => {
  it("the stop-loss leg acts (the cautious reading of the candle) and the take-profit leg expires", async () => {
    const fresh = await startSimulator({
      archive: SAMPLE,
      start: T0,
      speed: 0,
      preload: true,
      accounts: [{ apiKey: KEY, apiSecret: SECRET, balances: { USDT: 1000 } }],
    });
    try {
      const ex = simTrader(fresh, KEY, SECRET);
      const c1 = candleAt(fresh, M12(1));
      // Candle 12:01 reaches both 24780 (above the 24753.27 market) and 24700 (below it), without a gap.
      expect(c1.h >= 24_780 && c1.l <= 24_700 && c1.o < 24_780 && c1.o > 24_700).toBe(true);
      // A BUY: the limit is the below leg (placed, and numbered, first), the stop the above one.
      const reply = (await ex.privatePostOrderListOco({
        symbol: "BTCUSDT",
        side: "BUY",
        quantity: "0.01",
        aboveType: "STOP_LOSS",
        aboveStopPrice: "24780",
        belowType: "LIMIT_MAKER",
        belowPrice: "24700",
      })) as { orders: { orderId: number }[] };
      const [limit, stop] = reply.orders.map((o) => String(o.orderId));
      fresh.clock.set(M12(2));
      const trades = await ex.fetchMyTrades("BTC/USDT");
      expect(trades.map((t) => [t.order, t.price, t.takerOrMaker])).toEqual([[stop, 24_780, "taker"]]);
      expect(await ex.fetchOrder(limit as string, "BTC/USDT")).toMatchObject({ status: "expired" });
    } finally {
      await fresh.close();
    }
  });
});
