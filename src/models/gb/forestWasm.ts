import { Worker } from "node:worker_threads";
import { WorkerError } from "../../core/errors.js";
import {
  Bytes,
  memarg,
  moduleBytes,
  Op,
  Type,
  type WasmFunction,
  type WasmMemory,
  wasmApi,
} from "../../core/wasm.js";
import type { GbModel, GbTree } from "./model.js";

/**
 * Compiles a forest to a WebAssembly module: one function per group of trees, each a loop over
 * a block of rows whose body is the group's trees as nested `if`s with the thresholds and leaf
 * values as constants, and `run`, which calls every group in order. Every node then has its own
 * branch (consecutive candles take similar paths, so branches predict well) and no node data is
 * loaded. V8's
 * baseline wasm compiler takes tens of milliseconds for hundreds of trees and hot functions are
 * optimised in the background, so unlike generated JavaScript there is no warm-up: measured 5×
 * faster than a flat-array traversal on the benchmark model, with identical sums (same order of
 * additions).
 *
 * Memory (shared, so that worker threads can run blocks too) holds 2·REGIONS regions of one
 * block each; in a region at byte `base`, feature f of row i is at base + f·block·8 + i·8 and the
 * running score at base + d·block·8 + i·8. With threads, rows go in rounds of up to REGIONS
 * blocks, in the two halves of the regions by turns: the calling thread copies a round in, starts
 * it, copies the next round into the other half while the workers run blocks of this one (the
 * copy was a pause for them), then claims blocks too (an atomic counter) and, once all are done,
 * opens the next round to the workers and copies this one's scores out meanwhile. A row's score
 * is the same sum in the same order whichever thread runs it, so the result does not depend on
 * the thread count.
 */
export interface CompiledForest {
  /**
   * Adds every tree's leaf value to out[r0..r1) (which holds the starting scores), then applies
   * `options.link`.
   */
  addScores(
    columns: readonly Float64Array[],
    out: Float64Array,
    r0: number,
    r1: number,
    options?: ScoreOptions,
  ): void;
}

export interface ScoreOptions {
  /**
   * Round every input to float32 as it is read (XGBoost's DMatrix stores features as float32),
   * instead of the caller keeping a rounded copy of the columns.
   */
  float32?: boolean;
  /** Threads to share the rows with, the calling one included (default 1). */
  threads?: number;
  /**
   * "logistic": out receives `logistic(score)` (a binary model's probability) instead of the
   * score, applied as the scores are copied out (the workers meanwhile run the next round).
   */
  link?: "identity" | "logistic";
}

/** A binary model's probability from its raw score: the one formula every prediction path uses. */
export function logistic(score: number): number {
  return 1 / (1 + Math.exp(-score));
}

export const WASM_BLOCK = 2048;
/** Blocks per round when threads share the work. */
const REGIONS = 8;
/** A claimed block unfinished for this long means its worker thread is gone. */
const STALL_MS = 60_000;

// Locals: 0 = m (param, rows in the block), 1 = base (param, the region's byte offset),
// 2 = byte offset of the row, 3 = row index, 4 = sum.
function treeExpr(c: Bytes, t: GbTree, node: number, block: number): void {
  if (node < 0) {
    c.f64(t.leafValue[~node] as number);
    return;
  }
  c.op(Op.localGet, 2, Op.f64Load);
  memarg(c, 3, (t.feature[node] as number) * block * 8);
  c.f64(t.threshold[node] as number);
  // "x <= t → left" as an if; for default-left nodes the test is "x > t → right", so that NaN
  // (every comparison false) takes the else branch, left.
  const [test, first, second] = t.defaultLeft[node]
    ? [Op.f64Gt, t.right[node] as number, t.left[node] as number]
    : [Op.f64Le, t.left[node] as number, t.right[node] as number];
  c.op(test, Op.if, Type.f64);
  treeExpr(c, t, first, block);
  c.op(Op.else);
  treeExpr(c, t, second, block);
  c.op(Op.end);
}

/**
 * Trees [t0, t0 + k) over a block: per row the running score plus each tree's leaf value in tree
 * order (the same additions as one tree at a time), the score loaded and stored once per group.
 */
