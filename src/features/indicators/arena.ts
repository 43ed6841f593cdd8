import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { idleCore } from "../../core/cpuLoad.js";
import { type WasmMemory, wasmApi } from "../../core/wasm.js";

/**
 * A run's column arena: one shared WebAssembly memory holding the filled inputs and the outputs
 * of a feature run, so that the wasm kernels (wasmKernels.ts) read and write the columns where
 * they are instead of copying every chunk in and out (~5 ms of the bench's ~125 ms stage). Columns
 * are Float64Array views of its memory; it is freed when the last of them is. Shared memory: a
 * view posted to a worker shares the memory rather than cloning the whole arena, and a view never
 * detaches. Allocation bumps a pointer (nothing is freed one column at a time); a column that does
 * not fit comes from the ordinary heap, where everything works as before, a little slower.
 *
 * Writing a fresh page costs a page fault, ~2 µs on the machines measured (a VM): the bench's 24
 * columns are ~20,000 pages, about half of its feature stage. With an idle core, a helper thread
 * faults the arena's pages in ahead of the run (prefault): it writes each page with a
 * compare-and-exchange of 0 for 0, which leaves any value the run has written there unchanged,
 * and it keeps at most PREFAULT_LEAD bytes ahead of the columns handed out, so an arena sized
 * larger than the run needs costs little resident memory. It only touches pages not yet handed
 * out, so it races the run only when a column is handed out under it; the JavaScript memory model
 * calls that a data race, and it is sound because V8 compiles Atomics.compareExchange to the
 * hardware's atomic read-modify-write (lock cmpxchg on x86-64, CAS or an exclusive pair on
 * ARM64): it reads the run's value and writes nothing, or reads 0 and writes 0.
 *
 * Every output of a run is placed here while there is room, an indicator's temporaries too (MACD's
 * EMAs): they then live as long as the run's columns rather than until the next collection.
 */

/** Bytes at the start of an arena for the kernels' state and chunk buffers (wasmKernels.ts checks its layout fits). */
export const SCRATCH_BYTES = 6 * 65536;

/** Below this many rows a run gets no arena (the copies cost little, and a memory of its own would cost more). */
const MIN_ROWS = 65536;

/** Arenas stay below 2 GiB, so that addresses are small non-negative integers on both sides. */
const MAX_BYTES = 2 ** 31 - 65536;

/** How far ahead of the columns handed out the prefault thread may touch pages. */
const PREFAULT_LEAD = 16 * 2 ** 20;

/** Control words shared with the prefault thread: bytes handed out so far, 1 once the run is over, pages it touched. */
const CTL = { top: 0, done: 1, pages: 2 } as const;

/**
 * The prefault thread (CommonJS, evaluated), one per thread that runs features, kept between runs
 * (it starts in tens of milliseconds; unref'd, it does not keep the process alive). For each
 * arena posted to it: touches one 4-byte word per 4 KiB page from the arena's allocation frontier
 * on, never behind it (those pages are in use) nor more than `lead` bytes ahead (waiting for the
 * frontier to move), until the arena's end or its run's end. Runs in a thread are sequential, so
 * the arenas come one at a time.
 */
const PREFAULT_SOURCE = `
const { parentPort } = require("node:worker_threads");
parentPort.on("message", ({ buffer, ctl: ctlBuffer, lead }) => {
  const words = new Int32Array(buffer);
  const ctl = new Int32Array(ctlBuffer);
  const end = words.length;
  let i = 0;
  while (Atomics.load(ctl, ${CTL.done}) === 0) {
    const top = Atomics.load(ctl, ${CTL.top});
    const from = Math.ceil(top / 4096) * 1024;
    if (i < from) i = from;
    if (i >= end) break;
    if (4 * i >= top + lead) {
      Atomics.wait(ctl, ${CTL.top}, top, 50);
      continue;
    }
    Atomics.compareExchange(words, i, 0, 0);
    Atomics.add(ctl, ${CTL.pages}, 1);
    i += 1024;
  }
});
`;

let prefaulter: Worker | undefined;

/** This thread's prefault thread, started on first use; undefined when no thread can be had. */
function prefaultThread(): Worker | undefined {
  if (prefaulter !== undefined) return prefaulter;
  try {
    const worker = new Worker(PREFAULT_SOURCE, { eval: true });
    worker.unref();
    worker.on("error", () => {
      if (prefaulter === worker) prefaulter = undefined;
    });
    worker.on("exit", () => {
      if (prefaulter === worker) prefaulter = undefined;
    });
    prefaulter = worker;
  } catch {
    // No more threads to be had: the run faults its own pages.
  }
  return prefaulter;
}

