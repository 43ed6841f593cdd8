import ccxt from "ccxt";
import { afterEach, beforeEach, expect, test } from "vitest";
import type { Logger } from "../../src/core/log.js";
import type { ExecutionEvent, OrderIntent } from "../../src/core/trading.js";
import { BinanceExecution } from "../../src/exchange/ccxt/execution.js";
import { ccxtBinanceUrls, type Simulator, startSimulator } from "../../src/simulator/index.js";
import { SAMPLE } from "../helpers/paths.js";
import { until } from "../helpers/until.js";

/**
 * The exchange adapter on spot against `itb sim`: a stop-loss and take-profit of one group go
 * out as one OCO order list, which the exchange works on its own (the adapter only polls, or
 * hears of it on the user-data stream); a stream dropped by the exchange is reopened.
 */

const MIN = 60_000;
const T0 = Date.UTC(2023, 2, 15, 12, 0, 30);
const KEY = "spot-key";
const SECRET = "spot-secret-Vb8n";

let sim: Simulator;
let port: BinanceExecution;
let events: ExecutionEvent[];
let lines: string[];

beforeEach(async () => {
  sim = await startSimulator({
    archive: SAMPLE,
    start: T0,
    speed: 0,
    preload: true,
    accounts: [{ apiKey: KEY, apiSecret: SECRET, balances: { USDT: 10_000 } }],
  });
  lines = [];
  const put = (o: object, m?: string) => lines.push(`${JSON.stringify(o)} ${m ?? ""}`);
  const log: Logger = { debug: put, info: put, warn: put, error: put };
  const ex = new ccxt.binance({ apiKey: KEY, secret: SECRET, enableRateLimit: false });
  Object.assign(ex.urls.api as object, ccxtBinanceUrls(sim.url));
  port = new BinanceExecution({ client: ex, market: "spot", log });
  await port.start(["BTCUSDT"]);
  events = [];
  port.subscribe((e) => events.push(e));
});
afterEach(async () => {
  await port.close();
  await sim.close();
});

function base() {
  const s = sim.data.loaded("spot", "BTCUSDT");
  if (s === undefined) throw new Error("BTCUSDT not loaded");
  return s.base;
}

/** The last closed candle's close, handed to the adapter as the service would. */
async function lastClose(): Promise<number> {
  const b = base();
  let i = 0;
  while ((b.time[i] as number) + 2 * MIN <= sim.clock.now()) i++;
  await port.onCandle("BTCUSDT", {
    time: b.time[i] as number,
    open: b.open[i] as number,
    high: b.high[i] as number,
    low: b.low[i] as number,
    close: b.close[i] as number,
    volume: b.volume[i] as number,
  });
  return b.close[i] as number;
}

const intent = (
  o: Partial<OrderIntent> & Pick<OrderIntent, "clientOrderId" | "side" | "type">,
): OrderIntent => ({
  symbol: "BTCUSDT",
  reduceOnly: false,
  purpose: "entry",
  decidedAt: T0,
  ...o,
});

async function openLists(): Promise<{ listClientOrderId: string; orders: { clientOrderId: string }[] }[]> {
  const ex = new ccxt.binance({ apiKey: KEY, secret: SECRET, enableRateLimit: false });
  Object.assign(ex.urls.api as object, ccxtBinanceUrls(sim.url));
  ex.nonce = () => sim.clock.now();
  const api = ex as unknown as { privateGetOpenOrderList: (p: object) => Promise<unknown> };
  const rows = (await api.privateGetOpenOrderList({})) as {
    listClientOrderId: string;
    orders: { clientOrderId: string }[];
  }[];
  await ex.close();
  return rows;
}

async function protect(close: number, stopAt: number, takeAt: number): Promise<number> {
  await port.submit(intent({ clientOrderId: "s-en", side: "buy", type: "market", quoteQuantity: 2000 }));
  const qty = (await port.position("BTCUSDT")).quantity;
  const common = { side: "sell" as const, quantity: qty, reduceOnly: true, ocoGroup: "s-en" };
  await port.submit(
    intent({ ...common, clientOrderId: "s-sl", type: "stop", price: close * stopAt, purpose: "stop_loss" }),
  );
  await port.submit(
    intent({
      ...common,
      clientOrderId: "s-tp",
      type: "limit",
      price: close * takeAt,
      purpose: "take_profit",
    }),
  );
  return qty;
}

