/**
 * The hot loops of training, run by the main thread and by worker threads over the same shared
 * memory. Every function here is self-contained (no imports; of this module's names, only the
 * protocol's constants JOB, JP, CTRL and CLAIM, which the worker's source declares): the worker
 * is started from their source text (`Function.prototype.toString`), so the code in both
 * threads is literally the same and no worker file has to be resolved at run time. Where
 * WebAssembly is available, histograms, partitions and the gradient update run as the wasm
 * kernels of kernelsWasm.ts instead (same results, bit for bit); the loops here are the fallback.
 *
 * Work is split into parts by position only (never by thread count), and partial histograms are
 * summed in part order, so a model does not depend on how many threads trained it.
 */

import type { WasmApi, WasmMemory } from "../../core/wasm.js";
import type { TrainLayout } from "./kernelsWasm.js";

/** Shared buffers and sizes of one training run; structured-cloneable (sent to workers). */
export interface WsData {
  n: number;
  d: number;
  nTrain: number;
  /** 0 binary (e holds exp(-score)), 1 regression (e holds the score). */
  objective: number;
  /** 1: gh holds one packed quantised (gradient, hessian) per row; 0: interleaved doubles. */
  packed: number;
  /** Doubles per histogram (features × stride × channels). */
  slotSize: number;
  /** Doubles in the histogram region (leaf slots and scratch). */
  histSize: number;
  /** Sources of the JavaScript histogram kernels (used without WebAssembly): over rows[s..e), over s..e. */
  histSrc: string;
  histSrcDirect: string;
  /** The big arrays, at the layout's byte offsets: a shared wasm memory, or a plain shared buffer. */
  heap: SharedArrayBuffer;
  layout: TrainLayout;
  /** Set when the wasm kernels run: the shared memory whose buffer is `heap`, and the module. */
  mem: WasmMemory | undefined;
  wasmBytes: Uint8Array | undefined;
  jp: SharedArrayBuffer;
  ji: SharedArrayBuffer;
  sample: SharedArrayBuffer;
  sampleM: number;
  /** Histogram slots per feature (max_bin + 1). */
  stride: number;
  /** Best split per leaf: 6 × num_leaves doubles (gain, feature, bin, default-left, left G, left H). */
  split: SharedArrayBuffer;
  maxLeaves: number;
}

export type HistKernel = (
  hist: Float64Array,
  gh: Float64Array,
  bins: Uint8Array,
  rows: Int32Array,
  s: number,
  e: number,
) => void;

/** The exports of the wasm training kernels (see kernelsWasm.ts). */
export interface WasmKernels {
  hist(s: number, e: number, slotByte: number): void;
  histDirect(s: number, e: number, slotByte: number): void;
  partition(s: number, e: number, col: number, k: number, nanLeft: number, rightLeaf: number): number;
  partitionDirect(s: number, e: number, col: number, k: number, nanLeft: number, rightLeaf: number): number;
  move(dst: number, src: number, bytes: number): void;
  update(
    ps: number,
    pe: number,
    wPos: number,
    wNeg: number,
    seed: number,
    invGs: number,
    invHs: number,
    shift: number,
  ): void;
  histSub(dst: number, src: number, bytes: number): void;
  histAdd(dst: number, src: number, bytes: number): void;
  zero(dst: number, bytes: number): void;
  leaves(ps: number, pe: number, internal: number): void;
  split(
    base: number,
    nFeats: number,
    out: number,
    G: number,
    H: number,
    cnt: number,
    cntFactor: number,
    l1: number,
    l2: number,
    minData: number,
    minHess: number,
    S: number,
    invS: number,
    gs: number,
    hs: number,
  ): void;
}

export interface Views {
  n: number;
  d: number;
  nTrain: number;
  objective: number;
  packed: number;
  slotSize: number;
  layout: TrainLayout;
  /** Row-major bins (row r, feature f at r·d + f): one cache line per row for histograms. */
  bins: Uint8Array;
  /** The same bins column-major (f·n + r): partitions read one feature of many rows. */
  binsCol: Uint8Array;
  rows: Int32Array;
  tmp: Int32Array;
  /** Leaf of each row in the tree being grown (partitions write it for rows going right). */
  leafOf: Int32Array;
  gh: Float64Array;
  e: Float64Array;
  y: Float64Array;
  hist: Float64Array;
  jp: Float64Array;
  ji: Int32Array;
  lMul: Float64Array;
  tFeat: Int32Array;
  tBin: Int32Array;
  tDl: Int32Array;
  tLeft: Int32Array;
  tRight: Int32Array;
  /** Per feature: its missing-value bin (= its number of numeric bins). */
  nanBin: Int32Array;
  sample: Float64Array;
  sampleM: number;
  stride: number;
  /** Features the current tree may split on (jp[JP.nFeats] of them). */
  feats: Int32Array;
  /** The wasm split search's raw results, SPLIT_OUT (8) doubles per leaf. */
  splitOut: Float64Array;
  sGain: Float64Array;
  sFeat: Float64Array;
  sBin: Float64Array;
  sDl: Float64Array;
  sLg: Float64Array;
  sLh: Float64Array;
  histKernel: HistKernel;
  /** The same for rows s..e themselves (rows[] is not read). */
  histKernelDirect: HistKernel;
  wasm: WasmKernels | undefined;
}

