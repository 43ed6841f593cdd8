import { describe, expect, it } from "vitest";
import { parseConfigText } from "../../src/config/index.js";
import { ConfigError, DataError } from "../../src/core/errors.js";
import { Frame } from "../../src/core/frame.js";
import { silentLogger } from "../../src/core/log.js";
import { serializeArtifact } from "../../src/models/artifact.js";
import { predictModel, scorePredictions, trainingSpan } from "../../src/models/predict.js";
import {
  fullTrainWindow,
  type ModelSpec,
  modelSpecs,
  selectTrainingRows,
  trainModel,
} from "../../src/models/train.js";

const CTX = { configHash: "h", itbVersion: "t", createdAt: 0, log: silentLogger };

function config(extra: Record<string, unknown>) {
  return parseConfigText(
    JSON.stringify({
      symbol: "BTCUSDT",
      train_features: ["f1", "f2"],
      labels: ["high_20", "low_20"],
      algorithms: [
        { name: "lc", algo: "lc", params: { C: 1 } },
        { name: "gbx", algo: "gb", params: { num_boost_round: 5 } },
      ],
      ...extra,
    }),
    "test.jsonc",
  ).config;
}

/** A deterministic pseudo-random frame: two informative features, a label, a minute grid. */
function synthetic(n: number, seed = 1): Frame {
  let s = seed;
  const rnd = () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
  const time = Float64Array.from({ length: n }, (_, i) => Date.UTC(2023, 0, 1) + i * 60_000);
  const f1 = new Float64Array(n);
  const f2 = new Float64Array(n);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const a = rnd() * 10 + 100;
    const b = rnd() - 0.5;
    f1[i] = a;
    f2[i] = b;
    y[i] = rnd() < 1 / (1 + Math.exp(-(a - 105 + 4 * b))) ? 1 : 0;
  }
  return new Frame(time, [
    ["f1", f1],
    ["f2", f2],
    ["high_20", y],
  ]);
}

function lcSpec(extraTrain: Record<string, unknown> = {}): ModelSpec {
  const [spec] = modelSpecs({
    train_feature_sets: [],
    train_features: ["f1", "f2"],
    labels: ["high_20"],
    algorithms: [
      { name: "lc", algo: "lc", params: {}, train: { is_scale: true, ...extraTrain }, predict: {} },
    ] as never,
  });
  if (!spec) throw new Error("no spec");
  return spec;
}

describe("which models a config trains (the original's train_feature_sets)", () => {
  it("without train_feature_sets: every label × algorithm on train_features, named <label>_<name>", () => {
    const specs = modelSpecs(config({}));
    expect(specs.map((s) => s.name)).toEqual(["high_20_lc", "high_20_gbx", "low_20_lc", "low_20_gbx"]);
    expect(specs.every((s) => s.features.join() === "f1,f2")).toBe(true);
    expect(specs[1]?.algorithm).toMatchObject({ name: "gbx", algo: "gb" });
  });

  it("a set's labels, functions/algorithms and columns/features override the defaults", () => {
    const specs = modelSpecs(
      config({
        train_feature_sets: [
          { generator: "train_features", config: { labels: ["low_20"], functions: ["lc"], columns: ["f2"] } },
          {
            generator: "train_features",
            config: {
              features: ["f1"],
              algorithms: [
                {
                  name: "small",
                  algo: "lc",
                  params: { C: 0.1, is_scale: true, length: 100, every_nth_row: 3 },
                },
              ],
            },
          },
        ],
      }),
    );
    expect(specs.map((s) => [s.name, s.features.join()])).toEqual([
      ["low_20_lc", "f2"],
      ["high_20_small", "f1"],
      ["low_20_small", "f1"],
    ]);
    // The original's older configs put the training keys into params; they are read from there too.
    expect(specs[1]).toMatchObject({ isScale: true, length: 100, everyNthRow: 3, modelParams: { C: 0.1 } });
  });

  it("hyperparameters may also sit in train, as some of the original's versions read them", () => {
    const [spec] = modelSpecs(
      config({
        labels: ["high_20"],
        algorithms: [
          { name: "g", algo: "gb", train: { objective: "binary", num_boost_round: 7, length: 50 } },
        ],
      }),
    );
    expect(spec?.modelParams).toEqual({ objective: "binary", num_boost_round: 7 });
    expect(spec?.length).toBe(50);
    expect(() =>
      modelSpecs(
        config({
          algorithms: [{ name: "g", algo: "gb", params: { max_depth: 1 }, train: { max_depth: 2 } }],
        }),
      ),
    ).toThrow('algorithms[0]: "max_depth" is set in both train (2) and params (1)');
  });

  it("refuses what it cannot train, naming the config path", () => {
    const svc = () => modelSpecs(config({ algorithms: [{ name: "s", algo: "svc" }] }));
    expect(svc).toThrow(ConfigError);
    expect(svc).toThrow(
      'algorithms[0].algo: algo "svc" (support vector classifier) is not supported yet; supported: lc, gb, nn',
    );
    expect(() => modelSpecs(config({ algorithms: [{ name: "x", algo: "rf" }] }))).toThrow(
      'algorithms[0].algo: unknown algo "rf"; supported: lc, gb, nn',
    );
    expect(() => modelSpecs(config({ algorithms: [{ name: "x", algo: "lc", params: { C: -1 } }] }))).toThrow(
      /^algorithms\[0\]\.params: lc params are invalid:\n {2}"C" must be a positive number, got -1$/,
    );
    expect(() =>
      modelSpecs(config({ algorithms: [{ name: "x", algo: "lc", train: { shifts: [1, 2] } }] })),
    ).toThrow("algorithms[0].train.shifts: shifted feature copies are not supported yet; remove shifts");
    expect(() =>
      modelSpecs(
        config({
          train_feature_sets: [
            { generator: "train_features", config: {} },
            { generator: "train_features", config: { labels: ["high_20"], functions: ["lc"] } },
          ],
        }),
      ),
    ).toThrow(
      "train_feature_sets[1]: algorithms[0]: model high_20_lc is also trained by train_feature_sets[0]: algorithms[0]; give the algorithm another name",
    );
    expect(() => modelSpecs(config({ train_features: [] }))).toThrow(
      "config: no features to train on: set train_features",
    );
    expect(() =>
      modelSpecs(
        config({ train_feature_sets: [{ generator: "train_features", config: { functions: ["nope"] } }] }),
      ),
    ).toThrow(
      'train_feature_sets[0].config.functions[0]: no algorithm named "nope" in algorithms (names: lc, gbx)',
    );
  });
});

