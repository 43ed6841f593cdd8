import { setTimeout as sleep } from "node:timers/promises";
import { type Job, Queue } from "bullmq";
import { type ConfigOverrides, loadConfig } from "../../config/index.js";
import { ItbError } from "../../core/errors.js";
import type { Logger } from "../../core/log.js";
import type { MarketId } from "../graph/runner.js";
import type { FanOut } from "../graph/types.js";
import { type GridTask, runGridTask } from "../gridFanOut.js";
import { type RollingTask, runRollingTask } from "../rollingStage.js";
import { connectionOf, type QueueTarget, type StageJobData } from "./queue.js";

/**
 * Task jobs: a stage in an `itb worker` splits its heavy work (a large threshold grid, the steps
 * of a large walk-forward) into jobs on a second queue, `tasks`, which every worker processes with a Worker of its own (its
 * own concurrency, so a stage waiting for its tasks never holds up the tasks; the waiting
 * worker takes tasks too). A task carries what a worker needs to rebuild its input from the
 * files (config file, overrides, market, stage, and the task itself: a chunk of cells, a step
 * index); its result comes back compact (gridFanOut.ts, rollingStage.ts). The stage waits by looking at its tasks' jobs,
 * puts the results in order and removes the jobs.
 *
 * A task's id is `<stage job id>.<input key>.<index>`: the stage job's id names the run, the
 * market and the stage, the key hashes the stage's input. A task delivered twice, or enqueued
 * again by a rerun of a stalled stage job, is added once (BullMQ ignores a job id it has) and
 * its result is taken as it is (tasks are deterministic). A task that failed in an earlier
 * attempt of the stage is enqueued afresh; one failing now fails the stage.
 */

export const TASK_QUEUE = "tasks";
/** A task left behind (its stage's worker died) is dropped after a day, like the stage jobs. */
const KEEP_SECONDS = 24 * 3600;

type FanOutKind = Parameters<FanOut["run"]>[0];

/** What a task job carries. */
export interface TaskJobData {
  configFile: string;
  overrides: ConfigOverrides;
  market: MarketId;
  stage: string;
  /** A stage's fan-out ("grid", "rolling"), or a kind of a layer above with its handler (see processTask). */
  kind: FanOutKind | (string & {});
  task: unknown;
}

/**
 * Runs a task of a kind the pipeline does not know: the layers above the pipeline (a tuning
 * run's trials) give `itb worker` their handlers, so that this layer imports none of them.
 */
export type TaskHandler = (data: TaskJobData, opts: { log: Logger; workers: number }) => Promise<unknown>;

/** The FanOut of a stage job: its tasks go on the `tasks` queue of the same Redis and prefix. */
export function queueFanOut(
  target: QueueTarget,
  stage: { id: string; data: StageJobData },
  opts: {
    gridSteps: number;
    rollingRows: number;
    log: Logger;
    onError: (err: Error) => void;
    pollMs?: number;
  },
): FanOut {
  return {
    gridSteps: opts.gridSteps,
    rollingRows: opts.rollingRows,
    async run(kind, key, tasks) {
      const queue = new Queue<TaskJobData>(TASK_QUEUE, {
        connection: connectionOf(target),
        prefix: target.prefix,
      });
      queue.on("error", opts.onError);
      const ids = tasks.map((_, i) => `${stage.id}.${key}.${i}`);
      const { configFile, overrides, market } = stage.data;
      const add = (i: number) => ({
        name: kind,
        data: { configFile, overrides, market, stage: stage.data.stage, kind, task: tasks[i] },
        opts: {
          jobId: ids[i] as string,
          attempts: 1,
          removeOnComplete: { age: KEEP_SECONDS },
          removeOnFail: { age: KEEP_SECONDS },
        },
      });
      try {
        // A task that failed in an earlier attempt of this stage is tried again.
        for (const id of ids) {
          const old = await queue.getJob(id);
          if (old !== undefined && (await old.getState()) === "failed") await old.remove();
        }
        await queue.addBulk(ids.map((_, i) => add(i)));
        opts.log.info({ kind, tasks: ids.length, key }, "fanned out as task jobs");
        const results = new Array<unknown>(ids.length);
        const left = new Set(ids.keys());
        for (;;) {
          for (const i of [...left]) {
            const id = ids[i] as string;
            // The state first, then the job: a job read before its state may be an active
            // job's snapshot, without the result its state then says it has.
            const state = await queue.getJobState(id);
            const job = state === "unknown" ? undefined : await queue.getJob(id);
            if (job === undefined) {
              // removed by another run of this stage that finished first: enqueued again
              await queue.addBulk([add(i)]);
              continue;
            }
            if (state === "completed") {
              if (job.returnvalue === null || job.returnvalue === undefined) {
                throw new ItbError(
                  `${kind} task ${i + 1} of ${ids.length} (${id}) completed without a result`,
                );
              }
              results[i] = job.returnvalue;
              left.delete(i);
            } else if (state === "failed") {
              throw new ItbError(
                `${kind} task ${i + 1} of ${ids.length} (${id}) failed: ${job.failedReason || "no reason given"}`,
              );
            }
          }
          if (left.size === 0) break;
          await sleep(opts.pollMs ?? 200);
        }
        // The results are in hand: the task jobs (and their results in Redis) are removed.
        for (const id of ids) await queue.remove(id);
        opts.log.info({ kind, tasks: ids.length, key }, "task jobs done");
        return results;
      } finally {
        await queue.close();
      }
    },
  };
}

/** Runs one task job in the worker that took it; an error fails the job, and its stage with it. */
export async function processTask(
  job: Job<TaskJobData>,
  opts: { log: Logger; workers: number; handlers?: Readonly<Record<string, TaskHandler>> },
): Promise<unknown> {
  const { market, stage, kind } = job.data;
  const log = opts.log;
  const t0 = performance.now();
  log.debug({ ...market, stage, task: job.id }, "task job started");
  const loaded = loadConfig(job.data.configFile, job.data.overrides);
  let result: unknown;
  switch (kind) {
    case "grid":
      result = await runGridTask(loaded, job.data.task as GridTask, opts);
      break;
    case "rolling":
      result = await runRollingTask(loaded, job.data.task as RollingTask, opts);
      break;
    default: {
      const handler = opts.handlers?.[kind];
      if (handler === undefined) throw new Error(`unknown task kind "${String(kind)}"`);
      result = await handler(job.data, { log, workers: opts.workers });
    }
  }
  log.info(
    { ...market, stage, task: job.id, seconds: Math.round(performance.now() - t0) / 1000 },
    "task job done",
  );
  return result;
}
