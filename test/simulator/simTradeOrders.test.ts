import ccxt from "ccxt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Simulator, startSimulator } from "../../src/simulator/index.js";
import { SAMPLE } from "../helpers/paths.js";
import { candleAt, MIN, r8, signedRequest, simTrader } from "../helpers/simTrader.js";

/**
 * Stop orders, LIMIT_MAKER and partial fills against the simulator, with the real ccxt binance
 * client: trigger and fill prices come from the stored candles (including a gap through the
 * stop), balances and locks follow every fill, and resting orders fill over several candles
 * at most `participation` x volume per candle.
 */

const KEY = "orders-key";
const SECRET = "orders-secret-7Hd";
/** Mid-candle: 2023-03-15 12:00:30 UTC. */
const T0 = Date.UTC(2023, 2, 15, 12, 0, 30);
const M12 = (m: number) => Date.UTC(2023, 2, 15, 12, m);

let sim: Simulator;
let thin: Simulator;

beforeAll(async () => {
  sim = await startSimulator({
    archive: SAMPLE,
    start: T0,
    speed: 0,
    preload: true,
    accounts: [
      { apiKey: KEY, apiSecret: SECRET, balances: { USDT: 10_000, BTC: 1 } },
      { apiKey: "maker-key", apiSecret: "maker-secret", balances: { USDT: 1000 } },
    ],
  });
  // A market where a resting order may take only 0.1% of each candle's volume.
  thin = await startSimulator({
    archive: SAMPLE,
    start: T0,
    speed: 0,
    preload: true,
    participation: 0.001,
    accounts: [
      { apiKey: KEY, apiSecret: SECRET, balances: { USDT: 100_000 } },
      { apiKey: "tif-key", apiSecret: "tif-secret", balances: { USDT: 200_000 } },
    ],
  });
});
afterAll(async () => {
  await sim?.close();
  await thin?.close();
});

