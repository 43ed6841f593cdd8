import { execFile } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { PACKAGE_ROOT } from "../cli/version.js";
import { benchGbSpread, benchModels } from "./models.js";
import type { QueueBenchOptions, QueueStorage } from "./queue.js";
import { benchSignals } from "./signals.js";
import { benchFeatures, benchLabels, benchStreaming, labelRate, loadBenchFrame } from "./workload.js";

/**
 * `npm run bench`: the workload of ../shared/bench/reference.py, stage by stage, with the same
 * stage names and JSON shape, and — when Debian's Python stack is installed — the reference run
 * in the same invocation for per-stage ratios (ours / reference; below 1 means we are faster).
 * Then the distributed pipeline through 1, 2, 3 `itb worker` processes (queue.ts) when a Redis
 * answers; `npm run bench:queue` runs that section alone.
 *
 * The modules of the exchange and queue sections (ccxt, the simulator, BullMQ, the pipeline)
 * are imported when those sections run, so our process holds only what the reference's
 * workload needs while it runs it, and its peak memory (peak_rss_mb) is taken at the end of
 * that workload, before the extras the reference does not run.
 */
interface BenchResult {
  impl: string;
  rows: number;
  seconds: Record<string, number>;
  peak_rss_mb?: number;
  [key: string]: unknown;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

const maxRssMb = () => Math.round(process.resourceUsage().maxRSS / 1024);

async function runOurs(data: string, months: number): Promise<BenchResult> {
  const seconds: Record<string, number> = {};
  const t0 = performance.now();
  const frame = await loadBenchFrame(data, "2023-01", months);
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
  seconds.total = round3((performance.now() - t0) / 1000);
  // The reference's workload ends here: its peak memory is the process's so far. What follows
  // (more gb seeds, the streaming check, the exchange figures) the reference does not run.
  const peak = maxRssMb();
  const gbSeeds = benchGbSpread(frame, features, labels, models.auc);
  const streamUs = benchStreaming(frame, 100_000);
  const { benchExchange } = await import("./exchange.js");
  const exchange = await benchExchange(data);
  return {
    impl: "itb",
    rows: frame.length,
    seconds,
    train_rows: models.trainRows,
    test_rows: models.testRows,
    features: features.length,
    auc_out_of_sample: models.auc,
    gb_auc_over_seeds: gbSeeds,
    label_rate: Object.fromEntries(labels.map((l) => [l, labelRate(frame.get(l))])),
    best_grid: signals.best,
    backtest_candles_per_s: signals.candlesPerSecond,
    backtest_first_run_candles_per_s: signals.firstRunCandlesPerSecond,
    grid_candles_per_s: signals.gridCandlesPerSecond,
    stream_us_per_candle: Math.round(streamUs * 100) / 100,
    exchange,
    peak_rss_mb: peak,
    peak_rss_mb_with_extras: maxRssMb(),
  };
}

/** The median of each stage's seconds over runs (each run's other fields: the first run's), and each stage's range. */
function medianRun(runs: readonly BenchResult[]): BenchResult {
  const first = runs[0] as BenchResult;
  if (runs.length === 1) return first;
  const seconds: Record<string, number> = {};
  const range: Record<string, [number, number]> = {};
  for (const stage of Object.keys(first.seconds)) {
    const xs = runs.map((r) => r.seconds[stage]).filter((x): x is number => x !== undefined);
    xs.sort((a, b) => a - b);
    const mid = xs.length >> 1;
    seconds[stage] = round3(
      xs.length % 2 === 1 ? (xs[mid] as number) : ((xs[mid - 1] as number) + (xs[mid] as number)) / 2,
    );
    range[stage] = [xs[0] as number, xs[xs.length - 1] as number];
  }
  const largest = (key: "peak_rss_mb" | "peak_rss_mb_with_extras") => {
    const xs = runs.map((r) => r[key]).filter((x): x is number => typeof x === "number");
    return xs.length === 0 ? {} : { [key]: Math.max(...xs) };
  };
  return {
    ...first,
    seconds,
    repeat: runs.length,
    seconds_range: range,
    ...largest("peak_rss_mb"),
    ...largest("peak_rss_mb_with_extras"),
  };
}

/**
 * Our side `repeat` times, each in a fresh process as the reference's runs are (a second run in
 * the same process would find its code compiled and its memory warm).
 */
async function runOursRepeated(data: string, months: number, repeat: number): Promise<BenchResult> {
  if (repeat === 1) return runOurs(data, months);
  const runs: BenchResult[] = [];
  for (let i = 0; i < repeat; i++) {
    const out = join(tmpdir(), `itb-bench-ours-${process.pid}-${i}.json`);
    const script = fileURLToPath(import.meta.url);
    const args = [
      script,
      "--months",
      String(months),
      "--data",
      data,
      "--json",
      out,
      "--no-reference",
      "--no-queue",
    ];
    await new Promise<void>((done, fail) => {
      execFile(process.execPath, args, { maxBuffer: 64 << 20 }, (err, _stdout, stderr) => {
        if (err)
          fail(
            new Error(
              `run ${i + 1} of ${repeat} failed: ${stderr.trim().split("\n").slice(-1)[0] ?? err.message}`,
            ),
          );
        else done();
      });
    });
    runs.push(JSON.parse(readFileSync(out, "utf8")) as BenchResult);
    rmSync(out, { force: true });
    process.stderr.write(`bench: our run ${i + 1} of ${repeat}: total ${runs[i]?.seconds.total} s\n`);
  }
  return medianRun(runs);
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

Then, when a Redis answers at --queue-url, the demo's market x 4 through 1, 2 and 3
\`itb worker\` processes (the JSON lines have "bench":"queue"; a table follows on stderr):
wall time, speed-up, stage seconds, the jobs' time outside their stages, the queue's pickup
latency, storage seconds, and whether the outputs hash to a local \`itb pipeline\` run's.
Each worker count runs with the data folders on local storage and on Azure Blob Storage
through Azurite (az://, started by the bench, a cache folder per worker; skipped with a
message when Azurite, a dev dependency, is not installed).
With CI set in the environment: 1 copy, 1 worker, stages import to features, local storage.

Options:
  --months <n>       months of candles, 1 to 24 (default 12)
  --repeat <n>       run each side n times (1 to 9), each in a fresh process, and report each
                     stage's median ("seconds") and range ("seconds_range") (default 1)
  --data <dir>       Binance archive folder (default ../shared/data/binance-vision)
  --reference <py>   the reference script (default ../shared/bench/reference.py)
  --json <file>      also write our JSON line to this file
  --no-reference     do not run the Python reference
  --queue-workers <list>  worker process counts, one run each (default 1,2,3; with CI: 1)
  --queue-copies <n> copies of the demo's market, 1 to 16 (default 4; with CI: 1)
  --queue-to <stage> last stage of the queued runs (default: every stage; with CI: features)
  --queue-storage <s>  local, azurite or both (default both; with CI: local)
  --queue-url <url>  the Redis (default redis://127.0.0.1:6379)
  --no-queue         skip the queue section
  --queue-only       only the queue section (npm run bench:queue)
  -h, --help         print this help

Examples:
  npm run bench -- --months 1 --no-reference
  npm run bench:queue -- --queue-workers 1,2 --queue-copies 2
  npm run bench:queue -- --queue-storage azurite
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
      repeat: { type: "string", default: "1" },
      data: { type: "string", default: resolve(PACKAGE_ROOT, "../shared/data/binance-vision") },
      reference: { type: "string", default: resolve(PACKAGE_ROOT, "../shared/bench/reference.py") },
      json: { type: "string" },
      "no-reference": { type: "boolean", default: false },
      "queue-workers": { type: "string" },
      "queue-copies": { type: "string" },
      "queue-to": { type: "string" },
      "queue-storage": { type: "string" },
      "queue-url": { type: "string", default: "redis://127.0.0.1:6379" },
      "no-queue": { type: "boolean", default: false },
      "queue-only": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
}

type Values = NonNullable<ReturnType<typeof options>>["values"];

/** The Python reference on the same workload, and the ratios. */
async function referenceSection(
  values: Values,
  months: number,
  repeat: number,
  ours: BenchResult,
): Promise<void> {
  if (!existsSync(values.reference)) {
    process.stderr.write(`bench: reference skipped: ${values.reference} not found\n`);
    return;
  }
  process.stderr.write("bench: running the Python reference on the same workload...\n");
  const refs: BenchResult[] = [];
  let failure: string | undefined;
  for (let i = 0; i < repeat && failure === undefined; i++) {
    const r = await runReference(values.reference, values.data, months);
    if (typeof r === "string") failure = r;
    else refs.push(r);
    if (repeat > 1 && typeof r !== "string") {
      process.stderr.write(`bench: reference run ${i + 1} of ${repeat}: total ${r.seconds.total} s\n`);
    }
  }
  const ref = failure ?? medianRun(refs);
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

/** The demo's stages, in order (`--queue-to` names one): the graph with the import source and the walk-forward. */
async function demoStages(): Promise<string[]> {
  const { STAGES, selectGraph } = await import("../pipeline/graph/stages.js");
  return selectGraph(STAGES, { source: "import", predict: "rolling" }).map((s) => s.name);
}

const isCi = () => process.env.CI !== undefined && process.env.CI !== "" && process.env.CI !== "false";

const STORAGES = new Map<string, QueueStorage[]>([
  ["local", ["local"]],
  ["azurite", ["azurite"]],
  ["both", ["local", "azurite"]],
]);

/** The queue section's options, or a usage message. CI (set by .ci/run) makes the defaults small. */
async function queueOptions(values: Values): Promise<QueueBenchOptions | string> {
  const ci = isCi();
  const workersText = values["queue-workers"] ?? (ci ? "1" : "1,2,3");
  const workers = workersText.split(",").map((w) => Number(w.trim()));
  if (workers.some((w) => !Number.isInteger(w) || w < 1 || w > 16)) {
    return `--queue-workers must be a list of integers from 1 to 16 such as 1,2,3, got "${workersText}"`;
  }
  const copiesText = values["queue-copies"] ?? (ci ? "1" : "4");
  const copies = Number(copiesText);
  if (!Number.isInteger(copies) || copies < 1 || copies > 16) {
    return `--queue-copies must be an integer from 1 to 16, got "${copiesText}"`;
  }
  const to = values["queue-to"] ?? (ci ? "features" : undefined);
  if (to !== undefined) {
    const stages = await demoStages();
    if (!stages.includes(to)) return `--queue-to must be one of ${stages.join(", ")}, got "${to}"`;
  }
  const storageText = values["queue-storage"] ?? (ci ? "local" : "both");
  const storage = STORAGES.get(storageText);
  if (storage === undefined) {
    return `--queue-storage must be local, azurite or both, got "${storageText}"`;
  }
  return { url: values["queue-url"], storage, workers, copies, ...(to === undefined ? {} : { to }) };
}

/** The distributed pipeline through 1, 2, 3 workers; skipped with a message when no Redis answers. */
async function queueSection(opts: QueueBenchOptions): Promise<void> {
  const { benchQueue, queueTable, redisReachable } = await import("./queue.js");
  const { AZURITE_BIN, azuriteInstalled } = await import("./azurite.js");
  if (!(await redisReachable(opts.url))) {
    process.stderr.write(
      `bench: queue section skipped: no Redis answers at ${opts.url} (start one, or pass --queue-url URL)\n`,
    );
    return;
  }
  if (isCi() && !opts.storage.includes("azurite")) {
    process.stderr.write(
      "bench: queue: CI: local storage only (--queue-storage both adds the Azurite runs)\n",
    );
  }
  if (opts.storage.includes("azurite") && !azuriteInstalled()) {
    const rest = opts.storage.filter((s) => s !== "azurite");
    process.stderr.write(
      `bench: queue: Azurite runs skipped: Azurite is not installed (${AZURITE_BIN}; a dev dependency)` +
        `${rest.length === 0 ? "" : ", local storage only"}\n`,
    );
    if (rest.length === 0) return;
    opts = { ...opts, storage: rest };
  }
  process.stderr.write(
    `bench: the demo's market x ${opts.copies} through ${opts.workers.join(", ")} itb worker process(es)` +
      `${opts.to === undefined ? "" : `, stages up to ${opts.to}`}, on ${opts.storage.join(" and ")} storage...\n`,
  );
  let lines: Awaited<ReturnType<typeof benchQueue>>;
  try {
    lines = await benchQueue(
      opts,
      (l) => process.stdout.write(`${JSON.stringify(l)}\n`),
      (m) => process.stderr.write(`bench: queue: ${m}\n`),
    );
  } catch (err) {
    process.stderr.write(`bench: queue: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
    return;
  }
  process.stderr.write(`${queueTable(lines)}\n`);
  const different = lines.filter((l) => !l.outputs_equal_local);
  if (different.length > 0) {
    process.stderr.write(
      `bench: queue: the outputs of ${different.map((l) => l.run).join(", ")} differ from the local run's: ` +
        `${different[0]?.differing?.join(", ")}\n`,
    );
    process.exitCode = 1;
  } else {
    process.stderr.write("bench: queue: every queued run's outputs hash to the local run's\n");
  }
}

