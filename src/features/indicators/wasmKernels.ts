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
import { type ColumnArena, currentArena, SCRATCH_BYTES } from "./arena.js";
import { CHUNK_ROWS, TA_EPSILON } from "./indicatorKit.js";

/**
 * The hottest indicator loops as generated WebAssembly. A JavaScript kernel runs once per column,
 * so in a fresh process each kernel spends its first tens of thousands of rows in V8's
 * interpreter and baseline code, its doubles boxed on the heap, until the optimising compiler's
 * code arrives: 4–6 ms per kernel over a year of minutes, 5–14 ms for the first STDDEV. A wasm
 * module is compiled before its first call (baseline code, doubles unboxed) and tiered up in the
 * background.
 *
 * The kernels work one chunk of rows at a time. During a feature run the columns live in the run's
 * arena (arena.ts), a WebAssembly memory the kernels read and write in place; a column elsewhere
 * has its chunk copied into a buffer at the start of the memory (and an output's copied out): tens
 * of KB that stay in cache. Outside a run the kernels use a small memory of their own that way.
 * Each kernel does its JavaScript twin's operations in the same order, so the numbers are the same
 * to the bit (test/features/wasmKernels.test.ts runs both on real candles). The twins stay: they
 * run where there is no WebAssembly (node --jitless) and for windows longer than MAX_LOOKBACK.
 */

/** The most rows before a chunk that a kernel's window may reach (longer windows run the JavaScript twin). */
export const MAX_LOOKBACK = CHUNK_ROWS;

const IN_ROWS = MAX_LOOKBACK + CHUNK_ROWS;
/** Byte offsets: the state (kernels' running values between chunks), inputs, outputs. */
const STATE = 0;
const STATE_SLOTS = 8;
const IN = [64, 64 + 8 * IN_ROWS, 64 + 16 * IN_ROWS] as const;
const OUT0 = 64 + 24 * IN_ROWS;
const OUT = [OUT0, OUT0 + 8 * CHUNK_ROWS, OUT0 + 16 * CHUNK_ROWS] as const;
const END = OUT0 + 24 * CHUNK_ROWS;
if (END > SCRATCH_BYTES) throw new Error("wasm kernels: the chunk buffers outgrow the arena's scratch space");

/**
 * A kernel's signature: rows in the chunk, rows before it in the inputs, up to three constants,
 * then the byte addresses of inputs 0–2 (the chunk's first row less lb) and outputs 0–2 (its first row).
 */
type KernelFn = (
  count: number,
  lb: number,
  a: number,
  b: number,
  c: number,
  in0: number,
  in1: number,
  in2: number,
  out0: number,
  out1: number,
  out2: number,
) => void;

const NAMES = [
  "sum",
  "variance",
  "stddev",
  "bbandsSma",
  "rsi",
  "cmo",
  "obv",
  "atr",
  "natr",
  "ema",
  "linreg",
  "linregIntercept",
  "linregSlope",
  "tsf",
  "mom",
] as const;
export type KernelName = (typeof NAMES)[number];

/** The running values each kernel keeps between chunks (the `st` its callers pass has this length). */
const STATE_SLOTS_OF: Record<KernelName, number> = {
  sum: 1,
  variance: 2,
  stddev: 2,
  bbandsSma: 2,
  rsi: 3,
  cmo: 3,
  obv: 2,
  atr: 1,
  natr: 1,
  ema: 1,
  linreg: 7,
  linregIntercept: 7,
  linregSlope: 7,
  tsf: 7,
  mom: 0,
};
if (Math.max(...Object.values(STATE_SLOTS_OF)) > STATE_SLOTS)
  throw new Error("wasm kernels: state outgrows its slots");

interface Kernels {
  fns: Record<KernelName, KernelFn>;
  f64: Float64Array;
}

let module: object | null | undefined;
let kernels: Kernels | null | undefined;
const arenaKernels = new WeakMap<ColumnArena, Kernels>();
let enabled = true;
let runs = 0;

/** Kernel runs in this thread so far (a test's proof that a path went through wasm). */
export function wasmKernelRuns(): number {
  return runs;
}

