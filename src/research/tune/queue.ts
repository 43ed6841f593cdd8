import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { Queue } from "bullmq";
import { type ConfigOverrides, loadConfig } from "../../config/index.js";
import { ItbError } from "../../core/errors.js";
import type { Logger } from "../../core/log.js";
import { symbolFile } from "../../data/paths.js";
import { readInput } from "../../data/store/index.js";
import { connectionOf, type QueueTarget } from "../../pipeline/queue/queue.js";
import { TASK_QUEUE, type TaskJobData } from "../../pipeline/queue/tasks.js";
import type { Objective } from "../experiments/store.js";
import { objectiveSoFar, TrialEvaluator, tableFingerprint } from "./evaluate.js";
import { Halving } from "./halving.js";
import { loadSpace, type ParamValues, resolveSpace } from "./space.js";
import { TUNE_TRIAL_KIND } from "./taskKind.js";
import { runTrial, type TrialContext, type TrialOutcome } from "./trial.js";

/**
 * Trials on `itb worker` processes (`itb tune --queue redis://…`): each trial is a task job on
 * the queue's `tasks` queue, which every worker takes besides its stage jobs. A task carries
 * what a worker needs to rebuild the trial from the files — the base config and the space file
 * (their paths, the same on every machine, as for the pipeline's jobs), the fingerprint of the
 * merged table (a worker seeing another table fails the task), the folds, the holdout row, the
 * trial's parameters — and the halving rungs as they stood when it was sent: the worker judges
 * the trial against them (asynchronous halving, as on threads, with the rungs a little older).
 * The tuner keeps as many trials in flight as `--threads` says, proposes each as a slot frees
 * (the sampler sees the trials finished so far), and records the results.
 */

interface TrialTask {
  /** Names the run: the store file and the experiment. */
  run: string;
  number: number;
  params: ParamValues;
  space_file: string;
  objective: Objective;
  folds: number;
  holdout_row: number;
  data_fingerprint: string;
  halving: { eta: number; reached: number[][] };
  itb_version: string;
  created_at: number;
}

export interface QueueRun {
  target: QueueTarget;
  /** Trials in flight at once. */
  slots: number;
  /** Unique per run (store file and experiment id): task ids are `tune.<run>.<number>`. */
  run: string;
  configFile: string;
  overrides: ConfigOverrides;
  market: { symbol: string; freq: string };
  spaceFile: string;
  objective: Objective;
  folds: number;
  holdoutRow: number;
  dataFingerprint: string;
  itbVersion: string;
  createdAt: number;
  halving: Halving;
  log: Logger;
  next: () => { number: number; params: ParamValues } | undefined;
  finished: (outcome: TrialOutcome) => void;
  pollMs?: number;
}

/** A short name of a tuning run for task ids. */
export function runKey(storeFile: string, experiment: string): string {
  return `${createHash("sha256").update(storeFile).digest("hex").slice(0, 8)}-${experiment}`;
}

