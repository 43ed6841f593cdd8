import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { runBacktest } from "../../src/backtest/engine.js";
import type { BacktestResult } from "../../src/backtest/types.js";
import { backtestOptionsOf, canonicalJson, type LoadedConfig, loadConfig } from "../../src/config/index.js";
import type { Frame } from "../../src/core/frame.js";
import { noProgress, silentLogger } from "../../src/core/log.js";
import type { Candle, Trade } from "../../src/core/trading.js";
import { symbolFile } from "../../src/data/paths.js";
import { readFrame } from "../../src/data/store/index.js";
import { CandleChain } from "../../src/live/chain.js";
import { TradingSession } from "../../src/live/session.js";
import type { ModelArtifact } from "../../src/models/artifact.js";
import { resolveFeatureSets } from "../../src/pipeline/generators.js";
import { runPipeline } from "../../src/pipeline/graph/matrix.js";
import { ModelStore, modelRoot } from "../../src/pipeline/modelStore.js";
import { resolveSignalSets } from "../../src/pipeline/signalStages.js";
import { SimulatedExecution } from "../../src/trading/simulatedExecution.js";
import { Trader } from "../../src/trading/trader.js";
import { SAMPLE } from "../helpers/paths.js";
import { liveConfig } from "./liveConfig.js";

/**
 * The chain test: the bundled sample's candles (BTCUSDT spot with ETHUSDT perpetual, 1m, March
 * 2023) fed one at a time through the feature stream, the row predictors (lc and gb), the
 * signal stream and the Trader with the simulated execution adapter give the batch pipeline's
 * features, scores and signals bit for bit, and the batch backtest's trades (the same
 * trade-list hash) and equity curve.
 */

let dir = "";
let loaded: LoadedConfig;
let merged: Frame;
let features: Frame;
let signals: Frame;
let artifacts: ModelArtifact[];
let chain: CandleChain;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "itb-chain-"));
  const configFile = join(dir, "chain.json");
  writeFileSync(configFile, JSON.stringify(liveConfig(join(dir, "data")), null, 2));
  const run = await runPipeline(
    { configFile, archive: SAMPLE, predict: "current", to: "signals" },
    { log: silentLogger, progress: noProgress, clock: { now: () => Date.now() }, itbVersion: "test" },
  );
  expect(run.failed).toBe(0);
  loaded = loadConfig(configFile);
  const c = loaded.config;
  merged = await readFrame(symbolFile(c, c.merge_file_name), { timeColumn: c.time_column });
  features = await readFrame(symbolFile(c, c.feature_file_name), { timeColumn: c.time_column });
  signals = await readFrame(symbolFile(c, c.signal_file_name), { timeColumn: c.time_column });
  const store = new ModelStore(modelRoot(c), { now: () => Date.now() });
  artifacts = [];
  for (const name of await store.names()) artifacts.push((await store.read(name)).artifact);
  chain = new CandleChain(
    await resolveFeatureSets(c.feature_sets, dirname(configFile)),
    merged.columnNames,
    artifacts,
    await resolveSignalSets(c, configFile),
  );
}, 240_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** a and b equal bit for bit, NaN equal to NaN. */
function sameBits(a: number, b: number): boolean {
  return Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));
}

describe("closed candles one at a time through every stage", () => {
  test("features, scores and signals equal the batch stages' bit for bit; trades and equity equal the backtest's", async () => {
    const c = loaded.config;
    const n = merged.length;
    expect(signals.length).toBe(n);
    expect(Array.from(signals.time)).toEqual(Array.from(merged.time));
    expect(artifacts.map((a) => a.name).sort()).toEqual([
      "high_10_gb",
      "high_10_lc",
      "low_10_gb",
      "low_10_lc",
    ]);

    const inputs = chain.inputs.map((name) => merged.get(name));
    expect(features.length).toBe(n);
    const expectCols = (names: readonly string[]) => names.map((name) => signals.get(name));
    const featureCols = chain.featureColumns.map((name) => features.get(name));
    const scoreCols = expectCols(chain.scoreColumns);
    const signalCols = expectCols(chain.signalColumns);

    // the live side: Trader + simulated execution behind the port, fed candle by candle
    const options = backtestOptionsOf(c);
    const port = new SimulatedExecution({
      fillAt: options.fillAt,
      takerFee: options.takerFee,
      makerFee: options.makerFee,
      slippageBps: options.slippageBps,
      filters: options.filters,
      cash: options.initialCapital,
    });
    const trades: Trade[] = [];
    const trader = new Trader({
      symbol: c.symbol,
      direction: options.direction,
      stake: options.stake,
      stopLoss: options.stopLoss,
      takeProfit: options.takeProfit,
      trailingStop: options.trailingStop,
      cash: options.initialCapital,
      onTrade: (t) => trades.push(t),
    });
    const session = new TradingSession(trader, port);
    const [open, high, low, close, volume] = ["open", "high", "low", "close", "volume"].map((x) =>
      merged.get(x),
    );
    const equity = new Float64Array(n);
    const row = new Float64Array(inputs.length);
    let mismatches = 0;
    let lastClose = Number.NaN;
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < inputs.length; k++) row[k] = (inputs[k] as Float64Array)[i] as number;
      const out = chain.update(row);
      for (const [got, want] of [
        [out.features, featureCols],
        [out.scores, scoreCols],
        [out.signals, signalCols],
      ] as const) {
        for (let k = 0; k < want.length; k++) {
          if (!sameBits(got[k] as number, (want[k] as Float64Array)[i] as number)) mismatches++;
        }
      }
      const candle: Candle = {
        time: merged.time[i] as number,
        open: open?.[i] as number,
        high: high?.[i] as number,
        low: low?.[i] as number,
        close: close?.[i] as number,
        volume: volume?.[i] as number,
      };
      trader.beginBar(i);
      port.onCandle(c.symbol, candle);
      const last = i === n - 1;
      if (last) await session.act(trader.stopEntries());
      await session.decide({ index: i, ...candle, buy: out.buy, sell: out.sell });
      if (last) {
        await session.act(trader.flatten(candle.time, "end"));
        port.settleAtClose(c.symbol);
        await session.settled();
      }
      if (!Number.isNaN(candle.close)) lastClose = candle.close;
      equity[i] = trader.position === 0 ? trader.cashBalance : trader.equityAt(lastClose);
    }
    expect(mismatches).toBe(0);

    // the batch side: the signals table's buy/sell columns backtested
    const bars = {
      time: signals.time,
      open: signals.get("open"),
      high: signals.get("high"),
      low: signals.get("low"),
      close: signals.get("close"),
    };
    const flag = (x: Float64Array) => Uint8Array.from(x, (v) => (v === 1 ? 1 : 0));
    const batch: BacktestResult = runBacktest(
      bars,
      { buy: flag(signals.get(chain.buyColumn)), sell: flag(signals.get(chain.sellColumn)) },
      options,
    );
    expect(batch.trades.length).toBeGreaterThan(20);
    const hash = (t: readonly Trade[]) => createHash("sha256").update(canonicalJson(t)).digest("hex");
    expect(hash(trades)).toBe(hash(batch.trades));
    expect(Array.from(equity)).toEqual(Array.from(batch.equity));
    session.close();
  });
});
