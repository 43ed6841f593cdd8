import { createHmac } from "node:crypto";
import ccxt, { type Exchange } from "ccxt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Logger } from "../../src/core/log.js";
import { ccxtBinanceUrls, type Simulator, startSimulator } from "../../src/simulator/index.js";
import { SAMPLE } from "../helpers/paths.js";

/**
 * Spot trading against the simulator with the real ccxt binance client (only its URLs and
 * clock source set): orders, fills on the virtual clock, balances, trades, Binance's errors,
 * and the "accept then fail" fault.
 */

const MIN = 60_000;
const KEY = "test-key-1";
const SECRET = "test-secret-Zq81";
/** Mid-candle: 2023-03-15 12:00:30 UTC. */
const T0 = Date.UTC(2023, 2, 15, 12, 0, 30);

let sim: Simulator;
const logged: string[] = [];
const capture = (obj: object, msg?: string) => logged.push(JSON.stringify(obj) + (msg ?? ""));
const log: Logger = { debug: capture, info: capture, warn: capture, error: capture };

interface Candle {
  t: number;
  o: number;
  h: number;
  l: number;
  c: number;
}

/** The stored 1m candle opening at t. */
function candle(t: number): Candle {
  const s = sim.data.loaded("spot", "BTCUSDT");
  if (s === undefined) throw new Error("BTCUSDT not loaded");
  const b = s.base;
  let i = 0;
  while (i < b.length && (b.time[i] as number) < t) i++;
  if (b.time[i] !== t) throw new Error(`no candle at ${t}`);
  return {
    t,
    o: b.open[i] as number,
    h: b.high[i] as number,
    l: b.low[i] as number,
    c: b.close[i] as number,
  };
}

const r8 = (x: number) => Math.round(x * 1e8) / 1e8;

function trader(apiKey = KEY, secret = SECRET): Exchange {
  const ex = new ccxt.binance({
    apiKey,
    secret,
    enableRateLimit: false,
    options: { fetchMarkets: { types: ["spot"] }, fetchCurrencies: false, fetchMargins: false },
  });
  Object.assign(ex.urls.api as object, ccxtBinanceUrls(sim.url));
  // The exchange's clock is the virtual one; ccxt's timestamps follow it.
  ex.nonce = () => sim.clock.now();
  return ex;
}

/** A signed request by hand: params split between query and body as given. */
async function raw(
  method: string,
  path: string,
  query: string,
  body = "",
  opts: { key?: string | null; secret?: string } = {},
): Promise<{ status: number; json: unknown }> {
  const signature = createHmac("sha256", opts.secret ?? SECRET)
    .update(query + body)
    .digest("hex");
  const signedQuery = body === "" ? `${query}&signature=${signature}` : query;
  const signedBody = body === "" ? "" : `${body}&signature=${signature}`;
  const headers: Record<string, string> = { "Content-Type": "application/x-www-form-urlencoded" };
  if (opts.key !== null) headers["X-MBX-APIKEY"] = opts.key ?? KEY;
  const res = await fetch(`${sim.url}${path}?${signedQuery}`, {
    method,
    headers,
    ...(signedBody === "" ? {} : { body: signedBody }),
  });
  return { status: res.status, json: await res.json() };
}

beforeAll(async () => {
  sim = await startSimulator({
    archive: SAMPLE,
    start: T0,
    speed: 0,
    preload: true,
    log,
    accounts: [
      { apiKey: KEY, apiSecret: SECRET, balances: { USDT: 10_000, BTC: 0 } },
      { apiKey: "poor-key", apiSecret: "poor-secret", balances: { USDT: 3 } },
      { apiKey: "third-key", apiSecret: "third-secret", balances: { USDT: 1000 } },
    ],
  });
});
afterAll(async () => {
  await sim.close();
});

