/**
 * Overfitting odds of a search over many trials (a threshold grid's cells, a tuning run's
 * configurations), from the trials' per-period returns. Pure computation on typed arrays.
 *
 * - `pbo`: the probability of backtest overfitting by combinatorially symmetric cross-validation
 *   (CSCV; Bailey, Borwein, López de Prado and Zhu, "The probability of backtest overfitting",
 *   Journal of Computational Finance 20(4), 2017, working paper 2015).
 * - `deflatedSharpe`: the deflated Sharpe ratio of the selected trial (Bailey and López de Prado,
 *   "The deflated Sharpe ratio: correcting for selection bias, backtest overfitting and
 *   non-normality", Journal of Portfolio Management 40(5), 2014).
 *
 * Sharpe ratios here are per period (not annualised): mean / sample standard deviation.
 */

/** The Euler–Mascheroni constant γ. */
const EULER_GAMMA = 0.5772156649015329;
/** ln(sqrt(2π)). */
const LN_SQRT_2PI = 0.9189385332046728;

/**
 * The standard normal distribution function Φ. |x| ≤ 3: Marsaglia's Taylor series (2004),
 * Φ(x) = 1/2 + φ(x)(x + x³/3 + x⁵/(3·5) + …), summed until the terms no longer change the sum;
 * beyond, the tail by Laplace's continued fraction Q(z) = φ(z) / (z + 1/(z + 2/(z + 3/(z + …)))),
 * evaluated from depth 120 backwards (relative error below 1e-15 for z ≥ 3).
 */
export function normalCdf(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  if (x > -3 && x < 3) {
    const q = x * x;
    let s = x;
    let t = 0;
    let b = x;
    for (let i = 1; s !== t; ) {
      t = s;
      i += 2;
      b *= q / i;
      s = t + b;
    }
    return 0.5 + s * Math.exp(-0.5 * q - LN_SQRT_2PI);
  }
  const z = Math.abs(x);
  if (z > 40) return x < 0 ? 0 : 1;
  let f = z;
  for (let k = 120; k >= 1; k--) f = z + k / f;
  const tail = Math.exp(-0.5 * z * z - LN_SQRT_2PI) / f;
  return x < 0 ? tail : 1 - tail;
}

// Acklam's rational approximations of Φ⁻¹ (relative error below 1.15e-9), refined below.
const A = [
  -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716,
  2.506628277459239,
];
const B = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
const C = [
  -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
  2.938163982698783,
];
const D = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];

function acklam(p: number): number {
  const [a0, a1, a2, a3, a4, a5] = A as [number, number, number, number, number, number];
  const [b0, b1, b2, b3, b4] = B as [number, number, number, number, number];
  const [c0, c1, c2, c3, c4, c5] = C as [number, number, number, number, number, number];
  const [d0, d1, d2, d3] = D as [number, number, number, number];
  const low = 0.02425;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (
      (((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) /
      ((((d0 * q + d1) * q + d2) * q + d3) * q + 1)
    );
  }
  if (p > 1 - low) {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    return (
      -(((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) /
      ((((d0 * q + d1) * q + d2) * q + d3) * q + 1)
    );
  }
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a0 * r + a1) * r + a2) * r + a3) * r + a4) * r + a5) * q) /
    (((((b0 * r + b1) * r + b2) * r + b3) * r + b4) * r + 1)
  );
}

/**
 * The standard normal quantile Φ⁻¹(p): Acklam's approximation, then two Halley steps against
 * `normalCdf` (|error| well below 1e-12 on (1e-300, 1 − 1e-16)). Φ⁻¹(0) = −∞, Φ⁻¹(1) = +∞.
 */
