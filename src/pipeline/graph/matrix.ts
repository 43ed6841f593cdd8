import { availableParallelism } from "node:os";
import { type Config, type ConfigOverrides, type LoadedConfig, loadConfig } from "../../config/index.js";
import { parseConfigTime, TIME_EXPECTED } from "../../config/primitives.js";
import { ConfigError, UsageError } from "../../core/errors.js";
import type { Logger, ProgressFactory } from "../../core/log.js";
import type { AcquireOptions } from "../../data/lock.js";
import { preflight } from "../preflight.js";
import { checkSharedFolder, openSharedData, type SharedStorage } from "../sharedData.js";
import { lockForWriting, type WriteTarget } from "../writeLocks.js";
import { FingerprintCache } from "./fingerprint.js";
import { manifestFile } from "./manifest.js";
import { KeyedLock, type MarketId, type MarketRun, runMarket, type StageEvent } from "./runner.js";
import { STAGES, selectGraph } from "./stages.js";
import type { PipelineOptions, StageDef } from "./types.js";

/**
 * The multi-market runner: every symbol × freq is a market with its own config (the file
 * reloaded with `symbol`/`freq` overridden, so `{symbol}`/`{freq}` placeholders resolve per
 * market). Markets run concurrently in a pool of `jobs` (default: half the cores, at least
 * one), each market's stages in order; the heavy stages of a market get cores / jobs worker
 * threads, so the machine is not oversubscribed. One market failing does not stop the others.
 *
 * Before any stage runs, the pipeline takes the write lock of every market's folder (and of
 * the data source folders, when import or download runs): another itb process writing one
 * of them makes it stop (LockedError) or, with `wait`, wait. An aborted signal (Ctrl-C) ends
 * every market after its stage in flight; markets not started report every stage not run.
 */

export interface PipelineRequest {
  configFile: string;
  /** Default: the config's symbol. */
  symbols?: readonly string[];
  /** Default: the config's freq. */
  freqs?: readonly string[];
  /** Default: the stage named in from/to/only/force, else download when exchange_url is set, else import. */
  source?: "import" | "download";
  /** Default: the stage named in from/to/only/force, else rolling when rolling_predict is set, else current. */
  predict?: "rolling" | "current";
  /** The import stage's archive (URL or folder); default: the config's archive_url. */
  archive?: string;
  /** Override download_start/download_end (dates); the stage names are `from`/`to`. */
  downloadStart?: string;
  downloadEnd?: string;
  from?: string;
  to?: string;
  only?: readonly string[];
  /** true: every stage; a list: those stages. */
  force?: boolean | readonly string[];
  /** Markets at once; default max(1, floor(cores / 2)). */
  jobs?: number;
  /** Worker threads per market; default max(1, floor(cores / jobs)). */
  workers?: number;
  /** When another process writes a market's folders: wait for it (default: LockedError). */
  wait?: boolean;
  /** The download stage's exchange, instead of exchange_url (not part of its manifest). */
  exchangeUrl?: string;
}

export interface PipelineDeps {
  log: Logger;
  progress: ProgressFactory;
  clock: { now(): number };
  itbVersion: string;
  /** Where a stage logs; default: `log` with symbol, freq and stage fields. */
  logFor?(market: MarketId, stage: string): Logger;
  signal?: AbortSignal;
  onEvent?(event: StageEvent): void;
  /** Called once per market before it runs (progress output). */
  onMarket?(market: MarketId, stages: readonly string[]): void;
  /** Called once, after planning and before any stage runs: how many markets, how many at a time. */
  onPlan?(plan: { markets: number; jobs: number }): void;
  load?(file: string, overrides: ConfigOverrides): LoadedConfig;
  /** Lock timings (tests); `wait` and `signal` come from the request and the deps. */
  lock?: Pick<AcquireOptions, "pollMs" | "staleMs" | "refreshMs" | "command">;
}

export interface PipelineRun {
  markets: MarketRun[];
  jobs: number;
  workers: number;
  seconds: number;
  /** Markets that failed (an interrupted market is not counted). */
  failed: number;
  /** Markets stopped by the signal before their last stage. */
  interrupted: number;
}

/** A logger that adds fields to every line. */
export function withFields(log: Logger, fields: object): Logger {
  return {
    debug: (o, m) => log.debug({ ...fields, ...o }, m),
    info: (o, m) => log.info({ ...fields, ...o }, m),
    warn: (o, m) => log.warn({ ...fields, ...o }, m),
    error: (o, m) => log.error({ ...fields, ...o }, m),
  };
}

