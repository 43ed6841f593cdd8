import { Bytes, memarg, moduleBytes, Op, Type, type WasmFunction } from "../../core/wasm.js";

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
  /** Per feature: its missing-value bin (= its number of numeric bins), int32. */
  nanBin: number;
  /** Features the current tree may split on, int32. */
  feats: number;
  /** Per leaf: the raw best split found by the split search (SPLIT_OUT doubles). */
  splitOut: number;
  /**
   * The tree being grown, five int32 arrays of maxLeaves: per internal node its feature, bin,
   * default-left, left and right child (a child < 0 is leaf ~child).
   */
  treeFeat: number;
  treeBin: number;
  treeDl: number;
  treeLeft: number;
  treeRight: number;
  /** The tree arrays' length (num_leaves). */
  maxLeaves: number;
  /** Bytes in use; memory pages cover this. */
  end: number;
}

/**
 * Doubles per leaf in the split search's output: best left+right score, feature (-1: none),
 * bin, default-left, left G, left H, whether the leaf had missing values (0/1).
 */
export const SPLIT_OUT = 8;

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
  const nanBin = take(4 * d);
  const feats = take(4 * d);
  const splitOut = take(8 * SPLIT_OUT * maxLeaves);
  const treeFeat = take(4 * maxLeaves);
  const treeBin = take(4 * maxLeaves);
  const treeDl = take(4 * maxLeaves);
  const treeLeft = take(4 * maxLeaves);
  const treeRight = take(4 * maxLeaves);
  return {
    bins,
    binsCol,
    rows,
    tmp,
    leafOf,
    gh,
    e,
    y,
    hist,
    lMul,
    nanBin,
    feats,
    splitOut,
    treeFeat,
    treeBin,
    treeDl,
    treeLeft,
    treeRight,
    maxLeaves,
    end: at,
  };
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
 * are bit-identical); histSub(dst, src, bytes) / histAdd: dst[i] −= / += src[i] over doubles (a
 * larger child from its parent, the parts of a parallel histogram); zero(dst, bytes);
 * split(...): the split search of kernels.ts `bestSplit` over one leaf's histogram, the same
 * arithmetic in the same order, its raw result at `out` (SPLIT_OUT doubles); leaves(ps, pe,
 * internal): each row's leaf in the tree by traversal (kernels.ts `leafOfRow`) into leafOf, for
 * the rows no partition placed (outside the bag, validation rows).
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
      histCombineFunction("histSub", Op.f64Sub),
      histCombineFunction("histAdd", Op.f64Add),
      zeroFunction(),
      splitFunction(layout, stride, packed),
      leavesFunction(layout, d),
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
 * leaves(ps, pe, internal): leafOf[r] = the leaf row r reaches in the tree (0 when it has no
 * internal node), for r in [ps, pe): at each node, left when bin <= the node's bin, or when the
 * bin is the feature's missing-value bin and the node sends missing values left; as leafOfRow.
 */