/*
 * The protocol between the main thread and the workers, in shared memory: `jp` (JP_SIZE
 * doubles) describes the job, `ctrl` (CTRL_SIZE int32s) hands it out. The functions shipped to
 * the workers read these slots by name; workerSource() declares the same objects in the
 * worker's source, generated from the ones below.
 */

/** Job kinds, in jp[JP.kind]. */
export const JOB = {
  none: 0,
  hist: 1,
  partition: 2,
  updateLeaves: 3,
  updateTraverse: 4,
  sort: 5,
  split: 6,
  quit: 9,
} as const;

/**
 * jp slots: the job's kind and number of parts; each kind's arguments (the kinds share slots
 * 2..19, one job being described at a time); the constants of the training run (20..39, set
 * once or per tree or iteration, read by every job); the split job's leaves (40..).
 */
export const JP = {
  kind: 0,
  parts: 1,
  /**
   * Histogram of rows[start..end) (of start..end themselves when direct = 1): part 0 into the
   * slot at hist[dest..], part p > 0 into scratch at hist[scratch + (p − 1)·slotSize..].
   */
  hist: { start: 2, end: 3, dest: 4, scratch: 5, direct: 6 },
  /** Partition of rows[start..end) by "bin of feature <= bin", missing values left when defaultLeft = 1. */
  partition: { start: 2, end: 3, feature: 4, bin: 5, defaultLeft: 6, rightLeaf: 7, direct: 8 },
  /** Leaf updates of rows [0, rows). */
  updateLeaves: { rows: 3 },
  /** Tree traversal of rows [start, end); internal = the tree's internal nodes (0: one leaf). */
  updateTraverse: { start: 2, end: 3, internal: 4 },
  /** Split search: leaf p's id, histogram base, G, H and row count at leaves + stride·p + field. */
  split: { leaves: 40, stride: 5, leaf: 0, base: 1, g: 2, h: 3, count: 4 },
  wPos: 20,
  wNeg: 21,
  iterSeed: 22,
  invGs: 23,
  invHs: 24,
  packShift: 25,
  l1: 30,
  l2: 31,
  minData: 32,
  minHess: 33,
  minGain: 34,
  gScale: 36,
  hScale: 37,
  nFeats: 38,
} as const;

/** Doubles in jp. */
export const JP_SIZE = 64;

/**
 * ctrl slots: the job tag the workers wait on (a new one starts a job), the claim word (job tag
 * << CLAIM.tagShift | next part), the count of finished parts, and the error flag (its text in
 * the team's error bytes).
 */
export const CTRL = { job: 0, claim: 1, done: 2, failed: 15 } as const;

/** Int32s in ctrl. */
export const CTRL_SIZE = 16;

/** The claim word's layout: the part number in the low bits, the job tag above them. */
export const CLAIM = { tagShift: 12, partMask: 0xfff } as const;

