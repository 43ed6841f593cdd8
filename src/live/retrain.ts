import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { Cron } from "croner";
import { type Config, type ConfigOverrides, type LoadedConfig, loadConfig } from "../config/index.js";
import type { Clock } from "../core/clock.js";
import { errorMessage, ItbError, WorkerError } from "../core/errors.js";
import { reviveError, type SerializedError } from "../core/errorTransfer.js";
import type { Logger } from "../core/log.js";
import { noProgress } from "../core/log.js";
import { isoTime } from "../core/time.js";
import { writeFileAtomic } from "../data/atomic.js";
import { modelSpecs } from "../models/train.js";
import { runPipeline, withFields } from "../pipeline/graph/matrix.js";
import { runPredictRolling, runTrain } from "../pipeline/modelStages.js";
import { ModelStore, modelRoot } from "../pipeline/modelStore.js";
import { lockForWriting } from "../pipeline/writeLocks.js";

/**
 * Scheduled retraining for `itb serve` (the config's `schedule` section). When a config's
 * `schedule.retrain` cron expression fires (on the service's clock), each of its markets is
 * retrained off the main thread, in a worker thread (retrainWorker.ts), one market at a time:
 *
 *   1. the pipeline's download → merge → features → labels on the latest candles (download_end
 *      is ignored, as the service's back-fill ignores it);
 *   2. under the market's write lock: train (new versions, NOT made current), predict-rolling
 *      (the walk-forward run whose out-of-sample AUC judges them), the decision, and the
 *      promotion of every new version at once when it passes;
 *   3. the evaluation is recorded in the model store's `retrain.json`.
 *
 * The new models are promoted only when no model's walk-forward AUC is below the current
 * version's by more than `schedule.auc_tolerance`; otherwise they stay in the store
 * unpromoted and the reason is logged. The markets pick a promotion up at their next candle
 * through the model watch (models.ts), as they do a promotion by `itb models promote`.
 *
 * The current version's walk-forward AUC is the one recorded when it was evaluated: in
 * retrain.json (as a candidate, or as the current version of an earlier evaluation), else the
 * newest complete walk-forward run of the store that is not a rejected candidate's (the run an
 * `itb pipeline` made with the models it trained). A current version without one is not a bar:
 * the new models then need only an AUC of their own.
 */

// --------------------------------------------------------------------------- the decision

/** One model's numbers in a promotion decision. */
export interface ModelEvaluation {
  name: string;
  /** The new (candidate) version and its walk-forward AUC (null: none could be computed). */
  version: number;
  auc: number | null;
  /** The current version when the retraining started, and its walk-forward AUC (null: none recorded). */
  current_version: number | null;
  current_auc: number | null;
  /** Where current_auc comes from. */
  baseline: string;
}

export interface PromotionDecision {
  promote: boolean;
  reason: string;
}

const f4 = (x: number) => x.toFixed(4);

/**
 * All or nothing: the new versions are promoted together when every model has a walk-forward
 * AUC and none is below its current version's by more than `tolerance` (new ≥ current −
 * tolerance; a negative tolerance asks for an improvement). A model without a recorded
 * current AUC is not held back by it.
 */
export function decidePromotion(models: readonly ModelEvaluation[], tolerance: number): PromotionDecision {
  if (models.length === 0) return { promote: false, reason: "no model was trained" };
  const problems: string[] = [];
  for (const m of models) {
    if (m.auc === null || !Number.isFinite(m.auc)) {
      problems.push(`${m.name} v${m.version} has no walk-forward AUC`);
    } else if (m.current_auc !== null && m.auc < m.current_auc - tolerance) {
      problems.push(
        `${m.name} v${m.version}'s walk-forward AUC ${f4(m.auc)} is below the current v${m.current_version}'s ${f4(m.current_auc)} by more than ${tolerance}`,
      );
    }
  }
  if (problems.length > 0) return { promote: false, reason: problems.join("; ") };
  const compared = models.filter((m) => m.current_auc !== null);
  return {
    promote: true,
    reason:
      compared.length === 0
        ? "no walk-forward AUC is recorded for the current models"
        : `every walk-forward AUC is within ${tolerance} of the current one's or better (${models
            .map(
              (m) =>
                `${m.name} ${f4(m.auc as number)}${m.current_auc === null ? "" : ` vs ${f4(m.current_auc)}`}`,
            )
            .join(", ")})`,
  };
}