describe("spot trading with ccxt binance", () => {
  it("a market buy fills at the open of the candle in progress and moves balances by price x qty and the fee", async () => {
    const ex = trader();
    await ex.loadMarkets();
    const price = candle(Date.UTC(2023, 2, 15, 12, 0)).o;
    expect(price).toBe(24753.27);
    const order = await ex.createOrder("BTC/USDT", "market", "buy", 0.01, undefined, {
      clientOrderId: "buy-1",
    });
    expect(order).toMatchObject({
      clientOrderId: "buy-1",
      status: "closed",
      side: "buy",
      type: "market",
      amount: 0.01,
      filled: 0.01,
      average: price,
      cost: r8(price * 0.01),
      timestamp: T0,
    });
    expect(order.trades).toHaveLength(1);
    expect(order.trades[0]?.fee).toEqual({ cost: 0.00001, currency: "BTC" });
    const bal = await ex.fetchBalance();
    expect(bal.USDT).toEqual({ free: r8(10_000 - price * 0.01), used: 0, total: r8(10_000 - price * 0.01) });
    expect(bal.BTC).toEqual({ free: 0.00999, used: 0, total: 0.00999 });
    const trades = await ex.fetchMyTrades("BTC/USDT");
    expect(trades).toHaveLength(1);
    expect(trades[0]).toMatchObject({
      order: order.id,
      side: "buy",
      price,
      amount: 0.01,
      cost: r8(price * 0.01),
      takerOrMaker: "taker",
      timestamp: T0,
      fee: { cost: 0.00001, currency: "BTC" },
    });
  });

  it("a market buy by quote amount (quoteOrderQty) buys whole lot steps", async () => {
    const ex = trader();
    const price = candle(Date.UTC(2023, 2, 15, 12, 0)).o;
    const order = await ex.createOrder(
      "BTC/USDT",
      "market",
      "buy",
      undefined as unknown as number,
      undefined,
      {
        quoteOrderQty: 50,
      },
    );
    const qty = Math.floor((50 / price) * 1e5) / 1e5;
    expect(order).toMatchObject({ status: "closed", filled: qty, cost: r8(qty * price) });
    expect(order.info).toMatchObject({ origQuoteOrderQty: "50.00000000" });
  });

  it("a limit sell rests (base locked) and fills at its price only after a later candle's high crosses it", async () => {
    const ex = trader();
    // The lowest price above every high of the next three candles, then the first later candle reaching it.
    const next = [1, 2, 3].map((k) => candle(Date.UTC(2023, 2, 15, 12, k)));
    const price = Math.round((Math.max(...next.map((c) => c.h)) + 0.01) * 100) / 100;
    let t = Date.UTC(2023, 2, 15, 12, 4);
    while (candle(t).h < price) t += MIN;
    const order = await ex.createOrder("BTC/USDT", "limit", "sell", 0.005, price, {
      clientOrderId: "sell-1",
    });
    expect(order).toMatchObject({ status: "open", price, amount: 0.005, filled: 0, clientOrderId: "sell-1" });
    const locked = await ex.fetchBalance();
    expect(locked.BTC).toMatchObject({ used: 0.005 });

    sim.clock.set(t + MIN - 1); // the crossing candle has not closed yet
    expect((await ex.fetchOrder("", "BTC/USDT", { origClientOrderId: "sell-1" })).status).toBe("open");
    const open = await ex.fetchOpenOrders("BTC/USDT");
    expect(open.map((o) => o.clientOrderId)).toEqual(["sell-1"]);

    sim.clock.set(t + MIN); // now it has
    const filled = await ex.fetchOrder("", "BTC/USDT", { origClientOrderId: "sell-1" });
    expect(filled).toMatchObject({
      status: "closed",
      filled: 0.005,
      average: price,
    });
    expect(await ex.fetchOpenOrders("BTC/USDT")).toEqual([]);
    const trades = await ex.fetchMyTrades("BTC/USDT", undefined, undefined, { orderId: filled.id });
    expect(trades).toHaveLength(1);
    expect(trades[0]).toMatchObject({
      side: "sell",
      price,
      amount: 0.005,
      takerOrMaker: "maker",
      timestamp: t + MIN - 1,
      fee: { cost: r8(price * 0.005 * 0.001), currency: "USDT" },
    });
    const bal = await ex.fetchBalance();
    expect(bal.BTC).toMatchObject({ used: 0 });
  });

  it("cancel frees the locked quote; cancelling again is an unknown order", async () => {
    const ex = trader();
    const before = await ex.fetchBalance();
    const order = await ex.createOrder("BTC/USDT", "limit", "buy", 0.001, 10_000, {
      clientOrderId: "low-bid",
    });
    expect(order.status).toBe("open");
    const during = await ex.fetchBalance();
    expect(during.USDT?.used).toBe(10);
    expect(during.USDT?.free).toBe(r8((before.USDT?.free as number) - 10));
    const canceled = await ex.cancelOrder(order.id as string, "BTC/USDT");
    expect(canceled).toMatchObject({ id: order.id, status: "canceled" });
    const after = await ex.fetchBalance();
    expect(after.USDT).toEqual(before.USDT);
    await expect(ex.cancelOrder(order.id as string, "BTC/USDT")).rejects.toThrow(
      '{"code":-2011,"msg":"Unknown order sent."}',
    );
  });
});

