import type { BinInfo } from "./binning.js";
import { JOB, JP, type Views } from "./kernels.js";
import type { SplitConfig } from "./split.js";
import type { Team } from "./team.js";

/** Rows below which a job is not worth splitting across threads. */
const PARALLEL_ROWS = 8192;
/** Histogram jobs are split into 1, 2 or 4 parts by size only, so models do not depend on the thread count. */
const MAX_HIST_PARTS = 4;

export function histParts(rows: number): number {
  if (rows < PARALLEL_ROWS) return 1;
  if (rows < 8 * PARALLEL_ROWS) return 2;
  return MAX_HIST_PARTS;
}

/**
 * Leaf-wise (best-first) growth of one tree, as LightGBM grows them: the leaf with the largest
 * gain is split next, until num_leaves leaves (or no leaf has a split with positive gain). Rows
 * are kept grouped by leaf in v.rows (leaf l holds positions start[l]..start[l]+cnt[l]); only the
 * smaller child's histogram is built from rows, the larger one is parent minus smaller.
 *
 * The tree is left in v.tFeat/tBin/tDl/tLeft/tRight (children: >= 0 node, < 0 ~leaf), each
 * row's leaf in v.leafOf (which must be all 0 when growth starts), and the leaves' sums and rows
 * in this object.
 */
export class TreeGrower {
  readonly start: Int32Array;
  readonly cnt: Int32Array;
  readonly G: Float64Array;
  readonly H: Float64Array;
  readonly depth: Int32Array;
  numLeaves = 0;
  numInternal = 0;
  /** Work counters over the grower's life (rows partitioned, rows histogrammed), for debug logs. */
  rowsPartitioned = 0;
  rowsHistogrammed = 0;
  /** Milliseconds spent in histograms (incl. subtraction), partitions and split search. */
  msHist = 0;
  msPartition = 0;
  msSplit = 0;
  msMerge = 0;
  private readonly parentNode: Int32Array;
  private readonly isRight: Uint8Array;
  private readonly slotOf: Int32Array;
  private readonly freeSlots: number[] = [];
  private readonly scratchBase: number;
  /** One view over the row list and its partition buffer (JavaScript fallback of moveRows). */
  private readonly lists: Int32Array;
  /**
   * True when the root holds rows 0..n-1 in order (no bagging): its histogram and partition then
   * read no row list, and the list need not be reset between trees.
   */
  rootIsIdentity = false;

  constructor(
    private readonly v: Views,
    private readonly team: Team,
    private readonly info: BinInfo,
    private readonly cfg: SplitConfig,
    private readonly maxLeaves: number,
    private readonly maxDepth: number,
    slots: number,
  ) {
    this.start = new Int32Array(maxLeaves);
    this.cnt = new Int32Array(maxLeaves);
    this.G = new Float64Array(maxLeaves);
    this.H = new Float64Array(maxLeaves);
    this.depth = new Int32Array(maxLeaves);
    this.parentNode = new Int32Array(maxLeaves);
    this.isRight = new Uint8Array(maxLeaves);
    this.slotOf = new Int32Array(maxLeaves);
    this.scratchBase = slots * v.slotSize;
    this.lists = new Int32Array(v.rows.buffer, v.layout.rows, (v.layout.tmp - v.layout.rows) / 4 + v.n);
    const jp = v.jp;
    jp[JP.l1] = cfg.l1;
    jp[JP.l2] = cfg.l2;
    jp[JP.minData] = cfg.minData;
    jp[JP.minHess] = cfg.minHess;
    jp[JP.minGain] = cfg.minGain;
    jp[JP.packShift] = cfg.packShift;
    jp[JP.gScale] = cfg.gScale;
    jp[JP.hScale] = cfg.hScale;
    jp[JP.nFeats] = 0;
    for (let s = slots - 1; s >= 0; s--) this.freeSlots.push(s);
  }

