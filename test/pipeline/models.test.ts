import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { benchFeatures, benchLabels } from "../../src/bench/workload.js";
import { type LoadedConfig, parseConfigText } from "../../src/config/index.js";
import { DataError, UsageError } from "../../src/core/errors.js";
import { Frame } from "../../src/core/frame.js";
import { silentLogger } from "../../src/core/log.js";
import { mergeSources } from "../../src/data/merge.js";
import { readFrame, writeFrame } from "../../src/data/store/index.js";
import type { ModelArtifact } from "../../src/models/artifact.js";
import { runPredict, runPredictRolling, runTrain } from "../../src/pipeline/modelStages.js";
import { ModelStore, modelRoot } from "../../src/pipeline/modelStore.js";
import { sampleCandles } from "../helpers/candles.js";

/** A fixed clock: each reading one second after the previous one. */
function testClock(start = Date.UTC(2025, 0, 1)) {
  let t = start;
  return {
    now: () => {
      t += 1000;
      return t;
    },
  };
}

let matrix: Frame;
let features: string[];
beforeAll(async () => {
  const merged = mergeSources([{ name: "BTCUSDT", prefix: "", frame: await sampleCandles(["2023-03"]) }], {
    freqMs: 60_000,
    interpolate: false,
    maxGap: 0,
  });
  matrix = merged.frame;
  features = benchFeatures(matrix);
  benchLabels(matrix);
});

/** A data folder with the matrix (rows [0, rows)) and the features table (all rows), and its config. */
async function dataFolder(
  opts: { rows?: number; extra?: Record<string, unknown> } = {},
): Promise<LoadedConfig> {
  const dir = mkdtempSync(join(tmpdir(), "itb-models-"));
  const loaded = parseConfigText(
    JSON.stringify({
      symbol: "BTCUSDT",
      data_folder: join(dir, "data"),
      label_horizon: 120,
      train_features: features,
      labels: ["high_20", "low_20"],
      algorithms: [{ name: "lc", algo: "lc", params: { C: 1.0 }, train: { is_scale: true } }],
      rolling_predict: { prediction_size: 1440, prediction_steps: 3 },
      train_length: 20_000,
      ...opts.extra,
    }),
    join(dir, "cfg.jsonc"),
  );
  const base = join(dir, "data/BTCUSDT");
  await writeFrame(join(base, "matrix.parquet"), matrix.slice(0, opts.rows ?? matrix.length));
  const f = new Frame(matrix.time);
  for (const c of ["open", "high", "low", "close", "volume", ...features]) f.set(c, matrix.get(c));
  await writeFrame(join(base, "features.parquet"), f);
  return loaded;
}

const ctx = () => ({ log: silentLogger, clock: testClock(), itbVersion: "9.9.9" });

