import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { JSONPath } from "jsonc-parser";
import type { ConfigOverrides } from "../../config/index.js";
import { WorkerError } from "../../core/errors.js";
import { reviveError, type SerializedError } from "../../core/errorTransfer.js";
import type { Frame } from "../../core/frame.js";
import { type SharedTable, shareFrame } from "../../models/rolling.js";
import type { EvaluatorOptions } from "./evaluate.js";
import type { ParamValues } from "./space.js";
import type { TrialOutcome } from "./trial.js";

/**
 * Trials on worker threads: each thread runs one trial at a time on the merged table shared
 * through SharedArrayBuffers (no copy), with its own feature/label cache. The main thread
 * proposes every trial (the sampler sees the trials finished so far), answers the threads'
 * halving questions from the one set of rungs (asynchronous halving: nobody waits for a rung to
 * fill) and records each trial as it ends.
 */

export interface TuneWorkerData {
  kind: "itb-tune-worker";
  table: SharedTable;
  baseText: string;
  paths: [string, JSONPath][];
  overrides: ConfigOverrides;
  evaluator: Omit<EvaluatorOptions, "log">;
  rungs: number[];
}

export type ToWorker =
  | { type: "trial"; number: number; params: ParamValues }
  | { type: "judged"; number: number; keep: boolean };

export type FromWorker =
  | { type: "rung"; number: number; done: number; value: number }
  | { type: "done"; number: number; outcome: TrialOutcome }
  | { type: "error"; number: number; error: SerializedError };

/** The compiled worker (dist/research/tune/tuneWorker.js); absent under vitest, which runs the sources. */
const WORKER_URL = new URL("./tuneWorker.js", import.meta.url);

export function threadsAvailable(): boolean {
  return existsSync(fileURLToPath(WORKER_URL));
}

export interface ThreadRun {
  threads: number;
  data: Omit<TuneWorkerData, "kind" | "table">;
  merged: Frame;
  /** The next trial's number and parameters, or undefined when no trial is to start (done or interrupted). */
  next: () => { number: number; params: ParamValues } | undefined;
  judge: (done: number, value: number) => boolean;
  /** Records a finished trial (awaited before its thread gets the next one). */
  finished: (outcome: TrialOutcome) => void | Promise<void>;
}

/** Runs trials on `threads` worker threads until `next` has none left and every thread is idle. */
export async function runThreads(run: ThreadRun): Promise<void> {
  const workerData: TuneWorkerData = {
    kind: "itb-tune-worker",
    table: shareFrame(run.merged, run.merged.columnNames),
    ...run.data,
  };
  const workers: Worker[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      let busy = 0;
      let settled = false;
      const fail = (err: unknown) => {
        if (settled) return;
        settled = true;
        reject(err);
      };
      const give = (w: Worker) => {
        if (settled) return;
        const t = run.next();
        if (t === undefined) {
          if (busy === 0) {
            settled = true;
            resolve();
          }
          return;
        }
        busy++;
        w.postMessage({ type: "trial", number: t.number, params: t.params } satisfies ToWorker);
      };
      for (let i = 0; i < run.threads; i++) {
        // A worker's default young generation is small: training's short-lived arrays would
        // trigger a scavenge every few milliseconds (as in predict-rolling).
        const w = new Worker(WORKER_URL, { workerData, resourceLimits: { maxYoungGenerationSizeMb: 64 } });
        workers.push(w);
        w.on("message", (m: FromWorker) => {
          if (settled) return;
          if (m.type === "rung") {
            w.postMessage({
              type: "judged",
              number: m.number,
              keep: run.judge(m.done, m.value),
            } satisfies ToWorker);
          } else if (m.type === "error") {
            fail(reviveError(m.error));
          } else {
            Promise.resolve(run.finished(m.outcome)).then(() => {
              busy--;
              give(w);
            }, fail);
          }
        });
        w.on("error", fail);
        w.on("exit", (code) =>
          fail(new WorkerError(`tune worker thread stopped (exit code ${code}) before its work was done`)),
        );
      }
      for (const w of workers) give(w);
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
