import { DataError } from "../core/errors.js";

/**
 * scikit-learn's StandardScaler (with_mean, with_std): per column, the mean and the population
 * standard deviation of the rows used for fitting, NaN values disregarded (as scikit-learn
 * does); a column that is constant to working precision — scikit-learn's test
 * var ≤ n·ε·var + (n·ε·mean)² — gets scale 1, as does a column with no values (mean NaN then).
 */
export interface Scaler {
  mean: number[];
  scale: number[];
}

const EPS = 2 ** -52;

/** Sum of x[i] for the rows used, in blocks of 1024 (error grows with the block count, not n). */
function blockedSum(x: Float64Array, rows: Uint8Array | undefined): [number, number] {
  let total = 0;
  let count = 0;
  for (let i0 = 0; i0 < x.length; i0 += 1024) {
    const i1 = Math.min(x.length, i0 + 1024);
    let s = 0;
    for (let i = i0; i < i1; i++) {
      const v = x[i] as number;
      if (!Number.isNaN(v) && (rows === undefined || rows[i] !== 0)) {
        s += v;
        count++;
      }
    }
    total += s;
  }
  return [total, count];
}

/**
 * Fits on the rows whose `rows` flag is non-zero (all rows when absent). The variance is
 * scikit-learn's corrected two-pass formula: (Σ(x − m)² − (Σ(x − m))²/n) / n.
 */
export function fitScaler(columns: readonly Float64Array[], rows?: Uint8Array | undefined): Scaler {
  const n = columns[0]?.length ?? 0;
  if (rows !== undefined && rows.length !== n) {
    throw new DataError(`scaler: row mask has ${rows.length} entries for ${n} rows`);
  }
  const mean: number[] = [];
  const scale: number[] = [];
  columns.forEach((x, j) => {
    if (x.length !== n) throw new DataError(`scaler: column ${j} has ${x.length} rows, expected ${n}`);
    const [sum, count] = blockedSum(x, rows);
    if (count === 0) {
      mean.push(Number.NaN);
      scale.push(1);
      return;
    }
    const m = sum / count;
    let sq = 0;
    let corr = 0;
    for (let i0 = 0; i0 < n; i0 += 1024) {
      const i1 = Math.min(n, i0 + 1024);
      let bs = 0;
      let bc = 0;
      for (let i = i0; i < i1; i++) {
        const v = x[i] as number;
        if (!Number.isNaN(v) && (rows === undefined || rows[i] !== 0)) {
          const dv = v - m;
          bs += dv * dv;
          bc += dv;
        }
      }
      sq += bs;
      corr += bc;
    }
    const variance = (sq - (corr * corr) / count) / count;
    const constant = variance <= count * EPS * variance + (count * m * EPS) ** 2;
    mean.push(m);
    scale.push(constant ? 1 : Math.sqrt(variance));
  });
  return { mean, scale };
}

/**
 * (x − mean) / scale per column, as new arrays; NaN stays NaN. With `into` (arrays of the
 * columns' lengths, which may be the columns themselves), the values are written there instead.
 */
export function applyScaler(
  s: Scaler,
  columns: readonly Float64Array[],
  into?: readonly Float64Array[],
): Float64Array[] {
  if (columns.length !== s.mean.length) {
    throw new DataError(`scaler: fitted on ${s.mean.length} columns, got ${columns.length}`);
  }
  if (into !== undefined && into.length !== columns.length) {
    throw new DataError(`scaler: ${into.length} output columns for ${columns.length} columns`);
  }
  return columns.map((x, j) => {
    const m = s.mean[j] as number;
    const sc = s.scale[j] as number;
    const out = into === undefined ? new Float64Array(x.length) : (into[j] as Float64Array);
    if (out.length !== x.length) {
      throw new DataError(`scaler: output column ${j} has ${out.length} rows, expected ${x.length}`);
    }
    for (let i = 0; i < x.length; i++) out[i] = ((x[i] as number) - m) / sc;
    return out;
  });
}