// ------------------------------------------------------------------ the evaluation record

/** `<model store>/retrain.json`: the evaluations of scheduled retrainings, newest last. */
export const EVALUATIONS_FILE = "retrain.json";
const KEEP_EVALUATIONS = 100;

export interface EvaluationRecord {
  at: string;
  scheduled_at: string;
  run: number;
  tolerance: number;
  promoted: boolean;
  reason: string;
  models: ModelEvaluation[];
}

export async function readEvaluations(store: ModelStore): Promise<EvaluationRecord[]> {
  const text = await readFile(join(store.root, EVALUATIONS_FILE), "utf8").catch(() => undefined);
  if (text === undefined) return [];
  try {
    const value = JSON.parse(text) as { evaluations?: unknown };
    return Array.isArray(value.evaluations) ? (value.evaluations as EvaluationRecord[]) : [];
  } catch {
    return []; // written atomically: unreadable only if edited by hand; the next one replaces it
  }
}

async function appendEvaluation(store: ModelStore, record: EvaluationRecord): Promise<void> {
  const all = [...(await readEvaluations(store)), record].slice(-KEEP_EVALUATIONS);
  await writeFileAtomic(
    join(store.root, EVALUATIONS_FILE),
    `${JSON.stringify({ evaluations: all }, null, 2)}\n`,
  );
}

async function runAuc(store: ModelStore, run: number, name: string): Promise<number | null | undefined> {
  const text = await readFile(join(store.runFolder(run), "run.json"), "utf8").catch(() => undefined);
  if (text === undefined) return undefined; // unfinished or pruned
  try {
    const auc = (JSON.parse(text) as { models?: Record<string, { metrics?: { auc?: unknown } | null }> })
      .models?.[name]?.metrics?.auc;
    return typeof auc === "number" && Number.isFinite(auc) ? auc : null;
  } catch {
    return undefined;
  }
}

/** The current version of `name` and its walk-forward AUC, with where that comes from. */
export async function currentBaseline(
  store: ModelStore,
  name: string,
  evaluations: readonly EvaluationRecord[],
  before: number,
): Promise<Pick<ModelEvaluation, "current_version" | "current_auc" | "baseline">> {
  const version = (await store.current(name))?.version ?? null;
  if (version === null) return { current_version: null, current_auc: null, baseline: "no current version" };
  for (const e of [...evaluations].reverse()) {
    const m = e.models.find((x) => x.name === name);
    if (m?.version === version && m.auc !== null) {
      return { current_version: version, current_auc: m.auc, baseline: `walk-forward run ${e.run}` };
    }
    if (m?.current_version === version && m.current_auc !== null) {
      return { current_version: version, current_auc: m.current_auc, baseline: m.baseline };
    }
  }
  // not evaluated by a retraining: the newest walk-forward run that is no rejected candidate's
  const candidates = new Set(evaluations.filter((e) => !e.promoted).map((e) => e.run));
  const runs = (await store.runs()).filter((r) => r < before && !candidates.has(r)).reverse();
  for (const run of runs) {
    const auc = await runAuc(store, run, name);
    if (auc === undefined) continue;
    return {
      current_version: version,
      current_auc: auc,
      baseline: auc === null ? `walk-forward run ${run} (no AUC)` : `walk-forward run ${run}`,
    };
  }
  return { current_version: version, current_auc: null, baseline: "no walk-forward run recorded" };
}

// --------------------------------------------------------------- one market's retraining

/** What the main thread sends the worker (structured-cloneable). */
export interface RetrainJob {
  kind: "itb-retrain";
  configFile: string;
  overrides: ConfigOverrides;
  itbVersion: string;
  /** The cron fire this job belongs to (epoch ms of the service's clock). */
  scheduledAt: number;
  /** Worker threads of the walk-forward (default 1: the candle loop keeps a core). */
  workers?: number;
}

export interface RetrainOutcome {
  market: string;
  promoted: boolean;
  reason: string;
  run: number;
  models: ModelEvaluation[];
  /** Stages of the data pipeline that ran (the others were up to date). */
  stages: string[];
  seconds: number;
}

