import type { BinInfo } from "./binning.js";

/**
 * Best split of one leaf from its histogram, with LightGBM's gain: for a side with gradient sum
 * G and hessian sum H, score = T(G)² / (H + λ2) where T soft-thresholds by λ1; a split's gain is
 * score(left) + score(right) − score(parent) and must exceed min_gain_to_split. Each cut "bin <= k"
 * is tried with the missing-value bin on either side (when the leaf has missing values), and
 * "all numbers | missing" is tried as a split of its own. Without missing values in the leaf,
 * missing values are sent to the larger side.
 *
 * Histograms hold either doubles (g, h interleaved) or packed quantised sums (gq·2^shift + hq,
 * exact integers): sums are kept in histogram units and scaled by gScale / hScale for the gain.
 */
export interface SplitConfig {
  l1: number;
  l2: number;
  minData: number;
  minHess: number;
  minGain: number;
  packed: boolean;
  packShift: number;
  gScale: number;
  hScale: number;
}

export const EPS = 1e-15;

export function leafScore(g: number, h: number, l1: number, l2: number): number {
  if (l1 > 0) {
    const a = Math.abs(g) - l1;
    if (a <= 0) return 0;
    return (a * a) / (h + l2 + EPS);
  }
  return (g * g) / (h + l2 + EPS);
}

export function leafOutput(g: number, h: number, l1: number, l2: number): number {
  let t = g;
  if (l1 > 0) {
    const a = Math.abs(g) - l1;
    t = a <= 0 ? 0 : Math.sign(g) * a;
  }
  return -t / (h + l2 + EPS);
}

/** Per-leaf best split, indexed by leaf id; gain <= 0 (or -Infinity) means "do not split". */
export class SplitTable {
  readonly gain: Float64Array;
  readonly feat: Int32Array;
  readonly bin: Int32Array;
  readonly dl: Uint8Array;
  /** Left side's sums in histogram units. */
  readonly lg: Float64Array;
  readonly lh: Float64Array;

  constructor(maxLeaves: number) {
    this.gain = new Float64Array(maxLeaves).fill(Number.NEGATIVE_INFINITY);
    this.feat = new Int32Array(maxLeaves);
    this.bin = new Int32Array(maxLeaves);
    this.dl = new Uint8Array(maxLeaves);
    this.lg = new Float64Array(maxLeaves);
    this.lh = new Float64Array(maxLeaves);
  }
}

/**
 * Finds leaf `leaf`'s best split over the features in `feats` from the histogram at
 * hist[base..]; G, H are the leaf's sums (histogram units), cnt its row count.
 */
export function findBestSplit(
  t: SplitTable,
  leaf: number,
  hist: Float64Array,
  base: number,
  info: BinInfo,
  feats: Int32Array,
  G: number,
  H: number,
  cnt: number,
  c: SplitConfig,
): void {
  const { l1, l2, minData, minHess, gScale: gs, hScale: hs } = c;
  const cntFactor = H > 0 ? cnt / H : 0;
  const parent = leafScore(G * gs, H * hs, l1, l2);
  let best = Number.NEGATIVE_INFINITY;
  let bFeat = -1;
  let bBin = 0;
  let bDl = 0;
  let bLg = 0;
  let bLh = 0;
  let bNan = false;
  const packed = c.packed;
  const S = c.packShift;
  const invS = 1 / S;
  for (let fi = 0; fi < feats.length; fi++) {
    const f = feats[fi] as number;
    const B = info.numBins[f] as number;
    const o = base + (packed ? (info.offsets[f] as number) : 2 * (info.offsets[f] as number));
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
      {
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
      }
      if (hasNan && k < B - 1) {
        const lg = gl + nanG;
        const lh = hl + nanH;
        const hr = H - lh;
        if (lh * hs >= minHess && hr * hs >= minHess) {
          const lc = Math.floor(lh * cntFactor + 0.5);
          if (lc >= minData && cnt - lc >= minData) {
            const gain = leafScore(lg * gs, lh * hs, l1, l2) + leafScore((G - lg) * gs, hr * hs, l1, l2);
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
  if (bFeat < 0 || !(gain > c.minGain) || !(gain > 0)) {
    t.gain[leaf] = Number.NEGATIVE_INFINITY;
    return;
  }
  t.gain[leaf] = gain;
  t.feat[leaf] = bFeat;
  t.bin[leaf] = bBin;
  // No missing values reached this node: a missing value at prediction time follows the side
  // that held more of the training data (by hessian), not an arbitrary fixed side.
  t.dl[leaf] = bNan ? bDl : bLh >= H - bLh ? 1 : 0;
  t.lg[leaf] = bLg;
  t.lh[leaf] = bLh;
}
