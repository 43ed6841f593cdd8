import ccxt from "ccxt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseFaultSpec, type Simulator, startSimulator } from "../../src/simulator/index.js";
import { SAMPLE } from "../helpers/paths.js";
import { signedRequest, simTrader, WsClient } from "../helpers/simTrader.js";
import { until } from "../helpers/until.js";

/**
 * Order faults against the simulator with the real ccxt binance client: a cancel or an OCO
 * accepted and then answered with a 5xx or nothing (the client must look the order up), 429
 * and 418 with Retry-After and Binance's -1003 texts on the order path (nothing placed), and
 * `drop-user` closing every user-data socket once while the listen keys stay valid.
 */

const KEY = "fault-key";
const SECRET = "fault-secret-8Kp";
const T0 = Date.UTC(2023, 2, 15, 12, 0, 30);

let sim: Simulator;

beforeAll(async () => {
  sim = await startSimulator({
    archive: SAMPLE,
    start: T0,
    speed: 0,
    preload: true,
    accounts: [{ apiKey: KEY, apiSecret: SECRET, balances: { USDT: 10_000, BTC: 1 } }],
  });
});
afterAll(async () => {
  await sim?.close();
});

describe("accept then fail, on cancels and OCO lists", () => {
  it("a 503 after a cancel took effect (method=DELETE: the placing POST on the same path is not counted)", async () => {
    const ex = simTrader(sim, KEY, SECRET);
    await ex.loadMarkets();
    sim.faults.set(parseFaultSpec("accept-fail=503,method=DELETE,path=/api/v3/order,nth=1"));
    const order = await ex.createOrder("BTC/USDT", "limit", "buy", 0.01, 20_000, { clientOrderId: "af-1" });
    expect((await ex.fetchBalance()).USDT?.used).toBe(200);
    await expect(ex.cancelOrder(order.id as string, "BTC/USDT")).rejects.toThrow(ccxt.ExchangeNotAvailable);
    expect(await ex.fetchOrder(order.id as string, "BTC/USDT")).toMatchObject({ status: "canceled" });
    expect((await ex.fetchBalance()).USDT).toEqual({ free: 10_000, used: 0, total: 10_000 });
    const rec = sim.requests.list({ path: "/api/v3/order" }).filter((r) => r.faults !== undefined);
    expect(rec.map((r) => [r.method, r.status, r.faults])).toEqual([["DELETE", 503, ["accept-fail 503"]]]);
    expect(sim.faults.list()[0]).toMatchObject({ seen: 1, fired: 1 });
    sim.faults.clear();
  });

  it("a timeout after an OCO list was placed: the list is found by its client id and can be cancelled", async () => {
    const ex = simTrader(sim, KEY, SECRET);
    ex.timeout = 200;
    sim.faults.set([{ kind: "accept-fail", delayMs: 1000, path: "/api/v3/orderList/oco", nth: [1] }]);
    await expect(
      ex.privatePostOrderListOco({
        symbol: "BTCUSDT",
        side: "SELL",
        quantity: "0.01",
        aboveType: "LIMIT_MAKER",
        abovePrice: "30000",
        belowType: "STOP_LOSS",
        belowStopPrice: "20000",
        listClientOrderId: "lost-list",
      }),
    ).rejects.toThrow(ccxt.RequestTimeout);
    ex.timeout = 10_000;
    const list = (await ex.privateGetOrderList({ origClientOrderId: "lost-list" })) as Record<
      string,
      unknown
    >;
    expect(list).toMatchObject({ listClientOrderId: "lost-list", listStatusType: "EXEC_STARTED" });
    expect((await ex.fetchBalance()).BTC?.used).toBe(0.01);
    await ex.privateDeleteOrderList({ symbol: "BTCUSDT", orderListId: list.orderListId });
    expect((await ex.fetchBalance()).BTC?.used).toBe(0);
    // The reset connection is recorded once its hang (1 s) is over.
    await until(
      () => sim.requests.list({ path: "/api/v3/orderList/oco" }).length > 0,
      5000,
      "the OCO record",
    );
    expect(sim.requests.list({ path: "/api/v3/orderList/oco" }).map((r) => [r.status, r.faults])).toEqual([
      [0, ["accept-fail timeout"]],
    ]);
    sim.faults.clear();
  });
});

