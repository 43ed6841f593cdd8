import { readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import ccxt from "ccxt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SystemClock } from "../../src/core/clock.js";
import type { Logger } from "../../src/core/log.js";
import type { Trade } from "../../src/core/trading.js";
import { ledgerFile } from "../../src/live/ledger/file.js";
import { openSqliteLedger } from "../../src/live/ledger/sqlite.js";
import { tradesOf } from "../../src/live/ledger/tradeRows.js";
import { runService } from "../../src/live/service.js";
import { ccxtBinanceUrls, type Simulator, startSimulator, VirtualClock } from "../../src/simulator/index.js";
import { SAMPLE } from "../helpers/paths.js";
import { LOOPBACK_BUDGET } from "../helpers/simBudget.js";
import { allOrders } from "../helpers/simTrader.js";
import { until } from "../helpers/until.js";
import { buildLiveFixture, type LiveFixture, ledgerContents } from "./liveFixture.js";
import { serveInLockstep } from "./lockstep.js";

/**
 * itb serve trading on the exchange (`trader_binance`, mode live, at the simulator's
 * exchange_url) beside the same config on paper, over the same candles: the same decisions,
 * fills at the simulator's prices, the orders on the exchange exactly the ledger's; and the
 * start-up reconciliation against an order the ledger does not know.
 */
const MIN = 60_000;
const T0 = Date.UTC(2023, 2, 20);
const MINUTES = 90;
const KEY = "serve-exchange-key";
const SECRET = "serve-exchange-secret-Hw3k";

let fixture: LiveFixture;

beforeAll(async () => {
  fixture = await buildLiveFixture("2023-03-20");
}, 300_000);

afterAll(() => {
  if (fixture) rmSync(fixture.root, { recursive: true, force: true });
});

function recorder(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const put = (o: object, m?: string) => lines.push(`${JSON.stringify(o)} ${m ?? ""}`);
  return { log: { debug: put, info: put, warn: put, error: put }, lines };
}

const live = (c: Record<string, unknown>) => {
  c.output_sets = [{ generator: "trader_binance", config: {} }];
  c.trade_model = { mode: "live" };
  c.api_key = KEY;
  c.api_secret = SECRET;
  // spot holds no shorts
  (c.backtest as Record<string, unknown>).direction = "long";
  // the same stake as the paper trader's 10 000 on an account of 10 000
  c.risk_management = { stale_bars: 3 };
};

const exchangeOrders = (sim: Simulator) => allOrders(sim, KEY, SECRET);

describe("itb serve trading on the exchange", () => {
  it("makes the paper trader's decisions, at the simulator's prices, with one exchange order per ledger order", async () => {
    const clock = new VirtualClock({ start: T0 + 30_000, speed: 0 });
    const sim = await startSimulator({
      weightLimits: LOOPBACK_BUDGET,
      archive: SAMPLE,
      clock,
      streams: { formingEveryMs: 0 },
      accounts: [{ apiKey: KEY, apiSecret: SECRET, balances: { USDT: 10_000 } }],
    });
    try {
      const paper = fixture.copy("paper", sim.url, (c) => {
        (c.backtest as Record<string, unknown>).direction = "long";
      });
      const exch = fixture.copy("exchange", sim.url, live);
      const { log, lines } = recorder();
      const run = await serveInLockstep({
        configs: [paper.config, exch.config],
        clock,
        start: T0,
        minutes: MINUTES,
        log,
      });
      expect(run.failed).toEqual([]);
      expect(lines.some((l) => l.includes("trading on http://127.0.0.1"))).toBe(true);

      const p = await ledgerContents(join(paper.dir, "data"));
      const e = await ledgerContents(join(exch.dir, "data"));
      const decisions = (t: (typeof p)[string] | undefined) => {
        const col = (n: string) => t?.columns.indexOf(n) ?? -1;
        return (t?.rows ?? []).map((r) => [
          r[col("time")],
          r[col("kind")],
          r[col("purpose")],
          r[col("side")],
        ]);
      };
      expect(decisions(p.decisions).length).toBeGreaterThanOrEqual(3);
      expect(decisions(e.decisions)).toEqual(decisions(p.decisions));

      // every order the ledger holds is on the exchange, once; and nothing else is
      const orderIds = (t: (typeof e)[string] | undefined) => {
        const col = t?.columns.indexOf("client_order_id") ?? -1;
        return [...new Set((t?.rows ?? []).map((r) => String(r[col])))];
      };
      const onExchange = await exchangeOrders(sim);
      const sent = orderIds(e.orders).filter((id) => onExchange.some((o) => o.clientOrderId === id));
      expect(onExchange.map((o) => o.clientOrderId).sort()).toEqual(sent.sort());
      expect(new Set(onExchange.map((o) => o.clientOrderId)).size).toBe(onExchange.length);

      // trades: the same entries and exits; market fills at the simulator's price (the open of
      // the candle in progress), which the paper trader moves by its 2 bps of slippage
      const trades = async (dir: string): Promise<Trade[]> => {
        const ledger = openSqliteLedger(join(dir, "data", "ledger.sqlite"), { readonly: true });
        try {
          return tradesOf(await ledger.read("trades", { market: { symbol: "BTCUSDT", freq: "1m" } }));
        } finally {
          await ledger.close();
        }
      };
      const tp = await trades(paper.dir);
      const te = await trades(exch.dir);
      // (an exchange fill's time is when the exchange filled it, inside the candle after the decision)
      const shape = (t: Trade) => [t.side, Math.floor(t.entryTime / MIN) * MIN, t.exitReason];
      expect(te.length).toBeGreaterThan(0);
      expect(te.map(shape)).toEqual(tp.map(shape));
      for (let i = 0; i < te.length; i++) {
        const a = te[i] as Trade;
        const b = tp[i] as Trade;
        expect(Math.abs(a.entryPrice - b.entryPrice) / b.entryPrice).toBeLessThan(3e-4);
      }
      // the secret is nowhere: not in the log, not in the ledger file
      expect(lines.join("\n")).not.toContain(SECRET);
      expect(readFileSync(join(exch.dir, "data", "ledger.sqlite")).includes(SECRET)).toBe(false);
    } finally {
      await sim.close();
    }
  }, 600_000);

  it("shadow mode reads the real balance, records every decision and sends nothing", async () => {
    const clock = new VirtualClock({ start: T0 + 30_000, speed: 0 });
    const sim = await startSimulator({
      weightLimits: LOOPBACK_BUDGET,
      archive: SAMPLE,
      clock,
      streams: { formingEveryMs: 0 },
      accounts: [{ apiKey: KEY, apiSecret: SECRET, balances: { USDT: 7_777 } }],
    });
    try {
      const shadow = fixture.copy("shadow", sim.url, (c) => {
        live(c);
        c.trade_model = { shadow_mode: true };
      });
      const { log } = recorder();
      const controller = new AbortController();
      let n = 0;
      let first: number | undefined;
      const run = await runService({
        configFiles: [shadow.config],
        log,
        clock: new SystemClock(),
        signal: controller.signal,
        openLedger: async (folder) => openSqliteLedger(ledgerFile({ data_folder: folder })),
        pollMs: 5,
        delayMs: 0,
        onReady: () => clock.set(T0 + MIN + 30_000),
        onProcessed: (_m, rec) => {
          first ??= rec.equity.equity;
          if (++n >= 60) controller.abort();
          else clock.set(rec.candle.time + 2 * MIN + 30_000);
        },
      });
      expect(run.failed).toEqual([]);
      expect(run.markets[0]?.tradingMode).toBe("shadow");
      expect(first).toBe(7_777);
      const c = await ledgerContents(join(shadow.dir, "data"));
      expect(c.decisions?.rows.length).toBeGreaterThan(0);
      expect(c.fills?.rows.length).toBeGreaterThan(0);
      // nothing reached the exchange's order endpoints
      expect(sim.requests.list({ path: "/api/v3/order" })).toEqual([]);
    } finally {
      await sim.close();
    }
  }, 600_000);

  it("an open order the ledger does not know halts the start (default) or is cancelled (reconcile: cancel); --live needs a live market", async () => {
    const clock = new VirtualClock({ start: T0 + 30_000, speed: 0 });
    const sim = await startSimulator({
      weightLimits: LOOPBACK_BUDGET,
      archive: SAMPLE,
      clock,
      streams: { formingEveryMs: 0 },
      accounts: [{ apiKey: KEY, apiSecret: SECRET, balances: { USDT: 10_000 } }],
    });
    try {
      // an order placed by hand, far below the price
      const ex = new ccxt.binance({ apiKey: KEY, secret: SECRET, enableRateLimit: false });
      Object.assign(ex.urls.api as object, ccxtBinanceUrls(sim.url));
      ex.nonce = () => sim.clock.now();
      const api = ex as unknown as { privatePostOrder: (p: object) => Promise<unknown> };
      await api.privatePostOrder({
        symbol: "BTCUSDT",
        side: "BUY",
        type: "LIMIT",
        timeInForce: "GTC",
        quantity: "0.01",
        price: "10000",
        newClientOrderId: "by-hand-1",
      });
      await ex.close();
      const start = async (patch: (c: Record<string, unknown>) => void) => {
        const { config } = fixture.copy("reconcile", sim.url, (c) => {
          live(c);
          patch(c);
        });
        const controller = new AbortController();
        const { log, lines } = recorder();
        const run = runService({
          configFiles: [config],
          log,
          clock: new SystemClock(),
          signal: controller.signal,
          openLedger: async (folder) => openSqliteLedger(ledgerFile({ data_folder: folder })),
          pollMs: 5,
          delayMs: 0,
          onReady: () => controller.abort(),
        });
        return {
          result: await run.then(
            () => undefined,
            (e: unknown) => e,
          ),
          lines,
        };
      };
      // --live with no market trading live is a mistake, said before anything is fetched or sent
      const paperOnly = fixture.copy("paper-only", sim.url);
      await expect(
        runService({
          configFiles: [paperOnly.config],
          log: recorder().log,
          clock: new SystemClock(),
          signal: new AbortController().signal,
          openLedger: async (folder) => openSqliteLedger(ledgerFile({ data_folder: folder })),
          live: true,
        }),
      ).rejects.toThrow(
        '--live: no market trades live (trade_model.mode "live" with a trader_binance output)',
      );
      const halted = await start(() => {});
      expect(String(halted.result)).toMatch(
        /BTCUSDT 1m: 1 open order\(s\) the ledger does not know: by-hand-1 \(BUY LIMIT\)\. Check the account/,
      );
      expect((await exchangeOrders(sim)).find((o) => o.clientOrderId === "by-hand-1")?.status).toBe("NEW");
      const cancelled = await start((c) => {
        c.trade_model = { mode: "live", reconcile: "cancel" };
      });
      expect(cancelled.result).toBeUndefined();
      expect(cancelled.lines.some((l) => l.includes("reconciling with the exchange"))).toBe(true);
      expect((await exchangeOrders(sim)).find((o) => o.clientOrderId === "by-hand-1")?.status).toBe(
        "CANCELED",
      );
    } finally {
      await sim.close();
    }
  }, 600_000);

  it("a rejection reaches the Trader, the ledger and the notifications", async () => {
    const clock = new VirtualClock({ start: T0 + 30_000, speed: 0 });
    const sim = await startSimulator({
      weightLimits: LOOPBACK_BUDGET,
      archive: SAMPLE,
      clock,
      streams: { formingEveryMs: 0 },
      // less than the exchange's minimum order value
      accounts: [{ apiKey: KEY, apiSecret: SECRET, balances: { USDT: 3 } }],
    });
    const posts: { order?: { status: string; reason?: string; clientOrderId: string } }[] = [];
    const hook = createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => {
        body += c.toString();
      });
      req.on("end", () => {
        posts.push(JSON.parse(body) as (typeof posts)[number]);
        res.end("ok");
      });
    });
    await new Promise<void>((r) => hook.listen(0, "127.0.0.1", r));
    const port = (hook.address() as AddressInfo).port;
    try {
      const poor = fixture.copy("poor", sim.url, (c) => {
        live(c);
        c.output_sets = [
          { generator: "trader_binance", config: {} },
          { generator: "webhook", config: { url: `http://127.0.0.1:${port}/hook`, events: ["order"] } },
        ];
      });
      const { log } = recorder();
      const controller = new AbortController();
      let n = 0;
      const run = await runService({
        configFiles: [poor.config],
        log,
        clock: new SystemClock(),
        signal: controller.signal,
        openLedger: async (folder) => openSqliteLedger(ledgerFile({ data_folder: folder })),
        pollMs: 5,
        delayMs: 0,
        onReady: () => clock.set(T0 + MIN + 30_000),
        onProcessed: (_m, rec) => {
          if (rec.orders.some((o) => o.status === "rejected")) {
            // stop once the notification is out (the delivery runs beside the candles)
            void until(() => posts.some((p) => p.order?.status === "rejected"), 10_000, "the webhook")
              .catch(() => undefined)
              .finally(() => controller.abort());
          } else if (++n >= 60) controller.abort();
          else clock.set(rec.candle.time + 2 * MIN + 30_000);
        },
      });
      expect(run.failed).toEqual([]);
      const c = await ledgerContents(join(poor.dir, "data"));
      const col = (n: string) => c.orders?.columns.indexOf(n) ?? -1;
      const rejected = c.orders?.rows.filter((r) => r[col("status")] === "rejected") ?? [];
      expect(rejected.length).toBeGreaterThan(0);
      expect(String(rejected[0]?.[col("reason")])).toBe("min_notional: 3.00 USDT below the minimum 5");
      // the Trader finished the order: nothing is left working
      expect(run.markets[0]?.lastRecord?.state).toMatchObject({ trader: { working: [] } });
      expect(posts.find((p) => p.order?.status === "rejected")?.order?.reason).toBe(
        "min_notional: 3.00 USDT below the minimum 5",
      );
      expect(sim.requests.list({ path: "/api/v3/order" }).filter((r) => r.method === "POST")).toEqual([]);
    } finally {
      hook.close();
      await sim.close();
    }
  }, 600_000);
});
