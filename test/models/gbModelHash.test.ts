import { createHash } from "node:crypto";
import { resolve } from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import { benchFeatures, benchLabels } from "../../src/bench/workload.js";
import { loadArchiveMonths } from "../../src/data/archive/import.js";
import { mergeSources } from "../../src/data/merge.js";
import { gbParams, trainGb } from "../../src/models/gb/index.js";

/**
 * The trees the benchmark trains must not move when the training code is made faster: the
 * bench's gb (300 rounds, 31 leaves, learning rate 0.05, 255 bins, XGBoost's regularisation,
 * quantized gradients, seed 0, two threads) on the bundled sample (BTCUSDT 1m, 2023-02..04,
 * first 80 % of complete rows, features rounded to float32 as the bench does), compared by the
 * SHA-256 of the serialized model. The hashes were taken from the code before the split search,
 * histogram subtraction and gradient update moved to (or changed within) WebAssembly; a
 * deliberate change to the trees must update them and say why.
 */
const ROOT = resolve(import.meta.dirname, "../..");

const EXPECTED: Record<string, string> = {
  high_20: "001e762fd6e7a7ec6118513cad36d1db38fbc2077964ea45219924532a63caca",
  low_20: "fc2689df7ac37a8ffa9467d54e0e53eabd40e272e2cb8d0a5f8658ae998b47e6",
};

let x: Float64Array[] = [];
const ys = new Map<string, Float64Array>();

beforeAll(async () => {
  const klines = await loadArchiveMonths(resolve(ROOT, "sample/binance-vision"), "BTCUSDT", "spot", "1m", [
    "2023-02",
    "2023-03",
    "2023-04",
  ]);
  const { frame } = mergeSources([{ name: "BTCUSDT", prefix: "", frame: klines }], {
    freqMs: 60_000,
    interpolate: false,
    maxGap: 0,
  });
  const cols = benchFeatures(frame).map((f) => frame.get(f));
  const labels = benchLabels(frame);
  const lab = labels.map((l) => frame.get(l));
  const rows: number[] = [];
  for (let i = 0; i < frame.length; i++) {
    if (cols.every((c) => !Number.isNaN(c[i] as number)) && lab.every((y) => !Number.isNaN(y[i] as number))) {
      rows.push(i);
    }
  }
  const train = rows.slice(0, Math.floor(rows.length * 0.8));
  x = cols.map((c) => Float64Array.from(train, (i) => Math.fround(c[i] as number)));
  labels.forEach((l, j) => {
    ys.set(
      l,
      Float64Array.from(train, (i) => (lab[j] as Float64Array)[i] as number),
    );
  });
}, 60_000);

function modelHash(y: Float64Array, wasm: boolean): string {
  const model = trainGb(
    x,
    y,
    gbParams({
      seed: 0,
      objective: "binary",
      num_boost_round: 300,
      learning_rate: 0.05,
      num_leaves: 31,
      max_bin: 255,
      lambda_l2: 1,
      min_sum_hessian_in_leaf: 1,
      min_data_in_leaf: 1,
      num_threads: 2,
      boost_from_average: false,
      bin_construct_sample_cnt: y.length,
    }),
    { wasm },
  );
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
});