export function normalQuantile(p: number): number {
  if (Number.isNaN(p) || p < 0 || p > 1) return Number.NaN;
  if (p === 0) return Number.NEGATIVE_INFINITY;
  if (p === 1) return Number.POSITIVE_INFINITY;
  let x = acklam(p);
  for (let i = 0; i < 2; i++) {
    // Φ(x) − p, in the nearer tail so that the residual keeps its relative precision
    const e = x < 0 ? normalCdf(x) - p : 1 - p - normalCdf(-x);
    const u = e * Math.sqrt(2 * Math.PI) * Math.exp(0.5 * x * x);
    x -= u / (1 + 0.5 * x * u);
  }
  return x;
}

/** Mean, sample variance (n − 1), skewness and kurtosis (not excess; population moments m3/m2^1.5, m4/m2²) of `x`. */
export function moments(x: ArrayLike<number>): {
  mean: number;
  variance: number;
  skew: number;
  kurtosis: number;
} {
  const n = x.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += x[i] as number;
  const mean = n > 0 ? sum / n : Number.NaN;
  let m2 = 0;
  let m3 = 0;
  let m4 = 0;
  for (let i = 0; i < n; i++) {
    const d = (x[i] as number) - mean;
    const d2 = d * d;
    m2 += d2;
    m3 += d2 * d;
    m4 += d2 * d2;
  }
  const variance = n > 1 ? m2 / (n - 1) : Number.NaN;
  m2 /= n;
  m3 /= n;
  m4 /= n;
  return {
    mean,
    variance,
    skew: m2 > 0 ? m3 / m2 ** 1.5 : 0,
    kurtosis: m2 > 0 ? m4 / (m2 * m2) : 3,
  };
}

/** Per-period Sharpe ratio from a sum, a sum of squares and a count: mean / sample sd; 0 without spread and mean, ±∞ with a mean and no spread. */
function sharpeOf(sum: number, sum2: number, n: number): number {
  if (n < 2) return 0;
  const mean = sum / n;
  const v = (sum2 - sum * mean) / (n - 1);
  if (v > 0) return mean / Math.sqrt(v);
  return mean === 0 ? 0 : mean > 0 ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
}

/** The per-period Sharpe ratio of `x` (mean / sample standard deviation; 0 without spread). */
export function sharpeRatio(x: ArrayLike<number>): number {
  let s = 0;
  let s2 = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i] as number;
    s += v;
    s2 += v * v;
  }
  return sharpeOf(s, s2, x.length);
}

/**
 * A T × N matrix of per-period performance: `values[t * trials + n]` is trial n's return in
 * period t; with `byTrial`, one row per trial instead: `values[n * periods + t]`.
 */
export interface TrialMatrix {
  periods: number;
  trials: number;
  values: Float64Array;
  byTrial?: boolean;
}

export interface PboResult {
  /** Share of the combinations whose in-sample best trial has a logit λ ≤ 0 out of sample. */
  pbo: number;
  /** S: blocks the periods were split into. */
  blocks: number;
  /** C(S, S/2): in-sample / out-of-sample splits evaluated. */
  combinations: number;
  /** λ of each combination, in the order of the combinations (lexicographic block subsets). */
  logits: Float64Array;
  /** Summary of the λ distribution. */
  logit: { mean: number; median: number; min: number; max: number };
}

/** C(n, k) as a number (exact for the small n used here). */
export function binomial(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return Math.round(r);
}

/**
 * The probability of backtest overfitting by CSCV. The T periods are split into S contiguous
 * blocks (block s holds periods [⌊sT/S⌋, ⌊(s+1)T/S⌋), so every period is used and block sizes
 * differ by at most one). For each of the C(S, S/2) ways to take half the blocks as the
 * in-sample set (the rest out of sample), the trial with the highest in-sample Sharpe ratio
 * (the first such trial on ties) is ranked among all N trials by its out-of-sample Sharpe
 * ratio: rank 1 is the worst, N the best, tied trials take the mean of their ranks. Its
 * relative rank is ω̄ = rank / (N + 1) and its logit λ = ln(ω̄ / (1 − ω̄)); λ ≤ 0 means the
 * in-sample winner is at or below the out-of-sample median. PBO is the share of λ ≤ 0.
 */
