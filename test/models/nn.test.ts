import { beforeAll, describe, expect, it } from "vitest";
import { benchFeatures, benchLabels } from "../../src/bench/workload.js";
import { ConfigError, DataError } from "../../src/core/errors.js";
import type { Frame } from "../../src/core/frame.js";
import { loadArchiveMonths } from "../../src/data/archive/import.js";
import { mergeSources } from "../../src/data/merge.js";
import { lcParams, predictLc, trainLc } from "../../src/models/lc.js";
import { rocAuc } from "../../src/models/metrics.js";
import { type NnModel, type NnParams, nnParams, predictNn, trainNn } from "../../src/models/nn.js";
import { applyScaler, fitScaler } from "../../src/models/scaler.js";
import { SAMPLE } from "../helpers/paths.js";

/** The test's own generator (mulberry32), independent of the one under test. */
function mulberry(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gauss(rnd: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
}

/** Four clusters at (±1, ±1), σ = 0.25; label 1 where the signs differ (XOR). */
function xorData(n: number, seed: number): { cols: Float64Array[]; y: Float64Array } {
  const rnd = mulberry(seed);
  const a = new Float64Array(n);
  const b = new Float64Array(n);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const sa = rnd() < 0.5 ? -1 : 1;
    const sb = rnd() < 0.5 ? -1 : 1;
    a[i] = sa + 0.25 * gauss(rnd);
    b[i] = sb + 0.25 * gauss(rnd);
    y[i] = sa !== sb ? 1 : 0;
  }
  return { cols: [a, b], y };
}

/** d Gaussian features; label 1 where w·x > 0.3, rows within 0.2 of the boundary dropped. */
function linearData(n: number, d: number, seed: number, flip = 0): { cols: Float64Array[]; y: Float64Array } {
  const rnd = mulberry(seed);
  const w = Array.from({ length: d }, (_, j) => (j % 2 === 0 ? 1 : -0.5) / Math.sqrt(d));
  const cols = Array.from({ length: d }, () => new Float64Array(n));
  const y = new Float64Array(n);
  for (let i = 0; i < n; ) {
    const x = Array.from({ length: d }, () => gauss(rnd));
    const s = x.reduce((acc, v, j) => acc + v * (w[j] as number), 0) - 0.3;
    if (Math.abs(s) < 0.2) continue;
    x.forEach((v, j) => {
      (cols[j] as Float64Array)[i] = v;
    });
    y[i] = (s > 0 ? 1 : 0) ^ (rnd() < flip ? 1 : 0);
    i++;
  }
  return { cols, y };
}

function accuracy(y: Float64Array, p: Float64Array): number {
  let right = 0;
  for (let i = 0; i < y.length; i++) if ((p[i] as number) > 0.5 === ((y[i] as number) === 1)) right++;
  return right / y.length;
}

function bce(y: Float64Array, p: Float64Array): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) {
    const pi = p[i] as number;
    s -= (y[i] as number) === 1 ? Math.log(pi) : Math.log(1 - pi);
  }
  return s / y.length;
}

const params = (over: Record<string, unknown>): NnParams =>
  nnParams({ learning_rate: 0.01, bs: 32, ...over });

describe("nn learns", () => {
  for (const activation of ["sigmoid", "tanh", "relu"]) {
    it(`XOR to near-perfect accuracy (${activation})`, () => {
      const train = xorData(600, 1);
      const test = xorData(400, 2);
      const model = trainNn(
        train.cols,
        train.y,
        params({ layers: [8], activation, learning_rate: 0.02, n_epochs: 150, es: null }),
      );
      expect(model.layers).toEqual([8]);
      expect(accuracy(test.y, predictNn(model, test.cols))).toBeGreaterThanOrEqual(0.98);
    });
  }

  it("linearly separable data to near-perfect accuracy, with the default activation and layers", () => {
    const train = linearData(2000, 8, 3);
    const test = linearData(1000, 8, 4);
    const model = trainNn(train.cols, train.y, params({ n_epochs: 40 }));
    expect(model.activation).toBe("sigmoid");
    expect(model.layers).toEqual([2]); // the original's default: ⌊8 / 4⌋ units
    expect(accuracy(test.y, predictNn(model, test.cols))).toBeGreaterThanOrEqual(0.98);
  });

  it("lowers the training loss as epochs go by (same seed: each run extends the previous one)", () => {
    const { cols, y } = linearData(3000, 6, 5, 0.1);
    const losses = [1, 2, 4, 8, 16].map((n_epochs) =>
      bce(y, predictNn(trainNn(cols, y, params({ layers: [6], n_epochs, es: null })), cols)),
    );
    for (let i = 1; i < losses.length; i++) {
      expect(losses[i] as number).toBeLessThan(losses[i - 1] as number);
    }
    expect(losses[0] as number).toBeLessThan(Math.log(2)); // better than a coin after one epoch
  });
});