/** The config as the service loads it, without download_end (which bounds batch runs only). */
function loadLatest(file: string, overrides: ConfigOverrides): LoadedConfig {
  const l = loadConfig(file, overrides);
  return { ...l, config: { ...l.config, download_end: undefined } };
}

/**
 * One market's retraining (run in the worker thread; callable in-process too). Every file it
 * writes is written as the batch commands write it: the pipeline's stages under their locks,
 * the store's versions atomically.
 */
export async function retrainMarket(
  job: RetrainJob,
  deps: { log: Logger; signal?: AbortSignal; now?: () => number },
): Promise<RetrainOutcome> {
  const t0 = performance.now();
  const clock = { now: deps.now ?? Date.now };
  // the stages' progress lines are debug in a service's log; their warnings and errors stay
  const log: Logger = {
    debug: (obj, msg) => deps.log.debug(obj, msg),
    info: (obj, msg) => deps.log.debug(obj, msg),
    warn: (obj, msg) => deps.log.warn(obj, msg),
    error: (obj, msg) => deps.log.error(obj, msg),
  };
  const loaded = loadLatest(job.configFile, job.overrides);
  const { config } = loaded;
  const market = `${config.symbol} ${config.freq}`;
  const signal = deps.signal === undefined ? {} : { signal: deps.signal };

  // 1. the data stages on the latest candles (skipped when up to date)
  const data = await runPipeline(
    {
      configFile: job.configFile,
      symbols: [config.symbol],
      freqs: [config.freq],
      source: "download",
      predict: "rolling",
      to: "labels",
      wait: true,
    },
    {
      log,
      progress: noProgress,
      clock,
      itbVersion: job.itbVersion,
      load: (file, overrides) => loadLatest(file, overrides),
      ...signal,
    },
  );
  const m = data.markets[0];
  if (m === undefined || !m.ok) {
    const failed = m?.stages.find((s) => s.status === "failed" || s.status === "interrupted");
    throw new ItbError(
      `${market}: retraining stopped at ${failed?.name ?? "the data stages"}: ${failed?.reason ?? "not run"}`,
    );
  }
  const stages = m.stages.filter((s) => s.status === "ran").map((s) => s.name);

  // 2. train, walk forward, decide and promote, holding the market's write lock
  const held = await lockForWriting([{ config, market: true, sources: false }], {
    wait: true,
    log,
    command: "itb serve (scheduled retraining)",
    ...signal,
  });
  try {
    const store = new ModelStore(modelRoot(config), clock);
    const ctx = { log, progress: noProgress, clock, itbVersion: job.itbVersion, ...signal };
    const before = ((await store.runs()).at(-1) ?? 0) + 1;
    const evaluations = await readEvaluations(store);
    const baselines = new Map<string, Awaited<ReturnType<typeof currentBaseline>>>();
    for (const spec of modelSpecs(config)) {
      baselines.set(spec.name, await currentBaseline(store, spec.name, evaluations, before));
    }
    const trained = await runTrain(loaded, ctx, { promote: false });
    const rolling = await runPredictRolling(loaded, ctx, { workers: job.workers ?? 1 });
    const models: ModelEvaluation[] = trained.models.map((t) => ({
      name: t.name,
      version: t.version,
      auc: rolling.models[t.name]?.metrics?.auc ?? null,
      ...(baselines.get(t.name) as Awaited<ReturnType<typeof currentBaseline>>),
    }));
    const tolerance = config.schedule?.auc_tolerance ?? 0;
    const decision =
      trained.skipped.length > 0
        ? {
            promote: false,
            reason: `model(s) not trained: ${trained.skipped.map((s) => `${s.name}: ${s.reason}`).join("; ")}`,
          }
        : decidePromotion(models, tolerance);
    if (decision.promote) await store.promoteSet(models);
    await appendEvaluation(store, {
      at: new Date(clock.now()).toISOString(),
      scheduled_at: isoTime(job.scheduledAt),
      run: rolling.run,
      tolerance,
      promoted: decision.promote,
      reason: decision.reason,
      models,
    });
    return {
      market,
      promoted: decision.promote,
      reason: decision.reason,
      run: rolling.run,
      models,
      stages,
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    await held.release();
  }
}

// ----------------------------------------------------------------- the worker, from outside

/** Messages of the worker thread. */
export type RetrainWorkerMessage =
  | { kind: "log"; level: "debug" | "info" | "warn" | "error"; obj: object; msg?: string }
  | { kind: "done"; outcome: RetrainOutcome }
  | { kind: "failed"; error: SerializedError };

/** The compiled worker next to the compiled module (dist/live/retrainWorker.js). */
const WORKER_URL = new URL("./retrainWorker.js", import.meta.url);

/**
 * How long a worker may take to stop after an abort before it is terminated. A terminated
 * worker leaves its write locks behind; they name this process, which is exiting, so the next
 * writer finds them stale.
 */
const STOP_GRACE_MS = 2000;

/**
 * Runs one job in a fresh worker thread; its log lines go to `log`. Aborting `signal` asks the
 * worker to stop (after the stage in flight; the walk-forward at once) and terminates it
 * after a short grace.
 */
export function runRetrainWorker(
  job: RetrainJob,
  opts: { url: URL; log: Logger; signal: AbortSignal },
): Promise<RetrainOutcome> {
  return new Promise<RetrainOutcome>((resolve, reject) => {
    const worker = new Worker(opts.url, {
      workerData: job,
      // as the walk-forward pool's workers: training's short-lived arrays need a larger young generation
      resourceLimits: { maxYoungGenerationSizeMb: 64 },
    });
    let settled = false;
    let grace: NodeJS.Timeout | undefined;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      opts.signal.removeEventListener("abort", onAbort);
      fn();
    };
    const onAbort = () => {
      worker.postMessage("abort");
      grace = setTimeout(() => void worker.terminate(), STOP_GRACE_MS);
      grace.unref();
    };
    opts.signal.addEventListener("abort", onAbort, { once: true });
    if (opts.signal.aborted) onAbort();
    worker.on("message", (m: RetrainWorkerMessage) => {
      if (m.kind === "log") opts.log[m.level](m.obj, m.msg);
      else if (m.kind === "done") settle(() => resolve(m.outcome));
      else settle(() => reject(reviveError(m.error)));
    });
    worker.on("error", (err) => settle(() => reject(err)));
    worker.on("exit", (code) => {
      if (grace !== undefined) clearTimeout(grace);
      settle(() =>
        reject(
          opts.signal.aborted
            ? opts.signal.reason
            : new WorkerError(`the retraining worker thread stopped (exit code ${code}) before it was done`),
        ),
      );
    });
  });
}