/** There is a core to spare: at least two, and other processes keep at most cores − 1.5 busy. */
function coreToSpare(evenWhenBusy: boolean): boolean {
  return availableParallelism() >= 2 && (evenWhenBusy || idleCore(1.5));
}

/**
 * Starts this thread's prefault thread ahead of a feature run (when WebAssembly and an idle core
 * are there), so that it has booted, tens of milliseconds, by the time the run's arena needs it:
 * a caller that reads its input first calls this before reading (`itb features` does). The
 * bench's 20 features after its load: 85 against 103 ms (medians of 8, 2026-12-07) with the
 * thread started before the load. `evenWhenBusy` skips the idle-core check.
 */
export function startPrefaultThread(evenWhenBusy = false): void {
  if (wasmApi() !== undefined && coreToSpare(evenWhenBusy)) prefaultThread();
}

/** The prefault thread's id, if this thread has one (tests: arenas use the thread started ahead). */
export function prefaultThreadId(): number | undefined {
  return prefaulter?.threadId;
}

export class ColumnArena {
  readonly memory: WasmMemory;
  private readonly buffer: ArrayBufferLike;
  private top = SCRATCH_BYTES;
  private readonly end: number;
  private readonly ctl = new Int32Array(new SharedArrayBuffer(12));
  private readonly closers: (() => void)[] = [];

  constructor(memory: WasmMemory) {
    this.memory = memory;
    this.buffer = memory.buffer;
    this.end = memory.buffer.byteLength;
    this.ctl[CTL.top] = this.top;
  }

  /** A column of n doubles (zeros: the memory is fresh), or undefined when the arena is full. */
  alloc(n: number): Float64Array | undefined {
    const bytes = Math.ceil((8 * n) / 64) * 64;
    if (this.top + bytes > this.end) return undefined;
    const out = new Float64Array(this.buffer, this.top, n);
    this.top += bytes;
    Atomics.store(this.ctl, CTL.top, this.top);
    Atomics.notify(this.ctl, CTL.top);
    return out;
  }

  /**
   * Starts the prefault thread when a core is idle (other processes keeping less than
   * cores − 1.5 cores busy), or in any case with `evenWhenBusy` (on two cores or more). Returns
   * whether it started.
   */
  prefault(evenWhenBusy = false): boolean {
    if (!coreToSpare(evenWhenBusy)) return false;
    const worker = prefaultThread();
    if (worker === undefined) return false;
    worker.postMessage({ buffer: this.buffer, ctl: this.ctl.buffer, lead: PREFAULT_LEAD });
    return true;
  }

  /** Pages the prefault thread has touched so far. */
  prefaulted(): number {
    return Atomics.load(this.ctl, CTL.pages);
  }

  /** Runs `fn` when the run is over (a cache dropping what lives in the arena). */
  onClose(fn: () => void): void {
    this.closers.push(fn);
  }

  /** The run is over: the prefault thread, if any, stops, and what asked to hear of it is told. */
  close(): void {
    Atomics.store(this.ctl, CTL.done, 1);
    Atomics.notify(this.ctl, CTL.top);
    for (const fn of this.closers.splice(0)) fn();
  }

  /** True when x is a view of this arena's memory. */
  holds(x: Float64Array): boolean {
    return x.buffer === this.buffer;
  }
}

/** An arena for `columns` columns of `rows` rows, or undefined (few rows, no WebAssembly, too big, or no memory to be had). */
export function openArena(rows: number, columns: number): ColumnArena | undefined {
  if (rows < MIN_ROWS || columns <= 0) return undefined;
  const api = wasmApi();
  if (api === undefined) return undefined;
  const bytes = SCRATCH_BYTES + columns * Math.ceil((8 * rows) / 64) * 64;
  if (bytes > MAX_BYTES) return undefined;
  const pages = Math.ceil(bytes / 65536);
  try {
    return new ColumnArena(new api.Memory({ initial: pages, maximum: pages, shared: true }));
  } catch {
    return undefined;
  }
}

let current: ColumnArena | undefined;

/** The arena of the run in progress in this thread, if any. */
export function currentArena(): ColumnArena | undefined {
  return current;
}

/** A new column from the current run's arena, or undefined (no arena, or it is full). */
export function arenaColumn(n: number): Float64Array | undefined {
  return current?.alloc(n);
}

/** Runs fn with `arena` as this thread's current arena (undefined: none), restoring the previous one after. */
export function withArena<T>(arena: ColumnArena | undefined, fn: () => T): T {
  const previous = current;
  current = arena;
  try {
    return fn();
  } finally {
    current = previous;
  }
}
