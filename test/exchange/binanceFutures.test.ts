import ccxt from "ccxt";
import { afterEach, beforeEach, expect, test } from "vitest";
import type { ExecutionEvent, OrderIntent } from "../../src/core/trading.js";
import { BinanceExecution } from "../../src/exchange/ccxt/execution.js";
import {
  ccxtBinanceErrorsByPath,
  ccxtBinanceUrls,
  type Simulator,
  startSimulator,
} from "../../src/simulator/index.js";
import { SAMPLE } from "../helpers/paths.js";
import { until } from "../helpers/until.js";

/**
 * The exchange adapter on USD-M futures against `itb sim`: the stop-loss rests on the exchange
 * as a reduce-only STOP_MARKET conditional order and triggers there, at its price, while the
 * adapter only polls; its take-profit sibling is then cancelled. A short opens with a sell.
 */

const MIN = 60_000;
const T0 = Date.UTC(2023, 2, 15, 12, 0, 30);
const KEY = "futures-key";
const SECRET = "futures-secret-Pq2w";

let sim: Simulator;
let port: BinanceExecution;
let events: ExecutionEvent[];

beforeEach(async () => {
  sim = await startSimulator({
    archive: SAMPLE,
    start: T0,
    speed: 0,
    preload: true,
    accounts: [{ apiKey: KEY, apiSecret: SECRET, balances: { USDT: 10_000 } }],
  });
  const ex = new ccxt.binanceusdm({ apiKey: KEY, secret: SECRET, enableRateLimit: false });
  Object.assign(ex.urls.api as object, ccxtBinanceUrls(sim.url));
  ccxtBinanceErrorsByPath(ex, sim.url);
  port = new BinanceExecution({ client: ex, market: "um", futures: { leverage: 3, marginType: "ISOLATED" } });
  await port.start(["ETHUSDT"]);
  events = [];
  port.subscribe((e) => events.push(e));
});
afterEach(async () => {
  await port.close();
  await sim.close();
});

function base() {
  const s = sim.data.loaded("um", "ETHUSDT");
  if (s === undefined) throw new Error("ETHUSDT um not loaded");
  return s.base;
}

/** The closed candle before the clock's candle, as the service would hand it over. */
async function lastCandle(): Promise<number> {
  const b = base();
  let i = 0;
  while ((b.time[i] as number) + 2 * MIN <= sim.clock.now()) i++;
  const c = {
    time: b.time[i] as number,
    open: b.open[i] as number,
    high: b.high[i] as number,
    low: b.low[i] as number,
    close: b.close[i] as number,
    volume: b.volume[i] as number,
  };
  await port.onCandle("ETHUSDT", c);
  return c.close;
}

const intent = (
  o: Partial<OrderIntent> & Pick<OrderIntent, "clientOrderId" | "side" | "type">,
): OrderIntent => ({
  symbol: "ETHUSDT",
  reduceOnly: false,
  purpose: "entry",
  decidedAt: T0,
  ...o,
});

async function openAlgo(): Promise<{ clientAlgoId: string; triggerPrice: string; orderType: string }[]> {
  const ex = new ccxt.binanceusdm({ apiKey: KEY, secret: SECRET, enableRateLimit: false });
  Object.assign(ex.urls.api as object, ccxtBinanceUrls(sim.url));
  ex.nonce = () => sim.clock.now();
  const api = ex as unknown as { fapiPrivateGetOpenAlgoOrders: (p: object) => Promise<unknown> };
  const rows = (await api.fapiPrivateGetOpenAlgoOrders({ symbol: "ETHUSDT" })) as {
    clientAlgoId: string;
    triggerPrice: string;
    orderType: string;
  }[];
  await ex.close();
  return rows;
}

test("the stop-loss rests on the exchange, triggers there at its price, and cancels the take-profit", async () => {
  const close = await lastCandle();
  await port.submit(intent({ clientOrderId: "f-en", side: "buy", type: "market", quoteQuantity: 3000 }));
  const pos = await port.position("ETHUSDT");
  expect(pos.side).toBe("long");
  const stopPrice = Math.round(close * 0.99 * 100) / 100;
  const group = "f-en";
  await port.submit(
    intent({
      clientOrderId: "f-sl",
      side: "sell",
      type: "stop",
      quantity: pos.quantity,
      price: stopPrice,
      reduceOnly: true,
      purpose: "stop_loss",
      ocoGroup: group,
    }),
  );
  await port.submit(
    intent({
      clientOrderId: "f-tp",
      side: "sell",
      type: "limit",
      quantity: pos.quantity,
      price: Math.round(close * 1.2 * 100) / 100,
      reduceOnly: true,
      purpose: "take_profit",
      ocoGroup: group,
    }),
  );
  expect(await openAlgo()).toMatchObject([
    { clientAlgoId: "f-sl", orderType: "STOP_MARKET", triggerPrice: stopPrice.toFixed(2) },
  ]);
  // the first candle after the stop was placed whose low reaches it: the fill's price
  const b = base();
  const placed = sim.clock.now();
  let k = 0;
  while ((b.time[k] as number) < placed || (b.low[k] as number) > stopPrice) k++;
  const expected = Math.min(stopPrice, b.open[k] as number);
  // the exchange moves on; the adapter is only asked to look (no candle handed to it)
  sim.clock.set((b.time[k] as number) + MIN + 30_000);
  await port.sync("ETHUSDT");
  const fills = events.filter((e) => e.type === "fill" && e.order.clientOrderId === "f-sl");
  expect(fills).toHaveLength(1);
  const f = fills[0];
  expect(f?.type === "fill" && f.fill.price).toBe(expected);
  expect(f?.type === "fill" && f.fill.final).toBe(true);
  expect(events.filter((e) => e.type === "canceled").map((e) => e.order.clientOrderId)).toEqual(["f-tp"]);
  expect((await port.position("ETHUSDT")).side).toBeNull();
  expect(await openAlgo()).toEqual([]);
  expect(await port.openOrders("ETHUSDT")).toEqual([]);
});

