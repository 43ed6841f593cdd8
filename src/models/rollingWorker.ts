import { parentPort, workerData } from "node:worker_threads";
import { silentLogger } from "../core/log.js";
import {
  frameFromShared,
  type RollingWorkerData,
  type RollingWorkerReply,
  runRollingStep,
  serializeError,
} from "./rolling.js";

/**
 * The worker thread of `itb predict-rolling` (run from the compiled dist/, next to this file).
 * It maps the shared table once, then runs the steps it is sent one at a time and replies with
 * each step's artifacts and predictions (the prediction buffers are transferred, not copied).
 * It reads no file and no clock: the table, the plan, the specs and the creation time all
 * come from the main thread.
 */
const data = workerData as RollingWorkerData | undefined;
const port = parentPort;
if (port && data?.kind === "itb-rolling-worker") {
  const frame = frameFromShared(data.table);
  const ctx = { ...data.ctx, log: silentLogger };
  port.on("message", (msg: { step: number }) => {
    const step = data.plan.steps[msg.step];
    const reply = async (): Promise<void> => {
      try {
        if (step === undefined) throw new Error(`no step ${msg.step} in the plan`);
        const result = await runRollingStep(frame, data.plan, step, data.specs, ctx);
        const out: RollingWorkerReply = { step: msg.step, ok: true, result };
        port.postMessage(
          out,
          result.models.map((m) => m.predictions.buffer as ArrayBuffer),
        );
      } catch (err) {
        const out: RollingWorkerReply = { step: msg.step, ok: false, error: serializeError(err) };
        port.postMessage(out);
      }
    };
    void reply();
  });
}