/** Turns the wasm kernels off (true: back on) in this thread, so tests can run the JavaScript twins. */
export function useWasmKernels(on: boolean): void {
  enabled = on;
}

/** The compiled kernels (once per thread), or null where the runtime has no WebAssembly. */
function compiled(): object | null {
  if (module !== undefined) return module;
  const api = wasmApi();
  module = api === undefined ? null : new api.Module(moduleBytes(NAMES.map(kernelFunction), 1, true, 32768));
  return module;
}

function instantiate(mem: WasmMemory): Kernels | null {
  const api = wasmApi();
  const mod = compiled();
  if (api === undefined || mod === null) return null;
  const inst = new api.Instance(mod, { env: { mem } });
  return { fns: inst.exports as unknown as Record<KernelName, KernelFn>, f64: new Float64Array(mem.buffer) };
}

/** The kernels over the current run's arena, else over this thread's small memory; null where there are none. */
function get(arena: ColumnArena | undefined): Kernels | null {
  if (!enabled) return null;
  if (arena !== undefined) {
    let k = arenaKernels.get(arena);
    if (k === undefined) {
      k = instantiate(arena.memory) ?? undefined;
      if (k === undefined) return null;
      arenaKernels.set(arena, k);
    }
    return k;
  }
  if (kernels !== undefined) return kernels;
  const api = wasmApi();
  const pages = Math.ceil(END / 65536);
  kernels =
    api === undefined ? null : instantiate(new api.Memory({ initial: pages, maximum: pages, shared: true }));
  return kernels;
}

/**
 * Runs kernel `name` over rows [from, n) of `inputs` (n: their length), writing the same rows of
 * `outputs`. The kernel sees, per input, the chunk's rows and the `lb` rows before them; `st` holds
 * its running values going in and gets them back at the end. Returns false, having written
 * nothing, when the kernels cannot run here (the caller runs the JavaScript twin).
 */
export function runKernel(
  name: KernelName,
  inputs: readonly Float64Array[],
  outputs: readonly Float64Array[],
  from: number,
  lb: number,
  st: Float64Array,
  a = 0,
  b = 0,
  c = 0,
): boolean {
  if (st.length !== STATE_SLOTS_OF[name]) {
    throw new Error(`wasm kernel ${name}: ${st.length} state values given, it keeps ${STATE_SLOTS_OF[name]}`);
  }
  if (lb > MAX_LOOKBACK || from < lb) return false;
  const arena = currentArena();
  const k = get(arena);
  if (k === null) return false;
  const { f64 } = k;
  const fn = k.fns[name];
  const n = (inputs[0] as Float64Array).length;
  if (from < n) runs++;
  // Per input and output: its own address when it lives in the arena, else -1 (copied through a buffer).
  const inAt = [-1, -1, -1];
  const outAt = [-1, -1, -1];
  inputs.forEach((x, j) => {
    if (arena?.holds(x)) inAt[j] = x.byteOffset;
  });
  outputs.forEach((x, j) => {
    if (arena?.holds(x)) outAt[j] = x.byteOffset;
  });
  f64.set(st, STATE / 8);
  for (let i0 = from; i0 < n; i0 += CHUNK_ROWS) {
    const i1 = Math.min(n, i0 + CHUNK_ROWS);
    for (let j = 0; j < inputs.length; j++)
      if ((inAt[j] as number) < 0)
        f64.set((inputs[j] as Float64Array).subarray(i0 - lb, i1), (IN[j] as number) / 8);
    fn(
      i1 - i0,
      lb,
      a,
      b,
      c,
      addressOf(inAt[0] as number, IN[0], i0 - lb),
      addressOf(inAt[1] as number, IN[1], i0 - lb),
      addressOf(inAt[2] as number, IN[2], i0 - lb),
      addressOf(outAt[0] as number, OUT[0], i0),
      addressOf(outAt[1] as number, OUT[1], i0),
      addressOf(outAt[2] as number, OUT[2], i0),
    );
    for (let j = 0; j < outputs.length; j++) {
      if ((outAt[j] as number) >= 0) continue;
      const o = (OUT[j] as number) / 8;
      (outputs[j] as Float64Array).set(f64.subarray(o, o + (i1 - i0)), i0);
    }
  }
  st.set(f64.subarray(STATE / 8, STATE / 8 + st.length));
  return true;
}

