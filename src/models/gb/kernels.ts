/**
 * The hot loops of training, run by the main thread and by worker threads over the same shared
 * memory. Every function here is self-contained (no imports, no module-level references): the
 * worker is started from their source text (`Function.prototype.toString`), so the code in
 * both threads is literally the same and no worker file has to be resolved at run time.
 *
 * Work is split into parts by position only (never by thread count), and partial histograms are
 * summed in part order, so a model does not depend on how many threads trained it.
 */

/** Shared buffers and sizes of one training run; structured-cloneable (sent to workers). */
export interface WsData {
  n: number;
  d: number;
  nTrain: number;
  /** 0 binary (e holds exp(-score)), 1 regression (e holds the score). */
  objective: number;
  /** 1: gh holds one packed quantised (gradient, hessian) per row; 0: interleaved doubles. */
  packed: number;
  /** Doubles per histogram (totalBins × channels). */
  slotSize: number;
  histSrc: string;
  bins: SharedArrayBuffer;
  binsCol: SharedArrayBuffer;
  rows: SharedArrayBuffer;
  tmp: SharedArrayBuffer;
  gh: SharedArrayBuffer;
  e: SharedArrayBuffer;
  y: SharedArrayBuffer;
  hist: SharedArrayBuffer;
  jp: SharedArrayBuffer;
  ji: SharedArrayBuffer;
  leafOf: SharedArrayBuffer;
  lMul: SharedArrayBuffer;
  tFeat: SharedArrayBuffer;
  tBin: SharedArrayBuffer;
  tDl: SharedArrayBuffer;
  tLeft: SharedArrayBuffer;
  tRight: SharedArrayBuffer;
  nanBin: SharedArrayBuffer;
  sample: SharedArrayBuffer;
  sampleM: number;
}

export type HistKernel = (
  hist: Float64Array,
  gh: Float64Array,
  bins: Uint8Array,
  rows: Int32Array,
  s: number,
  e: number,
) => void;

export interface Views {
  n: number;
  d: number;
  nTrain: number;
  objective: number;
  packed: number;
  slotSize: number;
  /** Row-major bins (row r, feature f at r·d + f): one cache line per row for histograms. */
  bins: Uint8Array;
  /** The same bins column-major (f·n + r): partitions read one feature of many rows. */
  binsCol: Uint8Array;
  rows: Int32Array;
  tmp: Int32Array;
  gh: Float64Array;
  e: Float64Array;
  y: Float64Array;
  hist: Float64Array;
  jp: Float64Array;
  ji: Int32Array;
  /** Leaf of each row in the tree being grown (partitions write it for rows going right). */
  leafOf: Int32Array;
  lMul: Float64Array;
  tFeat: Int32Array;
  tBin: Int32Array;
  tDl: Int32Array;
  tLeft: Int32Array;
  tRight: Int32Array;
  nanBin: Int32Array;
  sample: Float64Array;
  sampleM: number;
  histKernel: HistKernel;
}

/** Job kinds; the worker's dispatcher (`runPart`) spells the same numbers. */
export const JOB = { hist: 1, partition: 2, updateLeaves: 3, updateTraverse: 4, sort: 5, quit: 9 } as const;

/** jp slots. */
export const JP = {
  kind: 0,
  parts: 1,
  a: 2,
  b: 3,
  c: 4,
  d: 5,
  e: 6,
  wPos: 20,
  wNeg: 21,
  iterSeed: 22,
  invGs: 23,
  invHs: 24,
  packShift: 25,
} as const;

