import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from "node:worker_threads";
import { busyElsewhere } from "../core/cpuLoad.js";
import { Frame } from "../core/frame.js";
import { type FillPolicy, fillGapsShared, fillInPlace } from "./fill.js";
import type { GeneratorConfig } from "./generator.js";
import { talibFill, talibGenerator } from "./talib.js";

/**
 * A share of a run's `talib` sets on one worker thread while the calling thread computes the
 * rest: two cores fill and compute twice the columns. The worker reads its input columns from
 * shared memory and hands its outputs back by transfer (no copy); it runs the same kernels,
 * so the numbers are those of a run in one thread, bit for bit. A worker takes 55-105 ms of CPU
 * to start and compiles its kernels afresh, so small tables stay in one thread.
 */

/**
 * The cost model of the split, from the 20-feature bench on a 2-vCPU EPYC (525,600 rows): a
 * run in one thread costs ~15 ns per row and output column (first, cold run: V8 compiles each
 * kernel on first use, and every output is fresh memory). A worker's start (thread, isolate,
 * ~30 modules, then its kernels compiled afresh) is taken as 30 ms: fitted so that in the bench
 * both threads' CPU times come out even (main thread 12 columns and the fills, the worker 8 and
 * its start: 0.28 s and 0.28 s on a loaded machine, against 0.42 s for the whole in one thread).
 */
const SECONDS_PER_CELL = 15e-9;
const WORKER_START_SECONDS = 0.03;

/** The set fields a worker needs (a ResolvedSet holds functions, which cannot be posted). */
export interface OffloadSet {
  config: GeneratorConfig;
  /** Input columns by the generator's names, in shared memory. */
  inputs: [string, Float64Array][];
}

export interface OffloadRequest {
  rows: number;
  sets: OffloadSet[];
  /** Unfilled copies among the inputs, which the worker fills in place first. */
  unfilled: [Float64Array, FillPolicy][];
  /** Set to 1 (and notified) by the worker once its reply is posted on `port`. */
  done: Int32Array;
  port: MessagePort;
}

export type OffloadReply =
  | { ok: true; outputs: Float64Array[][]; seconds: number[] }
  | { ok: false; message: string };

const WORKER_URL = new URL("./setWorker.js", import.meta.url);

/** A set as the planner sees it: its generator, its frame inputs/outputs, its fill policy. */
export interface PlannedSet {
  isTalib: boolean;
  config: GeneratorConfig;
  /** Frame column names read / written (prefixes applied). */
  reads: readonly string[];
  writes: readonly string[];
  /** The generator's own input names, in the order of `reads`. */
  inputNames: readonly string[];
}

/**
 * Which sets go to the worker (undefined: none, run in one thread): see `chooseOffload`; none
 * either when no core is idle (other processes keep more than cores − 1.5 cores busy, measured
 * over the last second: core/cpuLoad.ts; `evenWhenBusy` skips this check), or when the compiled
 * worker is absent, as under the TypeScript test runner.
 */
export function planOffload(
  rows: number,
  sets: readonly PlannedSet[],
  threads?: number,
  evenWhenBusy = false,
): boolean[] | undefined {
  const cores = availableParallelism();
  // A worker pays only on an idle core: on a busy machine it adds its start-up and a second
  // compilation of the kernels to the load and the run takes longer (measured: 0.60 s against
  // 0.38 s in one thread, median of six, load average 4 on 2 cores).
  if (!evenWhenBusy && busyElsewhere() > cores - 1.5) return undefined;
  const offload = chooseOffload(rows, sets, Math.min(threads ?? cores, cores));
  return offload && existsSync(fileURLToPath(WORKER_URL)) ? offload : undefined;
}

/**
 * `talib` sets whose inputs no other set writes and whose outputs no later set reads (so each
 * side sees exactly the columns it would in one thread), taken from the end of the list until
 * they hold the worker's share of the output columns: both threads should finish together, so
 * with T the run's estimated time in one thread and S the worker's start, the share is
 * (1 − S/T)/2. Undefined when a worker is not worth it: one thread, a table too small for a
 * share of one column, or all or nothing eligible.
 */
