/**
 * Split search settings and leaf values, with LightGBM's formulas; the search itself
 * (`bestSplit`) is in kernels.ts so that worker threads run it too.
 *
 * Histograms hold either doubles (g, h interleaved) or packed quantised sums (gq·2^shift + hq,
 * exact integers): sums are kept in histogram units and scaled by gScale / hScale.
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

/** Leaf value −T(G) / (H + λ2), T soft-thresholding by λ1 (before the learning rate). */
export function leafOutput(g: number, h: number, l1: number, l2: number): number {
  let t = g;
  if (l1 > 0) {
    const a = Math.abs(g) - l1;
    t = a <= 0 ? 0 : Math.sign(g) * a;
  }
  return -t / (h + l2 + EPS);
}
