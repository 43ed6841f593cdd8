import { Worker } from "node:worker_threads";
import { idleCore } from "../core/cpuLoad.js";
import { WorkerError } from "../core/errors.js";
import {
  BLOCK,
  CTRL,
  evaluatePart,
  type PartRows,
  type Session,
  WORKER_IDLE_MS,
  workerSource,
} from "./lcKernels.js";

/**
 * Evaluations of lc's objective over the rows in parts, optionally shared with a worker thread.
 *
 * The rows are cut into parts that depend on the row count alone (one part below PART_MIN_ROWS
 * rows, else PARTS parts of whole blocks); each part's sums go to their own slots and the caller
 * adds the parts in part order, so the result is the same whichever thread ran which part, and
 * the same with or without a worker. With a worker, both threads claim parts from an atomic
 * counter, as gb's training team does: a worker that is still starting (55-105 ms of CPU) or
 * descheduled costs nothing, the calling thread takes the parts left. The worker reads the rows
 * from shared memory, so it is used only when every column is backed by a SharedArrayBuffer
 * (the caller allocates them so; nothing is copied).
 */
export interface PartEvaluator {
  /** Parts per evaluation. */
  readonly parts: number;
  /**
   * Every part's sums at θ (b the intercept): part p's Σ s·ℓ, Σ r and Σ r·xⱼ at
   * acc[p·(d + 2)], acc[p·(d + 2) + 1] and acc[p·(d + 2) + 2 + j]. The array is reused.
   */
  evaluate(theta: Float64Array, b: number): Float64Array;
  /** Releases the worker (the evaluator then runs in this thread only). */
  close(): void;
}

/** Below this many rows an evaluation is one part (one thread). */
const PART_MIN_ROWS = 131_072;
/**
 * Parts per evaluation above PART_MIN_ROWS: more than the threads, so that they finish together
 * and a worker descheduled in the middle of a part holds up little (at most 8: the claim word
 * keeps the next part in 4 bits).
 */
const PARTS = 8;
/** A claimed part unfinished for this long means its worker thread is gone. */
const STALL_MS = 60_000;

/** Part boundaries for n rows: bounds[p]..bounds[p + 1], whole blocks but the last. */
export function partBounds(n: number): Int32Array {
  if (n < PART_MIN_ROWS) return Int32Array.of(0, n);
  const blocks = Math.ceil(n / BLOCK);
  const bounds = new Int32Array(PARTS + 1);
  for (let p = 1; p < PARTS; p++) bounds[p] = Math.min(n, Math.round((p * blocks) / PARTS) * BLOCK);
  bounds[PARTS] = n;
  return bounds;
}

/**
 * One worker shared by every evaluator of this thread, started on first need; undefined when
 * threads cannot be had. It ends itself after WORKER_IDLE_MS without a session; one that has
 * ended unseen (this thread ran no event loop since) gets sessions it never reads, and this
 * thread then computes every part itself.
 */
let worker: Worker | undefined;
let busy = false;
let lastSessionEnd = 0;

/**
 * Ends the worker thread now (a caller whose trainings are over): the shared memory of the rows
 * it read is released with it, rather than whenever the idle thread ends.
 */
export function stopLcWorker(): void {
  const w = worker;
  worker = undefined;
  busy = false;
  if (w !== undefined) void w.terminate();
}

function takeWorker(): Worker | undefined {
  if (busy) return undefined; // a nested training (not expected) runs in one thread
  // Idle long enough to have ended itself (with margin): a new one.
  if (worker !== undefined && performance.now() - lastSessionEnd > WORKER_IDLE_MS / 2) stopLcWorker();
  if (worker === undefined) {
    try {
      const w = new Worker(workerSource(), { eval: true });
      w.unref();
      w.on("error", () => {
        if (worker === w) worker = undefined;
      });
      w.on("exit", () => {
        if (worker === w) worker = undefined;
      });
      worker = w;
    } catch {
      return undefined;
    }
  }
  busy = true;
  return worker;
}

const isShared = (x: Float64Array): boolean => x.buffer instanceof SharedArrayBuffer;

/**
 * A worker is not started on a machine busy with other work (other processes keeping more than
 * cores − 1 cores busy over the last second: core/cpuLoad.ts): there it adds its start-up to the
 * load and, descheduled in the middle of a part, holds up the evaluation. The bound is looser
 * than the feature sets' (cores − 1.5), whose worker also loads ~30 modules and compiles its
 * kernels afresh before it can take a set: this worker is kept between evaluations.
 */
