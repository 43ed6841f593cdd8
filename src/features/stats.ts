/**
 * Rolling-window statistics with the numbers of the Python stack the original runs on (numpy,
 * pandas, scipy). Every kernel reads a contiguous run `x[lo .. lo+n-1]` and may use `tmp` (length
 * ≥ n) as scratch, so batch and streaming code call the very same function on the very same
 * values and agree bit for bit.
 *
 * Sums are numpy's: pairwise summation in blocks of 8192 (`np.add.reduce` over a contiguous float64
 * run), reproduced exactly, so means, variances and moments round the way numpy's do and ties
 * (`x < mean` in lsbm) fall on the same side.
 */

/** Signature of a window statistic: the value over `x[lo .. lo+n-1]` (n ≥ 1). */
export type WindowFn = (x: Float64Array, lo: number, n: number, tmp: Float64Array) => number;

/** numpy's `pairwise_sum` for one buffer of at most 8192 values (loops_utils.h). */
function pairwise(a: Float64Array, lo: number, n: number): number {
  if (n < 8) {
    let res = 0;
    for (let i = lo; i < lo + n; i++) res += a[i] as number;
    return res;
  }
  if (n <= 128) {
    let r0 = a[lo] as number;
    let r1 = a[lo + 1] as number;
    let r2 = a[lo + 2] as number;
    let r3 = a[lo + 3] as number;
    let r4 = a[lo + 4] as number;
    let r5 = a[lo + 5] as number;
    let r6 = a[lo + 6] as number;
    let r7 = a[lo + 7] as number;
    const end = lo + n - (n % 8);
    let i = lo + 8;
    for (; i < end; i += 8) {
      r0 += a[i] as number;
      r1 += a[i + 1] as number;
      r2 += a[i + 2] as number;
      r3 += a[i + 3] as number;
      r4 += a[i + 4] as number;
      r5 += a[i + 5] as number;
      r6 += a[i + 6] as number;
      r7 += a[i + 7] as number;
    }
    let res = r0 + r1 + (r2 + r3) + (r4 + r5 + (r6 + r7));
    for (; i < lo + n; i++) res += a[i] as number;
    return res;
  }
  let n2 = n >> 1;
  n2 -= n2 % 8;
  return pairwise(a, lo, n2) + pairwise(a, lo + n2, n - n2);
}

/** `np.sum` of a contiguous float64 run, bit for bit (numpy reduces in buffers of 8192). */
export function npSum(a: Float64Array, lo: number, n: number): number {
  if (n <= 8192) return pairwise(a, lo, n);
  let acc = pairwise(a, lo, 8192);
  for (let s = 8192; s < n; s += 8192) acc += pairwise(a, lo + s, Math.min(8192, n - s));
  return acc;
}

/** `np.mean` / `np.nanmean` of a NaN-free run. */
export const mean: WindowFn = (x, lo, n) => npSum(x, lo, n) / n;

/** `np.nanstd` (ddof 0, population) of a NaN-free run. */
export const std: WindowFn = (x, lo, n, tmp) => {
  const m = npSum(x, lo, n) / n;
  for (let i = 0; i < n; i++) {
    const d = (x[lo + i] as number) - m;
    tmp[i] = d * d;
  }
  return Math.sqrt(npSum(tmp, 0, n) / n);
};

/** Deviations from the numpy mean, raised to `power` (2, 3 or 4) as scipy and pandas form them. */
function centralSum(
  x: Float64Array,
  lo: number,
  n: number,
  m: number,
  power: 2 | 3 | 4,
  tmp: Float64Array,
): number {
  for (let i = 0; i < n; i++) {
    const d = (x[lo + i] as number) - m;
    const d2 = d * d;
    tmp[i] = power === 2 ? d2 : power === 3 ? d2 * d : d2 * d2;
  }
  return npSum(tmp, 0, n);
}

/** float64 `resolution` that scipy uses to call a variance zero. */
const RESOLUTION = 1e-15;

