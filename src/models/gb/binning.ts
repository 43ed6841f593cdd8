/**
 * Quantile binning, two ways (`bin_method`):
 * - "greedy" (default), as LightGBM's GreedyFindBin does it: each feature's values are cut into
 *   at most `max_bin` bins of about equal count, a value frequent enough to fill a bin gets one
 *   of its own, and cuts lie halfway between neighbouring distinct values;
 * - "quantile", the candidate splits of the XGBoost paper (Chen & Guestrin 2016, §3.3): cut
 *   values are data values at exact rank quantiles, the j-th one the value of rank
 *   floor(j·m/max_bin), and a row goes left when x < cut.
 * The bins' upper bounds are kept as doubles: a split "bin <= k" is the raw comparison
 * "x <= upper[k]", so prediction needs no binning. Missing values (NaN) get their own bin after
 * the numeric ones.
 */
export interface BinInfo {
  /** Per feature: upper bound of each numeric bin, ascending; the last one is +Infinity. */
  readonly bounds: readonly Float64Array[];
  /** Per feature: number of numeric bins B; bin B holds NaN. */
  readonly numBins: Int32Array;
  /** Per feature: first histogram slot (numeric bins, then the NaN bin). */
  readonly offsets: Int32Array;
  /** Histogram slots over all features. */
  readonly totalBins: number;
}

/** LightGBM's bin_construct_sample_cnt. */
export const BIN_SAMPLE_ROWS = 200_000;

/** Midpoint of a < b that is >= a and < b (so a falls left of the cut and b right of it). */
function cut(a: number, b: number): number {
  const m = a / 2 + b / 2;
  return m >= a && m < b ? m : a;
}

/** Memory for findBinBounds' distinct values and counts (at least m each), reused across features. */
export interface BinScratch {
  distinct: Float64Array;
  counts: Int32Array;
}

/**
 * Upper bounds for sorted non-NaN values `v[0..m)`, at most `maxBin` bins. A feature with one
 * distinct value (or none) gets a single bin. `scratch` spares the allocation of the distinct
 * values and counts (fresh memory is slow to touch the first time on some machines).
 */
export function findBinBounds(
  v: Float64Array,
  m: number,
  maxBin: number,
  scratch?: BinScratch,
): Float64Array {
  // Distinct values and their counts, in typed arrays (this runs on 200k values per feature).
  const distinct = scratch?.distinct ?? new Float64Array(m);
  const counts = scratch?.counts ?? new Int32Array(m);
  if (distinct.length < m || counts.length < m) throw new Error("findBinBounds: scratch is too short");
  let k = 0;
  for (let i = 0; i < m; ) {
    const x = v[i] as number;
    let j = i + 1;
    while (j < m && (v[j] as number) === x) j++;
    distinct[k] = x;
    counts[k] = j - i;
    k++;
    i = j;
  }
  const upper: number[] = [];
  if (k <= maxBin) {
    for (let i = 0; i + 1 < k; i++) upper.push(cut(distinct[i] as number, distinct[i + 1] as number));
  } else {
    // A "big" value fills a bin of its own: its count is at least the mean bin of all values.
    const bigCount = m / maxBin;
    let restBins = maxBin;
    let restCount = m;
    for (let i = 0; i < k; i++) {
      if ((counts[i] as number) >= bigCount) {
        restBins--;
        restCount -= counts[i] as number;
      }
    }
    let meanBin = restBins > 0 ? restCount / restBins : m;
    let inBin = 0;
    for (let i = 0; i + 1 < k; i++) {
      const c = counts[i] as number;
      const big = c >= bigCount;
      if (!big) restCount -= c;
      inBin += c;
      if (
        big ||
        inBin >= meanBin ||
        ((counts[i + 1] as number) >= bigCount && inBin >= Math.max(1, meanBin * 0.5))
      ) {
        upper.push(cut(distinct[i] as number, distinct[i + 1] as number));
        if (upper.length >= maxBin - 1) break;
        inBin = 0;
        if (!big) {
          restBins--;
          meanBin = restBins > 0 ? restCount / restBins : m;
        }
      }
    }
  }
  upper.push(Number.POSITIVE_INFINITY);
  return Float64Array.from(upper);
}

/** Bin bound schemes; see the top of this file. */
export type BinMethod = "greedy" | "quantile";

/** The largest double below x (finite x): "y <= nextDown(x)" is "y < x" for every double y. */
export function nextDown(x: number): number {
  if (x === 0) return -Number.MIN_VALUE;
  const buf = new DataView(new ArrayBuffer(8));
  buf.setFloat64(0, x);
  const bits = buf.getBigUint64(0);
  // The bit pattern of a positive double grows with it, of a negative one with its magnitude.
  buf.setBigUint64(0, x > 0 ? bits - 1n : bits + 1n);
  return buf.getFloat64(0);
}

/**
 * Upper bounds for sorted non-NaN values `v[0..m)` by exact rank quantiles, at most `maxBin`
 * bins. The j-th cut (j = 1 .. maxBin-1) is v[floor(j·m/maxBin)], so about j·m/maxBin values lie
 * below it; a value at or below the minimum, or equal to the previous cut, is dropped (ties
 * merge bins). With at most `maxBin` distinct values every distinct value but the first is a cut.
 * The bin left of cut c ends at nextDown(c): "x <= upper" is "x < c".
 */