describe("training rows", () => {
  const nan = Number.NaN;
  it("drops NaN features and labels, keeps the window, then train_length, length and every n-th from the end", () => {
    const f = Float64Array.from([1, nan, 3, 4, 5, 6, 7, 8, 9, 10]);
    const g = Float64Array.from([1, 2, 3, Number.POSITIVE_INFINITY, 5, 6, 7, 8, 9, 10]);
    const y = Float64Array.from([0, 1, nan, 1, 0, 1, 0, 1, 0, 1]);
    const rows = (
      w: { start: number; end: number },
      l: { trainLength?: number; length?: number; everyNthRow?: number },
    ) => Array.from(selectTrainingRows([f, g], y, w, { trainLength: 0, length: 0, everyNthRow: 1, ...l }));
    expect(rows({ start: 0, end: 10 }, {})).toEqual([0, 4, 5, 6, 7, 8, 9]);
    expect(rows({ start: 0, end: 8 }, {})).toEqual([0, 4, 5, 6, 7]);
    expect(rows({ start: 5, end: 10 }, {})).toEqual([5, 6, 7, 8, 9]);
    expect(rows({ start: 0, end: 10 }, { trainLength: 3 })).toEqual([7, 8, 9]);
    expect(rows({ start: 0, end: 10 }, { trainLength: 5, length: 2 })).toEqual([8, 9]);
    expect(rows({ start: 0, end: 10 }, { everyNthRow: 3 })).toEqual([0, 6, 9]);
    expect(rows({ start: 0, end: 10 }, { trainLength: 4, everyNthRow: 2 })).toEqual([7, 9]);
  });

  it("itb train excludes the last label_horizon rows even where their labels are filled in", async () => {
    const frame = synthetic(2000);
    const t = await trainModel(
      frame,
      lcSpec(),
      fullTrainWindow(frame.length, 120),
      { labelHorizon: 120, trainLength: 0 },
      CTX,
    );
    expect(t.artifact.training.last_row).toBe(2000 - 120 - 1);
    expect(t.artifact.training.rows).toBe(1880);
    expect(t.artifact.training.first_row).toBe(0);
  });

  it("train_length and the algorithm's length keep the latest rows", async () => {
    const frame = synthetic(2000);
    const limits = { labelHorizon: 10, trainLength: 500 };
    const a = (await trainModel(frame, lcSpec(), fullTrainWindow(2000, 10), limits, CTX)).artifact;
    expect([a.training.first_row, a.training.last_row, a.training.rows]).toEqual([1490, 1989, 500]);
    const b = (
      await trainModel(
        frame,
        lcSpec({ length: 200, every_nth_row: 4 }),
        fullTrainWindow(2000, 10),
        limits,
        CTX,
      )
    ).artifact;
    expect([b.training.first_row, b.training.last_row, b.training.rows]).toEqual([1793, 1989, 50]);
    expect(b.training).toMatchObject({ train_length: 500, length: 200, every_nth_row: 4 });
  });

  it("the scaler is fitted on the training rows only", async () => {
    const frame = synthetic(1000);
    const a = (
      await trainModel(frame, lcSpec(), { start: 100, end: 300 }, { labelHorizon: 0, trainLength: 0 }, CTX)
    ).artifact;
    const f1 = frame.get("f1").subarray(100, 300);
    const mean = f1.reduce((s, v) => s + v, 0) / f1.length;
    expect(a.scaler?.mean[0]).toBeCloseTo(mean, 10);
  });

  it("is deterministic, and the fingerprint follows the training data", async () => {
    const frame = synthetic(1500);
    const w = fullTrainWindow(1500, 5);
    const limits = { labelHorizon: 5, trainLength: 0 };
    const a = (await trainModel(frame, lcSpec(), w, limits, CTX)).artifact;
    const b = (await trainModel(frame, lcSpec(), w, limits, CTX)).artifact;
    expect(serializeArtifact(a)).toBe(serializeArtifact(b));
    frame.get("f2")[700] = 0.123;
    const c = (await trainModel(frame, lcSpec(), w, limits, CTX)).artifact;
    expect(c.training.data_fingerprint).not.toBe(a.training.data_fingerprint);
    // A row outside the training window does not change it.
    frame.get("f2")[1499] = 0.5;
    const d = (await trainModel(frame, lcSpec(), w, limits, CTX)).artifact;
    expect(d.training.data_fingerprint).toBe(c.training.data_fingerprint);
  });

  it("a window with one class only cannot be trained: a DataError whose action is skip", async () => {
    const frame = synthetic(500);
    frame.get("high_20").fill(0);
    const run = trainModel(
      frame,
      lcSpec(),
      fullTrainWindow(500, 0),
      { labelHorizon: 0, trainLength: 0 },
      CTX,
    );
    await expect(run).rejects.toThrow(DataError);
    await expect(run).rejects.toMatchObject({ action: "skip" });
    await expect(run).rejects.toThrow(
      /high_20_lc: the label has one class only in .* \(0 of 500 rows are 1\)/,
    );
  });
});