test("a short opens with a sell sized by quote amount and closes with a reduce-only buy", async () => {
  const close = await lastCandle();
  await port.submit(intent({ clientOrderId: "s-en", side: "sell", type: "market", quoteQuantity: 1000 }));
  const pos = await port.position("ETHUSDT");
  expect(pos.side).toBe("short");
  // quantity: the stake over the price and the taker fee, cut to the 0.001 step
  expect(pos.quantity).toBe(Math.floor((1000 / (close * 1.0005)) * 1000) / 1000);
  await port.submit(
    intent({
      clientOrderId: "s-ex",
      side: "buy",
      type: "market",
      quantity: pos.quantity,
      reduceOnly: true,
      purpose: "signal",
    }),
  );
  expect((await port.position("ETHUSDT")).side).toBeNull();
  const fees = events.filter((e) => e.type === "fill").map((e) => (e.type === "fill" ? e.fill.fee : 0));
  expect(fees).toHaveLength(2);
  for (const fee of fees) expect(fee).toBeGreaterThan(0);
});

test("on the futures user-data stream, the exchange's stop fill arrives without a poll", async () => {
  const close = await lastCandle();
  const stop = new AbortController();
  const stream = port.listen(`${sim.wsUrl}/fstream/ws`, stop.signal);
  try {
    expect(await stream.ready).toBe(true);
    await port.submit(intent({ clientOrderId: "u-en", side: "buy", type: "market", quoteQuantity: 2000 }));
    const qty = (await port.position("ETHUSDT")).quantity;
    const stopPrice = Math.round(close * 0.995 * 100) / 100;
    await port.submit(
      intent({
        clientOrderId: "u-sl",
        side: "sell",
        type: "stop",
        quantity: qty,
        price: stopPrice,
        reduceOnly: true,
        purpose: "stop_loss",
      }),
    );
    const b = base();
    let k = 0;
    while ((b.time[k] as number) < sim.clock.now() || (b.low[k] as number) > stopPrice) k++;
    sim.clock.set((b.time[k] as number) + MIN + 30_000);
    await until(
      () => events.some((e) => e.type === "fill" && e.order.clientOrderId === "u-sl" && e.fill.final),
      10_000,
      "the stop's fill from the stream",
    );
    const f = events.find((e) => e.type === "fill" && e.order.clientOrderId === "u-sl");
    expect(f?.type === "fill" && f.fill.price).toBe(Math.min(stopPrice, b.open[k] as number));
  } finally {
    stop.abort();
    await stream.done;
  }
});

test("on a thin market a resting futures order fills in parts: the exchange says PARTIALLY_FILLED, the adapter each part once", async () => {
  await port.close();
  await sim.close();
  sim = await startSimulator({
    archive: SAMPLE,
    start: T0,
    speed: 0,
    preload: true,
    participation: 0.0002,
    accounts: [{ apiKey: KEY, apiSecret: SECRET, balances: { USDT: 100_000 } }],
  });
  const ex = new ccxt.binanceusdm({ apiKey: KEY, secret: SECRET, enableRateLimit: false });
  Object.assign(ex.urls.api as object, ccxtBinanceUrls(sim.url));
  ccxtBinanceErrorsByPath(ex, sim.url);
  port = new BinanceExecution({ client: ex, market: "um", futures: { leverage: 2, marginType: "CROSSED" } });
  await port.start(["ETHUSDT"]);
  events = [];
  port.subscribe((e) => events.push(e));
  const close = await lastCandle();
  const price = Math.round(close * 0.999 * 100) / 100;
  await port.submit(intent({ clientOrderId: "t-buy", side: "buy", type: "limit", quantity: 20, price }));
  const b = base();
  let k = 0;
  while ((b.time[k] as number) < sim.clock.now()) k++;
  let sawPartial = false;
  for (let n = 0; n < 600 && !events.some((e) => e.type === "fill" && e.fill.final); n++) {
    sim.clock.set((b.time[k + n] as number) + MIN + 30_000);
    await port.sync("ETHUSDT");
    sawPartial ||= (await port.order("ETHUSDT", "t-buy"))?.status === "partially_filled";
  }
  expect(sawPartial).toBe(true);
  const fills = events.filter((e) => e.type === "fill").map((e) => (e.type === "fill" ? e.fill : undefined));
  expect(fills.length).toBeGreaterThan(1);
  expect(fills.filter((f) => f?.final)).toHaveLength(1);
  expect(new Set(fills.map((f) => f?.tradeId)).size).toBe(fills.length);
  expect(fills.reduce((a, f) => a + (f?.quantity ?? 0), 0)).toBeCloseTo(20, 9);
  for (const f of fills) expect([f?.price, f?.liquidity]).toEqual([price, "maker"]);
  const pos = await port.position("ETHUSDT");
  expect([pos.side, pos.quantity, pos.entryPrice]).toEqual(["long", 20, price]);
});