/** `scipy.stats.skew(x, bias=bias)` (scipy 1.10): NaN for a constant window. */
export function scipySkew(bias: boolean): WindowFn {
  return (x, lo, n, tmp) => {
    const m = npSum(x, lo, n) / n;
    const m2 = centralSum(x, lo, n, m, 2, tmp) / n;
    const m3 = centralSum(x, lo, n, m, 3, tmp) / n;
    const z = RESOLUTION * m;
    if (m2 <= z * z) return Number.NaN;
    if (!bias && n > 2) return ((Math.sqrt((n - 1) * n) / (n - 2)) * m3) / m2 ** 1.5;
    return m3 / m2 ** 1.5;
  };
}

/** `scipy.stats.kurtosis(x, fisher=fisher, bias=bias)` (scipy 1.10): NaN for a constant window. */
export function scipyKurtosis(fisher: boolean, bias: boolean): WindowFn {
  return (x, lo, n, tmp) => {
    const m = npSum(x, lo, n) / n;
    const m2 = centralSum(x, lo, n, m, 2, tmp) / n;
    const m4 = centralSum(x, lo, n, m, 4, tmp) / n;
    const z = RESOLUTION * m;
    if (m2 <= z * z) return Number.NaN;
    let vals = m4 / (m2 * m2);
    if (!bias && n > 3) {
      const nval = (1.0 / (n - 2) / (n - 3)) * (((n * n - 1.0) * m4) / (m2 * m2) - 3 * ((n - 1) * (n - 1)));
      vals = nval + 3.0;
    }
    return fisher ? vals - 3 : vals;
  };
}

/** pandas' `_zero_out_fperr`: magnitudes below 1e-14 count as rounding noise. */
function zeroOutFpErr(v: number): number {
  return Math.abs(v) < 1e-14 ? 0 : v;
}

/** `pd.Series(x).skew()` (pandas 1.5 nanops.nanskew): unbiased; NaN below 3 values, 0 for a constant window. */
export const pandasSkew: WindowFn = (x, lo, n, tmp) => {
  if (n < 3) return Number.NaN;
  const m = npSum(x, lo, n) / n;
  const m2 = zeroOutFpErr(centralSum(x, lo, n, m, 2, tmp));
  const m3 = zeroOutFpErr(centralSum(x, lo, n, m, 3, tmp));
  if (m2 === 0) return 0;
  return ((n * (n - 1) ** 0.5) / (n - 2)) * (m3 / m2 ** 1.5);
};

/** `pd.Series(x).kurtosis()` (pandas 1.5 nanops.nankurt): unbiased excess; NaN below 4 values, 0 for a constant window. */
export const pandasKurtosis: WindowFn = (x, lo, n, tmp) => {
  if (n < 4) return Number.NaN;
  const m = npSum(x, lo, n) / n;
  const m2 = centralSum(x, lo, n, m, 2, tmp);
  const m4 = centralSum(x, lo, n, m, 4, tmp);
  const adj = (3 * ((n - 1) * (n - 1))) / ((n - 2) * (n - 3));
  const numerator = zeroOutFpErr(n * (n + 1) * (n - 1) * m4);
  const denominator = zeroOutFpErr((n - 2) * (n - 3) * (m2 * m2));
  if (denominator === 0) return 0;
  return numerator / denominator - adj;
};

/** The original's `lsbm_fn`: the longest run of consecutive values strictly below the window mean. */
export const lsbm: WindowFn = (x, lo, n) => {
  const m = npSum(x, lo, n) / n;
  let best = 0;
  let run = 0;
  for (let i = lo; i < lo + n; i++) {
    if ((x[i] as number) < m) {
      run++;
      if (run > best) best = run;
    } else run = 0;
  }
  return best;
};

/** The original's `fmax_fn`: position of the first maximum divided by the window length. */
export const fmax: WindowFn = (x, lo, n) => {
  let at = 0;
  let best = x[lo] as number;
  for (let i = 1; i < n; i++) {
    const v = x[lo + i] as number;
    if (v > best) {
      best = v;
      at = i;
    }
  }
  return at / n;
};

/**
 * The original's `area_fn` (past form): with d = x − last value, sum(d) / sum(|d|) written as
 * the original computes it, in [−1, +1]; NaN when every value equals the last.
 */
