// Writes the bench workload's rows (20 features, highlow2 labels, rows with complete features and
// labels) for 12 months from --start, for a side-by-side check in Python (scripts/xgbCuts.py):
// X.f32 (row-major float32, as XGBoost's DMatrix stores them), <label>.f64, meta.json (rows,
// features, split = first 80 % for training).
//   node scripts/dumpBenchRows.mjs --start 2022-01 --out /tmp/rows2022
import { mkdirSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { splitRows } from "../dist/bench/models.js";
import { benchFeatures, benchLabels, loadBenchFrame } from "../dist/bench/workload.js";

const { values } = parseArgs({
  options: {
    data: { type: "string", default: "../shared/data/binance-vision" },
    start: { type: "string", default: "2022-01" },
    out: { type: "string", default: "/tmp/itb-bench-rows" },
  },
});
const frame = await loadBenchFrame(values.data, values.start, 12);
const features = benchFeatures(frame);
const labels = benchLabels(frame);
const { cols, ys, trainIdx, testIdx } = splitRows(frame, features, labels);
const complete = [...trainIdx, ...testIdx];
const n = complete.length;
const d = cols.length;
const X = new Float32Array(n * d);
for (let r = 0; r < n; r++) for (let f = 0; f < d; f++) X[r * d + f] = cols[f][complete[r]];
mkdirSync(values.out, { recursive: true });
writeFileSync(`${values.out}/X.f32`, X);
labels.forEach((l, j) => {
  writeFileSync(
    `${values.out}/${l}.f64`,
    Float64Array.from(complete, (r) => ys[j][r]),
  );
});
const meta = { n, d, split: trainIdx.length, features, labels };
writeFileSync(`${values.out}/meta.json`, JSON.stringify(meta));
console.log(JSON.stringify(meta));
