import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { readFrame } from "../../src/data/store/index.js";
import { type CliRun, itb } from "../helpers/cli.js";
import { SAMPLE } from "../helpers/paths.js";

/**
 * The whole model path through the compiled CLI on the bundled sample: import → merge →
 * features → labels → train → predict → predict-rolling (on worker threads, which only the
 * compiled dist/ can start) → models list/show/promote/diff. A demo.jsonc-like config, one
 * month, small walk-forward steps.
 */

const sma = (columns: string[], fn: string, windows: number[], prefix = "") => ({
  column_prefix: prefix,
  generator: "talib",
  feature_prefix: prefix,
  config: { columns, functions: [fn], windows },
});

const label = (fn: "high" | "low", name: string) => ({
  generator: "highlow2",
  config: {
    columns: ["close", "high", "low"],
    function: fn,
    thresholds: [2.0],
    tolerance: 0.2,
    horizon: 120,
    names: [name],
  },
});

const TRAIN_FEATURES = [
  "close_SMA_1",
  "close_SMA_5",
  "close_SMA_60",
  "close_LINEARREG_SLOPE_5",
  "close_LINEARREG_SLOPE_60",
  "close_STDDEV_5",
  "close_STDDEV_60",
  "eth_close_SMA_1",
  "eth_close_SMA_60",
  "eth_close_LINEARREG_SLOPE_15",
];

function demoLikeConfig(dataFolder: string, lcC = 1.0): object {
  return {
    symbol: "BTCUSDT",
    freq: "1m",
    data_folder: dataFolder,
    data_sources: [
      { folder: "BTCUSDT", file: "klines", column_prefix: "", market: "spot" },
      { folder: "ETHUSDT", file: "klines", column_prefix: "eth", market: "um" },
    ],
    feature_sets: [
      sma(["close"], "SMA", [1, 5, 60]),
      sma(["close"], "LINEARREG_SLOPE", [5, 60]),
      sma(["close"], "STDDEV", [5, 60]),
      sma(["close"], "SMA", [1, 60], "eth"),
      sma(["close"], "LINEARREG_SLOPE", [15], "eth"),
    ],
    label_sets: [label("high", "high_20"), label("low", "low_20")],
    label_horizon: 120,
    train_length: 15_000,
    train_features: TRAIN_FEATURES,
    labels: ["high_20", "low_20"],
    algorithms: [
      { name: "lc", algo: "lc", params: { penalty: "l2", C: lcC, max_iter: 100 }, train: { is_scale: true } },
      {
        name: "gb",
        algo: "gb",
        params: { objective: "cross_entropy", max_depth: 1, learning_rate: 0.1, num_boost_round: 20 },
      },
    ],
    rolling_predict: { prediction_start: null, prediction_size: 1440, prediction_steps: 2, max_workers: 2 },
  };
}

function ok(r: CliRun, what: string): CliRun {
  expect(r.stderr, what).not.toContain("internal error");
  expect(r.status, `${what}\n${r.stderr}`).toBe(0);
  return r;
}

