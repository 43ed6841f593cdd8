import { Bytes, memarg, moduleBytes, Op, Type, type WasmFunction } from "./wasm.js";

/**
 * The training loops that dominate the time, histogram building and row partitioning, as
 * WebAssembly over one shared memory that holds the binned matrix, row lists and gradients.
 * Both threads instantiate the same module on the same memory. Measured against the generated
 * JavaScript kernels on the benchmark data: 1.6× (all rows) to 2× (row subsets) faster per
 * histogram update, mostly because wasm loads and stores carry no bounds checks. The JavaScript
 * kernels stay as the fallback (no WebAssembly, or data beyond a 32-bit address space).
 */

/** Byte offsets of the arrays in the shared memory. */
export interface TrainLayout {
  bins: number;
  binsCol: number;
  rows: number;
  tmp: number;
  leafOf: number;
  gh: number;
  e: number;
  y: number;
  hist: number;
  lMul: number;
  /** Bytes in use; memory pages cover this. */
  end: number;
}

/** Largest memory the wasm kernels are used for (the rest falls back to JavaScript). */
export const WASM_MAX_BYTES = 2 ** 31;

export function trainLayout(
  n: number,
  d: number,
  channels: number,
  histBytes: number,
  maxLeaves: number,
): TrainLayout {
  let at = 0;
  const take = (bytes: number): number => {
    const o = at;
    at += Math.ceil(bytes / 64) * 64; // cache-line aligned
    return o;
  };
  const bins = take(n * d);
  const binsCol = take(n * d);
  const rows = take(4 * n);
  const tmp = take(4 * n);
  const leafOf = take(4 * n);
  const gh = take(8 * n * channels);
  const e = take(8 * n);
  const y = take(8 * n);
  const hist = take(histBytes);
  const lMul = take(8 * maxLeaves);
  return { bins, binsCol, rows, tmp, leafOf, gh, e, y, hist, lMul, end: at };
}

export function pagesFor(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / 65536));
}

/**
 * hist(s, e, slot): adds rows[s..e) to the histogram at byte address `slot` (one unrolled
 * statement per feature); histDirect(s, e, slot): the same for rows s..e themselves (the root
 * without bagging); partition(s, e, col, k, nanLeft, rightLeaf) → rows going left: stable
 * partition of rows[s..e) by "bin <= k, or bin == nanLeft", rights to tmp and marked in leafOf;
 * partitionDirect: the same for rows s..e themselves, so the row list needs no reset per tree;
 * move(dst, src, bytes): memmove (TypedArray copies between views of one shared buffer take a
 * slow element-wise path in V8: 10× slower than this); update(ps, pe, …): the per-tree score and
 * gradient update of rows ps..pe, the same arithmetic as kernels.ts `updateLeavesPart` (results
 * are bit-identical).
 */
export function trainKernelBytes(
  layout: TrainLayout,
  d: number,
  stride: number,
  packed: boolean,
  regression: boolean,
): Uint8Array {
  const pages = pagesFor(layout.end);
  return moduleBytes(
    [
      histFunction("hist", layout, d, stride, packed, false),
      histFunction("histDirect", layout, d, stride, packed, true),
      partitionFunction("partition", layout, false),
      partitionFunction("partitionDirect", layout, true),
      moveFunction(),
      updateFunction(layout, packed, regression),
    ],
    pages,
    true,
  );
}

function histFunction(
  name: string,
  L: TrainLayout,
  d: number,
  stride: number,
  packed: boolean,
  direct: boolean,
): WasmFunction {
  // params: 0 s, 1 e, 2 slot; locals: 3 i, 4 r, 5 rb, 6 addr (i32), 7 g, 8 h (f64)
  const c = new Bytes();
  c.op(Op.localGet, 0, Op.localSet, 3);
  c.op(Op.block, Type.void, Op.loop, Type.void);
  c.op(Op.localGet, 3, Op.localGet, 1, Op.i32GeS, Op.brIf, 1);
  if (direct) c.op(Op.localGet, 3, Op.localSet, 4);
  else {
    c.op(Op.localGet, 3).i32(2).op(Op.i32Shl, Op.i32Load);
    memarg(c, 2, L.rows);
    c.op(Op.localSet, 4);
  }
  if (packed) {
    c.op(Op.localGet, 4).i32(3).op(Op.i32Shl, Op.f64Load);
    memarg(c, 3, L.gh);
    c.op(Op.localSet, 7);
  } else {
    c.op(Op.localGet, 4).i32(4).op(Op.i32Shl, Op.localTee, 6, Op.f64Load);
    memarg(c, 3, L.gh);
    c.op(Op.localSet, 7, Op.localGet, 6, Op.f64Load);
    memarg(c, 3, L.gh + 8);
    c.op(Op.localSet, 8);
  }
  c.op(Op.localGet, 4).i32(d).op(Op.i32Mul, Op.localSet, 5);
  const shift = packed ? 3 : 4;
  for (let f = 0; f < d; f++) {
    const off = f * stride * (packed ? 8 : 16);
    // addr = slot + (bins[r*d + f] << shift); hist[addr + off] += g (and hist[addr + off + 8] += h)
    c.op(Op.localGet, 5, Op.i32Load8u);
    memarg(c, 0, L.bins + f);
    c.i32(shift).op(Op.i32Shl, Op.localGet, 2, Op.i32Add, Op.localTee, 6);
    c.op(Op.localGet, 6, Op.f64Load);
    memarg(c, 3, off);
    c.op(Op.localGet, 7, Op.f64Add, Op.f64Store);
    memarg(c, 3, off);
    if (!packed) {
      c.op(Op.localGet, 6, Op.localGet, 6, Op.f64Load);
      memarg(c, 3, off + 8);
      c.op(Op.localGet, 8, Op.f64Add, Op.f64Store);
      memarg(c, 3, off + 8);
    }
  }
  c.op(Op.localGet, 3).i32(1).op(Op.i32Add, Op.localSet, 3);
  c.op(Op.br, 0, Op.end, Op.end);
  return {
    name,
    params: [Type.i32, Type.i32, Type.i32],
    results: [],
    locals: [
      [4, Type.i32],
      [2, Type.f64],
    ],
    body: c,
  };
}

