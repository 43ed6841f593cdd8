import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { runBacktest } from "../../src/backtest/engine.js";
import { backtestOptionsOf, canonicalJson, loadConfig } from "../../src/config/index.js";
import { SystemClock } from "../../src/core/clock.js";
import type { Frame } from "../../src/core/frame.js";
import { noProgress, silentLogger } from "../../src/core/log.js";
import type { Trade } from "../../src/core/trading.js";
import { symbolFile } from "../../src/data/paths.js";
import { runDownload } from "../../src/data/runDownload.js";
import { readFrame } from "../../src/data/store/index.js";
import { ledgerFile } from "../../src/live/ledger/file.js";
import { openSqliteLedger } from "../../src/live/ledger/sqlite.js";
import type { CandleRecord } from "../../src/live/ledger/types.js";
import { runService } from "../../src/live/service.js";
import { runPipeline } from "../../src/pipeline/graph/matrix.js";
import { type Simulator, startSimulator, VirtualClock } from "../../src/simulator/index.js";
import { SAMPLE } from "../helpers/paths.js";
import { LOOPBACK_BUDGET } from "../helpers/simBudget.js";
import { liveConfig } from "./liveConfig.js";

/**
 * Parity: a week of the sample served live by `itb serve`'s market runner (the simulator
 * replays the archive on its virtual clock; the runner back-fills, warms up and then follows it
 * candle by candle) gives, row for row, the batch pipeline's feature values, scores and signals
 * bit for bit, and paper trades equal to the backtest's over the same rows.
 */
const MIN = 60_000;
const T0 = Date.UTC(2023, 2, 20); // the stores end here; the week after it is served live
const DAYS = 7;

let dir = "";
let configFile = "";
let sim: Simulator;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "itb-serve-parity-"));
  sim = await startSimulator({
    weightLimits: LOOPBACK_BUDGET,
    archive: SAMPLE,
    clock: new VirtualClock({ start: T0 + 30_000, speed: 0 }),
    streams: { formingEveryMs: 0 },
  });
  configFile = join(dir, "live.json");
  writeFileSync(
    configFile,
    JSON.stringify(liveConfig(join(dir, "data"), sim.url, "2023-03-01", "2023-03-20"), null, 2),
  );
  // history up to T0 and models trained on it
  const run = await runPipeline(
    { configFile, archive: SAMPLE, source: "import", predict: "current", to: "train" },
    { log: silentLogger, progress: noProgress, clock: { now: () => Date.now() }, itbVersion: "test" },
  );
  expect(run.failed).toBe(0);
}, 300_000);

afterAll(async () => {
  await sim?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** NaN equals NaN; otherwise the same double. */
const same = (a: number, b: number) => Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));

describe("itb serve follows the exchange with the batch pipeline's numbers", () => {
  test("a week served candle by candle equals the batch features, scores, signals and backtest", async () => {
    const recs: CandleRecord[] = [];
    const features = new Map<number, Float64Array>();
    let featureColumns: readonly string[] = [];
    const controller = new AbortController();
    const end = T0 + DAYS * 1440 * MIN;
    const served = runService({
      configFiles: [configFile],
      log: silentLogger,
      clock: new SystemClock(),
      signal: controller.signal,
      openLedger: async (folder) => openSqliteLedger(ledgerFile({ data_folder: folder })),
      pollMs: 5,
      delayMs: 0,
      onProcessed: (m, rec, _st, f) => {
        recs.push(structuredClone(rec));
        featureColumns = m.featureColumns;
        features.set(rec.candle.time, Float64Array.from(f));
        if (rec.candle.time >= end - MIN) controller.abort();
      },
      onReady: () => {
        // the exchange's clock runs through the week in one-day jumps
        let t = T0 + 30_000;
        const step = () => {
          if (controller.signal.aborted) return;
          t = Math.min(end + 30_000, t + 1440 * MIN);
          sim.clock.set(t);
          if (t < end + 30_000) setTimeout(step, 50);
        };
        step();
      },
    });
    const result = await served;
    expect(result.failed).toEqual([]);
    expect(recs.length).toBe(DAYS * 1440);
    expect(recs[0]?.candle.time).toBe(T0);
    expect(recs.at(-1)?.candle.time).toBe(end - MIN);
    const ledger = openSqliteLedger(ledgerFile({ data_folder: join(dir, "data") }), { readonly: true });
    const lastRecorded = await ledger.last({ symbol: "BTCUSDT", freq: "1m" });
    expect(lastRecorded?.time).toBe(end - MIN);
    expect(lastRecorded?.equity).toEqual(recs.at(-1)?.equity);
    await ledger.close();

    // the batch side: the same week downloaded into the store, then merge → features → predict → signals
    const config = loadConfig(configFile, {}).config;
    await runDownload(
      { ...config, download_end: undefined },
      { to: String(end) },
      { log: silentLogger, progress: noProgress },
    );
    const batch = await runPipeline(
      {
        configFile,
        predict: "current",
        only: ["merge", "features", "labels", "predict", "signals"],
        downloadEnd: "2023-03-27",
      },
      { log: silentLogger, progress: noProgress, clock: { now: () => Date.now() }, itbVersion: "test" },
    );
    expect(batch.failed).toBe(0);
    const feat: Frame = await readFrame(symbolFile(config, config.feature_file_name));
    const sig: Frame = await readFrame(symbolFile(config, config.signal_file_name));
    expect(feat.time.at(-1)).toBe(end - MIN);

    let mismatches = 0;
    for (const rec of recs) {
      const i = sig.lowerBound(rec.candle.time);
      expect(sig.time[i]).toBe(rec.candle.time);
      for (const [name, v] of Object.entries({ ...rec.scores, ...rec.signals })) {
        if (!same(v, sig.get(name)[i] as number)) mismatches++;
      }
      const f = features.get(rec.candle.time) as Float64Array;
      featureColumns.forEach((name, k) => {
        if (!same(f[k] as number, feat.get(name)[i] as number)) mismatches++;
      });
    }
    expect(mismatches).toBe(0);

    // paper trades: the backtest of the same rows, without its closing "end" trade
    const first = sig.lowerBound(T0);
    const flag = (x: Float64Array) => Uint8Array.from(x, (v) => (v === 1 ? 1 : 0));
    const bars = {
      time: sig.time,
      open: sig.get("open"),
      high: sig.get("high"),
      low: sig.get("low"),
      close: sig.get("close"),
    };
    const bt = runBacktest(
      bars,
      { buy: flag(sig.get("buy_signal_column")), sell: flag(sig.get("sell_signal_column")) },
      backtestOptionsOf(config),
      { start: first, end: sig.length },
    );
    const live: Trade[] = recs.flatMap((r: CandleRecord) => [...r.trades]);
    const expected = bt.trades.filter((t) => t.exitReason !== "end");
    expect(expected.length).toBeGreaterThan(5);
    const hash = (t: readonly Trade[]) =>
      createHash("sha256")
        .update(canonicalJson(t.map((x) => ({ ...x, entryIndex: 0, exitIndex: x.exitIndex - x.entryIndex }))))
        .digest("hex");
    expect(hash(live)).toBe(hash(expected));
    // the equity the ledger recorded is the backtest's marked equity, bar by bar, while no trade is open at the end
    const lastFlat = recs.findLastIndex((r) => r.equity.position === 0);
    expect(recs[lastFlat]?.equity.equity).toBe(bt.equity[lastFlat]);
  }, 600_000);
});