describe("itb train / predict / predict-rolling / models on the bundled sample", () => {
  let dir: string;
  let config: string;
  let data: string;
  const run = (args: string[]) => itb([...args, "--log-format", "json", "--config", config]);

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "itb-cli-models-"));
    data = join(dir, "data");
    config = join(dir, "demo-like.jsonc");
    writeFileSync(config, JSON.stringify(demoLikeConfig(data), null, 2));
    ok(
      itb(["import", "--config", config, "--source", SAMPLE, "--from", "2023-03", "--to", "2023-04"]),
      "import",
    );
    ok(run(["merge"]), "merge");
    ok(run(["features"]), "features");
    ok(run(["labels"]), "labels");
  });

  it("train stores version 1 of each model and labels its metrics in-sample", () => {
    const r = ok(run(["train"]), "train");
    expect(r.stdout).toContain("trained 4 model(s)");
    expect(r.stdout).toMatch(
      /high_20_lc v1: 15,000 rows .*\n {4}IN-SAMPLE \(its own training rows, not evidence of an edge\): auc 0\.\d{3}/,
    );
    for (const m of ["high_20_lc", "high_20_gb", "low_20_lc", "low_20_gb"]) {
      expect(existsSync(join(data, "BTCUSDT/MODELS", m, "v0001.json")), m).toBe(true);
      expect(JSON.parse(readFileSync(join(data, "BTCUSDT/MODELS", m, "current.json"), "utf8")).version).toBe(
        1,
      );
    }
  });

  it("predict on the matrix flags the in-sample rows loudly and writes predictions and metrics", async () => {
    const r = ok(run(["predict"]), "predict");
    expect(r.stdout).toMatch(
      /high_20_lc v1: [\d,]+ scored rows, IN-SAMPLE \(\d+ of \d+ scored rows were training rows\)/,
    );
    const warning = r.stderr
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { level: number; msg: string; in_sample_rows?: number })
      .find((l) => l.msg.startsWith("IN-SAMPLE: ") && l.msg.includes("high_20_lc"));
    expect(warning?.level).toBe(40);
    expect(warning?.in_sample_rows).toBeGreaterThanOrEqual(15_000);
    const metrics = JSON.parse(readFileSync(join(data, "BTCUSDT/predictions.metrics.json"), "utf8"));
    expect(metrics.in_sample).toBe(true);
    expect(metrics.models.low_20_gb.in_sample_rows).toBe(warning?.in_sample_rows);
    const out = await readFrame(join(data, "BTCUSDT/predictions.parquet"));
    expect(out.columnNames.slice(-4)).toEqual(["high_20_lc", "high_20_gb", "low_20_lc", "low_20_gb"]);
    expect(out.has("high_20")).toBe(true);
  });

  it("predict-rolling runs its steps on worker threads, keeps every step's models, reports out-of-sample metrics", async () => {
    const r = ok(run(["predict-rolling"]), "predict-rolling");
    expect(r.stdout).toContain("walk-forward run 1: 2 step(s) of 1,440 rows, label horizon 120 purged, ");
    expect(r.stdout).toMatch(/purged, [12] worker thread\(s\)/);
    expect(r.stdout).toMatch(/high_20_lc: 2,760 rows, out-of-sample: auc 0\.\d{3}/);
    const runFolder = join(data, "BTCUSDT/MODELS/rolling/run-0001");
    expect(readdirSync(runFolder).sort()).toEqual(["run.json", "step-0001", "step-0002"]);
    const metrics = JSON.parse(readFileSync(join(data, "BTCUSDT/predictions.metrics.json"), "utf8"));
    expect(metrics).toMatchObject({ kind: "predict-rolling", in_sample: false, run: 1 });
    const rows = (await readFrame(join(data, "BTCUSDT/predictions.parquet"))).length;
    for (const [i, step] of ["step-0001", "step-0002"].entries()) {
      const files = readdirSync(join(runFolder, step)).sort();
      expect(files).toEqual(["high_20_gb.json", "high_20_lc.json", "low_20_gb.json", "low_20_lc.json"]);
      for (const f of files) {
        const a = JSON.parse(readFileSync(join(runFolder, step, f), "utf8"));
        const firstPredicted = rows - (2 - i) * 1440;
        expect(a.rolling.predict_first_row).toBe(firstPredicted);
        // The purge, from the stored artifact: the last training label window ends before the step.
        expect(a.training.last_row + 120).toBeLessThan(firstPredicted);
        expect(Date.parse(a.training.label_end_time)).toBeLessThan(Date.parse(a.rolling.predict_first_time));
        expect(a.metrics.out_of_sample.rows).toBeGreaterThan(0);
      }
    }

    // The same walk-forward in this thread gives the same predictions, bit for bit.
    const same = ok(run(["predict-rolling", "--in-process", "--output", "inproc"]), "in-process");
    expect(same.stdout).toContain("walk-forward run 2: 2 step(s)");
    expect(same.stdout).toContain("thread (in-process)");
    const a = await readFrame(join(data, "BTCUSDT/predictions.parquet"));
    const b = await readFrame(join(data, "BTCUSDT/inproc.parquet"));
    for (const c of ["high_20_lc", "high_20_gb", "low_20_lc", "low_20_gb"]) {
      const x = a.get(c);
      const y = b.get(c);
      expect(
        x.every((v, k) => Object.is(v, y[k])),
        c,
      ).toBe(true);
      expect(x.filter((v) => !Number.isNaN(v)).length, c).toBe(2880);
    }
  });

  it("models list, show, promote and diff", () => {
    writeFileSync(config, JSON.stringify(demoLikeConfig(data, 0.25), null, 2));
    ok(run(["train"]), "second train");
    const list = ok(run(["models", "list"]), "list").stdout;
    expect(list).toMatch(/^MODEL\s+VERSIONS\s+CURRENT\s+CREATED\s+ALGO\s+ROWS\s+METRICS$/m);
    expect(list).toMatch(
      /^high_20_lc\s+2\s+v0002\s+\d{4}-\d\d-\d\dT[\d:.]+Z\s+lc\s+15,000\s+in-sample auc 0\.\d{3} ap 0\.\d{3} f1 0\.\d{3}$/m,
    );
    expect(list).toContain("walk-forward runs: 2 (latest: run 2)");

    const show = ok(run(["models", "show", "high_20_lc", "1"]), "show").stdout;
    expect(show).toContain("high_20_lc v1\n");
    expect(show).toContain('  params:      {"penalty":"l2","C":1,"max_iter":100}');
    expect(show).toMatch(/ {2}data: {8}sha256:[0-9a-f]{64}/);
    expect(show).toContain(`  features (${TRAIN_FEATURES.length}): ${TRAIN_FEATURES.join(", ")}`);
    const current = ok(run(["models", "show", "high_20_lc"]), "show current").stdout;
    expect(current).toContain("high_20_lc v2 (current)");
    const json = JSON.parse(ok(run(["models", "show", "high_20_lc", "--json"]), "show json").stdout);
    expect(json.model).toEqual({ kind: "lc" });
    expect(json.features).toEqual(TRAIN_FEATURES);

    const promote = ok(run(["models", "promote", "high_20_lc", "1"]), "promote").stdout;
    expect(promote).toBe("high_20_lc: current version is now v1 (was v2)\n");
    expect(ok(run(["models", "show", "high_20_lc"]), "show").stdout).toContain("high_20_lc v1 (current)");

    const diff = ok(run(["models", "diff", "high_20_lc", "1", "v2"]), "diff").stdout;
    expect(diff).toContain("high_20_lc v1 → v2\nalgorithm:\n  params.C: 1 → 0.25\n  resolved.C: 1 → 0.25\n");
    expect(diff).toMatch(/metrics:\n {2}in-sample auc: 0\.\d+ → 0\.\d+ \([+-][\d.]+\)/);
    expect(diff).toContain("provenance:\n  config_hash: ");
  });

  it("mistakes end with a clear message and no stack trace", () => {
    const missing = run(["models", "show", "high_20_nope"]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain("no model high_20_nope in the store: train it first (itb train)");
    const badVersion = run(["models", "promote", "high_20_lc", "7"]);
    expect(badVersion.status).toBe(2);
    expect(badVersion.stderr).toContain("model high_20_lc has no version 7 (versions: 1, 2)");
    const svcConfig = join(dir, "svc.jsonc");
    writeFileSync(
      svcConfig,
      JSON.stringify({ ...demoLikeConfig(data), algorithms: [{ name: "svc", algo: "svc" }] }),
    );
    const svc = itb(["train", "--config", svcConfig]);
    expect(svc.status).toBe(2);
    expect(svc.stderr).toContain(
      'error: algorithms[0].algo: algo "svc" (support vector classifier) is not supported yet; supported: lc, gb, nn',
    );
    expect(svc.stderr).not.toMatch(/\n\s+at /);
  });

  it("every command's --help shows an example", () => {
    for (const c of [
      ["train"],
      ["predict"],
      ["predict-rolling"],
      ["models", "list"],
      ["models", "show"],
      ["models", "promote"],
      ["models", "diff"],
      ["models", "prune"],
    ]) {
      const r = itb([...c, "--help"]);
      expect(r.status, c.join(" ")).toBe(0);
      expect(r.stdout, c.join(" ")).toMatch(/Examples?:\n {2}itb /);
    }
  });
});
