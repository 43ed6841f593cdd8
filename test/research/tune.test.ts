import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { overfitJson, overfitOdds } from "../../src/backtest/overfit.js";
import { loadConfig } from "../../src/config/index.js";
import { silentLogger } from "../../src/core/log.js";
import { readFrame } from "../../src/data/store/index.js";
import {
  ExperimentStore,
  experimentStoreFile,
  experimentsFolder,
} from "../../src/research/experiments/store.js";
import { foldPlan, TrialEvaluator } from "../../src/research/tune/evaluate.js";
import { runTune } from "../../src/research/tune/run.js";
import { itb, spawnItb } from "../helpers/cli.js";
import { SAMPLE } from "../helpers/paths.js";
import { smallPipelineConfig } from "../helpers/pipelineConfig.js";

/**
 * `itb tune` on the bundled sample (BTCUSDT 1m, March 2023, imported and merged once): the
 * folds' purge, the feature cache, the CLI end to end with the auc and the profit objectives,
 * the best config, the holdout, the overfitting odds from the stored series, and Ctrl-C.
 */

let dir = "";
let config = "";
let data = "";
const HORIZON = 60;
const REDIS = "redis://127.0.0.1:6379";

/** A space over the model's C, a feature window list and the buy threshold. */
const SPACE = {
  parameters: {
    "algorithms[name=lc].params.C": { float: [0.001, 10], log: true },
    "feature_sets[0].config.windows": {
      choice: [
        [1, 5, 15],
        [1, 5, 15, 30],
      ],
    },
    "signal_sets[1].config.parameters.buy_signal_threshold": { float: [0.0, 0.1] },
  },
};

function writeSpace(name: string, space: object): string {
  const f = join(dir, name);
  writeFileSync(f, JSON.stringify(space));
  return f;
}

function store(): ExperimentStore {
  return ExperimentStore.open(experimentStoreFile(experimentsFolder(data, "BTCUSDT")), { readonly: true });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "itb-tune-"));
  data = join(dir, "data");
  config = join(dir, "config.jsonc");
  // a comment the best config keeps
  writeFileSync(config, `// tuned in tests\n${JSON.stringify(smallPipelineConfig(data), null, 2)}\n`);
  const imp = itb([
    "import",
    "--config",
    config,
    "--interval",
    "1m",
    "--source",
    SAMPLE,
    "--from",
    "2023-03",
    "--to",
    "2023-04",
  ]);
  expect(imp.status, imp.stderr).toBe(0);
  const merge = itb(["merge", "--config", config]);
  expect(merge.status, merge.stderr).toBe(0);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("tuning folds", () => {
  it("are purged: no training row's label window reaches a predicted row, nor the holdout", async () => {
    const frame = await readFrame(join(data, "BTCUSDT", "data.parquet"));
    const n = frame.length;
    expect(n).toBe(44_640);
    const holdoutRow = Math.floor(n * 0.8);
    for (const K of [1, 3, 4, 6]) {
      const plan = foldPlan(frame.time, holdoutRow, K, { labelHorizon: HORIZON, trainLength: 0 });
      const size = Math.floor((holdoutRow - HORIZON) / (K + 1));
      expect(plan.steps.length).toBe(K);
      expect(plan.steps.at(-1)?.predictEnd).toBe(holdoutRow - HORIZON);
      for (const [k, s] of plan.steps.entries()) {
        expect(s.predictEnd - s.predictStart).toBe(size);
        if (k > 0) expect(s.predictStart).toBe(plan.steps[k - 1]?.predictEnd);
        // the last training candidate's label looks at rows up to trainEnd − 1 + horizon
        expect(s.trainEnd - 1 + HORIZON).toBeLessThan(s.predictStart);
        expect(s.trainEnd - 1 + HORIZON).toBe(s.predictStart - 1);
      }
      expect(plan.steps[0]?.predictStart).toBe(holdoutRow - HORIZON - K * size);
    }
    expect(() => foldPlan(frame.time, 64, 4, { labelHorizon: HORIZON, trainLength: 0 })).toThrow(
      "--folds 4: the tuning period (4 rows before the holdout, less label_horizon 60) is too short for 5 blocks",
    );
    expect(() => foldPlan(frame.time, 100, 4, { labelHorizon: HORIZON, trainLength: 0 })).toThrow(
      "--folds 4: the first fold predicts from row 8 and label_horizon 60 purges every row before it, so it has nothing to train on; use fewer folds or a later holdout",
    );
  });

  it("train on rows whose labels end before the fold (checked on the trained models) and cache features by their sets", async () => {
    const frame = await readFrame(join(data, "BTCUSDT", "data.parquet"));
    const loaded = loadConfig(config);
    const ev = new TrialEvaluator(frame, {
      objective: "auc",
      folds: 2,
      holdoutRow: Math.floor(frame.length * 0.8),
      configFile: config,
      log: silentLogger,
      itbVersion: "test",
      createdAt: 0,
    });
    const t = await ev.prepare(loaded);
    const f = await ev.fold(t, 1);
    const step = t.plan.steps[1];
    expect(f.metrics.rows).toBe((step?.predictEnd ?? 0) - (step?.predictStart ?? 0));
    expect(f.metrics.value).toBeCloseTo(
      ((f.metrics.metrics.auc_high_10_lc ?? 0) + (f.metrics.metrics.auc_low_10_lc ?? 0)) / 2,
      12,
    );
    expect(f.series).toHaveLength(2);
    await ev.prepare(loaded);
    expect(ev.cacheStats).toEqual({ computed: 1, reused: 1 });
  });
});