async function main(): Promise<void> {
  const parsed = options();
  if (parsed === undefined) return;
  const { values } = parsed;
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const usage = (message: string) => {
    process.stderr.write(`bench: ${message}\n`);
    process.exitCode = 2;
  };
  const months = Number(values.months);
  if (!Number.isInteger(months) || months < 1 || months > 24) {
    usage(`--months must be an integer from 1 to 24, got "${values.months}"`);
    return;
  }
  const repeat = Number(values.repeat);
  if (!Number.isInteger(repeat) || repeat < 1 || repeat > 9) {
    usage(`--repeat must be an integer from 1 to 9, got "${values.repeat}"`);
    return;
  }
  if (values["queue-only"] && values["no-queue"]) {
    usage("--queue-only and --no-queue: give one of them");
    return;
  }
  const queue = await queueOptions(values);
  if (typeof queue === "string") {
    usage(queue);
    return;
  }
  if (!values["queue-only"]) {
    if (!existsSync(values.data)) {
      usage(`data folder not found: ${values.data} (pass --data DIR in Binance's archive layout)`);
      return;
    }
    const ours = await runOursRepeated(values.data, months, repeat);
    const line = JSON.stringify(ours);
    process.stdout.write(`${line}\n`);
    if (values.json) writeFileSync(values.json, `${line}\n`);
    if (!values["no-reference"]) await referenceSection(values, months, repeat, ours);
  }
  if (!values["no-queue"]) await queueSection(queue);
}

await main();
