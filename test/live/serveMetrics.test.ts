import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SystemClock } from "../../src/core/clock.js";
import { silentLogger } from "../../src/core/log.js";
import { ledgerFile } from "../../src/live/ledger/file.js";
import { openSqliteLedger } from "../../src/live/ledger/sqlite.js";
import type { CandleRecord } from "../../src/live/ledger/types.js";
import { ServiceMetrics } from "../../src/live/metrics.js";
import { runService } from "../../src/live/service.js";
import { type Simulator, startSimulator, VirtualClock } from "../../src/simulator/index.js";
import { SAMPLE } from "../helpers/paths.js";
import { LOOPBACK_BUDGET } from "../helpers/simBudget.js";
import { buildLiveFixture, type LiveFixture } from "./liveFixture.js";

/**
 * The metrics the dashboard reads, against what the service recorded: over hours of paper
 * trading on the sample, the signals, orders, closed trades (won and lost) and the market's
 * equity, cash and position gauges equal the candles' records.
 */
const MIN = 60_000;
const T0 = Date.UTC(2023, 2, 20);
const MARKET = "BTCUSDT 1m";

let fixture: LiveFixture;
let sim: Simulator;
const clock = new VirtualClock({ start: T0 + 30_000, speed: 0 });

beforeAll(async () => {
  fixture = await buildLiveFixture("2023-03-20");
  sim = await startSimulator({
    weightLimits: LOOPBACK_BUDGET,
    archive: SAMPLE,
    clock,
    streams: { formingEveryMs: 0 },
  });
}, 300_000);

afterAll(async () => {
  await sim?.close();
  if (fixture) rmSync(fixture.root, { recursive: true, force: true });
});

type Values = Map<string, number>;
/** A metric's values by their labels ("market=BTCUSDT 1m,outcome=win"). */
async function values(metrics: ServiceMetrics, name: string): Promise<Values> {
  const m = (await metrics.registry.getMetricsAsJSON()).find((x) => x.name === name);
  const out: Values = new Map();
  for (const v of (m?.values ?? []) as { labels: Record<string, string | number>; value: number }[]) {
    const key = Object.entries(v.labels)
      .map(([k, x]) => `${k}=${x}`)
      .join(",");
    out.set(key, v.value);
  }
  return out;
}

function counts(keys: string[]): Values {
  const out: Values = new Map();
  for (const k of keys) out.set(k, (out.get(k) ?? 0) + 1);
  return out;
}
const sorted = (v: Values) => [...v.entries()].sort(([a], [b]) => a.localeCompare(b));

describe("itb serve's metrics", () => {
  it("count the recorded signals, orders and trades, and gauge the last candle's books", async () => {
    const metrics = new ServiceMetrics();
    const records: CandleRecord[] = [];
    const controller = new AbortController();
    const { config } = fixture.copy("metrics", sim.url);
    const run = await runService({
      configFiles: [config],
      log: silentLogger,
      clock: new SystemClock(),
      signal: controller.signal,
      openLedger: async (folder) => openSqliteLedger(ledgerFile({ data_folder: folder })),
      pollMs: 5,
      delayMs: 0,
      websocket: false,
      metrics,
      onReady: () => clock.set(T0 + MIN + 30_000),
      onProcessed: (_m, rec) => {
        records.push(rec);
        const trades = records.reduce((n, r) => n + r.trades.length, 0);
        // until trades were both won and lost, or a day
        const outcomes = new Set(records.flatMap((r) => r.trades.map((t) => t.pnl > 0)));
        if ((outcomes.size === 2 && trades >= 3 && rec.equity.position !== 0) || records.length >= 1440)
          controller.abort();
        else clock.set(rec.candle.time + 2 * MIN + 30_000);
      },
    });
    expect(run.failed).toEqual([]);
    const trades = records.flatMap((r) => r.trades);
    expect(trades.length).toBeGreaterThanOrEqual(3);

    expect(sorted(await values(metrics, "itb_candles_processed_total"))).toEqual(
      sorted(counts(records.map((r) => `market=${MARKET},catch_up=${r.catchUp}`))),
    );
    expect(sorted(await values(metrics, "itb_signals_total"))).toEqual(
      sorted(
        counts(
          records.flatMap((r) => [
            ...(r.buy ? [`market=${MARKET},side=buy`] : []),
            ...(r.sell ? [`market=${MARKET},side=sell`] : []),
          ]),
        ),
      ),
    );
    const submits = records.flatMap((r) =>
      r.actions.flatMap((a) => (a.kind === "submit" ? [a.order.purpose] : [])),
    );
    expect(sorted(await values(metrics, "itb_paper_orders_total"))).toEqual(
      sorted(counts(submits.map((p) => `market=${MARKET},purpose=${p}`))),
    );
    expect(sorted(await values(metrics, "itb_trades_total"))).toEqual(
      sorted(counts(trades.map((t) => `market=${MARKET},outcome=${t.pnl > 0 ? "win" : "loss"}`))),
    );
    // the books after the last candle
    const last = records.at(-1) as CandleRecord;
    expect(last.equity.position).not.toBe(0);
    expect(await values(metrics, "itb_equity")).toEqual(new Map([[`market=${MARKET}`, last.equity.equity]]));
    expect(await values(metrics, "itb_cash")).toEqual(new Map([[`market=${MARKET}`, last.equity.cash]]));
    expect(await values(metrics, "itb_position")).toEqual(
      new Map([[`market=${MARKET}`, last.equity.position]]),
    );
    // the equity moved with the trades
    expect(last.equity.equity).not.toBe(records[0]?.equity.equity);
  }, 240_000);
});
