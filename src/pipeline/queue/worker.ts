import { availableParallelism } from "node:os";
import { type Job, Worker } from "bullmq";
import { type LoadedConfig, loadConfig } from "../../config/index.js";
import { errorMessage, ItbError } from "../../core/errors.js";
import { type Logger, noProgress } from "../../core/log.js";
import { FingerprintCache } from "../graph/fingerprint.js";
import { planMarket, withFields } from "../graph/matrix.js";
import { KeyedLock, runMarket, type StageResult } from "../graph/runner.js";
import { openSharedData, type SharedStorage } from "../sharedData.js";
import { lockForWriting } from "../writeLocks.js";
import {
  connectionOf,
  QUEUE_NAME,
  type QueueTarget,
  type StageJobData,
  type StageJobResult,
} from "./queue.js";

/**
 * `itb worker`: takes stage jobs from the queue and runs each with the local runner
 * (runMarket with just that stage selected), so a stage whose manifest shows it up to date is
 * skipped, and a stage run writes its outputs and then its manifest exactly as locally. The
 * worker takes the write locks of the market's folders for the job (waiting for another
 * writer), and one process's jobs share a KeyedLock, so two markets sharing a data source are
 * serialised as in a local run.
 *
 * A worker that dies mid-stage (SIGKILL, a lost machine) stops renewing its job's lock: after
 * `lockSeconds` BullMQ finds the job stalled and gives it to another worker, which reruns the
 * stage (no manifest was written; the dead process's lock and temporary files are recognised
 * as stale and removed).
 */

export interface WorkerOptions {
  /** Stage jobs at once (default 1). */
  concurrency?: number;
  /** Worker threads a job's heavy stages may use (default: cores / concurrency). */
  workers?: number;
  /** How long a job's lock lives without renewal before the job counts as stalled (default 30 s). */
  lockSeconds?: number;
  log: Logger;
  itbVersion: string;
  clock?: { now(): number };
}

export interface RunningWorker {
  /** Resolves once connected and taking jobs. */
  ready: Promise<void>;
  /** Takes no new job, waits for the jobs in flight to finish (`force`: does not wait), disconnects. */
  close(force?: boolean): Promise<void>;
}

/** Runs one stage job; a stage's own failure is its result, not a failed job. */
async function processStage(job: Job<StageJobData, StageJobResult>, opts: WorkerOptions, locks: KeyedLock) {
  const { market, stage } = job.data;
  const log = withFields(opts.log, { ...market, stage, job: job.id });
  log.info({ attempt: job.attemptsStarted, stalled: job.stalledCounter }, "stage job started");
  // The stage before this one did not finish: this one is not run, like locally.
  const before = Object.values(await job.getChildrenValues<StageJobResult>());
  const blocked = before
    .map((v) => v.result)
    .find((r) => r.status !== "ran" && r.status !== "skipped" && r.status !== "not-configured");
  if (blocked !== undefined) {
    const result: StageResult = {
      name: stage,
      status: "not-run",
      reason: blocked.status === "not-run" ? blocked.reason : `${blocked.name} failed`,
      seconds: 0,
    };
    return { result };
  }
  let loaded: LoadedConfig;
  let storage: SharedStorage | undefined;
  try {
    // A shared data folder (az://): the stage runs on this machine's mirror of it.
    ({ loaded, storage } = await openSharedData(loadConfig(job.data.configFile, job.data.overrides)));
  } catch (err) {
    const result: StageResult = { name: stage, status: "failed", reason: errorMessage(err), seconds: 0 };
    return { result, exit_code: err instanceof ItbError ? err.exitCode : 1 };
  }
  const plan = planMarket(job.data.request, loaded);
  const def = plan.graph.find((s) => s.name === stage);
  if (def === undefined)
    throw new Error(`stage ${stage} is not in the plan of ${market.symbol} ${market.freq}`);
  const held = await lockForWriting(
    [{ config: loaded.config, market: true, sources: def.group === "source" }],
    { wait: true, log },
  );
  try {
    const force = job.data.request.force;
    const run = await runMarket(
      plan.graph,
      loaded,
      {
        ...plan.options,
        workers:
          opts.workers ??
          plan.options.workers ??
          Math.max(1, Math.floor(availableParallelism() / (opts.concurrency ?? 1))),
      },
      {
        selected: new Set([stage]),
        force: force === true ? "all" : new Set(Array.isArray(force) ? force : []),
        fingerprints: new FingerprintCache(),
        locks,
        clock: opts.clock ?? { now: () => Date.now() },
        itbVersion: opts.itbVersion,
        logFor: () => log,
        progress: noProgress,
        ...(storage === undefined ? {} : { storage }),
      },
    );
    const result = run.stages[0];
    if (result === undefined) throw new Error(`stage ${stage} gave no result`);
    const level = result.status === "failed" ? "error" : "info";
    const storageSeconds = storage === undefined ? undefined : Math.round(storage.seconds * 1000) / 1000;
    log[level](
      {
        status: result.status,
        reason: result.reason,
        seconds: Math.round(result.seconds * 1000) / 1000,
        ...(storageSeconds === undefined ? {} : { storage_seconds: storageSeconds }),
      },
      `stage ${result.status}`,
    );
    return {
      result,
      ...(run.error?.exit_code === undefined ? {} : { exit_code: run.error.exit_code }),
      ...(storageSeconds === undefined ? {} : { storageSeconds }),
    };
  } finally {
    await held.release();
  }
}

export function startWorker(target: QueueTarget, opts: WorkerOptions): RunningWorker {
  const locks = new KeyedLock();
  const lockMs = Math.round((opts.lockSeconds ?? 30) * 1000);
  const worker = new Worker<StageJobData, StageJobResult>(
    QUEUE_NAME,
    (job) => processStage(job, opts, locks),
    {
      connection: connectionOf(target),
      prefix: target.prefix,
      concurrency: opts.concurrency ?? 1,
      lockDuration: lockMs,
      stalledInterval: lockMs,
      // A job whose workers died more than twice fails rather than being tried forever.
      maxStalledCount: 2,
      autorun: true,
    },
  );
  // One line per kind of error until the connection is back, not one per retry.
  let lastError: string | undefined;
  worker.on("error", (err) => {
    const message = errorMessage(err);
    if (message === lastError) return;
    lastError = message;
    opts.log.warn({ error: message }, "queue connection error");
  });
  worker.on("ready", () => {
    lastError = undefined;
  });
  worker.on("failed", (job, err) =>
    opts.log.error({ job: job?.id, error: errorMessage(err) }, "job failed (the stage could not be run)"),
  );
  return {
    ready: worker.waitUntilReady().then(() => undefined),
    close: (force = false) => worker.close(force),
  };
}
