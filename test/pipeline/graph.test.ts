import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UsageError } from "../../src/core/errors.js";
import { noProgress, silentLogger } from "../../src/core/log.js";
import { type Manifest, manifestFile } from "../../src/pipeline/graph/manifest.js";
import { type PipelineRequest, type PipelineRun, runPipeline } from "../../src/pipeline/graph/matrix.js";
import type { StageEvent } from "../../src/pipeline/graph/runner.js";
import { formatSummary } from "../../src/pipeline/graph/summary.js";
import { SAMPLE } from "../helpers/paths.js";
import { IMPORT_ROLLING_STAGES, smallPipelineConfig } from "../helpers/pipelineConfig.js";

/**
 * The pipeline end to end on the bundled sample (BTCUSDT spot, March 2023): a full run, a run
 * with nothing changed, a changed feature window, a deleted output and --force, asserting
 * which stages ran and which were skipped.
 */

const ALL = IMPORT_ROLLING_STAGES;
const FROM_FEATURES = ALL.slice(2);

let dir = "";
let configFile = "";

function smallConfig(dataFolder: string, stddevWindow = 5): object {
  // The STDDEV set is not a training feature: changing its window changes the features table only.
  return smallPipelineConfig(dataFolder, [
    { generator: "talib", config: { columns: ["close"], functions: ["STDDEV"], windows: [stddevWindow] } },
  ]);
}

function writeConfig(file: string, config: object): void {
  writeFileSync(file, JSON.stringify(config, null, 2));
}

const clock = { now: () => Date.now() };

async function pipeline(
  extra: Partial<PipelineRequest> = {},
): Promise<{ run: PipelineRun; events: StageEvent[] }> {
  const events: StageEvent[] = [];
  const run = await runPipeline(
    { configFile, archive: SAMPLE, ...extra },
    {
      log: silentLogger,
      progress: noProgress,
      clock,
      itbVersion: "test",
      onEvent: (e) => events.push(e),
    },
  );
  return { run, events };
}

function statuses(run: PipelineRun, market = 0): { ran: string[]; skipped: string[] } {
  const m = run.markets[market];
  if (m === undefined) throw new Error("no market");
  return {
    ran: m.stages.filter((s) => s.status === "ran").map((s) => s.name),
    skipped: m.stages.filter((s) => s.status === "skipped").map((s) => s.name),
  };
}

