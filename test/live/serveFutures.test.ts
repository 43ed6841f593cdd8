import { rmSync } from "node:fs";
import { join } from "node:path";
import ccxt from "ccxt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Logger } from "../../src/core/log.js";
import { openSqliteLedger } from "../../src/live/ledger/sqlite.js";
import { tradesOf } from "../../src/live/ledger/tradeRows.js";
import {
  ccxtBinanceErrorsByPath,
  ccxtBinanceUrls,
  startSimulator,
  VirtualClock,
} from "../../src/simulator/index.js";
import { SAMPLE } from "../helpers/paths.js";
import { LOOPBACK_BUDGET } from "../helpers/simBudget.js";
import { buildLiveFixture, type LiveFixture, ledgerContents } from "./liveFixture.js";
import { serveInLockstep } from "./lockstep.js";

/**
 * itb serve trading USD-M futures (ETHUSDT perpetual, BTCUSDT spot as the second source) on
 * the simulator beside the same config on paper: shorts, the same decisions, the
 * account set to the config's leverage and margin type, and every ledger order on the exchange
 * once.
 */
const T0 = Date.UTC(2023, 2, 20);
const MINUTES = 120;
const KEY = "serve-futures-key";
const SECRET = "serve-futures-secret-Tt4c";

let fixture: LiveFixture;

beforeAll(async () => {
  fixture = await buildLiveFixture("2023-03-20", (c) => {
    c.symbol = "ETHUSDT";
    // the other source keeps its column prefix: the features' names stay, their candles are BTC's
    c.data_sources = [
      { folder: "ETHUSDT", column_prefix: "", market: "um" },
      { folder: "BTCUSDT", column_prefix: "eth", market: "spot" },
    ];
    (c.backtest as Record<string, unknown>).filters = { tick_size: 0.01, step_size: 0.001, min_notional: 20 };
    // shorts: what spot cannot do (longs are the spot tests'), on a looser sell threshold
    (c.backtest as Record<string, unknown>).direction = "short";
    const rule = (c.signal_sets as { generator: string; config: Record<string, unknown> }[]).find(
      (x) => x.generator === "threshold_rule",
    );
    if (rule !== undefined)
      rule.config.parameters = { buy_signal_threshold: 0.2, sell_signal_threshold: 0.1 };
  });
}, 300_000);

afterAll(() => {
  if (fixture) rmSync(fixture.root, { recursive: true, force: true });
});

describe("itb serve trading USD-M futures", () => {
  it("makes the paper trader's decisions, shorts included, with the account set up and one order per ledger order", async () => {
    const clock = new VirtualClock({ start: T0 + 30_000, speed: 0 });
    const sim = await startSimulator({
      weightLimits: LOOPBACK_BUDGET,
      archive: SAMPLE,
      clock,
      streams: { formingEveryMs: 0 },
      accounts: [{ apiKey: KEY, apiSecret: SECRET, balances: { USDT: 10_000 } }],
    });
    try {
      const paper = fixture.copy("paper", sim.url);
      const live = fixture.copy("futures", sim.url, (c) => {
        c.output_sets = [{ generator: "trader_binance", config: {} }];
        c.trade_model = { mode: "live" };
        c.futures = { leverage: 2, margin_type: "CROSSED" };
        c.api_key = KEY;
        c.api_secret = SECRET;
        c.risk_management = { stale_bars: 3 };
      });
      const lines: string[] = [];
      const put = (o: object, m?: string) => lines.push(`${JSON.stringify(o)} ${m ?? ""}`);
      const log: Logger = { debug: put, info: put, warn: put, error: put };
      const run = await serveInLockstep({
        configs: [paper.config, live.config],
        clock,
        start: T0,
        minutes: MINUTES,
        log,
      });
      expect(run.failed).toEqual([]);
      const p = await ledgerContents(join(paper.dir, "data"), { symbol: "ETHUSDT", freq: "1m" });
      const e = await ledgerContents(join(live.dir, "data"), { symbol: "ETHUSDT", freq: "1m" });
      const decisions = (t: (typeof p)[string] | undefined) => {
        const col = (n: string) => t?.columns.indexOf(n) ?? -1;
        return (t?.rows ?? []).map((r) => [
          r[col("time")],
          r[col("kind")],
          r[col("purpose")],
          r[col("side")],
        ]);
      };
      expect(decisions(e.decisions)).toEqual(decisions(p.decisions));
      const entries = decisions(e.decisions).filter((d) => d[2] === "entry");
      expect(entries.length).toBeGreaterThan(0);
      expect(new Set(entries.map((d) => d[3]))).toEqual(new Set(["sell"]));

      // the exchange: leverage and margin type as configured, every ledger order there once
      const ex = new ccxt.binanceusdm({ apiKey: KEY, secret: SECRET, enableRateLimit: false });
      Object.assign(ex.urls.api as object, ccxtBinanceUrls(sim.url));
      ccxtBinanceErrorsByPath(ex, sim.url);
      ex.nonce = () => sim.clock.now();
      const api = ex as unknown as Record<string, (p: object) => Promise<unknown>>;
      const risk = (await api.fapiPrivateV2GetPositionRisk?.({ symbol: "ETHUSDT" })) as {
        leverage: string;
        marginType: string;
      }[];
      expect([risk[0]?.leverage, risk[0]?.marginType]).toEqual(["2", "cross"]);
      const onExchange = (await api.fapiPrivateGetAllOrders?.({ symbol: "ETHUSDT", limit: 1000 })) as {
        clientOrderId: string;
      }[];
      await ex.close();
      const ids = onExchange.map((o) => o.clientOrderId);
      expect(new Set(ids).size).toBe(ids.length);
      const col = e.orders?.columns.indexOf("client_order_id") ?? -1;
      const ledgerIds = new Set((e.orders?.rows ?? []).map((r) => String(r[col])));
      for (const id of ids) expect(ledgerIds.has(id)).toBe(true);

      const ledger = openSqliteLedger(join(live.dir, "data", "ledger.sqlite"), { readonly: true });
      try {
        const trades = tradesOf(await ledger.read("trades", { market: { symbol: "ETHUSDT", freq: "1m" } }));
        expect(trades.length).toBeGreaterThan(0);
      } finally {
        await ledger.close();
      }
    } finally {
      await sim.close();
    }
  }, 600_000);
});