/** Row `row`'s byte address in a column at `column` (−1: copied through `buffer`, which holds the chunk). */
function addressOf(column: number, buffer: number, row: number): number {
  return column < 0 ? buffer : column + 8 * row;
}

// ---------------------------------------------------------------------------------------------
// Code generation

/**
 * Locals every kernel has: params count (0), lb (1), a (2), b (3), c (4), the input addresses
 * (5–7) and output addresses (8–10); p, q, end; then f64s.
 */
const L = { count: 0, lb: 1, a: 2, b: 3, c: 4, in: 5, out: 8, p: 11, q: 12, end: 13, f: 14 } as const;
/** Named f64 locals after the fixed ones: state values first, then temporaries. */
const F64_LOCALS = 8;
/** One more i32 and one more f64 local, for a kernel's inner loop. */
const X_I32 = L.f + F64_LOCALS;
const X_F64 = X_I32 + 1;

/**
 * The loop every kernel shares. p is the byte offset of the chunk's k-th row in an output (and of
 * row k − lb's in an input: the oldest row the window reaches), q = p + 8·lb that of the k-th row
 * in an input. `state` f64 locals are loaded from the state slots before the loop and stored
 * after it.
 */
function kernel(name: KernelName, body: (c: Asm) => void): WasmFunction {
  const state = STATE_SLOTS_OF[name];
  const c = new Asm();
  c.op(Op.localGet, L.lb).i32(3).op(Op.i32Shl, Op.localSet, L.q);
  c.op(Op.localGet, L.count).i32(3).op(Op.i32Shl, Op.localSet, L.end);
  for (let s = 0; s < state; s++) {
    c.i32(0).op(Op.f64Load);
    memarg(c, 3, STATE + 8 * s);
    c.op(Op.localSet, L.f + s);
  }
  c.op(Op.block, Type.void, Op.loop, Type.void);
  c.op(Op.localGet, L.p, Op.localGet, L.end, Op.i32GeU, Op.brIf, 1);
  body(c);
  c.op(Op.localGet, L.p).i32(8).op(Op.i32Add, Op.localSet, L.p);
  c.op(Op.localGet, L.q).i32(8).op(Op.i32Add, Op.localSet, L.q);
  c.op(Op.br, 0, Op.end, Op.end);
  for (let s = 0; s < state; s++) {
    c.i32(0).op(Op.localGet, L.f + s, Op.f64Store);
    memarg(c, 3, STATE + 8 * s);
  }
  return {
    name,
    params: [Type.i32, Type.i32, Type.f64, Type.f64, Type.f64, ...Array<number>(6).fill(Type.i32)],
    results: [],
    locals: [
      [3, Type.i32],
      [F64_LOCALS, Type.f64],
      [1, Type.i32],
      [1, Type.f64],
    ],
    body: c,
  };
}

/** Bytes with the few stack idioms the kernels repeat. */
class Asm extends Bytes {
  /** Pushes f64 local `i` (0-based after the fixed locals). */
  get(i: number): this {
    return this.op(Op.localGet, L.f + i);
  }
  set(i: number): this {
    return this.op(Op.localSet, L.f + i);
  }
  param(i: number): this {
    return this.op(Op.localGet, i);
  }
  /** Pushes input j's value at the current row. */
  cur(j: number): this {
    return this.at(L.in + j, L.q);
  }
  /** Pushes input j's value at the window's oldest row (lb rows back). */
  old(j: number): this {
    return this.at(L.in + j, L.p);
  }
  /** Pushes the double at address local `base` + local `offset`. */
  at(base: number, offset: number): this {
    this.op(Op.localGet, base, Op.localGet, offset, Op.i32Add, Op.f64Load);
    memarg(this, 3, 0);
    return this;
  }
  /** Stores the value `push` leaves on the stack into output j at the current row. */
  out(j: number, push: () => void): this {
    this.op(Op.localGet, L.out + j, Op.localGet, L.p, Op.i32Add);
    push();
    this.op(Op.f64Store);
    memarg(this, 3, 0);
    return this;
  }
  /** Pushes 1 when the f64 on the stack is within TA_EPSILON of zero (TA-Lib's TA_IS_ZERO); reads it from local i. */
  isZero(i: number): this {
    this.f64(-TA_EPSILON).get(i).op(Op.f64Lt);
    this.get(i).f64(TA_EPSILON).op(Op.f64Lt, Op.i32And);
    return this;
  }
}

