import { beforeAll, describe, expect, test } from "vitest";
import { benchFeatures, benchLabels } from "../../src/bench/workload.js";
import { loadArchiveMonths } from "../../src/data/archive/import.js";
import { mergeSources } from "../../src/data/merge.js";
import { compileForest } from "../../src/models/gb/forestWasm.js";
import { type GbModel, gbParams, predictGb, trainGb } from "../../src/models/gb/index.js";
import { flatten, rawScores } from "../../src/models/gb/predict.js";
import { type LcModel, lcParams, predictLc, trainLc } from "../../src/models/lc.js";
import { applyScaler, fitScaler, type Scaler } from "../../src/models/scaler.js";
import { SAMPLE } from "../helpers/paths.js";

/**
 * The faster prediction paths against the plain ones, on real candles: the benchmark's 20
 * features and high_20 label on the bundled sample (BTCUSDT 1m, 2023-02..04, every row
 * predicted, the NaN warm-up rows included). Every comparison is exact: the paths compute the
 * same numbers in the same order.
 */
/** Rows where a and b differ (NaN equals NaN), or -1 when the lengths differ: 0 means identical. */
function differing(a: Float64Array, b: Float64Array): number {
  if (a.length !== b.length) return -1;
  let k = 0;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) k++;
  return k;
}

let cols: Float64Array[] = [];
let cols32: Float64Array[] = [];
let gb: GbModel;
let lc: LcModel;
let scaler: Scaler;

beforeAll(async () => {
  const klines = await loadArchiveMonths(SAMPLE, "BTCUSDT", "spot", "1m", ["2023-02", "2023-03", "2023-04"]);
  const { frame } = mergeSources([{ name: "BTCUSDT", prefix: "", frame: klines }], {
    freqMs: 60_000,
    interpolate: false,
    maxGap: 0,
  });
  const features = benchFeatures(frame);
  const [label] = benchLabels(frame);
  cols = features.map((f) => frame.get(f));
  cols32 = cols.map((c) => Float64Array.from(Float32Array.from(c)));
  const y = frame.get(label as string);
  const rows: number[] = [];
  for (let i = 0; i < frame.length; i++) {
    if (!Number.isNaN(y[i] as number) && cols.every((c) => !Number.isNaN(c[i] as number))) rows.push(i);
  }
  const train = rows.slice(0, Math.floor(rows.length * 0.7));
  const pick = (c: Float64Array): Float64Array => Float64Array.from(train, (i) => c[i] as number);
  gb = trainGb(
    cols32.map(pick),
    pick(y),
    gbParams({ objective: "binary", num_boost_round: 30, num_leaves: 31, learning_rate: 0.1, seed: 3 }),
  );
  const xTrain = cols.map(pick);
  scaler = fitScaler(xTrain);
  lc = trainLc(applyScaler(scaler, xTrain), pick(y), lcParams({ C: 1 }));
}, 120_000);

