import { createHmac } from "node:crypto";
import ccxt from "ccxt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ccxtBinanceUrls,
  parseFaultSpec,
  type Simulator,
  startSimulator,
} from "../../src/simulator/index.js";
import { SAMPLE } from "../helpers/paths.js";
import { candleAt, MIN, r8, simTrader, WsClient } from "../helpers/simTrader.js";
import { until } from "../helpers/until.js";

/**
 * The user-data stream: listen keys over REST (spot /api/v3/userDataStream, futures
 * /fapi/v1/listenKey), a raw `ws` client on /ws/<key>, and the events the account's orders
 * produce as the virtual clock moves (no REST request in between): executionReport,
 * outboundAccountPosition, listStatus, listenKeyExpired.
 */

const KEY = "stream-key";
const SECRET = "stream-secret-2Vb";
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
      { apiKey: "big-key", apiSecret: "big-secret", balances: { USDT: 50_000 } },
      { apiKey: "oco-key", apiSecret: "oco-secret", balances: { BTC: 1 } },
      { apiKey: "fut-key", apiSecret: "fut-secret", balances: {} },
      { apiKey: "ws-key", apiSecret: "ws-secret", balances: { USDT: 1000 } },
    ],
  });
});
afterAll(async () => {
  await sim?.close();
});