const dataDir = () => join(dir, "data");
const symbolDir = () => join(dataDir(), "BTCUSDT");
const manifestOf = (stage: string): Manifest =>
  JSON.parse(
    readFileSync(manifestFile({ data_folder: dataDir(), symbol: "BTCUSDT" }, stage), "utf8"),
  ) as Manifest;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "itb-graph-"));
  configFile = join(dir, "config.json");
  writeConfig(configFile, smallConfig(dataDir()));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("itb pipeline: the stage graph with manifests", () => {
  it("a first run runs every stage and writes a manifest after each one's outputs", async () => {
    const { run, events } = await pipeline();
    expect(run.failed).toBe(0);
    expect(statuses(run)).toEqual({ ran: ALL, skipped: [] });
    // Every stage reported a start with its reason and an end.
    expect(events.filter((e) => e.phase === "start").map((e) => e.stage)).toEqual(ALL);
    expect(events.find((e) => e.phase === "start")?.reason).toMatch(/no manifest/);

    const features = manifestOf("features");
    expect(features.stage).toBe("features");
    expect(Object.keys(features.sections).sort()).toEqual(["feature_sets", "freq", "time_column"]);
    expect(features.inputs.map((f) => f.path)).toEqual(["BTCUSDT/data.parquet"]);
    expect(features.outputs.map((f) => f.path)).toEqual([
      "BTCUSDT/features.parquet",
      "BTCUSDT/features.names.json",
    ]);
    for (const f of [...features.inputs, ...features.outputs]) {
      expect(f.exists).toBe(true);
      expect(f.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(f.size).toBeGreaterThan(0);
    }
    // The manifest comes after the outputs it describes.
    for (const o of features.outputs)
      expect(o.mtime_ms as number).toBeLessThanOrEqual(Date.parse(features.finished_at));
    // Labels read exactly what features wrote.
    expect(manifestOf("labels").inputs[0]).toEqual(features.outputs[0]);
    expect(manifestOf("merge").summary.rows).toBe(31 * 1440);
    expect(manifestOf("import").outputs.map((f) => f.path)).toEqual(["BTCUSDT/klines.parquet"]);
    expect(
      manifestOf("train")
        .outputs.map((f) => f.path)
        .sort(),
    ).toEqual(["BTCUSDT/MODELS/high_10_lc/current.json", "BTCUSDT/MODELS/low_10_lc/current.json"]);

    const m = run.markets[0];
    const rolling = m?.stages.find((s) => s.name === "predict-rolling");
    const auc = rolling?.summary?.auc as Record<string, number>;
    expect(Object.keys(auc).sort()).toEqual(["high_10_lc", "low_10_lc"]);
    expect(auc.high_10_lc).toBeGreaterThan(0);
    const sim = m?.stages.find((s) => s.name === "simulate")?.summary;
    expect(typeof sim?.profit_pct).toBe("number");
    expect(Object.keys(sim?.best as object).sort()).toEqual([
      "buy_signal_threshold",
      "sell_signal_threshold",
    ]);
    expect(existsSync(join(symbolDir(), "simulation.json"))).toBe(true);
    expect(existsSync(join(symbolDir(), "report.html"))).toBe(true);
  });

  it("a second run with nothing changed skips every stage and still shows the results", async () => {
    const before = readFileSync(
      manifestFile({ data_folder: dataDir(), symbol: "BTCUSDT" }, "features"),
      "utf8",
    );
    const { run, events } = await pipeline();
    expect(statuses(run)).toEqual({ ran: [], skipped: ALL });
    expect(events.filter((e) => e.phase === "start")).toEqual([]);
    for (const s of run.markets[0]?.stages ?? []) expect(s.reason).toBe("up to date");
    // Skipped stages leave their manifests alone and report the recorded summaries.
    expect(
      readFileSync(manifestFile({ data_folder: dataDir(), symbol: "BTCUSDT" }, "features"), "utf8"),
    ).toBe(before);
    const table = formatSummary(run);
    expect(table).toMatch(/BTCUSDT 1m\s+ok\s+0\s+9\s+44,640\s+high_10_lc 0\.\d{3}, low_10_lc 0\.\d{3}/);
  });

  it("changing a feature window reruns exactly features and the stages after it", async () => {
    writeConfig(configFile, smallConfig(dataDir(), 10));
    const { run } = await pipeline();
    expect(statuses(run)).toEqual({ ran: FROM_FEATURES, skipped: ["import", "merge"] });
    const stages = run.markets[0]?.stages ?? [];
    expect(stages.find((s) => s.name === "features")?.reason).toBe("config changed: feature_sets");
    expect(stages.find((s) => s.name === "labels")?.reason).toMatch(
      /^input changed: BTCUSDT\/features\.parquet/,
    );
    const names = JSON.parse(readFileSync(join(symbolDir(), "features.names.json"), "utf8")) as {
      features: string[];
    };
    expect(names.features).toContain("close_STDDEV_10");
    expect(statuses((await pipeline()).run)).toEqual({ ran: [], skipped: ALL });
  });

  it("deleting an output reruns its stage and the stages after it", async () => {
    rmSync(join(symbolDir(), "features.parquet"));
    const { run } = await pipeline();
    expect(statuses(run)).toEqual({ ran: FROM_FEATURES, skipped: ["import", "merge"] });
    expect(run.markets[0]?.stages.find((s) => s.name === "features")?.reason).toBe(
      "output missing: BTCUSDT/features.parquet",
    );

    rmSync(join(symbolDir(), "simulation.csv"));
    const again = await pipeline();
    expect(statuses(again.run)).toEqual({ ran: ["simulate", "report"], skipped: ALL.slice(0, 7) });
  });

  it("a file touched behind the pipeline's back (same content, new mtime) reruns its writer and readers", async () => {
    const file = join(symbolDir(), "matrix.parquet");
    const later = new Date(Date.now() + 5000);
    utimesSync(file, later, later);
    const { run } = await pipeline({ to: "predict-rolling" });
    expect(statuses(run)).toEqual({ ran: ["labels", "train", "predict-rolling"], skipped: ALL.slice(0, 3) });
    expect(run.markets[0]?.stages.find((s) => s.name === "labels")?.reason).toBe(
      "output changed: BTCUSDT/matrix.parquet",
    );
  });

  it("--force reruns the named stages (and, through their outputs, the ones after); --from/--to/--only select", async () => {
    const forced = await pipeline({ force: ["labels"], to: "labels" });
    expect(statuses(forced.run)).toEqual({ ran: ["labels"], skipped: ["import", "merge", "features"] });
    expect(forced.run.markets[0]?.stages.find((s) => s.name === "labels")?.reason).toBe("forced (--force)");

    // train reads the rewritten matrix; signals reads the predictions predict-rolling rewrote
    // in the test before (it stopped there), so both run.
    const only = await pipeline({ only: ["train", "signals"] });
    expect(only.run.markets[0]?.stages.map((s) => s.name)).toEqual(["train", "signals"]);
    expect(statuses(only.run)).toEqual({ ran: ["train", "signals"], skipped: [] });

    const range = await pipeline({ from: "predict-rolling", to: "simulate" });
    expect(statuses(range.run)).toEqual({ ran: ["predict-rolling", "signals", "simulate"], skipped: [] });

    const all = await pipeline({ force: true, from: "simulate" });
    expect(statuses(all.run)).toEqual({ ran: ["simulate", "report"], skipped: [] });
  });

  it("refuses unknown stages, conflicting alternatives and markets that would overwrite each other", async () => {
    await expect(pipeline({ only: ["featurs"] })).rejects.toThrow(/unknown stage "featurs"/);
    await expect(pipeline({ source: "download", only: ["import"] })).rejects.toThrow(UsageError);
    await expect(pipeline({ only: ["predict", "predict-rolling"] })).rejects.toThrow(/alternatives/);
    await expect(pipeline({ freqs: ["1m", "1h"] })).rejects.toThrow(
      /markets BTCUSDT 1m and BTCUSDT 1h would both write .*data\.parquet.*\{freq\}/,
    );
  });

  it("naming predict chooses it over predict-rolling; its AUC is flagged in-sample", async () => {
    const { run } = await pipeline({ only: ["predict"] });
    expect(statuses(run)).toEqual({ ran: ["predict"], skipped: [] });
    const s = run.markets[0]?.stages[0]?.summary;
    expect(s?.kind).toBe("in-sample");
    expect(formatSummary(run)).toMatch(/IN-SAMPLE/);
    // predict rewrote the predictions: predict-rolling is no longer up to date.
    const back = await pipeline({ only: ["predict-rolling"] });
    expect(back.run.markets[0]?.stages[0]?.reason).toMatch(/^output changed: BTCUSDT\/predictions/);
  });

  it("a remote source stage is skipped only while download_end is in the past", async () => {
    writeConfig(configFile, { ...smallConfig(dataDir(), 10), download_end: "2099-01-01" });
    const first = await pipeline({ to: "merge" });
    // download_end changed: import runs and adds April from the sample, so merge runs too.
    expect(first.run.markets[0]?.stages[0]?.reason).toBe("config changed: download_end");
    expect(statuses(first.run)).toEqual({ ran: ["import", "merge"], skipped: [] });
    // download_end in the future: import runs every time; it finds nothing new and leaves the
    // store untouched, so merge stays up to date.
    const again = await pipeline({ to: "merge" });
    expect(again.run.markets[0]?.stages[0]?.reason).toBe(
      "download_end is in the future: the source may have new candles",
    );
    expect(statuses(again.run)).toEqual({ ran: ["import"], skipped: ["merge"] });
    const { download_end: _, ...open } = smallConfig(dataDir(), 10) as Record<string, unknown>;
    writeConfig(configFile, open);
    const unset = await pipeline({ to: "merge" });
    expect(unset.run.markets[0]?.stages[0]?.reason).toMatch(/^config changed: download_end/);
    const unset2 = await pipeline({ to: "merge" });
    expect(unset2.run.markets[0]?.stages[0]?.reason).toBe(
      "download_end is not set: the source may have new candles",
    );
    expect(statuses(unset2.run)).toEqual({ ran: ["import"], skipped: ["merge"] });
  });

  it("the config's symbols and freqs lists make the markets when the command line gives none", async () => {
    const listed = join(dir, "listed.json");
    writeConfig(listed, {
      ...smallPipelineConfig(join(dir, "listed-data")),
      symbols: ["BTCUSDT", "XRPUSDT"],
      freqs: ["1m"],
    });
    const plans: { markets: number; jobs: number }[] = [];
    const run = await runPipeline(
      { configFile: listed, archive: SAMPLE, only: ["import"], jobs: 2 },
      { log: silentLogger, progress: noProgress, clock, itbVersion: "test", onPlan: (p) => plans.push(p) },
    );
    expect(plans).toEqual([{ markets: 2, jobs: 2 }]);
    expect(run.markets.map((m) => `${m.symbol} ${m.freq}`)).toEqual(["BTCUSDT 1m", "XRPUSDT 1m"]);
    // XRPUSDT is not in the sample: that market fails, BTCUSDT imports.
    expect(run.failed).toBe(1);
    expect(existsSync(join(dir, "listed-data", "BTCUSDT", "klines.parquet"))).toBe(true);
  });
});