describe("the model store", () => {
  it("every save is a new version; the newest becomes current unless told otherwise; promote moves it", async () => {
    const loaded = await dataFolder();
    const trained = await runTrain(loaded, ctx());
    const store = new ModelStore(modelRoot(loaded.config), testClock());
    const a = trained.models[0]?.artifact as ModelArtifact;
    expect(await store.names()).toEqual(["high_20_lc", "low_20_lc"]);
    expect(await store.versions("high_20_lc")).toEqual([1]);
    const v2 = await store.save(a);
    const v3 = await store.save(a, { promote: false });
    expect([v2.version, v3.version]).toEqual([2, 3]);
    expect(v3.file).toMatch(/MODELS\/high_20_lc\/v0003\.json$/);
    expect((await store.current("high_20_lc"))?.version).toBe(2);
    expect((await store.read("high_20_lc")).version).toBe(2);
    await store.promote("high_20_lc", 1);
    expect((await store.current("high_20_lc"))?.version).toBe(1);
    expect((await store.read("high_20_lc", 3)).artifact).toEqual(
      (await store.read("high_20_lc", 1)).artifact,
    );
    await expect(store.promote("high_20_lc", 9)).rejects.toThrow(UsageError);
    await expect(store.promote("high_20_lc", 9)).rejects.toThrow(
      "model high_20_lc has no version 9 (versions: 1, 2, 3)",
    );
    await expect(store.read("nope_lc")).rejects.toThrow(
      "no model nope_lc in the store: train it first (itb train)",
    );
  });

  it("concurrent saves never share a version number, and nothing is overwritten", async () => {
    const loaded = await dataFolder();
    const a = (await runTrain(loaded, ctx())).models[0]?.artifact as ModelArtifact;
    const store = new ModelStore(modelRoot(loaded.config), testClock());
    const saved = await Promise.all(Array.from({ length: 8 }, () => store.save(a, { promote: false })));
    expect(saved.map((s) => s.version).sort((x, y) => x - y)).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
    expect(await store.versions(a.name)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it("a train run that died is undone by the next one, which stores what an uninterrupted run would", async () => {
    const loaded = await dataFolder();
    const first = await runTrain(loaded, ctx());
    const store = new ModelStore(modelRoot(loaded.config), testClock());
    const pointers = async () =>
      Promise.all(["high_20_lc", "low_20_lc"].map((n) => readFileSync(store.currentFile(n), "utf8")));
    const before = await pointers();
    // A second run killed mid-way: its record, one version stored, one stored and made current.
    await store.beginTrainAttempt(["high_20_lc", "low_20_lc"]);
    const [high, low] = first.models.map((m) => m.artifact) as [ModelArtifact, ModelArtifact];
    await store.save(high, { promote: false });
    await store.save(low);
    await store.save(low, { promote: false });
    expect(await store.versions("low_20_lc")).toEqual([1, 2, 3]);
    expect(existsSync(store.trainAttemptFile)).toBe(true);

    // Undoing it alone puts the store back as the first run left it.
    expect((await store.rollBackTrainAttempt()).map((f) => f.slice(-21))).toEqual([
      "high_20_lc/v0002.json",
      "/low_20_lc/v0002.json",
      "/low_20_lc/v0003.json",
    ]);
    expect(await pointers()).toEqual(before);
    expect(existsSync(store.trainAttemptFile)).toBe(false);

    // The next run after a death numbers its versions as a run without it.
    await store.beginTrainAttempt(["high_20_lc", "low_20_lc"]);
    await store.save(high, { promote: false });
    const next = await runTrain(loaded, ctx());
    expect(next.models.map((m) => [m.name, m.version])).toEqual([
      ["high_20_lc", 2],
      ["low_20_lc", 2],
    ]);
    expect(await store.versions("high_20_lc")).toEqual([1, 2]);
    expect((await store.current("low_20_lc"))?.version).toBe(2);
    expect(existsSync(store.trainAttemptFile)).toBe(false);
  });

  it("a model without a current pointer is not used silently", async () => {
    const loaded = await dataFolder();
    await runTrain(loaded, ctx(), { promote: false });
    const store = new ModelStore(modelRoot(loaded.config), testClock());
    await expect(store.read("high_20_lc")).rejects.toThrow(
      "model high_20_lc has no current version; choose one: itb models promote high_20_lc <version> (versions: 1)",
    );
  });
});

describe("train and predict", () => {
  it("train stores one model per label × algorithm; predict on the training rows is flagged in-sample", async () => {
    const loaded = await dataFolder();
    const c = ctx();
    const run = await runTrain(loaded, c);
    expect(run.models.map((m) => [m.name, m.version])).toEqual([
      ["high_20_lc", 1],
      ["low_20_lc", 1],
    ]);
    const a = run.models[0]?.artifact as ModelArtifact;
    expect(a.training.rows).toBe(20_000);
    expect(a.training.last_row).toBeLessThanOrEqual(matrix.length - 121);
    expect(a.config_hash).toBe(loaded.hash);
    expect(a.itb_version).toBe("9.9.9");
    expect(a.metrics.in_sample?.rows).toBe(20_000);

    const warnings: string[] = [];
    const log = { ...silentLogger, warn: (_: object, msg?: string) => warnings.push(msg ?? "") };
    const p = await runPredict(loaded, { ...c, log }, { input: "matrix" });
    const m = p.models.high_20_lc;
    expect(m?.in_sample).toBe(true);
    expect(m?.in_sample_rows).toBeGreaterThanOrEqual(20_000);
    expect(warnings.some((w) => w.startsWith("IN-SAMPLE: ") && w.includes("high_20_lc"))).toBe(true);
    const json = JSON.parse(readFileSync(p.metricsFile, "utf8"));
    expect(json).toMatchObject({ kind: "predict", in_sample: true, config_hash: loaded.hash });
    expect(json.models.high_20_lc).toMatchObject({
      in_sample: true,
      in_sample_rows: m?.in_sample_rows,
      version: 1,
    });
    for (const k of ["auc", "ap", "f1", "precision", "recall"])
      expect(typeof json.models.high_20_lc.metrics[k]).toBe("number");

    const out = await readFrame(p.output);
    expect(out.length).toBe(matrix.length);
    expect(out.columnNames).toEqual([
      "open",
      "high",
      "low",
      "close",
      "volume",
      "close_time",
      "high_20",
      "low_20",
      "high_20_lc",
      "low_20_lc",
    ]);
  });

  it("rows after the training data are out-of-sample; the features table has no labels and is not scored", async () => {
    // The matrix ends on 2023-03-15; the features table runs to the end of March.
    const loaded = await dataFolder({ rows: 20_160, extra: { train_length: 0 } });
    await runTrain(loaded, ctx());
    const p = await runPredict(loaded, ctx(), { input: "matrix" });
    expect(p.models.high_20_lc?.out_of_sample_rows).toBe(0);
    const f = await runPredict(loaded, ctx(), { input: "features", output: "pf" });
    expect(f.models.high_20_lc).toMatchObject({ labelled: false, rows: 0, metrics: null });
    const out = await readFrame(f.output);
    expect(out.length).toBe(matrix.length);
    expect(out.has("high_20")).toBe(false);
    expect(Number.isFinite(out.get("high_20_lc")[40_000] as number)).toBe(true);
    // Scored against the full month's labels, the last two weeks are honest, the overlap is counted.
    await writeFrame(join(loaded.config.data_folder, "BTCUSDT/matrix.parquet"), matrix);
    const full = await runPredict(loaded, ctx(), { input: "matrix" });
    const s = full.models.high_20_lc;
    expect(s?.in_sample).toBe(true);
    expect(s?.out_of_sample_rows).toBeGreaterThan(20_000);
    expect(s?.overlapping_future_rows).toBe(120);
    expect(s?.out_of_sample_metrics?.rows).toBe(s?.out_of_sample_rows);
  });

  it("predict refuses a model trained on other features, naming the difference", async () => {
    const loaded = await dataFolder();
    await runTrain(loaded, ctx());
    const swapped = [features[1], features[0], ...features.slice(2)] as string[];
    const other = { ...loaded, config: { ...loaded.config, train_features: swapped } };
    await expect(runPredict(other, ctx())).rejects.toThrow(DataError);
    await expect(runPredict(other, ctx())).rejects.toThrow(
      `model high_20_lc does not match the features given (model: 20, given: 20):\n  misordered: ${features[0]} (model #1, given #2), ${features[1]} (model #2, given #1)`,
    );
  });
});

describe("predict-rolling (in-process: vitest runs the TypeScript sources)", () => {
  it("walks forward with the horizon purged, keeps every step's models and reports out-of-sample metrics", async () => {
    const loaded = await dataFolder();
    const r = await runPredictRolling(loaded, ctx());
    expect(r.mode).toBe("in-process");
    expect(r.plan.steps).toHaveLength(3);
    const store = new ModelStore(modelRoot(loaded.config), testClock());
    expect(await store.runs()).toEqual([1]);
    for (const step of r.plan.steps) {
      const artifacts = await store.readStep(r.run, step.step);
      expect(artifacts.map((a) => a.name)).toEqual(["high_20_lc", "low_20_lc"]);
      for (const a of artifacts) {
        // From the stored artifact: the last training row's label window ends before the step.
        expect(a.training.last_row + a.training.label_horizon).toBeLessThan(step.predictStart);
        expect(Date.parse(a.training.label_end_time)).toBeLessThan(matrix.time[step.predictStart] as number);
        expect(a.rolling?.predict_first_row).toBe(step.predictStart);
        expect(a.metrics.out_of_sample).not.toBeNull();
      }
    }
    const json = JSON.parse(readFileSync(r.metricsFile, "utf8"));
    expect(json).toMatchObject({ kind: "predict-rolling", in_sample: false, run: 1 });
    expect(json.plan).toMatchObject({ prediction_size: 1440, prediction_steps: 3, label_horizon: 120 });
    expect(json.models.high_20_lc.rows).toBe(3 * 1440 - 120);
    expect(JSON.parse(readFileSync(join(r.runFolder, "run.json"), "utf8"))).toEqual(json);

    const out = await readFrame(r.output);
    const p = out.get("high_20_lc");
    const first = r.plan.predictionStart;
    expect(Number.isNaN(p[first - 1] as number)).toBe(true);
    expect(p.subarray(first).every((v) => Number.isFinite(v))).toBe(true);
    expect(p.subarray(0, first).every((v) => Number.isNaN(v))).toBe(true);

    // A second run is a new run folder; the first one's models stay.
    const again = await runPredictRolling(loaded, ctx(), { output: "predictions2" });
    expect(again.run).toBe(2);
    expect(await store.runs()).toEqual([1, 2]);
    expect((await store.readStep(1, 2)).length).toBe(2);
    // Same data, same config, same clock: the same predictions.
    const out2 = await readFrame(again.output);
    const q = out2.get("high_20_lc");
    expect(q.every((v, i) => Object.is(v, p[i]))).toBe(true);
  });

  it("refuses a config without rolling_predict before training anything", async () => {
    const loaded = await dataFolder();
    const bare = { ...loaded, config: { ...loaded.config, rolling_predict: undefined } };
    await expect(runPredictRolling(bare, ctx())).rejects.toThrow(/^rolling_predict is not set/);
  });
});