// ----------------------------------------------------------------------------- the schedule

export interface RetrainEvent {
  phase: "started" | "finished" | "failed";
  /** The config file whose schedule fired, and the market. */
  config: string;
  market: string;
  /** The cron fire (service clock, epoch ms) and the service clock's time of the event. */
  scheduledAt: number;
  at: number;
  outcome?: RetrainOutcome;
  error?: string;
}

export interface RetrainingOptions {
  /** The service's markets (each config loaded for its symbol and freq). */
  markets: readonly LoadedConfig[];
  clock: Clock;
  signal: AbortSignal;
  log: Logger;
  itbVersion: string;
  /** The compiled worker (default: dist/live/retrainWorker.js, next to this module's compiled file). */
  workerUrl?: URL;
  onEvent?: (e: RetrainEvent) => void;
}

export interface Retraining {
  /** The configs with a schedule, and when each fires next (service clock). */
  readonly schedules: readonly { config: string; cron: string; timezone: string; next: number | null }[];
  /** Stops the schedules (a retraining in flight stops after its stage in flight) and waits for them. */
  stop(): Promise<void>;
}

/** The overrides a market's config was loaded with (its symbol and freq). */
function overridesOf(c: Config): ConfigOverrides {
  return { symbol: c.symbol, freq: c.freq };
}

/**
 * Starts the schedule of every config with `schedule.retrain`: each waits on the service's
 * clock for its next fire, then retrains its markets one after another (one retraining at a
 * time in the whole service). A fire that comes while a retraining runs is skipped (logged).
 * A retraining that fails is logged and the schedule goes on.
 */