async function keyRequest(method: string, path: string, apiKey: string | null, body = "") {
  const res = await fetch(`${sim.url}${path}`, {
    method,
    headers: {
      ...(apiKey === null ? {} : { "X-MBX-APIKEY": apiKey }),
      "Content-Type": "application/x-www-form-urlencoded",
    },
    ...(body === "" ? {} : { body }),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

async function listenKey(apiKey: string, path = "/api/v3/userDataStream"): Promise<string> {
  const r = await keyRequest("POST", path, apiKey);
  expect(r.status).toBe(200);
  return r.json.listenKey as string;
}

/** Signed REST requests to /api/v3 since `seq`. */
const signedSince = (seq: number) =>
  sim.requests
    .list({ path: "/api/v3/", since: seq })
    .filter((r) => r.params.signature !== undefined || r.path.includes("order"));

const lastSeq = () => sim.requests.list().at(-1)?.seq ?? 0;

describe("listen keys", () => {
  it("POST returns the account's key (the same while valid), PUT keeps it alive, errors as Binance's", async () => {
    const key = await listenKey(KEY);
    expect(key).toMatch(/^[A-Za-z0-9]{60}$/);
    expect(await listenKey(KEY)).toBe(key);
    expect(await listenKey("big-key")).not.toBe(key);
    expect(await keyRequest("PUT", "/api/v3/userDataStream", KEY, `listenKey=${key}`)).toEqual({
      status: 200,
      json: {},
    });
    expect(await keyRequest("PUT", "/api/v3/userDataStream", KEY, "listenKey=nope")).toEqual({
      status: 400,
      json: { code: -1125, msg: "This listenKey does not exist." },
    });
    expect(await keyRequest("PUT", "/api/v3/userDataStream", KEY)).toEqual({
      status: 400,
      json: {
        code: -1102,
        msg: "Mandatory parameter 'listenKey' was not sent, was empty/null, or malformed.",
      },
    });
    expect(await keyRequest("POST", "/api/v3/userDataStream", null)).toEqual({
      status: 401,
      json: { code: -2015, msg: "Invalid API-key, IP, or permissions for action." },
    });
    const rec = sim.requests.list({ path: "/api/v3/userDataStream" });
    expect(rec.map((r) => r.weight)).toEqual(rec.map(() => 2));
  });
});

describe("spot events", () => {
  it("a resting limit: NEW and the locked balance at once, then TRADE and balances when the clock passes the filling candle", async () => {
    const ex = simTrader(sim, KEY, SECRET);
    await ex.loadMarkets();
    const ws = await WsClient.open(`${sim.wsUrl}/ws/${await listenKey(KEY)}`);
    const order = await ex.createOrder("BTC/USDT", "limit", "buy", 0.01, 24_700, { clientOrderId: "u-1" });
    const [placed, locked] = await ws.take(2);
    const id = Number(order.id);
    const common = {
      e: "executionReport",
      s: "BTCUSDT",
      c: "u-1",
      S: "BUY",
      o: "LIMIT",
      f: "GTC",
      q: "0.01000000",
      p: "24700.00000000",
      P: "0.00000000",
      F: "0.00000000",
      g: -1,
      C: "",
      r: "NONE",
      i: id,
      M: false,
      O: T0,
      Q: "0.00000000",
      W: T0,
      V: "EXPIRE_MAKER",
    };
    expect(placed).toEqual({
      ...common,
      E: T0,
      x: "NEW",
      X: "NEW",
      l: "0.00000000",
      z: "0.00000000",
      L: "0.00000000",
      n: "0",
      N: null,
      T: T0,
      t: -1,
      I: placed?.I,
      w: true,
      m: false,
      Z: "0.00000000",
      Y: "0.00000000",
    });
    expect(typeof placed?.I).toBe("number");
    expect(locked).toEqual({
      e: "outboundAccountPosition",
      E: T0,
      u: T0,
      B: [{ a: "USDT", f: "9753.00000000", l: "247.00000000" }],
    });

    // The candle from 12:01 reaches 24700; moving the clock past its close fills the order
    // with no request from the client.
    expect(candleAt(sim, M12(1)).l).toBeLessThanOrEqual(24_700);
    const seq = lastSeq();
    sim.clock.set(M12(2));
    const end = M12(1) + MIN - 1;
    const [trade, balances] = await ws.take(2);
    expect(signedSince(seq)).toEqual([]);
    const [fill] = await ex.fetchMyTrades("BTC/USDT", undefined, undefined, { orderId: order.id });
    expect(trade).toEqual({
      ...common,
      E: end,
      x: "TRADE",
      X: "FILLED",
      l: "0.01000000",
      z: "0.01000000",
      L: "24700.00000000",
      n: "0.00001000",
      N: "BTC",
      T: end,
      t: Number(fill?.id),
      I: (placed?.I as number) + 1,
      w: false,
      m: true,
      Z: "247.00000000",
      Y: "247.00000000",
    });
    expect(balances).toEqual({
      e: "outboundAccountPosition",
      E: end,
      u: end,
      B: [
        { a: "USDT", f: "9753.00000000", l: "0.00000000" },
        { a: "BTC", f: "1.00999000", l: "0.00000000" },
      ],
    });
    ws.close();
  });

  it("a large order fills over several candles: one TRADE (PARTIALLY_FILLED, then FILLED) and one balance update per candle", async () => {
    const ex = simTrader(sim, "big-key", "big-secret");
    const ws = await WsClient.open(`${sim.wsUrl}/ws/${await listenKey("big-key")}`);
    const start = sim.clock.now();
    const order = await ex.createOrder("BTC/USDT", "limit", "buy", 1, 24_700);
    await ws.take(2);
    const fills: [number, number][] = [];
    let left = 1;
    let t = Math.ceil(start / MIN) * MIN;
    for (; left > 0; t += MIN) {
      const c = candleAt(sim, t);
      if (c.l > 24_700) continue;
      const q = Math.min(left, r8(Math.floor((c.v * 0.001) / 0.00001 + 1e-9) * 0.00001));
      fills.push([q, t + MIN - 1]);
      left = r8(left - q);
    }
    expect(fills.length).toBeGreaterThan(1);
    sim.clock.set(t);
    const events = await ws.take(fills.length * 2);
    let done = 0;
    expect(events.map((e) => [e.e, e.x, e.X, e.i, e.l, e.z, e.T ?? e.E])).toEqual(
      fills.flatMap(([q, time], k) => {
        done = r8(done + q);
        return [
          [
            "executionReport",
            "TRADE",
            k === fills.length - 1 ? "FILLED" : "PARTIALLY_FILLED",
            Number(order.id),
            q.toFixed(8),
            done.toFixed(8),
            time,
          ],
          ["outboundAccountPosition", undefined, undefined, undefined, undefined, undefined, time],
        ];
      }),
    );
    // Locked quote shrinks by price x fill on each candle.
    const lockedAfter = events
      .filter((e) => e.e === "outboundAccountPosition")
      .map((e) => (e.B as { a: string; l: string }[])[0]);
    let lock = 24_700;
    expect(lockedAfter).toEqual(
      fills.map(([q], k) => {
        lock = k === fills.length - 1 ? 0 : r8(lock - 24_700 * q);
        return { a: "USDT", f: "25300.00000000", l: lock.toFixed(8) };
      }),
    );
    ws.close();
  });

  it("OCO: two NEW reports and listStatus EXEC_STARTED; on the stop's candle the other leg EXPIRED, the TRADE, listStatus ALL_DONE, the balances", async () => {
    const ex = simTrader(sim, "oco-key", "oco-secret");
    const ws = await WsClient.open(`${sim.wsUrl}/stream?streams=${await listenKey("oco-key")}`);
    const now = sim.clock.now();
    const market = candleAt(sim, Math.floor(now / MIN) * MIN).o;
    // The first candle from now whose low goes at least 20 below the market triggers the stop.
    let t = Math.ceil(now / MIN) * MIN;
    const stop = r8(Math.round((market - 20) * 100) / 100);
    while (candleAt(sim, t).l > stop) t += MIN;
    const c = candleAt(sim, t);
    const at = Math.min(c.o, stop);
    const reply = (await ex.privatePostOrderListOco({
      symbol: "BTCUSDT",
      side: "SELL",
      quantity: "0.1",
      aboveType: "LIMIT_MAKER",
      abovePrice: "30000",
      belowType: "STOP_LOSS",
      belowStopPrice: String(stop),
      listClientOrderId: "list-1",
      aboveClientOrderId: "above-1",
      belowClientOrderId: "below-1",
    })) as { orderListId: number; orders: { orderId: number }[] };
    const [below, above] = reply.orders.map((o) => o.orderId);
    const placed = await ws.take(4);
    const key = (placed[0] as { stream: string }).stream;
    expect(placed.map((m) => m.stream)).toEqual([key, key, key, key]);
    const data = (m: Record<string, unknown>) => m.data as Record<string, unknown>;
    expect(placed.map((m) => [data(m).e, data(m).x, data(m).c, data(m).g, data(m).w])).toEqual([
      ["executionReport", "NEW", "below-1", reply.orderListId, false],
      ["executionReport", "NEW", "above-1", reply.orderListId, true],
      ["listStatus", undefined, "OCO", reply.orderListId, undefined],
      ["outboundAccountPosition", undefined, undefined, undefined, undefined],
    ]);
    expect(data(placed[2] as Record<string, unknown>)).toEqual({
      e: "listStatus",
      E: now,
      s: "BTCUSDT",
      g: reply.orderListId,
      c: "OCO",
      l: "EXEC_STARTED",
      L: "EXECUTING",
      r: "NONE",
      C: "list-1",
      T: now,
      O: [
        { s: "BTCUSDT", i: below, c: "below-1" },
        { s: "BTCUSDT", i: above, c: "above-1" },
      ],
    });
    expect(data(placed[3] as Record<string, unknown>).B).toEqual([
      { a: "BTC", f: "0.90000000", l: "0.10000000" },
    ]);

    sim.clock.set(t + MIN);
    const end = t + MIN - 1;
    const acted = (await ws.take(4)).map(data);
    expect(acted.map((e) => [e.e, e.i, e.x, e.X, e.L, e.l ?? e.L, e.E])).toEqual([
      ["executionReport", above, "EXPIRED", "EXPIRED", "0.00000000", "0.00000000", end],
      ["executionReport", below, "TRADE", "FILLED", at.toFixed(8), "0.10000000", end],
      ["listStatus", undefined, undefined, undefined, "ALL_DONE", "ALL_DONE", end],
      ["outboundAccountPosition", undefined, undefined, undefined, undefined, undefined, end],
    ]);
    expect(acted[1]).toMatchObject({ o: "STOP_LOSS", P: stop.toFixed(8), m: false, w: false, W: end });
    expect(acted[3]?.B).toEqual([
      { a: "BTC", f: "0.90000000", l: "0.00000000" },
      { a: "USDT", f: r8(at * 0.1 - r8(at * 0.1 * 0.001)).toFixed(8), l: "0.00000000" },
    ]);
    // A cancel reports CANCELED with the original client id in C.
    const lim = await ex.createOrder("BTC/USDT", "limit", "sell", 0.01, 40_000, { clientOrderId: "far" });
    await ws.take(2);
    await ex.cancelOrder(lim.id as string, "BTC/USDT");
    const [canceled, freed] = (await ws.take(2)).map(data);
    expect(canceled).toMatchObject({
      e: "executionReport",
      x: "CANCELED",
      X: "CANCELED",
      c: "far",
      C: "far",
      w: false,
    });
    expect(freed).toMatchObject({
      e: "outboundAccountPosition",
      B: [{ a: "BTC", f: "0.90000000", l: "0.00000000" }],
    });
    ws.close();
  });
});

describe("expiry and the futures hook", () => {
  it("a key lapses 60 virtual minutes after its last keepalive: listenKeyExpired (E as a string), socket closed, key unknown", async () => {
    const key = await listenKey("big-key");
    const ws = await WsClient.open(`${sim.wsUrl}/ws/${key}`);
    const from = sim.clock.now();
    sim.clock.set(from + 30 * MIN);
    expect((await keyRequest("PUT", "/api/v3/userDataStream", "big-key", `listenKey=${key}`)).status).toBe(
      200,
    );
    sim.clock.set(from + 89 * MIN); // 59 minutes after the keepalive: still valid
    await new Promise((r) => setTimeout(r, 50));
    expect([ws.closed, ws.messages]).toEqual([false, []]);
    sim.clock.set(from + 91 * MIN);
    await ws.until(() => ws.closed);
    expect(ws.messages).toEqual([{ e: "listenKeyExpired", E: String(from + 90 * MIN), listenKey: key }]);
    expect(await keyRequest("PUT", "/api/v3/userDataStream", "big-key", `listenKey=${key}`)).toEqual({
      status: 400,
      json: { code: -1125, msg: "This listenKey does not exist." },
    });
    expect(await listenKey("big-key")).not.toBe(key);
  });

  it("fapi listen keys: POST/PUT/DELETE /fapi/v1/listenKey, /fstream/ws/<key> gets what a futures account publishes", async () => {
    const key = await listenKey("fut-key", "/fapi/v1/listenKey");
    const spotKey = await listenKey("fut-key");
    expect(spotKey).not.toBe(key);
    expect(await keyRequest("PUT", "/fapi/v1/listenKey", "fut-key")).toEqual({
      status: 200,
      json: { listenKey: key },
    });
    const fut = await WsClient.open(`${sim.wsUrl}/fstream/ws/${key}`);
    const spot = await WsClient.open(`${sim.wsUrl}/ws/${spotKey}`);
    // A spot key on the futures path (or the reverse) is not a user-data stream.
    const wrong = await WsClient.open(`${sim.wsUrl}/fstream/ws/${spotKey}`);
    const update = { e: "ORDER_TRADE_UPDATE", E: sim.clock.now(), o: { s: "ETHUSDT", X: "NEW" } };
    sim.userStreams.publish("fut-key", "um", update);
    sim.userStreams.publish("other-key", "um", { e: "ACCOUNT_UPDATE" });
    expect(await fut.take(1)).toEqual([update]);
    await new Promise((r) => setTimeout(r, 50));
    expect([spot.messages, wrong.messages]).toEqual([[], []]);
    expect(sim.userStreams.stats()).toMatchObject({ sockets: 2 });
    const admin = (await (await fetch(`${sim.url}/admin/state`)).json()) as Record<string, unknown>;
    expect(admin.userStreams).toEqual(sim.userStreams.stats());
    expect(await keyRequest("DELETE", "/fapi/v1/listenKey", "fut-key")).toEqual({ status: 200, json: {} });
    await fut.until(() => fut.closed);
    expect(await keyRequest("PUT", "/fapi/v1/listenKey", "fut-key")).toEqual({
      status: 400,
      json: { code: -1125, msg: "This listenKey does not exist." },
    });
    expect(sim.requests.list({ path: "/fapi/v1/listenKey" }).map((r) => r.weight)).toEqual([1, 1, 1, 1]);
    spot.close();
    wrong.close();
  });
});

describe("a running clock", () => {
  it("fills arrive on the hub's timer while virtual time runs, with no request and no clock call", async () => {
    const ex = simTrader(sim, KEY, SECRET);
    const ws = await WsClient.open(`${sim.wsUrl}/ws/${await listenKey(KEY)}`);
    const now = sim.clock.now();
    const price = r8(Math.round((candleAt(sim, Math.floor(now / MIN) * MIN).o + 30) * 100) / 100);
    let t = Math.ceil(now / MIN) * MIN;
    while (candleAt(sim, t).h < price) t += MIN;
    const order = await ex.createOrder("BTC/USDT", "limit", "sell", 0.01, price);
    await ws.take(2);
    const seq = lastSeq();
    sim.clock.setSpeed(600); // ten virtual minutes per real second
    try {
      const [trade] = await ws.take(2);
      expect(trade).toMatchObject({
        x: "TRADE",
        X: "FILLED",
        i: Number(order.id),
        L: price.toFixed(8),
        T: t + MIN - 1,
      });
    } finally {
      sim.clock.setSpeed(0);
    }
    expect(signedSince(seq)).toEqual([]);
    ws.close();
  });
});

describe("the WebSocket API (ccxt pro's spot user-data stream)", () => {
  it("ccxt pro watchOrders and watchBalance subscribe by signature and see the order placed, then filled on the clock", async () => {
    const ex = new ccxt.pro.binance({
      apiKey: "ws-key",
      secret: "ws-secret",
      enableRateLimit: false,
      options: { fetchMarkets: { types: ["spot"] }, fetchCurrencies: false, fetchMargins: false },
    });
    Object.assign(ex.urls.api as object, ccxtBinanceUrls(sim.url));
    ex.nonce = () => sim.clock.now();
    try {
      // ccxt pro opens plain ws:// URLs only through an http agent it loads on request.
      await ex.loadHttpProxyAgent();
      await ex.loadMarkets();
      const before = sim.userStreams.stats().subscriptions;
      const placedSeen = ex.watchOrders("BTC/USDT");
      await until(() => sim.userStreams.stats().subscriptions > before, 5000, "the ws-api subscription");
      const now = sim.clock.now();
      const price = r8(Math.round((candleAt(sim, Math.floor(now / MIN) * MIN).o - 30) * 100) / 100);
      let t = Math.ceil(now / MIN) * MIN;
      while (candleAt(sim, t).l > price) t += MIN;
      const order = await ex.createOrder("BTC/USDT", "limit", "buy", 0.01, price, { clientOrderId: "pro-1" });
      const [seen] = await placedSeen;
      expect(seen).toMatchObject({
        id: order.id,
        clientOrderId: "pro-1",
        status: "open",
        price,
        amount: 0.01,
      });
      const filledSeen = ex.watchOrders("BTC/USDT");
      const balanceSeen = ex.watchBalance();
      sim.clock.set(t + MIN);
      const filled = (await filledSeen).find((o) => o.id === order.id);
      expect(filled).toMatchObject({
        status: "closed",
        filled: 0.01,
        average: price,
        lastTradeTimestamp: t + MIN - 1,
      });
      const bal = await balanceSeen;
      expect(bal.BTC).toMatchObject({ free: 0.00999, used: 0 });
    } finally {
      await ex.close();
    }
  });

  it("a bad signature and an unsupported method are answered with Binance's error shape", async () => {
    const ws = await WsClient.open(`${sim.wsUrl}/ws-api/v3`);
    const ts = sim.clock.now();
    ws.ws.send(
      JSON.stringify({
        id: "a1",
        method: "userDataStream.subscribe.signature",
        params: { apiKey: "ws-key", timestamp: ts, signature: "0".repeat(64) },
      }),
    );
    ws.ws.send(JSON.stringify({ id: 7, method: "order.place", params: {} }));
    const payload = `apiKey=ws-key&timestamp=${ts}`;
    const signature = createHmac("sha256", "ws-secret").update(payload).digest("hex");
    ws.ws.send(
      JSON.stringify({
        id: "a2",
        method: "userDataStream.subscribe.signature",
        params: { apiKey: "ws-key", timestamp: ts, signature },
      }),
    );
    expect(await ws.take(3)).toEqual([
      { id: "a1", status: 400, error: { code: -1022, msg: "Signature for this request is not valid." } },
      { id: 7, status: 400, error: { code: -1020, msg: "This operation is not supported." } },
      { id: "a2", status: 200, result: { subscriptionId: 0 } },
    ]);
    sim.userStreams.publish("ws-key", "spot", { e: "balanceUpdate", E: ts });
    expect(await ws.take(1)).toEqual([{ subscriptionId: 0, event: { e: "balanceUpdate", E: ts } }]);
    // drop-user closes a WebSocket API connection that carries a user-data subscription.
    sim.faults.set(parseFaultSpec("drop-user"));
    sim.userStreams.publish("ws-key", "spot", { e: "balanceUpdate", E: ts + 1 });
    await ws.until(() => ws.closed);
    expect(ws.messages).toEqual([]);
    sim.faults.clear();
  });
});