export function pbo(m: TrialMatrix, blocks: number): PboResult {
  const { periods: T, trials: N, values } = m;
  if (!Number.isInteger(blocks) || blocks < 2 || blocks % 2 !== 0) {
    throw new RangeError(`pbo: blocks must be an even integer ≥ 2, got ${blocks}`);
  }
  if (T < 2 * blocks)
    throw new RangeError(`pbo: ${T} periods are too few for ${blocks} blocks (2 per block at least)`);
  if (N < 2) throw new RangeError(`pbo: needs 2 trials at least, got ${N}`);
  if (values.length !== T * N) throw new RangeError(`pbo: ${values.length} values for ${T} × ${N}`);
  const S = blocks;
  // per block and trial: sum and sum of squares, interleaved (trial n at 2n, 2n + 1); per block: count
  const W = 2 * N;
  const bSums = new Float64Array(S * W);
  const bCount = new Float64Array(S);
  for (let s = 0; s < S; s++) {
    const from = Math.floor((s * T) / S);
    const to = Math.floor(((s + 1) * T) / S);
    bCount[s] = to - from;
    const off = s * W;
    if (m.byTrial === true) {
      for (let n = 0; n < N; n++) {
        let sum = 0;
        let sum2 = 0;
        for (let t = from; t < to; t++) {
          const v = values[n * T + t] as number;
          sum += v;
          sum2 += v * v;
        }
        bSums[off + 2 * n] = sum;
        bSums[off + 2 * n + 1] = sum2;
      }
    } else {
      for (let t = from; t < to; t++) {
        const row = t * N;
        for (let n = 0; n < N; n++) {
          const v = values[row + n] as number;
          const k = off + 2 * n;
          bSums[k] = (bSums[k] as number) + v;
          bSums[k + 1] = (bSums[k + 1] as number) + v * v;
        }
      }
    }
  }
  const half = S / 2;
  const combos = binomial(S, half);
  const logits = new Float64Array(combos);
  // every period's sums, for the out-of-sample side (whole − in-sample)
  const total = new Float64Array(W);
  for (let s = 0; s < S; s++) {
    const off = s * W;
    for (let k = 0; k < W; k++) total[k] = (total[k] as number) + (bSums[off + k] as number);
  }
  // Prefix sums over the chosen blocks: level j holds blocks chosen[0..j]. The combinations come
  // in lexicographic order, where the next one keeps a prefix of the last, so only the levels
  // from the first changed block on are summed again (about two levels a split on average).
  const pSums = new Float64Array(half * W);
  const pCount = new Float64Array(half);
  const chosen = Array.from({ length: half }, (_, i) => i);
  const sumFrom = (level: number) => {
    for (let j = level; j < half; j++) {
      const b = chosen[j] as number;
      const off = b * W;
      const row = j * W;
      if (j === 0) {
        for (let k = 0; k < W; k++) pSums[k] = bSums[off + k] as number;
        pCount[0] = bCount[b] as number;
      } else {
        const prev = row - W;
        for (let k = 0; k < W; k++) pSums[row + k] = (pSums[prev + k] as number) + (bSums[off + k] as number);
        pCount[j] = (pCount[j - 1] as number) + (bCount[b] as number);
      }
    }
  };
  // The complement of the i-th combination in lexicographic order is the (C − 1 − i)-th, and the
  // first half of the combinations (those with block 0) have the others as complements: one pass
  // over the first half computes both sides' Sharpe ratios once and serves the split and its
  // mirror (in and out of sample swapped).
  const inKey = new Float64Array(N);
  const outKey = new Float64Array(N);
  const last = (half - 1) * W;
  let below = 0;
  /** λ of the best of `from` by its rank in `to`. */
  const logit = (from: Float64Array, to: Float64Array): number => {
    let best = 0;
    let bestKey = Number.NEGATIVE_INFINITY;
    for (let n = 0; n < N; n++) {
      const k = from[n] as number;
      if (k > bestKey) {
        bestKey = k;
        best = n;
      }
    }
    const x = to[best] as number;
    let less = 0;
    let equal = 0;
    for (let n = 0; n < N; n++) {
      const v = to[n] as number;
      less += v < x ? 1 : 0;
      equal += v === x ? 1 : 0;
    }
    // mean rank of the ties: ranks less + 1 .. less + equal
    const w = (less + (equal + 1) / 2) / (N + 1);
    return Math.log(w / (1 - w));
  };
  sumFrom(0);
  for (let c = 0; c < combos / 2; c++) {
    const inCount = pCount[half - 1] as number;
    const outCount = T - inCount;
    // The Sharpe ratios are compared as SR·|SR| = mean·|mean| / variance, which orders (and ties)
    // trials as SR does, without a square root; the divisions by the counts are multiplications.
    const inInv = 1 / inCount;
    const inInv1 = 1 / (inCount - 1);
    const outInv = 1 / outCount;
    const outInv1 = 1 / (outCount - 1);
    for (let n = 0; n < N; n++) {
      const s1 = pSums[last + 2 * n] as number;
      const s2 = pSums[last + 2 * n + 1] as number;
      const m1 = s1 * inInv;
      const v1 = (s2 - s1 * m1) * inInv1;
      inKey[n] = v1 > 0 ? (m1 * Math.abs(m1)) / v1 : m1 === 0 ? 0 : m1 * Number.POSITIVE_INFINITY;
      const o1 = (total[2 * n] as number) - s1;
      const o2 = (total[2 * n + 1] as number) - s2;
      const mo = o1 * outInv;
      const vo = (o2 - o1 * mo) * outInv1;
      outKey[n] = vo > 0 ? (mo * Math.abs(mo)) / vo : mo === 0 ? 0 : mo * Number.POSITIVE_INFINITY;
    }
    const a = logit(inKey, outKey);
    const b = logit(outKey, inKey);
    logits[c] = a;
    logits[combos - 1 - c] = b;
    if (a <= 0) below++;
    if (b <= 0) below++;
    // next combination in lexicographic order
    let i = half - 1;
    while (i >= 0 && chosen[i] === S - half + i) i--;
    if (i < 0) break;
    chosen[i] = (chosen[i] as number) + 1;
    for (let j = i + 1; j < half; j++) chosen[j] = (chosen[j - 1] as number) + 1;
    sumFrom(i);
  }
  const sorted = Float64Array.from(logits).sort();
  const mid = sorted.length >> 1;
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    pbo: below / combos,
    blocks: S,
    combinations: combos,
    logits,
    logit: {
      mean: sum / sorted.length,
      median:
        sorted.length % 2 === 1
          ? (sorted[mid] as number)
          : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2,
      min: sorted[0] as number,
      max: sorted[sorted.length - 1] as number,
    },
  };
}