describe("time in force, marketable limits, order history, faults on signed routes", () => {
  it("IOC that cannot fill expires; a marketable limit fills at once at the current price as taker; allOrders lists both", async () => {
    const ex = trader("third-key", "third-secret");
    const now = sim.clock.now();
    const minute = Math.floor(now / MIN) * MIN;
    const market = candle(minute).o;
    const ioc = await ex.createOrder("BTC/USDT", "limit", "buy", 0.001, 10_000, undefined);
    expect(ioc.status).toBe("open"); // GTC by default
    await ex.cancelOrder(ioc.id as string, "BTC/USDT");
    const expired = await ex.createOrder("BTC/USDT", "limit", "buy", 0.001, 10_000, { timeInForce: "IOC" });
    expect(expired).toMatchObject({ status: "expired", filled: 0 });
    const taker = await ex.createOrder("BTC/USDT", "limit", "buy", 0.001, 30_000, { clientOrderId: "cross" });
    expect(taker).toMatchObject({
      status: "closed",
      price: 30_000,
      average: market,
      cost: r8(market * 0.001),
    });
    const trades = await ex.fetchMyTrades("BTC/USDT");
    expect(trades.map((t) => [t.takerOrMaker, t.price, t.timestamp])).toEqual([["taker", market, now]]);
    const all = await ex.fetchOrders("BTC/USDT");
    expect(all.map((o) => o.status)).toEqual(["canceled", "expired", "closed"]);
    const bal = await ex.fetchBalance();
    expect(bal.USDT).toEqual({ free: r8(1000 - market * 0.001), used: 0, total: r8(1000 - market * 0.001) });
    expect(bal.BTC?.free).toBe(0.000999);
  });

  it("the existing faults apply to the signed routes", async () => {
    const ex = trader("third-key", "third-secret");
    sim.faults.set([{ kind: "status", status: 429, path: "/api/v3/account", nth: [1] }]);
    await expect(ex.fetchBalance()).rejects.toThrow(ccxt.DDoSProtection);
    expect((await ex.fetchBalance()).USDT?.used).toBe(0);
    sim.faults.clear();
  });
});