function leavesFunction(L: TrainLayout, d: number): WasmFunction {
  // params: 0 ps, 1 pe, 2 internal; locals: 3 r, 4 node, 5 f, 6 b, 7 next (i32)
  const c = new Bytes();
  // array[node] for one of the tree's arrays (a byte offset of the layout)
  const nodeLoad = (array: number): void => {
    c.op(Op.localGet, 4).i32(2).op(Op.i32Shl, Op.i32Load);
    memarg(c, 2, array);
  };
  c.op(Op.localGet, 0, Op.localSet, 3);
  c.op(Op.block, Type.void, Op.loop, Type.void);
  c.op(Op.localGet, 3, Op.localGet, 1, Op.i32GeS, Op.brIf, 1);
  c.i32(0).op(Op.localSet, 4);
  c.i32(-1).op(Op.localSet, 7);
  c.op(Op.localGet, 2, Op.if, Type.void);
  c.op(Op.block, Type.void, Op.loop, Type.void);
  // f = feature[node]; b = bins[r·d + f]
  nodeLoad(L.treeFeat);
  c.op(Op.localSet, 5);
  c.op(Op.localGet, 3).i32(d).op(Op.i32Mul, Op.localGet, 5, Op.i32Add, Op.i32Load8u);
  memarg(c, 0, L.bins);
  c.op(Op.localSet, 6);
  // next = (b <= bin[node]) | (b == nanBin[f] & defaultLeft[node]) ? left[node] : right[node],
  // as a branch: consecutive candles mostly take the same path, so the branch predictor runs
  // ahead instead of each level's loads waiting for the last level's choice
  c.op(Op.localGet, 6);
  nodeLoad(L.treeBin);
  c.op(Op.i32LeU, Op.localGet, 6, Op.localGet, 5).i32(2).op(Op.i32Shl, Op.i32Load);
  memarg(c, 2, L.nanBin);
  c.op(Op.i32Eq);
  nodeLoad(L.treeDl);
  c.op(Op.i32And, Op.i32Or, Op.if, Type.void);
  nodeLoad(L.treeLeft);
  c.op(Op.localSet, 7, Op.else);
  nodeLoad(L.treeRight);
  c.op(Op.localSet, 7, Op.end);
  c.op(Op.localGet, 7);
  c.i32(0).op(Op.i32LtS, Op.brIf, 1);
  c.op(Op.localGet, 7, Op.localSet, 4, Op.br, 0, Op.end, Op.end);
  c.op(Op.end);
  // leafOf[r] = ~next
  c.op(Op.localGet, 3).i32(2).op(Op.i32Shl, Op.localGet, 7).i32(-1).op(Op.i32Xor, Op.i32Store);
  memarg(c, 2, L.leafOf);
  c.op(Op.localGet, 3).i32(1).op(Op.i32Add, Op.localSet, 3);
  c.op(Op.br, 0, Op.end, Op.end);
  return {
    name: "leaves",
    params: [Type.i32, Type.i32, Type.i32],
    results: [],
    locals: [[5, Type.i32]],
    body: c,
  };
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
    // max(q, 1e-16) for q = pr (1 - pr): q is never NaN nor -0 (pr is in [0, 1]), so a compare
    // and select gives max's double; wasm's f64.max (NaN and signed-zero rules) costs ~10 % of
    // the update.
    c.op(Op.localGet, 11).f64(1).op(Op.localGet, 11, Op.f64Sub, Op.f64Mul, Op.localTee, 15).f64(1e-16);
    c.op(Op.localGet, 15).f64(1e-16).op(Op.f64Gt, Op.select);
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

/** dst[i] = dst[i] (op) src[i] for the doubles of [dst, dst + bytes). */
function histCombineFunction(name: string, op: number): WasmFunction {
  // params: 0 dst, 1 src, 2 bytes; locals: 3 i (byte offset)
  const c = new Bytes();
  c.op(Op.block, Type.void, Op.loop, Type.void);
  c.op(Op.localGet, 3, Op.localGet, 2, Op.i32GeU, Op.brIf, 1);
  c.op(Op.localGet, 0, Op.localGet, 3, Op.i32Add);
  c.op(Op.localGet, 0, Op.localGet, 3, Op.i32Add, Op.f64Load);
  memarg(c, 3, 0);
  c.op(Op.localGet, 1, Op.localGet, 3, Op.i32Add, Op.f64Load);
  memarg(c, 3, 0);
  c.op(op, Op.f64Store);
  memarg(c, 3, 0);
  c.op(Op.localGet, 3).i32(8).op(Op.i32Add, Op.localSet, 3);
  c.op(Op.br, 0, Op.end, Op.end);
  return { name, params: [Type.i32, Type.i32, Type.i32], results: [], locals: [[1, Type.i32]], body: c };
}

function zeroFunction(): WasmFunction {
  const c = new Bytes();
  // memory.fill dst 0 n (bulk memory: 0xfc 11, memory 0)
  c.op(Op.localGet, 0).i32(0).op(Op.localGet, 1, 0xfc, 11, 0);
  return { name: "zero", params: [Type.i32, Type.i32], results: [], locals: [], body: c };
}

/**
 * split(base, nFeats, out, G, H, cnt, cntFactor, l1, l2, minData, minHess, S, invS, gs, hs):
 * kernels.ts `bestSplit`'s search over the histogram at byte address `base` for the features
 * in feats[0..nFeats), each operation as there (wasm has no fused multiply-add, so the doubles
 * are the same). Leaves best, feature, bin, default-left, left G, left H, had-missing at `out`.
 */
function splitFunction(L: TrainLayout, stride: number, packed: boolean): WasmFunction {
  // params: 0 base, 1 nFeats, 2 out (i32); 3 G, 4 H, 5 cnt, 6 cntFactor, 7 l1, 8 l2, 9 minData,
  // 10 minHess, 11 S, 12 invS, 13 gs, 14 hs (f64)
  const [BASE, NFEATS, OUT] = [0, 1, 2];
  const [G, H, CNT, CF, L1, L2, MD, MH, S, INVS, GS, HS] = [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14];
  // i32 locals: 15 fi, 16 f, 17 B, 18 o (byte address of the feature's bin 0), 19 k, 20 hasNan,
  // 21 bFeat, 22 bBin, 23 bDl, 24 bNan, 25 last (k = B − 1)
  const [FI, F, B, O, K, HASNAN, BFEAT, BBIN, BDL, BNAN, LAST] = [15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25];
  // f64 locals: 26 nanG, 27 nanH, 28 gl, 29 hl, 30 g, 31 h, 32 hr, 33 lc, 34 gain, 35 best,
  // 36 bLg, 37 bLh, 38 lg, 39 lh, 40 a (score scratch), 41 pv
  const [NANG, NANH, GL, HL, GG, HH, HR, LC, GAIN, BEST, BLG, BLH, LG, LH, A, PV] = [
    26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41,
  ];
  const c = new Bytes();
  const get = (...locals: number[]): void => {
    for (const l of locals) c.op(Op.localGet, l);
  };
  // leafScore(g, h, l1, l2), g and h pushed by emitG / emitH: with a = |g| − l1, a ≤ 0 ? 0 :
  // a² / (h + l2 + 1e-15). For l1 = 0 that is kernels.ts' g² / (h + l2 + 1e-15) to the bit
  // (|g| − 0 = |g|, |g|² = g², and 0 = 0² / … for g = 0).
  const score = (emitG: () => void, emitH: () => void): void => {
    c.f64(0);
    emitG();
    c.op(Op.f64Abs, Op.localGet, L1, Op.f64Sub, Op.localTee, A, Op.localGet, A, Op.f64Mul);
    emitH();
    c.op(Op.localGet, L2, Op.f64Add).f64(1e-15).op(Op.f64Add, Op.f64Div);
    c.op(Op.localGet, A).f64(0).op(Op.f64Le, Op.select);
  };
  // One candidate cut with left sums (lgL, lhL); recorded when its gain beats the best so far.
  const candidate = (lgL: number, lhL: number, nanSide: boolean): void => {
    // hr = H − lh; if (lh·hs >= minHess && hr·hs >= minHess)
    c.op(Op.localGet, H, Op.localGet, lhL, Op.f64Sub, Op.localSet, HR);
    get(lhL, HS);
    c.op(Op.f64Mul, Op.localGet, MH, Op.f64Ge);
    get(HR, HS);
    c.op(Op.f64Mul, Op.localGet, MH, Op.f64Ge, Op.i32And, Op.if, Type.void);
    // lc = floor(lh·cntFactor + 0.5); if (lc >= minData && cnt − lc >= minData)
    get(lhL, CF);
    c.op(Op.f64Mul).f64(0.5).op(Op.f64Add, Op.f64Floor, Op.localTee, LC, Op.localGet, MD, Op.f64Ge);
    get(CNT, LC);
    c.op(Op.f64Sub, Op.localGet, MD, Op.f64Ge, Op.i32And, Op.if, Type.void);
    // gain = leafScore(lg·gs, lh·hs) + leafScore((G − lg)·gs, hr·hs)
    score(
      () => {
        get(lgL, GS);
        c.op(Op.f64Mul);
      },
      () => {
        get(lhL, HS);
        c.op(Op.f64Mul);
      },
    );
    score(
      () => {
        get(G, lgL);
        c.op(Op.f64Sub, Op.localGet, GS, Op.f64Mul);
      },
      () => {
        get(HR, HS);
        c.op(Op.f64Mul);
      },
    );
    c.op(Op.f64Add, Op.localTee, GAIN, Op.localGet, BEST, Op.f64Gt, Op.if, Type.void);
    c.op(Op.localGet, GAIN, Op.localSet, BEST, Op.localGet, F, Op.localSet, BFEAT);
    c.op(Op.localGet, K, Op.localSet, BBIN);
    c.i32(nanSide ? 1 : 0).op(Op.localSet, BDL);
    c.op(Op.localGet, lgL, Op.localSet, BLG, Op.localGet, lhL, Op.localSet, BLH);
    if (nanSide) c.i32(1).op(Op.localSet, BNAN);
    else c.op(Op.localGet, HASNAN, Op.localSet, BNAN);
    c.op(Op.end, Op.end, Op.end);
  };
  const featBytes = stride * (packed ? 8 : 16);
  c.f64(Number.NEGATIVE_INFINITY).op(Op.localSet, BEST);
  c.i32(-1).op(Op.localSet, BFEAT);
  c.op(Op.block, Type.void, Op.loop, Type.void); // features
  c.op(Op.localGet, FI, Op.localGet, NFEATS, Op.i32GeS, Op.brIf, 1);
  c.op(Op.localGet, FI).i32(2).op(Op.i32Shl, Op.i32Load);
  memarg(c, 2, L.feats);
  c.op(Op.localTee, F).i32(2).op(Op.i32Shl, Op.i32Load);
  memarg(c, 2, L.nanBin);
  c.op(Op.localTee, B).i32(1).op(Op.i32Sub, Op.localSet, LAST);
  c.op(Op.localGet, F).i32(featBytes).op(Op.i32Mul, Op.localGet, BASE, Op.i32Add, Op.localSet, O);
  loadBinInto(B, NANG, NANH);
  // hasNan = nanH > 0 || nanG !== 0
  c.op(Op.localGet, NANH).f64(0).op(Op.f64Gt, Op.localGet, NANG).f64(0).op(Op.f64Ne, Op.i32Or);
  c.op(Op.localSet, HASNAN);
  c.op(Op.block, Type.void); // next feature
  // if (B < 2 && !hasNan) continue
  c.op(Op.localGet, B).i32(2).op(Op.i32LtS, Op.localGet, HASNAN, Op.i32Eqz, Op.i32And, Op.brIf, 0);
  c.f64(0).op(Op.localSet, GL);
  c.f64(0).op(Op.localSet, HL);
  c.i32(0).op(Op.localSet, K);
  c.op(Op.block, Type.void, Op.loop, Type.void); // bins
  c.op(Op.localGet, K, Op.localGet, B, Op.i32GeS, Op.brIf, 1);
  c.op(Op.block, Type.void); // next bin
  loadBinInto(K, GG, HH);
  // An empty bin repeats the previous cut: if (h === 0 && g === 0 && k < B − 1) continue
  c.op(Op.localGet, HH).f64(0).op(Op.f64Eq, Op.localGet, GG).f64(0).op(Op.f64Eq, Op.i32And);
  c.op(Op.localGet, K, Op.localGet, LAST, Op.i32LtS, Op.i32And, Op.brIf, 0);
  c.op(Op.localGet, GL, Op.localGet, GG, Op.f64Add, Op.localSet, GL);
  c.op(Op.localGet, HL, Op.localGet, HH, Op.f64Add, Op.localSet, HL);
  // if (k === B − 1 && !hasNan) break
  c.op(Op.localGet, K, Op.localGet, LAST, Op.i32Eq, Op.localGet, HASNAN, Op.i32Eqz, Op.i32And, Op.brIf, 2);
  candidate(GL, HL, false);
  // if (hasNan && k < B − 1): the cut with missing values left
  c.op(Op.localGet, HASNAN, Op.localGet, K, Op.localGet, LAST, Op.i32LtS, Op.i32And, Op.if, Type.void);
  c.op(Op.localGet, GL, Op.localGet, NANG, Op.f64Add, Op.localSet, LG);
  c.op(Op.localGet, HL, Op.localGet, NANH, Op.f64Add, Op.localSet, LH);
  candidate(LG, LH, true);
  c.op(Op.end);
  c.op(Op.end); // next bin
  c.op(Op.localGet, K).i32(1).op(Op.i32Add, Op.localSet, K);
  c.op(Op.br, 0, Op.end, Op.end); // bins
  c.op(Op.end); // next feature
  c.op(Op.localGet, FI).i32(1).op(Op.i32Add, Op.localSet, FI);
  c.op(Op.br, 0, Op.end, Op.end); // features
  const store = (slot: number, emit: () => void): void => {
    c.op(Op.localGet, OUT);
    emit();
    c.op(Op.f64Store);
    memarg(c, 3, 8 * slot);
  };
  store(0, () => get(BEST));
  store(1, () => c.op(Op.localGet, BFEAT, Op.f64ConvertI32S));
  store(2, () => c.op(Op.localGet, BBIN, Op.f64ConvertI32S));
  store(3, () => c.op(Op.localGet, BDL, Op.f64ConvertI32S));
  store(4, () => get(BLG));
  store(5, () => get(BLH));
  store(6, () => c.op(Op.localGet, BNAN, Op.f64ConvertI32S));
  return {
    name: "split",
    params: [Type.i32, Type.i32, Type.i32, ...Array.from({ length: 12 }, () => Type.f64)],
    results: [],
    locals: [
      [11, Type.i32],
      [16, Type.f64],
    ],
    body: c,
  };

  function loadBinInto(binLocal: number, gOut: number, hOut: number): void {
    c.op(Op.localGet, binLocal);
    if (packed) {
      c.i32(3).op(Op.i32Shl, Op.localGet, O, Op.i32Add, Op.f64Load);
      memarg(c, 3, 0);
      // g = floor(pv · invS); h = pv − g·S
      c.op(Op.localTee, PV, Op.localGet, INVS, Op.f64Mul, Op.f64Floor, Op.localSet, gOut);
      c.op(Op.localGet, PV, Op.localGet, gOut, Op.localGet, S, Op.f64Mul, Op.f64Sub, Op.localSet, hOut);
    } else {
      c.i32(4).op(Op.i32Shl, Op.localGet, O, Op.i32Add, Op.f64Load);
      memarg(c, 3, 0);
      c.op(Op.localSet, gOut, Op.localGet, binLocal);
      c.i32(4).op(Op.i32Shl, Op.localGet, O, Op.i32Add, Op.f64Load);
      memarg(c, 3, 8);
      c.op(Op.localSet, hOut);
    }
  }
}