describe("nn determinism and persistence", () => {
  const { cols, y } = linearData(1500, 5, 6, 0.05);
  const p = params({ layers: [7, 3], activation: "tanh", n_epochs: 5, seed: 123 });

  it("gives a bit-identical model for the same input and seed", () => {
    const a = trainNn(cols, y, p);
    const b = trainNn(
      cols.map((c) => c.slice()),
      y.slice(),
      p,
    );
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
    expect(b).toStrictEqual(a);
  });

  it("gives different weights for a different seed", () => {
    const a = trainNn(cols, y, p);
    const b = trainNn(cols, y, { ...p, seed: 124 });
    expect(b.weights[0]).not.toEqual(a.weights[0]);
    expect(accuracy(y, predictNn(b, cols))).toBeGreaterThan(0.85);
  });

  it("predicts identically after a JSON round trip", () => {
    const model = trainNn(cols, y, p);
    const restored = JSON.parse(JSON.stringify(model)) as NnModel;
    const before = predictNn(model, cols);
    const after = predictNn(restored, cols);
    expect(Buffer.from(after.buffer).equals(Buffer.from(before.buffer))).toBe(true);
  });

  it("predicts NaN for rows with a NaN feature and keeps the input length", () => {
    const model = trainNn(cols, y, p);
    const test = cols.map((c) => c.slice(0, 600)); // more than one chunk of rows
    (test[3] as Float64Array)[7] = Number.NaN;
    (test[0] as Float64Array)[300] = Number.NaN;
    (test[4] as Float64Array)[300] = Number.NaN;
    (test[1] as Float64Array)[599] = Number.NaN;
    const out = predictNn(model, test);
    expect(out.length).toBe(600);
    out.forEach((v, i) => {
      if (i === 7 || i === 300 || i === 599) expect(v).toBeNaN();
      else expect(v > 0 && v < 1).toBe(true);
    });
    expect(
      predictNn(
        model,
        cols.map(() => new Float64Array(0)),
      ).length,
    ).toBe(0);
  });
});

describe("nn early stopping", () => {
  // The held-out tail has the opposite rule to the training rows: the better the model learns,
  // the worse the monitored loss, so the first epoch is the best.
  const head = linearData(1600, 4, 7);
  const tail = linearData(400, 4, 8);
  const cols = head.cols.map((c, j) => Float64Array.from([...c, ...(tail.cols[j] as Float64Array)]));
  const y = Float64Array.from([...head.y, ...tail.y.map((v) => 1 - v)]);
  const base = { layers: [5], n_epochs: 30, seed: 3 };

  it("stops after `patience` epochs without improvement and restores the best epoch", () => {
    const model = trainNn(
      cols,
      y,
      params({ ...base, es: { monitor: "val_loss", patience: 2, monitor_fraction: 0.2 } }),
    );
    expect(model.bestEpoch).toBe(1);
    expect(model.epochs).toBe(3);
    // the weights are those after epoch 1 of training on the 1600 head rows
    const first = trainNn(head.cols, head.y, params({ ...base, n_epochs: 1, es: null }));
    expect(model.weights).toEqual(first.weights);
    expect(model.biases).toEqual(first.biases);
  });

  it("restores the best epoch also when the epochs run out first", () => {
    const model = trainNn(
      cols,
      y,
      params({ ...base, n_epochs: 4, es: { monitor: "val_loss", patience: 50, monitor_fraction: 0.2 } }),
    );
    expect(model.epochs).toBe(4);
    expect(model.bestEpoch).toBe(1);
  });

  it("monitors the training loss by default, with Keras's min_delta and patience", () => {
    const { cols: c, y: yy } = linearData(1000, 4, 9);
    // no epoch can improve by 10: epoch 1 (against +∞) is the best, epoch 2 ends the run
    const stopped = trainNn(c, yy, params({ ...base, es: { monitor: "loss", min_delta: 10, patience: 1 } }));
    expect([stopped.epochs, stopped.bestEpoch]).toEqual([2, 1]);
    const first = trainNn(c, yy, params({ ...base, n_epochs: 1, es: null }));
    expect(stopped.weights).toEqual(first.weights);
    // patience 0 stops at the first epoch without improvement too (Keras: wait ≥ patience)
    const zero = trainNn(c, yy, params({ ...base, es: { min_delta: 10, patience: 0 } }));
    expect([zero.epochs, zero.bestEpoch]).toEqual([2, 1]);
    // a training loss that keeps falling runs all epochs
    const all = trainNn(c, yy, params({ ...base, n_epochs: 6 }));
    expect([all.epochs, all.bestEpoch]).toEqual([6, 6]);
  });
});

