import { createHash } from "node:crypto";
import { beforeAll, describe, expect, test } from "vitest";
import { benchGbParams, splitRows } from "../../src/bench/models.js";
import { trainGb } from "../../src/models/gb/index.js";
import { benchSampleFrame } from "../helpers/benchSample.js";

/**
 * The trees the benchmark trains must not move when the training code is made faster: the
 * bench's gb (300 rounds, 31 leaves, learning rate 0.05, 255 bins, XGBoost's regularisation,
 * quantized gradients, seed 0, two threads) on the bundled sample (BTCUSDT 1m, 2023-02..04,
 * first 80 % of complete rows, features rounded to float32 as the bench does), compared by the
 * SHA-256 of the serialized model. The hashes were taken from the code before the split search,
 * histogram subtraction and gradient update moved to (or changed within) WebAssembly; a
 * deliberate change to the trees must update them and say why.
 */

const EXPECTED: Record<string, string> = {
  high_20: "001e762fd6e7a7ec6118513cad36d1db38fbc2077964ea45219924532a63caca",
  low_20: "fc2689df7ac37a8ffa9467d54e0e53eabd40e272e2cb8d0a5f8658ae998b47e6",
};

let x: Float64Array[] = [];
const ys = new Map<string, Float64Array>();

beforeAll(async () => {
  const { frame, features, labels } = await benchSampleFrame();
  const { cols, ys: lab, trainIdx } = splitRows(frame, features, labels);
  x = cols.map((c) => Float64Array.from(trainIdx, (i) => Math.fround(c[i] as number)));
  labels.forEach((l, j) => {
    ys.set(
      l,
      Float64Array.from(trainIdx, (i) => (lab[j] as Float64Array)[i] as number),
    );
  });
}, 60_000);

function modelHash(y: Float64Array, wasm: boolean, threads = 2): string {
  const model = trainGb(x, y, { ...benchGbParams(0, y.length), num_threads: threads }, { wasm });
  return createHash("sha256").update(JSON.stringify(model)).digest("hex");
}

describe("gb: the bench's models on real data are unchanged", () => {
  test("102,336 training rows", () => {
    expect(ys.get("high_20")?.length).toBe(102_336);
  });

  for (const label of Object.keys(EXPECTED)) {
    test(`${label}: WebAssembly kernels`, () => {
      expect(modelHash(ys.get(label) as Float64Array, true)).toBe(EXPECTED[label]);
    }, 180_000);
  }

  test("high_20: JavaScript kernels", () => {
    expect(modelHash(ys.get("high_20") as Float64Array, false)).toBe(EXPECTED.high_20);
  }, 180_000);

  // More threads than the machine's cores, so that workers are descheduled and wake late: the
  // trees must not depend on who ran which part (a late worker once claimed a part of the next
  // job before it was opened, which changed one model in a few of these trainings).
  test("both labels with four threads", () => {
    for (const label of Object.keys(EXPECTED)) {
      expect(modelHash(ys.get(label) as Float64Array, true, 4)).toBe(EXPECTED[label]);
    }
  }, 180_000);

  // Bags drawn per tree, a feature sample, and early stopping's validation rows: the rows no
  // partition places take the tree walk. Pinned from the code that drew each row's coin through
  // Rng.next() and walked the tree in JavaScript, before both were made faster.
  test("high_20 with bagging, feature sampling and early stopping (60 rounds)", () => {
    const y = ys.get("high_20") as Float64Array;
    const params = {
      ...benchGbParams(0, y.length),
      num_boost_round: 60,
      bagging_fraction: 0.5,
      bagging_freq: 1,
      feature_fraction: 0.8,
      early_stopping_round: 10,
    };
    for (const wasm of [true, false]) {
      const model = trainGb(x, y, params, { wasm });
      expect(createHash("sha256").update(JSON.stringify(model)).digest("hex")).toBe(
        "497319086f6f1bb1edbefb325ca338cad85a3eac74cdc30ff4d3de027ba5a23a",
      );
    }
  }, 180_000);
});
