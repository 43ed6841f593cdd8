import { beforeAll, describe, expect, test } from "vitest";
import { splitRows } from "../../src/bench/models.js";
import type { Logger } from "../../src/core/log.js";
import { type GbParams, gbParams, trainGb } from "../../src/models/gb/index.js";
import { releaseGbMemory } from "../../src/models/gb/train.js";
import { benchSampleFrame } from "../helpers/benchSample.js";

/**
 * A training keeps its shared memory and its bins for the next one of the same shape; the next
 * one reuses the bins only when the columns hold the same values. Whatever is reused, the model
 * must be the one a training from scratch gives.
 */

let x: Float64Array[] = [];
let yHigh = new Float64Array(0);
let yLow = new Float64Array(0);

beforeAll(async () => {
  const { frame, features, labels } = await benchSampleFrame();
  // the first 30,000 rows with every feature and label known
  const { cols, ys, trainIdx } = splitRows(frame, features, labels);
  const rows = trainIdx.subarray(0, 30_000);
  const [high, low] = ys as [Float64Array, Float64Array];
  x = cols.map((c) => Float64Array.from(rows, (i) => c[i] as number));
  yHigh = Float64Array.from(rows, (i) => high[i] as number);
  yLow = Float64Array.from(rows, (i) => low[i] as number);
}, 60_000);

/** Trains and reports whether the bins were reused (from the "gb: trained" log line). */
function train(cols: Float64Array[], y: Float64Array, params: GbParams): { model: string; reused: boolean } {
  let reused: boolean | undefined;
  const log: Logger = {
    debug() {},
    info(obj, msg) {
      if (msg === "gb: trained") reused = (obj as { bins_reused: boolean }).bins_reused;
    },
    warn() {},
    error() {},
  };
  const model = JSON.stringify(trainGb(cols, y, params, { log }));
  if (reused === undefined) throw new Error("no 'gb: trained' line");
  return { model, reused };
}

function fresh(cols: Float64Array[], y: Float64Array, params: GbParams): string {
  releaseGbMemory();
  const r = train(cols, y, params);
  expect(r.reused).toBe(false);
  return r.model;
}

const base = { objective: "binary", num_boost_round: 30, num_leaves: 15, num_threads: 2 } as const;

describe("gb: memory and bins kept from the last training", () => {
  test("a second label on the same columns reuses the bins and gives the model trained from scratch", () => {
    const p = gbParams({ ...base, seed: 3 });
    const expected = fresh(x, yLow, p);
    releaseGbMemory();
    expect(train(x, yHigh, p).reused).toBe(false);
    const second = train(x, yLow, p);
    expect(second.reused).toBe(true);
    expect(second.model).toBe(expected);
  });

  test("a sampled bin sample, bagging and feature sampling: the generator continues as after binning", () => {
    // 30,000 rows, a 5,000-row bin sample drawn by the seeded generator, then bagging and feature
    // sampling from the same generator: reused bins must leave it where binning would have.
    const p = gbParams({
      ...base,
      seed: 11,
      bin_construct_sample_cnt: 5_000,
      bagging_fraction: 0.7,
      bagging_freq: 1,
      feature_fraction: 0.6,
    });
    const expected = fresh(x, yHigh, p);
    train(x, yLow, p);
    const again = train(x, yHigh, p);
    expect(again.reused).toBe(true);
    expect(again.model).toBe(expected);
  });

  test("a value changed in place is seen: the bins are built again", () => {
    const p = gbParams({ ...base, seed: 5 });
    const cols = x.map((c) => c.slice());
    train(cols, yHigh, p);
    // the largest value of feature 3 becomes larger still: a new top bin bound
    const c3 = cols[3] as Float64Array;
    let at = 0;
    for (let i = 1; i < c3.length; i++) if ((c3[i] as number) > (c3[at] as number)) at = i;
    c3[at] = (c3[at] as number) * 2 + 1;
    const changed = train(cols, yHigh, p);
    expect(changed.reused).toBe(false);
    expect(changed.model).toBe(fresh(cols, yHigh, p));
  });

  test("another seed with a sampled bin sample draws another sample: no reuse", () => {
    const p = gbParams({ ...base, seed: 1, bin_construct_sample_cnt: 5_000 });
    train(x, yHigh, p);
    const other = gbParams({ ...base, seed: 2, bin_construct_sample_cnt: 5_000 });
    const r = train(x, yHigh, other);
    expect(r.reused).toBe(false);
    expect(r.model).toBe(fresh(x, yHigh, other));
  });

  test("another seed with bins from all rows reuses them, and bags and samples features with its own seed", () => {
    // No bin sample: the bins do not depend on the seed and are reused, but the generator that
    // draws the bags and the feature samples must start from this training's seed.
    const sampling = { ...base, bagging_fraction: 0.7, bagging_freq: 1, feature_fraction: 0.6 };
    const first = train(x, yHigh, gbParams({ ...sampling, seed: 1 })).model;
    const other = gbParams({ ...sampling, seed: 2 });
    const r = train(x, yHigh, other);
    expect(r.reused).toBe(true);
    expect(r.model).not.toBe(first);
    expect(r.model).toBe(fresh(x, yHigh, other));
  });

  test("a different shape (fewer rows) trains in new memory and matches a fresh training", () => {
    const p = gbParams({ ...base, seed: 4 });
    train(x, yHigh, p);
    const half = x.map((c) => c.subarray(0, 15_000));
    const y = yHigh.subarray(0, 15_000);
    const r = train(half, y, p);
    expect(r.reused).toBe(false);
    expect(r.model).toBe(fresh(half, y, p));
  });
});
