/**
 * The queue's defaults, apart from queue.ts (which loads BullMQ and ioredis): `itb pipeline`
 * and `itb worker` show them in their help without loading the queue.
 */

/** The default key prefix of `--queue-prefix`. */
export const DEFAULT_PREFIX = "itb";
