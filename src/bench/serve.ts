import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { setPriority, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import { PACKAGE_ROOT } from "../cli/version.js";
import { readLedgerUrl } from "../config/ledgerUrl.js";
import { SystemClock } from "../core/clock.js";
import { type Logger, noProgress, silentLogger } from "../core/log.js";
import { CcxtMarketData } from "../exchange/ccxt/adapter.js";
import type { Market, MarketData } from "../exchange/marketData.js";
import { FeatureStream } from "../features/featureSets.js";
import { openLedgerOf } from "../live/ledger/open.js";
import { runService } from "../live/service.js";
import { runPipeline } from "../pipeline/graph/matrix.js";
import { BENCH_FEATURE_SETS } from "./workload.js";

/**
 * `npm run bench:serve`: `itb serve`'s latency per closed candle, for 1, 10 and 100 markets
 * whose candles close at the same moment, against the exchange simulator in a child process.
 *
 * The markets are aliases of the bundled sample's BTCUSDT spot candles (the sample's zips
 * symlinked under other symbol names in a temporary archive), so each market has real candles
 * and its own klines store and ledger rows. Every market uses the reference's 20 features
 * (src/bench/workload.ts) and lc + gb models trained once on BTCUSDT 2023-02-01..2023-03-20,
 * with a paper trader, as `itb serve` runs a config's `symbols`. The simulator's clock is
 * frozen and moved one candle at a time; the kline WebSocket tells the service a candle closed
 * and the service fetches it over REST, as it does against Binance.
 *
 * Per market and candle: from the moment the candle's REST response is in the process to the
 * moment its ledger transaction has committed (scores, signals, decisions, equity), so including
 * the wait behind the other markets' candles; and the service's own figure, from the runner
 * taking the candle up to that commit (its stage times' total). Per candle:
 * from the clock move (the candle closes at the exchange) to the last market's commit, and
 * from the first market's receipt to the last one's commit. Resident memory (RSS) of this
 * process after the warm-up candles and at the end; the simulator runs in its own process.
 */

const MIN = 60_000;
const T0 = Date.UTC(2023, 2, 20); // models see candles before this; the service follows candles from it
const MODEL_FROM = "2023-02-01";
const MODEL_TO = "2023-03-20";
const SAMPLE = join(PACKAGE_ROOT, "sample", "binance-vision");
const SAMPLE_SPOT = join(SAMPLE, "data/spot/monthly/klines/BTCUSDT/1m");

const USAGE = `Usage: npm run bench:serve -- [options]

Runs \`itb serve\` on N markets whose 1m candles close at the same moment (aliases of the
sample's BTCUSDT), against the exchange simulator, and prints one JSON line per N: latency
per market from receiving a closed candle to its ledger commit (p50, p99, max), the time until
all N markets are done for a candle, and resident memory.

Options:
  --markets <list>   market counts to run, comma-separated (default 1,10,100)
  --candles <n>      candles measured per run (default 200)
  --warmup <n>       candles served before measuring (default 20)
  --gap <ms>         idle time between candles, ms (default 100)
  --dir <folder>     where the temporary archive, stores and ledgers go (default: the temporary folder)
  --json <file>      also write the JSON lines to this file
  --ledger-url <url> the ledger on PostgreSQL (postgres://user@host:5432/db[?schema=name]): each run
                     writes a schema of its own (<schema>_<N>m_<time>), dropped after it
                     (default: an SQLite file per run)
  --log              the service's log lines on stderr (debug)
  --cpu-prof <file>  write a CPU profile of the measured candles (the last --markets run) to this file
  -h, --help         print this help
`;

interface Options {
  markets: number[];
  candles: number;
  warmup: number;
  gapMs: number;
  dir: string;
  json: string | undefined;
  ledgerUrl: string | undefined;
  log: Logger;
  cpuProf: string | undefined;
}

const line =
  (level: string) =>
  (obj: object, msg?: string): void => {
    process.stderr.write(`${JSON.stringify({ level, t: new Date().toISOString(), msg, ...obj })}\n`);
  };
const stderrLogger: Logger = {
  debug: line("debug"),
  info: line("info"),
  warn: line("warn"),
  error: line("error"),
};

function options(): Options | undefined {
  let values: ReturnType<typeof parse>["values"];
  try {
    values = parse().values;
  } catch (err) {
    process.stderr.write(`bench:serve: ${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    process.exitCode = 2;
    return undefined;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return undefined;
  }
  const int = (v: string, name: string, min: number): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min)
      throw new Error(`--${name} must be an integer >= ${min}, got "${v}"`);
    return n;
  };
  try {
    return {
      markets: values.markets.split(",").map((m) => int(m.trim(), "markets", 1)),
      candles: int(values.candles, "candles", 1),
      warmup: int(values.warmup, "warmup", 1),
      gapMs: int(values.gap, "gap", 0),
      dir: values.dir ?? tmpdir(),
      json: values.json,
      ledgerUrl: values["ledger-url"],
      log: values.log ? stderrLogger : silentLogger,
      cpuProf: values["cpu-prof"],
    };
  } catch (err) {
    process.stderr.write(`bench:serve: ${(err as Error).message}\n`);
    process.exitCode = 2;
    return undefined;
  }
}

function parse() {
  return parseArgs({
    options: {
      markets: { type: "string", default: "1,10,100" },
      candles: { type: "string", default: "200" },
      warmup: { type: "string", default: "20" },
      gap: { type: "string", default: "100" },
      dir: { type: "string" },
      json: { type: "string" },
      "ledger-url": { type: "string" },
      log: { type: "boolean", default: false },
      "cpu-prof": { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
}

/** The reference's 20 features as config feature_sets (the live default fill: causal ffill). */
function featureSetsConfig(): Record<string, unknown>[] {
  return BENCH_FEATURE_SETS.map((s) => {
    const { fill: _linear, ...config } = s.config as Record<string, unknown>;
    return { generator: "talib", config };
  });
}

function featureNames(): string[] {
  const sets = BENCH_FEATURE_SETS.map((s) => {
    const { fill: _linear, ...config } = s.config as Record<string, unknown>;
    return { ...s, config };
  });
  return [...new FeatureStream(sets, ["open", "high", "low", "close", "volume"]).outputs];
}

function marketConfig(o: {
  dataFolder: string;
  modelFolder: string;
  symbols?: string[];
  exchangeUrl?: string;
  from: string;
  to: string;
}): Record<string, unknown> {
  const c: Record<string, unknown> = {
    symbol: "BTCUSDT",
    freq: "1m",
    data_folder: o.dataFolder,
    model_folder: o.modelFolder,
    download_start: o.from,
    download_end: o.to,
    data_sources: [{ folder: "{symbol}", column_prefix: "", market: "spot" }],
    feature_sets: featureSetsConfig(),
    label_sets: ["high", "low"].map((fn) => ({
      generator: "highlow2",
      config: {
        columns: ["close", "high", "low"],
        function: fn,
        thresholds: [2.0],
        tolerance: 0.2,
        horizon: 120,
        names: [`${fn}_20`],
      },
    })),
    label_horizon: 120,
    train_features: featureNames(),
    labels: ["high_20", "low_20"],
    algorithms: [
      { name: "lc", algo: "lc", params: { C: 1.0, max_iter: 100 }, train: { is_scale: true } },
      {
        name: "gb",
        algo: "gb",
        params: { objective: "binary", num_boost_round: 300, learning_rate: 0.05, num_leaves: 31 },
      },
    ],
    signal_sets: [
      { generator: "smoothen", config: { columns: "high_20_gb", names: "high_20_s", window: 3 } },
      { generator: "smoothen", config: { columns: "low_20_gb", names: "low_20_s", window: 3 } },
      {
        generator: "combine",
        config: { columns: ["high_20_lc", "low_20_lc"], names: "lc_score", combine: "difference" },
      },
      {
        generator: "combine",
        config: { columns: ["high_20_s", "low_20_s"], names: "trade_score", combine: "relative" },
      },
      {
        generator: "threshold_rule",
        config: {
          columns: "trade_score",
          names: ["buy_signal_column", "sell_signal_column"],
          parameters: { buy_signal_threshold: 0.05, sell_signal_threshold: -0.05 },
        },
      },
    ],
    output_sets: [{ generator: "trader_simulation", config: {} }],
    backtest: {
      direction: "both",
      taker_fee: 0.001,
      maker_fee: 0.0005,
      slippage_bps: 2,
      stop_loss: 0.01,
      take_profit: 0.015,
      filters: { tick_size: 0.01, step_size: 0.00001, min_notional: 5 },
    },
  };
  if (o.symbols !== undefined) c.symbols = o.symbols;
  if (o.exchangeUrl !== undefined) c.exchange_url = o.exchangeUrl;
  return c;
}

/** lc and gb for high_20 and low_20, trained on BTCUSDT before T0 (imported from the sample). */
async function trainModels(root: string, modelFolder: string): Promise<number> {
  const configFile = join(root, "train.json");
  const dataFolder = join(root, "train-data");
  writeFileSync(
    configFile,
    JSON.stringify(marketConfig({ dataFolder, modelFolder, from: MODEL_FROM, to: MODEL_TO }), null, 2),
  );
  const t0 = performance.now();
  const run = await runPipeline(
    { configFile, archive: SAMPLE, source: "import", predict: "current", to: "train" },
    { log: silentLogger, progress: noProgress, clock: { now: () => Date.now() }, itbVersion: "bench" },
  );
  if (run.failed > 0) throw new Error("bench:serve: training the models failed");
  return (performance.now() - t0) / 1000;
}

const symbolOf = (k: number): string => `B${String(k).padStart(3, "0")}USDT`;

/** The sample's BTCUSDT 1m zips under `n` other symbol names (symlinks; checksums not checked). */
function aliasArchive(root: string, n: number): string {
  const archive = join(root, "archive");
  const zips = ["2023-02", "2023-03"].map((m) => `BTCUSDT-1m-${m}.zip`);
  for (let k = 1; k <= n; k++) {
    const s = symbolOf(k);
    const dir = join(archive, "data/spot/monthly/klines", s, "1m");
    mkdirSync(dir, { recursive: true });
    for (const z of zips) symlinkSync(join(SAMPLE_SPOT, z), join(dir, z.replace("BTCUSDT", s)));
  }
  return archive;
}

interface Sim {
  url: string;
  child: ChildProcess;
  setTime(ms: number): Promise<void>;
  rssMb(): number;
  close(): Promise<void>;
}

/** `itb sim` in a child process: its frozen clock, streams and REST, off this process's thread. */
async function startSim(archive: string, start: number): Promise<Sim> {
  const child = spawn(
    process.execPath,
    [
      join(PACKAGE_ROOT, "dist/cli/run.js"),
      "sim",
      "--archive",
      archive,
      "--port",
      "0",
      "--start",
      new Date(start).toISOString(),
      "--speed",
      "0",
      "--forming-every",
      "0",
      "--weight-limit",
      "100000000",
      "--no-verify",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  // The exchange stands for a remote one: it yields the CPU to the service.
  if (child.pid !== undefined) setPriority(child.pid, 19);
  let err = "";
  child.stderr?.on("data", (d: Buffer) => {
    err = (err + d.toString()).slice(-4000);
  });
  const url = await new Promise<string>((done, fail) => {
    let out = "";
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /exchange on (http:\/\/\S+)/.exec(out);
      if (m?.[1]) done(m[1]);
    });
    child.once("exit", (code) => fail(new Error(`the simulator exited (${code}): ${err}`)));
  });
  return {
    url,
    child,
    async setTime(ms) {
      const r = await fetch(`${url}/admin/clock`, { method: "POST", body: JSON.stringify({ time: ms }) });
      if (!r.ok) throw new Error(`simulator clock: ${r.status} ${await r.text()}`);
    },
    rssMb() {
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
        const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
        return Math.round(kb / 1024);
      } catch {
        return Number.NaN;
      }
    },
    close() {
      return new Promise((done) => {
        if (child.exitCode !== null) {
          done();
          return;
        }
        child.once("exit", () => done());
        child.kill("SIGTERM");
      });
    },
  };
}

/** Delegates to `md`, noting when each candle's klines response was in this process. */
function stampingMarketData(md: MarketData, received: Map<string, number>): MarketData {
  return new Proxy(md, {
    get(target, prop, receiver) {
      if (prop === "fetchKlines") {
        return async (...args: Parameters<MarketData["fetchKlines"]>) => {
          const frame = await target.fetchKlines(...args);
          const at = performance.now();
          // a back-fill's pages hold many candles; live, a response holds the candle just closed
          if (frame.length <= 5) {
            for (const t of frame.time) {
              const key = `${args[0]} ${t}`;
              if (!received.has(key)) received.set(key, at);
            }
          }
          return frame;
        };
      }
      const v = Reflect.get(target, prop, receiver);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

const r2 = (x: number) => Math.round(x * 100) / 100;

function summary(xs: number[]): { p50: number; p99: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  return { p50: r2(quantile(s, 0.5)), p99: r2(quantile(s, 0.99)), max: r2(s.at(-1) ?? Number.NaN) };
}

async function startProfile(): Promise<Session> {
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 100 });
  await session.post("Profiler.start");
  return session;
}

async function stopProfile(session: Session, file: string): Promise<void> {
  const { profile } = await session.post("Profiler.stop");
  writeFileSync(file, JSON.stringify(profile));
  session.disconnect();
}

const rssMb = () => Math.round(process.memoryUsage().rss / 2 ** 20);

/** `url` with a schema of its own for the run of `n` markets. */
function runLedgerUrl(url: string, n: number): { url: string; schema: string } {
  const read = readLedgerUrl(url);
  if (typeof read === "string") throw new Error(`--ledger-url: ${read}`);
  const schema = `${read.schema}_${n}m_${Date.now().toString(36)}`.slice(0, 63);
  const u = new URL(read.connectionString);
  u.searchParams.set("schema", schema);
  return { url: u.toString(), schema };
}

async function dropSchema(url: string, schema: string): Promise<void> {
  const u = new URL(url);
  u.searchParams.delete("schema");
  const client = new pg.Client({ connectionString: u.toString() });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

async function benchMarkets(base: string, modelFolder: string, n: number, o: Options) {
  const root = mkdtempSync(join(base, `itb-bench-serve-${n}-`));
  const sim = await startSim(aliasArchive(root, n), T0 + 30_000);
  const pgLedger = o.ledgerUrl === undefined ? undefined : runLedgerUrl(o.ledgerUrl, n);
  try {
    const symbols = Array.from({ length: n }, (_, k) => symbolOf(k + 1));
    const configFile = join(root, "serve.json");
    const from = new Date(T0 - 2 * 1440 * MIN).toISOString().slice(0, 10);
    writeFileSync(
      configFile,
      JSON.stringify(
        marketConfig({
          dataFolder: join(root, "data"),
          modelFolder,
          symbols,
          exchangeUrl: sim.url,
          from,
          to: MODEL_TO,
        }),
        null,
        2,
      ),
    );

    const received = new Map<string, number>();
    const clients = new Map<Market, MarketData>();
    const controller = new AbortController();
    const total = o.warmup + o.candles;
    const perMarket: number[] = [];
    const ledgerMs: number[] = [];
    const stage = {
      features: [] as number[],
      trading: [] as number[],
      ledger: [] as number[],
      total: [] as number[],
    };
    const allDone: number[] = [];
    const firstToLast: number[] = [];
    const arrivals: number[] = [];
    const afterLastReceipt: number[] = [];
    let rssWarm = 0;
    let unstamped = 0;
    let done = 0;
    let lastCommit = 0;
    let firstReceipt = Number.POSITIVE_INFINITY;
    let lastReceipt = 0;
    let candleDone: (() => void) | undefined;
    let current = Number.NaN;
    let measuring = false;
    const startedAt = performance.now();
    let readyAt = 0;

    const served = runService({
      configFiles: [configFile],
      log: o.log,
      clock: new SystemClock(),
      signal: controller.signal,
      openLedger: (folder) =>
        openLedgerOf({ data_folder: folder, ledger_url: pgLedger?.url }, { command: "bench:serve" }),
      marketData: (config, market) => {
        let c = clients.get(market);
        if (c === undefined) {
          const md = new CcxtMarketData({
            venue: config.venue,
            ...(config.exchange_url === undefined ? {} : { exchangeUrl: config.exchange_url }),
            log: silentLogger,
            signal: controller.signal,
          });
          c = stampingMarketData(md, received);
          clients.set(market, c);
        }
        return c;
      },
      websocket: true,
      delayMs: 0,
      pollMs: 60_000,
      onProcessed: (m, rec, st) => {
        const at = performance.now();
        if (rec.candle.time !== current) return; // warm-up and start-up catch-up
        const got = received.get(`${m.key.symbol} ${rec.candle.time}`);
        if (measuring) {
          if (got === undefined) unstamped++;
          else perMarket.push(at - got);
          ledgerMs.push(rec.latencyMs);
          stage.features.push(st.features);
          stage.trading.push(st.trading);
          stage.ledger.push(st.ledger);
          stage.total.push(st.total);
        }
        if (got !== undefined) {
          firstReceipt = Math.min(firstReceipt, got);
          lastReceipt = Math.max(lastReceipt, got);
        }
        lastCommit = at;
        if (++done === n) candleDone?.();
      },
      onReady: () => {
        readyAt = performance.now();
      },
    });
    // the service's start-up: models, back-fill of every market, warm-up; then it waits for candles
    let failure: unknown;
    served.catch((err: unknown) => {
      failure = err;
      candleDone?.();
    });
    while (readyAt === 0) {
      if (failure !== undefined) throw failure;
      await new Promise((r) => setTimeout(r, 50));
    }
    // the WebSockets are subscribed once onReady has run; let the markets settle into their wait
    await new Promise((r) => setTimeout(r, 500));

    let profiler: Session | undefined;
    for (let i = 0; i < total; i++) {
      if (i === o.warmup && o.cpuProf !== undefined) profiler = await startProfile();
      current = T0 + i * MIN;
      measuring = i >= o.warmup;
      done = 0;
      firstReceipt = Number.POSITIVE_INFINITY;
      lastReceipt = 0;
      const finished = new Promise<void>((r) => {
        candleDone = r;
      });
      const tick = performance.now();
      await sim.setTime(current + MIN + 50); // the candle of `current` closes at the exchange
      await finished;
      if (failure !== undefined) throw failure;
      if (measuring) {
        allDone.push(lastCommit - tick);
        firstToLast.push(lastCommit - firstReceipt);
        arrivals.push(lastReceipt - firstReceipt);
        afterLastReceipt.push(lastCommit - lastReceipt);
      }
      if (i === o.warmup - 1) rssWarm = rssMb();
      received.clear();
      await new Promise((r) => setTimeout(r, o.gapMs));
    }
    const rssEnd = rssMb();
    if (profiler !== undefined && o.cpuProf !== undefined) await stopProfile(profiler, o.cpuProf);
    controller.abort();
    const run = await served;
    if (run.failed.length > 0) throw new Error(`markets failed: ${JSON.stringify(run.failed)}`);
    if (unstamped > 0) throw new Error(`${unstamped} candles were processed without a klines response seen`);
    return {
      markets: n,
      candles: o.candles,
      ledger: pgLedger === undefined ? "sqlite" : "postgres",
      startup_s: r2((readyAt - startedAt) / 1000),
      per_market_from_receipt_ms: summary(perMarket),
      per_market_in_service_ms: summary(stage.total),
      ledger_latency_ms_field: summary(ledgerMs),
      stages_p50_ms: {
        features_scores_signals: summary(stage.features).p50,
        paper_trading: summary(stage.trading).p50,
        ledger_commit: summary(stage.ledger).p50,
      },
      all_markets_from_close_ms: summary(allDone),
      all_markets_from_first_receipt_ms: summary(firstToLast),
      all_markets_from_last_receipt_ms: summary(afterLastReceipt),
      first_to_last_receipt_ms: summary(arrivals),
      rss_mb_after_warmup: rssWarm,
      rss_mb_end: rssEnd,
      simulator_rss_mb: sim.rssMb(),
    };
  } finally {
    await sim.close();
    rmSync(root, { recursive: true, force: true });
    if (pgLedger !== undefined) await dropSchema(pgLedger.url, pgLedger.schema);
  }
}

async function main(): Promise<void> {
  const o = options();
  if (o === undefined) return;
  const base = mkdtempSync(join(o.dir, "itb-bench-serve-"));
  const lines: string[] = [];
  try {
    const modelFolder = join(base, "models");
    const trainS = await trainModels(base, modelFolder);
    process.stderr.write(`bench:serve: models trained in ${trainS.toFixed(1)} s\n`);
    for (const n of o.markets) {
      const result = await benchMarkets(base, modelFolder, n, o);
      const line = JSON.stringify({ bench: "serve", node: process.version, ...result });
      lines.push(line);
      process.stdout.write(`${line}\n`);
    }
    if (o.json !== undefined) writeFileSync(o.json, `${lines.join("\n")}\n`);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

await main();