export function makeViews(w: WsData): Views {
  const n = w.n;
  const d = w.d;
  const L = w.layout;
  const heap = w.mem ? (w.mem.buffer as SharedArrayBuffer) : w.heap;
  let wasm: WasmKernels | undefined;
  if (w.mem && w.wasmBytes) {
    const W = (globalThis as { WebAssembly?: WasmApi }).WebAssembly as WasmApi;
    wasm = new W.Instance(new W.Module(w.wasmBytes), { env: { mem: w.mem } })
      .exports as unknown as WasmKernels;
  }
  return {
    n,
    d,
    nTrain: w.nTrain,
    objective: w.objective,
    packed: w.packed,
    slotSize: w.slotSize,
    layout: L,
    bins: new Uint8Array(heap, L.bins, n * d),
    binsCol: new Uint8Array(heap, L.binsCol, n * d),
    rows: new Int32Array(heap, L.rows, n),
    tmp: new Int32Array(heap, L.tmp, n),
    leafOf: new Int32Array(heap, L.leafOf, n),
    gh: new Float64Array(heap, L.gh, n * (w.packed ? 1 : 2)),
    e: new Float64Array(heap, L.e, n),
    y: new Float64Array(heap, L.y, n),
    hist: new Float64Array(heap, L.hist, w.histSize),
    jp: new Float64Array(w.jp),
    ji: new Int32Array(w.ji),
    lMul: new Float64Array(heap, L.lMul, w.maxLeaves),
    tFeat: new Int32Array(heap, L.treeFeat, L.maxLeaves),
    tBin: new Int32Array(heap, L.treeBin, L.maxLeaves),
    tDl: new Int32Array(heap, L.treeDl, L.maxLeaves),
    tLeft: new Int32Array(heap, L.treeLeft, L.maxLeaves),
    tRight: new Int32Array(heap, L.treeRight, L.maxLeaves),
    nanBin: new Int32Array(heap, L.nanBin, d),
    sample: new Float64Array(w.sample),
    sampleM: w.sampleM,
    stride: w.stride,
    feats: new Int32Array(heap, L.feats, d),
    splitOut: new Float64Array(heap, L.splitOut, 8 * w.maxLeaves),
    sGain: new Float64Array(w.split, 0, w.maxLeaves),
    sFeat: new Float64Array(w.split, 8 * w.maxLeaves, w.maxLeaves),
    sBin: new Float64Array(w.split, 16 * w.maxLeaves, w.maxLeaves),
    sDl: new Float64Array(w.split, 24 * w.maxLeaves, w.maxLeaves),
    sLg: new Float64Array(w.split, 32 * w.maxLeaves, w.maxLeaves),
    sLh: new Float64Array(w.split, 40 * w.maxLeaves, w.maxLeaves),
    // A histogram kernel unrolled over the features, generated per training run.
    histKernel: new Function("hist", "gh", "bins", "rows", "s", "e", w.histSrc) as HistKernel,
    histKernelDirect: new Function("hist", "gh", "bins", "rows", "s", "e", w.histSrcDirect) as HistKernel,
    wasm,
  };
}

/** Runs part p of the job described in jp. */
export function runPart(v: Views, p: number): void {
  const jp = v.jp;
  const kind = jp[JP.kind] as number;
  const parts = jp[JP.parts] as number;
  if (kind === JOB.hist) histPart(v, p, parts);
  else if (kind === JOB.partition) partitionPart(v, p, parts);
  else if (kind === JOB.updateLeaves) updateLeavesPart(v, p, parts);
  else if (kind === JOB.updateTraverse) updateTraversePart(v, p, parts);
  else if (kind === JOB.sort) sortPart(v, p, parts);
  else if (kind === JOB.split) splitPart(v, p);
}

/**
 * Part p's histogram of rows[s..e): part 0 into the destination slot, part p > 0 into scratch
 * p-1. direct = 1 says rows[i] = i over the range (the root without bagging).
 */
export function histPart(v: Views, p: number, parts: number): void {
  const jp = v.jp;
  const s = jp[JP.hist.start] as number;
  const e = jp[JP.hist.end] as number;
  const base =
    p === 0 ? (jp[JP.hist.dest] as number) : (jp[JP.hist.scratch] as number) + (p - 1) * v.slotSize;
  const ps = s + Math.floor(((e - s) * p) / parts);
  const pe = s + Math.floor(((e - s) * (p + 1)) / parts);
  const wasm = v.wasm;
  const direct = (jp[JP.hist.direct] as number) === 1;
  if (wasm === undefined) {
    const h = v.hist.subarray(base, base + v.slotSize);
    h.fill(0);
    (direct ? v.histKernelDirect : v.histKernel)(h, v.gh, v.bins, v.rows, ps, pe);
    return;
  }
  wasm.zero(v.layout.hist + 8 * base, 8 * v.slotSize);
  if (direct) wasm.histDirect(ps, pe, v.layout.hist + 8 * base);
  else wasm.hist(ps, pe, v.layout.hist + 8 * base);
}

/**
 * Stable partition of part p of rows[s..e) by the split (feature, bin, default-left): rows going
 * left stay in place at the front of the part, rows going right go to tmp at the part's start
 * and are marked in leafOf with the right child's leaf id. direct = 1: the rows are s..e
 * themselves (the root without bagging; rows[] is not read). ji[p] receives the part's left
 * count.
 */
