import { parentPort, workerData } from "node:worker_threads";
import { serializeError } from "../../core/errorTransfer.js";
import { silentLogger } from "../../core/log.js";
import { frameFromShared } from "../../models/rolling.js";
import { TrialEvaluator } from "./evaluate.js";
import type { FromWorker, ToWorker, TuneWorkerData } from "./threads.js";
import { runTrial, type TrialContext } from "./trial.js";

/**
 * A worker thread of `itb tune` (run from the compiled dist/, next to this file). It maps the
 * merged table shared by the main thread once, keeps its own cache of feature/label tables, and
 * runs the trials it is sent one at a time; at each halving rung it asks the main thread, which
 * holds the rungs of every thread, whether the trial goes on.
 */
const data = workerData as TuneWorkerData | undefined;
const port = parentPort;
if (port !== null && data?.kind === "itb-tune-worker") {
  const merged = frameFromShared(data.table);
  const evaluator = new TrialEvaluator(merged, { ...data.evaluator, log: silentLogger });
  const ctx: TrialContext = {
    baseText: data.baseText,
    paths: new Map(data.paths),
    configFile: data.evaluator.configFile,
    overrides: data.overrides,
    objective: data.evaluator.objective,
    evaluator,
  };
  const waiting = new Map<number, (keep: boolean) => void>();
  const send = (m: FromWorker) => port.postMessage(m);
  port.on("message", (m: ToWorker) => {
    if (m.type === "judged") {
      waiting.get(m.number)?.(m.keep);
      waiting.delete(m.number);
      return;
    }
    const judge = (done: number, value: number) =>
      new Promise<boolean>((answer) => {
        waiting.set(m.number, answer);
        send({ type: "rung", number: m.number, done, value });
      });
    runTrial(ctx, m.number, m.params, judge, data.rungs).then(
      (outcome) => send({ type: "done", number: m.number, outcome }),
      (err: unknown) => send({ type: "error", number: m.number, error: serializeError(err) }),
    );
  });
}