describe("stop orders", () => {
  it("STOP_LOSS, TAKE_PROFIT and STOP_LOSS_LIMIT trigger on a closed candle's range, at the stop or the gapped open", async () => {
    const ex = simTrader(sim, KEY, SECRET);
    await ex.loadMarkets();
    const c1 = candleAt(sim, M12(1));
    const c2 = candleAt(sim, M12(2));
    const market = candleAt(sim, M12(0)).o;
    // The data this test relies on: candle 12:01 opened below 24716 (a gap through the stop),
    // reached 24780 and 24700; candle 12:02 opened below 24800 and reached it.
    expect([market, c1.o, c1.h, c1.l, c2.o, c2.h]).toEqual([
      24753.27, 24715, 24786.97, 24692.12, 24779.99, 24829.59,
    ]);

    const sl = await ex.createOrder("BTC/USDT", "STOP_LOSS", "sell", 0.01, undefined, {
      stopPrice: 24716,
      clientOrderId: "sl-gap",
    });
    // ccxt unifies STOP_LOSS as a market order with a trigger price.
    expect(sl).toMatchObject({ status: "open", type: "market", triggerPrice: 24716, filled: 0 });
    expect(sl.info).toMatchObject({ type: "STOP_LOSS", stopPrice: "24716.00000000", orderListId: -1 });
    const tp = await ex.createOrder("BTC/USDT", "TAKE_PROFIT", "sell", 0.01, undefined, {
      stopPrice: 24780,
      clientOrderId: "tp",
    });
    const sllBuy = await ex.createOrder("BTC/USDT", "STOP_LOSS_LIMIT", "buy", 0.01, 24810, {
      stopPrice: 24800,
      timeInForce: "GTC",
      clientOrderId: "sll-buy",
    });
    const sllSell = await ex.createOrder("BTC/USDT", "STOP_LOSS_LIMIT", "sell", 0.01, 24705, {
      stopPrice: 24700,
      timeInForce: "GTC",
      clientOrderId: "sll-sell",
    });
    let bal = await ex.fetchBalance();
    expect(bal.BTC).toEqual({ free: 0.97, used: 0.03, total: 1 });
    expect(bal.USDT).toEqual({ free: r8(10_000 - 248.1), used: 248.1, total: 10_000 });
    const before = await ex.fetchOrder(sllBuy.id as string, "BTC/USDT");
    expect(before.info).toMatchObject({
      status: "NEW",
      isWorking: false,
      workingTime: -1,
      stopPrice: "24800.00000000",
    });

    sim.clock.set(M12(2)); // candle 12:01 has closed
    const end1 = M12(1) + MIN - 1;
    const trades1 = await ex.fetchMyTrades("BTC/USDT");
    expect(trades1.map((t) => [t.order, t.side, t.price, t.amount, t.takerOrMaker, t.timestamp])).toEqual([
      [sl.id, "sell", c1.o, 0.01, "taker", end1],
      [tp.id, "sell", 24780, 0.01, "taker", end1],
    ]);
    const triggered = await ex.fetchOrder(sllSell.id as string, "BTC/USDT");
    expect(triggered).toMatchObject({ status: "open", filled: 0 });
    expect(triggered.info).toMatchObject({ isWorking: true, workingTime: end1 });
    expect((await ex.fetchOrder(sllBuy.id as string, "BTC/USDT")).info).toMatchObject({ isWorking: false });

    sim.clock.set(M12(3)); // candle 12:02 has closed
    const end2 = M12(2) + MIN - 1;
    const trades2 = (await ex.fetchMyTrades("BTC/USDT")).slice(2);
    // The buy stop-limit triggers at 24800 and its 24810 limit takes at the trigger price; the
    // sell stop-limit rests at 24705 after its trigger and fills as maker on the next candle.
    expect(trades2.map((t) => [t.order, t.side, t.price, t.amount, t.takerOrMaker, t.timestamp])).toEqual([
      [sllBuy.id, "buy", 24800, 0.01, "taker", end2],
      [sllSell.id, "sell", 24705, 0.01, "maker", end2],
    ]);
    bal = await ex.fetchBalance();
    const sold = [c1.o, 24780, 24705].map((p) => r8(p * 0.01 - r8(p * 0.01 * 0.001)));
    const usdt = r8(10_000 - 248 + sold.reduce((a, b) => a + b, 0));
    expect(bal.USDT?.used).toBe(0);
    expect(bal.USDT?.free).toBeCloseTo(usdt, 8);
    expect(bal.BTC).toEqual({
      free: r8(1 - 0.03 + 0.01 - 0.00001),
      used: 0,
      total: r8(1 - 0.03 + 0.01 - 0.00001),
    });
    expect(await ex.fetchOpenOrders("BTC/USDT")).toEqual([]);
  });

  it("a stop that would trigger at once, a marketable LIMIT_MAKER, and the filters of each type are refused as Binance does", async () => {
    const ex = simTrader(sim, KEY, SECRET);
    await expect(
      ex.createOrder("BTC/USDT", "STOP_LOSS", "sell", 0.01, undefined, { stopPrice: 30_000 }),
    ).rejects.toThrow(ccxt.OrderImmediatelyFillable);
    await expect(
      ex.createOrder("BTC/USDT", "TAKE_PROFIT", "sell", 0.01, undefined, { stopPrice: 20_000 }),
    ).rejects.toThrow("binance Order would trigger immediately.");
    await expect(ex.createOrder("BTC/USDT", "LIMIT_MAKER", "buy", 0.01, 30_000)).rejects.toThrow(
      "binance Order would immediately match and take.",
    );
    const ts = sim.clock.now();
    const post = (q: string) =>
      signedRequest(sim, "POST", "/api/v3/order", `symbol=BTCUSDT&${q}&timestamp=${ts}`, KEY, SECRET);
    expect((await post("side=SELL&type=STOP_LOSS&quantity=0.01&stopPrice=20000.001")).json).toEqual({
      code: -1013,
      msg: "Filter failure: PRICE_FILTER",
    });
    expect((await post("side=SELL&type=STOP_LOSS&quantity=0.0001&stopPrice=20000")).json).toEqual({
      code: -1013,
      msg: "Filter failure: NOTIONAL",
    });
    expect((await post("side=SELL&type=STOP_LOSS&quantity=200&stopPrice=20000")).json).toEqual({
      code: -1013,
      msg: "Filter failure: MARKET_LOT_SIZE",
    });
    expect(
      (await post("side=SELL&type=STOP_LOSS_LIMIT&quantity=0.01&stopPrice=20000&price=19990")).json,
    ).toEqual({
      code: -1102,
      msg: "Mandatory parameter 'timeInForce' was not sent, was empty/null, or malformed.",
    });
    expect((await post("side=SELL&type=STOP_LOSS&quantity=0.01")).json).toEqual({
      code: -1102,
      msg: "Mandatory parameter 'stopPrice' was not sent, was empty/null, or malformed.",
    });
    expect(
      (await post("side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=20000&stopPrice=19000")).json,
    ).toEqual({ code: -1106, msg: "Parameter 'stopPrice' sent when not required." });
    expect((await post("side=BUY&type=LIMIT_MAKER&timeInForce=GTC&quantity=0.01&price=20000")).json).toEqual({
      code: -1106,
      msg: "Parameter 'timeInForce' sent when not required.",
    });
    expect((await post("side=BUY&type=TRAILING&quantity=0.01")).json).toEqual({
      code: -1116,
      msg: "Invalid orderType.",
    });
    expect(await post("side=BUY&type=STOP_LOSS&quantity=1&stopPrice=990000")).toMatchObject({
      status: 400,
      json: { code: -2010, msg: "Account has insufficient balance for requested action." },
    });
  });

  it("a LIMIT_MAKER below the market rests and fills as maker on the first later candle whose low reaches it", async () => {
    const ex = simTrader(sim, "maker-key", "maker-secret");
    const now = sim.clock.now();
    const order = await ex.createOrder("BTC/USDT", "LIMIT_MAKER", "buy", 0.01, 24_700, {
      clientOrderId: "lm-1",
    });
    expect(order).toMatchObject({ status: "open", type: "limit", postOnly: true, price: 24_700 });
    expect(order.info).toMatchObject({ type: "LIMIT_MAKER", timeInForce: "GTC" });
    let t = Math.ceil(now / MIN) * MIN;
    while (candleAt(sim, t).l > 24_700) t += MIN;
    sim.clock.set(t + MIN);
    const trades = await ex.fetchMyTrades("BTC/USDT");
    expect(trades.map((x) => [x.price, x.amount, x.takerOrMaker, x.timestamp])).toEqual([
      [24_700, 0.01, "maker", t + MIN - 1],
    ]);
    expect((await ex.fetchBalance()).USDT).toEqual({ free: 753, used: 0, total: 753 });
  });
});