  /** Features a split may use in the trees grown from now on. */
  setFeatures(feats: ArrayLike<number>): void {
    this.v.feats.set(feats);
    this.v.jp[JP.nFeats] = feats.length;
  }

  /** Grows a tree over the rows at positions [0, nRows) of v.rows. Returns the number of leaves. */
  grow(nRows: number): number {
    const v = this.v;
    for (let l = 0; l < this.numLeaves; l++) this.releaseSlot(l);
    this.numLeaves = 1;
    this.numInternal = 0;
    this.start[0] = 0;
    this.cnt[0] = nRows;
    this.depth[0] = 0;
    this.parentNode[0] = -1;
    this.isRight[0] = 0;
    this.slotOf[0] = -1;
    v.sGain[0] = Number.NEGATIVE_INFINITY;
    const slot = this.takeSlot();
    this.slotOf[0] = slot;
    this.buildHist(slot, 0, nRows, this.rootIsIdentity);
    this.rootSums(slot);
    if (this.splittable(0)) this.findSplits([0]);
    while (this.numLeaves < this.maxLeaves) {
      let best = -1;
      let bestGain = 0;
      for (let l = 0; l < this.numLeaves; l++) {
        const g = v.sGain[l] as number;
        if (g > bestGain) {
          bestGain = g;
          best = l;
        }
      }
      if (best < 0) break;
      this.split(best);
    }
    v.jp[JP.kind] = JOB.none;
    return this.numLeaves;
  }

  private rootSums(slot: number): void {
    const v = this.v;
    const base = slot * v.slotSize;
    // Every row falls in exactly one bin of feature 0 (its NaN bin included).
    const B = (this.info.numBins[0] as number) + 1;
    let g = 0;
    let h = 0;
    if (this.cfg.packed) {
      let sum = 0;
      for (let k = 0; k < B; k++) sum += v.hist[base + k] as number;
      g = Math.floor(sum / this.cfg.packShift);
      h = sum - g * this.cfg.packShift;
    } else {
      for (let k = 0; k < B; k++) {
        g += v.hist[base + 2 * k] as number;
        h += v.hist[base + 2 * k + 1] as number;
      }
    }
    this.G[0] = g;
    this.H[0] = h;
  }

  private splittable(l: number): boolean {
    const c = this.cfg;
    return (
      (this.cnt[l] as number) >= 2 * Math.max(1, c.minData) &&
      (this.H[l] as number) * c.hScale >= 2 * c.minHess &&
      (this.maxDepth <= 0 || (this.depth[l] as number) < this.maxDepth)
    );
  }

  /** Best splits of the given leaves (one or a split's two children, searched in parallel). */
  private findSplits(leaves: number[]): void {
    const v = this.v;
    const jp = v.jp;
    for (const l of leaves) {
      if ((this.slotOf[l] as number) < 0) {
        // Evicted earlier for want of memory: rebuild from the leaf's rows.
        const slot = this.takeSlot();
        this.slotOf[l] = slot;
        this.buildHist(slot, this.start[l] as number, (this.start[l] as number) + (this.cnt[l] as number));
      }
    }
    const t0 = performance.now();
    jp[JP.kind] = JOB.split;
    const S = JP.split;
    leaves.forEach((l, p) => {
      const o = S.leaves + S.stride * p;
      jp[o + S.leaf] = l;
      jp[o + S.base] = (this.slotOf[l] as number) * v.slotSize;
      jp[o + S.g] = this.G[l] as number;
      jp[o + S.h] = this.H[l] as number;
      jp[o + S.count] = this.cnt[l] as number;
    });
    this.team.run(leaves.length);
    this.msSplit += performance.now() - t0;
    for (const l of leaves) if (!((v.sGain[l] as number) > 0)) this.releaseSlot(l);
  }

