/**
 * Small dense linear algebra for the model solvers: a D×D symmetric matrix is a row-major
 * Float64Array of D*D values. D is the number of model parameters (tens), so plain loops are
 * the fastest choice; the O(n) work over rows lives in the callers.
 */

/**
 * In-place Cholesky factorisation A = L·Lᵀ of a symmetric positive-definite matrix (only the
 * lower triangle is read; the lower triangle of `a` becomes L, the upper is zeroed). Returns
 * false, leaving `a` partly overwritten, when a pivot is not positive (A is not positive
 * definite to working precision).
 */
export function choleskyInPlace(a: Float64Array, d: number): boolean {
  for (let j = 0; j < d; j++) {
    let diag = a[j * d + j] as number;
    for (let k = 0; k < j; k++) {
      const l = a[j * d + k] as number;
      diag -= l * l;
    }
    if (!(diag > 0) || !Number.isFinite(diag)) return false;
    const ljj = Math.sqrt(diag);
    a[j * d + j] = ljj;
    for (let i = j + 1; i < d; i++) {
      let s = a[i * d + j] as number;
      for (let k = 0; k < j; k++) s -= (a[i * d + k] as number) * (a[j * d + k] as number);
      a[i * d + j] = s / ljj;
    }
    for (let i = 0; i < j; i++) a[i * d + j] = 0;
  }
  return true;
}

/** Solves L·x = b in place (b becomes x) for a lower-triangular L. */
export function solveLower(l: Float64Array, d: number, b: Float64Array): void {
  for (let i = 0; i < d; i++) {
    let s = b[i] as number;
    for (let k = 0; k < i; k++) s -= (l[i * d + k] as number) * (b[k] as number);
    b[i] = s / (l[i * d + i] as number);
  }
}

/** Solves Lᵀ·x = b in place (b becomes x) for a lower-triangular L. */
export function solveLowerTransposed(l: Float64Array, d: number, b: Float64Array): void {
  for (let i = d - 1; i >= 0; i--) {
    let s = b[i] as number;
    for (let k = i + 1; k < d; k++) s -= (l[k * d + i] as number) * (b[k] as number);
    b[i] = s / (l[i * d + i] as number);
  }
}