function kernelFunction(name: KernelName): WasmFunction {
  switch (name) {
    case "sum":
      // total += x[i]; out = total / a (the divisor); total -= x[i - lb]
      return kernel(name, (c) => {
        c.get(0).cur(0).op(Op.f64Add).set(0);
        c.out(0, () => c.get(0).param(L.a).op(Op.f64Div));
        c.get(0).old(0).op(Op.f64Sub).set(0);
      });
    case "variance":
    case "stddev":
      // statistic.ts varChunk (a = period) and, for stddev, sqrtVar (b = nbdev)
      return kernel(name, (c) => {
        const v = windowVariance(c);
        if (name === "variance") c.out(0, () => c.get(v));
        else c.out(0, () => sqrtVar(c, v, () => c.param(L.b)));
      });
    case "bbandsSma":
      // overlap.ts bbandsSmaChunk: a = period, b = nbdevup, c = nbdevdn; outputs upper, middle, lower
      return kernel(name, (c) => {
        const mean2 = windowVariance(c);
        const [m, s] = [3, 5];
        sqrtVar(c, mean2, undefined);
        c.set(s);
        c.out(1, () => c.get(m));
        c.out(0, () => c.get(m).get(s).param(L.b).op(Op.f64Mul, Op.f64Add));
        c.out(2, () => c.get(m).get(s).param(L.c).op(Op.f64Mul, Op.f64Sub));
      });
    case "rsi":
    case "cmo":
      // oscillators.ts rsiChunk / cmoChunk: a = period; state prev, gain, loss
      return kernel(name, (c) => {
        const [prev, gain, loss, v, d, sum, pm1] = [0, 1, 2, 3, 4, 5, 6];
        c.param(L.a).f64(1).op(Op.f64Sub).set(pm1);
        c.cur(0).set(v);
        c.get(v).get(prev).op(Op.f64Sub).set(d);
        c.get(v).set(prev);
        c.get(loss).get(pm1).op(Op.f64Mul).set(loss);
        c.get(gain).get(pm1).op(Op.f64Mul).set(gain);
        c.get(d).f64(0).op(Op.f64Lt, Op.if, Type.void);
        c.get(loss).get(d).op(Op.f64Sub).set(loss);
        c.op(Op.else);
        c.get(gain).get(d).op(Op.f64Add).set(gain);
        c.op(Op.end);
        c.get(loss).param(L.a).op(Op.f64Div).set(loss);
        c.get(gain).param(L.a).op(Op.f64Div).set(gain);
        c.get(gain).get(loss).op(Op.f64Add).set(sum);
        c.out(0, () => {
          c.f64(0);
          c.f64(100);
          if (name === "rsi") c.get(gain);
          else c.get(gain).get(loss).op(Op.f64Sub);
          c.get(sum).op(Op.f64Div, Op.f64Mul);
          c.isZero(sum).op(Op.select);
        });
      });
    case "obv":
      // volume.ts obvChunk: inputs real, volume; state prevOBV, prevReal
      return kernel(name, (c) => {
        const [obv, prevReal, v, dir, t] = [0, 1, 2, 3, 4];
        c.cur(0).set(v);
        c.get(v).get(prevReal).op(Op.f64Gt);
        c.get(v).get(prevReal).op(Op.f64Lt, Op.i32Sub, Op.f64ConvertI32S).set(dir);
        c.get(dir).cur(1).op(Op.f64Mul).set(t);
        // t unless it is NaN; then 0 for an unchanged bar, else t
        c.get(obv);
        c.get(t);
        c.f64(0).get(t).get(dir).f64(0).op(Op.f64Eq, Op.select);
        c.get(t).get(t).op(Op.f64Eq, Op.select);
        c.op(Op.f64Add).set(obv);
        c.out(0, () => c.get(obv));
        c.get(v).set(prevReal);
      });
    case "atr":
    case "natr":
      // volatility.ts atrChunk: inputs high, low, close with lb 1 (the previous close); a = period
      return kernel(name, (c) => {
        const [atr, h, l, yc, tr, t, cl] = [0, 1, 2, 3, 4, 5, 6];
        c.cur(0).set(h);
        c.cur(1).set(l);
        c.old(2).set(yc);
        c.get(h).get(l).op(Op.f64Sub).set(tr);
        c.get(h).get(yc).op(Op.f64Sub, Op.f64Abs).set(t);
        c.get(t).get(tr).get(t).get(tr).op(Op.f64Gt, Op.select).set(tr);
        c.get(l).get(yc).op(Op.f64Sub, Op.f64Abs).set(t);
        c.get(t).get(tr).get(t).get(tr).op(Op.f64Gt, Op.select).set(tr);
        c.get(atr).param(L.a).f64(1).op(Op.f64Sub, Op.f64Mul).set(atr);
        c.get(atr).get(tr).op(Op.f64Add).set(atr);
        c.get(atr).param(L.a).op(Op.f64Div).set(atr);
        if (name === "atr") c.out(0, () => c.get(atr));
        else {
          c.cur(2).set(cl);
          c.out(0, () => {
            c.f64(0);
            c.get(atr).get(cl).op(Op.f64Div).f64(100).op(Op.f64Mul);
            c.isZero(cl).op(Op.select);
          });
        }
      });
    case "linreg":
    case "linregIntercept":
    case "linregSlope":
    case "tsf":
      return linregKernel(name);
    case "mom":
      // momentumPrice.ts MOM: x[i] − x[i − p], inputs with lb = p
      return kernel(name, (c) => {
        c.out(0, () => c.cur(0).old(0).op(Op.f64Sub));
      });
    case "ema":
      // ma.ts emaChunk: a = k
      return kernel(name, (c) => {
        c.cur(0).get(0).op(Op.f64Sub).param(L.a).op(Op.f64Mul).get(0).op(Op.f64Add).set(0);
        c.out(0, () => c.get(0));
      });
  }
}