  private split(l: number): void {
    const v = this.v;
    const f = v.sFeat[l] as number;
    const k = v.sBin[l] as number;
    const dl = v.sDl[l] as number;
    const s = this.start[l] as number;
    const c = this.cnt[l] as number;
    const r = this.numLeaves++;
    // The root's rows are 0..n-1 when not bagging: the first partition reads no row list.
    const nl = this.partition(s, s + c, f, k, dl, r, this.rootIsIdentity && this.numInternal === 0);
    const node = this.numInternal++;
    v.tFeat[node] = f;
    v.tBin[node] = k;
    v.tDl[node] = dl;
    v.tLeft[node] = ~l;
    v.tRight[node] = ~r;
    const pn = this.parentNode[l] as number;
    if (pn >= 0) {
      if (this.isRight[l]) v.tRight[pn] = node;
      else v.tLeft[pn] = node;
    }
    this.parentNode[l] = node;
    this.isRight[l] = 0;
    this.parentNode[r] = node;
    this.isRight[r] = 1;
    this.start[r] = s + nl;
    this.cnt[r] = c - nl;
    this.cnt[l] = nl;
    const lg = v.sLg[l] as number;
    const lh = v.sLh[l] as number;
    this.G[r] = (this.G[l] as number) - lg;
    this.H[r] = (this.H[l] as number) - lh;
    this.G[l] = lg;
    this.H[l] = lh;
    const depth = (this.depth[l] as number) + 1;
    this.depth[l] = depth;
    this.depth[r] = depth;
    v.sGain[l] = Number.NEGATIVE_INFINITY;
    v.sGain[r] = Number.NEGATIVE_INFINITY;
    // The parent's histogram becomes the larger child's; detached so that eviction cannot take it.
    const parentSlot = this.slotOf[l] as number;
    this.slotOf[l] = -1;
    this.slotOf[r] = -1;
    const canL = this.numLeaves < this.maxLeaves && this.splittable(l);
    const canR = this.numLeaves < this.maxLeaves && this.splittable(r);
    if (!canL && !canR) {
      if (parentSlot >= 0) this.freeSlots.push(parentSlot);
      return;
    }
    const small = nl <= c - nl ? l : r;
    const large = small === l ? r : l;
    const smallSlot = this.takeSlot();
    this.buildHist(
      smallSlot,
      this.start[small] as number,
      (this.start[small] as number) + (this.cnt[small] as number),
    );
    if (parentSlot >= 0) {
      const t0 = performance.now();
      const size = v.slotSize;
      const pb = parentSlot * size;
      const sb = smallSlot * size;
      if (v.wasm !== undefined) v.wasm.histSub(v.layout.hist + 8 * pb, v.layout.hist + 8 * sb, 8 * size);
      else {
        const hist = v.hist;
        for (let i = 0; i < size; i++) hist[pb + i] = (hist[pb + i] as number) - (hist[sb + i] as number);
      }
      this.msHist += performance.now() - t0;
    }
    this.slotOf[small] = smallSlot;
    this.slotOf[large] = parentSlot;
    if (!canL) this.releaseSlot(l);
    if (!canR) this.releaseSlot(r);
    this.findSplits(canL && canR ? [l, r] : canL ? [l] : [r]);
  }

