import { type WasmMemory, wasmApi } from "../../core/wasm.js";

/**
 * A run's column arena: one shared WebAssembly memory holding the filled inputs and the outputs
 * of a feature run, so that the wasm kernels (wasmKernels.ts) read and write the columns where
 * they are instead of copying every chunk in and out (15 ms of the bench's 110 ms stage). Columns
 * are Float64Array views of its memory; it is freed when the last of them is. Shared memory: a
 * view posted to a worker shares the memory rather than cloning the whole arena, and a view never
 * detaches. Allocation bumps a pointer (nothing is freed one column at a time); a column that does
 * not fit comes from the ordinary heap, where everything works as before, a little slower.
 */

/** Bytes at the start of an arena for the kernels' state and chunk buffers (wasmKernels.ts checks its layout fits). */
export const SCRATCH_BYTES = 6 * 65536;

/** Below this many rows a run gets no arena (the copies cost little, and a memory of its own would cost more). */
const MIN_ROWS = 65536;

/** Arenas stay below 2 GiB, so that addresses are small non-negative integers on both sides. */
const MAX_BYTES = 2 ** 31 - 65536;

export class ColumnArena {
  readonly memory: WasmMemory;
  private readonly buffer: ArrayBufferLike;
  private top = SCRATCH_BYTES;
  private readonly end: number;

  constructor(memory: WasmMemory) {
    this.memory = memory;
    this.buffer = memory.buffer;
    this.end = memory.buffer.byteLength;
  }

  /** A column of n doubles (zeros: the memory is fresh), or undefined when the arena is full. */
  alloc(n: number): Float64Array | undefined {
    const bytes = Math.ceil((8 * n) / 64) * 64;
    if (this.top + bytes > this.end) return undefined;
    const out = new Float64Array(this.buffer, this.top, n);
    this.top += bytes;
    return out;
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