function groupFunction(trees: readonly GbTree[], i: number, outOffset: number, block: number): WasmFunction {
  const c = new Bytes();
  c.i32(0).op(Op.localSet, 3);
  c.op(Op.block, Type.void, Op.loop, Type.void);
  c.op(Op.localGet, 3, Op.localGet, 0, Op.i32GeU, Op.brIf, 1);
  c.op(Op.localGet, 3).i32(3).op(Op.i32Shl, Op.localGet, 1, Op.i32Add, Op.localSet, 2);
  c.op(Op.localGet, 2, Op.f64Load);
  memarg(c, 3, outOffset);
  for (const t of trees) {
    if (t.feature.length === 0) c.f64(t.leafValue[0] as number);
    else treeExpr(c, t, 0, block);
    c.op(Op.f64Add);
  }
  c.op(Op.localSet, 4);
  c.op(Op.localGet, 2, Op.localGet, 4, Op.f64Store);
  memarg(c, 3, outOffset);
  c.op(Op.localGet, 3).i32(1).op(Op.i32Add, Op.localSet, 3);
  c.op(Op.br, 0, Op.end, Op.end);
  return {
    name: `g${i}`,
    params: [Type.i32, Type.i32],
    results: [],
    locals: [
      [2, Type.i32],
      [1, Type.f64],
    ],
    body: c,
  };
}

/**
 * Trees per function: a row's score is loaded and stored once per group rather than per tree,
 * the loop over the block runs a quarter as often, and V8 has a quarter as many functions to
 * optimise. On 2026-12-07 (two threads, the bench's two 300-tree models over 525,600 rows,
 * alternating runs): first passes 471–486 ms for both models against 528–548 with one tree per
 * function, warm passes 167–173 against 193–197 ms per model; 8 per function was no better.
 * (Measured on a slow, loaded day before, 4 per function had looked slower on first passes,
 * 565–695 against 536–593 ms, in ranges that overlapped.)
 */
const TREES_PER_FUNCTION = 4;

/** run(m, base): every group over the block at `base`, in tree order. */
function runFunction(groups: number): WasmFunction {
  const c = new Bytes();
  for (let i = 0; i < groups; i++) c.op(Op.localGet, 0, Op.localGet, 1, Op.call).u(i);
  return { name: "run", params: [Type.i32, Type.i32], results: [], locals: [], body: c };
}

/** Module bytes for the model's trees over `d` features, and the (shared) memory pages it imports. */
export function forestModuleBytes(model: GbModel, block: number): { bytes: Uint8Array; pages: number } {
  const d = model.featureCount;
  const outOffset = d * block * 8;
  const pages = Math.max(1, Math.ceil((2 * REGIONS * (d + 1) * block * 8) / 65536));
  const fns: WasmFunction[] = [];
  for (let t0 = 0; t0 < model.trees.length; t0 += TREES_PER_FUNCTION)
    fns.push(groupFunction(model.trees.slice(t0, t0 + TREES_PER_FUNCTION), fns.length, outOffset, block));
  fns.push(runFunction(fns.length));
  return { bytes: moduleBytes(fns, pages, true), pages };
}

/**
 * Worker threads shared by every compiled forest of this thread, started on first need and
 * never holding the process open. ctrl[0] is the round's claim word (tag·256 + next block),
 * ctrl[1] the blocks finished, ctrl[2] set when a block threw.
 */
const WORKER_SOURCE = `"use strict";
const { parentPort, workerData } = require("node:worker_threads");
const ctrl = new Int32Array(workerData.ctrl);
const forests = new Map();
parentPort.on("message", (msg) => {
  if (msg.kind === "add") {
    forests.set(msg.id, new WebAssembly.Instance(msg.module, { env: { mem: msg.memory } }).exports.run);
    return;
  }
  if (msg.kind === "drop") {
    forests.delete(msg.id);
    return;
  }
  const run = forests.get(msg.id);
  if (run === undefined) return;
  for (;;) {
    const word = Atomics.load(ctrl, 0);
    const idx = word & 255;
    if (word >>> 8 !== msg.tag || idx >= msg.blocks) return;
    if (Atomics.compareExchange(ctrl, 0, word, word + 1) !== word) continue;
    try {
      run(Math.min(msg.block, msg.rows - idx * msg.block), (msg.first + idx) * msg.regionBytes);
    } catch {
      Atomics.store(ctrl, 2, 1);
    }
    Atomics.add(ctrl, 1, 1);
    Atomics.notify(ctrl, 1);
  }
});
`;

