import { setTimeout as sleep } from "node:timers/promises";
import type { Command } from "commander";
import { UsageError } from "../../core/errors.js";
import { DEFAULT_PREFIX, describeTarget, parseQueueUrl } from "../../pipeline/queue/queue.js";
import { GRID_TASK_STEPS, ROLLING_TASK_ROWS, startWorker } from "../../pipeline/queue/worker.js";
import { contextOf } from "../context.js";
import { VERSION } from "../version.js";

interface WorkerCliOptions {
  queue?: string;
  queuePrefix: string;
  concurrency?: string;
  workers?: string;
  lockSeconds?: string;
  fanOut?: string;
  fanOutRows?: string;
  taskConcurrency?: string;
}

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

export function registerWorkerCommand(program: Command): void {
  program
    .command("worker")
    .summary("run pipeline stages from a queue (Redis) that itb pipeline --queue fills")
    .description(
      "Takes the stage jobs itb pipeline --queue enqueued and runs each as a local run would " +
        "(a stage whose manifest is up to date is skipped). The config file and the data " +
        "folders must be reachable at the same paths as where the pipeline was enqueued. " +
        "Ctrl-C or SIGTERM: finishes the jobs in flight, takes no more and exits 0; a second " +
        "signal quits at once (its jobs are given to another worker once their locks expire). " +
        "See docs/pipeline.md.",
    )
    .option("--queue <url>", "the queue's Redis, e.g. redis://127.0.0.1:6379")
    .option("--queue-prefix <prefix>", "the queue's key prefix in Redis", DEFAULT_PREFIX)
    .option("--concurrency <n>", "stage jobs at once (default 1)")
    .option(
      "--workers <n>",
      "worker threads per job for predict-rolling and simulate (default: cores / concurrency)",
    )
    .option(
      "--lock-seconds <s>",
      "a job whose worker has not renewed its lock for this long is given to another worker (default 30)",
    )
    .option(
      "--fan-out <steps>",
      `split a simulate grid of more cell x bar steps than this into task jobs of about this many, for every worker (default ${GRID_TASK_STEPS}; 0: never)`,
    )
    .option(
      "--fan-out-rows <rows>",
      `run a walk-forward (predict-rolling) that trains more rows than this, over its steps and models, as a task job per step (default ${ROLLING_TASK_ROWS}; 0: never)`,
    )
    .option("--task-concurrency <n>", "task jobs at once, besides the stage jobs (default 1)")
    .addHelpText("after", "\nExample:\n  itb worker --queue redis://127.0.0.1:6379 --concurrency 2")
    .action(async (opts: WorkerCliOptions, cmd: Command) => {
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
    });
}