export function findQuantileBounds(v: Float64Array, m: number, maxBin: number): Float64Array {
  const upper: number[] = [];
  if (m > 0) {
    let prev = v[0] as number;
    let distinct = 1;
    for (let i = 1; i < m && distinct <= maxBin; i++)
      if ((v[i] as number) !== (v[i - 1] as number)) distinct++;
    if (distinct <= maxBin) {
      for (let i = 1; i < m; i++) {
        const x = v[i] as number;
        if (x !== prev) upper.push(nextDown(x));
        prev = x;
      }
    } else {
      for (let j = 1; j < maxBin; j++) {
        const x = v[Math.floor((j * m) / maxBin)] as number;
        if (x > prev) {
          upper.push(nextDown(x));
          prev = x;
        }
      }
    }
  }
  upper.push(Number.POSITIVE_INFINITY);
  return Float64Array.from(upper);
}

/** Upper bounds of one feature's bins by `method`, from its sorted non-NaN values v[0..m). */
export function binBounds(
  v: Float64Array,
  m: number,
  maxBin: number,
  method: BinMethod,
  scratch?: BinScratch,
): Float64Array {
  return method === "quantile" ? findQuantileBounds(v, m, maxBin) : findBinBounds(v, m, maxBin, scratch);
}

/**
 * Every feature gets `stride` histogram slots (max_bin + 1), whatever its bin count: the layout,
 * and so the histogram kernel, is then known before the data is binned.
 */
export function featureOffsets(d: number, stride: number): Int32Array {
  const offsets = new Int32Array(d);
  for (let f = 0; f < d; f++) offsets[f] = f * stride;
  return offsets;
}

export function makeBinInfo(bounds: readonly Float64Array[], stride: number): BinInfo {
  const d = bounds.length;
  const numBins = new Int32Array(d);
  for (let f = 0; f < d; f++) {
    const b = (bounds[f] as Float64Array).length;
    if (b + 1 > stride)
      throw new Error(`gb: feature ${f} has ${b} bins, more than the layout's ${stride - 1}`);
    numBins[f] = b;
  }
  return { bounds, numBins, offsets: featureOffsets(d, stride), totalBins: d * stride };
}

/** Bin of x: the first j with x <= bounds[j]; NaN → bounds.length. */
export function binOf(bounds: Float64Array, x: number): number {
  if (Number.isNaN(x)) return bounds.length;
  let lo = 0;
  let hi = bounds.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (x <= (bounds[mid] as number)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * Writes the bins of rows [r0, r1) of one feature into out[r0..r1) and returns how many were
 * NaN. A uniform grid over the finite bounds narrows each search to the bins its cell overlaps;
 * where many bins share a cell (a skewed feature's dense range) the search steps 8 bins at a
 * time before the last few. Several times faster than a binary search per value.
 */
export function binFeature(
  col: Float64Array,
  bounds: Float64Array,
  out: Uint8Array,
  r0: number,
  r1: number,
): number {
  const nb = bounds.length;
  const nanBin = nb;
  let nans = 0;
  if (nb === 1) {
    for (let r = r0; r < r1; r++) {
      const isNan = Number.isNaN(col[r] as number);
      if (isNan) nans++;
      out[r] = isNan ? nanBin : 0;
    }
    return nans;
  }
  const lo = bounds[0] as number;
  const hi = bounds[nb - 2] as number;
  const cells = Math.min(4096, 8 * nb);
  const width = (hi - lo) / cells;
  if (!(width > 0) || !Number.isFinite(width)) {
    for (let r = r0; r < r1; r++) {
      const b = binOf(bounds, col[r] as number);
      if (b === nanBin) nans++;
      out[r] = b;
    }
    return nans;
  }
  const inv = 1 / width;
  // start[c]: a bin no greater than the bin of any value whose computed cell is c. Built from
  // the cell below (c - 1) so that rounding in the cell computation cannot skip a bin.
  const start = new Int32Array(cells + 1);
  let j = 0;
  for (let c = 0; c <= cells; c++) {
    const edge = lo + (c - 1) * width;
    while (j < nb - 1 && (bounds[j] as number) < edge) j++;
    start[c] = c === 0 ? 0 : j;
  }
  for (let r = r0; r < r1; r++) {
    const x = col[r] as number;
    let b: number;
    if (Number.isNaN(x)) {
      b = nanBin;
      nans++;
    } else if (x <= lo) b = 0;
    else if (x > hi) b = nb - 1;
    else {
      let c = Math.floor((x - lo) * inv);
      if (c > cells) c = cells;
      b = start[c] as number;
      // bounds[nb - 1] is +Infinity, so neither loop passes it
      while (b + 8 < nb && x > (bounds[b + 8] as number)) b += 8;
      while (x > (bounds[b] as number)) b++;
    }
    out[r] = b;
  }
  return nans;
}

/**
 * Row-major copy (row r, feature f at r·d + f) of the column-major bins `cols` (feature f's
 * rows at f·n ..), a block of rows at a time so that the block's rows stay in cache.
 */
export function binsRowMajor(cols: Uint8Array, out: Uint8Array, n: number, d: number): void {
  const BLOCK = 4096;
  for (let r0 = 0; r0 < n; r0 += BLOCK) {
    const r1 = Math.min(n, r0 + BLOCK);
    for (let f = 0; f < d; f++) {
      const o = f * n;
      for (let r = r0, at = r0 * d + f; r < r1; r++, at += d) out[at] = cols[o + r] as number;
    }
  }
}
