import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openSqliteLedger } from "../../src/live/ledger/sqlite.js";
import { tradesOf } from "../../src/live/ledger/tradeRows.js";
import { type Simulator, startSimulator, VirtualClock } from "../../src/simulator/index.js";
import { type CliProcess, spawnItb } from "../helpers/cli.js";
import { SAMPLE } from "../helpers/paths.js";
import { allOrders } from "../helpers/simTrader.js";
import { until } from "../helpers/until.js";
import { BTC_1M, buildLiveFixture, type LiveFixture, lastRecorded, ledgerContents } from "./liveFixture.js";

/**
 * `itb serve` trading on the exchange (the simulator) as a real process, killed with SIGKILL
 * where it hurts: after the exchange accepted an order and before the ledger recorded it, and
 * while a take-profit rests on the exchange and fills. After a restart there is exactly one
 * order per decision, and the ledger's orders, fills and position are the exchange's.
 */
const MIN = 60_000;
const T0 = Date.UTC(2023, 2, 20);
const KEY = "process-key";
const SECRET = "process-secret-Lm5t";
const KEY2 = `${KEY}-2`;

let fixture: LiveFixture;
let sim: Simulator;

beforeAll(async () => {
  fixture = await buildLiveFixture("2023-03-20");
  sim = await startSimulator({
    archive: SAMPLE,
    clock: new VirtualClock({ start: T0 + 30_000, speed: 0 }),
    streams: { formingEveryMs: 0 },
    // the test looks at the account after every step: more than a client's budget
    weightLimits: { spot: 120_000 },
    // one account per test: a service takes over its market's unrecorded orders on its account
    accounts: [
      { apiKey: KEY, apiSecret: SECRET, balances: { USDT: 10_000 } },
      { apiKey: `${KEY}-2`, apiSecret: SECRET, balances: { USDT: 10_000 } },
      { apiKey: `${KEY}-3`, apiSecret: SECRET, balances: { USDT: 10_000 } },
    ],
  });
}, 300_000);

afterAll(async () => {
  await sim?.close();
  if (fixture) rmSync(fixture.root, { recursive: true, force: true });
});

const serve = (config: string) => spawnItb(["serve", "--config", config, "--log-format", "json"]);

async function waitServing(p: CliProcess): Promise<void> {
  await p.waitFor(/"msg":"serving"/, { timeoutMs: 120_000 });
}

function liveConfig(key: string, takeProfit?: number) {
  return (c: Record<string, unknown>) => {
    c.output_sets = [{ generator: "trader_binance", config: {} }];
    c.trade_model = { mode: "live", poll_seconds: 1 };
    c.api_key = key;
    c.api_secret = SECRET;
    (c.backtest as Record<string, unknown>).direction = "long";
    if (takeProfit !== undefined) (c.backtest as Record<string, unknown>).take_profit = takeProfit;
  };
}

const exchangeOrders = (key = KEY) => allOrders(sim, key, SECRET);

/** Steps the exchange one candle at a time until `stop()` or the ledger reaches `limit` minutes. */
async function stepUntil(data: string, from: number, stop: () => boolean, limit: number): Promise<number> {
  let t = from;
  for (let k = 0; k < limit && !stop(); k++) {
    t += MIN;
    sim.clock.set(t + 30_000);
    await until(
      async () => stop() || (await lastRecorded(data)) === t - MIN,
      60_000,
      `the candle of ${new Date(t - MIN).toISOString()}`,
    );
  }
  return t;
}

const orderPosts = () => sim.requests.list({ path: "/api/v3/order" }).filter((r) => r.method === "POST");