describe("Binance's errors", () => {
  it("bad signature, stale timestamp, unknown key, missing key", async () => {
    await expect(trader(KEY, "wrong-secret").fetchBalance()).rejects.toThrow(
      '{"code":-1022,"msg":"Signature for this request is not valid."}',
    );
    const stale = trader();
    stale.nonce = () => sim.clock.now() - 10_001; // ccxt sends recvWindow=10000
    await expect(stale.fetchBalance()).rejects.toThrow(
      '{"code":-1021,"msg":"Timestamp for this request is outside of the recvWindow."}',
    );
    const ahead = trader();
    ahead.nonce = () => sim.clock.now() + 1000;
    await expect(ahead.fetchBalance()).rejects.toThrow('"code":-1021');
    await expect(trader("no-such-key").fetchBalance()).rejects.toThrow(
      '{"code":-2014,"msg":"API-key format invalid."}',
    );
    const ts = sim.clock.now();
    expect(await raw("GET", "/api/v3/account", `timestamp=${ts}`, "", { key: null })).toEqual({
      status: 401,
      json: { code: -2015, msg: "Invalid API-key, IP, or permissions for action." },
    });
    // Default recvWindow 5000.
    expect((await raw("GET", "/api/v3/account", `timestamp=${ts - 5001}`)).json).toEqual({
      code: -1021,
      msg: "Timestamp for this request is outside of the recvWindow.",
    });
    expect((await raw("GET", "/api/v3/account", `timestamp=${ts - 5000}`)).status).toBe(200);
    expect((await raw("GET", "/api/v3/account", "recvWindow=5000")).json).toEqual({
      code: -1102,
      msg: "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.",
    });
  });

  it("the signature covers the query string followed by the body", async () => {
    const ts = sim.clock.now();
    const r = await raw(
      "POST",
      "/api/v3/order/test",
      "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC",
      `quantity=0.001&price=20000&timestamp=${ts}`,
    );
    expect(r).toEqual({ status: 200, json: {} });
  });

  it("filter failures, insufficient balance, duplicate client id, unknown order", async () => {
    const ex = trader();
    await expect(ex.createOrder("BTC/USDT", "limit", "buy", 0.0001, 20_000)).rejects.toThrow(
      '{"code":-1013,"msg":"Filter failure: NOTIONAL"}',
    );
    const ts = sim.clock.now();
    const order = (q: string) => raw("POST", "/api/v3/order", "", `symbol=BTCUSDT&${q}&timestamp=${ts}`);
    expect((await order("side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=20000.005")).json).toEqual({
      code: -1013,
      msg: "Filter failure: PRICE_FILTER",
    });
    expect((await order("side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.0010001&price=20000")).json).toEqual({
      code: -1013,
      msg: "Filter failure: LOT_SIZE",
    });
    expect((await order("side=BUY&type=LIMIT&timeInForce=GTC&price=20000")).json).toEqual({
      code: -1102,
      msg: "Mandatory parameter 'quantity' was not sent, was empty/null, or malformed.",
    });
    await expect(ex.createOrder("BTC/USDT", "market", "buy", 1)).rejects.toThrow(
      // ccxt maps this text to InsufficientFunds and keeps only the text
      "binance Account has insufficient balance for requested action.",
    );
    await expect(
      trader("poor-key", "poor-secret").createOrder("BTC/USDT", "limit", "buy", 0.001, 20_000),
    ).rejects.toThrow("binance Account has insufficient balance for requested action.");
    expect(await order("side=BUY&type=MARKET&quantity=1")).toEqual({
      status: 400,
      json: { code: -2010, msg: "Account has insufficient balance for requested action." },
    });
    await ex.createOrder("BTC/USDT", "limit", "buy", 0.001, 10_000, { clientOrderId: "dup" });
    await expect(
      ex.createOrder("BTC/USDT", "limit", "buy", 0.001, 10_000, { clientOrderId: "dup" }),
    ).rejects.toThrow('{"code":-2010,"msg":"Duplicate order sent."}');
    await ex.cancelOrder("", "BTC/USDT", { origClientOrderId: "dup" });
    await expect(ex.fetchOrder("987654", "BTC/USDT")).rejects.toThrow(
      '{"code":-2013,"msg":"Order does not exist."}',
    );
    await expect(ex.cancelOrder("987654", "BTC/USDT")).rejects.toThrow(
      '{"code":-2011,"msg":"Unknown order sent."}',
    );
  });
});

describe("accept then fail", () => {
  it("a 503 after the order is accepted: fetchOrder by client id finds it", async () => {
    const ex = trader();
    sim.faults.add([{ kind: "accept-fail", status: 503, path: "/api/v3/order", nth: [1] }]);
    await expect(
      ex.createOrder("BTC/USDT", "limit", "buy", 0.001, 10_000, { clientOrderId: "lost-503" }),
    ).rejects.toThrow(ccxt.ExchangeNotAvailable);
    const found = await ex.fetchOrder("", "BTC/USDT", { origClientOrderId: "lost-503" });
    expect(found).toMatchObject({ clientOrderId: "lost-503", status: "open", price: 10_000, amount: 0.001 });
    const rec = sim.requests.list({ path: "/api/v3/order" }).filter((r) => r.faults !== undefined);
    expect(rec.map((r) => [r.method, r.status, r.faults])).toEqual([["POST", 503, ["accept-fail 503"]]]);
    await ex.cancelOrder(found.id as string, "BTC/USDT");
    sim.faults.clear();
  });

  it("a timeout after the order is accepted: the order exists and has filled", async () => {
    const ex = trader();
    ex.timeout = 200;
    sim.faults.add([{ kind: "accept-fail", delayMs: 1000, path: "/api/v3/order", nth: [1] }]);
    await expect(
      ex.createOrder("BTC/USDT", "market", "buy", 0.001, undefined, { clientOrderId: "lost-timeout" }),
    ).rejects.toThrow(ccxt.RequestTimeout);
    ex.timeout = 10_000;
    const found = await ex.fetchOrder("", "BTC/USDT", { origClientOrderId: "lost-timeout" });
    expect(found).toMatchObject({ clientOrderId: "lost-timeout", status: "closed", filled: 0.001 });
    sim.faults.clear();
  });
});

describe("secrets", () => {
  it("the secret is in no request record and no log line", () => {
    expect(sim.requests.list({ path: "/api/v3/" }).length).toBeGreaterThan(20);
    expect(JSON.stringify(sim.requests.list())).not.toContain(SECRET);
    expect(logged.length).toBeGreaterThan(0);
    expect(logged.join("\n")).not.toContain(SECRET);
  });
});