function checkStageName(name: string, what: string): void {
  if (!STAGES.some((s) => s.name === name)) {
    throw new UsageError(`${what}: unknown stage "${name}"; stages: ${STAGES.map((s) => s.name).join(", ")}`);
  }
}

/** The named stages of a group decide the choice when no option does; naming both alternatives is an error. */
function choose<T extends string>(
  group: "source" | "predict",
  explicit: T | undefined,
  named: ReadonlySet<string>,
  toChoice: (stage: string) => T,
  fallback: T,
  flag: string,
): T {
  const members = STAGES.filter((s) => s.group === group).map((s) => s.name);
  const mentioned = members.filter((m) => named.has(m));
  if (mentioned.length > 1) {
    throw new UsageError(
      `${mentioned.join(" and ")} are alternatives: a pipeline runs one of them (${flag})`,
    );
  }
  const implied = mentioned[0] === undefined ? undefined : toChoice(mentioned[0]);
  if (explicit !== undefined && implied !== undefined && explicit !== implied) {
    throw new UsageError(`${flag} ${explicit} contradicts the stage named: ${mentioned[0]}`);
  }
  return explicit ?? implied ?? fallback;
}

/** The market's graph and the names of the selected stages, in order. */
export function planMarket(
  request: PipelineRequest,
  loaded: LoadedConfig,
): {
  options: PipelineOptions;
  graph: StageDef[];
  selected: string[];
  predictor: { stage: string; reason: string };
} {
  const { config } = loaded;
  const named = new Set([
    ...(request.only ?? []),
    ...(request.from === undefined ? [] : [request.from]),
    ...(request.to === undefined ? [] : [request.to]),
    ...(Array.isArray(request.force) ? request.force : []),
  ]);
  const source = choose(
    "source",
    request.source,
    named,
    (s) => s as "import" | "download",
    config.exchange_url !== undefined ? "download" : "import",
    "--source",
  );
  const predict = choose(
    "predict",
    request.predict,
    named,
    (s) => (s === "predict" ? "current" : "rolling"),
    config.rolling_predict !== undefined ? "rolling" : "current",
    "--predict",
  );
  // `predict` scores the models on their own training rows: the summary says why it ran
  const predictor = {
    stage: predict === "rolling" ? "predict-rolling" : "predict",
    reason:
      request.predict !== undefined
        ? `--predict ${request.predict} was given`
        : named.has("predict") || named.has("predict-rolling")
          ? "the stage was named"
          : config.rolling_predict !== undefined
            ? "the config has a rolling_predict section"
            : "the config has no rolling_predict section",
  };
  const options: PipelineOptions = {
    source,
    predict,
    ...(request.archive === undefined ? {} : { archive: request.archive }),
    ...(request.workers === undefined ? {} : { workers: request.workers }),
    ...(request.exchangeUrl === undefined ? {} : { exchangeUrl: request.exchangeUrl }),
  };
  const graph = selectGraph(STAGES, { source, predict });
  const names = graph.map((s) => s.name);
  let selected = names;
  if (request.from !== undefined) selected = selected.slice(selected.indexOf(request.from));
  if (request.to !== undefined) selected = selected.slice(0, selected.indexOf(request.to) + 1);
  if (request.only !== undefined && request.only.length > 0) {
    const only = new Set(request.only);
    selected = selected.filter((n) => only.has(n));
  }
  if (selected.length === 0) {
    throw new UsageError(
      `no stage selected: --from ${request.from ?? "(first)"} --to ${request.to ?? "(last)"}${request.only ? ` --only ${request.only.join(",")}` : ""}`,
    );
  }
  return { options, graph, selected, predictor };
}

function validateRequest(request: PipelineRequest): void {
  if (request.from !== undefined) checkStageName(request.from, "--from");
  if (request.to !== undefined) checkStageName(request.to, "--to");
  for (const s of request.only ?? []) checkStageName(s, "--only");
  if (Array.isArray(request.force)) for (const s of request.force) checkStageName(s, "--force");
  const positive = (v: number | undefined, what: string) => {
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) {
      throw new UsageError(`${what} must be a positive integer, got ${v}`);
    }
  };
  positive(request.jobs, "--jobs");
  positive(request.workers, "--workers");
  for (const [value, flag] of [
    [request.downloadStart, "--download-start"],
    [request.downloadEnd, "--download-end"],
  ] as const) {
    if (value !== undefined && parseConfigTime(value) === undefined) {
      throw new UsageError(`${flag}: expected ${TIME_EXPECTED}, found "${value}"`);
    }
  }
  const dup = (list: readonly string[] | undefined, what: string) => {
    const seen = new Set<string>();
    for (const x of list ?? []) {
      if (seen.has(x)) throw new UsageError(`${what}: ${x} is listed twice`);
      seen.add(x);
    }
  };
  dup(request.symbols, "--symbols");
  dup(request.freqs, "--freqs");
}