export const area: WindowFn = (x, lo, n, tmp) => {
  const level = x[lo + n - 1] as number;
  for (let i = 0; i < n; i++) tmp[i] = (x[lo + i] as number) - level;
  const a = npSum(tmp, 0, n);
  for (let i = 0; i < n; i++) tmp[i] = Math.abs(tmp[i] as number);
  const b = npSum(tmp, 0, n);
  const pos = (b + a) / 2;
  const ratio = pos / b;
  return ratio * 2 - 1;
};

/**
 * The original's `slope_fn`: the least-squares slope of the values against 0, 1, …, n−1
 * (`scipy.stats.linregress`), 0 for fewer than two values. scipy forms the cross products with
 * BLAS, whose summation order is its own, so this agrees to rounding rather than bit for bit.
 */
export const slope: WindowFn = (x, lo, n, tmp) => {
  if (n < 2) return 0;
  const ym = npSum(x, lo, n) / n;
  const xm = (n - 1) / 2;
  for (let i = 0; i < n; i++) {
    const dx = i - xm;
    tmp[i] = dx * ((x[lo + i] as number) - ym);
  }
  const sxy = npSum(tmp, 0, n);
  for (let i = 0; i < n; i++) {
    const dx = i - xm;
    tmp[i] = dx * dx;
  }
  const sxx = npSum(tmp, 0, n);
  const f = 1 / n;
  return (sxy * f) / (sxx * f);
};

/** pandas' default `min_periods` for the original's rolling windows: `max(1, w // 2)`. */
export function minPeriods(w: number): number {
  return Math.max(1, Math.floor(w / 2));
}

/**
 * `series.rolling(w, min_periods).apply(fn, raw=True)` over a series whose leading NaNs mark a
 * later start (they are skipped, as Python talib does): row t sees rows max(start, t−w+1)..t and
 * gets a value once that window holds `min_periods` rows. A window holding a NaN gives NaN
 * (inputs are gap-filled before they get here, so this only guards against unfilled input).
 */
export function rolling(x: Float64Array, w: number, fn: WindowFn, minP = minPeriods(w)): Float64Array {
  const n = x.length;
  const out = new Float64Array(n).fill(Number.NaN);
  let start = 0;
  while (start < n && Number.isNaN(x[start] as number)) start++;
  const tmp = new Float64Array(w);
  let lastNaN = start - 1;
  for (let t = start; t < n; t++) {
    if (Number.isNaN(x[t] as number)) lastNaN = t;
    const lo = Math.max(start, t - w + 1);
    const m = t - lo + 1;
    if (m < minP || lastNaN >= lo) continue;
    out[t] = fn(x, lo, m, tmp);
  }
  return out;
}

/**
 * The streaming twin of `rolling` for one input series and several windows: keeps the last
 * `capacity` values contiguous (each value is stored twice in a buffer of 2·capacity), so a
 * window is a plain subarray and the kernels see exactly what `rolling` gives them.
 */
export class RollingWindow {
  private readonly buf: Float64Array;
  private readonly cap: number;
  private at = -1;
  /** Values since the first non-NaN one. */
  private count = 0;
  /** Values since the last NaN (after the start). */
  private sinceNaN = 0;
  readonly tmp: Float64Array;

  constructor(capacity: number) {
    this.cap = Math.max(1, capacity);
    this.buf = new Float64Array(2 * this.cap);
    this.tmp = new Float64Array(this.cap);
  }

  push(v: number): void {
    if (this.count === 0 && Number.isNaN(v)) return;
    this.at = (this.at + 1) % this.cap;
    this.buf[this.at] = v;
    this.buf[this.at + this.cap] = v;
    this.count++;
    this.sinceNaN = Number.isNaN(v) ? 0 : this.sinceNaN + 1;
  }

  /** `fn` over the last min(w, count) values, NaN below `minP` values or with a NaN inside. */
  apply(w: number, fn: WindowFn, minP = minPeriods(w)): number {
    const m = Math.min(w, this.count);
    if (m === 0 || m < minP || this.sinceNaN < m) return Number.NaN;
    const end = this.at + this.cap;
    return fn(this.buf, end - m + 1, m, this.tmp);
  }
}