describe("nn input checks", () => {
  const { cols, y } = linearData(300, 3, 10);
  const p = params({ n_epochs: 1 });

  it("rejects one-class labels, labels other than 0/1, non-finite features and shape mismatches", () => {
    expect(() => trainNn(cols, new Float64Array(y.length), p)).toThrow(/one class/);
    const bad = y.slice();
    bad[5] = 2;
    expect(() => trainNn(cols, bad, p)).toThrow(DataError);
    expect(() => trainNn(cols, y.slice(1), p)).toThrow(/feature column 0 has/);
    const nan = cols.map((c) => c.slice());
    (nan[2] as Float64Array)[10] = Number.NaN;
    expect(() => trainNn(nan, y, p)).toThrow(/column 2 has NaN at row 10/);
    const inf = cols.map((c) => c.slice());
    (inf[1] as Float64Array)[299] = Number.POSITIVE_INFINITY;
    const tailParams = params({ n_epochs: 1, es: { monitor: "val_loss" } });
    expect(() => trainNn(inf, y, tailParams)).toThrow(/column 1 has Infinity at row 299/);
    expect(() => trainNn(cols.slice(0, 1), y, params({ es: { monitor_fraction: 0.001 } }))).toThrow(
      /leaves no validation/,
    );
  });

  it("rejects predictions with the wrong number of columns and malformed models", () => {
    const model = trainNn(cols, y, p);
    expect(() => predictNn(model, cols.slice(1))).toThrow(/3 features, got 2/);
    expect(() => predictNn(model, [cols[0] as Float64Array, cols[1] as Float64Array, y.slice(1)])).toThrow(
      /column 2 has/,
    );
    const broken = { ...model, biases: [model.biases[0] as number[]] };
    expect(() => predictNn(broken, cols)).toThrow(/malformed/);
    expect(() => predictNn({ ...model, activation: "elu" }, cols)).toThrow(/malformed: activation/);
  });
});

