import ccxt from "ccxt";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { ItbError } from "../../src/core/errors.js";
import type { Logger } from "../../src/core/log.js";
import type { ExecutionEvent, OrderIntent } from "../../src/core/trading.js";
import { BinanceExecution, type BinanceExecutionOptions } from "../../src/exchange/ccxt/execution.js";
import { ccxtBinanceUrls, type Simulator, startSimulator } from "../../src/simulator/index.js";
import { SAMPLE } from "../helpers/paths.js";
import { allOrders } from "../helpers/simTrader.js";
import { until } from "../helpers/until.js";

/**
 * The exchange adapter when things go wrong, against `itb sim` with injected faults: a reply
 * lost after the order was accepted (5xx, timeout), a 418 ban, a process that died after
 * sending, fills while it was away, rejections, wrong keys. In every case the exchange ends up
 * with exactly one order per decision, and the secret appears nowhere.
 */

const MIN = 60_000;
const T0 = Date.UTC(2023, 2, 15, 12, 0, 30);
const KEY = "faults-key";
const SECRET = "faults-secret-Xq7Pz9";

let sim: Simulator;
let lines: string[];
const capture = (obj: object, msg?: string) => lines.push(`${JSON.stringify(obj)} ${msg ?? ""}`);
const log: Logger = { debug: capture, info: capture, warn: capture, error: capture };
const sleeps: number[] = [];

function adapter(
  o: Partial<BinanceExecutionOptions> & { key?: string; secret?: string; timeoutMs?: number } = {},
) {
  const ex = new ccxt.binance({
    apiKey: o.key ?? KEY,
    secret: o.secret ?? SECRET,
    enableRateLimit: false,
    ...(o.timeoutMs === undefined ? {} : { timeout: o.timeoutMs }),
  });
  Object.assign(ex.urls.api as object, ccxtBinanceUrls(sim.url));
  const port = new BinanceExecution({
    client: ex,
    market: "spot",
    log,
    retry: { attempts: 4, baseMs: 1, capMs: 5 },
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    ...o,
  });
  const events: ExecutionEvent[] = [];
  port.subscribe((e) => events.push(e));
  return { port, ex, events };
}

const intent = (o: Partial<OrderIntent> = {}): OrderIntent => ({
  clientOrderId: `itb1m-BTCUSDT-${(o.decidedAt ?? T0).toString(36)}-en`,
  symbol: "BTCUSDT",
  side: "buy",
  type: "market",
  quoteQuantity: 1000,
  reduceOnly: false,
  purpose: "entry",
  decidedAt: T0 - 90_000,
  ...o,
});

/** The simulator's orders of the account. */
const ordersOnExchange = () => allOrders(sim, KEY, SECRET);

beforeEach(async () => {
  lines = [];
  sleeps.length = 0;
  sim = await startSimulator({
    archive: SAMPLE,
    start: T0,
    speed: 0,
    preload: true,
    accounts: [{ apiKey: KEY, apiSecret: SECRET, balances: { USDT: 10_000 } }],
  });
});
afterEach(async () => {
  await sim.close();
  // the secret is in no log line, whatever happened
  expect(lines.join("\n")).not.toContain(SECRET);
});