export function partitionPart(v: Views, p: number, parts: number): void {
  const jp = v.jp;
  const s = jp[JP.partition.start] as number;
  const e = jp[JP.partition.end] as number;
  const f = jp[JP.partition.feature] as number;
  const k = jp[JP.partition.bin] as number;
  const dl = jp[JP.partition.defaultLeft] as number;
  const rightLeaf = jp[JP.partition.rightLeaf] as number;
  const direct = (jp[JP.partition.direct] as number) === 1;
  const leafOf = v.leafOf;
  const nan = v.nanBin[f] as number;
  const ps = s + Math.floor(((e - s) * p) / parts);
  const pe = s + Math.floor(((e - s) * (p + 1)) / parts);
  if (v.wasm !== undefined) {
    const fn = direct ? v.wasm.partitionDirect : v.wasm.partition;
    v.ji[p] = fn(ps, pe, v.layout.binsCol + f * v.n, k, dl === 1 ? nan : -1, rightLeaf);
    return;
  }
  const rows = v.rows;
  if (direct) for (let i = ps; i < pe; i++) rows[i] = i;
  const tmp = v.tmp;
  const col = v.binsCol.subarray(f * v.n, (f + 1) * v.n);
  let nl = ps;
  let nr = ps;
  // Branchy on purpose: consecutive candles mostly fall on the same side of a split, so the
  // branch predicts well; a branch-free loop measured slower on market data.
  if (dl === 1) {
    for (let i = ps; i < pe; i++) {
      const r = rows[i] as number;
      const b = col[r] as number;
      if (b <= k || b === nan) rows[nl++] = r;
      else {
        tmp[nr++] = r;
        leafOf[r] = rightLeaf;
      }
    }
  } else {
    for (let i = ps; i < pe; i++) {
      const r = rows[i] as number;
      if ((col[r] as number) <= k) rows[nl++] = r;
      else {
        tmp[nr++] = r;
        leafOf[r] = rightLeaf;
      }
    }
  }
  v.ji[p] = nl - ps;
}

/**
 * Gradient and hessian of row r from its updated e (exp(-score) or score), written to gh: exact
 * doubles, or stochastically rounded integers packed as gq * 2^shift + hq. The constants come
 * from jp (read once per part by the callers, so the hot loops load nothing shared but rows).
 */
export function writeGrad(
  gh: Float64Array,
  y: number,
  r: number,
  ev: number,
  regression: boolean,
  packed: boolean,
  wPos: number,
  wNeg: number,
  seed: number,
  invGs: number,
  invHs: number,
  shift: number,
): void {
  let g: number;
  let h: number;
  if (!regression) {
    const pr = 1 / (1 + ev);
    const w = y > 0.5 ? wPos : wNeg;
    g = (pr - y) * w;
    h = Math.max(pr * (1 - pr), 1e-16) * w;
  } else {
    g = ev - y;
    h = 1;
  }
  if (!packed) {
    gh[2 * r] = g;
    gh[2 * r + 1] = h;
    return;
  }
  // A per-(iteration, row) hash gives the rounding noise: deterministic, and independent of
  // which thread computes the row.
  let x = Math.imul(r, 0x9e3779b1) ^ seed;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  x ^= x >>> 16;
  gh[r] = Math.floor(g * invGs + (x & 0xffff) / 65536) * shift + Math.floor(h * invHs + (x >>> 16) / 65536);
}

/**
 * Applies each row's leaf update (leafOf → lMul) to rows [0, rows) in row order, streaming, and
 * recomputes their gradients; leafOf is reset to 0 for the next tree.
 */
export function updateLeavesPart(v: Views, p: number, parts: number): void {
  const jp = v.jp;
  const total = jp[JP.updateLeaves.rows] as number;
  const ps = Math.floor((total * p) / parts);
  const pe = Math.floor((total * (p + 1)) / parts);
  const e = v.e;
  const y = v.y;
  const gh = v.gh;
  const leafOf = v.leafOf;
  const mul = v.lMul;
  const regression = v.objective !== 0;
  const packed = v.packed !== 0;
  const wPos = jp[JP.wPos] as number;
  const wNeg = jp[JP.wNeg] as number;
  const seed = (jp[JP.iterSeed] as number) | 0;
  const invGs = jp[JP.invGs] as number;
  const invHs = jp[JP.invHs] as number;
  const shift = jp[JP.packShift] as number;
  if (v.wasm !== undefined) {
    v.wasm.update(ps, pe, wPos, wNeg, seed, invGs, invHs, shift);
    return;
  }
  for (let r = ps; r < pe; r++) {
    const m = mul[leafOf[r] as number] as number;
    leafOf[r] = 0;
    const ev = regression ? (e[r] as number) + m : (e[r] as number) * m;
    e[r] = ev;
    writeGrad(gh, y[r] as number, r, ev, regression, packed, wPos, wNeg, seed, invGs, invHs, shift);
  }
}