function partitionFunction(name: string, L: TrainLayout, direct: boolean): WasmFunction {
  // params: 0 s, 1 e, 2 col (byte address of the feature's column), 3 k, 4 nanLeft (-1: none), 5 rightLeaf
  // locals: 6 i, 7 r, 8 b, 9 nl, 10 nr
  const c = new Bytes();
  c.op(Op.localGet, 0, Op.localTee, 6, Op.localTee, 9, Op.localSet, 10);
  c.op(Op.block, Type.void, Op.loop, Type.void);
  c.op(Op.localGet, 6, Op.localGet, 1, Op.i32GeS, Op.brIf, 1);
  if (direct) c.op(Op.localGet, 6);
  else {
    c.op(Op.localGet, 6).i32(2).op(Op.i32Shl, Op.i32Load);
    memarg(c, 2, L.rows);
  }
  c.op(Op.localTee, 7, Op.localGet, 2, Op.i32Add, Op.i32Load8u);
  memarg(c, 0, 0);
  c.op(Op.localTee, 8, Op.localGet, 3, Op.i32LeU);
  c.op(Op.localGet, 8, Op.localGet, 4, Op.i32Eq, Op.i32Or);
  c.op(Op.if, Type.void);
  // rows[nl++] = r
  c.op(Op.localGet, 9).i32(2).op(Op.i32Shl, Op.localGet, 7, Op.i32Store);
  memarg(c, 2, L.rows);
  c.op(Op.localGet, 9).i32(1).op(Op.i32Add, Op.localSet, 9);
  c.op(Op.else);
  // tmp[nr++] = r; leafOf[r] = rightLeaf
  c.op(Op.localGet, 10).i32(2).op(Op.i32Shl, Op.localGet, 7, Op.i32Store);
  memarg(c, 2, L.tmp);
  c.op(Op.localGet, 10).i32(1).op(Op.i32Add, Op.localSet, 10);
  c.op(Op.localGet, 7).i32(2).op(Op.i32Shl, Op.localGet, 5, Op.i32Store);
  memarg(c, 2, L.leafOf);
  c.op(Op.end);
  c.op(Op.localGet, 6).i32(1).op(Op.i32Add, Op.localSet, 6);
  c.op(Op.br, 0, Op.end, Op.end);
  c.op(Op.localGet, 9, Op.localGet, 0, Op.i32Sub);
  return {
    name,
    params: [Type.i32, Type.i32, Type.i32, Type.i32, Type.i32, Type.i32],
    results: [Type.i32],
    locals: [[5, Type.i32]],
    body: c,
  };
}

function moveFunction(): WasmFunction {
  const c = new Bytes();
  // memory.copy dst src n (bulk memory: 0xfc 10, destination and source memory 0)
  c.op(Op.localGet, 0, Op.localGet, 1, Op.localGet, 2, 0xfc, 10, 0, 0);
  return { name: "move", params: [Type.i32, Type.i32, Type.i32], results: [], locals: [], body: c };
}

/**
 * update(ps, pe, wPos, wNeg, seed, invGs, invHs, shift): for each row r, m = lMul[leafOf[r]],
 * leafOf[r] = 0, e[r] = e[r]·m (binary: e = exp(-score)) or e[r] + m (regression), then the
 * gradient and hessian as writeGrad computes them.
 */