describe("predicting with a trained model", () => {
  it("one output per input row; NaN for rows with a NaN feature", async () => {
    const frame = synthetic(1000);
    const a = (
      await trainModel(frame, lcSpec(), fullTrainWindow(1000, 0), { labelHorizon: 0, trainLength: 0 }, CTX)
    ).artifact;
    frame.get("f1")[10] = Number.NaN;
    frame.get("f2")[20] = Number.NEGATIVE_INFINITY;
    const p = predictModel(a, frame);
    expect(p.length).toBe(1000);
    expect(Number.isNaN(p[10] as number)).toBe(true);
    expect(Number.isNaN(p[20] as number)).toBe(true);
    expect(p.filter((v) => Number.isNaN(v)).length).toBe(2);
    const part = predictModel(a, frame, { start: 5, end: 25 });
    expect(part.length).toBe(20);
    expect(Object.is(part[0], p[5])).toBe(true);
    expect(() => predictModel(a, new Frame(frame.time, [["f1", frame.get("f1")]]))).toThrow(
      "the table lacks 1 feature(s) model high_20_lc needs: f2",
    );
  });

  it("scoring splits rows into in-sample, out-of-sample and those whose future the model saw", async () => {
    const frame = synthetic(1000);
    const a = (
      await trainModel(frame, lcSpec(), { start: 200, end: 600 }, { labelHorizon: 50, trainLength: 0 }, CTX)
    ).artifact;
    // Rows 200..599 trained; their labels used data up to row 649.
    const s = scorePredictions(frame.time, frame.get("high_20"), predictModel(a, frame), trainingSpan(a));
    expect(s).toMatchObject({
      rows: 1000,
      in_sample: true,
      in_sample_rows: 400,
      out_of_sample_rows: 350,
      overlapping_future_rows: 250,
    });
    expect(s.out_of_sample_metrics?.rows).toBe(350);
    expect(s.metrics?.rows).toBe(1000);
  });
});