export interface DeflatedSharpeInput {
  /** The selected trial's per-period Sharpe ratio (not annualised). */
  sharpe: number;
  /** N: independent trials the selection was made among. */
  trials: number;
  /** V: variance of the trials' per-period Sharpe ratios. */
  varianceOfTrialSharpes: number;
  /** T: periods (returns) the Sharpe ratio was measured on. */
  periods: number;
  /** Skewness of the selected trial's returns. */
  skew: number;
  /** Kurtosis of the selected trial's returns (not excess: 3 for normal returns). */
  kurtosis: number;
}

export interface DeflatedSharpeResult {
  /** SR0: the expected maximum per-period Sharpe ratio of N trials without skill. */
  expectedMaxSharpe: number;
  /** DSR: the probability that the true Sharpe ratio exceeds SR0. */
  dsr: number;
}

/**
 * The deflated Sharpe ratio: SR0 = sqrt(V)·((1 − γ)Φ⁻¹(1 − 1/N) + γΦ⁻¹(1 − 1/(N e))) and
 * DSR = Φ((SR − SR0)·sqrt(T − 1) / sqrt(1 − skew·SR + (kurtosis − 1)/4·SR²)). With one trial
 * (nothing selected) SR0 is 0 and DSR is the probabilistic Sharpe ratio against 0.
 */