/** Leaf of row r in the current tree (binned traversal). */
export function leafOfRow(v: Views, r: number): number {
  let node = 0;
  const d = v.d;
  for (;;) {
    const f = v.tFeat[node] as number;
    const b = v.bins[r * d + f] as number;
    const left =
      b <= (v.tBin[node] as number) || (b === (v.nanBin[f] as number) && (v.tDl[node] as number) === 1);
    const next = left ? (v.tLeft[node] as number) : (v.tRight[node] as number);
    if (next < 0) return ~next;
    node = next;
  }
}

/**
 * Applies the current tree to rows [a, b) by traversal (rows outside the bag, validation rows);
 * rows below nTrain also get new gradients.
 */
export function updateTraversePart(v: Views, p: number, parts: number): void {
  const jp = v.jp;
  const a = jp[JP.updateTraverse.start] as number;
  const b = jp[JP.updateTraverse.end] as number;
  const internal = jp[JP.updateTraverse.internal] as number;
  const ps = a + Math.floor(((b - a) * p) / parts);
  const pe = a + Math.floor(((b - a) * (p + 1)) / parts);
  const e = v.e;
  const y = v.y;
  const gh = v.gh;
  const regression = v.objective !== 0;
  const packed = v.packed !== 0;
  const wPos = jp[JP.wPos] as number;
  const wNeg = jp[JP.wNeg] as number;
  const seed = (jp[JP.iterSeed] as number) | 0;
  const invGs = jp[JP.invGs] as number;
  const invHs = jp[JP.invHs] as number;
  const shift = jp[JP.packShift] as number;
  const nTrain = v.nTrain;
  if (v.wasm !== undefined) {
    // leaves by traversal into leafOf, then the training rows' update reads (and resets) them
    v.wasm.leaves(ps, pe, internal);
    const te = Math.min(pe, nTrain);
    if (ps < te) v.wasm.update(ps, te, wPos, wNeg, seed, invGs, invHs, shift);
    const leafOf = v.leafOf;
    for (let r = Math.max(ps, nTrain); r < pe; r++) {
      const m = v.lMul[leafOf[r] as number] as number;
      e[r] = regression ? (e[r] as number) + m : (e[r] as number) * m;
      leafOf[r] = 0;
    }
    return;
  }
  for (let r = ps; r < pe; r++) {
    const m = v.lMul[internal === 0 ? 0 : leafOfRow(v, r)] as number;
    const ev = regression ? (e[r] as number) + m : (e[r] as number) * m;
    e[r] = ev;
    if (r < nTrain) {
      v.leafOf[r] = 0;
      writeGrad(gh, y[r] as number, r, ev, regression, packed, wPos, wNeg, seed, invGs, invHs, shift);
    }
  }
}

/** LightGBM's leaf score T(G)² / (H + λ2), T soft-thresholding by λ1. */
export function leafScore(g: number, h: number, l1: number, l2: number): number {
  if (l1 > 0) {
    const a = Math.abs(g) - l1;
    if (a <= 0) return 0;
    return (a * a) / (h + l2 + 1e-15);
  }
  return (g * g) / (h + l2 + 1e-15);
}

/** Split job part p: the best split of leaf p of the job (a split's two children run in parallel). */
export function splitPart(v: Views, p: number): void {
  const S = JP.split;
  const o = S.leaves + S.stride * p;
  const jp = v.jp;
  bestSplit(
    v,
    jp[o + S.leaf] as number,
    jp[o + S.base] as number,
    jp[o + S.g] as number,
    jp[o + S.h] as number,
    jp[o + S.count] as number,
  );
}

/**
 * Best split of a leaf from its histogram at hist[base..], with LightGBM's gain: for a side with
 * sums G, H, score = T(G)² / (H + λ2); a split's gain is score(left) + score(right) −
 * score(parent) and must exceed min_gain_to_split. Each cut "bin <= k" is tried with the
 * missing-value bin on either side (when the leaf has missing values), and "all numbers |
 * missing" as a split of its own; without missing values in the leaf, missing values are sent to
 * the larger side. Sums are in histogram units (exact integers when packed: gq·2^shift + hq),
 * scaled by gScale / hScale for the gain. Row counts for min_data_in_leaf are estimated from
 * hessians, as LightGBM does. Results go to the split table (sGain … sLh) at the leaf's index.
 */
