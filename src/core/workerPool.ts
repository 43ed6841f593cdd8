import { parentPort, type ResourceLimits, type Transferable, Worker } from "node:worker_threads";
import { WorkerError } from "./errors.js";
import { reviveError, type SerializedError, serializeError } from "./errorTransfer.js";

/**
 * A pool of worker threads working through a list of tasks: the walk-forward steps of
 * `itb predict-rolling`, the cells of a threshold search. The main side (`runPool`, `mapPool`)
 * starts the workers with one shared `workerData`, hands each a task, the next one when its
 * result has been handled, and stops everything at the first failure or abort. The worker side
 * (`serveTasks`) answers each task with its result or its error, serialised so that it arrives
 * with its class, `action` and exit code (errorTransfer.ts).
 */

interface TaskMessage<T> {
  index: number;
  task: T;
}

type ReplyMessage<R> =
  | { index: number; ok: true; result: R }
  | { index: number; ok: false; error: SerializedError };

export interface PoolOptions<T> {
  /** The compiled worker module; it calls serveTasks. */
  url: URL;
  /** Given to every worker once (structured clone: SharedArrayBuffers are shared, not copied). */
  workerData: unknown;
  tasks: readonly T[];
  /** Worker threads to start; never more than the tasks, at least one. */
  size: number;
  /** Names the pool in messages: "walk-forward", "threshold search". */
  name: string;
  resourceLimits?: ResourceLimits;
  /** Aborting rejects with the signal's reason and terminates every worker at once. */
  signal?: AbortSignal;
}

/**
 * Runs every task on `size` worker threads and hands each result to `onResult` as it arrives
 * (awaited: the worker that produced it gets its next task afterwards, so a slow consumer holds
 * work back instead of piling results up). The first failure rejects: a task's error (revived
 * with its class), `onResult`'s, a worker's crash (a WorkerError when it ran out of memory or
 * exited without an answer), or the abort of `signal`. Every worker is terminated before this
 * settles, whatever the outcome.
 */
export async function runPool<T, R>(
  opts: PoolOptions<T>,
  onResult: (result: R, index: number) => void | Promise<void>,
): Promise<void> {
  const { tasks, signal, name } = opts;
  signal?.throwIfAborted();
  if (tasks.length === 0) return;
  const size = Math.max(1, Math.min(opts.size, tasks.length));
  const workers: Worker[] = [];
  let onAbort: (() => void) | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      let next = 0;
      let unhandled = tasks.length;
      const fail = (err: unknown): void => {
        if (settled) return;
        settled = true;
        reject(err);
      };
      onAbort = () => fail(signal?.reason);
      signal?.addEventListener("abort", onAbort, { once: true });
      const give = (w: Worker): void => {
        if (settled || next >= tasks.length) return;
        const index = next++;
        const msg: TaskMessage<T> = { index, task: tasks[index] as T };
        w.postMessage(msg);
      };
      for (let i = 0; i < size; i++) {
        const w = new Worker(opts.url, {
          workerData: opts.workerData,
          ...(opts.resourceLimits === undefined ? {} : { resourceLimits: opts.resourceLimits }),
        });
        workers.push(w);
        w.on("message", (reply: ReplyMessage<R>) => {
          if (settled) return;
          if (!reply.ok) {
            fail(reviveError(reply.error));
            return;
          }
          Promise.resolve()
            .then(() => onResult(reply.result, reply.index))
            .then(() => {
              if (settled) return;
              if (--unhandled === 0) {
                settled = true;
                resolve();
              } else give(w);
            }, fail);
        });
        w.on("error", (err) => fail(workerFailure(name, err)));
        w.on("exit", (code) => {
          fail(new WorkerError(`${name} worker thread stopped (exit code ${code}) before its work was done`));
        });
        give(w);
      }
    });
  } finally {
    if (onAbort !== undefined) signal?.removeEventListener("abort", onAbort);
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/** runPool that returns the results in the order of the tasks. */
export async function mapPool<T, R>(opts: PoolOptions<T>): Promise<R[]> {
  const out = new Array<R>(opts.tasks.length);
  await runPool<T, R>(opts, (result, index) => {
    out[index] = result;
  });
  return out;
}

/**
 * An error a worker did not catch: its own uncaught errors come here as Node cloned them (the
 * stack kept: a bug); running out of memory is no bug and says so.
 */
function workerFailure(name: string, err: Error): Error {
  if ((err as { code?: unknown }).code === "ERR_WORKER_OUT_OF_MEMORY") {
    return new WorkerError(`${name} worker thread ran out of memory (${err.message})`, { cause: err });
  }
  return err;
}

/**
 * The worker side of a pool: answers every task with `handle`'s result (its buffers listed by
 * `transfer` are moved, not copied) or with its error, serialised with its class and fields.
 * Tasks arrive one at a time.
 */
export function serveTasks<T, R>(
  handle: (task: T) => R | Promise<R>,
  transfer?: (result: R) => Transferable[],
): void {
  const port = parentPort;
  if (port === null) throw new Error("serveTasks runs in a worker thread");
  port.on("message", (msg: TaskMessage<T>) => {
    const answer = async (): Promise<void> => {
      try {
        const result = await handle(msg.task);
        const reply: ReplyMessage<R> = { index: msg.index, ok: true, result };
        port.postMessage(reply, transfer?.(result) ?? []);
      } catch (err) {
        const reply: ReplyMessage<R> = { index: msg.index, ok: false, error: serializeError(err) };
        port.postMessage(reply);
      }
    };
    void answer();
  });
}