describe("tuning folds against itb predict-rolling", () => {
  it("a trial's fold AUCs are those of the walk-forward stage over the same rows", async () => {
    const n = 44_640;
    const holdoutRow = Math.floor(n * 0.8);
    const end = holdoutRow - HORIZON;
    const size = Math.floor(end / 5);
    // the pipeline's walk-forward over the tuning period: 4 steps of the same rows
    const c = smallPipelineConfig(data) as Record<string, unknown>;
    c.rolling_predict = {
      data_start: 0,
      data_end: end,
      prediction_start: null,
      prediction_size: size,
      prediction_steps: 4,
    };
    const rolling = join(dir, "rolling.jsonc");
    writeFileSync(rolling, JSON.stringify(c, null, 2));
    const p = itb(["pipeline", "--config", rolling, "--from", "features", "--to", "predict-rolling"]);
    expect(p.status, p.stderr).toBe(0);
    const metrics = JSON.parse(readFileSync(join(data, "BTCUSDT", "predictions.metrics.json"), "utf8")) as {
      steps: { predict: string[]; models: Record<string, { out_of_sample: { auc: number } }> }[];
    };
    // one trial of the base config (its only choice is the config's own value)
    const space = writeSpace("space-one.jsonc", {
      parameters: { "algorithms[name=lc].params.C": { choice: [1.0] } },
    });
    const result = await runTune({
      configFile: config,
      spaceFile: space,
      trials: 1,
      objective: "auc",
      sampler: "random",
      seed: 0,
      folds: 4,
      halving: 0,
      log: silentLogger,
      itbVersion: "test",
    });
    const trial = result.trials[0];
    expect(trial?.status).toBe("complete");
    expect(trial?.folds).toHaveLength(4);
    for (const [k, f] of (trial?.folds ?? []).entries()) {
      const step = metrics.steps[k];
      expect(f.start).toBe(step?.predict[0]);
      for (const m of ["high_10_lc", "low_10_lc"]) {
        const auc = step?.models[m]?.out_of_sample.auc;
        expect(typeof auc === "number" && auc > 0 && auc < 1).toBe(true);
        expect(f.metrics[`auc_${m}`]).toBe(auc);
      }
    }
  });
});