export function chooseOffload(
  rows: number,
  sets: readonly PlannedSet[],
  threads: number,
): boolean[] | undefined {
  const total = sets.reduce((s, p) => s + p.writes.length, 0);
  if (threads < 2 || sets.length < 2 || total === 0) return undefined;
  const oneThread = rows * total * SECONDS_PER_CELL;
  const target = (total * (1 - WORKER_START_SECONDS / oneThread)) / 2;
  if (target < 1) return undefined;
  const offload = sets.map(() => false);
  let share = 0;
  for (let i = sets.length - 1; i >= 0 && share < target; i--) {
    const s = sets[i] as PlannedSet;
    if (!s.isTalib || share + s.writes.length > target + 0.5) continue;
    const inputWritten = sets.some((o, j) => j !== i && o.writes.some((w) => s.reads.includes(w)));
    const outputRead = sets.slice(i + 1).some((l) => l.reads.some((r) => s.writes.includes(r)));
    if (inputWritten || outputRead) continue;
    offload[i] = true;
    share += s.writes.length;
  }
  // Every set on the worker would leave this thread idle: not worth a thread.
  if (share === 0 || share === total) return undefined;
  return offload;
}

/** A worker computing its sets; `wait` blocks until it answers. */
export interface Offloaded {
  /** The outputs per offloaded set (in request order) and their seconds, or undefined if the worker failed. */
  wait(): { outputs: Float64Array[][]; seconds: number[] } | undefined;
}

/**
 * Starts a worker on `sets` (the planned sets to offload) over the frame's columns (`column`).
 * A column this thread's sets read too (`readHere`) is filled here into shared memory and
 * becomes the filled column both threads use; any other is copied as it is and filled by the
 * worker, which keeps that work off this thread.
 */
export function startOffload(
  rows: number,
  sets: readonly PlannedSet[],
  column: (name: string) => Float64Array,
  readHere: ReadonlySet<string>,
): Offloaded {
  const worker = new Worker(WORKER_URL);
  worker.unref();
  // A worker that fails without answering makes `wait` compute its sets here; its error event
  // (which would otherwise end the process) is left to that.
  worker.on("error", () => {});
  // One unfilled copy per column and fill policy (two sets may fill the same column differently).
  const copies = new Map<string, Float64Array>();
  const unfilled: [Float64Array, FillPolicy][] = [];
  const shared = (name: string, fill: FillPolicy): Float64Array => {
    if (readHere.has(name)) return fillGapsShared(column(name), fill);
    const key = `${fill}:${name}`;
    let c = copies.get(key);
    if (c === undefined) {
      const x = column(name);
      c = new Float64Array(new SharedArrayBuffer(x.byteLength));
      c.set(x);
      copies.set(key, c);
      unfilled.push([c, fill]);
    }
    return c;
  };
  const request: Omit<OffloadRequest, "done" | "port"> = {
    rows,
    sets: sets.map((s) => {
      const fill = talibFill(s.config);
      return {
        config: s.config,
        inputs: s.reads.map((r, k): [string, Float64Array] => [s.inputNames[k] as string, shared(r, fill)]),
      };
    }),
    unfilled,
  };
  const done = new Int32Array(new SharedArrayBuffer(4));
  const { port1, port2 } = new MessageChannel();
  worker.postMessage({ ...request, done, port: port2 } satisfies OffloadRequest, [port2]);
  const started = performance.now();
  return {
    wait() {
      // A worker that died without answering (it cannot be seen from a blocked thread) is given
      // up after a generous time; its sets are then computed here.
      const limit = 30_000 + 4 * (performance.now() - started);
      const waitStart = performance.now();
      while (Atomics.load(done, 0) === 0 && performance.now() - waitStart < limit) {
        Atomics.wait(done, 0, 0, 1000);
      }
      const reply = receiveMessageOnPort(port1)?.message as OffloadReply | undefined;
      port1.close();
      void worker.terminate();
      return reply?.ok ? { outputs: reply.outputs, seconds: reply.seconds } : undefined;
    },
  };
}

/** The worker's side: computes every requested set with the `talib` generator. */
export function computeOffload(request: OffloadRequest): { reply: OffloadReply; transfer: ArrayBuffer[] } {
  try {
    const outputs: Float64Array[][] = [];
    const seconds: number[] = [];
    // The fills count in the first set's time, as in one thread the first reader pays them.
    let started = performance.now();
    for (const [x, fill] of request.unfilled) fillInPlace(x, fill);
    for (const s of request.sets) {
      const frame = new Frame(new Float64Array(request.rows), s.inputs);
      outputs.push(talibGenerator.batch(frame, s.config));
      const now = performance.now();
      seconds.push((now - started) / 1000);
      started = now;
    }
    // Each output's own buffer moves to the calling thread; shared ones are shared anyway.
    const transfer = new Set<ArrayBuffer>();
    for (const outs of outputs) {
      for (const o of outs) if (o.buffer instanceof ArrayBuffer) transfer.add(o.buffer);
    }
    return { reply: { ok: true, outputs, seconds }, transfer: [...transfer] };
  } catch (err) {
    return { reply: { ok: false, message: err instanceof Error ? err.message : String(err) }, transfer: [] };
  }
}