export interface PlannedMarket {
  id: MarketId;
  loaded: LoadedConfig;
  /** What the config file is loaded with for this market (symbol, freq, dates). */
  overrides: ConfigOverrides;
  plan: ReturnType<typeof planMarket>;
  /** Set when the data folder is shared (az://): `loaded` then points at its local mirror. */
  storage?: SharedStorage;
}

/** The command-line date overrides, applied to every load of the config. */
function dateOverrides(request: PipelineRequest): ConfigOverrides {
  return {
    ...(request.downloadStart === undefined ? {} : { download_start: request.downloadStart }),
    ...(request.downloadEnd === undefined ? {} : { download_end: request.downloadEnd }),
  };
}

/**
 * Every section the market's selected stages read, checked before any stage of any market runs
 * (generators loaded, sets compiled, the grid against the searched rule): a mistake in a late
 * stage's section is a config error now, not a failure after the early stages have run.
 */
async function preflightMarket(m: PlannedMarket, many: boolean): Promise<void> {
  const { config } = m.loaded;
  const selected = new Set(m.plan.selected);
  const stages = m.plan.graph
    .filter((s) => selected.has(s.name) && s.notConfigured?.(config) === undefined)
    .map((s) => s.name);
  try {
    await preflight(config, m.loaded.file, new Set(stages), { startOption: "--download-start" });
  } catch (err) {
    throw many && err instanceof ConfigError ? inMarket(m.id, err) : err;
  }
}

function inMarket(id: MarketId, err: ConfigError): ConfigError {
  return new ConfigError(`${id.symbol} ${id.freq}: ${err.message}`, err.issues, { cause: err });
}

/**
 * Two markets writing the same derived file would overwrite each other's results (the same
 * symbol at two freqs with a data_folder without `{freq}`): refused before anything runs. The
 * source stages may share files (a data source used by several markets): they are serialised.
 */
function checkCollisions(markets: readonly PlannedMarket[]): void {
  const owner = new Map<string, string>();
  for (const m of markets) {
    const plan = { config: m.loaded.config, configFile: m.loaded.file, options: m.plan.options };
    const name = `${m.id.symbol} ${m.id.freq}`;
    for (const stage of m.plan.graph) {
      if (stage.group === "source") continue;
      let files: string[];
      try {
        files = [...stage.outputs(plan), manifestFile(m.loaded.config, stage.name)];
      } catch {
        continue; // a config mistake the stage itself will report
      }
      for (const f of files) {
        const other = owner.get(f);
        if (other !== undefined && other !== name) {
          throw new UsageError(
            `markets ${other} and ${name} would both write ${f}; give each market its own folder, e.g. "data_folder": "./data/{freq}"`,
          );
        }
        owner.set(f, name);
      }
    }
  }
}

export function defaultJobs(markets: number, cores = availableParallelism()): number {
  return Math.max(1, Math.min(markets, Math.floor(cores / 2)));
}

/**
 * The markets of a config, symbol by symbol, each at every freq: `symbols`/`freqs` given (the
 * command line's), else the config's lists, else its one symbol and freq. Each comes with the
 * overrides its config is loaded with (so `{symbol}`/`{freq}` placeholders resolve per market).
 */
export function configMarkets(
  config: Pick<Config, "symbol" | "freq" | "symbols" | "freqs">,
  symbols?: readonly string[],
  freqs?: readonly string[],
): { id: MarketId; overrides: ConfigOverrides }[] {
  const symbolList = symbols?.length ? symbols : config.symbols;
  const freqList = freqs?.length ? freqs : config.freqs;
  const out: { id: MarketId; overrides: ConfigOverrides }[] = [];
  for (const symbol of symbolList?.length ? symbolList : [config.symbol]) {
    for (const freq of freqList?.length ? freqList : [config.freq]) {
      out.push({
        id: { symbol, freq },
        overrides: { ...(symbolList?.length ? { symbol } : {}), ...(freqList?.length ? { freq } : {}) },
      });
    }
  }
  return out;
}