export function makeViews(w: WsData): Views {
  return {
    n: w.n,
    d: w.d,
    nTrain: w.nTrain,
    objective: w.objective,
    packed: w.packed,
    slotSize: w.slotSize,
    bins: new Uint8Array(w.bins),
    binsCol: new Uint8Array(w.binsCol),
    rows: new Int32Array(w.rows),
    tmp: new Int32Array(w.tmp),
    gh: new Float64Array(w.gh),
    e: new Float64Array(w.e),
    y: new Float64Array(w.y),
    hist: new Float64Array(w.hist),
    jp: new Float64Array(w.jp),
    ji: new Int32Array(w.ji),
    leafOf: new Int32Array(w.leafOf),
    lMul: new Float64Array(w.lMul),
    tFeat: new Int32Array(w.tFeat),
    tBin: new Int32Array(w.tBin),
    tDl: new Int32Array(w.tDl),
    tLeft: new Int32Array(w.tLeft),
    tRight: new Int32Array(w.tRight),
    nanBin: new Int32Array(w.nanBin),
    sample: new Float64Array(w.sample),
    sampleM: w.sampleM,
    // biome-ignore lint/security/noGlobalEval: a histogram kernel unrolled over the features, generated per training run
    histKernel: new Function("hist", "gh", "bins", "rows", "s", "e", w.histSrc) as HistKernel,
  };
}

/** Start of part p of P over [s, e). */
export function partStart(s: number, e: number, p: number, parts: number): number {
  return s + Math.floor(((e - s) * p) / parts);
}

/** Runs part p of the job described in jp. */
export function runPart(v: Views, p: number): void {
  const jp = v.jp;
  const kind = jp[0] as number;
  const parts = jp[1] as number;
  if (kind === 1) histPart(v, p, parts);
  else if (kind === 2) partitionPart(v, p, parts);
  else if (kind === 3) updateLeavesPart(v, p, parts);
  else if (kind === 4) updateTraversePart(v, p, parts);
  else if (kind === 5) sortPart(v, p, parts);
}

/** Part p's histogram of rows[s..e): part 0 into the destination slot, part p > 0 into scratch p-1. */
export function histPart(v: Views, p: number, parts: number): void {
  const jp = v.jp;
  const s = jp[2] as number;
  const e = jp[3] as number;
  const base = p === 0 ? (jp[4] as number) : (jp[5] as number) + (p - 1) * v.slotSize;
  const h = v.hist.subarray(base, base + v.slotSize);
  h.fill(0);
  const ps = s + Math.floor(((e - s) * p) / parts);
  const pe = s + Math.floor(((e - s) * (p + 1)) / parts);
  v.histKernel(h, v.gh, v.bins, v.rows, ps, pe);
}

/**
 * Stable partition of part p of rows[s..e) by the split (feature, bin, default-left): rows going
 * left stay in place at the front of the part, rows going right go to tmp at the part's start
 * and are marked in leafOf with the right child's leaf id (jp[7]). ji[p] receives the part's
 * left count.
 */
