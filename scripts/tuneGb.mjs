// Chooses the bench's gb regularisation on development data (2022), never on the 2023 bench
// window: the reference's workload (20 features, highlow2 labels, first 80 % train, last 20 %
// AUC) on 12 months from --start, one line per parameter set and seed.
//   node scripts/tuneGb.mjs --data ../shared/data/binance-vision --start 2022-01 --months 12
import { parseArgs } from "node:util";
import { splitRows } from "../dist/bench/models.js";
import { benchFeatures, benchLabels, loadBenchFrame, monthsFrom } from "../dist/bench/workload.js";
import { gbParams, predictGb, trainGb } from "../dist/models/gb/index.js";
import { rocAuc } from "../dist/models/metrics.js";

const { values } = parseArgs({
  options: {
    data: { type: "string", default: "../shared/data/binance-vision" },
    start: { type: "string", default: "2022-01" },
    months: { type: "string", default: "12" },
    seeds: { type: "string", default: "0,1,2" },
  },
});
const months = monthsFrom(values.start, Number(values.months));
const frame = await loadBenchFrame(values.data, values.start, months.length);
const features = benchFeatures(frame);
const labels = benchLabels(frame);
const { cols, trainIdx, testIdx } = splitRows(frame, features, labels);
const take = (x, rows) => Float64Array.from(rows, (r) => x[r]);
const f32 = process.env.F32 === "1" ? (x) => x.map(Math.fround) : (x) => x;
const xTrain = cols.map((c) => f32(take(c, trainIdx)));
const xTest = cols.map((c) => f32(take(c, testIdx)));
const base = {
  objective: "binary",
  num_boost_round: 300,
  learning_rate: 0.05,
  num_leaves: 31,
  max_bin: 255,
  num_threads: 2,
};
const xgbLike = { lambda_l2: 1, min_sum_hessian_in_leaf: 1, min_data_in_leaf: 1, boost_from_average: false };
const sets = {
  xgb_like: xgbLike,
  xgb_fullbins: { ...xgbLike, bin_construct_sample_cnt: 100_000_000 },
  xgb_quantile: { ...xgbLike, bin_construct_sample_cnt: 100_000_000, bin_method: "quantile" },
  xgb_exact: { ...xgbLike, use_quantized_grad: false, bin_construct_sample_cnt: 100_000_000 },
  lgbm_exact: { use_quantized_grad: false, bin_construct_sample_cnt: 100_000_000 },
  lgbm_defaults: {},
  mdl100_l2_1: { min_data_in_leaf: 100, lambda_l2: 1 },
  mdl500_l2_1: { min_data_in_leaf: 500, lambda_l2: 1 },
  mdl2000_l2_1: { min_data_in_leaf: 2000, lambda_l2: 1 },
  mdl500_ff08: { min_data_in_leaf: 500, lambda_l2: 1, feature_fraction: 0.8 },
  mdl500_bag08: { min_data_in_leaf: 500, lambda_l2: 1, bagging_fraction: 0.8, bagging_freq: 1 },
  mdl500_ff08_bag08: {
    min_data_in_leaf: 500,
    lambda_l2: 1,
    feature_fraction: 0.8,
    bagging_fraction: 0.8,
    bagging_freq: 1,
  },
};
const only = process.env.SETS?.split(",");
console.log(
  JSON.stringify({ months: `${months[0]}..${months.at(-1)}`, train: trainIdx.length, test: testIdx.length }),
);
for (const [name, extra] of Object.entries(sets)) {
  if (only && !only.includes(name)) continue;
  for (const seed of values.seeds.split(",").map(Number)) {
    const auc = {};
    for (const label of labels) {
      const y = frame.get(label);
      const t = performance.now();
      const m = trainGb(xTrain, take(y, trainIdx), gbParams({ ...base, ...extra, seed }));
      auc[label] = Math.round(rocAuc(take(y, testIdx), predictGb(m, xTest)) * 1e4) / 1e4;
      auc[`${label}_s`] = Math.round(performance.now() - t) / 1000;
    }
    console.log(JSON.stringify({ set: name, seed, ...auc }));
  }
}