function updateFunction(L: TrainLayout, packed: boolean, regression: boolean): WasmFunction {
  // params: 0 ps, 1 pe (i32), 2 wPos, 3 wNeg (f64), 4 seed (i32), 5 invGs, 6 invHs, 7 shift (f64)
  // locals: 8 r, 9 x (i32); 10 ev, 11 pr, 12 y, 13 w, 14 g, 15 h (f64)
  const c = new Bytes();
  const R4 = (): void => {
    c.op(Op.localGet, 8).i32(2).op(Op.i32Shl);
  };
  const R8 = (): void => {
    c.op(Op.localGet, 8).i32(3).op(Op.i32Shl);
  };
  c.op(Op.localGet, 0, Op.localSet, 8);
  c.op(Op.block, Type.void, Op.loop, Type.void);
  c.op(Op.localGet, 8, Op.localGet, 1, Op.i32GeS, Op.brIf, 1);
  // ev = e[r] (*|+) lMul[leafOf[r]]
  R8();
  R8();
  c.op(Op.f64Load);
  memarg(c, 3, L.e);
  R4();
  c.op(Op.i32Load);
  memarg(c, 2, L.leafOf);
  c.i32(3).op(Op.i32Shl, Op.f64Load);
  memarg(c, 3, L.lMul);
  c.op(regression ? Op.f64Add : Op.f64Mul, Op.localTee, 10, Op.f64Store);
  memarg(c, 3, L.e);
  // leafOf[r] = 0
  R4();
  c.i32(0).op(Op.i32Store);
  memarg(c, 2, L.leafOf);
  // y
  R8();
  c.op(Op.f64Load);
  memarg(c, 3, L.y);
  c.op(Op.localSet, 12);
  if (regression) {
    c.op(Op.localGet, 10, Op.localGet, 12, Op.f64Sub, Op.localSet, 14);
    c.f64(1).op(Op.localSet, 15);
  } else {
    // pr = 1 / (1 + ev); w = y > 0.5 ? wPos : wNeg; g = (pr - y) * w; h = max(pr (1 - pr), 1e-16) * w
    c.f64(1).f64(1).op(Op.localGet, 10, Op.f64Add, Op.f64Div, Op.localSet, 11);
    c.op(Op.localGet, 2, Op.localGet, 3, Op.localGet, 12).f64(0.5).op(Op.f64Gt, Op.select, Op.localSet, 13);
    c.op(Op.localGet, 11, Op.localGet, 12, Op.f64Sub, Op.localGet, 13, Op.f64Mul, Op.localSet, 14);
    c.op(Op.localGet, 11).f64(1).op(Op.localGet, 11, Op.f64Sub, Op.f64Mul).f64(1e-16).op(Op.f64Max);
    c.op(Op.localGet, 13, Op.f64Mul, Op.localSet, 15);
  }
  if (!packed) {
    c.op(Op.localGet, 8).i32(4).op(Op.i32Shl, Op.localGet, 14, Op.f64Store);
    memarg(c, 3, L.gh);
    c.op(Op.localGet, 8).i32(4).op(Op.i32Shl, Op.localGet, 15, Op.f64Store);
    memarg(c, 3, L.gh + 8);
  } else {
    // x = hash(r, seed), as writeGrad
    c.op(Op.localGet, 8)
      .i32(0x9e3779b1 | 0)
      .op(Op.i32Mul, Op.localGet, 4, Op.i32Xor, Op.localSet, 9);
    c.op(Op.localGet, 9, Op.localGet, 9)
      .i32(16)
      .op(Op.i32ShrU, Op.i32Xor)
      .i32(0x85ebca6b | 0)
      .op(Op.i32Mul);
    c.op(Op.localSet, 9);
    c.op(Op.localGet, 9, Op.localGet, 9)
      .i32(13)
      .op(Op.i32ShrU, Op.i32Xor)
      .i32(0xc2b2ae35 | 0)
      .op(Op.i32Mul);
    c.op(Op.localSet, 9);
    c.op(Op.localGet, 9, Op.localGet, 9).i32(16).op(Op.i32ShrU, Op.i32Xor, Op.localSet, 9);
    // gh[r] = floor(g·invGs + (x & 0xffff) / 65536) · shift + floor(h·invHs + (x >>> 16) / 65536)
    R8();
    c.op(Op.localGet, 14, Op.localGet, 5, Op.f64Mul, Op.localGet, 9)
      .i32(0xffff)
      .op(Op.i32And, Op.f64ConvertI32U);
    c.f64(65536).op(Op.f64Div, Op.f64Add, Op.f64Floor, Op.localGet, 7, Op.f64Mul);
    c.op(Op.localGet, 15, Op.localGet, 6, Op.f64Mul, Op.localGet, 9)
      .i32(16)
      .op(Op.i32ShrU, Op.f64ConvertI32U);
    c.f64(65536).op(Op.f64Div, Op.f64Add, Op.f64Floor, Op.f64Add, Op.f64Store);
    memarg(c, 3, L.gh);
  }
  c.op(Op.localGet, 8).i32(1).op(Op.i32Add, Op.localSet, 8);
  c.op(Op.br, 0, Op.end, Op.end);
  return {
    name: "update",
    params: [Type.i32, Type.i32, Type.f64, Type.f64, Type.i32, Type.f64, Type.f64, Type.f64],
    results: [],
    locals: [
      [2, Type.i32],
      [6, Type.f64],
    ],
    body: c,
  };
}