/**
 * statistic.ts linregChunk after the first bar: a = period, inputs with lb = period (the leaving
 * value). State: anchor c, ΣD, ΣxD, bars until the next scheduled recomputation (the twin keeps
 * that bar's index), and the constants sumX, divisor, shift.
 */
function linregKernel(name: "linreg" | "linregIntercept" | "linregSlope" | "tsf"): WasmFunction {
  const [c0, sumD, sumXD, left, sumX, divisor, shift, d] = [0, 1, 2, 3, 4, 5, 6, 7];
  return kernel(name, (c) => {
    // if (left == 0 || ΣD is NaN): exact sums anchored at the newest value, oldest first
    c.get(left).f64(0).op(Op.f64Eq);
    c.get(sumD).get(sumD).op(Op.f64Ne, Op.i32Or, Op.if, Type.void);
    c.get(left).f64(0).op(Op.f64Eq, Op.if, Type.void);
    c.get(left).param(L.a).f64(4).op(Op.f64Mul, Op.f64Add).set(left); // reanchorEvery(p) = 4p
    c.op(Op.end);
    c.cur(0).set(c0);
    c.f64(0).set(sumD);
    c.f64(0).set(sumXD);
    // age (f64) from p − 1 down to 0 over the byte offsets p + 8 .. q of the input (rows today − lb .. today)
    c.param(L.a).f64(1).op(Op.f64Sub).set(d); // d holds the age until the loop's value is read
    c.op(Op.localGet, L.p).i32(8).op(Op.i32Add, Op.localSet, X_I32);
    c.op(Op.block, Type.void, Op.loop, Type.void);
    c.op(Op.localGet, X_I32, Op.localGet, L.q, Op.i32GtU, Op.brIf, 1);
    // value − c, summed; age · (value − c) into ΣxD (age kept in the stack's order: ΣxD + age·dv)
    c.get(sumXD).get(d);
    c.at(L.in, X_I32);
    c.get(c0).op(Op.f64Sub, Op.localTee, X_F64);
    c.op(Op.f64Mul, Op.f64Add).set(sumXD);
    c.get(sumD).op(Op.localGet, X_F64, Op.f64Add).set(sumD);
    c.get(d).f64(1).op(Op.f64Sub).set(d);
    c.op(Op.localGet, X_I32).i32(8).op(Op.i32Add, Op.localSet, X_I32);
    c.op(Op.br, 0, Op.end, Op.end);
    c.op(Op.else);
    // old = x[today − p] − c; ΣxD += ΣD − p·old; ΣD += x[today] − c − old
    c.old(0).get(c0).op(Op.f64Sub).set(d);
    c.get(sumXD).get(sumD).param(L.a).get(d).op(Op.f64Mul, Op.f64Sub, Op.f64Add).set(sumXD);
    c.get(sumD).cur(0).get(c0).op(Op.f64Sub).get(d).op(Op.f64Sub, Op.f64Add).set(sumD);
    c.op(Op.end);
    c.get(left).f64(1).op(Op.f64Sub).set(left);
    // m = (p·ΣxD − sumX·ΣD + c·shift) / divisor, then the kind's value (linregFromDeviations)
    c.param(L.a).get(sumXD).op(Op.f64Mul).get(sumX).get(sumD).op(Op.f64Mul, Op.f64Sub);
    c.get(c0).get(shift).op(Op.f64Mul, Op.f64Add).get(divisor).op(Op.f64Div).set(d);
    c.out(0, () => {
      if (name === "linregSlope") {
        c.get(d);
        return;
      }
      // (ΣD + p·c − m·sumX) / p
      c.get(sumD).param(L.a).get(c0).op(Op.f64Mul, Op.f64Add).get(d).get(sumX).op(Op.f64Mul, Op.f64Sub);
      c.param(L.a).op(Op.f64Div);
      if (name === "linreg") c.get(d).param(L.a).f64(1).op(Op.f64Sub, Op.f64Mul, Op.f64Add);
      else if (name === "tsf") c.get(d).param(L.a).op(Op.f64Mul, Op.f64Add);
    });
  });
}

