import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigSchema, configJsonSchema, configSettings } from "../../src/config/index.js";
import { recordedSearchInputs } from "../../src/pipeline/backtestStages.js";
import { FingerprintCache, sha256File } from "../../src/pipeline/graph/fingerprint.js";
import { sectionHashes } from "../../src/pipeline/graph/manifest.js";
import { configMarkets, defaultJobs, planMarket } from "../../src/pipeline/graph/matrix.js";
import { KeyedLock } from "../../src/pipeline/graph/runner.js";
import { STAGES, selectGraph } from "../../src/pipeline/graph/stages.js";
import { formatSummary } from "../../src/pipeline/graph/summary.js";
import type { PipelineOptions } from "../../src/pipeline/graph/types.js";

const dir = mkdtempSync(join(tmpdir(), "itb-graph-units-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const config = ConfigSchema.parse({ symbol: "BTCUSDT", data_folder: dir });
const loaded = {
  config,
  settings: configSettings(config),
  file: join(dir, "c.json"),
  hash: "x",
  warnings: [],
};

describe("the stage definitions", () => {
  it("are in a running order: every dependency comes earlier; every key read is a config key", () => {
    const seen = new Set<string>();
    const keys = new Set(Object.keys((configJsonSchema() as { properties: object }).properties));
    for (const s of STAGES) {
      for (const a of s.after) expect(seen.has(a), `${s.name} after ${a}`).toBe(true);
      for (const k of s.reads) expect(keys.has(k), `${s.name} reads ${k}`).toBe(true);
      seen.add(s.name);
    }
    expect(STAGES.map((s) => s.name)).toEqual([
      "import",
      "download",
      "merge",
      "features",
      "labels",
      "train",
      "predict-rolling",
      "predict",
      "signals",
      "simulate",
      "report",
    ]);
  });

  it("a graph has one source and one predictor", () => {
    expect(selectGraph(STAGES, { source: "download", predict: "current" }).map((s) => s.name)).toEqual([
      "download",
      "merge",
      "features",
      "labels",
      "train",
      "predict",
      "signals",
      "simulate",
      "report",
    ]);
  });

  it("the source defaults to download when exchange_url is set, the predictor to rolling when rolling_predict is", () => {
    const plan = (extra: object) =>
      planMarket(
        { configFile: "c.json" },
        { ...loaded, config: ConfigSchema.parse({ symbol: "B", ...extra }) },
      );
    expect(plan({}).options).toMatchObject({ source: "import", predict: "current" });
    expect(plan({ exchange_url: "http://127.0.0.1:9900", rolling_predict: {} }).options).toMatchObject({
      source: "download",
      predict: "rolling",
    });
    expect(planMarket({ configFile: "c", from: "features", to: "train" }, loaded).selected).toEqual([
      "features",
      "labels",
      "train",
    ]);
  });

  it("the plan says which predictor it chose and why (predict scores the training rows)", () => {
    const plan = (request: object, extra: object = {}) =>
      planMarket(
        { configFile: "c.json", ...request },
        { ...loaded, config: ConfigSchema.parse({ symbol: "B", ...extra }) },
      ).predictor;
    expect(plan({})).toEqual({ stage: "predict", reason: "the config has no rolling_predict section" });
    expect(plan({}, { rolling_predict: {} })).toEqual({
      stage: "predict-rolling",
      reason: "the config has a rolling_predict section",
    });
    expect(plan({ predict: "current" }, { rolling_predict: {} })).toEqual({
      stage: "predict",
      reason: "--predict current was given",
    });
    expect(plan({ only: ["predict"] }, { rolling_predict: {} })).toEqual({
      stage: "predict",
      reason: "the stage was named",
    });
  });

  it("hashes exactly the config keys a stage reads", () => {
    const features = STAGES.find((s) => s.name === "features");
    if (features === undefined) throw new Error("no features stage");
    const options: PipelineOptions = { source: "import", predict: "rolling" };
    const a = sectionHashes(features, { config, configFile: "c", options });
    const b = sectionHashes(features, {
      config: {
        ...config,
        label_sets: [{ generator: "x", column_prefix: "", feature_prefix: "", config: {} }],
      },
      configFile: "c",
      options,
    });
    const c = sectionHashes(features, { config: { ...config, time_column: "t" }, configFile: "c", options });
    expect(b).toEqual(a);
    expect(c.time_column).not.toBe(a.time_column);
    expect(c.feature_sets).toBe(a.feature_sets);
  });
});

describe("the summary table", () => {
  /** The table with its notes' continuation lines joined again (notes wrap at 120 columns). */
  const formatted = (r: Parameters<typeof formatSummary>[0]) => formatSummary(r).replace(/\n {2}/g, " ");
  /** One market whose predict and simulate stages ran with these summaries. */
  const run = (
    simulate: Record<string, unknown>,
    predictor = { stage: "predict", reason: "the config has no rolling_predict section" },
  ) => ({
    markets: [
      {
        symbol: "BTCUSDT",
        freq: "1m",
        ok: true,
        interrupted: false,
        seconds: 1,
        predictor,
        stages: [
          {
            name: predictor.stage,
            status: "ran" as const,
            reason: "",
            seconds: 0,
            summary: { kind: predictor.stage === "predict" ? "in-sample" : "out-of-sample", auc: { a: 0.7 } },
          },
          { name: "simulate", status: "ran" as const, reason: "", seconds: 0, summary: simulate },
        ],
      },
    ],
    jobs: 1,
    workers: 1,
    seconds: 1,
    failed: 0,
    interrupted: 0,
  });
  const search = {
    best: { buy_signal_threshold: 0.1, sell_signal_threshold: -0.2 },
    profit_pct: 24.521,
    buy_hold_pct: 22.89,
    trades: 2,
    min_trades: 10,
    holdout_profit_pct: null,
    holdout_trades: null,
    holdout_buy_hold_pct: null,
    in_sample: true,
  };

  it("says why predict ran, and what the search's numbers call for", () => {
    const table = formatted(run(search));
    expect(table).toMatch(
      /^BTCUSDT 1m .* buy 0\.1, sell -0\.2 \(IN-SAMPLE\)\s+24\.52 % \(IN-SAMPLE\)\s+1\.0 s$/m,
    );
    expect(table).toContain(
      "BTCUSDT 1m: the predictions come from predict (the models scored on the rows they were trained on: IN-SAMPLE) because the config has no rolling_predict section; add a rolling_predict section for walk-forward (out-of-sample) predictions",
    );
    expect(table).toContain(
      "BTCUSDT 1m: the best cell rests on only 2 trades (fewer than min_trades 10): too few to tell an edge from luck",
    );
    expect(table).not.toContain("trails");

    // with a holdout its own numbers are judged: a 1-trade holdout below buy and hold
    const held = formatted(
      run(
        {
          ...search,
          trades: 12,
          holdout_profit_pct: 0.15,
          holdout_trades: 1,
          holdout_buy_hold_pct: 1.76,
          in_sample: false,
        },
        {
          stage: "predict-rolling",
          reason: "the config has a rolling_predict section",
        },
      ),
    );
    expect(held).toContain("24.52 % (holdout 0.15 %)  ");
    expect(held).toContain("BTCUSDT 1m: the holdout's profit (0.15 %) trails buy and hold (1.76 %)");
    expect(held).toContain(
      "BTCUSDT 1m: the holdout rests on only 1 trade (fewer than min_trades 10): too few to tell an edge from luck",
    );
    expect(held).not.toContain("the best cell rests");
    expect(held).not.toContain("the predictions come from predict");
    expect(held).not.toContain("IN-SAMPLE)");
  });
});

describe("fingerprints", () => {
  it("are size, mtime and SHA-256; a missing file is marked absent", async () => {
    const f = join(dir, "a.txt");
    writeFileSync(f, "hello");
    const cache = new FingerprintCache();
    const fp = await cache.of(f);
    expect(fp).toMatchObject({ exists: true, size: 5 });
    expect(fp.sha256).toBe("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
    expect(await sha256File(f)).toBe(fp.sha256);
    expect(await cache.of(join(dir, "missing"))).toEqual({ path: join(dir, "missing"), exists: false });
    writeFileSync(f, "hello, world");
    expect((await cache.of(f)).size).toBe(12);
  });
});

describe("the market pool", () => {
  it("runs half as many markets as cores at once, at least one", () => {
    expect(defaultJobs(10, 2)).toBe(1);
    expect(defaultJobs(10, 16)).toBe(8);
    expect(defaultJobs(3, 16)).toBe(3);
    expect(defaultJobs(1, 1)).toBe(1);
  });

  it("a keyed lock serialises work on the same file and lets other files through", async () => {
    const lock = new KeyedLock();
    const order: string[] = [];
    const task = (name: string, keys: string[], ms: number) =>
      lock.with(keys, async () => {
        order.push(`${name}+`);
        await new Promise((r) => setTimeout(r, ms));
        order.push(`${name}-`);
      });
    await Promise.all([task("a", ["x", "y"], 30), task("b", ["y"], 1), task("c", ["z"], 1)]);
    expect(order.indexOf("b+")).toBeGreaterThan(order.indexOf("a-"));
    expect(order.indexOf("c-")).toBeLessThan(order.indexOf("a-"));
  });
});

describe("configMarkets", () => {
  it("is symbols × freqs (given, else the config's lists, else its symbol and freq), overriding only what a list names", () => {
    const c = { symbol: "BTCUSDT", freq: "1m", symbols: undefined, freqs: undefined };
    expect(configMarkets(c)).toEqual([{ id: { symbol: "BTCUSDT", freq: "1m" }, overrides: {} }]);
    expect(configMarkets({ ...c, symbols: ["BTCUSDT", "ETHUSDT"] })).toEqual([
      { id: { symbol: "BTCUSDT", freq: "1m" }, overrides: { symbol: "BTCUSDT" } },
      { id: { symbol: "ETHUSDT", freq: "1m" }, overrides: { symbol: "ETHUSDT" } },
    ]);
    expect(configMarkets({ ...c, symbols: ["ETHUSDT"], freqs: ["1h"] }, undefined, ["5m", "1h"])).toEqual([
      { id: { symbol: "ETHUSDT", freq: "5m" }, overrides: { symbol: "ETHUSDT", freq: "5m" } },
      { id: { symbol: "ETHUSDT", freq: "1h" }, overrides: { symbol: "ETHUSDT", freq: "1h" } },
    ]);
    expect(configMarkets(c, ["SOLUSDT"], [])).toEqual([
      { id: { symbol: "SOLUSDT", freq: "1m" }, overrides: { symbol: "SOLUSDT" } },
    ]);
  });
});

describe("a threshold search's recorded inputs", () => {
  it("name the predictions relative to the data folder; an absolute path recorded earlier still compares", () => {
    const recorded = {
      config_sha256: "c",
      predictions: { file: join(dir, "BTCUSDT", "predictions.parquet"), size: 10, mtime_ms: 1000 },
    };
    expect(recordedSearchInputs(config, recorded)).toEqual({
      config_sha256: "c",
      predictions: { file: join("BTCUSDT", "predictions.parquet"), size: 10, mtime_ms: 1000 },
    });
    // already relative (another machine's mirror of a shared data folder): as it is
    const relative = { predictions: { file: "BTCUSDT/predictions.parquet" } };
    expect(recordedSearchInputs(config, relative)).toBe(relative);
    // outside the data folder: the absolute path stays
    const outside = { predictions: { file: "/elsewhere/predictions.parquet" } };
    expect(recordedSearchInputs(config, outside)).toEqual(outside);
  });
});
