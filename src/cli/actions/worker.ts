import { setTimeout as sleep } from "node:timers/promises";
import type { Command } from "commander";
import { UsageError } from "../../core/errors.js";
import { describeTarget, parseQueueUrl } from "../../pipeline/queue/queue.js";
import { startWorker } from "../../pipeline/queue/worker.js";
import { TUNE_TRIAL_KIND } from "../../research/tune/taskKind.js";
import type { WorkerCliOptions } from "../commands/worker.js";
import { contextOf } from "../context.js";
import { VERSION } from "../version.js";

function positive(v: string | undefined, what: string, integer = true): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new UsageError(`${what} must be a positive ${integer ? "integer" : "number"}, got "${v}"`);
  }
  return n;
}

function nonNegativeInt(v: string | undefined, what: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new UsageError(`${what} must be 0 or a positive integer, got "${v}"`);
  return n;
}

/** `itb worker`. */
export async function workerAction(opts: WorkerCliOptions, cmd: Command): Promise<void> {
  if (opts.queue === undefined) throw new UsageError("missing --queue URL (e.g. redis://127.0.0.1:6379)");
  const target = { url: parseQueueUrl(opts.queue), prefix: opts.queuePrefix };
  const concurrency = positive(opts.concurrency, "--concurrency");
  const workers = positive(opts.workers, "--workers");
  const lockSeconds = positive(opts.lockSeconds, "--lock-seconds", false);
  const gridSteps = nonNegativeInt(opts.fanOut, "--fan-out");
  const rollingRows = nonNegativeInt(opts.fanOutRows, "--fan-out-rows");
  const taskConcurrency = positive(opts.taskConcurrency, "--task-concurrency");
  const { log } = contextOf(cmd);
  const worker = startWorker(target, {
    log,
    itbVersion: VERSION,
    ...(concurrency === undefined ? {} : { concurrency }),
    ...(workers === undefined ? {} : { workers }),
    ...(lockSeconds === undefined ? {} : { lockSeconds }),
    ...(gridSteps === undefined ? {} : { gridSteps }),
    ...(rollingRows === undefined ? {} : { rollingRows }),
    ...(taskConcurrency === undefined ? {} : { taskConcurrency }),
    // `itb tune --queue`'s trials; the tuner loads only when a trial comes.
    taskHandlers: {
      [TUNE_TRIAL_KIND]: async (data, o) =>
        (await import("../../research/tune/queue.js")).runTrialTask(data, o),
    },
  });
  const stopped = new Promise<NodeJS.Signals>((ok) => {
    const onSignal = (sig: NodeJS.Signals) => {
      process.removeListener("SIGINT", onSignal);
      process.removeListener("SIGTERM", onSignal);
      process.once("SIGINT", () => quit("SIGINT"));
      process.once("SIGTERM", () => quit("SIGTERM"));
      ok(sig);
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });
  const quit = (sig: NodeJS.Signals) => {
    process.stderr.write(`interrupted again by ${sig}: quitting at once\n`);
    process.exit(sig === "SIGTERM" ? 143 : 130);
  };
  const first = await Promise.race([worker.ready.then(() => undefined), stopped]);
  if (first !== undefined) {
    // Never connected: no job in flight; the connection's retries would keep the process alive.
    log.warn(
      { signal: first, queue: describeTarget(target) },
      "stopped before the queue's Redis could be reached",
    );
    await Promise.race([worker.close(true), sleep(2000)]);
    process.exit(0);
  }
  log.info(
    {
      queue: describeTarget(target),
      concurrency: concurrency ?? 1,
      task_concurrency: taskConcurrency ?? 1,
    },
    "worker ready",
  );
  const sig = await stopped;
  log.warn({ signal: sig }, "stopping: finishing the jobs in flight (again to quit at once)");
  await worker.close();
  log.info({}, "worker stopped");
}