/** Runs the trials as task jobs until `next` has none left and none is in flight. */
export async function runOnQueue(q: QueueRun): Promise<void> {
  const queue = new Queue<TaskJobData>(TASK_QUEUE, {
    connection: connectionOf(q.target),
    prefix: q.target.prefix,
  });
  let failure: unknown;
  queue.on("error", (err) => {
    failure ??= err;
  });
  const inFlight = new Map<string, number>();
  try {
    const fill = async () => {
      while (inFlight.size < q.slots) {
        const t = q.next();
        if (t === undefined) return;
        const task: TrialTask = {
          run: q.run,
          number: t.number,
          params: t.params,
          space_file: q.spaceFile,
          objective: q.objective,
          folds: q.folds,
          holdout_row: q.holdoutRow,
          data_fingerprint: q.dataFingerprint,
          halving: { eta: q.halving.eta, reached: q.halving.snapshot() },
          itb_version: q.itbVersion,
          created_at: q.createdAt,
        };
        const id = `tune.${q.run}.${t.number}`;
        await queue.add(
          TUNE_TRIAL_KIND,
          {
            configFile: q.configFile,
            overrides: q.overrides,
            market: q.market,
            stage: "tune",
            kind: TUNE_TRIAL_KIND,
            task,
          },
          { jobId: id, attempts: 1, removeOnComplete: { age: 24 * 3600 }, removeOnFail: { age: 24 * 3600 } },
        );
        inFlight.set(id, t.number);
      }
    };
    await fill();
    q.log.info({ run: q.run, slots: q.slots }, "trials sent to the queue's workers");
    while (inFlight.size > 0) {
      if (failure !== undefined) throw failure;
      for (const [id, number] of [...inFlight]) {
        const state = await queue.getJobState(id);
        if (state !== "completed" && state !== "failed") continue;
        const job = await queue.getJob(id);
        if (state === "failed" || job === undefined) {
          throw new ItbError(
            `trial ${number} (task ${id}) failed on a worker: ${job?.failedReason || "no reason given"}`,
          );
        }
        const outcome = job.returnvalue as TrialOutcome;
        // The trial's values at the rungs it passed, for the trials sent after it.
        for (const r of q.halving.rungs) {
          if (r > outcome.folds.length) break;
          if (r === outcome.folds.length && outcome.status === "pruned") {
            q.halving.add(r, outcome.value ?? Number.NaN);
            break;
          }
          q.halving.add(
            r,
            objectiveSoFar(
              q.objective,
              outcome.folds.slice(0, r).map((f) => f.value),
            ),
          );
        }
        inFlight.delete(id);
        await queue.remove(id);
        q.finished(outcome);
        await fill();
      }
      if (inFlight.size > 0) await sleep(q.pollMs ?? 200);
    }
  } finally {
    await queue.close();
  }
}

/** A worker process's evaluators, by what they were made from (consecutive trials reuse the features). */
const evaluators = new Map<string, { ctx: Omit<TrialContext, "objective">; fingerprint: string }>();

/** Runs one trial task in the `itb worker` that took it. */
export async function runTrialTask(data: TaskJobData, opts: { log: Logger }): Promise<TrialOutcome> {
  const task = data.task as TrialTask;
  const key = JSON.stringify([
    data.configFile,
    data.overrides,
    task.space_file,
    task.objective,
    task.folds,
    task.holdout_row,
  ]);
  let entry = evaluators.get(key);
  if (entry === undefined) {
    const base = loadConfig(data.configFile, data.overrides);
    const { config } = base;
    const merged = await readInput(
      symbolFile(config, config.merge_file_name),
      { timeColumn: config.time_column },
      "`itb merge`",
    );
    const baseText = readFileSync(data.configFile, "utf8");
    const paths = resolveSpace(loadSpace(task.space_file), baseText, data.configFile);
    const evaluator = new TrialEvaluator(merged, {
      objective: task.objective,
      folds: task.folds,
      holdoutRow: task.holdout_row,
      configFile: data.configFile,
      log: opts.log,
      itbVersion: task.itb_version,
      createdAt: task.created_at,
    });
    entry = {
      ctx: { baseText, paths, configFile: data.configFile, overrides: data.overrides, evaluator },
      fingerprint: tableFingerprint(merged),
    };
    evaluators.clear();
    evaluators.set(key, entry);
  }
  if (entry.fingerprint !== task.data_fingerprint) {
    throw new ItbError(
      `trial ${task.number}: the merged table here (${entry.fingerprint}) is not the one tuned on (${task.data_fingerprint})`,
    );
  }
  const halving = Halving.from(task.halving.eta, task.folds, task.halving.reached);
  return runTrial(
    { ...entry.ctx, objective: task.objective },
    task.number,
    task.params,
    (done, value) => halving.report(done, value),
    halving.rungs,
  );
}
