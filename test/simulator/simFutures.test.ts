import { createHmac } from "node:crypto";
import ccxt, { type Exchange } from "ccxt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ccxtBinanceErrorsByPath,
  ccxtBinanceUrls,
  type Simulator,
  startSimulator,
  VirtualClock,
} from "../../src/simulator/index.js";
import { SAMPLE } from "../helpers/paths.js";

/**
 * USD-M futures trading against the simulator with the real ccxt binanceusdm client (only its
 * URLs and clock source set), on the stored ETHUSDT futures candles: leverage, margin type,
 * market and reduce-only orders, conditional orders (Binance's Algo Service) triggering on the
 * candles, limits resting until a candle crosses, positions and balances with exact fees and
 * realized PnL, Binance's errors as ccxt maps them, and the user-data events.
 */

const MIN = 60_000;
const KEY = "fut-key-1";
const SECRET = "fut-secret-Hq27";
const SYMBOL = "ETH/USDT:USDT";
/** Mid-candle: 2023-03-15 12:00:30 UTC. */
const T0 = Date.UTC(2023, 2, 15, 12, 0, 30);
const TAKER = 0.0005;
const MAKER = 0.0002;

let sim: Simulator;
const events: { key: string; payload: Record<string, unknown> }[] = [];

interface Candle {
  t: number;
  o: number;
  h: number;
  l: number;
  c: number;
}

