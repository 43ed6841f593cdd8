import { parentPort, workerData } from "node:worker_threads";
import { silentLogger } from "../core/log.js";
import { serveTasks } from "../core/workerPool.js";
import { frameFromShared, type RollingWorkerData, runRollingStep, type StepResult } from "./rolling.js";

/**
 * The worker thread of `itb predict-rolling` (run from the compiled dist/, next to this file).
 * It maps the shared table once, then runs the steps it is sent one at a time and answers with
 * each step's artifacts and predictions (the prediction buffers are transferred, not copied).
 * It reads no file and no clock: the table, the plan, the specs and the creation time all
 * come from the main thread.
 */
const data = workerData as RollingWorkerData | undefined;
if (parentPort && data?.kind === "itb-rolling-worker") {
  const frame = frameFromShared(data.table);
  const ctx = { ...data.ctx, log: silentLogger };
  serveTasks<number, StepResult>(
    (n) => {
      const step = data.plan.steps[n];
      if (step === undefined) throw new Error(`no step ${n} in the plan`);
      return runRollingStep(frame, data.plan, step, data.specs, ctx);
    },
    (result) => result.models.map((m) => m.predictions.buffer as ArrayBuffer),
  );
}