describe("itb tune", () => {
  it("auc: records every trial, writes a best config with the trial's hash, scores the holdout once", async () => {
    const space = writeSpace("space.jsonc", SPACE);
    const r = itb([
      "tune",
      "--config",
      config,
      "--space",
      space,
      "--trials",
      "6",
      "--seed",
      "5",
      "--folds",
      "4",
    ]);
    expect(r.stderr).not.toContain("internal error");
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines.filter((l) => /^trial [0-5] /.test(l))).toHaveLength(6);
    const s = store();
    const e = s.experiments().at(-1);
    if (e === undefined) throw new Error("no experiment");
    const trials = s.trials(e.id);
    s.close();
    expect(e.status).toBe("finished");
    expect(trials.map((t) => t.number)).toEqual([0, 1, 2, 3, 4, 5]);
    const holdoutStart = Date.parse(String(e.settings.holdout));
    for (const t of trials) {
      expect(["complete", "pruned"]).toContain(t.status);
      expect(t.folds.length).toBe(t.status === "complete" ? 4 : t.folds.length);
      if (t.status === "pruned") expect([1, 3]).toContain(t.folds.length);
      for (const f of t.folds) expect(Date.parse(f.end)).toBeLessThanOrEqual(holdoutStart);
      if (t.status === "complete") {
        const mean = t.folds.reduce((a, f) => a + (f.value as number), 0) / 4;
        expect(t.value).toBeCloseTo(mean, 12);
        expect(t.series).toHaveLength(8);
      }
    }
    const best = trials.find((t) => t.number === e.bestTrial);
    if (best === undefined) throw new Error("no best trial");
    const completeValues = trials.filter((t) => t.status === "complete").map((t) => t.value as number);
    expect(best.value).toBe(Math.max(...completeValues));
    // best.jsonc: the base file with the winner's values, a header, the base's comment kept
    const file = e.bestConfig as string;
    const text = readFileSync(file, "utf8");
    expect(text).toMatch(new RegExp(`^// itb tune: ${e.id}, trial ${best.number} of 6`));
    expect(text).toContain("// tuned in tests");
    const loaded = loadConfig(file);
    expect(loaded.hash).toBe(best.configHash);
    expect(loaded.config.algorithms[0]?.params.C).toBe(best.params["algorithms[name=lc].params.C"]);
    const check = itb(["config", "check", file]);
    expect(check.status, check.stderr).toBe(0);
    expect(JSON.parse(check.stdout).config_hash).toBe(best.configHash);
    // the holdout: the last 20 % of the rows, scored once, for the chosen trial only
    const h = e.holdout as { start: string; rows: number; value: number; folds_mean: number };
    expect(h.rows).toBe(44_640 - Math.floor(44_640 * 0.8));
    expect(h.start).toBe(e.settings.holdout);
    expect(h.value).toBeGreaterThan(0);
    expect(h.folds_mean).toBeCloseTo(best.value as number, 12);
    expect(r.stdout).toContain(
      `holdout from ${h.start} (8,928 rows, scored once): auc ${h.value.toFixed(4)}`,
    );
    expect(r.stdout).toContain(`best config: ${file}`);
    const o = e.overfit as { pbo: number | null; pbo_blocks: number | null; deflated_sharpe: null };
    expect(o.deflated_sharpe).toBeNull();
    if (o.pbo !== null) expect(o.pbo_blocks).toBe(4);
    // itb experiments reads what the tuner recorded: the same best trial, holdout and PBO
    const listed = itb(["experiments", "list", "--config", config, "--json"]);
    expect(listed.status, listed.stderr).toBe(0);
    const row = (JSON.parse(listed.stdout) as Record<string, unknown>[]).find((x) => x.id === e.id);
    expect(row).toMatchObject({
      status: "finished",
      objective: "auc",
      best_trial: best.number,
      best_value: best.value,
      holdout: h.value,
      pbo: o.pbo,
      dsr: null,
    });
    const shown = itb(["experiments", "show", e.id, "--config", config, "--html"]);
    expect(shown.status, shown.stderr).toBe(0);
    expect(shown.stdout).toContain(e.id);
    const page = readFileSync(join(dirname(file), "report.html"), "utf8");
    expect(page).toContain(e.id);
  });

  it("same seed, same trials' parameters; on one thread or two, the same trials' results", () => {
    const space = writeSpace("space-seed.jsonc", SPACE);
    const args = ["tune", "--config", config, "--space", space, "--trials", "4", "--sampler", "random"];
    const a = itb([...args, "--seed", "9", "--halving", "0", "--threads", "1", "--json"]);
    const b = itb([...args, "--seed", "9", "--halving", "0", "--threads", "2", "--json"]);
    const c = itb([...args, "--seed", "10", "--json"]);
    for (const r of [a, b, c]) expect(r.status, r.stderr).toBe(0);
    type Out = {
      experiment: { settings: { threads: number } };
      trials: { params: object; value: number; folds: object[] }[];
    };
    const [ja, jb, jc] = [a, b, c].map((r) => JSON.parse(r.stdout) as Out) as [Out, Out, Out];
    expect([ja.experiment.settings.threads, jb.experiment.settings.threads]).toEqual([1, 2]);
    expect(jb.trials.map((t) => t.params)).toEqual(ja.trials.map((t) => t.params));
    expect(jb.trials.map((t) => [t.value, t.folds])).toEqual(ja.trials.map((t) => [t.value, t.folds]));
    expect(jc.trials[0]?.params).not.toEqual(ja.trials[0]?.params);
  });

  it("profit: the overfitting odds are those of the stored daily returns", async () => {
    const space = writeSpace("space-profit.jsonc", {
      parameters: {
        "signal_sets[1].config.parameters.buy_signal_threshold": { float: [0.0, 0.1] },
        "signal_sets[1].config.parameters.sell_signal_threshold": { float: [-0.1, 0.0] },
      },
    });
    const result = await runTune({
      configFile: config,
      spaceFile: space,
      trials: 6,
      objective: "profit",
      sampler: "random",
      seed: 1,
      folds: 4,
      halving: 0,
      log: silentLogger,
      itbVersion: "test",
    });
    // thresholds only: the features and labels were computed once (base, trials, holdout)
    expect(result.cache).toEqual({ computed: 1, reused: 7 });
    const s = store();
    const e = s.experiment(result.experiment.id);
    const trials = s.trials(result.experiment.id);
    s.close();
    if (e === undefined || e.bestTrial === null) throw new Error("no experiment");
    expect(trials.every((t) => t.status === "complete")).toBe(true);
    const days = trials[0]?.series?.length ?? 0;
    expect(days).toBeGreaterThan(16);
    for (const t of trials) {
      expect(t.series).toHaveLength(days);
      // compound of the folds' profits
      const g = t.folds.reduce((a, f) => a * (1 + (f.value as number) / 100), 1);
      expect(t.value).toBeCloseTo((g - 1) * 100, 9);
      // and of the daily returns
      const d = (t.series as number[]).reduce((a, x) => a * (1 + x), 1);
      expect(t.value).toBeCloseTo((d - 1) * 100, 6);
    }
    const returns = new Float64Array(trials.flatMap((t) => t.series as number[]));
    const expected = overfitJson(
      overfitOdds(returns, trials.length, days, e.bestTrial, { trial: "trial", period: "day" }),
    );
    const o = e.overfit as Record<string, unknown>;
    expect(o.pbo).toBe(expected.pbo);
    expect(o.deflated_sharpe).toBe(expected.deflated_sharpe);
    expect(o.trials).toBe(6);
    expect(e.holdout).not.toBeNull();
  });

  it("a trial stops at its first fold without a score: it fails there, saying which models", async () => {
    const space = writeSpace("space-oneclass.jsonc", {
      parameters: { "label_sets[0].config.thresholds": { choice: [[1.0], [50.0]] } },
    });
    const result = await runTune({
      configFile: config,
      spaceFile: space,
      trials: 4,
      objective: "auc",
      sampler: "random",
      seed: 2,
      folds: 4,
      halving: 0,
      threads: 1,
      log: silentLogger,
      itbVersion: "test",
    });
    const byThreshold = (v: number) =>
      result.trials.filter((t) => JSON.stringify(t.params["label_sets[0].config.thresholds"]) === `[${v}]`);
    expect(byThreshold(50).length).toBeGreaterThan(0);
    expect(byThreshold(1).length).toBeGreaterThan(0);
    for (const t of byThreshold(50)) {
      // a 50 % rise within an hour never happens: high_10 has one class, its model is not trained
      expect(t.status).toBe("failed");
      expect(t.folds).toHaveLength(1);
      expect(t.error).toBe(
        "fold 0 has no score (no AUC for high_10_lc: a model that could not be trained, or a label with one class only in the fold)",
      );
    }
    for (const t of byThreshold(1)) expect(t.status).toBe("complete");
  });

  it("a trial whose config is invalid fails with the config's error; a bad space path is a one-line error, status 2", () => {
    const bad = writeSpace("space-bad.jsonc", {
      parameters: { "algorithms[name=lc].params.C": { choice: [1.0, "lots"] } },
    });
    const r = itb([
      "tune",
      "--config",
      config,
      "--space",
      bad,
      "--trials",
      "4",
      "--sampler",
      "random",
      "--json",
    ]);
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as {
      trials: { status: string; error: string | null; params: Record<string, unknown> }[];
    };
    const failed = j.trials.filter((t) => t.params["algorithms[name=lc].params.C"] === "lots");
    expect(failed.length).toBeGreaterThan(0);
    for (const t of failed) {
      expect(t.status).toBe("failed");
      expect(t.error).toContain("C");
    }
    const missing = writeSpace("space-missing.jsonc", {
      parameters: { "algorithms[name=gb].params.C": { float: [1, 2] } },
    });
    const m = itb(["tune", "--config", config, "--space", missing]);
    expect(m.status).toBe(2);
    expect(m.stderr.trim()).toBe(
      `error: ${missing}: parameters."algorithms[name=gb].params.C": algorithms[name=gb] does not exist (names in algorithms: lc) in ${config}`,
    );
    const t = itb(["tune", "--config", config, "--space", missing, "--trials", "0"]);
    expect(t.status).toBe(2);
    expect(t.stderr.trim()).toBe('error: --trials must be an integer ≥ 1, got "0"');
  });

  it("--queue: the trials run on an itb worker as task jobs, with the results of a local run", async () => {
    const prefix = `itbtune-${process.pid}-${randomBytes(4).toString("hex")}`;
    const space = writeSpace("space-queue.jsonc", SPACE);
    const worker = spawnItb(["worker", "--queue", REDIS, "--queue-prefix", prefix, "--log-format", "json"]);
    try {
      const args = [
        "tune",
        "--config",
        config,
        "--space",
        space,
        "--trials",
        "3",
        "--sampler",
        "random",
        "--seed",
        "4",
      ];
      const q = spawnItb([...args, "--halving", "0", "--queue", REDIS, "--queue-prefix", prefix, "--json"]);
      const rq = await q.done;
      expect(rq.status, rq.stderr).toBe(0);
      const local = itb([...args, "--halving", "0", "--threads", "1", "--json"]);
      expect(local.status, local.stderr).toBe(0);
      type Out = {
        experiment: { settings: { queue: unknown } };
        trials: { params: object; value: number; folds: object[] }[];
      };
      const [jq, jl] = [rq.stdout, local.stdout].map((o) => JSON.parse(o) as Out) as [Out, Out];
      expect(jq.experiment.settings.queue).toEqual({ prefix });
      expect(jq.trials.map((t) => [t.params, t.value, t.folds])).toEqual(
        jl.trials.map((t) => [t.params, t.value, t.folds]),
      );
      // the trials ran on the worker
      const done = worker
        .stderr()
        .split("\n")
        .filter((l) => l.includes('"task job done"'));
      expect(done.length).toBe(3);
    } finally {
      worker.child.kill("SIGTERM");
      await worker.done;
      const redis = new Redis(REDIS);
      const left = await redis.keys(`${prefix}:*`);
      if (left.length > 0) await redis.del(...left);
      redis.disconnect();
    }
  });

  it("SIGINT: the trial in flight finishes, no new one starts, exit 130, the experiment is interrupted", async () => {
    // a feature set that takes a while and whose parameter the space varies: every trial recomputes it
    writeFileSync(
      join(dir, "slow.mjs"),
      `import { setTimeout as sleep } from "node:timers/promises";
export const slow = {
  inputs: () => ["close"],
  outputs: () => ["slow_close"],
  warmup: () => 0,
  batch: async (f) => { await sleep(400); return [new Float64Array(f.get("close"))]; },
};
`,
    );
    const slowConfig = join(dir, "slow.jsonc");
    const base = smallPipelineConfig(data, [{ generator: "./slow.mjs:slow", config: { tag: 0 } }]);
    writeFileSync(slowConfig, JSON.stringify(base, null, 2));
    const space = writeSpace("space-slow.jsonc", {
      parameters: { "feature_sets[2].config.tag": { float: [0, 1] } },
    });
    const p = spawnItb([
      "tune",
      "--config",
      slowConfig,
      "--space",
      space,
      "--trials",
      "50",
      "--halving",
      "0",
    ]);
    await p.waitFor(/^trial +1 /m, { stream: "stdout" });
    p.child.kill("SIGINT");
    const r = await p.done;
    expect(r.status, r.stderr).toBe(130);
    expect(r.stderr).toContain("interrupted: finishing the trial in flight, starting no new one");
    const s = store();
    const e = s.experiments().at(-1);
    if (e === undefined) throw new Error("no experiment");
    const trials = s.trials(e.id);
    s.close();
    expect(e.status).toBe("interrupted");
    const shown = r.stdout.split("\n").filter((l) => l.startsWith("trial "));
    expect(trials).toHaveLength(shown.length);
    expect(trials.length).toBeGreaterThanOrEqual(2);
    expect(trials.length).toBeLessThan(50);
    expect(trials.every((t) => t.status === "complete")).toBe(true);
    expect(e.holdout).toBeNull();
    expect(e.bestConfig).toBeNull();
    expect(r.stderr).toContain(`${e.id} is marked interrupted, its finished trials are kept`);
  });
});