/** The stored 1m ETHUSDT futures candle opening at t. */
function candle(t: number): Candle {
  const s = sim.data.loaded("um", "ETHUSDT");
  if (s === undefined) throw new Error("ETHUSDT um not loaded");
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

const minute = (t: number) => Math.floor(t / MIN) * MIN;
/** The price a market order takes now: the open of the candle in progress. */
const marketNow = () => candle(minute(sim.clock.now())).o;
const r8 = (x: number) => Math.round(x * 1e8) / 1e8;
const r2 = (x: number) => Math.round(x * 100) / 100;

function trader(apiKey = KEY, secret = SECRET): Exchange {
  const ex = new ccxt.binanceusdm({
    apiKey,
    secret,
    enableRateLimit: false,
    options: { fetchCurrencies: false, fetchMargins: false },
  });
  Object.assign(ex.urls.api as object, ccxtBinanceUrls(sim.url));
  // USD-M error codes map to ccxt's classes as they do against fapi.binance.com.
  ccxtBinanceErrorsByPath(ex, sim.url);
  ex.nonce = () => sim.clock.now();
  return ex;
}

/** A signed request by hand, all parameters in the query. */
async function raw(method: string, path: string, query: string, key = KEY, secret = SECRET) {
  const q = `${query}${query === "" ? "" : "&"}timestamp=${sim.clock.now()}`;
  const signature = createHmac("sha256", secret).update(q).digest("hex");
  const res = await fetch(`${sim.url}${path}?${q}&signature=${signature}`, {
    method,
    headers: { "X-MBX-APIKEY": key },
  });
  return { status: res.status, json: (await res.json()) as unknown };
}

/** Events for a key since a mark, by type. */
function eventsSince(mark: number, key = KEY): Record<string, unknown>[] {
  return events
    .slice(mark)
    .filter((e) => e.key === key)
    .map((e) => e.payload);
}

/** The first candle from `from` (an open time) that reaches `price` from above (falling) or below (rising). */
function firstReach(from: number, price: number, rising: boolean): Candle {
  for (let t = from; t < from + 3 * 24 * 60 * MIN; t += MIN) {
    const c = candle(t);
    if (rising ? c.h >= price : c.l <= price) return c;
  }
  throw new Error("price never reached");
}

/** Expected wallet, tracked through the test from the fills' prices. */
let wallet = 10_000;

beforeAll(async () => {
  sim = await startSimulator({
    archive: SAMPLE,
    start: T0,
    speed: 0,
    preload: true,
    accounts: [
      { apiKey: KEY, apiSecret: SECRET, balances: { USDT: 10_000 } },
      { apiKey: "poor-key", apiSecret: "poor-secret", balances: { USDT: 50 } },
      { apiKey: "iso-key", apiSecret: "iso-secret", balances: { USDT: 2000 } },
      { apiKey: "gap-key", apiSecret: "gap-secret", balances: { USDT: 2000 } },
    ],
    onUserEvent: (key, payload) => events.push({ key, payload }),
  });
});
afterAll(async () => {
  await sim.close();
});

describe("futures account settings", () => {
  it("leverage 1..125 with its bracket's max notional; margin type; one-way position mode only", async () => {
    const ex = trader();
    await ex.loadMarkets();
    const mark = events.length;
    expect(await ex.setLeverage(10, SYMBOL)).toEqual({
      symbol: "ETHUSDT",
      leverage: 10,
      maxNotionalValue: "150000000",
    });
    expect(eventsSince(mark)).toEqual([
      { e: "ACCOUNT_CONFIG_UPDATE", E: T0, T: T0, ac: { s: "ETHUSDT", l: 10 } },
    ]);
    expect((await raw("POST", "/fapi/v1/leverage", "symbol=ETHUSDT&leverage=126")).json).toEqual({
      code: -4028,
      msg: "Leverage 126 is not valid",
    });
    expect(await ex.setMarginMode("isolated", SYMBOL)).toEqual({ code: 200, msg: "success" });
    await expect(ex.setMarginMode("isolated", SYMBOL)).rejects.toThrow(ccxt.MarginModeAlreadySet);
    await expect(ex.setMarginMode("isolated", SYMBOL)).rejects.toThrow(
      '{"code":-4046,"msg":"No need to change margin type."}',
    );
    expect(await ex.setMarginMode("cross", SYMBOL)).toEqual({ code: 200, msg: "success" });
    expect(await ex.fetchPositionMode(SYMBOL)).toMatchObject({ hedged: false });
    await expect(ex.setPositionMode(true, SYMBOL)).rejects.toThrow(ccxt.BadRequest);
    await expect(ex.setPositionMode(false, SYMBOL)).rejects.toThrow(
      '{"code":-4059,"msg":"No need to change position side."}',
    );
    const fee = await ex.fetchTradingFee(SYMBOL);
    expect(fee).toMatchObject({ maker: MAKER, taker: TAKER });
  });
});

describe("positions and balances through a trade's life", () => {
  it("a market long fills at the open of the candle in progress; margin = notional / leverage; taker fee", async () => {
    const ex = trader();
    const mark = events.length;
    const price = marketNow();
    expect(price).toBe(candle(Date.UTC(2023, 2, 15, 12, 0)).o);
    const order = await ex.createOrder(SYMBOL, "market", "buy", 1, undefined, { clientOrderId: "long-1" });
    expect(order).toMatchObject({
      clientOrderId: "long-1",
      status: "closed",
      side: "buy",
      amount: 1,
      filled: 1,
      average: price,
      timestamp: T0,
    });
    const fee = r8(price * TAKER);
    wallet = r8(wallet - fee);
    const [trade] = await ex.fetchMyTrades(SYMBOL);
    expect(trade).toMatchObject({
      order: order.id,
      side: "buy",
      price,
      amount: 1,
      takerOrMaker: "taker",
      fee: { cost: fee, currency: "USDT" },
      timestamp: T0,
    });
    expect(trade?.info.realizedPnl).toBe("0.00000000");
    const positions = await ex.fetchPositions([SYMBOL]);
    expect(positions).toHaveLength(1);
    expect(positions[0]).toMatchObject({
      symbol: SYMBOL,
      side: "long",
      contracts: 1,
      entryPrice: price,
      markPrice: price,
      unrealizedPnl: 0,
      notional: price,
      initialMargin: r8(price / 10),
      marginMode: "cross",
    });
    const bal = await ex.fetchBalance();
    expect(bal.USDT).toEqual({ free: r8(wallet - price / 10), used: r8(price / 10), total: wallet });

    // The user-data events: NEW, the account update, then the fill.
    const ev = eventsSince(mark);
    expect(ev.map((e) => [e.e, (e.o as Record<string, unknown> | undefined)?.x])).toEqual([
      ["ORDER_TRADE_UPDATE", "NEW"],
      ["ACCOUNT_UPDATE", undefined],
      ["ORDER_TRADE_UPDATE", "TRADE"],
    ]);
    expect(ev[1]).toEqual({
      e: "ACCOUNT_UPDATE",
      E: T0,
      T: T0,
      a: {
        m: "ORDER",
        B: [{ a: "USDT", wb: wallet.toFixed(8), cw: wallet.toFixed(8), bc: "0" }],
        P: [
          {
            s: "ETHUSDT",
            pa: "1.000",
            ep: String(price),
            bep: expect.any(String),
            cr: "0.00000000",
            up: "0.00000000",
            mt: "cross",
            iw: "0.00000000",
            ps: "BOTH",
          },
        ],
      },
    });
    expect(ev[2]).toMatchObject({
      e: "ORDER_TRADE_UPDATE",
      E: T0,
      T: T0,
      o: {
        s: "ETHUSDT",
        c: "long-1",
        S: "BUY",
        o: "MARKET",
        f: "GTC",
        q: "1.000",
        p: "0.00",
        ap: String(price),
        x: "TRADE",
        X: "FILLED",
        i: Number(order.id),
        l: "1.000",
        z: "1.000",
        L: price.toFixed(2),
        N: "USDT",
        n: fee.toFixed(8),
        T: T0,
        t: Number(trade?.id),
        m: false,
        R: false,
        ot: "MARKET",
        ps: "BOTH",
        rp: "0.00000000",
      },
    });
  });

  it("five minutes on, the position is valued at the new price: unrealized PnL in the balance's total", async () => {
    const ex = trader();
    sim.clock.set(Date.UTC(2023, 2, 15, 12, 5, 30));
    const entry = candle(Date.UTC(2023, 2, 15, 12, 0)).o;
    const mark = marketNow();
    const upnl = r8(mark - entry);
    expect(upnl).not.toBe(0);
    const [pos] = await ex.fetchPositions([SYMBOL]);
    expect(pos).toMatchObject({ contracts: 1, entryPrice: entry, markPrice: mark, unrealizedPnl: upnl });
    const bal = await ex.fetchBalance();
    expect(bal.USDT).toEqual({
      free: r8(wallet + upnl - mark / 10),
      used: r8(mark / 10),
      total: r8(wallet + upnl),
    });
  });

  it("a reduce-only sell closes part of the long: realized PnL and the fee go to the wallet", async () => {
    const ex = trader();
    const entry = candle(Date.UTC(2023, 2, 15, 12, 0)).o;
    const price = marketNow();
    const order = await ex.createOrder(SYMBOL, "market", "sell", 0.4, undefined, { reduceOnly: true });
    expect(order).toMatchObject({ status: "closed", reduceOnly: true, filled: 0.4, average: price });
    const realized = r8(0.4 * (price - entry));
    const fee = r8(0.4 * price * TAKER);
    wallet = r8(wallet + realized - fee);
    const trades = await ex.fetchMyTrades(SYMBOL, undefined, undefined, { orderId: order.id });
    expect(trades).toHaveLength(1);
    expect(trades[0]).toMatchObject({
      side: "sell",
      price,
      amount: 0.4,
      fee: { cost: fee, currency: "USDT" },
    });
    expect(trades[0]?.info.realizedPnl).toBe(realized.toFixed(8));
    const [pos] = await ex.fetchPositions([SYMBOL]);
    expect(pos).toMatchObject({ contracts: 0.6, entryPrice: entry, side: "long" });
    const bal = await ex.fetchBalance();
    expect(bal.USDT?.total).toBe(r8(wallet + 0.6 * (price - entry)));

    // Reduce-only that would add to the long: refused.
    await expect(
      ex.createOrder(SYMBOL, "market", "buy", 0.1, undefined, { reduceOnly: true }),
    ).rejects.toThrow(ccxt.InvalidOrder);
    await expect(
      ex.createOrder(SYMBOL, "market", "buy", 0.1, undefined, { reduceOnly: true }),
    ).rejects.toThrow('{"code":-2022,"msg":"ReduceOnly Order is rejected."}');
  });

  it("a reduce-only STOP_MARKET (an algo order) triggers on the first closed candle reaching it, and fills at the trigger", async () => {
    const ex = trader();
    const now = sim.clock.now();
    const entry = candle(Date.UTC(2023, 2, 15, 12, 0)).o;
    // Below every low of the next three candles, so it waits; then the first candle reaching it.
    const next = [1, 2, 3].map((k) => candle(minute(now) + k * MIN));
    const trigger = r2(Math.min(...next.map((c) => c.l)) - 0.01);
    const hit = firstReach(minute(now) + 4 * MIN, trigger, false);
    const fill = Math.min(hit.o, trigger);
    const stop = await ex.createOrder(SYMBOL, "market", "sell", 0.6, undefined, {
      stopPrice: trigger,
      reduceOnly: true,
      clientOrderId: "sl-1",
    });
    expect(stop).toMatchObject({ status: "open", triggerPrice: trigger, amount: 0.6, clientOrderId: "sl-1" });
    expect(stop.info).toMatchObject({ algoType: "CONDITIONAL", orderType: "STOP_MARKET", algoStatus: "NEW" });
    const open = await ex.fetchOpenOrders(SYMBOL, undefined, undefined, { trigger: true });
    expect(open.map((o) => o.clientOrderId)).toEqual(["sl-1"]);

    sim.clock.set(hit.t + MIN - 1); // the reaching candle has not closed yet
    expect((await ex.fetchOrder(stop.id as string, SYMBOL, { trigger: true })).status).toBe("open");
    const mark = events.length;
    sim.clock.set(hit.t + MIN); // now it has: the clock move itself settles the order
    const ev = eventsSince(mark);
    expect(ev.map((e) => e.e)).toEqual([
      "ORDER_TRADE_UPDATE",
      "ACCOUNT_UPDATE",
      "ORDER_TRADE_UPDATE",
      "ALGO_UPDATE",
    ]);
    expect(ev[3]).toMatchObject({
      o: { caid: "sl-1", X: "FINISHED", o: "STOP_MARKET", tp: trigger.toFixed(2) },
    });
    expect(ev[2]).toMatchObject({
      T: hit.t + MIN - 1,
      o: {
        c: "sl-1",
        o: "MARKET",
        ot: "STOP_MARKET",
        sp: trigger.toFixed(2),
        X: "FILLED",
        L: fill.toFixed(2),
        R: true,
      },
    });

    const done = await ex.fetchOrder(stop.id as string, SYMBOL, { trigger: true });
    expect(done).toMatchObject({ status: "closed" });
    expect(done.info).toMatchObject({ algoStatus: "FINISHED", actualPrice: fill.toFixed(2) });
    const actual = await ex.fetchOrder(done.info.actualOrderId as string, SYMBOL);
    expect(actual).toMatchObject({ status: "closed", filled: 0.6, average: fill, reduceOnly: true });
    expect(actual.info).toMatchObject({ origType: "STOP_MARKET", stopPrice: trigger.toFixed(2) });
    const realized = r8(0.6 * (fill - entry));
    const fee = r8(0.6 * fill * TAKER);
    wallet = r8(wallet + realized - fee);
    const trades = await ex.fetchMyTrades(SYMBOL, undefined, undefined, { orderId: actual.id });
    expect(trades[0]).toMatchObject({
      price: fill,
      amount: 0.6,
      takerOrMaker: "taker",
      timestamp: hit.t + MIN - 1,
      fee: { cost: fee, currency: "USDT" },
    });
    expect(trades[0]?.info.realizedPnl).toBe(realized.toFixed(8));
    expect(await ex.fetchPositions([SYMBOL])).toEqual([]);
    const bal = await ex.fetchBalance();
    expect(bal.USDT).toEqual({ free: wallet, used: 0, total: wallet });
    expect(await ex.fetchOpenOrders(SYMBOL, undefined, undefined, { trigger: true })).toEqual([]);
  });

  it("a short with a reduce-only TAKE_PROFIT_MARKET below and a STOP_MARKET above: the take-profit fills first; the stop expires when it triggers on a flat position", async () => {
    const ex = trader();
    sim.clock.set(minute(sim.clock.now()) + 30_000);
    const now = sim.clock.now();
    const entry = marketNow();
    await ex.createOrder(SYMBOL, "market", "sell", 0.5, undefined, { clientOrderId: "short-1" });
    wallet = r8(wallet - r8(0.5 * entry * TAKER));
    const [pos] = await ex.fetchPositions([SYMBOL]);
    expect(pos).toMatchObject({ side: "short", contracts: 0.5, entryPrice: entry });

    const next = [1, 2].map((k) => candle(minute(now) + k * MIN));
    const tpTrigger = r2(Math.min(...next.map((c) => c.l)) - 0.01);
    const tpHit = firstReach(minute(now) + 3 * MIN, tpTrigger, false);
    // Above the market and every high up to the take-profit's candle, so it can only trigger after it.
    let highest = entry;
    for (let t = minute(now) + MIN; t <= tpHit.t; t += MIN) highest = Math.max(highest, candle(t).h);
    const slTrigger = r2(highest + 0.01);
    const slHit = firstReach(tpHit.t + MIN, slTrigger, true);
    const tpFill = Math.min(tpHit.o, tpTrigger);
    const tp = await ex.createOrder(SYMBOL, "market", "buy", 0.5, undefined, {
      takeProfitPrice: tpTrigger,
      reduceOnly: true,
    });
    expect(tp.info).toMatchObject({ orderType: "TAKE_PROFIT_MARKET", algoStatus: "NEW" });
    const sl = await ex.createOrder(SYMBOL, "market", "buy", 0.5, undefined, {
      stopPrice: slTrigger,
      reduceOnly: true,
    });
    expect(sl.info).toMatchObject({ orderType: "STOP_MARKET", algoStatus: "NEW" });

    sim.clock.set(tpHit.t + MIN + 30_000);
    const tpDone = await ex.fetchOrder(tp.id as string, SYMBOL, { trigger: true });
    expect(tpDone.info).toMatchObject({ algoStatus: "FINISHED", actualPrice: tpFill.toFixed(2) });
    const realized = r8(0.5 * (entry - tpFill));
    const fee = r8(0.5 * tpFill * TAKER);
    wallet = r8(wallet + realized - fee);
    const trades = await ex.fetchMyTrades(SYMBOL, undefined, undefined, {
      orderId: tpDone.info.actualOrderId,
    });
    expect(trades[0]).toMatchObject({ side: "buy", price: tpFill, amount: 0.5, fee: { cost: fee } });
    expect(trades[0]?.info.realizedPnl).toBe(realized.toFixed(8));
    expect(await ex.fetchPositions([SYMBOL])).toEqual([]);
    expect((await ex.fetchBalance()).USDT).toEqual({ free: wallet, used: 0, total: wallet });
    // The stop waits while the position is flat, and expires when it triggers with nothing to reduce.
    expect((await ex.fetchOrder(sl.id as string, SYMBOL, { trigger: true })).status).toBe("open");
    const tradesBefore = (await ex.fetchMyTrades(SYMBOL)).length;
    sim.clock.set(slHit.t + MIN + 30_000);
    const slDone = await ex.fetchOrder(sl.id as string, SYMBOL, { trigger: true });
    expect(slDone).toMatchObject({ status: "expired" });
    expect(slDone.info).toMatchObject({
      algoStatus: "EXPIRED",
      actualOrderId: "",
      triggerTime: slHit.t + MIN - 1,
    });
    expect(await ex.fetchMyTrades(SYMBOL)).toHaveLength(tradesBefore);
    expect((await ex.fetchBalance()).USDT).toEqual({ free: wallet, used: 0, total: wallet });
    const all = await ex.fetchOrders(SYMBOL, undefined, undefined, { trigger: true });
    expect(all.map((o) => o.info.algoStatus)).toEqual(["FINISHED", "FINISHED", "EXPIRED"]);
    await expect(ex.cancelOrder(sl.id as string, SYMBOL, { trigger: true })).rejects.toThrow(
      ccxt.OrderNotFound,
    );
  });

  it("a stop whose trigger the price has already passed is refused: Order would immediately trigger", async () => {
    const ex = trader();
    await ex.createOrder(SYMBOL, "market", "buy", 0.1);
    const price = marketNow();
    wallet = r8(wallet - r8(0.1 * price * TAKER));
    await expect(
      ex.createOrder(SYMBOL, "market", "sell", 0.1, undefined, {
        stopPrice: r2(price + 1),
        reduceOnly: true,
      }),
    ).rejects.toThrow(ccxt.OrderImmediatelyFillable);
    await ex.createOrder(SYMBOL, "market", "sell", 0.1, undefined, { reduceOnly: true });
    wallet = r8(wallet - r8(0.1 * price * TAKER));
    expect((await ex.fetchBalance()).USDT?.total).toBe(wallet);
  });
});

describe("limit orders", () => {
  it("a limit buy below the market rests, holds open-order margin, and fills as maker when a closed candle crosses it", async () => {
    const ex = trader();
    const now = sim.clock.now();
    const next = [1, 2].map((k) => candle(minute(now) + k * MIN));
    const price = r2(Math.min(...next.map((c) => c.l)) - 0.01);
    const hit = firstReach(minute(now) + 3 * MIN, price, false);
    const mark = events.length;
    const order = await ex.createOrder(SYMBOL, "limit", "buy", 0.2, price, { clientOrderId: "bid-1" });
    expect(order).toMatchObject({ status: "open", price, amount: 0.2, filled: 0 });
    expect(eventsSince(mark)).toEqual([
      expect.objectContaining({
        e: "ORDER_TRADE_UPDATE",
        o: expect.objectContaining({
          c: "bid-1",
          o: "LIMIT",
          x: "NEW",
          X: "NEW",
          p: price.toFixed(2),
          b: r8(price * 0.2).toFixed(8),
        }),
      }),
    ]);
    expect(await ex.fetchOpenOrder(order.id as string, SYMBOL)).toMatchObject({
      id: order.id,
      status: "open",
    });
    const bal = await ex.fetchBalance();
    // Cross, leverage 10: the open order holds price x qty / 10.
    expect(bal.USDT).toEqual({
      free: r8(wallet - (price * 0.2) / 10),
      used: r8((price * 0.2) / 10),
      total: wallet,
    });
    expect((await ex.fetchOpenOrders(SYMBOL)).map((o) => o.clientOrderId)).toEqual(["bid-1"]);

    const beforeFill = events.length;
    sim.clock.set(hit.t + MIN);
    expect(eventsSince(beforeFill).map((e) => [e.e, e.T])).toEqual([
      ["ACCOUNT_UPDATE", hit.t + MIN - 1],
      ["ORDER_TRADE_UPDATE", hit.t + MIN - 1],
    ]);
    expect(eventsSince(beforeFill)[1]).toMatchObject({
      o: { x: "TRADE", X: "FILLED", m: true, L: price.toFixed(2), b: "0.00000000" },
    });
    const filled = await ex.fetchOrder(order.id as string, SYMBOL);
    expect(filled).toMatchObject({ status: "closed", filled: 0.2, average: price });
    await expect(ex.fetchOpenOrder(order.id as string, SYMBOL)).rejects.toThrow(ccxt.OrderNotFound);
    const fee = r8(0.2 * price * MAKER);
    wallet = r8(wallet - fee);
    const trades = await ex.fetchMyTrades(SYMBOL, undefined, undefined, { orderId: order.id });
    expect(trades[0]).toMatchObject({
      takerOrMaker: "maker",
      price,
      timestamp: hit.t + MIN - 1,
      fee: { cost: fee },
    });
    const [pos] = await ex.fetchPositions([SYMBOL]);
    expect(pos).toMatchObject({ side: "long", contracts: 0.2, entryPrice: price });
    // Close it at the market.
    const exit = marketNow();
    await ex.createOrder(SYMBOL, "market", "sell", 0.2, undefined, { reduceOnly: true });
    wallet = r8(wallet + r8(0.2 * (exit - price)) - r8(0.2 * exit * TAKER));
    expect((await ex.fetchBalance()).USDT).toEqual({ free: wallet, used: 0, total: wallet });
  });

  it("post-only that would take is refused; IOC that cannot fill expires; cancel and cancel-all", async () => {
    const ex = trader();
    const price = marketNow();
    await expect(
      ex.createOrder(SYMBOL, "limit", "buy", 0.1, r2(price + 5), { postOnly: true }),
    ).rejects.toThrow(ccxt.OrderNotFillable);
    const ioc = await ex.createOrder(SYMBOL, "limit", "buy", 0.1, r2(price - 50), { timeInForce: "IOC" });
    expect(ioc).toMatchObject({ status: "expired", filled: 0 });
    const a = await ex.createOrder(SYMBOL, "limit", "buy", 0.1, r2(price - 50));
    await ex.createOrder(SYMBOL, "limit", "buy", 0.1, r2(price - 60));
    const mark = events.length;
    const canceled = await ex.cancelOrder(a.id as string, SYMBOL);
    expect(canceled).toMatchObject({ id: a.id, status: "canceled" });
    expect(eventsSince(mark)).toEqual([
      expect.objectContaining({
        o: expect.objectContaining({ i: Number(a.id), x: "CANCELED", X: "CANCELED" }),
      }),
    ]);
    await expect(ex.cancelOrder(a.id as string, SYMBOL)).rejects.toThrow(ccxt.OrderNotFound);
    expect(await ex.fetchOpenOrders(SYMBOL)).toHaveLength(1);
    await ex.cancelAllOrders(SYMBOL);
    expect(await ex.fetchOpenOrders(SYMBOL)).toEqual([]);
    expect((await ex.fetchBalance()).USDT).toEqual({ free: wallet, used: 0, total: wallet });
  });
});

describe("Binance's futures errors through ccxt", () => {
  it("margin, notional, unknown orders, algo-only types", async () => {
    const ex = trader();
    const poor = trader("poor-key", "poor-secret");
    // 50 USDT at the default 20x leverage holds at most 1000 USDT of ETH.
    await expect(poor.createOrder(SYMBOL, "market", "buy", 1)).rejects.toThrow(ccxt.InsufficientFunds);
    await expect(poor.createOrder(SYMBOL, "market", "buy", 1)).rejects.toThrow(
      '{"code":-2019,"msg":"Margin is insufficient."}',
    );
    await expect(ex.createOrder(SYMBOL, "market", "buy", 0.01)).rejects.toThrow(ccxt.InvalidOrder);
    await expect(ex.createOrder(SYMBOL, "market", "buy", 0.01)).rejects.toThrow(
      "Order's notional must be no smaller than 20 (unless you choose reduce only).",
    );
    await expect(
      ex.createOrder(SYMBOL, "market", "sell", 0.5, undefined, { reduceOnly: true }),
    ).rejects.toThrow(ccxt.InvalidOrder);
    await expect(ex.fetchOrder("987654", SYMBOL)).rejects.toThrow(ccxt.OrderNotFound);
    await expect(ex.fetchOrder("987654", SYMBOL)).rejects.toThrow(
      '{"code":-2013,"msg":"Order does not exist."}',
    );
    await expect(ex.cancelOrder("987654", SYMBOL)).rejects.toThrow(
      '{"code":-2011,"msg":"Unknown order sent."}',
    );
    await expect(ex.cancelOrder("987654", SYMBOL, { trigger: true })).rejects.toThrow(ccxt.OrderNotFound);
    expect(
      await raw(
        "POST",
        "/fapi/v1/order",
        "symbol=ETHUSDT&side=SELL&type=STOP_MARKET&quantity=0.1&stopPrice=1000",
      ),
    ).toEqual({
      status: 400,
      json: {
        code: -4120,
        msg: "Order type not supported for this endpoint. Please use the Algo Order API endpoints instead.",
      },
    });
    expect(
      (
        await raw(
          "POST",
          "/fapi/v1/order",
          "symbol=ETHUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.1&price=1600.005",
        )
      ).json,
    ).toEqual({ code: -1111, msg: "Precision is over the maximum defined for this asset." });
    expect(
      (
        await raw(
          "POST",
          "/fapi/v1/order",
          "symbol=ETHUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.0005&price=1600",
        )
      ).json,
    ).toEqual({ code: -1111, msg: "Precision is over the maximum defined for this asset." });
    expect(
      (await raw("POST", "/fapi/v1/order", "symbol=ETHUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.1"))
        .json,
    ).toEqual({
      code: -1102,
      msg: "Mandatory parameter 'price' was not sent, was empty/null, or malformed.",
    });
    expect(
      (await raw("POST", "/fapi/v1/order", "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.1")).json,
    ).toEqual({
      code: -1121,
      msg: "Invalid symbol.",
    });
  });

  it("the order endpoint's RESULT and ACK replies", async () => {
    const price = marketNow();
    const ack = await raw(
      "POST",
      "/fapi/v1/order",
      "symbol=ETHUSDT&side=BUY&type=MARKET&quantity=0.1&newClientOrderId=ack-1",
    );
    expect(ack.json).toMatchObject({
      clientOrderId: "ack-1",
      status: "NEW",
      executedQty: "0.000",
      avgPrice: "0.00",
    });
    const res = await raw(
      "POST",
      "/fapi/v1/order",
      "symbol=ETHUSDT&side=SELL&type=MARKET&quantity=0.1&reduceOnly=true&newOrderRespType=RESULT",
    );
    expect(res.json).toMatchObject({
      status: "FILLED",
      executedQty: "0.100",
      cumQty: "0.100",
      avgPrice: price.toFixed(2),
      cumQuote: r8(0.1 * price).toFixed(8),
      reduceOnly: true,
      positionSide: "BOTH",
      origType: "MARKET",
    });
    wallet = r8(wallet - 2 * r8(0.1 * price * TAKER));
    const bal = await raw("GET", "/fapi/v2/balance", "");
    expect(bal.json).toEqual([
      {
        accountAlias: "SgsR",
        asset: "USDT",
        balance: wallet.toFixed(8),
        crossWalletBalance: wallet.toFixed(8),
        crossUnPnl: "0.00000000",
        availableBalance: wallet.toFixed(8),
        maxWithdrawAmount: wallet.toFixed(8),
        marginAvailable: true,
        updateTime: sim.clock.now(),
      },
    ]);
  });
});

describe("isolated margin", () => {
  it("an isolated position holds entry notional / leverage in its isolated wallet; margin type is locked while it is open", async () => {
    const ex = trader("iso-key", "iso-secret");
    await ex.loadMarkets();
    await ex.setMarginMode("isolated", SYMBOL);
    await ex.setLeverage(5, SYMBOL);
    const price = marketNow();
    await ex.createOrder(SYMBOL, "market", "sell", 1);
    const fee = r8(price * TAKER);
    const iw = r8(price / 5);
    const risk = await raw("GET", "/fapi/v2/positionRisk", "symbol=ETHUSDT", "iso-key", "iso-secret");
    expect(risk.json).toEqual([
      expect.objectContaining({
        symbol: "ETHUSDT",
        positionAmt: "-1.000",
        entryPrice: String(price),
        leverage: "5",
        marginType: "isolated",
        isolatedWallet: iw.toFixed(8),
        isolatedMargin: iw.toFixed(8),
        notional: (-price).toFixed(8),
        positionSide: "BOTH",
      }),
    ]);
    const [pos] = await ex.fetchPositions([SYMBOL]);
    expect(pos).toMatchObject({ marginMode: "isolated", side: "short", collateral: iw, contracts: 1 });
    const bal = await ex.fetchBalance();
    expect(bal.USDT).toEqual({ free: r8(2000 - fee - iw), used: iw, total: r8(2000 - fee) });
    await expect(ex.setMarginMode("cross", SYMBOL)).rejects.toThrow(
      '{"code":-4048,"msg":"Margin type cannot be changed if there exists position."}',
    );
  });
});

describe("gaps", () => {
  it("a stop whose candle opens beyond the trigger fills at that open", async () => {
    const ex = trader("gap-key", "gap-secret");
    await ex.loadMarkets();
    // The first stored candle after T0 that opens at least two ticks above the previous close,
    // the previous candle having opened below that close: a buy stop one tick above the close,
    // placed during the previous candle, is not immediately triggered and is jumped over by the gap.
    let t = minute(T0) + MIN;
    while (!(candle(t + MIN).o - candle(t).c >= 0.015 && candle(t).o < candle(t).c)) t += MIN;
    const before = candle(t);
    const gap = candle(t + MIN);
    const trigger = r2(before.c + 0.01);
    sim.clock.set(t + 30_000);
    const stop = await ex.createOrder(SYMBOL, "market", "buy", 0.1, undefined, { stopPrice: trigger });
    sim.clock.set(t + 2 * MIN);
    const done = await ex.fetchOrder(stop.id as string, SYMBOL, { trigger: true });
    expect(done.info).toMatchObject({ algoStatus: "FINISHED", actualPrice: gap.o.toFixed(2) });
    expect(gap.o).toBeGreaterThan(trigger);
    const [trade] = await ex.fetchMyTrades(SYMBOL);
    expect(trade).toMatchObject({ side: "buy", price: gap.o, amount: 0.1, timestamp: t + 2 * MIN - 1 });
    const [pos] = await ex.fetchPositions([SYMBOL]);
    expect(pos).toMatchObject({ side: "long", contracts: 0.1, entryPrice: gap.o });
  });
});

describe("settling at signed requests", () => {
  it("with the clock running on its own (no set or advance), a stop is settled by the account's next signed request", async () => {
    // A clock driven by a hand-moved real-time source: time passes without clock events.
    let real = 0;
    const clock = new VirtualClock({ start: T0, speed: 1, real: () => real });
    const own: Record<string, unknown>[] = [];
    const running = await startSimulator({
      archive: SAMPLE,
      clock,
      preload: true,
      accounts: [{ apiKey: KEY, apiSecret: SECRET, balances: { USDT: 1000 } }],
      onUserEvent: (_key, payload) => own.push(payload),
    });
    try {
      const ex = new ccxt.binanceusdm({
        apiKey: KEY,
        secret: SECRET,
        enableRateLimit: false,
        options: { fetchCurrencies: false, fetchMargins: false },
      });
      Object.assign(ex.urls.api as object, ccxtBinanceUrls(running.url));
      ex.nonce = () => clock.now();
      await ex.loadMarkets();
      await ex.createOrder(SYMBOL, "market", "buy", 0.1);
      const next = [1, 2].map((k) => candle(minute(T0) + k * MIN));
      const trigger = r2(Math.min(...next.map((c) => c.l)) - 0.01);
      const hit = firstReach(minute(T0) + 3 * MIN, trigger, false);
      const stop = await ex.createOrder(SYMBOL, "market", "sell", 0.1, undefined, {
        stopPrice: trigger,
        reduceOnly: true,
      });
      real += hit.t + MIN - T0 + 1000; // past the reaching candle's close
      expect(own.at(-1)).toMatchObject({ e: "ALGO_UPDATE", o: { X: "NEW" } });
      const done = await ex.fetchOrder(stop.id as string, SYMBOL, { trigger: true });
      expect(done.info).toMatchObject({
        algoStatus: "FINISHED",
        actualPrice: Math.min(hit.o, trigger).toFixed(2),
      });
      expect(own.at(-1)).toMatchObject({ e: "ALGO_UPDATE", T: hit.t + MIN - 1, o: { X: "FINISHED" } });
    } finally {
      await running.close();
    }
  });
});
