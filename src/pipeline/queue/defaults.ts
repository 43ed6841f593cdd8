/**
 * The queue's defaults, apart from queue.ts (which loads BullMQ and ioredis): `itb pipeline`
 * and `itb worker` show them in their help without loading the queue.
 */

/** The default key prefix of `--queue-prefix`. */
export const DEFAULT_PREFIX = "itb";

/**
 * A grid of this many cell × bar steps takes ~3 s in one thread: a task job of that size is
 * worth the task's overhead (reading the predictions again, ~0.1–0.5 s).
 */
export const GRID_TASK_STEPS = 1_000_000_000;

/** Training rows (summed over a walk-forward's steps and models) worth a task job per step: minutes of training. */
export const ROLLING_TASK_ROWS = 5_000_000;