describe("nnParams", () => {
  it("accepts the original's nn config and fills the defaults", () => {
    // the original's reference model (common/model_store.py) with its `train` entry's is_scale
    const p = nnParams({ layers: [29], learning_rate: 0.001, n_epochs: 50, bs: 1024, is_scale: true });
    expect(p).toEqual({
      layers: [29],
      activation: "sigmoid",
      learning_rate: 0.001,
      n_epochs: 50,
      bs: 1024,
      es: { patience: 5, min_delta: 0.00001, monitor_fraction: 0 },
      l2: 0,
      seed: 0,
    });
    expect(nnParams({}).layers).toEqual([]);
    expect(nnParams({ layers: null }).layers).toEqual([]);
    expect(nnParams({ layers: 12 }).layers).toEqual([12]);
  });

  it("reads Keras's EarlyStopping arguments as the original writes them", () => {
    const es = { monitor: "loss", min_delta: 0.0001, patience: 0, verbose: 0, mode: "auto" };
    expect(nnParams({ es }).es).toEqual({ patience: 0, min_delta: 0.0001, monitor_fraction: 0 });
    expect(nnParams({ es: { monitor: "val_loss" } }).es).toEqual({
      patience: 5,
      min_delta: 0.00001,
      monitor_fraction: 0.1,
    });
    expect(
      nnParams({ es: { monitor: "val_loss", monitor_fraction: 0.25, restore_best_weights: true } }).es,
    ).toEqual({ patience: 5, min_delta: 0.00001, monitor_fraction: 0.25 });
    expect(nnParams({ es: { monitor_fraction: 0.2 } }).es?.monitor_fraction).toBe(0.2);
    expect(nnParams({ es: null }).es).toBeNull();
    expect(nnParams({ es: {} }).es).toEqual({ patience: 5, min_delta: 0.00001, monitor_fraction: 0 });
  });

  it("names unknown keys, also inside es, and every bad value in one ConfigError", () => {
    expect(() => nnParams({ layers: [8], dropout: 0.5 })).toThrow(ConfigError);
    expect(() => nnParams({ layers: [8], dropout: 0.5 })).toThrow(/unknown key "dropout"/);
    expect(() => nnParams({ es: { baseline: 0.5 } })).toThrow(/unknown key "es.baseline"/);
    let err: unknown;
    try {
      nnParams({
        layers: [0],
        activation: "elu",
        learning_rate: -1,
        n_epochs: 2.5,
        bs: 0,
        l2: -0.1,
        seed: "x",
        is_regression: true,
        es: { patience: -1, monitor: "val_accuracy", mode: "max", restore_best_weights: false },
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const issues = (err as ConfigError).issues.join("\n");
    for (const word of [
      '"layers"',
      '"activation"',
      '"learning_rate"',
      '"n_epochs"',
      '"bs"',
      '"l2"',
      '"seed"',
      '"is_regression"',
      '"es.patience"',
      '"es.monitor"',
      '"es.mode"',
      '"es.restore_best_weights"',
    ]) {
      expect(issues).toContain(word);
    }
    expect(() => nnParams({ es: { monitor: "loss", monitor_fraction: 0.1 } })).toThrow(
      /use monitor "val_loss"/,
    );
    expect(() => nnParams({ es: { monitor: "val_loss", monitor_fraction: 1 } })).toThrow(/in \(0, 1\)/);
  });
});

/**
 * Real candles: the bench workload's 20 features and high_20 / low_20 labels on the bundled
 * sample (2023-02..2023-04), standard-scaled on the first 70 % of the usable rows, tested on the
 * last 30 %. lc (the original's config) on the same split sets the floor. Measured when written
 * (seed 0): nn 0.663 / 0.786 against lc 0.633 / 0.788, and seeds 1–4 within 0.012 of lc or
 * above; without the L2 term low_20 falls to 0.740–0.762 depending on the seed, too close to
 * the floor for a test.
 */
describe("nn on real candles", () => {
  let frame: Frame;
  let features: string[];
  beforeAll(async () => {
    const months = ["2023-02", "2023-03", "2023-04"];
    const klines = await loadArchiveMonths(SAMPLE, "BTCUSDT", "spot", "1m", months);
    frame = mergeSources([{ name: "BTCUSDT", prefix: "", frame: klines }], {
      freqMs: 60_000,
      interpolate: false,
      maxGap: 0,
    }).frame;
    features = benchFeatures(frame);
    benchLabels(frame);
  });

  for (const label of ["high_20", "low_20"]) {
    it(`${label}: test AUC at least lc's − 0.03 with the original's typical params`, () => {
      const cols = features.map((f) => frame.get(f));
      const target = frame.get(label);
      const keep: number[] = [];
      for (let i = 0; i < frame.length; i++) {
        if (!Number.isNaN(target[i] as number) && cols.every((c) => !Number.isNaN(c[i] as number)))
          keep.push(i);
      }
      const cut = Math.floor(keep.length * 0.7);
      const take = (x: Float64Array, from: number, to: number): Float64Array =>
        Float64Array.from(keep.slice(from, to), (i) => x[i] as number);
      const trainRaw = cols.map((c) => take(c, 0, cut));
      const testRaw = cols.map((c) => take(c, cut, keep.length));
      const scaler = fitScaler(trainRaw);
      const train = applyScaler(scaler, trainRaw);
      const test = applyScaler(scaler, testRaw);
      const yTrain = take(target, 0, cut);
      const yTest = take(target, cut, keep.length);

      const lc = rocAuc(yTest, predictLc(trainLc(train, yTrain, lcParams({})), test));
      // layers / learning_rate / n_epochs / bs as the original's reference model, with the L2
      // of 0.001 its code carries (commented out) on the kernels
      const model = trainNn(
        train,
        yTrain,
        nnParams({ layers: [20], learning_rate: 0.001, n_epochs: 20, bs: 1024, l2: 0.001 }),
      );
      const nn = rocAuc(yTest, predictNn(model, test));
      expect(nn).toBeGreaterThanOrEqual(lc - 0.03);
      expect(nn).toBeGreaterThan(0.6);
    });
  }
});