/**
 * The window's running sums (state locals 0 and 1) moved on by one row, in the order of
 * statistic.ts varChunk and overlap.ts bbandsSmaChunk (which are the same): the sums gain the
 * current value and its square, the means are taken (the mean in local 3), the sums lose the
 * oldest value and its square. Returns the local (2) holding mean of squares − squared mean.
 */
function windowVariance(c: Asm): number {
  const [total, total2, v, mean, mean2, old] = [0, 1, 2, 3, 4, 5];
  c.cur(0).set(v);
  c.get(total).get(v).op(Op.f64Add).set(total);
  c.get(total2).get(v).get(v).op(Op.f64Mul, Op.f64Add).set(total2);
  c.get(total).param(L.a).op(Op.f64Div).set(mean);
  c.get(total2).param(L.a).op(Op.f64Div).set(mean2);
  c.old(0).set(old);
  c.get(total).get(old).op(Op.f64Sub).set(total);
  c.get(total2).get(old).get(old).op(Op.f64Mul, Op.f64Sub).set(total2);
  c.get(mean2).get(mean).get(mean).op(Op.f64Mul, Op.f64Sub).set(v);
  return v;
}

/** Pushes sqrtVar(local v, nbdev): 0 below TA_EPSILON, else √v (times nbdev when given). */
function sqrtVar(c: Asm, v: number, nbdev: (() => void) | undefined): void {
  c.f64(0);
  c.get(v).op(Op.f64Sqrt);
  if (nbdev) {
    nbdev();
    c.op(Op.f64Mul);
  }
  c.get(v).f64(TA_EPSILON).op(Op.f64Lt, Op.select);
}
