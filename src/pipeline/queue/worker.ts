import { availableParallelism } from "node:os";
import { type Job, Worker } from "bullmq";
import { type LoadedConfig, loadConfig } from "../../config/index.js";
import { errorMessage, ItbError } from "../../core/errors.js";
import { type Logger, noProgress } from "../../core/log.js";
import { FingerprintCache } from "../graph/fingerprint.js";
import { planMarket, withFields } from "../graph/matrix.js";
import { KeyedLock, runMarket, type StageResult } from "../graph/runner.js";
import type { FanOut } from "../graph/types.js";
import { openSharedData, type SharedStorage } from "../sharedData.js";
import { lockForWriting } from "../writeLocks.js";
import { GRID_TASK_STEPS, ROLLING_TASK_ROWS } from "./defaults.js";
import {
  connectionOf,
  QUEUE_NAME,
  type QueueTarget,
  type StageJobData,
  type StageJobResult,
} from "./queue.js";
import { processTask, queueFanOut, TASK_QUEUE, type TaskHandler, type TaskJobData } from "./tasks.js";

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
 *
 * Every worker also takes task jobs (tasks.ts) with a second BullMQ Worker of its own
 * concurrency: a stage in flight may split its grid or walk-forward into tasks and wait for
 * them, and this worker takes some of them meanwhile. Stopping, it finishes its stage jobs
 * first, still taking tasks, then its tasks.
 */

export interface WorkerOptions {
  /** Stage jobs at once (default 1). */
  concurrency?: number;
  /** Worker threads a job's heavy stages may use (default: cores / concurrency). */
  workers?: number;
  /** How long a job's lock lives without renewal before the job counts as stalled (default 30 s). */
  lockSeconds?: number;
  /**
   * A simulate grid of more cell × bar steps than this is split into task jobs of about this
   * many (default GRID_TASK_STEPS; 0: never).
   */
  gridSteps?: number;
  /**
   * A walk-forward training more rows than this (summed over its steps and models) runs a task
   * job per step (default ROLLING_TASK_ROWS; 0: never).
   */
  rollingRows?: number;
  /** Task jobs at once (default 1), besides the stage jobs. */
  taskConcurrency?: number;
  /** Handlers of task kinds from the layers above the pipeline (a tuning run's trials), by kind. */
  taskHandlers?: Readonly<Record<string, TaskHandler>>;
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

/** Worker threads a job may use: --workers, else the cores shared by the jobs at once. */
function threadsPerJob(opts: WorkerOptions, concurrency: number): number {
  return opts.workers ?? Math.max(1, Math.floor(availableParallelism() / concurrency));
}

/** Runs one stage job; a stage's own failure is its result, not a failed job. */
async function processStage(
  job: Job<StageJobData, StageJobResult>,
  opts: WorkerOptions,
  locks: KeyedLock,
  fanOut: (job: Job<StageJobData, StageJobResult>, log: Logger) => FanOut | undefined,
) {
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
        workers: opts.workers ?? plan.options.workers ?? threadsPerJob(opts, opts.concurrency ?? 1),
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
        ...withFanOut(fanOut(job, log)),
        ...(storage === undefined ? {} : { storage }),
      },
    );
    const result = run.stages[0];
    if (result === undefined) throw new Error(`stage ${stage} gave no result`);
    const level = result.status === "failed" ? "error" : "info";
    const ms = (s: number) => Math.round(s * 1000) / 1000;
    const storageSeconds = storage === undefined ? undefined : ms(storage.seconds);
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
      ...(storage === undefined
        ? {}
        : { storageSeconds: ms(storage.seconds), storagePublishSeconds: ms(storage.publishSeconds) }),
    };
  } finally {
    await held.release();
  }
}

const withFanOut = (f: FanOut | undefined) => (f === undefined ? {} : { fanOut: f });

export function startWorker(target: QueueTarget, opts: WorkerOptions): RunningWorker {
  const locks = new KeyedLock();
  const lockMs = Math.round((opts.lockSeconds ?? 30) * 1000);
  // One line per kind of error until the connection is back, not one per retry, whichever of
  // the worker's connections (stage jobs, task jobs, a stage's tasks) reports it.
  const seen = new Set<string>();
  const onError = (err: Error) => {
    const message = errorMessage(err);
    if (seen.has(message)) return;
    seen.add(message);
    opts.log.warn({ error: message }, "queue connection error");
  };
  const onReady = () => {
    if (seen.size === 0) return;
    seen.clear();
    opts.log.info({}, "queue connection back");
  };
  // 0 turns a kind off: no grid or walk-forward is that large.
  const never = (n: number) => (n > 0 ? n : Number.POSITIVE_INFINITY);
  const gridSteps = never(opts.gridSteps ?? GRID_TASK_STEPS);
  const rollingRows = never(opts.rollingRows ?? ROLLING_TASK_ROWS);
  const fanOut = (job: Job<StageJobData, StageJobResult>, log: Logger): FanOut | undefined =>
    job.id !== undefined
      ? queueFanOut(target, { id: job.id, data: job.data }, { gridSteps, rollingRows, log, onError })
      : undefined;
  const common = {
    connection: connectionOf(target),
    prefix: target.prefix,
    lockDuration: lockMs,
    stalledInterval: lockMs,
    // A job whose workers died more than twice fails rather than being tried forever.
    maxStalledCount: 2,
    autorun: true,
  };
  const worker = new Worker<StageJobData, StageJobResult>(
    QUEUE_NAME,
    (job) => processStage(job, opts, locks, fanOut),
    { ...common, concurrency: opts.concurrency ?? 1 },
  );
  const taskConcurrency = opts.taskConcurrency ?? 1;
  const tasks = new Worker<TaskJobData>(
    TASK_QUEUE,
    (job) =>
      processTask(job, {
        log: withFields(opts.log, { task: job.id }),
        workers: threadsPerJob(opts, taskConcurrency),
        ...(opts.taskHandlers === undefined ? {} : { handlers: opts.taskHandlers }),
      }),
    { ...common, concurrency: taskConcurrency },
  );
  for (const w of [worker, tasks]) w.on("error", onError);
  const ready = Promise.all([worker.waitUntilReady(), tasks.waitUntilReady()]).then(async () => {
    // The Worker says "ready" once; its connection says it again after every reconnection.
    (await worker.backend.client).on("ready", onReady);
  });
  worker.on("failed", (job, err) =>
    opts.log.error({ job: job?.id, error: errorMessage(err) }, "job failed (the stage could not be run)"),
  );
  tasks.on("failed", (job, err) =>
    opts.log.error({ task: job?.id, error: errorMessage(err) }, "task job failed"),
  );
  return {
    ready,
    // The stage jobs first: a stage in flight may wait for tasks that this worker alone takes.
    close: async (force = false) => {
      await worker.close(force);
      await tasks.close(force);
    },
  };
}