export function bestSplit(v: Views, leaf: number, base: number, G: number, H: number, cnt: number): void {
  const jp = v.jp;
  const l1 = jp[JP.l1] as number;
  const l2 = jp[JP.l2] as number;
  const minData = jp[JP.minData] as number;
  const minHess = jp[JP.minHess] as number;
  const minGain = jp[JP.minGain] as number;
  const S = jp[JP.packShift] as number;
  const gs = jp[JP.gScale] as number;
  const hs = jp[JP.hScale] as number;
  const nFeats = jp[JP.nFeats] as number;
  const packed = v.packed !== 0;
  const invS = 1 / S;
  const hist = v.hist;
  const stride = v.stride;
  const cntFactor = H > 0 ? cnt / H : 0;
  const parent = leafScore(G * gs, H * hs, l1, l2);
  let best = Number.NEGATIVE_INFINITY;
  let bFeat = -1;
  let bBin = 0;
  let bDl = 0;
  let bLg = 0;
  let bLh = 0;
  let bNan = false;
  const wasm = v.wasm;
  if (wasm !== undefined) {
    const at = 8 * leaf;
    const L = v.layout;
    wasm.split(
      L.hist + 8 * base,
      nFeats,
      L.splitOut + 8 * at,
      G,
      H,
      cnt,
      cntFactor,
      l1,
      l2,
      minData,
      minHess,
      S,
      invS,
      gs,
      hs,
    );
    const out = v.splitOut;
    best = out[at] as number;
    bFeat = out[at + 1] as number;
    bBin = out[at + 2] as number;
    bDl = out[at + 3] as number;
    bLg = out[at + 4] as number;
    bLh = out[at + 5] as number;
    bNan = (out[at + 6] as number) === 1;
  }
  for (let fi = 0; wasm === undefined && fi < nFeats; fi++) {
    const f = v.feats[fi] as number;
    const B = v.nanBin[f] as number;
    const o = base + (packed ? f * stride : 2 * f * stride);
    let nanG: number;
    let nanH: number;
    if (packed) {
      const pv = hist[o + B] as number;
      nanG = Math.floor(pv * invS);
      nanH = pv - nanG * S;
    } else {
      nanG = hist[o + 2 * B] as number;
      nanH = hist[o + 2 * B + 1] as number;
    }
    const hasNan = nanH > 0 || nanG !== 0;
    if (B < 2 && !hasNan) continue;
    let gl = 0;
    let hl = 0;
    for (let k = 0; k < B; k++) {
      let g: number;
      let h: number;
      if (packed) {
        const pv = hist[o + k] as number;
        g = Math.floor(pv * invS);
        h = pv - g * S;
      } else {
        g = hist[o + 2 * k] as number;
        h = hist[o + 2 * k + 1] as number;
      }
      // An empty bin repeats the previous cut; keep the lower threshold.
      if (h === 0 && g === 0 && k < B - 1) continue;
      gl += g;
      hl += h;
      if (k === B - 1 && !hasNan) break;
      // Cut after bin k, missing values right (for k = B-1: numbers left, missing right).
      const hr = H - hl;
      if (hl * hs >= minHess && hr * hs >= minHess) {
        const lc = Math.floor(hl * cntFactor + 0.5);
        if (lc >= minData && cnt - lc >= minData) {
          const gain = leafScore(gl * gs, hl * hs, l1, l2) + leafScore((G - gl) * gs, hr * hs, l1, l2);
          if (gain > best) {
            best = gain;
            bFeat = f;
            bBin = k;
            bDl = 0;
            bLg = gl;
            bLh = hl;
            bNan = hasNan;
          }
        }
      }
      if (hasNan && k < B - 1) {
        const lg = gl + nanG;
        const lh = hl + nanH;
        const hr2 = H - lh;
        if (lh * hs >= minHess && hr2 * hs >= minHess) {
          const lc = Math.floor(lh * cntFactor + 0.5);
          if (lc >= minData && cnt - lc >= minData) {
            const gain = leafScore(lg * gs, lh * hs, l1, l2) + leafScore((G - lg) * gs, hr2 * hs, l1, l2);
            if (gain > best) {
              best = gain;
              bFeat = f;
              bBin = k;
              bDl = 1;
              bLg = lg;
              bLh = lh;
              bNan = true;
            }
          }
        }
      }
    }
  }
  const gain = best - parent;
  if (bFeat < 0 || !(gain > minGain) || !(gain > 0)) {
    v.sGain[leaf] = Number.NEGATIVE_INFINITY;
    return;
  }
  v.sGain[leaf] = gain;
  v.sFeat[leaf] = bFeat;
  v.sBin[leaf] = bBin;
  // No missing values reached this leaf: a missing value at prediction time follows the side
  // that held more of the training data (by hessian), not an arbitrary fixed side.
  v.sDl[leaf] = bNan ? bDl : bLh >= H - bLh ? 1 : 0;
  v.sLg[leaf] = bLg;
  v.sLh[leaf] = bLh;
}