test("stop-loss and take-profit go out as one OCO list; the exchange fills one leg and expires the other", async () => {
  const close = await lastClose();
  await protect(close, 0.995, 1.004);
  expect(lines.some((l) => l.includes("placed as one OCO list"))).toBe(true);
  const lists = await openLists();
  expect(lists).toHaveLength(1);
  expect(lists[0]?.orders.map((o) => o.clientOrderId).sort()).toEqual(["s-sl", "s-tp"]);
  // the first candle after placement that reaches either leg decides (the stop first, as the exchange reads a candle)
  const b = base();
  const stop = Math.round(close * 0.995 * 100) / 100;
  const take = Math.round(close * 1.004 * 100) / 100;
  let k = 0;
  while (
    (b.time[k] as number) < sim.clock.now() ||
    ((b.low[k] as number) > stop && (b.high[k] as number) < take)
  ) {
    k++;
  }
  const stopped = (b.low[k] as number) <= stop;
  sim.clock.set((b.time[k] as number) + MIN + 30_000);
  await port.sync("BTCUSDT");
  const winner = stopped ? "s-sl" : "s-tp";
  const loser = stopped ? "s-tp" : "s-sl";
  const fills = events.filter((e) => e.type === "fill" && e.order.clientOrderId === winner);
  expect(fills.length).toBeGreaterThan(0);
  const f = fills.at(-1);
  expect(f?.type === "fill" && f.fill.final).toBe(true);
  if (f?.type === "fill") {
    expect(f.fill.price).toBe(stopped ? Math.min(stop, b.open[k] as number) : take);
  }
  expect(events.filter((e) => e.type === "canceled").map((e) => e.order.clientOrderId)).toEqual([loser]);
  expect(await openLists()).toEqual([]);
  expect((await port.position("BTCUSDT")).side).toBeNull();
});

test("the user-data stream brings a leg's fill without a poll, and is reopened after the exchange drops it", async () => {
  const close = await lastClose();
  const stop = new AbortController();
  const stream = port.listen(`${sim.wsUrl}/ws`, stop.signal);
  try {
    expect(await stream.ready).toBe(true);
    sim.faults.add([{ kind: "drop-user" }]);
    await protect(close, 0.9, 1.002);
    // the exchange dropped the socket at its first event; the adapter reopens it
    await until(() => stream.opens() >= 2, 10_000, "the stream reopened");
    sim.faults.clear();
    const b = base();
    let k = 0;
    const take = Math.round(close * 1.002 * 100) / 100;
    while ((b.time[k] as number) < sim.clock.now() || (b.high[k] as number) < take) k++;
    sim.clock.set((b.time[k] as number) + MIN + 30_000);
    await until(
      () => events.some((e) => e.type === "fill" && e.order.clientOrderId === "s-tp" && e.fill.final),
      10_000,
      "the take-profit's fill from the stream",
    );
    expect(events.filter((e) => e.type === "canceled").map((e) => e.order.clientOrderId)).toEqual(["s-sl"]);
  } finally {
    stop.abort();
    await stream.done;
  }
});

test("a resting order large against the candles' volume fills in parts, each fill once, the last one final", async () => {
  await sim.close();
  // a thin market: each candle lets a resting order fill 0.05 % of its volume
  sim = await startSimulator({
    archive: SAMPLE,
    start: T0,
    speed: 0,
    preload: true,
    participation: 0.0005,
    accounts: [{ apiKey: KEY, apiSecret: SECRET, balances: { USDT: 100_000 } }],
  });
  await port.close();
  const ex = new ccxt.binance({ apiKey: KEY, secret: SECRET, enableRateLimit: false });
  Object.assign(ex.urls.api as object, ccxtBinanceUrls(sim.url));
  port = new BinanceExecution({ client: ex, market: "spot" });
  await port.start(["BTCUSDT"]);
  events = [];
  port.subscribe((e) => events.push(e));
  const close = await lastClose();
  const price = Math.round(close * 0.999 * 100) / 100;
  // a buy limit just under the price, for 2 BTC
  await port.submit(intent({ clientOrderId: "p-buy", side: "buy", type: "limit", quantity: 2, price }));
  const b = base();
  let k = 0;
  while ((b.time[k] as number) < sim.clock.now()) k++;
  for (let n = 0; n < 600 && !events.some((e) => e.type === "fill" && e.fill.final); n++) {
    sim.clock.set((b.time[k + n] as number) + MIN + 30_000);
    await port.sync("BTCUSDT");
  }
  const fills = events.filter((e) => e.type === "fill").map((e) => (e.type === "fill" ? e.fill : undefined));
  expect(fills.length).toBeGreaterThan(1);
  expect(fills.filter((f) => f?.final)).toHaveLength(1);
  expect(fills.at(-1)?.final).toBe(true);
  expect(new Set(fills.map((f) => f?.tradeId)).size).toBe(fills.length);
  for (const f of fills) expect(f?.price).toBe(price);
  // what the account received, net of the commission it paid in BTC
  const got = fills.reduce((a, f) => a + (f?.quantity ?? 0), 0);
  expect(got).toBeCloseTo(2 * (1 - 0.001), 8);
  const order = await port.order("BTCUSDT", "p-buy");
  expect(order?.status).toBe("filled");
  expect(events.filter((e) => e.type === "fill" && e.order.status === "partially_filled").length).toBe(
    fills.length - 1,
  );
});
