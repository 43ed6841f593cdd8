// Writes the bench workload's rows (20 features, highlow2 labels, rows with complete features and
// labels) for 12 months from --start, for a side-by-side check in Python (scripts/xgbCuts.py):
// X.f32 (row-major float32, as XGBoost's DMatrix stores them), <label>.f64, meta.json (rows,
// features, split = first 80 % for training).
//   node scripts/dumpBenchRows.mjs --start 2022-01 --out /tmp/rows2022
import { mkdirSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { benchFeatures, benchLabels } from "../dist/bench/workload.js";
import { loadArchiveMonths } from "../dist/data/archive/import.js";
import { mergeSources } from "../dist/data/merge.js";

const { values } = parseArgs({
  options: {
    data: { type: "string", default: "../shared/data/binance-vision" },
    start: { type: "string", default: "2022-01" },
    out: { type: "string", default: "/tmp/itb-bench-rows" },
  },
});
const [y0, m0] = values.start.split("-").map(Number);
const months = Array.from({ length: 12 }, (_, i) => {
  const k = y0 * 12 + (m0 - 1) + i;
  return `${Math.floor(k / 12)}-${String((k % 12) + 1).padStart(2, "0")}`;
});
const klines = await loadArchiveMonths(values.data, "BTCUSDT", "spot", "1m", months);
const { frame } = mergeSources([{ name: "BTCUSDT", prefix: "", frame: klines }], {
  freqMs: 60_000,
  interpolate: false,
  maxGap: 0,
});
const features = benchFeatures(frame);
const labels = benchLabels(frame);
const cols = features.map((f) => frame.get(f));
const ys = labels.map((l) => frame.get(l));
const complete = [];
for (let i = 0; i < frame.length; i++) {
  if (cols.every((c) => !Number.isNaN(c[i])) && ys.every((y) => !Number.isNaN(y[i]))) complete.push(i);
}
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
const meta = { n, d, split: Math.floor(n * 0.8), features, labels };
writeFileSync(`${values.out}/meta.json`, JSON.stringify(meta));
console.log(JSON.stringify(meta));