describe("gb prediction paths give the same predictions", () => {
  test("the data is what the comparisons need: warm-up NaN rows, values that float32 rounds", () => {
    expect(cols[0]?.length).toBe(89 * 1440); // 2023-02-01 .. 2023-04-30
    expect(Number.isNaN(cols[4]?.[0] as number)).toBe(true); // SMA 120 is NaN on the first rows
    expect(cols.some((c, f) => c.some((v, i) => v !== cols32[f]?.[i] && !Number.isNaN(v)))).toBe(true);
    expect(gb.trees).toHaveLength(30);
  });

  test("float32 rounding on the fly, 1 to 3 threads = the pre-rounded copy on 1 thread", () => {
    const want = predictGb(gb, cols32);
    for (const threads of [1, 2, 3]) {
      expect(differing(predictGb(gb, cols, { float32: true, threads }), want)).toBe(0);
    }
    // float64 inputs on 2 threads = on 1 thread
    expect(differing(predictGb(gb, cols, { threads: 2 }), predictGb(gb, cols))).toBe(0);
  });

  test("probabilities: the link applied as scores are copied out = the flat traversal's scores, then the link", () => {
    const n = cols32[0]?.length ?? 0;
    const flat = new Float64Array(n);
    rawScores(flatten(gb), gb.baseScore, cols32, 0, n, flat);
    const want = flat.map((s) => 1 / (1 + Math.exp(-s)));
    // n × 30 trees is above the size from which predictGb compiles the forest
    for (const threads of [1, 2]) expect(differing(predictGb(gb, cols32, { threads }), want)).toBe(0);
    const forest = compileForest(gb, 512);
    for (const threads of [1, 2]) {
      const out = new Float64Array(n).fill(gb.baseScore);
      forest?.addScores(cols32, out, 0, n, { threads, link: "logistic" });
      expect(differing(out, want)).toBe(0);
      const raw = new Float64Array(n).fill(gb.baseScore);
      forest?.addScores(cols32, raw, 0, n, { threads, link: "identity" });
      expect(differing(raw, flat)).toBe(0);
    }
    expect(want.every((p) => p > 0 && p < 1)).toBe(true);
    // Bad arguments are refused before any round starts (no worker is left holding a block).
    const out = new Float64Array(n);
    expect(() => forest?.addScores(cols32.slice(1), out, 0, n, { threads: 2 })).toThrow(
      "gb predict: 20 feature columns expected, got 19",
    );
    expect(() => forest?.addScores(cols32, out, 0, n + 1, { threads: 2 })).toThrow(
      `gb predict: rows [0, ${n + 1}) are outside the output or a column`,
    );
    const again = new Float64Array(n).fill(gb.baseScore);
    forest?.addScores(cols32, again, 0, n, { threads: 2, link: "logistic" });
    expect(differing(again, want)).toBe(0);
  });

  test("the compiled forest on 2 threads = the flat traversal, any block size, any row range", () => {
    const n = cols32[0]?.length ?? 0;
    const flat = new Float64Array(n);
    rawScores(flatten(gb), gb.baseScore, cols32, 0, n, flat);
    for (const block of [512, 2048]) {
      const forest = compileForest(gb, block);
      const out = new Float64Array(n).fill(gb.baseScore);
      forest?.addScores(cols32, out, 0, n, { threads: 2 });
      expect(differing(out, flat)).toBe(0);
      // a range that starts and ends mid-block, rows outside it untouched
      const part = new Float64Array(n).fill(gb.baseScore);
      forest?.addScores(cols, part, 1000, 70_001, { threads: 2, float32: true });
      expect(differing(part.subarray(1000, 70_001), flat.subarray(1000, 70_001))).toBe(0);
      expect(part[999]).toBe(gb.baseScore);
      expect(part[70_001]).toBe(gb.baseScore);
    }
  });
});

describe("lc prediction with the scaler applied as it reads", () => {
  test("= predicting on applyScaler's copy, NaN rows included", () => {
    const want = predictLc(lc, applyScaler(scaler, cols));
    const got = predictLc(lc, cols, scaler);
    expect(differing(got, want)).toBe(0);
    expect(Number.isNaN(got[0] as number)).toBe(true);
    expect(got.filter((p) => p > 0 && p < 1).length).toBeGreaterThan(128_000);
  });

  test("applyScaler into given arrays, or in place, = new arrays", () => {
    const want = applyScaler(scaler, cols);
    const into = cols.map((c) => new Float64Array(c.length));
    const got = applyScaler(scaler, cols, into);
    expect(got[0]).toBe(into[0]);
    expect(got.map((c, j) => differing(c, want[j] as Float64Array))).toEqual(cols.map(() => 0));
    const copy = cols.map((c) => c.slice());
    const back = applyScaler(scaler, copy, copy);
    expect(back[0]).toBe(copy[0]);
    expect(back.map((c, j) => differing(c, want[j] as Float64Array))).toEqual(cols.map(() => 0));
  });
});
