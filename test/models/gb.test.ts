import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, test } from "vitest";
import { ConfigError, DataError, WorkerError } from "../../src/core/errors.js";
import {
  binFeature,
  binOf,
  findBinBounds,
  findQuantileBounds,
  nextDown,
} from "../../src/models/gb/binning.js";
import { compileForest } from "../../src/models/gb/forestWasm.js";
import {
  checkGbModel,
  type GbModel,
  type GbTree,
  gbParams,
  predictGb,
  trainGb,
} from "../../src/models/gb/index.js";
import {
  CLAIM,
  CTRL,
  CTRL_SIZE,
  claimParts,
  JOB,
  JP,
  JP_SIZE,
  type Views,
  workerSource,
} from "../../src/models/gb/kernels.js";
import { flatten, rawScores } from "../../src/models/gb/predict.js";
import { Rng } from "../../src/models/gb/rng.js";
import { awaitParts, runJob } from "../../src/models/gb/team.js";
import { ROOT } from "../helpers/paths.js";

/** Value i of a column (tests index freshly built arrays). */
function at(c: Float64Array | undefined, i: number): number {
  return (c as Float64Array)[i] as number;
}

function randomColumns(rng: Rng, d: number, n: number): Float64Array[] {
  return Array.from({ length: d }, () => Float64Array.from({ length: n }, () => rng.next()));
}

/** Leaf index (in tree order) that a row reaches, by raw values. */
function leafOf(t: GbTree, x: (f: number) => number): number {
  if (t.feature.length === 0) return 0;
  let node = 0;
  for (;;) {
    const v = x(t.feature[node] as number);
    const left = Number.isNaN(v) ? t.defaultLeft[node] === 1 : v <= (t.threshold[node] as number);
    const next = left ? (t.left[node] as number) : (t.right[node] as number);
    if (next < 0) return ~next;
    node = next;
  }
}

function depths(t: GbTree): number[] {
  const out: number[] = [];
  const walk = (c: number, depth: number): void => {
    if (c < 0) out.push(depth);
    else {
      walk(t.left[c] as number, depth + 1);
      walk(t.right[c] as number, depth + 1);
    }
  };
  if (t.feature.length === 0) return [0];
  walk(0, 0);
  return out;
}