describe("itb serve trading on the exchange, killed with SIGKILL", () => {
  it("after the exchange accepted an order and before the ledger recorded it: one order after restart", async () => {
    sim.clock.set(T0 + 30_000);
    sim.requests.clear();
    const { dir, config } = fixture.copy("accepted", sim.url, liveConfig(KEY));
    const data = join(dir, "data");
    // the first order sent is accepted, and its reply never comes (POST only: the service may
    // look a decision up with a GET on the same path first, which must not take the fault)
    sim.faults.set([
      { kind: "accept-fail", delayMs: 120_000, path: "/api/v3/order", method: "POST", nth: [1] },
    ]);
    let p = serve(config);
    await waitServing(p);
    const accepted = () => (sim.faults.list()[0]?.fired ?? 0) > 0;
    let t = await stepUntil(data, T0, accepted, 90);
    expect(accepted(), "the order sent").toBe(true);
    // the order is on the exchange while the service waits for its reply (ccxt's 10 s timeout):
    // it is killed then, before it can learn of the order
    let sent: Awaited<ReturnType<typeof exchangeOrders>> = [];
    await until(
      async () => {
        sent = await exchangeOrders();
        return sent.length > 0;
      },
      5_000,
      "the accepted order on the exchange",
    );
    p.child.kill("SIGKILL");
    // the entry alone: nothing else could be sent while its reply was awaited
    expect(sent).toHaveLength(1);
    const id = sent[0]?.clientOrderId as string;
    expect(id).toMatch(/-en$/);
    await p.done;
    sim.faults.clear();
    // the ledger never heard of the order
    const orders0 = (await ledgerContents(data).catch(() => undefined))?.orders;
    const idCol = orders0?.columns.indexOf("client_order_id") ?? -1;
    expect(orders0?.rows.some((r) => r[idCol] === id) ?? false).toBe(false);

    p = serve(config);
    await waitServing(p);
    t = await stepUntil(data, t, () => false, 2).catch((e: Error) => {
      throw new Error(`${e.message}\n${p.stderr().slice(-4000)}`);
    });
    p.child.kill("SIGTERM");
    expect((await p.done).status).toBe(0);
    // taken over: found by its client id (a re-decided candle) or as an unrecorded order of ours
    expect(p.stderr()).toMatch(
      /order found on the exchange; not sent again|took over orders an earlier run sent/,
    );
    const after = await exchangeOrders();
    expect(after.filter((o) => o.clientOrderId === id)).toHaveLength(1);
    expect(after.map((o) => o.clientOrderId)).toEqual([...new Set(after.map((o) => o.clientOrderId))]);
    // the ledger has the order, filled, and the position it made
    const c = await ledgerContents(data);
    const oc = (n: string) => c.orders?.columns.indexOf(n) ?? -1;
    const rows = c.orders?.rows.filter((r) => r[oc("client_order_id")] === id) ?? [];
    expect(rows.map((r) => r[oc("status")])).toContain("filled");
    const fc = c.fills?.columns.indexOf("client_order_id") ?? -1;
    expect(c.fills?.rows.filter((r) => r[fc] === id)).toHaveLength(1);
    expect(p.stderr()).not.toContain(SECRET);
  }, 300_000);

  it("the exit the exchange fills while the service is down is in the ledger after restart", async () => {
    sim.clock.set(T0 + 30_000);
    sim.requests.clear();
    const { dir, config } = fixture.copy("down", sim.url, liveConfig(KEY2, 0.005));
    const data = join(dir, "data");
    let p = serve(config);
    await waitServing(p);
    const open = async () =>
      (await exchangeOrders(KEY2)).find((o) => o.clientOrderId.endsWith("-tp") && o.status === "NEW");
    let resting: { clientOrderId: string } | undefined;
    let t = T0;
    for (let k = 0; k < 90 && resting === undefined; k++) {
      t = await stepUntil(data, t, () => false, 1);
      resting = await open();
    }
    expect(resting, `a take-profit resting on the exchange\n${p.stderr().slice(-3000)}`).toBeDefined();
    // the take-profit and the stop-loss rest on the exchange as one OCO list
    const tp = resting?.clientOrderId as string;
    const sl = tp.replace(/-tp$/, "-sl");
    p.child.kill("SIGKILL");
    await p.done;
    // the exchange moves on without the service until one of them has filled
    const filled = async () =>
      (await exchangeOrders(KEY2)).find(
        (x) => (x.clientOrderId === tp || x.clientOrderId === sl) && x.status === "FILLED",
      );
    let exit: { clientOrderId: string } | undefined;
    for (let k = 0; k < 1440 && exit === undefined; k++) {
      t += MIN;
      sim.clock.set(t + 30_000);
      exit = await filled();
    }
    expect(exit, "an exit filled by the exchange").toBeDefined();
    const id = exit?.clientOrderId as string;
    p = serve(config);
    await waitServing(p);
    await until(async () => (await lastRecorded(data)) >= t - MIN, 60_000, "the restart's catch-up");
    p.child.kill("SIGTERM");
    expect((await p.done).status).toBe(0);
    const ledger = openSqliteLedger(join(data, "ledger.sqlite"), { readonly: true });
    try {
      const trades = tradesOf(await ledger.read("trades", { market: BTC_1M }));
      expect(trades.at(-1)?.exitReason).toBe(id === tp ? "take_profit" : "stop_loss");
      const fills = await ledger.read("fills", { market: BTC_1M });
      const fc = fills.columns.indexOf("client_order_id");
      expect(fills.rows.filter((r) => r[fc] === id)).toHaveLength(1);
    } finally {
      await ledger.close();
    }
    // every client id once on the exchange
    const all = await exchangeOrders(KEY2);
    expect(new Set(all.map((o) => o.clientOrderId)).size).toBe(all.length);
  }, 300_000);

  it("a timeout after the exchange accepted an order: looked up, not sent again, recorded once", async () => {
    const key = `${KEY}-3`;
    sim.clock.set(T0 + 30_000);
    sim.requests.clear();
    const { dir, config } = fixture.copy("timeout", sim.url, liveConfig(key));
    const data = join(dir, "data");
    // the first order is accepted and its reply hangs past ccxt's 10 s timeout
    sim.faults.set([
      { kind: "accept-fail", delayMs: 15_000, path: "/api/v3/order", method: "POST", nth: [1] },
    ]);
    const p = serve(config);
    await waitServing(p);
    let t = await stepUntil(data, T0, () => orderPosts().length > 0, 90);
    const id = (await exchangeOrders(key))[0]?.clientOrderId as string;
    expect(id).toBeDefined();
    // the service looks the order up after the timeout and goes on with the next candles
    await until(async () => (await lastRecorded(data)) >= t - MIN, 60_000, "the candle of the order");
    t = await stepUntil(data, t, () => false, 2);
    sim.faults.clear();
    p.child.kill("SIGTERM");
    expect((await p.done).status).toBe(0);
    expect(p.stderr()).toContain("order found on the exchange; not sent again");
    expect((await exchangeOrders(key)).filter((o) => o.clientOrderId === id)).toHaveLength(1);
    const c = await ledgerContents(data);
    const fc = c.fills?.columns.indexOf("client_order_id") ?? -1;
    expect(c.fills?.rows.filter((r) => r[fc] === id)).toHaveLength(1);
  }, 300_000);
});