  /** Stable partition of positions [s, e) by the split; returns the left count. */
  private partition(
    s: number,
    e: number,
    f: number,
    k: number,
    dl: number,
    rightLeaf: number,
    direct: boolean,
  ): number {
    const v = this.v;
    this.rowsPartitioned += e - s;
    const t0 = performance.now();
    const jp = v.jp;
    jp[JP.kind] = JOB.partition;
    jp[JP.partition.start] = s;
    jp[JP.partition.end] = e;
    jp[JP.partition.feature] = f;
    jp[JP.partition.bin] = k;
    jp[JP.partition.defaultLeft] = dl;
    jp[JP.partition.rightLeaf] = rightLeaf;
    jp[JP.partition.direct] = direct ? 1 : 0;
    const parts = e - s < PARALLEL_ROWS ? 1 : this.team.threads;
    this.team.run(parts);
    const t1 = performance.now();
    // Each part left its left rows in place and its right rows in tmp: gather lefts, then rights.
    let pos = s;
    const bounds: number[] = [];
    for (let p = 0; p <= parts; p++) bounds.push(s + Math.floor(((e - s) * p) / parts));
    for (let p = 0; p < parts; p++) {
      const a = bounds[p] as number;
      const nl = v.ji[p] as number;
      if (pos !== a) this.moveRows(v.layout.rows, pos, v.layout.rows, a, nl);
      pos += nl;
    }
    const nLeft = pos - s;
    for (let p = 0; p < parts; p++) {
      const a = bounds[p] as number;
      const b = bounds[p + 1] as number;
      const nr = b - a - (v.ji[p] as number);
      this.moveRows(v.layout.rows, pos, v.layout.tmp, a, nr);
      pos += nr;
    }
    const t2 = performance.now();
    this.msPartition += t2 - t0;
    this.msMerge += t2 - t1;
    return nLeft;
  }

  /**
   * Copies n row ids from the list at byte offset `srcList` (position `from`) to `dstList`
   * (position `to`); the ranges may overlap. Typed-array copies between views of one shared
   * buffer take a slow element-wise path in V8, so this is memmove in wasm or a plain loop.
   */
  private moveRows(dstList: number, to: number, srcList: number, from: number, n: number): void {
    if (n <= 0) return;
    const v = this.v;
    if (v.wasm !== undefined) {
      v.wasm.move(dstList + 4 * to, srcList + 4 * from, 4 * n);
      return;
    }
    // rows and tmp are adjacent in the heap: one view over both makes this a single memmove.
    const base = v.layout.rows;
    this.lists.copyWithin(
      (dstList - base) / 4 + to,
      (srcList - base) / 4 + from,
      (srcList - base) / 4 + from + n,
    );
  }

  private buildHist(slot: number, s: number, e: number, direct = false): void {
    const v = this.v;
    this.rowsHistogrammed += e - s;
    const t0 = performance.now();
    const jp = v.jp;
    const parts = histParts(e - s);
    jp[JP.kind] = JOB.hist;
    jp[JP.hist.start] = s;
    jp[JP.hist.end] = e;
    jp[JP.hist.dest] = slot * v.slotSize;
    jp[JP.hist.scratch] = this.scratchBase;
    jp[JP.hist.direct] = direct ? 1 : 0;
    this.team.run(parts);
    if (parts > 1) {
      const hist = v.hist;
      const size = v.slotSize;
      const db = slot * size;
      for (let p = 1; p < parts; p++) {
        const sb = this.scratchBase + (p - 1) * size;
        if (v.wasm !== undefined) v.wasm.histAdd(v.layout.hist + 8 * db, v.layout.hist + 8 * sb, 8 * size);
        else
          for (let i = 0; i < size; i++) hist[db + i] = (hist[db + i] as number) + (hist[sb + i] as number);
      }
    }
    this.msHist += performance.now() - t0;
  }

  private takeSlot(): number {
    const s = this.freeSlots.pop();
    if (s !== undefined) return s;
    // Out of histogram memory: evict the splittable leaf with the smallest gain (rebuilt if chosen).
    let victim = -1;
    let low = Number.POSITIVE_INFINITY;
    for (let l = 0; l < this.numLeaves; l++) {
      if ((this.slotOf[l] as number) >= 0 && (this.v.sGain[l] as number) < low) {
        low = this.v.sGain[l] as number;
        victim = l;
      }
    }
    if (victim < 0) throw new Error("gb: no histogram slot available");
    const slot = this.slotOf[victim] as number;
    this.slotOf[victim] = -1;
    return slot;
  }

  private releaseSlot(l: number): void {
    const s = this.slotOf[l] as number;
    if (s >= 0) {
      this.freeSlots.push(s);
      this.slotOf[l] = -1;
    }
  }
}