interface Pool {
  ctrl: Int32Array;
  workers: Worker[];
  tag: number;
}

let pool: Pool | undefined;

/** The pool with at least `n` workers (fewer when threads cannot be had). */
function poolOf(n: number): Pool {
  if (pool === undefined) pool = { ctrl: new Int32Array(new SharedArrayBuffer(16)), workers: [], tag: 0 };
  const p = pool;
  while (p.workers.length < n) {
    let w: Worker;
    try {
      w = new Worker(WORKER_SOURCE, { eval: true, workerData: { ctrl: p.ctrl.buffer } });
    } catch {
      break; // no more threads to be had: the calling thread does the rest
    }
    w.unref();
    w.on("error", () => {
      // A dead worker claims nothing more; a block it held is reported by the stall check.
      p.workers = p.workers.filter((x) => x !== w);
    });
    p.workers.push(w);
  }
  return p;
}

/**
 * Starts the worker threads that `addScores` with `threads` will use, so that they boot (tens of
 * milliseconds each) while the calling thread writes and compiles a forest.
 */
export function startScoreThreads(threads: number): void {
  const n = Math.min(Math.max(1, Math.floor(threads)), 64);
  if (n > 1 && wasmApi() !== undefined) poolOf(n - 1);
}

let nextId = 1;
const dropped = new FinalizationRegistry<number>((id) => {
  for (const w of pool?.workers ?? []) w.postMessage({ kind: "drop", id });
});