describe("exchange adapter faults", () => {
  test("a 5xx after the order was accepted: looked up by client id, adopted, not sent again", async () => {
    sim.faults.add([{ kind: "accept-fail", status: 503, path: "/api/v3/order", nth: [1] }]);
    const { port, events } = adapter();
    await port.start(["BTCUSDT"]);
    const o = intent();
    const placed = await port.submit(o);
    expect(placed.status).toBe("filled");
    const onExchange = await ordersOnExchange();
    expect(onExchange.map((x) => x.clientOrderId)).toEqual([o.clientOrderId]);
    expect(events.map((e) => e.type)).toEqual(["accepted", "fill"]);
    expect(lines.some((l) => l.includes("order found on the exchange; not sent again"))).toBe(true);
    // the fill came from the account's trades: the same quantity the exchange executed
    const f = events[1];
    expect(f?.type === "fill" && f.fill.final).toBe(true);
    await port.close();
  });

  test("a timeout after the order was accepted: the same, and one order", async () => {
    sim.faults.add([{ kind: "accept-fail", delayMs: 1500, path: "/api/v3/order", nth: [1] }]);
    const { port, events } = adapter({ timeoutMs: 500 });
    await port.start(["BTCUSDT"]);
    const o = intent();
    await port.submit(o);
    expect((await ordersOnExchange()).map((x) => x.clientOrderId)).toEqual([o.clientOrderId]);
    expect(events.filter((e) => e.type === "fill")).toHaveLength(1);
    await port.close();
  });

  test("a 418 ban: its Retry-After is waited out, then the order goes out once", async () => {
    sim.faults.add([{ kind: "status", status: 418, retryAfter: 7, path: "/api/v3/order", nth: [1] }]);
    const { port, events } = adapter();
    await port.start(["BTCUSDT"]);
    const o = intent();
    await port.submit(o);
    expect(sleeps).toContain(7000);
    expect((await ordersOnExchange()).map((x) => x.clientOrderId)).toEqual([o.clientOrderId]);
    expect(events.map((e) => e.type)).toEqual(["accepted", "fill"]);
    await port.close();
  });

  test("a ban longer than the policy allows halts without sending", async () => {
    sim.faults.add([{ kind: "status", status: 418, retryAfter: 3600, path: "/api/v3/order", nth: [1] }]);
    const { port } = adapter();
    await port.start(["BTCUSDT"]);
    const err = await port.submit(intent()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ItbError);
    expect((err as ItbError).action).toBe("halt");
    expect((err as Error).message).toMatch(/wait 3600 s/);
    expect(await ordersOnExchange()).toEqual([]);
    await port.close();
  });

  test("a decision an earlier run may have sent is looked up first: after a crash, exactly one order", async () => {
    const first = adapter();
    await first.port.start(["BTCUSDT"]);
    const o = intent();
    await first.port.submit(o);
    // the process dies here, before anything was saved; the new one starts after that candle
    await first.port.close();
    const second = adapter({ inDoubtBefore: T0 });
    await second.port.start(["BTCUSDT"]);
    const again = await second.port.submit({ ...o });
    expect(again.status).toBe("filled");
    expect((await ordersOnExchange()).map((x) => x.clientOrderId)).toEqual([o.clientOrderId]);
    expect(second.events.map((e) => e.type)).toEqual(["accepted", "fill"]);
    const f1 = first.events.find((e) => e.type === "fill");
    const f2 = second.events.find((e) => e.type === "fill");
    expect(f2?.type === "fill" && f1?.type === "fill" && f2.fill.tradeId === f1.fill.tradeId).toBe(true);
  });

  test("fills while the service was down are delivered at restore", async () => {
    const first = adapter();
    await first.port.start(["BTCUSDT"]);
    const buy = intent();
    await first.port.submit(buy);
    const qty = (await first.port.position("BTCUSDT")).quantity;
    // a take-profit just above the price: it rests, then fills while nobody watches
    const tp = intent({
      clientOrderId: "itb1m-BTCUSDT-tp1",
      side: "sell",
      type: "limit",
      quantity: qty,
      quoteQuantity: undefined,
      price: 24_900,
      reduceOnly: true,
      purpose: "take_profit",
    });
    expect((await first.port.submit(tp)).status).toBe("new");
    const saved = first.port.snapshot("BTCUSDT");
    await first.port.close();
    sim.clock.set(T0 + 240 * MIN); // hours later the price has passed 24 900
    const second = adapter();
    await second.port.start(["BTCUSDT"]);
    await second.port.restore("BTCUSDT", saved);
    const fills = second.events.filter((e) => e.type === "fill");
    expect(fills).toHaveLength(1);
    const f = fills[0];
    expect(
      f?.type === "fill" && f.fill.price === 24_900 && f.fill.final && f.fill.liquidity === "maker",
    ).toBe(true);
    expect((await second.port.order("BTCUSDT", tp.clientOrderId))?.status).toBe("filled");
    expect((await second.port.position("BTCUSDT")).side).toBeNull();
    await second.port.close();
  });

  test("insufficient balance is a rejection the Trader and ledger see, with the exchange's words", async () => {
    const { port, events } = adapter();
    await port.start(["BTCUSDT"]);
    const o = intent({ quoteQuantity: 50_000 });
    const r = await port.submit(o);
    expect(r.status).toBe("rejected");
    expect(r.reason).toBe("insufficient_balance: Account has insufficient balance for requested action.");
    expect(events.map((e) => [e.type, e.type === "rejected" ? e.reason : ""])).toEqual([
      ["rejected", "insufficient_balance: Account has insufficient balance for requested action."],
    ]);
    expect(await ordersOnExchange()).toEqual([]);
    await port.close();
  });

  test("wrong API keys halt at start with a clear message, after one request", async () => {
    const { port } = adapter({ key: "no-such-key", secret: "wrong-secret-Zz1" });
    const before = sim.requests.list({ path: "/api/v3/account" }).length;
    const err = await port.start(["BTCUSDT"]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ItbError);
    expect((err as ItbError).action).toBe("halt");
    expect((err as Error).message).toMatch(/unauthorized.*check api_key and api_secret/);
    expect((err as Error).message).not.toContain("wrong-secret-Zz1");
    expect(sim.requests.list({ path: "/api/v3/account" }).length - before).toBe(1);
    await port.close();
  });
});