/**
 * Sorts sample column p (part p of a sort job) in place, with the radix sort's scratch column
 * after the job's columns: the sample holds as many scratch columns as sort columns.
 */
export function sortPart(v: Views, p: number, _parts: number): void {
  const m = v.sampleM;
  const slots = v.sample.length / (2 * m);
  radixSortFloat64(
    v.sample.subarray(p * m, (p + 1) * m),
    v.sample.subarray((slots + p) * m, (slots + p + 1) * m),
  );
}

/**
 * Sorts doubles in ascending order as `Float64Array.prototype.sort()` does (−0 before +0, NaNs
 * last), by a least-significant-digit radix sort over six 11-bit digits of an order-preserving
 * 64-bit key: several times faster than the comparison sort on the hundreds of thousands of
 * values per feature that gb's binning sorts. A digit every value shares (the top digits of a
 * price column, say) costs one counting pass and no move.
 *
 * The key of x: its bits with the sign bit set when x ≥ +0, all bits flipped when x ≤ −0, so that
 * unsigned order is numeric order; every NaN gets the largest key and comes back as one NaN.
 * `scratch` must hold at least `a.length` values; `a` is sorted in place. (Little-endian word
 * order, as on every platform Node runs on.)
 */
export function radixSortFloat64(a: Float64Array, scratch: Float64Array): void {
  // digits of 11 bits (the last of each 32-bit word 10): six passes, counts that fit in L1; the
  // constants are local because worker threads run this function from its source text
  const RADIX = 2048;
  const MASK = RADIX - 1;
  const n = a.length;
  if (n < 2) return;
  if (scratch.length < n) throw new Error("radixSortFloat64: scratch is shorter than the array");
  let src = new Uint32Array(a.buffer, a.byteOffset, 2 * n);
  let dst = new Uint32Array(scratch.buffer, scratch.byteOffset, 2 * n);
  const counts = new Uint32Array(6 * RADIX);
  for (let i = 0; i < n; i++) {
    const j = 2 * i;
    let lo = src[j] as number;
    let hi = src[j + 1] as number;
    if (Number.isNaN(a[i] as number)) {
      hi = 0xffffffff;
      lo = 0xffffffff;
    } else if (hi >>> 31 === 1) {
      hi = ~hi >>> 0;
      lo = ~lo >>> 0;
    } else hi = (hi | 0x80000000) >>> 0;
    src[j] = lo;
    src[j + 1] = hi;
    counts[lo & MASK] = (counts[lo & MASK] as number) + 1;
    counts[RADIX + ((lo >>> 11) & MASK)] = (counts[RADIX + ((lo >>> 11) & MASK)] as number) + 1;
    counts[2 * RADIX + (lo >>> 22)] = (counts[2 * RADIX + (lo >>> 22)] as number) + 1;
    counts[3 * RADIX + (hi & MASK)] = (counts[3 * RADIX + (hi & MASK)] as number) + 1;
    counts[4 * RADIX + ((hi >>> 11) & MASK)] = (counts[4 * RADIX + ((hi >>> 11) & MASK)] as number) + 1;
    counts[5 * RADIX + (hi >>> 22)] = (counts[5 * RADIX + (hi >>> 22)] as number) + 1;
  }
  for (let pass = 0; pass < 6; pass++) {
    const base = pass * RADIX;
    const word = pass < 3 ? 0 : 1; // low word, then high word
    const shift = (pass % 3) * 11;
    // a digit shared by every value leaves the order as it is
    const first = ((src[word] as number) >>> shift) & MASK;
    if ((counts[base + first] as number) === n) continue;
    let sum = 0;
    for (let b = 0; b < RADIX; b++) {
      const c = counts[base + b] as number;
      counts[base + b] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const j = 2 * i;
      const digit = ((src[j + word] as number) >>> shift) & MASK;
      const at = counts[base + digit] as number;
      counts[base + digit] = at + 1;
      dst[2 * at] = src[j] as number;
      dst[2 * at + 1] = src[j + 1] as number;
    }
    const t = src;
    src = dst;
    dst = t;
  }
  // back from keys to doubles, into `a` (src is a's words or scratch's after an odd number of moves)
  const out = new Uint32Array(a.buffer, a.byteOffset, 2 * n);
  for (let i = 0; i < n; i++) {
    const j = 2 * i;
    let lo = src[j] as number;
    let hi = src[j + 1] as number;
    if (hi >>> 31 === 1) hi = (hi & 0x7fffffff) >>> 0;
    else {
      hi = ~hi >>> 0;
      lo = ~lo >>> 0;
    }
    out[j] = lo;
    out[j + 1] = hi;
  }
}