export function partitionPart(v: Views, p: number, parts: number): void {
  const jp = v.jp;
  const s = jp[2] as number;
  const e = jp[3] as number;
  const f = jp[4] as number;
  const k = jp[5] as number;
  const dl = jp[6] as number;
  const rightLeaf = jp[7] as number;
  const leafOf = v.leafOf;
  const nan = v.nanBin[f] as number;
  const ps = s + Math.floor(((e - s) * p) / parts);
  const pe = s + Math.floor(((e - s) * (p + 1)) / parts);
  const rows = v.rows;
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
    h = pr * (1 - pr);
    h = (h > 1e-16 ? h : 1e-16) * w;
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
 * Applies each row's leaf update (leafOf → lMul) to rows [0, jp[3]) in row order, streaming, and
 * recomputes their gradients; leafOf is reset to 0 for the next tree.
 */
export function updateLeavesPart(v: Views, p: number, parts: number): void {
  const jp = v.jp;
  const total = jp[3] as number;
  const ps = Math.floor((total * p) / parts);
  const pe = Math.floor((total * (p + 1)) / parts);
  const e = v.e;
  const y = v.y;
  const gh = v.gh;
  const leafOf = v.leafOf;
  const mul = v.lMul;
  const regression = v.objective !== 0;
  const packed = v.packed !== 0;
  const wPos = jp[20] as number;
  const wNeg = jp[21] as number;
  const seed = (jp[22] as number) | 0;
  const invGs = jp[23] as number;
  const invHs = jp[24] as number;
  const shift = jp[25] as number;
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
 * rows below nTrain also get new gradients. jp[4] = number of internal nodes (0: one leaf).
 */
export function updateTraversePart(v: Views, p: number, parts: number): void {
  const jp = v.jp;
  const a = jp[2] as number;
  const b = jp[3] as number;
  const internal = jp[4] as number;
  const ps = a + Math.floor(((b - a) * p) / parts);
  const pe = a + Math.floor(((b - a) * (p + 1)) / parts);
  const e = v.e;
  const y = v.y;
  const gh = v.gh;
  const regression = v.objective !== 0;
  const packed = v.packed !== 0;
  const wPos = jp[20] as number;
  const wNeg = jp[21] as number;
  const seed = (jp[22] as number) | 0;
  const invGs = jp[23] as number;
  const invHs = jp[24] as number;
  const shift = jp[25] as number;
  const nTrain = v.nTrain;
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

/** Sorts each feature's bin-construction sample (features split between parts). */
export function sortPart(v: Views, p: number, parts: number): void {
  const d = v.d;
  const m = v.sampleM;
  const f0 = Math.floor((d * p) / parts);
  const f1 = Math.floor((d * (p + 1)) / parts);
  for (let f = f0; f < f1; f++) v.sample.subarray(f * m, (f + 1) * m).sort();
}

/**
 * Claims and runs parts of the current job until none is left. ctrl[1] holds (job tag << 12 |
 * next part): a claim is a compare-and-swap that only succeeds for the job the caller saw, so a
 * thread that wakes late can neither take a part of a newer job by mistake nor run one twice.
 * ctrl[2] counts finished parts; ctrl[15] flags an error (its text in errBytes).
 */
export function claimParts(v: Views, ctrl: Int32Array, tag: number, errBytes: Uint8Array): void {
  for (;;) {
    const cur = Atomics.load(ctrl, 1);
    if (cur >>> 12 !== tag) return;
    const p = cur & 0xfff;
    if (p >= (v.jp[1] as number)) return;
    if (Atomics.compareExchange(ctrl, 1, cur, cur + 1) !== cur) continue;
    try {
      runPart(v, p);
    } catch (err) {
      const msg = new TextEncoder()
        .encode(String(err instanceof Error ? err.stack : err))
        .subarray(0, errBytes.length - 1);
      errBytes.set(msg);
      Atomics.store(ctrl, 15, 1);
    }
    Atomics.add(ctrl, 2, 1);
    Atomics.notify(ctrl, 2);
  }
}

/**
 * Worker thread body: waits for a new job tag in ctrl[0] (spinning first, because jobs arrive
 * tens of microseconds apart while a tree grows), then claims parts alongside the main thread.
 * Job kind 9 ends the thread.
 */
export function workerLoop(data: { ws: WsData; ctrl: SharedArrayBuffer; err: SharedArrayBuffer }): void {
  const ctrl = new Int32Array(data.ctrl);
  const errBytes = new Uint8Array(data.err);
  const v = makeViews(data.ws);
  let seen = 0;
  for (;;) {
    let spins = 0;
    while (Atomics.load(ctrl, 0) === seen) {
      if (++spins > 100000) {
        Atomics.wait(ctrl, 0, seen, 20);
        spins = 0;
      }
    }
    seen = Atomics.load(ctrl, 0);
    if ((v.jp[0] as number) === 9) return;
    claimParts(v, ctrl, seen, errBytes);
  }
}

/** Source text of the worker: the functions above plus a call of workerLoop. */
export function workerSource(): string {
  const fns = [
    makeViews,
    partStart,
    runPart,
    histPart,
    partitionPart,
    writeGrad,
    updateLeavesPart,
    leafOfRow,
    updateTraversePart,
    sortPart,
    claimParts,
    workerLoop,
  ];
  return `"use strict";\nconst { workerData } = require("node:worker_threads");\n${fns.map((f) => f.toString()).join("\n")}\nworkerLoop(workerData);\n`;
}

/** Generated histogram kernel: one statement per feature per row, so updates of different features interleave. */
export function histKernelSource(d: number, offsets: Int32Array, packed: boolean): string {
  const lines: string[] = [];
  lines.push("for (let i = s; i < e; i++) {");
  lines.push(`  const r = rows[i]; const rb = r * ${d};`);
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