describe("exchange adapter user-data stream", () => {
  test("a fill on the exchange reaches the adapter through the stream, without waiting for a poll", async () => {
    const { port, events } = adapter();
    await port.start(["BTCUSDT"]);
    const buy = intent();
    await port.submit(buy);
    const qty = (await port.position("BTCUSDT")).quantity;
    const tp = intent({
      clientOrderId: "itb1m-BTCUSDT-tp-stream",
      side: "sell",
      type: "limit",
      quantity: qty,
      quoteQuantity: undefined,
      price: 24_900,
      reduceOnly: true,
      purpose: "take_profit",
    });
    await port.submit(tp);
    const stop = new AbortController();
    const stream = port.listen(`${sim.wsUrl}/ws`, stop.signal);
    try {
      expect(await stream.ready).toBe(true);
      // hours later the price has passed 24 900; nobody polls
      sim.clock.set(T0 + 240 * MIN);
      await until(
        () => events.some((e) => e.type === "fill" && e.order.clientOrderId === tp.clientOrderId),
        5000,
        "the stream's fill",
      );
      const f = events.find((e) => e.type === "fill" && e.order.clientOrderId === tp.clientOrderId);
      expect(f?.type === "fill" && f.fill.price).toBe(24_900);
    } finally {
      stop.abort();
      await stream.done;
      await port.close();
    }
  });
});

describe("exchange adapter restart with a held stop", () => {
  test("a held stop the dead run fired after its last record is found at restore, its fill delivered once", async () => {
    const first = adapter();
    await first.port.start(["BTCUSDT"]);
    await first.port.submit(intent());
    const qty = (await first.port.position("BTCUSDT")).quantity;
    // a sell stop far above the price: the next candle reaches it
    const stop = intent({
      clientOrderId: "itb1m-BTCUSDT-held-sl",
      side: "sell",
      type: "stop",
      quantity: qty,
      quoteQuantity: undefined,
      price: 40_000,
      reduceOnly: true,
      purpose: "stop_loss",
    });
    await first.port.submit(stop);
    const saved = first.port.snapshot("BTCUSDT");
    // the run goes on: a candle fires the stop; then it dies before recording that candle
    await first.port.onCandle("BTCUSDT", {
      time: T0,
      open: 1,
      high: 50_000,
      low: 1,
      close: 24_000,
      volume: 1,
    });
    expect(first.events.some((e) => e.type === "fill" && e.order.clientOrderId === stop.clientOrderId)).toBe(
      true,
    );
    await first.port.close();
    const second = adapter({ inDoubtBefore: T0 + MIN });
    await second.port.start(["BTCUSDT"]);
    await second.port.restore("BTCUSDT", saved);
    const fills = second.events.filter(
      (e) => e.type === "fill" && e.order.clientOrderId === stop.clientOrderId,
    );
    expect(fills).toHaveLength(1);
    expect(fills[0]?.type === "fill" && fills[0].fill.final).toBe(true);
    expect((await second.port.position("BTCUSDT")).side).toBeNull();
    // and it is not held any more: no candle sends it again
    await second.port.onCandle("BTCUSDT", {
      time: T0 + MIN,
      open: 1,
      high: 50_000,
      low: 1,
      close: 24_000,
      volume: 1,
    });
    expect((await ordersOnExchange()).filter((o) => o.clientOrderId === stop.clientOrderId)).toHaveLength(1);
    await second.port.close();
  });
});
