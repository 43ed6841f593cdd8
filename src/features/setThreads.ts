import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from "node:worker_threads";
import { idleCore } from "../core/cpuLoad.js";
import { Frame } from "../core/frame.js";
import { type FillPolicy, fillGapsShared } from "./fill.js";
import type { GeneratorConfig } from "./generator.js";
import { talibFill, talibGenerator } from "./talib.js";

/**
 * A share of a run's `talib` sets on one worker thread while the calling thread computes the
 * rest: two cores compute twice the columns. The worker reads its input columns from shared
 * memory (filled by the calling thread) and hands its outputs back by transfer (no copy); it
 * runs the same kernels, so the numbers are those of a run in one thread, bit for bit.
 *
 * The share is not fixed in advance: the calling thread takes the sets in order from the front
 * of the list, the worker from the back, each claiming a set with an atomic flag before
 * computing it, until they meet. A worker takes 35-65 ms to start (thread, isolate, ~30
 * modules) and its kernels are compiled afresh, which on a fast machine is a third or more of
 * the whole run: a share fixed by a cost model gave it too much there (measured: 111 ms on two
 * threads against 92 ms on one for the bench's 20 features) and too little on a slow one. Taken
 * this way, a late worker takes less, and one that starts after the calling thread has claimed
 * everything takes nothing and costs only its start on the other core.
 */

/**
 * The cost model of whether to start a worker at all: a run in one thread costs ~15 ns per row
 * and output column on a 2-vCPU EPYC (first, cold run: V8 compiles each kernel on first use,
 * and every output is fresh memory; 8-15 ns by the day), and a worker is worth starting when
 * that is more than its start.
 */
const SECONDS_PER_CELL = 15e-9;
const WORKER_START_SECONDS = 0.05;

/** The set fields a worker needs (a ResolvedSet holds functions, which cannot be posted). */
export interface OffloadSet {
  config: GeneratorConfig;
  /** Input columns by the generator's names, in shared memory (filled once `ready` is 1). */
  inputs: [string, Float64Array][];
}

export interface OffloadRequest {
  rows: number;
  /** The sets either thread may compute, in list order. */
  sets: OffloadSet[];
  /** Per set: 0 unclaimed, 1 the calling thread's, 2 the worker's (claimed by compare-and-swap). */
  claims: Int32Array;
  /** Set to 1 (and notified) by the calling thread once every input is filled. */
  ready: Int32Array;
  /** Set to 1 (and notified) by the worker once its reply is posted on `port`. */
  done: Int32Array;
  port: MessagePort;
}

export type OffloadReply =
  | { ok: true; sets: number[]; outputs: Float64Array[][]; seconds: number[] }
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
 * Which sets either thread may compute (undefined: no worker, run in one thread): see
 * `chooseOffload`; none either when no core is idle (other processes keep more than cores − 1.5
 * cores busy, measured over the last second: core/cpuLoad.ts; `evenWhenBusy` skips this check),
 * or when the compiled worker is absent, as under the TypeScript test runner.
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
  if (!evenWhenBusy && !idleCore(1.5)) return undefined;
  const offload = chooseOffload(rows, sets, Math.min(threads ?? cores, cores));
  return offload && existsSync(fileURLToPath(WORKER_URL)) ? offload : undefined;
}

/**
 * The `talib` sets whose inputs no other set writes and whose outputs no later set reads (so
 * each thread sees exactly the columns it would in one thread): either thread may compute them.
 * Undefined when a worker is not worth it: one thread, a run estimated to take less than a
 * worker takes to start, or no such set.
 */
export function chooseOffload(
  rows: number,
  sets: readonly PlannedSet[],
  threads: number,
): boolean[] | undefined {
  const total = sets.reduce((s, p) => s + p.writes.length, 0);
  if (threads < 2 || sets.length < 2 || total === 0) return undefined;
  if (rows * total * SECONDS_PER_CELL <= WORKER_START_SECONDS) return undefined;
  const offload = sets.map((s, i) => {
    if (!s.isTalib) return false;
    const inputWritten = sets.some((o, j) => j !== i && o.writes.some((w) => s.reads.includes(w)));
    const outputRead = sets.slice(i + 1).some((l) => l.reads.some((r) => s.writes.includes(r)));
    return !inputWritten && !outputRead;
  });
  return offload.some((o) => o) ? offload : undefined;
}

/** A worker started on the sets either thread may compute. */
export interface Offloaded {
  /** Claims shared set k (index among them) for the calling thread: false when the worker has it. */
  claim(k: number): boolean;
  /** Who holds shared set k: 0 nobody yet, 1 the calling thread, 2 the worker. */
  holder(k: number): number;
  /** Stops the worker (the run failed on the calling thread): it claims nothing more. */
  cancel(): void;
  /**
   * The outputs and seconds of the sets the worker claimed, by shared index (waiting for it if it
   * claimed any), or undefined for those sets if the worker failed: the caller computes them.
   */
  wait(): Map<number, { outputs: Float64Array[]; seconds: number }> | undefined;
}