export function deflatedSharpe(x: DeflatedSharpeInput): DeflatedSharpeResult {
  const { sharpe: sr, trials: n, varianceOfTrialSharpes: v, periods: t, skew, kurtosis } = x;
  const sr0 =
    n <= 1 || !(v > 0)
      ? 0
      : Math.sqrt(v) *
        ((1 - EULER_GAMMA) * normalQuantile(1 - 1 / n) + EULER_GAMMA * normalQuantile(1 - 1 / (n * Math.E)));
  const denominator = 1 - skew * sr + ((kurtosis - 1) / 4) * sr * sr;
  const dsr =
    t > 1 && denominator > 0
      ? normalCdf(((sr - sr0) * Math.sqrt(t - 1)) / Math.sqrt(denominator))
      : Number.NaN;
  return { expectedMaxSharpe: sr0, dsr };
}

/** Fewest periods per block for CSCV: blocks are cut to at most S = 2⌊periods / (2 · MIN_BLOCK_PERIODS)⌋. */
const MIN_BLOCK_PERIODS = 4;
/** Fewest blocks worth splitting (C(4, 2) = 6 splits). */
const MIN_BLOCKS = 4;

/** The overfitting odds of a search: its trials, PBO and the deflated Sharpe ratio of its winner. */
export interface OverfitOdds {
  /** N: the trials searched (a grid's cells). */
  trials: number;
  /** T: the periods of the returns (days). */
  periods: number;
  /** null when the periods or the trials are too few (see `pboNote`). */
  pbo: Omit<PboResult, "logits"> | null;
  /** Why S is below the asked blocks, or why there is no PBO; "" when S is as asked. */
  pboNote: string;
  /** The winner's deflated Sharpe ratio (null with fewer than 2 periods). */
  deflated:
    | (DeflatedSharpeResult & {
        sharpe: number;
        varianceOfTrialSharpes: number;
        skew: number;
        kurtosis: number;
      })
    | null;
  /** One line for each statistic, for people. */
  reading: string[];
}

function fixed(x: number, digits: number): string {
  return Number.isFinite(x) ? x.toFixed(digits) : String(x);
}

/**
 * PBO and the winner's deflated Sharpe ratio of a search from its trials' per-period returns
 * (`returns[n * periods + t]`: trial n's return in period t, one row per trial), the winner
 * being trial `selected`. PBO splits the periods into `blocks` (16 by default) or, when there
 * are fewer than 4 periods per block, into the most even number of blocks that keeps 4 (none
 * below 4 blocks). The deflated Sharpe ratio takes N = trials and V = the variance of the
 * trials' per-period Sharpe ratios (the finite ones). `trial` and `period` name them in the notes.
 */