describe("gbParams", () => {
  test("LightGBM defaults", () => {
    const p = gbParams({});
    expect(p).toMatchObject({
      objective: "regression",
      num_boost_round: 100,
      learning_rate: 0.1,
      num_leaves: 31,
      max_depth: -1,
      min_data_in_leaf: 20,
      min_sum_hessian_in_leaf: 1e-3,
      lambda_l1: 0,
      lambda_l2: 0,
      feature_fraction: 1,
      bagging_fraction: 1,
      bagging_freq: 0,
      is_unbalance: false,
      max_bin: 255,
      early_stopping_round: 0,
    });
  });

  test("aliases and the original's values", () => {
    const p = gbParams({
      n_estimators: 300,
      eta: 0.05,
      max_leaves: 15,
      min_child_samples: 5,
      reg_alpha: 0.5,
      reg_lambda: 2,
      colsample_bytree: 0.8,
      subsample: 0.7,
      subsample_freq: 1,
      min_split_gain: 0.1,
      random_state: 7,
      objective: "cross_entropy",
      is_unbalance: "true",
      max_depth: 0,
      verbose: 0,
      boosting_type: "gbdt",
    });
    expect(p).toMatchObject({
      num_boost_round: 300,
      learning_rate: 0.05,
      num_leaves: 15,
      min_data_in_leaf: 5,
      lambda_l1: 0.5,
      lambda_l2: 2,
      feature_fraction: 0.8,
      bagging_fraction: 0.7,
      bagging_freq: 1,
      min_gain_to_split: 0.1,
      seed: 7,
      objective: "binary",
      is_unbalance: true,
      max_depth: -1,
    });
    expect(gbParams({ num_round: 5, objective: "regression_l2" })).toMatchObject({
      num_boost_round: 5,
      objective: "regression",
    });
    expect(
      gbParams({
        use_quantized_grad: "false",
        boost_from_average: false,
        subsample_for_bin: 5000,
        n_jobs: 2,
        bin_method: "quantile",
      }),
    ).toMatchObject({
      use_quantized_grad: false,
      boost_from_average: false,
      bin_construct_sample_cnt: 5000,
      num_threads: 2,
      bin_method: "quantile",
    });
    expect(gbParams({}).bin_method).toBeUndefined(); // greedy
    // null keeps the default, as the original's `train_conf.get(...)` yields for absent keys
    expect(gbParams({ max_depth: null, lambda_l1: null }).max_depth).toBe(-1);
  });

  test("unknown keys: ConfigError naming them and listing accepted names", () => {
    let err: unknown;
    try {
      gbParams({ num_leaves: 31, leaves: 3, foo: 1 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as Error).message;
    expect(msg).toContain('"leaves"');
    expect(msg).toContain('"foo"');
    expect(msg).toContain("num_leaves");
    expect(msg).toContain("n_estimators");
  });

  test("bad values and conflicting aliases are refused", () => {
    expect(() => gbParams({ num_leaves: 1 })).toThrow(ConfigError);
    expect(() => gbParams({ learning_rate: 0 })).toThrow(/learning_rate/);
    expect(() => gbParams({ feature_fraction: 1.5 })).toThrow(ConfigError);
    expect(() => gbParams({ max_bin: 1000 })).toThrow(/max_bin/);
    expect(() => gbParams({ objective: "poisson" })).toThrow(/objective/);
    expect(() => gbParams({ num_boost_round: 2.5 })).toThrow(ConfigError);
    expect(() => gbParams({ n_estimators: 10, num_iterations: 20 })).toThrow(/already sets num_boost_round/);
    expect(() => gbParams({ boosting: "dart" })).toThrow(/gbdt/);
    expect(() => gbParams({ is_unbalance: "yes" })).toThrow(ConfigError);
    expect(() => gbParams({ bin_method: "sketch" })).toThrow(/bin_method: expected "greedy" or "quantile"/);
  });
});

describe("binning", () => {
  test("few distinct values: one bin each, cuts halfway", () => {
    const v = Float64Array.from([1, 1, 2, 3, 3, 3, 7]);
    expect([...findBinBounds(v, v.length, 255)]).toEqual([1.5, 2.5, 5, Number.POSITIVE_INFINITY]);
    expect([...findBinBounds(Float64Array.from([4, 4]), 2, 255)]).toEqual([Number.POSITIVE_INFINITY]);
  });

  test("many distinct values: at most max_bin bins of similar counts", () => {
    const rng = new Rng(1);
    const v = Float64Array.from({ length: 10_000 }, () => rng.next() ** 3).sort();
    const b = findBinBounds(v, v.length, 16);
    expect(b.length).toBeLessThanOrEqual(16);
    const counts = new Array(b.length).fill(0);
    for (const x of v) counts[binOf(b, x)]++;
    for (const c of counts) expect(c).toBeGreaterThan(300);
  });

  test("nextDown: the largest double below x, so x <= nextDown(c) is x < c", () => {
    expect(nextDown(1)).toBe(1 - Number.EPSILON / 2);
    expect(nextDown(-1)).toBe(-1 - Number.EPSILON);
    expect(nextDown(0)).toBe(-Number.MIN_VALUE);
    expect(nextDown(-0)).toBe(-Number.MIN_VALUE);
    expect(nextDown(Number.MIN_VALUE)).toBe(0);
    expect(nextDown(Number.POSITIVE_INFINITY)).toBe(Number.MAX_VALUE);
    for (const c of [Math.fround(0.1), 3.5, -2.75, 1e300]) {
      const u = nextDown(c);
      expect(u).toBeLessThan(c);
      expect((u + c) / 2 === u || (u + c) / 2 === c).toBe(true); // nothing in between
    }
  });

  test("quantile bounds: cut values are the data values of rank floor(j·m/max_bin), x < cut goes left", () => {
    // 0..99 into 4 bins: cuts at v[25], v[50], v[75] = 25, 50, 75.
    const v = Float64Array.from({ length: 100 }, (_, i) => i);
    const b = findQuantileBounds(v, 100, 4);
    expect([...b]).toEqual([nextDown(25), nextDown(50), nextDown(75), Number.POSITIVE_INFINITY]);
    const counts = new Array(4).fill(0);
    for (const x of v) counts[binOf(b, x)]++;
    expect(counts).toEqual([25, 25, 25, 25]);
    expect(binOf(b, 24.999)).toBe(0);
    expect(binOf(b, 25)).toBe(1);
    // 7 values into 3 bins: floor(7/3) = 2, floor(14/3) = 4 → cuts v[2] = 2.5, v[4] = 4.5.
    const w = Float64Array.from([0, 1, 2.5, 3, 4.5, 5, 6]);
    expect([...findQuantileBounds(w, 7, 3)]).toEqual([
      nextDown(2.5),
      nextDown(4.5),
      Number.POSITIVE_INFINITY,
    ]);
  });

  test("quantile bounds: ties merge bins, the minimum is never a cut, few values get one bin each", () => {
    // Half the values are 0: the cuts at ranks 25 and 50 (both 0, the minimum) are dropped.
    const v = Float64Array.from({ length: 100 }, (_, i) => (i < 60 ? 0 : i));
    expect([...findQuantileBounds(v, 100, 4)]).toEqual([nextDown(75), Number.POSITIVE_INFINITY]);
    // Ranks 40 and 60 (of 100, max_bin 5) both fall on the run of 7s: one cut.
    const t = Float64Array.from({ length: 100 }, (_, i) => (i >= 30 && i < 70 ? 7 : i < 30 ? i / 10 : i));
    expect([...findQuantileBounds(t, 100, 5)]).toEqual([
      nextDown(2),
      nextDown(7),
      nextDown(80),
      Number.POSITIVE_INFINITY,
    ]);
    const few = Float64Array.from([1, 1, 2, 3, 3, 3, 7]);
    expect([...findQuantileBounds(few, few.length, 255)]).toEqual([
      nextDown(2),
      nextDown(3),
      nextDown(7),
      Number.POSITIVE_INFINITY,
    ]);
    expect([...findQuantileBounds(Float64Array.from([4, 4]), 2, 255)]).toEqual([Number.POSITIVE_INFINITY]);
    expect([...findQuantileBounds(new Float64Array(0), 0, 255)]).toEqual([Number.POSITIVE_INFINITY]);
  });

  test("quantile bounds on skewed data: at most max_bin bins, each within a row of m/max_bin", () => {
    const rng = new Rng(3);
    const v = Float64Array.from({ length: 10_000 }, () => rng.next() ** 3).sort();
    const b = findQuantileBounds(v, v.length, 16);
    expect(b.length).toBe(16);
    const counts = new Array(b.length).fill(0);
    for (const x of v) counts[binOf(b, x)]++;
    for (const c of counts) expect(Math.abs(c - 10_000 / 16)).toBeLessThanOrEqual(1);
  });

  test("the grid-accelerated binning agrees with a binary search, NaN in its own bin", () => {
    const rng = new Rng(2);
    const col = Float64Array.from({ length: 5000 }, (_, i) =>
      i % 97 === 0 ? Number.NaN : Math.exp(6 * rng.next()),
    );
    const sorted = col.slice().sort();
    const m = sorted.findIndex((x) => Number.isNaN(x));
    for (const bounds of [findBinBounds(sorted, m, 255), findQuantileBounds(sorted, m, 255)]) {
      const out = new Uint8Array(col.length);
      const nans = binFeature(col, bounds, out, 0, col.length);
      expect(nans).toBe(Math.ceil(5000 / 97));
      for (let r = 0; r < col.length; r++) expect(out[r]).toBe(binOf(bounds, col[r] as number));
      expect(binOf(bounds, Number.NaN)).toBe(bounds.length);
    }
  });
});

describe("Rng.bernoulliRows", () => {
  test("the rows whose draw is below the fraction, leaving the generator where n draws do", () => {
    for (const fraction of [0, 0.3, 0.5, 0.999, 1]) {
      const a = new Rng(7);
      const b = new Rng(7);
      const expected: number[] = [];
      for (let r = 0; r < 10_000; r++) if (a.next() < fraction) expected.push(r);
      const out = new Int32Array(10_000);
      const k = b.bernoulliRows(out, 10_000, fraction);
      expect(Array.from(out.subarray(0, k))).toEqual(expected);
      expect(b.getState()).toBe(a.getState());
    }
  });
});

describe("trainGb: hand-built cases", () => {
  test("a single split recovers a threshold between neighbouring values", () => {
    const x = Float64Array.from({ length: 1000 }, (_, i) => Math.round(i % 100) / 10); // 0.0 … 9.9
    const y = x.map((v) => (v > 3.7 ? 1 : 0));
    const m = trainGb([x], y, gbParams({ objective: "binary", num_boost_round: 10 }));
    const root = m.trees[0] as GbTree;
    expect(root.feature[0]).toBe(0);
    expect(root.threshold[0]).toBeGreaterThanOrEqual(3.7);
    expect(root.threshold[0]).toBeLessThan(3.8);
    const p = predictGb(m, [Float64Array.from([3.7, 3.8])]);
    expect(p[0]).toBeLessThan(0.5);
    expect(p[1]).toBeGreaterThan(0.5);
  });

  test("bin_method quantile: the split is x < the next data value, whatever lies between", () => {
    // 100 distinct values, max_bin 255: every value but the first is a cut.
    const x = Float64Array.from({ length: 1000 }, (_, i) => Math.round(i % 100) / 10);
    const y = x.map((v) => (v > 3.7 ? 1 : 0));
    const m = trainGb([x], y, gbParams({ objective: "binary", num_boost_round: 10, bin_method: "quantile" }));
    const root = m.trees[0] as GbTree;
    expect(root.feature[0]).toBe(0);
    expect(root.threshold[0]).toBe(nextDown(3.8));
    const p = predictGb(m, [Float64Array.from([3.7, 3.79999, nextDown(3.8), 3.8])]);
    expect(p[0]).toBeLessThan(0.5);
    expect(p[1]).toBeLessThan(0.5);
    expect(p[2]).toBeLessThan(0.5);
    expect(p[3]).toBeGreaterThan(0.5);
  });

  test.each([1, 0])("NaN goes the learned way (NaN rows labelled %i)", (nanLabel) => {
    const n = 2000;
    const x = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      if (i % 5 === 0) {
        x[i] = Number.NaN;
        y[i] = nanLabel;
      } else {
        const v = (i % 100) / 10;
        x[i] = v;
        y[i] = v > 5 ? 1 : 0;
      }
    }
    const m = trainGb([x], y, gbParams({ objective: "binary", num_boost_round: 20 }));
    const [pNan, pLow, pHigh] = predictGb(m, [Float64Array.from([Number.NaN, 2, 8])]) as unknown as number[];
    expect(pLow).toBeLessThan(0.5);
    expect(pHigh).toBeGreaterThan(0.5);
    if (nanLabel === 1) expect(pNan).toBeGreaterThan(0.5);
    else expect(pNan).toBeLessThan(0.5);
  });

  test("NaN never seen in training follows the larger side instead of failing", () => {
    const x = Float64Array.from({ length: 500 }, (_, i) => i);
    const y = x.map((v) => (v > 400 ? 1 : 0));
    const m = trainGb([x], y, gbParams({ objective: "binary", num_boost_round: 5 }));
    // 400 of the 500 rows are x <= 400, y = 0: that is where a missing value goes.
    const p = predictGb(m, [Float64Array.from([Number.NaN, 100, 450])]);
    expect(p[0]).toBeLessThan(0.5);
    expect(p[0]).toBeCloseTo(p[1] as number, 2);
    expect(p[2]).toBeGreaterThan(0.5);
    for (const t of m.trees) expect(t.defaultLeft[0]).toBe(1);
  });

  test("early stopping stops on a noise target", () => {
    const rng = new Rng(3);
    const cols = randomColumns(rng, 5, 3000);
    const y = Float64Array.from({ length: 3000 }, () => (rng.next() < 0.3 ? 1 : 0));
    const m = trainGb(
      cols,
      y,
      gbParams({
        objective: "binary",
        num_boost_round: 300,
        early_stopping_round: 10,
        validation_fraction: 0.2,
      }),
    );
    expect(m.bestIteration).toBeLessThan(20);
    expect(m.trees.length).toBe(m.bestIteration);
  });

  test("early stopping keeps going while validation improves", () => {
    const x = Float64Array.from({ length: 4000 }, (_, i) => (i * 7919) % 4000);
    const y = x.map((v) => (v > 2000 ? 1 : 0));
    const m = trainGb(
      [x],
      y,
      gbParams({ objective: "binary", num_boost_round: 60, learning_rate: 0.05, early_stopping_round: 5 }),
    );
    expect(m.bestIteration).toBeGreaterThan(50);
  });

  test("regression fits a step function", () => {
    const x = Float64Array.from({ length: 1000 }, (_, i) => i / 100);
    const y = x.map((v) => (v < 3 ? 1 : v < 7 ? -2 : 5));
    const m = trainGb([x], y, gbParams({ objective: "regression", num_boost_round: 100 }));
    const p = predictGb(m, [Float64Array.from([0.5, 2.9, 3.1, 6.5, 7.5, 9.9])]);
    const want = [1, 1, -2, -2, 5, 5];
    for (let i = 0; i < want.length; i++) expect(p[i]).toBeCloseTo(want[i] as number, 3);
  });

  test("max_depth and num_leaves bound every tree", () => {
    const rng = new Rng(4);
    const cols = randomColumns(rng, 4, 4000);
    const y = Float64Array.from({ length: 4000 }, (_, i) =>
      at(cols[0], i) + at(cols[1], i) * rng.next() > 0.8 ? 1 : 0,
    );
    const m = trainGb(
      cols,
      y,
      gbParams({
        objective: "binary",
        num_boost_round: 20,
        max_depth: 3,
        num_leaves: 50,
        min_data_in_leaf: 5,
      }),
    );
    for (const t of m.trees) expect(Math.max(...depths(t))).toBeLessThanOrEqual(3);
    const m2 = trainGb(
      cols,
      y,
      gbParams({ objective: "binary", num_boost_round: 20, num_leaves: 7, min_data_in_leaf: 5 }),
    );
    for (const t of m2.trees) expect(t.leafValue.length).toBeLessThanOrEqual(7);
    expect(m2.trees.some((t) => t.leafValue.length === 7)).toBe(true);
  });

  test("min_data_in_leaf holds for the training rows", () => {
    const rng = new Rng(5);
    const cols = randomColumns(rng, 3, 2000);
    const y = Float64Array.from({ length: 2000 }, (_, i) => (at(cols[2], i) > 0.9 ? 1 : 0));
    for (const quant of [true, false]) {
      const m = trainGb(
        cols,
        y,
        gbParams({
          objective: "binary",
          num_boost_round: 5,
          min_data_in_leaf: 50,
          use_quantized_grad: quant,
        }),
      );
      for (const t of m.trees) {
        const counts = new Array(t.leafValue.length).fill(0);
        for (let r = 0; r < 2000; r++) counts[leafOf(t, (f) => at(cols[f], r))]++;
        // Counts are estimated from hessians during the search (as LightGBM does): allow a little slack.
        for (const c of counts) expect(c).toBeGreaterThanOrEqual(45);
      }
    }
  });

  test("is_unbalance raises the minority class's probabilities", () => {
    const rng = new Rng(6);
    const cols = randomColumns(rng, 3, 5000);
    const y = Float64Array.from({ length: 5000 }, (_, i) =>
      at(cols[0], i) > 0.85 && rng.next() < 0.6 ? 1 : 0,
    );
    const base = { objective: "binary", num_boost_round: 30 };
    const p0 = predictGb(trainGb(cols, y, gbParams(base)), cols);
    const p1 = predictGb(trainGb(cols, y, gbParams({ ...base, is_unbalance: true })), cols);
    const mean = (p: Float64Array): number => p.reduce((a, b) => a + b, 0) / p.length;
    // LightGBM keeps the unweighted initial score and weights the gradients (positives ×(neg/pos)).
    expect(mean(p0)).toBeCloseTo(mean(y), 2);
    expect(mean(p1)).toBeGreaterThan(mean(p0) + 0.03);
  });

  test("labels must be 0/1 for binary and finite for regression; columns must match", () => {
    const x = Float64Array.from([1, 2, 3]);
    expect(() => trainGb([x], Float64Array.from([0, 1, 2]), gbParams({ objective: "binary" }))).toThrow(
      DataError,
    );
    expect(() =>
      trainGb([x], Float64Array.from([0, Number.NaN, 1]), gbParams({ objective: "regression" })),
    ).toThrow(/finite/);
    expect(() => trainGb([x.subarray(1)], Float64Array.from([0, 1, 0]), gbParams({}))).toThrow(/rows/);
  });

  test("constant features: no split, the model is the base score", () => {
    const x = new Float64Array(100).fill(2);
    const y = Float64Array.from({ length: 100 }, (_, i) => i % 2);
    const m = trainGb([x], y, gbParams({ objective: "binary" }));
    expect(m.trees).toHaveLength(0);
    expect(m.bestIteration).toBe(0);
    expect(predictGb(m, [Float64Array.from([1, 2])])[0]).toBeCloseTo(0.5, 12);
  });
});

describe("determinism and sampling", () => {
  const rng = new Rng(7);
  // Large enough (rows × features) to run on worker threads.
  const n = 60_000;
  const cols = randomColumns(rng, 8, n);
  for (let i = 0; i < n; i += 13) (cols[3] as Float64Array)[i] = Number.NaN;
  const y = Float64Array.from({ length: n }, (_, i) => {
    const s = at(cols[0], i) + 0.5 * at(cols[1], i) - 0.3 * at(cols[2], i);
    return s + 0.4 * rng.next() > 0.9 ? 1 : 0;
  });
  const base = { objective: "binary", num_boost_round: 15, seed: 11 };

  test("same seed → identical model; 1 and 2 threads agree", () => {
    const a = trainGb(cols, y, gbParams({ ...base, num_threads: 1 }));
    const b = trainGb(cols, y, gbParams({ ...base, num_threads: 1 }));
    const c = trainGb(cols, y, gbParams({ ...base, num_threads: 2 }));
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
    expect(JSON.stringify(c)).toBe(JSON.stringify(a));
    const e1 = trainGb(cols, y, gbParams({ ...base, use_quantized_grad: false, num_threads: 1 }));
    const e2 = trainGb(cols, y, gbParams({ ...base, use_quantized_grad: false, num_threads: 2 }));
    expect(JSON.stringify(e2)).toBe(JSON.stringify(e1));
  });

  test("the WebAssembly and JavaScript kernels train identical models", () => {
    for (const extra of [
      {},
      { use_quantized_grad: false },
      { bagging_fraction: 0.6, bagging_freq: 2 },
      { bagging_fraction: 0.5, bagging_freq: 1, early_stopping_round: 3, use_quantized_grad: false },
      { objective: "regression" },
      { early_stopping_round: 3, is_unbalance: true },
      { lambda_l1: 0.5, lambda_l2: 2 },
      { lambda_l1: 0.5, use_quantized_grad: false, min_data_in_leaf: 50 },
    ]) {
      const a = trainGb(cols, y, gbParams({ ...base, ...extra, num_threads: 2 }));
      const b = trainGb(cols, y, gbParams({ ...base, ...extra, num_threads: 2 }), { wasm: false });
      expect(JSON.stringify(b)).toBe(JSON.stringify(a));
    }
  });

  test("bagging and feature_fraction change the model but stay deterministic", () => {
    const plain = JSON.stringify(trainGb(cols, y, gbParams({ ...base, num_threads: 2 })));
    for (const extra of [
      { bagging_fraction: 0.7, bagging_freq: 1 },
      { feature_fraction: 0.5 },
      { bagging_fraction: 0.5, bagging_freq: 3, feature_fraction: 0.75 },
    ]) {
      const a = JSON.stringify(trainGb(cols, y, gbParams({ ...base, ...extra, num_threads: 2 })));
      const b = JSON.stringify(trainGb(cols, y, gbParams({ ...base, ...extra, num_threads: 1 })));
      const other = JSON.stringify(
        trainGb(cols, y, gbParams({ ...base, ...extra, seed: 12, num_threads: 2 })),
      );
      expect(a).not.toBe(plain);
      expect(b).toBe(a);
      expect(other).not.toBe(a);
    }
  });

  test("feature_fraction: each tree uses only its share of the features", () => {
    const m = trainGb(cols, y, gbParams({ ...base, feature_fraction: 0.25, num_leaves: 63 }));
    for (const t of m.trees) expect(new Set(t.feature).size).toBeLessThanOrEqual(2);
  });

  test("early stopping on the validation tail, exact and quantised", () => {
    for (const q of [true, false]) {
      const m = trainGb(
        cols,
        y,
        gbParams({
          ...base,
          num_boost_round: 400,
          learning_rate: 0.3,
          early_stopping_round: 5,
          use_quantized_grad: q,
        }),
      );
      expect(m.bestIteration).toBeGreaterThan(5);
      expect(m.bestIteration).toBeLessThan(400);
    }
  });
});

describe("model and prediction", () => {
  const rng = new Rng(8);
  const n = 20_000;
  const cols = randomColumns(rng, 6, n);
  for (let i = 0; i < n; i += 7) (cols[1] as Float64Array)[i] = Number.NaN;
  const y = Float64Array.from({ length: n }, (_, i) =>
    at(cols[0], i) > 0.5 !== at(cols[1], i) > 0.3 ? 1 : 0,
  );
  const model = trainGb(cols, y, gbParams({ objective: "binary", num_boost_round: 40 }));

  test("JSON round trip gives identical predictions", () => {
    const back = checkGbModel(JSON.parse(JSON.stringify(model)));
    const a = predictGb(model, cols);
    const b = predictGb(back, cols);
    expect(b).toEqual(a);
    expect(a).toHaveLength(n);
    const small = cols.map((c) => c.subarray(0, 10));
    expect(predictGb(back, small)).toEqual(a.subarray(0, 10));
  });

  test("the compiled forest and the flat traversal give identical scores, NaN included", () => {
    const flat = new Float64Array(n);
    rawScores(flatten(model), model.baseScore, cols, 0, n, flat);
    const wasm = new Float64Array(n).fill(model.baseScore);
    compileForest(model, 512)?.addScores(cols, wasm, 0, n);
    expect(wasm).toEqual(flat);
    // A row that takes every default direction.
    const nan = cols.map(() => Float64Array.from([Number.NaN]));
    const f1 = new Float64Array(1);
    rawScores(flatten(model), model.baseScore, nan, 0, 1, f1);
    const w1 = new Float64Array(1).fill(model.baseScore);
    compileForest(model)?.addScores(nan, w1, 0, 1);
    expect(w1).toEqual(f1);
  });

  test("predictions are probabilities that separate the classes", () => {
    const p = predictGb(model, cols);
    let right = 0;
    for (let i = 0; i < n; i++) {
      expect(p[i]).toBeGreaterThan(0);
      expect(p[i]).toBeLessThan(1);
      if (at(p, i) > 0.5 === (y[i] === 1)) right++;
    }
    expect(right / n).toBeGreaterThan(0.95);
  });

  test("empty input → empty output; wrong column count → DataError", () => {
    expect(
      predictGb(
        model,
        cols.map(() => new Float64Array(0)),
      ),
    ).toHaveLength(0);
    expect(() => predictGb(model, cols.slice(1))).toThrow(DataError);
  });

  test("checkGbModel refuses malformed models", () => {
    const good = JSON.parse(JSON.stringify(model)) as GbModel;
    expect(() => checkGbModel({ ...good, kind: "lc" })).toThrow(/kind/);
    const t0 = good.trees[0] as GbTree;
    const badChild = { ...good, trees: [{ ...t0, left: t0.left.map(() => 0) }] };
    expect(() => checkGbModel(badChild)).toThrow(/invalid child/);
    const badThr = JSON.parse(JSON.stringify(good).replace(/"threshold":\[[^,\]]+/, '"threshold":[null'));
    expect(() => checkGbModel(badThr)).toThrow(/threshold/);
    const badFeat = { ...good, trees: [{ ...t0, feature: t0.feature.map(() => 99) }] };
    expect(() => checkGbModel(badFeat)).toThrow(/feature 99/);
  });
});

describe("the worker protocol (jp and ctrl slots) is named, and the workers get the same names", () => {
  const source = workerSource();
  const GB = resolve(ROOT, "src/models/gb");

  test("no jp or ctrl slot is a number literal, in the worker's source or in the files that post jobs", () => {
    const literal = [/\bjp\[[^\]]*(?<![\w$.])\d/, /Atomics\.\w+\(\s*(this\.)?ctrl,\s*\d/, /\bctrl\[\s*\d/];
    for (const text of [
      source,
      ...["kernels.ts", "grow.ts", "train.ts", "team.ts"].map((f) => readFileSync(resolve(GB, f), "utf8")),
    ]) {
      const code = text.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, "");
      for (const re of literal) expect(code).not.toMatch(re);
    }
    // Sanity of the patterns: they catch what they are meant to.
    expect("x = jp[3];").toMatch(literal[0] as RegExp);
    expect("jp[o + 1]").toMatch(literal[0] as RegExp);
    expect("Atomics.store(ctrl, 15, 1)").toMatch(literal[1] as RegExp);
    expect("jp[JP.l1] + jp[o + S.g]").not.toMatch(literal[0] as RegExp);
  });

  test("the worker's source declares the protocol's constants from the module's objects", () => {
    const declared = new Function(
      `${source.slice(source.indexOf("const JOB"), source.indexOf("\nfunction "))}\nreturn { JOB, JP, CTRL, CLAIM };`,
    )();
    expect(declared).toEqual({ JOB, JP, CTRL, CLAIM });
  });

  test("slots do not overlap and fit their arrays", () => {
    const { kind, parts, hist, partition, updateLeaves, updateTraverse, split, ...run } = JP;
    const runSlots = Object.values(run);
    const firstRun = Math.min(...runSlots);
    for (const args of [hist, partition, updateLeaves, updateTraverse]) {
      const slots = Object.values(args);
      expect(new Set(slots).size).toBe(slots.length);
      for (const s of slots) {
        expect(s).toBeGreaterThan(Math.max(kind, parts));
        expect(s).toBeLessThan(firstRun);
      }
    }
    expect(new Set([kind, parts, ...runSlots]).size).toBe(runSlots.length + 2);
    expect(Math.max(...runSlots)).toBeLessThan(split.leaves);
    const fields = [split.leaf, split.base, split.g, split.h, split.count];
    expect([...fields].sort()).toEqual([0, 1, 2, 3, 4].slice(0, split.stride));
    // A split job searches one leaf or a split's two children.
    expect(split.leaves + 2 * split.stride).toBeLessThanOrEqual(JP_SIZE);
    const ctrl = Object.values(CTRL);
    expect(new Set(ctrl).size).toBe(ctrl.length);
    expect(Math.max(...ctrl)).toBeLessThan(CTRL_SIZE);
    expect(CLAIM.partMask).toBe(2 ** CLAIM.tagShift - 1);
    expect(new Set(Object.values(JOB)).size).toBe(Object.keys(JOB).length);
  });
});

describe("the team's wait for its workers' parts", () => {
  test("returns once every part is done; a part left unfinished too long is a WorkerError", () => {
    const ctrl = new Int32Array(new SharedArrayBuffer(CTRL_SIZE * 4));
    Atomics.store(ctrl, CTRL.done, 2);
    awaitParts(ctrl, 2, 300);
    Atomics.store(ctrl, CTRL.done, 1);
    const t0 = performance.now();
    let err: unknown;
    try {
      awaitParts(ctrl, 2, 300);
    } catch (e) {
      err = e;
    }
    expect(performance.now() - t0).toBeGreaterThanOrEqual(300);
    expect(err).toBeInstanceOf(WorkerError);
    expect((err as WorkerError).message).toBe(
      "gb: a worker thread stopped responding: 1 part(s) of a job unfinished for 0.3 s (the thread was killed or ran out of memory)",
    );
    expect((err as WorkerError).exitCode).toBe(1);
  });
});

describe("the team's claim word", () => {
  test("a worker waking late for a finished job claims nothing of the next one, even one of more parts", () => {
    const ctrl = new Int32Array(new SharedArrayBuffer(CTRL_SIZE * 4));
    const err = new Uint8Array(new SharedArrayBuffer(4096));
    const jp = new Float64Array(new SharedArrayBuffer(8 * JP_SIZE));
    // A job kind no part does anything for: what is counted is who claimed which part.
    jp[JP.kind] = JOB.none;
    jp[JP.parts] = 2;
    const v = { jp } as unknown as Views;
    runJob(v, ctrl, 7, 2, err); // the calling thread ran both parts
    expect(Atomics.load(ctrl, CTRL.done)).toBe(2);
    // The next job is being described (4 parts) and not yet opened when the worker wakes for tag 7.
    jp[JP.parts] = 4;
    const before = Atomics.load(ctrl, CTRL.claim);
    claimParts(v, ctrl, 7, err);
    expect(Atomics.load(ctrl, CTRL.done)).toBe(2);
    expect(Atomics.load(ctrl, CTRL.claim)).toBe(before);
    expect(before >>> CLAIM.tagShift).toBe(7);
    // Opened, the job's parts are claimed as usual, each once.
    runJob(v, ctrl, 8, 4, err);
    expect(Atomics.load(ctrl, CTRL.done)).toBe(4);
    expect(Atomics.load(ctrl, CTRL.failed)).toBe(0);
  });
});
