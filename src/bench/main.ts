import { execFile } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { PACKAGE_ROOT } from "../cli/version.js";
import { monthKey } from "../core/time.js";
import { loadArchiveMonths } from "../data/archive/import.js";
import { mergeSources } from "../data/merge.js";
import { benchExchange } from "./exchange.js";
import { benchModels } from "./models.js";
import { benchSignals } from "./signals.js";
import { benchFeatures, benchLabels, benchStreaming, labelRate } from "./workload.js";

/**
 * `npm run bench`: the workload of ../shared/bench/reference.py, stage by stage, with the same
 * stage names and JSON shape, and — when Debian's Python stack is installed — the reference run
 * in the same invocation for per-stage ratios (ours / reference; below 1 means we are faster).
 */
interface BenchResult {
  impl: string;
  rows: number;
  seconds: Record<string, number>;
  peak_rss_mb?: number;
  [key: string]: unknown;
}

const MINUTE = 60_000;

function monthsFrom(start: string, n: number): string[] {
  const [y, m] = start.split("-").map(Number) as [number, number];
  return Array.from({ length: n }, (_, i) => monthKey(Date.UTC(y, m - 1 + i, 1)));
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

async function runOurs(data: string, months: number): Promise<BenchResult> {
  const seconds: Record<string, number> = {};
  const t0 = performance.now();
  const klines = await loadArchiveMonths(data, "BTCUSDT", "spot", "1m", monthsFrom("2023-01", months));
  const { frame } = mergeSources([{ name: "BTCUSDT", prefix: "", frame: klines }], {
    freqMs: MINUTE,
    interpolate: false,
    maxGap: 0,
  });
  const t1 = performance.now();
  seconds.load = round3((t1 - t0) / 1000);
  const features = benchFeatures(frame);
  const t2 = performance.now();
  seconds.features = round3((t2 - t1) / 1000);
  const labels = benchLabels(frame);
  const t3 = performance.now();
  seconds.labels = round3((t3 - t2) / 1000);
  const models = benchModels(frame, features, labels);
  Object.assign(seconds, models.seconds);
  const signals = await benchSignals(frame, models.predictions);
  seconds.signals_grid = round3(signals.seconds);
  seconds.total = round3((performance.now() - t0) / 1000 - models.spreadSeconds);
  const streamUs = benchStreaming(frame, 100_000);
  const exchange = await benchExchange(data);
  return {
    impl: "itb",
    rows: frame.length,
    seconds,
    train_rows: models.trainRows,
    test_rows: models.testRows,
    features: features.length,
    auc_out_of_sample: models.auc,
    gb_auc_over_seeds: models.gbSeeds,
    label_rate: Object.fromEntries(labels.map((l) => [l, labelRate(frame.get(l))])),
    best_grid: signals.best,
    backtest_candles_per_s: signals.candlesPerSecond,
    backtest_first_run_candles_per_s: signals.firstRunCandlesPerSecond,
    grid_candles_per_s: signals.gridCandlesPerSecond,
    stream_us_per_candle: Math.round(streamUs * 100) / 100,
    exchange,
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
  };
}

function runReference(script: string, data: string, months: number): Promise<BenchResult | string> {
  const python = "/usr/bin/python3";
  if (!existsSync(python)) return Promise.resolve("no /usr/bin/python3");
  const out = join(tmpdir(), `itb-bench-reference-${process.pid}.json`);
  const timeBin = existsSync("/usr/bin/time") ? "/usr/bin/time" : undefined;
  const rssFile = join(tmpdir(), `itb-bench-reference-${process.pid}.rss`);
  const [cmd, args] = timeBin
    ? [
        timeBin,
        ["-f", "%M", "-o", rssFile, python, script, "--data", data, "--months", String(months), "--out", out],
      ]
    : [python, [script, "--data", data, "--months", String(months), "--out", out]];
  return new Promise((done) => {
    execFile(cmd, args, { maxBuffer: 16 << 20 }, (err, _stdout, stderr) => {
      if (err) {
        const last = stderr.trim().split("\n").slice(-1)[0] ?? err.message;
        done(`reference failed: ${last}`);
        return;
      }
      const result = JSON.parse(readFileSync(out, "utf8")) as BenchResult;
      if (timeBin && existsSync(rssFile)) {
        const kb = Number(readFileSync(rssFile, "utf8").trim().split("\n").pop());
        if (Number.isFinite(kb)) result.peak_rss_mb = Math.round(kb / 1024);
      }
      done(result);
    });
  });
}

const USAGE = `Usage: npm run bench -- [options]

Times the stages of ../shared/bench/reference.py's workload (load, features, labels, models,
signal grid, streaming, exchange) on months of real BTCUSDT 1m candles from 2023-01 on, prints
one JSON line, then runs the Python reference on the same workload (when Debian's python3-pandas,
python3-sklearn and python3-xgboost are installed) and prints its line and the ratios.

Options:
  --months <n>       months of candles, 1 to 24 (default 12)
  --data <dir>       Binance archive folder (default ../shared/data/binance-vision)
  --reference <py>   the reference script (default ../shared/bench/reference.py)
  --json <file>      also write our JSON line to this file
  --no-reference     do not run the Python reference
  -h, --help         print this help

Example:
  npm run bench -- --months 1 --no-reference
`;

function options(): ReturnType<typeof parse> | undefined {
  try {
    return parse();
  } catch (err) {
    // parseArgs names the unknown option or the missing value; that, not a stack, is the message.
    process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    process.exitCode = 2;
    return undefined;
  }
}

function parse() {
  return parseArgs({
    options: {
      months: { type: "string", default: "12" },
      data: { type: "string", default: resolve(PACKAGE_ROOT, "../shared/data/binance-vision") },
      reference: { type: "string", default: resolve(PACKAGE_ROOT, "../shared/bench/reference.py") },
      json: { type: "string" },
      "no-reference": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
}

async function main(): Promise<void> {
  const parsed = options();
  if (parsed === undefined) return;
  const { values } = parsed;
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const months = Number(values.months);
  if (!Number.isInteger(months) || months < 1 || months > 24) {
    process.stderr.write(`bench: --months must be an integer from 1 to 24, got "${values.months}"\n`);
    process.exitCode = 2;
    return;
  }
  if (!existsSync(values.data)) {
    process.stderr.write(
      `bench: data folder not found: ${values.data} (pass --data DIR in Binance's archive layout)\n`,
    );
    process.exitCode = 2;
    return;
  }
  const ours = await runOurs(values.data, months);
  const line = JSON.stringify(ours);
  process.stdout.write(`${line}\n`);
  if (values.json) writeFileSync(values.json, `${line}\n`);
  if (values["no-reference"]) return;
  if (!existsSync(values.reference)) {
    process.stderr.write(`bench: reference skipped: ${values.reference} not found\n`);
    return;
  }
  process.stderr.write("bench: running the Python reference on the same workload...\n");
  const ref = await runReference(values.reference, values.data, months);
  if (typeof ref === "string") {
    process.stderr.write(
      `bench: reference skipped: ${ref} (needs Debian's python3-pandas python3-sklearn python3-xgboost)\n`,
    );
    return;
  }
  process.stdout.write(`${JSON.stringify(ref)}\n`);
  const ratio: Record<string, number> = {};
  for (const [stage, s] of Object.entries(ours.seconds)) {
    const r = ref.seconds[stage];
    if (r !== undefined && r > 0) ratio[stage] = round3(s / r);
  }
  process.stdout.write(`${JSON.stringify({ ratio_ours_over_reference: ratio })}\n`);
}

await main();