describe("partial fills (participation 0.001)", () => {
  it("a large resting buy fills at most 0.1% of each reaching candle's volume, PARTIALLY_FILLED in between, locks shrinking", async () => {
    const ex = simTrader(thin, KEY, SECRET);
    await ex.loadMarkets();
    const qty = 2;
    const price = 24_700;
    const order = await ex.createOrder("BTC/USDT", "limit", "buy", qty, price, { clientOrderId: "big" });
    expect(order).toMatchObject({ status: "open", filled: 0 });
    // The fills the stored candles allow: whole 0.00001 steps of 0.1% of the volume, on
    // candles from 12:01 whose low reaches the price.
    const expected: [number, number][] = [];
    let left = qty;
    let t = M12(1);
    for (; left > 0; t += MIN) {
      const c = candleAt(thin, t);
      if (c.l > price) continue;
      const q = Math.min(left, r8(Math.floor((c.v * 0.001) / 0.00001 + 1e-9) * 0.00001));
      expected.push([q, t + MIN - 1]);
      left = r8(left - q);
    }
    expect(expected.length).toBeGreaterThan(2);
    const [firstQty, firstTime] = expected[0] as [number, number];
    thin.clock.set(firstTime + 1);
    const partial = await ex.fetchOrder(order.id as string, "BTC/USDT");
    expect(partial).toMatchObject({ status: "open", filled: firstQty, remaining: r8(qty - firstQty) });
    expect(partial.info).toMatchObject({ status: "PARTIALLY_FILLED" });
    const mid = await ex.fetchBalance();
    expect(mid.USDT?.used).toBeCloseTo(r8(price * (qty - firstQty)), 8);
    expect(mid.USDT?.free).toBe(100_000 - price * qty);
    expect(mid.BTC?.free).toBe(r8(firstQty - r8(firstQty * 0.001)));

    thin.clock.set(t);
    const done = await ex.fetchOrder(order.id as string, "BTC/USDT");
    expect(done).toMatchObject({ status: "closed", filled: qty, average: price, cost: price * qty });
    const trades = await ex.fetchMyTrades("BTC/USDT");
    expect(trades.map((x) => [x.amount, x.timestamp, x.price, x.takerOrMaker])).toEqual(
      expected.map(([q, time]) => [q, time, price, "maker"]),
    );
    const bal = await ex.fetchBalance();
    expect(bal.USDT).toEqual({ free: 100_000 - price * qty, used: 0, total: 100_000 - price * qty });
    const fees = expected.reduce((a, [q]) => a + r8(q * 0.001), 0);
    expect(bal.BTC?.free).toBeCloseTo(qty - fees, 8);
  });

  it("a MARKET order still fills whole at once, beyond the participation cap", async () => {
    const ex = simTrader(thin, KEY, SECRET);
    const now = thin.clock.now();
    const c = candleAt(thin, Math.floor(now / MIN) * MIN);
    expect(c.v * 0.001).toBeLessThan(1.5);
    const order = await ex.createOrder("BTC/USDT", "market", "buy", 1.5);
    expect(order).toMatchObject({ status: "closed", filled: 1.5, average: c.o });
    expect(order.trades).toHaveLength(1);
  });

  it("triggered stop-limits with IOC fill what the trigger candle allows and expire the rest; FOK fills whole or expires", async () => {
    const ex = simTrader(thin, "tif-key", "tif-secret");
    await ex.loadMarkets();
    const now = thin.clock.now();
    const stop = r8(Math.round((candleAt(thin, Math.floor(now / MIN) * MIN).o + 20) * 100) / 100);
    let t = Math.ceil(now / MIN) * MIN;
    while (candleAt(thin, t).h < stop) t += MIN;
    const c = candleAt(thin, t);
    const at = Math.max(c.o, stop);
    const limit = r8(stop + 50);
    expect(limit).toBeGreaterThanOrEqual(at); // the limit takes at the trigger price
    const cap = r8(Math.floor((c.v * 0.001) / 0.00001 + 1e-9) * 0.00001);
    expect(cap).toBeLessThan(2);
    const place = (qty: number, tif: string) =>
      ex.createOrder("BTC/USDT", "STOP_LOSS_LIMIT", "buy", qty, limit, { stopPrice: stop, timeInForce: tif });
    const ioc = await place(2, "IOC");
    const fokBig = await place(2, "FOK");
    const fokSmall = await place(0.01, "FOK");
    thin.clock.set(t + MIN);
    const get = (o: { id?: string }) => ex.fetchOrder(o.id as string, "BTC/USDT");
    expect(await get(ioc)).toMatchObject({ status: "expired", filled: cap, average: at });
    expect(await get(fokBig)).toMatchObject({ status: "expired", filled: 0 });
    expect(await get(fokSmall)).toMatchObject({ status: "closed", filled: 0.01, average: at });
    const bal = await ex.fetchBalance();
    expect(bal.USDT?.used).toBe(0);
    expect(bal.USDT?.free).toBeCloseTo(200_000 - r8(cap * at) - r8(0.01 * at), 8);
  });
});
