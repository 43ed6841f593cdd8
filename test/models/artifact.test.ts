import { beforeAll, describe, expect, it } from "vitest";
import { benchFeatures, benchLabels } from "../../src/bench/workload.js";
import { ConfigError, DataError } from "../../src/core/errors.js";
import type { Frame } from "../../src/core/frame.js";
import { silentLogger } from "../../src/core/log.js";
import { mergeSources } from "../../src/data/merge.js";
import { algorithmFor } from "../../src/models/algorithms.js";
import {
  checkFeatures,
  diffArtifacts,
  featureMismatch,
  type ModelArtifact,
  parseArtifact,
  serializeArtifact,
} from "../../src/models/artifact.js";
import { predictModel } from "../../src/models/predict.js";
import { fullTrainWindow, type ModelSpec, modelSpecs, trainModel } from "../../src/models/train.js";
import { sampleCandles } from "../helpers/candles.js";

/** Real BTCUSDT March 2023 on the 1-minute grid with the benchmark's 20 features and 2 labels. */
let frame: Frame;
let features: string[];
beforeAll(async () => {
  const merged = mergeSources([{ name: "BTCUSDT", prefix: "", frame: await sampleCandles(["2023-03"]) }], {
    freqMs: 60_000,
    interpolate: false,
    maxGap: 0,
  });
  // Two weeks keep gb and nn quick; the real 80-minute halt (2023-03-24) is not in them.
  frame = merged.frame.slice(0, 20_160);
  features = benchFeatures(frame);
  benchLabels(frame);
});

const CTX = {
  configHash: "c0ffee",
  itbVersion: "0.0.0-test",
  createdAt: Date.UTC(2024, 0, 2, 3, 4, 5),
  log: silentLogger,
};

function specsFor(
  algorithms: {
    name: string;
    algo: string;
    params?: Record<string, unknown>;
    train?: Record<string, unknown>;
  }[],
): ModelSpec[] {
  return modelSpecs({
    train_feature_sets: [],
    train_features: features,
    labels: ["high_20"],
    algorithms: algorithms.map((a) => ({ params: {}, train: {}, predict: {}, ...a })) as never,
  });
}

async function trained(
  algo: string,
  params: Record<string, unknown> = {},
  isScale = true,
): Promise<ModelArtifact> {
  const [spec] = specsFor([{ name: algo, algo, params, train: { is_scale: isScale } }]);
  if (!spec) throw new Error("no spec");
  const t = await trainModel(
    frame,
    spec,
    fullTrainWindow(frame.length, 120),
    { labelHorizon: 120, trainLength: 0 },
    CTX,
  );
  return t.artifact;
}

function expectIdentical(a: Float64Array, b: Float64Array): void {
  expect(a.length).toBe(b.length);
  let differ = 0;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) differ++;
  expect(differ).toBe(0);
}