export function overfitOdds(
  returns: Float64Array,
  trials: number,
  periods: number,
  selected: number,
  opts: { blocks?: number; trial?: string; period?: string } = {},
): OverfitOdds {
  const blocks = opts.blocks ?? 16;
  const trial = opts.trial ?? "trial";
  const period = opts.period ?? "period";
  const unit = `${periods} ${period}${periods === 1 ? "" : "s"}`;
  const fit = 2 * Math.floor(periods / (2 * MIN_BLOCK_PERIODS));
  const S = Math.min(blocks, fit);
  let pboResult: PboResult | null = null;
  let pboNote = "";
  if (trials < 2) pboNote = `no PBO: one ${trial}, nothing was selected`;
  else if (S < MIN_BLOCKS)
    pboNote = `no PBO: ${unit}, fewer than ${MIN_BLOCKS * MIN_BLOCK_PERIODS} (${MIN_BLOCKS} blocks of ${MIN_BLOCK_PERIODS} ${period}s)`;
  else {
    if (S < blocks)
      pboNote = `${S} blocks, not ${blocks}: ${unit}, ${MIN_BLOCK_PERIODS} per block at least (${blocks} blocks need ${blocks * MIN_BLOCK_PERIODS} ${period}s)`;
    pboResult = pbo({ periods, trials, values: returns, byTrial: true }, S);
  }

  let deflated: OverfitOdds["deflated"] = null;
  if (periods >= 2 && selected >= 0 && selected < trials) {
    const sharpes: number[] = [];
    for (let n = 0; n < trials; n++) {
      const sr = sharpeRatio(returns.subarray(n * periods, (n + 1) * periods));
      if (Number.isFinite(sr)) sharpes.push(sr);
    }
    const v = sharpes.length > 1 ? moments(sharpes).variance : 0;
    const own = returns.subarray(selected * periods, (selected + 1) * periods);
    const m = moments(own);
    const sharpe = sharpeRatio(own);
    const r = deflatedSharpe({
      sharpe,
      trials,
      varianceOfTrialSharpes: v,
      periods,
      skew: m.skew,
      kurtosis: m.kurtosis,
    });
    deflated = { ...r, sharpe, varianceOfTrialSharpes: v, skew: m.skew, kurtosis: m.kurtosis };
  }

  const reading: string[] = [];
  if (pboResult !== null) {
    const p = pboResult.pbo;
    reading.push(
      p > 0.5
        ? `PBO ${fixed(p, 2)}: the best ${trial} in sample is more likely than not to be at or below the median out of sample (${pboResult.combinations} splits)`
        : `PBO ${fixed(p, 2)}: the best ${trial} in sample ends above the median out of sample in ${fixed((1 - p) * 100, 0)}% of ${pboResult.combinations} splits`,
    );
  } else reading.push(pboNote);
  if (deflated !== null) {
    const d = deflated.dsr;
    reading.push(
      `DSR ${fixed(d, 2)}: ${Number.isFinite(d) ? `${fixed(d * 100, 0)}% probability` : "no probability"} that the winner's true Sharpe ratio per ${period} (${fixed(deflated.sharpe, 3)}) beats ${fixed(deflated.expectedMaxSharpe, 3)}, the best expected of ${trials} ${trial}s without skill; ${d >= 0.95 ? "significant" : "not significant"} at 0.95`,
    );
  }
  return {
    trials,
    periods,
    pbo:
      pboResult === null
        ? null
        : {
            pbo: pboResult.pbo,
            blocks: pboResult.blocks,
            combinations: pboResult.combinations,
            logit: pboResult.logit,
          },
    pboNote,
    deflated,
    reading,
  };
}

/** The odds as a search's result file records them (simulation.json's `overfitting`). */
export interface OverfitJson {
  trials: number;
  days: number;
  pbo: number | null;
  pbo_blocks: number | null;
  pbo_combinations: number | null;
  pbo_note: string;
  /** Summary of the CSCV logits λ (null without a PBO). */
  logit: PboResult["logit"] | null;
  deflated_sharpe: number | null;
  /** The winner's Sharpe ratio per day, SR0 (the best expected of `trials` cells without skill), V, skewness, kurtosis. */
  sharpe_per_day: number | null;
  expected_max_sharpe_per_day: number | null;
  sharpe_variance: number | null;
  skew: number | null;
  kurtosis: number | null;
  reading: string[];
}

export function overfitJson(o: OverfitOdds): OverfitJson {
  const d = o.deflated;
  return {
    trials: o.trials,
    days: o.periods,
    pbo: o.pbo?.pbo ?? null,
    pbo_blocks: o.pbo?.blocks ?? null,
    pbo_combinations: o.pbo?.combinations ?? null,
    pbo_note: o.pboNote,
    logit: o.pbo?.logit ?? null,
    deflated_sharpe: d?.dsr ?? null,
    sharpe_per_day: d?.sharpe ?? null,
    expected_max_sharpe_per_day: d?.expectedMaxSharpe ?? null,
    sharpe_variance: d?.varianceOfTrialSharpes ?? null,
    skew: d?.skew ?? null,
    kurtosis: d?.kurtosis ?? null,
    reading: o.reading,
  };
}