export function startRetraining(opts: RetrainingOptions): Retraining {
  const groups = new Map<string, LoadedConfig[]>();
  for (const m of opts.markets) {
    if (m.config.schedule?.retrain === undefined) continue;
    const list = groups.get(m.file) ?? [];
    list.push(m);
    groups.set(m.file, list);
  }
  const url = opts.workerUrl ?? WORKER_URL;
  if (groups.size > 0 && url.protocol === "file:" && !existsSync(fileURLToPath(url))) {
    throw new ItbError(
      `scheduled retraining needs the compiled worker ${fileURLToPath(url)}: build itb (npm run build)`,
    );
  }
  const stopping = new AbortController();
  const onAbort = () => stopping.abort(opts.signal.reason);
  if (opts.signal.aborted) onAbort();
  else opts.signal.addEventListener("abort", onAbort, { once: true });
  const o = { ...opts, signal: stopping.signal };
  const retrainAll = async (file: string, markets: readonly LoadedConfig[], fire: number, log: Logger) => {
    for (const m of markets) {
      if (o.signal.aborted) return;
      const market = `${m.config.symbol} ${m.config.freq}`;
      const mlog = withFields(log, { retrain: market });
      const event = (e: Omit<RetrainEvent, "config" | "market" | "scheduledAt" | "at">) =>
        o.onEvent?.({ config: file, market, scheduledAt: fire, at: o.clock.now(), ...e });
      mlog.info({ scheduled: isoTime(fire) }, "retraining started (in a worker thread)");
      event({ phase: "started" });
      try {
        const outcome = await runRetrainWorker(
          {
            kind: "itb-retrain",
            configFile: file,
            overrides: overridesOf(m.config),
            itbVersion: o.itbVersion,
            scheduledAt: fire,
          },
          { url, log: mlog, signal: o.signal },
        );
        const fields = {
          run: outcome.run,
          stages: outcome.stages,
          seconds: Math.round(outcome.seconds * 10) / 10,
          models: outcome.models.map((x) => ({
            name: x.name,
            version: x.version,
            auc: x.auc,
            current_version: x.current_version,
            current_auc: x.current_auc,
            baseline: x.baseline,
          })),
          reason: outcome.reason,
        };
        if (outcome.promoted) {
          mlog.info(fields, "retrained models promoted; the market picks them up at its next candle");
        } else {
          mlog.warn(
            fields,
            "retrained models NOT promoted (kept in the store unpromoted); the models in use stay",
          );
        }
        event({ phase: "finished", outcome });
      } catch (err) {
        if (o.signal.aborted) {
          mlog.info({}, "retraining stopped: the service is stopping");
          return;
        }
        mlog.error({ err: errorMessage(err) }, "retraining failed; the models in use stay");
        event({ phase: "failed", error: errorMessage(err) });
      }
    }
  };

  let queue: Promise<unknown> = Promise.resolve();
  const schedules: { config: string; cron: string; timezone: string; next: number | null }[] = [];
  const loops: Promise<void>[] = [];
  for (const [file, markets] of groups) {
    const s = (markets[0] as LoadedConfig).config.schedule as NonNullable<Config["schedule"]>;
    const cron = new Cron(s.retrain as string, { paused: true, timezone: s.timezone });
    const nextAfter = (t: number) => cron.nextRun(new Date(t))?.getTime() ?? null;
    const entry = {
      config: file,
      cron: s.retrain as string,
      timezone: s.timezone,
      next: nextAfter(o.clock.now()),
    };
    schedules.push(entry);
    const log = withFields(o.log, { config: file });
    log.info(
      { cron: entry.cron, timezone: entry.timezone, next: entry.next === null ? null : isoTime(entry.next) },
      "scheduled retraining",
    );
    loops.push(
      (async () => {
        while (entry.next !== null && !o.signal.aborted) {
          const fire = entry.next;
          try {
            await o.clock.waitUntil(fire, o.signal);
          } catch {
            return; // aborted
          }
          const job = queue.then(() => retrainAll(file, markets, fire, log));
          queue = job;
          await job;
          const now = o.clock.now();
          const next = nextAfter(Math.max(fire, now));
          const missed = nextAfter(fire);
          if (missed !== null && missed < now) {
            log.warn(
              { from: isoTime(missed), next: next === null ? null : isoTime(next) },
              "the retraining outlasted the schedule's interval: the fires meanwhile are skipped",
            );
          }
          entry.next = next;
        }
      })(),
    );
  }

  return {
    schedules,
    stop: async () => {
      opts.signal.removeEventListener("abort", onAbort);
      stopping.abort(new Error("the service is stopping"));
      await Promise.all(loops);
      await queue.catch(() => undefined);
    },
  };
}