/**
 * Claims and runs parts of the current job until none is left. The claim word holds the job tag
 * and the next part: a claim is a compare-and-swap that only succeeds for the job the caller
 * saw, so a thread that wakes late can neither take a part of a newer job by mistake nor run one
 * twice. Finished parts are counted; an error raises the failed flag (its text in errBytes).
 */
export function claimParts(v: Views, ctrl: Int32Array, tag: number, errBytes: Uint8Array): void {
  for (;;) {
    const cur = Atomics.load(ctrl, CTRL.claim);
    if (cur >>> CLAIM.tagShift !== tag) return;
    const p = cur & CLAIM.partMask;
    if (p >= (v.jp[JP.parts] as number)) return;
    if (Atomics.compareExchange(ctrl, CTRL.claim, cur, cur + 1) !== cur) continue;
    try {
      runPart(v, p);
    } catch (err) {
      const msg = new TextEncoder()
        .encode(String(err instanceof Error ? err.stack : err))
        .subarray(0, errBytes.length - 1);
      errBytes.set(msg);
      Atomics.store(ctrl, CTRL.failed, 1);
    }
    Atomics.add(ctrl, CTRL.done, 1);
    Atomics.notify(ctrl, CTRL.done);
  }
}

/**
 * Worker thread body: waits for a new job tag (spinning first, because jobs arrive tens of
 * microseconds apart while a tree grows), then claims parts alongside the main thread. A quit
 * job ends the thread.
 */
export function workerLoop(data: { ws: WsData; ctrl: SharedArrayBuffer; err: SharedArrayBuffer }): void {
  const ctrl = new Int32Array(data.ctrl);
  const errBytes = new Uint8Array(data.err);
  const v = makeViews(data.ws);
  let seen = 0;
  for (;;) {
    let spins = 0;
    while (Atomics.load(ctrl, CTRL.job) === seen) {
      if (++spins > 100000) {
        Atomics.wait(ctrl, CTRL.job, seen, 20);
        spins = 0;
      }
    }
    seen = Atomics.load(ctrl, CTRL.job);
    if ((v.jp[JP.kind] as number) === JOB.quit) return;
    claimParts(v, ctrl, seen, errBytes);
  }
}

/**
 * The protocol's constants under the names the shipped functions use; the worker's source
 * declares them from these objects (never from a copy that could drift).
 */
const PROTOCOL = { JOB, JP, CTRL, CLAIM };

/** Source text of the worker: the protocol's constants, the functions above and a call of workerLoop. */
export function workerSource(): string {
  const fns = [
    makeViews,
    runPart,
    histPart,
    partitionPart,
    writeGrad,
    updateLeavesPart,
    leafOfRow,
    updateTraversePart,
    sortPart,
    radixSortFloat64,
    leafScore,
    splitPart,
    bestSplit,
    claimParts,
    workerLoop,
  ];
  const constants = Object.entries(PROTOCOL).map(
    ([name, value]) => `const ${name} = ${JSON.stringify(value)};`,
  );
  return `"use strict";\nconst { workerData } = require("node:worker_threads");\n${constants.join("\n")}\n${fns.map((f) => f.toString()).join("\n")}\nworkerLoop(workerData);\n`;
}

/** Generated histogram kernel: one statement per feature per row, so updates of different features interleave. */
export function histKernelSource(d: number, offsets: Int32Array, packed: boolean, direct: boolean): string {
  const lines: string[] = [];
  lines.push("for (let i = s; i < e; i++) {");
  lines.push(`  const r = ${direct ? "i" : "rows[i]"}; const rb = r * ${d};`);
  if (packed) {
    lines.push("  const v = gh[r];");
    for (let f = 0; f < d; f++) lines.push(`  hist[${offsets[f]} + bins[rb + ${f}]] += v;`);
  } else {
    lines.push("  const g = gh[2 * r]; const h = gh[2 * r + 1]; let k;");
    for (let f = 0; f < d; f++) {
      lines.push(
        `  k = ${2 * (offsets[f] as number)} + 2 * bins[rb + ${f}]; hist[k] += g; hist[k + 1] += h;`,
      );
    }
  }
  lines.push("}");
  return lines.join("\n");
}