/**
 * Starts a worker on `sets` (the planned sets either thread may compute) over the frame's
 * columns (`column`). Their inputs are filled into shared memory after the request is posted
 * (the worker is still starting), and become the filled columns this thread's sets read too.
 */
export function startOffload(
  rows: number,
  sets: readonly PlannedSet[],
  column: (name: string) => Float64Array,
): Offloaded {
  const worker = new Worker(WORKER_URL);
  worker.unref();
  // A worker that fails without answering makes `wait` compute its sets here; its error event
  // (which would otherwise end the process) is left to that.
  worker.on("error", () => {});
  // One shared filled column per column and fill policy (two sets may fill the same column differently).
  const shared = new Map<string, { column: Float64Array; fill(): void }>();
  const input = (name: string, fill: FillPolicy): Float64Array => {
    const key = `${fill}:${name}`;
    let c = shared.get(key);
    if (c === undefined) {
      c = fillGapsShared(column(name), fill);
      shared.set(key, c);
    }
    return c.column;
  };
  const claims = new Int32Array(new SharedArrayBuffer(4 * sets.length));
  const ready = new Int32Array(new SharedArrayBuffer(4));
  const done = new Int32Array(new SharedArrayBuffer(4));
  const request: Omit<OffloadRequest, "port"> = {
    rows,
    sets: sets.map((s) => {
      const fill = talibFill(s.config);
      return {
        config: s.config,
        inputs: s.reads.map((r, k): [string, Float64Array] => [s.inputNames[k] as string, input(r, fill)]),
      };
    }),
    claims,
    ready,
    done,
  };
  const { port1, port2 } = new MessageChannel();
  const cancel = () => {
    // Every set still unclaimed becomes this thread's, so a worker that runs on claims nothing.
    for (let k = 0; k < sets.length; k++) Atomics.compareExchange(claims, k, 0, 1);
    port1.close();
    void worker.terminate();
  };
  worker.postMessage({ ...request, port: port2 } satisfies OffloadRequest, [port2]);
  try {
    for (const c of shared.values()) c.fill();
  } catch (err) {
    cancel();
    throw err;
  }
  Atomics.store(ready, 0, 1);
  Atomics.notify(ready, 0);
  const started = performance.now();
  return {
    claim(k) {
      return Atomics.compareExchange(claims, k, 0, 1) === 0;
    },
    holder(k) {
      return Atomics.load(claims, k);
    },
    cancel,
    wait() {
      // Every set is claimed by now (this thread tried each): none by the worker, nothing to wait for.
      let theirs = false;
      for (let k = 0; k < sets.length; k++) if (Atomics.load(claims, k) === 2) theirs = true;
      if (!theirs) {
        port1.close();
        void worker.terminate();
        return new Map();
      }
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
      if (!reply?.ok) return undefined;
      const got = new Map<number, { outputs: Float64Array[]; seconds: number }>();
      reply.sets.forEach((k, j) => {
        got.set(k, { outputs: reply.outputs[j] as Float64Array[], seconds: reply.seconds[j] as number });
      });
      return got;
    },
  };
}

/**
 * The worker's side: waits for the inputs, then claims sets from the back of the list and
 * computes each with the `talib` generator, until a claim fails (the calling thread, which goes
 * from the front, has reached it).
 */
export function computeOffload(request: OffloadRequest): { reply: OffloadReply; transfer: ArrayBuffer[] } {
  try {
    while (Atomics.load(request.ready, 0) === 0) Atomics.wait(request.ready, 0, 0, 1000);
    const claimed: number[] = [];
    const outputs: Float64Array[][] = [];
    const seconds: number[] = [];
    for (let k = request.sets.length - 1; k >= 0; k--) {
      if (Atomics.compareExchange(request.claims, k, 0, 2) !== 0) break;
      claimed.push(k);
      const started = performance.now();
      const s = request.sets[k] as OffloadSet;
      const frame = new Frame(new Float64Array(request.rows), s.inputs);
      outputs.push(talibGenerator.batch(frame, s.config));
      seconds.push((performance.now() - started) / 1000);
    }
    // Each output's own buffer moves to the calling thread; shared ones are shared anyway.
    const transfer = new Set<ArrayBuffer>();
    for (const outs of outputs) {
      for (const o of outs) if (o.buffer instanceof ArrayBuffer) transfer.add(o.buffer);
    }
    return { reply: { ok: true, sets: claimed, outputs, seconds }, transfer: [...transfer] };
  } catch (err) {
    return { reply: { ok: false, message: err instanceof Error ? err.message : String(err) }, transfer: [] };
  }
}