describe("429 and 418 on the order path", () => {
  it("the order is not placed; Retry-After and Binance's -1003 texts; ccxt raises DDoSProtection", async () => {
    const ex = simTrader(sim, KEY, SECRET);
    sim.faults.set([
      { kind: "status", status: 429, method: "POST", path: "/api/v3/order", nth: [1, 3], retryAfter: 7 },
      { kind: "status", status: 418, method: "POST", path: "/api/v3/order", nth: [2, 4], retryAfter: 120 },
    ]);
    const ts = sim.clock.now();
    const params = `symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=20000&timestamp=${ts}`;
    const limited = await signedRequest(sim, "POST", "/api/v3/order", params, KEY, SECRET);
    expect([limited.status, limited.headers.get("retry-after"), limited.json]).toEqual([
      429,
      "7",
      {
        code: -1003,
        msg: "Too much request weight used; current limit is 6000 request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.",
      },
    ]);
    const banned = await signedRequest(sim, "POST", "/api/v3/order", params, KEY, SECRET);
    expect([banned.status, banned.headers.get("retry-after"), banned.json]).toEqual([
      418,
      "120",
      {
        code: -1003,
        msg: `Way too much request weight used; IP banned until ${ts + 120_000}. Please use WebSocket Streams for live updates to avoid bans.`,
      },
    ]);
    // ccxt maps both statuses to DDoSProtection, with the body in the message.
    await expect(ex.createOrder("BTC/USDT", "limit", "buy", 0.01, 20_000)).rejects.toThrow(
      /^binance 429 Too Many Requests \{"code":-1003,"msg":"Too much request weight used/,
    );
    await expect(ex.createOrder("BTC/USDT", "limit", "buy", 0.01, 20_000)).rejects.toThrow(
      ccxt.DDoSProtection,
    );
    expect(await ex.fetchOpenOrders("BTC/USDT")).toEqual([]);
    expect((await ex.fetchBalance()).USDT?.used).toBe(0);
    sim.faults.clear();
  });
});

describe("drop-user", () => {
  const listenKey = async () => {
    const res = await fetch(`${sim.url}/api/v3/userDataStream`, {
      method: "POST",
      headers: { "X-MBX-APIKEY": KEY },
    });
    return ((await res.json()) as { listenKey: string }).listenKey;
  };

  it("closes every user-data socket once at the scheduled event (which is lost); the key stays valid for a reconnect", async () => {
    const ex = simTrader(sim, KEY, SECRET);
    const key = await listenKey();
    const raw = await WsClient.open(`${sim.wsUrl}/ws/${key}`);
    const combined = await WsClient.open(`${sim.wsUrl}/stream?streams=${key}`);
    const kline = await WsClient.open(`${sim.wsUrl}/ws/btcusdt@kline_1m`);
    sim.faults.set(parseFaultSpec("drop-user,nth=2"));
    const order = await ex.createOrder("BTC/USDT", "limit", "buy", 0.01, 20_000, { clientOrderId: "du-1" });
    await raw.until(() => raw.closed && combined.closed);
    // The first event (NEW) arrived; the second (the balance update) was lost with the sockets.
    expect(raw.messages.map((m) => [m.e, m.x])).toEqual([["executionReport", "NEW"]]);
    expect(combined.messages.map((m) => (m.data as Record<string, unknown>).x)).toEqual(["NEW"]);
    expect(kline.closed).toBe(false);
    const again = await WsClient.open(`${sim.wsUrl}/ws/${key}`);
    await ex.cancelOrder(order.id as string, "BTC/USDT");
    expect((await again.take(2)).map((m) => [m.e, m.x ?? null])).toEqual([
      ["executionReport", "CANCELED"],
      ["outboundAccountPosition", null],
    ]);
    expect(sim.faults.list()[0]).toMatchObject({ seen: 4, fired: 1 });
    again.close();
    kline.close();
  });

  it("without a schedule the rule fires once, on the next user-data event", async () => {
    const ex = simTrader(sim, KEY, SECRET);
    const key = await listenKey();
    sim.faults.set(parseFaultSpec("drop-user"));
    const first = await WsClient.open(`${sim.wsUrl}/ws/${key}`);
    const order = await ex.createOrder("BTC/USDT", "limit", "buy", 0.01, 20_000);
    await first.until(() => first.closed);
    expect(first.messages).toEqual([]);
    const second = await WsClient.open(`${sim.wsUrl}/ws/${key}`);
    await ex.cancelOrder(order.id as string, "BTC/USDT");
    expect((await second.take(2)).map((m) => m.e)).toEqual(["executionReport", "outboundAccountPosition"]);
    expect(sim.faults.list()[0]).toMatchObject({ fired: 1 });
    second.close();
    sim.faults.clear();
  });

  it("parses drop-user and method= in the compact spec", () => {
    expect(parseFaultSpec("drop-user,path=/fstream,nth=1+3")).toEqual([
      { kind: "drop-user", path: "/fstream", nth: [1, 3] },
    ]);
    expect(parseFaultSpec("accept-fail=timeout,method=delete,path=/api/v3/order")).toEqual([
      { kind: "accept-fail", method: "DELETE", path: "/api/v3/order" },
    ]);
    expect(() => parseFaultSpec("503,method=PATCH")).toThrow("invalid fault rule: 0.method: Invalid option");
  });
});