/**
 * Every market of the request, loaded and planned, with the checks done before anything runs
 * (stage names, collisions, preflight): the local runner and the queue's enqueuer share it.
 */
export async function planPipeline(
  request: PipelineRequest,
  deps: Pick<PipelineDeps, "log" | "load">,
  /** `open`: a shared data folder is connected to and mirrored (runs stages); `check`: its URL only (enqueues). */
  shared: "open" | "check" = "open",
): Promise<PlannedMarket[]> {
  validateRequest(request);
  const load = deps.load ?? loadConfig;
  const dates = dateOverrides(request);
  // The file as written must load: a mistake in it is the same for every market (exit 2).
  const base = load(request.configFile, dates);
  for (const w of base.warnings) deps.log.warn({ config: base.file }, w);
  const markets: PlannedMarket[] = [];
  for (const { id, overrides } of configMarkets(base.config, request.symbols, request.freqs)) {
    let loaded: LoadedConfig;
    try {
      loaded = load(request.configFile, { ...dates, ...overrides });
    } catch (err) {
      // A market's own config mistake (a symbol that does not reach a literal data-source
      // folder) ends the command before anything runs, as a mistake in the file does.
      throw err instanceof ConfigError ? inMarket(id, err) : err;
    }
    let storage: SharedStorage | undefined;
    if (shared === "open") ({ loaded, storage } = await openSharedData(loaded));
    else checkSharedFolder(loaded);
    // Usage mistakes (stage names) are the same for every market: they end the command.
    markets.push({
      id,
      loaded,
      overrides: { ...dates, ...overrides },
      plan: planMarket(request, loaded),
      ...(storage === undefined ? {} : { storage }),
    });
  }
  checkCollisions(markets);
  for (const m of markets) await preflightMarket(m, markets.length > 1);
  return markets;
}

export async function runPipeline(request: PipelineRequest, deps: PipelineDeps): Promise<PipelineRun> {
  const t0 = performance.now();
  const markets = await planPipeline(request, deps);

  const cores = availableParallelism();
  const jobs = Math.max(1, Math.min(markets.length, request.jobs ?? defaultJobs(markets.length, cores)));
  const workers = request.workers ?? Math.max(1, Math.floor(cores / jobs));
  deps.log.debug({ markets: markets.length, jobs, workers, cores }, "pipeline pool");
  deps.onPlan?.({ markets: markets.length, jobs });

  const fingerprintCache = new FingerprintCache();
  const locks = new KeyedLock();
  const force: "all" | ReadonlySet<string> =
    request.force === true ? "all" : new Set(Array.isArray(request.force) ? request.force : []);
  const logFor = deps.logFor ?? ((m: MarketId, stage: string) => withFields(deps.log, { ...m, stage }));

  const results: MarketRun[] = new Array(markets.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      const m = markets[i];
      if (m === undefined) return;
      deps.onMarket?.(m.id, m.plan.selected);
      const market = await runMarket(
        m.plan.graph,
        m.loaded,
        { ...m.plan.options, workers: m.plan.options.workers ?? workers },
        {
          selected: new Set(m.plan.selected),
          force,
          fingerprints: fingerprintCache,
          locks,
          clock: deps.clock,
          itbVersion: deps.itbVersion,
          logFor,
          progress: deps.progress,
          ...(deps.signal === undefined ? {} : { signal: deps.signal }),
          ...(deps.onEvent === undefined ? {} : { onEvent: deps.onEvent }),
          ...(m.storage === undefined ? {} : { storage: m.storage }),
        },
      );
      results[i] = { ...market, predictor: m.plan.predictor };
    }
  };
  const targets: WriteTarget[] = [];
  for (const m of markets) {
    if (m.loaded === undefined || m.plan === undefined) continue;
    const selected = new Set(m.plan.selected);
    const sources = m.plan.graph.some((s) => s.group === "source" && selected.has(s.name));
    targets.push({ config: m.loaded.config, market: true, sources });
  }
  const held = await lockForWriting(targets, {
    ...deps.lock,
    wait: request.wait === true,
    log: deps.log,
    ...(deps.signal === undefined ? {} : { signal: deps.signal }),
  });
  try {
    await Promise.all(Array.from({ length: jobs }, worker));
  } finally {
    await held.release();
  }
  return {
    markets: results,
    jobs,
    workers,
    seconds: (performance.now() - t0) / 1000,
    failed: results.filter((r) => !r.ok && !r.interrupted).length,
    interrupted: results.filter((r) => r.interrupted).length,
  };
}