const IDLE_SLACK = 1;

/**
 * An evaluator over the rows; with threads > 1, rows of at least PART_MIN_ROWS, every column
 * in shared memory and an idle core (`evenWhenBusy` skips this check), a worker thread shares
 * the parts (y and the weights are copied to shared memory, 8 bytes per row each).
 */
export function partEvaluator(
  columns: readonly Float64Array[],
  y: Float64Array,
  s: Float64Array | null,
  threads = 1,
  evenWhenBusy = false,
): PartEvaluator {
  const n = y.length;
  const d = columns.length;
  const stride = d + 2;
  const bounds = partBounds(n);
  const parts = bounds.length - 1;
  const zb = new Float64Array(BLOCK);
  const rb = new Float64Array(BLOCK);
  const rows: PartRows = { columns, y, s, bounds };
  const runHere = (theta: Float64Array, b: number, p: number, acc: Float64Array) =>
    evaluatePart(rows, theta, b, p, zb, rb, acc);

  const w =
    threads > 1 && parts > 1 && columns.every(isShared) && (evenWhenBusy || idleCore(IDLE_SLACK))
      ? takeWorker()
      : undefined;
  if (w === undefined) {
    const acc = new Float64Array(parts * stride);
    return {
      parts,
      evaluate(theta, b) {
        for (let p = 0; p < parts; p++) runHere(theta, b, p, acc);
        return acc;
      },
      close() {},
    };
  }

  const toShared = (x: Float64Array): Float64Array => {
    const out = new Float64Array(new SharedArrayBuffer(x.length * 8));
    out.set(x);
    return out;
  };
  const session: Session = {
    ctrl: new SharedArrayBuffer(16),
    theta: new SharedArrayBuffer((d + 1) * 8),
    acc: new SharedArrayBuffer(parts * stride * 8),
    columns: columns.slice(),
    y: toShared(y),
    s: s === null ? null : toShared(s),
    bounds,
  };
  const ctrl = new Int32Array(session.ctrl);
  const sharedTheta = new Float64Array(session.theta);
  const acc = new Float64Array(session.acc);
  w.postMessage(session);
  let seq = 0;
  let open = true;
  const end = () => {
    if (!open) return;
    open = false;
    Atomics.store(ctrl, CTRL.seq, -1);
    Atomics.notify(ctrl, CTRL.seq);
    busy = false;
    lastSessionEnd = performance.now();
  };
  return {
    parts,
    evaluate(theta, b) {
      if (!open) {
        for (let p = 0; p < parts; p++) runHere(theta, b, p, acc);
        return acc;
      }
      sharedTheta.set(theta.subarray(0, d));
      sharedTheta[d] = b;
      seq = (seq % 0x7ffffff) + 1;
      Atomics.store(ctrl, CTRL.done, 0);
      Atomics.store(ctrl, CTRL.claim, seq << 4);
      Atomics.store(ctrl, CTRL.seq, seq);
      Atomics.notify(ctrl, CTRL.seq);
      for (;;) {
        const word = Atomics.load(ctrl, CTRL.claim);
        const p = word & 15;
        if (p >= parts) break;
        if (Atomics.compareExchange(ctrl, CTRL.claim, word, word + 1) !== word) continue;
        runHere(sharedTheta, b, p, acc);
        Atomics.add(ctrl, CTRL.done, 1);
      }
      awaitParts(ctrl, parts);
      if (Atomics.load(ctrl, CTRL.err) !== 0) {
        // The worker failed on a part: this thread computes every part from now on.
        end();
        for (let p = 0; p < parts; p++) runHere(theta, b, p, acc);
      }
      return acc;
    },
    close: end,
  };
}

/** Waits until `parts` parts of the evaluation are done (the ones left are being run by the worker). */
function awaitParts(ctrl: Int32Array, parts: number): void {
  let done = Atomics.load(ctrl, CTRL.done);
  let since = performance.now();
  while (done < parts) {
    Atomics.wait(ctrl, CTRL.done, done, 100);
    const now = Atomics.load(ctrl, CTRL.done);
    if (now !== done) {
      done = now;
      since = performance.now();
    } else if (performance.now() - since > STALL_MS) {
      throw new WorkerError(
        `lc training: a worker thread stopped responding (${parts - now} part(s) unfinished for ${STALL_MS / 1000} s)`,
      );
    }
  }
}