describe("model artifact: save and load", () => {
  for (const [algo, params] of [
    ["lc", { C: 1.0, max_iter: 100 }],
    ["gb", { objective: "cross_entropy", max_depth: 2, learning_rate: 0.1, num_boost_round: 30 }],
    ["nn", { layers: [8], n_epochs: 2, bs: 256, learning_rate: 0.01, seed: 7 }],
  ] as const) {
    it(`${algo}: a loaded artifact predicts bit-identically, NaN where a feature is NaN`, async () => {
      const a = await trained(algo, params);
      const text = serializeArtifact(a);
      const b = parseArtifact(text, `/store/${a.name}/v0001.json`);
      const p1 = predictModel(a, frame);
      const p2 = predictModel(b, frame);
      expectIdentical(p1, p2);
      expect(p1.length).toBe(frame.length);
      // The first 119 rows lack SMA 120 (warm-up): NaN, not a guess.
      expect(Number.isNaN(p1[0] as number)).toBe(true);
      expect(Number.isNaN(p1[118] as number)).toBe(true);
      expect(Number.isFinite(p1[200] as number)).toBe(true);
      // Serialising the loaded artifact gives the same text: nothing is lost or added.
      expect(serializeArtifact(b)).toBe(text);
    });
  }

  it("carries its contract: features, scaler, label, algorithm, window, hashes, metrics, version, time", async () => {
    const a = await trained("lc", { C: 0.5 });
    expect(a.format).toBe("itb-model");
    expect(a.format_version).toBe(1);
    expect(a.name).toBe("high_20_lc");
    expect(a.label).toBe("high_20");
    expect(a.features).toEqual(features);
    expect(a.scaler?.mean).toHaveLength(features.length);
    expect(a.algorithm).toMatchObject({
      name: "lc",
      algo: "lc",
      params: { C: 0.5 },
      train: { is_scale: true },
    });
    expect(a.algorithm.resolved).toMatchObject({ C: 0.5, penalty: "l2" });
    expect(a.config_hash).toBe("c0ffee");
    expect(a.itb_version).toBe("0.0.0-test");
    expect(a.created_at).toBe("2024-01-02T03:04:05.000Z");
    expect(a.training.data_fingerprint).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(a.training.label_horizon).toBe(120);
    // The last training row's label window ends inside the table: the last 120 rows are excluded.
    expect(a.training.last_row).toBeLessThanOrEqual(frame.length - 121);
    expect(a.training.label_end_time).toBe(
      new Date(frame.time[a.training.last_row + 120] as number).toISOString(),
    );
    expect(a.metrics.in_sample?.rows).toBe(a.training.rows);
    expect(a.metrics.out_of_sample).toBeNull();
  });

  it("gb without a scaler stores scaler null and the original's fixed LightGBM values", async () => {
    const a = await trained("gb", { max_depth: 1, num_boost_round: 5 }, false);
    expect(a.scaler).toBeNull();
    expect(a.algorithm.resolved).toMatchObject({
      objective: "binary",
      num_leaves: 32,
      is_unbalance: true,
      min_data_in_leaf: Math.floor(0.01 * a.training.rows),
    });
  });

  it("refuses features that differ in names or order, with the exact differences", async () => {
    const a = { ...(await trained("lc")), features: ["a", "b", "c", "d"] };
    let caught: unknown;
    try {
      checkFeatures(a, ["b", "a", "c", "e"], "/store/high_20_lc/v0001.json");
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(DataError);
    expect((caught as Error).message).toBe(
      "/store/high_20_lc/v0001.json: model high_20_lc does not match the features given (model: 4, given: 4):\n" +
        "  missing (the model needs them): d\n" +
        "  extra (the model was not trained on them): e\n" +
        "  misordered: a (model #1, given #2), b (model #2, given #1)\n" +
        "retrain the model with these features, or give it the features it was trained on, in its order",
    );
    expect(() => checkFeatures(a, ["a", "b", "c", "d"])).not.toThrow();
    expect(featureMismatch(["a", "b"], ["a", "b", "b"])).toBe("  given more than once: b");
  });

  it("refuses an unknown format version, another format and a corrupt body", async () => {
    const a = await trained("lc");
    const json = JSON.parse(serializeArtifact(a)) as Record<string, unknown>;
    expect(() => parseArtifact(JSON.stringify({ ...json, format_version: 2 }), "m.json")).toThrow(
      "m.json: unknown model format version 2; this itb reads version 1: upgrade itb to load it, or retrain the model with this itb",
    );
    expect(() => parseArtifact(JSON.stringify({ ...json, format: "pickle" }), "m.json")).toThrow(
      'm.json: not an itb model artifact: "format" is "pickle", expected "itb-model"',
    );
    expect(() => parseArtifact("{", "m.json")).toThrow(/^m\.json: not a model artifact: invalid JSON/);
    const badBody = { ...json, model: { ...(json.model as object), coef: [1, "x"] } };
    expect(() => parseArtifact(JSON.stringify(badBody), "m.json")).toThrow(
      "m.json: lc model coef is not an array of finite numbers",
    );
    const badScaler = { ...json, scaler: { mean: [1], scale: [1] } };
    expect(() => parseArtifact(JSON.stringify(badScaler), "m.json")).toThrow(
      `m.json: scaler.mean is not an array of ${features.length} numbers`,
    );
    const svc = { ...json, algorithm: { ...(json.algorithm as object), algo: "svc" } };
    expect(() => parseArtifact(JSON.stringify(svc), "m.json")).toThrow(
      'm.json: cannot load the model: algorithm.algo: algo "svc" (support vector classifier) is not supported yet; supported: lc, gb, nn',
    );
  });

  it("diff names what changed: params, features, window, metrics", async () => {
    const a = await trained("lc", { C: 1 });
    const b = { ...(await trained("lc", { C: 0.25 })), features: [...features.slice(1), "extra_feature"] };
    const sections = Object.fromEntries(diffArtifacts(a, b).map((s) => [s.section, s.lines]));
    expect(sections.algorithm).toEqual(
      expect.arrayContaining(["params.C: 1 → 0.25", "resolved.C: 1 → 0.25"]),
    );
    expect(sections.features).toEqual([`+ extra_feature`, `- ${features[0]}`]);
    expect(sections.metrics?.some((l) => l.startsWith("in-sample auc: "))).toBe(true);
    expect(diffArtifacts(a, a)).toEqual([]);
  });
});

describe("algorithm registry", () => {
  it("has lc, gb and nn; svc is not supported yet; anything else is unknown", () => {
    for (const algo of ["lc", "gb", "nn"]) expect(algorithmFor(algo).algo).toBe(algo);
    expect(() => algorithmFor("svc")).toThrow(ConfigError);
    expect(() => algorithmFor("svc")).toThrow(
      'algorithms: algo "svc" (support vector classifier) is not supported yet; supported: lc, gb, nn',
    );
    expect(() => algorithmFor("xgboost")).toThrow(
      'algorithms: unknown algo "xgboost"; supported: lc, gb, nn',
    );
    expect(() => algorithmFor("constructor")).toThrow('unknown algo "constructor"');
  });
});