/** Compiles the model (already validated: finite numbers, features in range); undefined without WebAssembly. */
export function compileForest(model: GbModel, block = WASM_BLOCK): CompiledForest | undefined {
  const wasm = wasmApi();
  if (wasm === undefined) return undefined;
  const d = model.featureCount;
  const { bytes, pages } = forestModuleBytes(model, block);
  const mem: WasmMemory = new wasm.Memory({ initial: pages, maximum: pages, shared: true });
  const module = new wasm.Module(bytes);
  const run = new wasm.Instance(module, { env: { mem } }).exports.run as (m: number, base: number) => void;
  const heap = new Float64Array(mem.buffer);
  const region = (d + 1) * block;
  const id = nextId++;
  const known = new WeakSet<Worker>();

  /** Copies rows [s, s + m) into region k (rounded to float32 when asked). */
  const load = (
    columns: readonly Float64Array[],
    out: Float64Array,
    s: number,
    m: number,
    k: number,
    f32: boolean,
  ) => {
    const base = k * region;
    for (let f = 0; f < d; f++) {
      const col = columns[f] as Float64Array;
      const at = base + f * block;
      if (f32) for (let i = 0; i < m; i++) heap[at + i] = Math.fround(col[s + i] as number);
      else heap.set(col.subarray(s, s + m), at);
    }
    heap.set(out.subarray(s, s + m), base + d * block);
  };
  const store = (out: Float64Array, s: number, m: number, k: number, probability: boolean) => {
    const at = k * region + d * block;
    if (!probability) out.set(heap.subarray(at, at + m), s);
    else for (let i = 0; i < m; i++) out[s + i] = logistic(heap[at + i] as number);
  };

  const forest: CompiledForest = {
    addScores(columns, out, r0, r1, options = {}) {
      // Checked before any round starts: nothing below throws while workers hold blocks.
      if (columns.length !== d)
        throw new RangeError(`gb predict: ${d} feature columns expected, got ${columns.length}`);
      if (!(r0 >= 0 && r0 <= r1 && r1 <= out.length && columns.every((c) => c.length >= r1))) {
        throw new RangeError(`gb predict: rows [${r0}, ${r1}) are outside the output or a column`);
      }
      const f32 = options.float32 === true;
      const probability = options.link === "logistic";
      const blocks = Math.ceil(Math.max(0, r1 - r0) / block);
      const threads = Math.min(Math.max(1, Math.floor(options.threads ?? 1)), blocks, 64);
      const p = threads > 1 ? poolOf(threads - 1) : undefined;
      const workers = p === undefined ? [] : p.workers.slice(0, threads - 1);
      if (p === undefined || workers.length === 0) {
        for (let s = r0; s < r1; s += block) {
          const m = Math.min(block, r1 - s);
          load(columns, out, s, m, 0, f32);
          run(m, 0);
          store(out, s, m, 0, probability);
        }
        return;
      }
      for (const w of workers) {
        if (!known.has(w)) {
          w.postMessage({ kind: "add", id, module, memory: mem });
          known.add(w);
        }
      }
      const ctrl = p.ctrl;
      const roundRows = REGIONS * block;
      /** Rows of the round starting at row s0. */
      const rowsAt = (s0: number) => Math.min(roundRows, r1 - s0);
      /** Copies the round starting at row s0 into the half of the regions from `first` on. */
      const loadRound = (s0: number, first: number) => {
        const rows = rowsAt(s0);
        for (let k = 0; k * block < rows; k++)
          load(columns, out, s0 + k * block, Math.min(block, rows - k * block), first + k, f32);
      };
      /** Opens the (loaded) round starting at row s0 in half `half` to the workers. */
      const startRound = (s0: number, half: number) => {
        const rows = rowsAt(s0);
        p.tag = (p.tag % 0x3fffff) + 1;
        Atomics.store(ctrl, 1, 0);
        Atomics.store(ctrl, 2, 0);
        Atomics.store(ctrl, 0, p.tag * 256);
        const blocks = Math.ceil(rows / block);
        const msg = {
          kind: "run",
          id,
          tag: p.tag,
          blocks,
          rows,
          block,
          regionBytes: region * 8,
          first: half * REGIONS,
        };
        for (const w of workers) w.postMessage(msg);
      };
      loadRound(r0, 0);
      startRound(r0, 0);
      for (let s0 = r0, half = 0; s0 < r1; s0 += roundRows, half ^= 1) {
        const rows = rowsAt(s0);
        const n = Math.ceil(rows / block);
        const first = half * REGIONS;
        const next = s0 + roundRows;
        // The next round's rows go into the other half while the workers start on this one.
        if (next < r1) loadRound(next, (half ^ 1) * REGIONS);
        for (;;) {
          const word = Atomics.load(ctrl, 0);
          const k = word & 255;
          if (k >= n) break;
          if (Atomics.compareExchange(ctrl, 0, word, word + 1) !== word) continue;
          run(Math.min(block, rows - k * block), (first + k) * region * 8);
          Atomics.add(ctrl, 1, 1);
        }
        awaitBlocks(ctrl, n);
        if (Atomics.load(ctrl, 2) !== 0) throw new Error("gb predict: a worker thread failed on a block");
        // The workers start on the next round while this one's scores are copied out.
        if (next < r1) startRound(next, half ^ 1);
        for (let k = 0; k < n; k++)
          store(out, s0 + k * block, Math.min(block, rows - k * block), first + k, probability);
      }
    },
  };
  dropped.register(forest, id);
  return forest;
}

/** Waits until `n` blocks of the round are finished (the ones left are being run by workers). */
function awaitBlocks(ctrl: Int32Array, n: number): void {
  let done = Atomics.load(ctrl, 1);
  let since = performance.now();
  while (done < n) {
    Atomics.wait(ctrl, 1, done, 100);
    const now = Atomics.load(ctrl, 1);
    if (now !== done) {
      done = now;
      since = performance.now();
    } else if (performance.now() - since > STALL_MS) {
      throw new WorkerError(
        `gb predict: a worker thread stopped responding (${n - now} block(s) unfinished for ${STALL_MS / 1000} s)`,
      );
    }
  }
}
