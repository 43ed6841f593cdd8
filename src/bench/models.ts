import type { Frame } from "../core/frame.js";
import { type GbModel, type GbParams, gbParams, predictGb, trainGb } from "../models/gb/index.js";
import { type LcModel, lcParams, predictLc, trainLc } from "../models/lc.js";
import { stopLcWorker } from "../models/lcThreads.js";
import { rocAuc } from "../models/metrics.js";
import { applyScaler, fitScaler, type Scaler } from "../models/scaler.js";

/**
 * The reference's train/predict workload: per label, rows with complete features and label,
 * the first 80 % for training; lc = standard scaler + L2 logistic regression (C 1), gb = 300
 * rounds, learning rate 0.05, 31 leaves, 255 bins with XGBoost's regularisation; both predict
 * every row; ROC AUC on the last 20 % (out of sample).
 */
export interface ModelBench {
  seconds: { train_lc: number; train_gb: number; predict: number };
  auc: Record<string, number>;
  trainRows: number;
  testRows: number;
  predictions: Record<string, Float64Array>;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** x at the given rows, as a new array (rounded to float32 when asked). */
function take(x: Float64Array, rows: Int32Array, float32 = false): Float64Array {
  const out = new Float64Array(rows.length);
  if (float32) for (let k = 0; k < rows.length; k++) out[k] = Math.fround(x[rows[k] as number] as number);
  else for (let k = 0; k < rows.length; k++) out[k] = x[rows[k] as number] as number;
  return out;
}

/**
 * The reference's rows: those with every feature and label known, the first 80 % for training,
 * the rest for testing (row indices of the frame, ascending).
 */
interface Split {
  cols: Float64Array[];
  ys: Float64Array[];
  trainIdx: Int32Array;
  testIdx: Int32Array;
}

export function splitRows(frame: Frame, features: readonly string[], labels: readonly string[]): Split {
  const cols = features.map((f) => frame.get(f));
  const ys = labels.map((l) => frame.get(l));
  const n = frame.length;
  const rows = new Int32Array(n);
  let complete = 0;
  for (let i = 0; i < n; i++) {
    let ok = true;
    for (const c of cols) if (Number.isNaN(c[i] as number)) ok = false;
    for (const y of ys) if (Number.isNaN(y[i] as number)) ok = false;
    if (ok) rows[complete++] = i;
  }
  const split = Math.floor(complete * 0.8);
  return { cols, ys, trainIdx: rows.subarray(0, split), testIdx: rows.subarray(split, complete) };
}

/**
 * gb's parameters as the bench trains it. Like-for-like with XGBoost 1.7's hist: every row
 * starts at margin 0 (base_score 0.5) and the bin bounds come from all `rows` training rows
 * rather than a sample. Gradients are quantized (LightGBM's use_quantized_grad, our default), so
 * the seed matters: see benchGbSpread.
 */
export function benchGbParams(seed: number, rows: number): GbParams {
  return gbParams({
    seed,
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
    bin_construct_sample_cnt: rows,
  });
}

function trainBenchGb(xTrain32: readonly Float64Array[], yTrain: Float64Array, seed: number): GbModel {
  return trainGb(xTrain32, yTrain, benchGbParams(seed, xTrain32[0]?.length ?? 0));
}

/**
 * lc for every label (scaler fitted on the training rows, then L2 logistic regression), timed
 * into seconds.train_lc. Runs before gb so that the scaled copy of the training rows (allocated
 * by the first label, reused by the next) is garbage before gb's training starts; returns the
 * models and the float64 training rows, which gb then rounds in place.
 */
function lcStage(
  cols: readonly Float64Array[],
  trainIdx: Int32Array,
  yTrain: readonly Float64Array[],
  seconds: { train_lc: number },
): { models: { lc: LcModel; scaler: Scaler }[]; xTrain: Float64Array[] } {
  const xTrain = cols.map((c) => take(c, trainIdx));
  let xScaled: Float64Array[] | undefined;
  const models = yTrain.map((y) => {
    const t = performance.now();
    const scaler = fitScaler(xTrain);
    // In shared memory, so that a worker thread can share lc's passes over the rows.
    xScaled ??= xTrain.map((x) => new Float64Array(new SharedArrayBuffer(x.length * 8)));
    xScaled = applyScaler(scaler, xTrain, xScaled);
    const lc = trainLc(xScaled, y, lcParams({ C: 1.0, penalty: "l2", max_iter: 100 }), undefined, {
      threads: 2,
    });
    seconds.train_lc += (performance.now() - t) / 1000;
    return { lc, scaler };
  });
  // Its thread would hold the scaled rows' shared memory (67 MB) into gb's training.
  stopLcWorker();
  return { models, xTrain };
}

export function benchModels(
  frame: Frame,
  features: readonly string[],
  labels: readonly string[],
): ModelBench {
  const { cols, ys, trainIdx, testIdx } = splitRows(frame, features, labels);
  const seconds = { train_lc: 0, train_gb: 0, predict: 0 };
  const predictions: Record<string, Float64Array> = {};
  const yTrain = ys.map((y) => take(y, trainIdx));
  const { models: lcOf, xTrain } = lcStage(cols, trainIdx, yTrain, seconds);

  // XGBoost's DMatrix holds features as float32: the trees see the same values only if ours do
  // too (lc keeps float64, as scikit-learn does), so lc's training rows are rounded in place
  // (no second copy). For prediction predictGb rounds every row as it reads it (float32: true),
  // timed with predict, as the reference times its DMatrix construction there.
  const xTrain32 = xTrain;
  for (const x of xTrain32) for (let i = 0; i < x.length; i++) x[i] = Math.fround(x[i] as number);
  const auc: Record<string, number> = {};
  labels.forEach((label, j) => {
    let t = performance.now();
    const gb = trainBenchGb(xTrain32, yTrain[j] as Float64Array, 0);
    seconds.train_gb += (performance.now() - t) / 1000;

    // Both on every row, as the reference; gb on two threads, as XGBoost's nthread 2.
    const { lc, scaler } = lcOf[j] as { lc: LcModel; scaler: Scaler };
    t = performance.now();
    const pLc = predictLc(lc, cols, scaler);
    const pGb = predictGb(gb, cols, { float32: true, threads: 2 });
    seconds.predict += (performance.now() - t) / 1000;

    predictions[`${label}_lc`] = pLc;
    predictions[`${label}_gb`] = pGb;
  });
  for (const [j, label] of labels.entries()) {
    const yTest = take(ys[j] as Float64Array, testIdx);
    for (const a of ["lc", "gb"]) {
      const p = predictions[`${label}_${a}`] as Float64Array;
      auc[`${label}_${a}`] = round(rocAuc(yTest, take(p, testIdx)), 4);
    }
  }
  return {
    seconds: {
      train_lc: round(seconds.train_lc, 3),
      train_gb: round(seconds.train_gb, 3),
      predict: round(seconds.predict, 3),
    },
    auc,
    trainRows: trainIdx.length,
    testRows: testIdx.length,
    predictions,
  };
}

/**
 * Not part of the reference's workload (run after it, untimed): gb's out-of-sample AUC over
 * seeds 0..seeds−1, seed 0 being the reported model, so that a reader sees how far one draw can
 * move. `auc` holds the reported models' AUCs (benchModels').
 */
export function benchGbSpread(
  frame: Frame,
  features: readonly string[],
  labels: readonly string[],
  auc: Record<string, number>,
  seeds = 3,
): Record<string, { seeds: number; min: number; mean: number; max: number }> {
  const { cols, ys, trainIdx, testIdx } = splitRows(frame, features, labels);
  const xTrain32 = cols.map((c) => take(c, trainIdx, true));
  const xTest = cols.map((c) => take(c, testIdx));
  const out: Record<string, { seeds: number; min: number; mean: number; max: number }> = {};
  labels.forEach((label, j) => {
    const y = ys[j] as Float64Array;
    const yTrain = take(y, trainIdx);
    const yTest = take(y, testIdx);
    const v = [auc[`${label}_gb`] as number];
    for (let seed = 1; seed < seeds; seed++) {
      const p = predictGb(trainBenchGb(xTrain32, yTrain, seed), xTest, { float32: true, threads: 2 });
      v.push(round(rocAuc(yTest, p), 4));
    }
    out[`${label}_gb`] = {
      seeds: v.length,
      min: Math.min(...v),
      mean: round(v.reduce((a, b) => a + b, 0) / v.length, 4),
      max: Math.max(...v),
    };
  });
  return out;
}
