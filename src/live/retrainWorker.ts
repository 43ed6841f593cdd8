import { parentPort, workerData } from "node:worker_threads";
import { serializeError } from "../core/errorTransfer.js";
import type { Logger } from "../core/log.js";
import { type RetrainJob, type RetrainWorkerMessage, retrainMarket } from "./retrain.js";

/**
 * The worker thread of scheduled retraining (run from the compiled dist/, next to this file):
 * one market's retraining (retrain.ts `retrainMarket`), its log lines posted to the service's
 * logger, its outcome or error posted at the end. The message "abort" stops it after the
 * stage in flight.
 */
const job = workerData as RetrainJob | undefined;
const port = parentPort;
if (port !== null && job?.kind === "itb-retrain") {
  const post = (m: RetrainWorkerMessage) => port.postMessage(m);
  const line =
    (level: "debug" | "info" | "warn" | "error") =>
    (obj: object, msg?: string): void => {
      let o: object;
      try {
        o = structuredClone(obj);
      } catch {
        o = JSON.parse(JSON.stringify(obj)) as object;
      }
      post({ kind: "log", level, obj: o, ...(msg === undefined ? {} : { msg }) });
    };
  const log: Logger = { debug: line("debug"), info: line("info"), warn: line("warn"), error: line("error") };
  const controller = new AbortController();
  port.on("message", (m: unknown) => {
    if (m === "abort") controller.abort(new Error("the service is stopping"));
  });
  retrainMarket(job, { log, signal: controller.signal }).then(
    (outcome) => {
      post({ kind: "done", outcome });
      port.close();
    },
    (err: unknown) => {
      post({ kind: "failed", error: serializeError(err) });
      port.close();
    },
  );
}
