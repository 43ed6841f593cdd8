import type { Command } from "commander";
import { DEFAULT_PREFIX, GRID_TASK_STEPS, ROLLING_TASK_ROWS } from "../../pipeline/queue/defaults.js";

export interface WorkerCliOptions {
  queue?: string;
  queuePrefix: string;
  concurrency?: string;
  workers?: string;
  lockSeconds?: string;
  fanOut?: string;
  fanOutRows?: string;
  taskConcurrency?: string;
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
      const { workerAction } = await import("../actions/worker.js");
      await workerAction(opts, cmd);
    });
}
