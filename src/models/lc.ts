import { ConfigError, DataError } from "../core/errors.js";
import { minimizeLbfgs } from "./lbfgs.js";
import { addDots, addLogits, BLOCK } from "./lcKernels.js";
import { type PartEvaluator, partEvaluator } from "./lcThreads.js";
import { choleskyInPlace, solveLower, solveLowerTransposed } from "./linalg.js";
import type { Scaler } from "./scaler.js";

/**
 * `lc`: L2-regularised logistic regression, scikit-learn's LogisticRegression for a binary
 * label, solved to the optimum of its objective
 *
 *   minimise  ½·‖w‖² + C·Σᵢ sᵢ·log(1 + exp(−ỹᵢ·(w·xᵢ + b))),   ỹᵢ ∈ {−1, 1}
 *
 * (b not penalised; sᵢ = sample weight × class weight, "balanced" = n / (2·n_class)).
 *
 * The solver is L-BFGS (lbfgs.ts) on a whitened parameterisation θ = (w, b) → v = Lᵀθ, where
 * L·Lᵀ = H is the Hessian of the objective at a recent point: H = Σ sᵢ·σᵢ(1 − σᵢ)·x̃ᵢx̃ᵢᵀ +
 * (1/C)·I_w with x̃ = (x, 1) (the penalty term divided by C; same minimiser). Features of itb's
 * sets are often nearly or exactly collinear (SMA 20 = BBANDS middle), which makes the plain
 * problem's condition number ~10⁶: first-order and plain quasi-Newton methods crawl, or stop
 * early (sag at max_iter = 100; scikit-learn 1.2's lbfgs at scipy's default ftol). In v the
 * Hessian is close to the identity and L-BFGS converges superlinearly. The solve starts at
 * w = 0, b = logit p₀ (p₀ the weighted base rate), where H is exact and cheap (all σᵢ = p₀),
 * and re-whitens with the Hessian at the current point twice (PHASES); above 131,072 rows the
 * Hessian is estimated on every k-th row (≤ 65,536 rows): it only preconditions, the objective
 * and gradient always use every row, in one fused pass per evaluation.
 *
 * Stopping: ‖∇_v f‖₂ ≤ τ·√(Σ qᵢ), qᵢ = sᵢ·σᵢ(1 − σᵢ), τ = min(tol, 1e-8). Since ‖∇_v f‖ ≈
 * ‖v − v*‖ = ‖δθ‖_H ≥ √(Σ qᵢ(x̃ᵢ·δθ)²), τ bounds the curvature-weighted RMS error of the
 * logits against the exact optimum. scikit-learn's default tol = 1e-4 is tightened to 1e-8 so
 * that the result is the optimum, not an iterate; for the same reason the iteration cap is
 * max(max_iter, 1000): the original's max_iter = 100 was sized for sag's epochs, not for these
 * iterations (which number 10 to 20 on the benchmark).
 */

export interface LcParams {
  C: number;
  penalty: "l2" | "none";
  class_weight: "balanced" | null;
  max_iter: number;
  tol: number;
  fit_intercept: boolean;
}

export interface LcModel {
  kind: "lc";
  coef: number[];
  intercept: number;
  iterations: number;
  converged: boolean;
}

/** The least number of iterations allowed, whatever max_iter says (see the module comment). */
export const LC_MIN_ITERATIONS = 1000;
/**
 * The solve runs in up to PHASES phases, each with the Hessian at its start point as the
 * whitening; a phase other than the last ends after PHASE_ITERATIONS iterations or when it has
 * reduced the whitened gradient by PHASE_REDUCTION. On the benchmark (420k rows, 20 collinear
 * features) this takes ~12 passes over the data, against ~25 with one fixed whitening.
 */
const PHASES = 3;
const PHASE_ITERATIONS = 4;
const PHASE_REDUCTION = 1e-3;
/** The loosest RMS logit error accepted as converged (see the module comment). */
export const LC_MAX_TOLERANCE = 1e-8;

const KNOWN_PARAMS = [
  "C",
  "penalty",
  "class_weight",
  "max_iter",
  "tol",
  "fit_intercept",
  "solver",
  "random_state",
  "is_scale",
] as const;

/**
 * Parses lc's `params` as the original writes them (scikit-learn's names). `solver` and
 * `random_state` are accepted and ignored (the solver is always ours), `is_scale` is read by
 * the caller. Unknown keys and bad values throw one ConfigError listing every problem.
 */
export function lcParams(params: Record<string, unknown>): LcParams {
  const issues: string[] = [];
  const unknown = Object.keys(params).filter((k) => !(KNOWN_PARAMS as readonly string[]).includes(k));
  for (const k of unknown) issues.push(`unknown key "${k}" (known: ${KNOWN_PARAMS.join(", ")})`);

  const positive = (key: string, fallback: number, integer: boolean): number => {
    const v = params[key];
    if (v === undefined) return fallback;
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v))) {
      issues.push(`"${key}" must be a positive ${integer ? "integer" : "number"}, got ${JSON.stringify(v)}`);
      return fallback;
    }
    return v;
  };
  const C = positive("C", 1.0, false);
  const max_iter = positive("max_iter", 100, true);
  const tol = positive("tol", 1e-4, false);

  let penalty: LcParams["penalty"] = "l2";
  const pen = params.penalty;
  if (pen === null || pen === "none") penalty = "none";
  else if (pen !== undefined && pen !== "l2") {
    issues.push(`"penalty" must be "l2", "none" or null, got ${JSON.stringify(pen)} (l1 is not supported)`);
  }

  let class_weight: LcParams["class_weight"] = null;
  const cw = params.class_weight;
  if (cw === "balanced") class_weight = "balanced";
  else if (cw !== undefined && cw !== null) {
    issues.push(`"class_weight" must be "balanced" or null, got ${JSON.stringify(cw)}`);
  }

  let fit_intercept = true;
  const fi = params.fit_intercept;
  if (typeof fi === "boolean") fit_intercept = fi;
  else if (fi !== undefined) issues.push(`"fit_intercept" must be true or false, got ${JSON.stringify(fi)}`);

  const sc = params.is_scale;
  if (sc !== undefined && typeof sc !== "boolean") {
    issues.push(`"is_scale" must be true or false, got ${JSON.stringify(sc)}`);
  }

  if (issues.length > 0) {
    throw new ConfigError(`lc params are invalid:\n${issues.map((s) => `  ${s}`).join("\n")}`, issues);
  }
  return { C, penalty, class_weight, max_iter, tol, fit_intercept };
}

function checkShapes(columns: readonly Float64Array[], n: number, what: string): void {
  columns.forEach((c, j) => {
    if (c.length !== n)
      throw new DataError(`${what}: feature column ${j} has ${c.length} rows, expected ${n}`);
  });
}

/** Rows used to estimate a Hessian: all rows up to twice this many, else every k-th row. */
const HESSIAN_ROWS = 65_536;

/** The rows a Hessian is estimated on (a strided copy, or the data itself), and n / rows. */
interface HessianSample {
  columns: readonly Float64Array[];
  s: Float64Array | null;
  rows: number;
  scale: number;
}

function hessianSample(columns: readonly Float64Array[], s: Float64Array | null, n: number): HessianSample {
  if (n <= 2 * HESSIAN_ROWS) return { columns, s, rows: n, scale: 1 };
  const stride = Math.ceil(n / HESSIAN_ROWS);
  const rows = Math.ceil(n / stride);
  const pick = (x: Float64Array): Float64Array => {
    const out = new Float64Array(rows);
    for (let r = 0, i = 0; r < rows; r++, i += stride) out[r] = x[i] as number;
    return out;
  };
  return { columns: columns.map(pick), s: s ? pick(s) : null, rows, scale: n / rows };
}

/**
 * H = Σᵢ qᵢ·x̃ᵢx̃ᵢᵀ + λ on the feature diagonal (D = d, +1 with an intercept; row-major), with
 * qᵢ = sᵢ·σ(zᵢ)(1 − σ(zᵢ)) at θ, or qᵢ = sᵢ·c when θ is null (the start point, where every σ
 * is the base rate). Also returns Σ qᵢ, the total curvature that scales the stopping test.
 */
function hessianAt(
  sample: HessianSample,
  theta: Float64Array | null,
  c: number,
  withIntercept: boolean,
  lambda: number,
): { h: Float64Array; curvature: number } {
  const { columns, s, rows } = sample;
  const d = columns.length;
  const D = d + (withIntercept ? 1 : 0);
  const h = new Float64Array(D * D);
  const q = new Float64Array(BLOCK);
  const tmp = new Float64Array(BLOCK);
  let curvature = 0;
  for (let i0 = 0; i0 < rows; i0 += BLOCK) {
    const len = Math.min(BLOCK, rows - i0);
    if (theta) {
      q.fill(withIntercept ? (theta[d] as number) : 0, 0, len);
      addLogits(q, columns, theta, i0, len);
      for (let t = 0; t < len; t++) {
        const e = Math.exp(-Math.abs(q[t] as number));
        const pq = e / ((1 + e) * (1 + e)); // σ(z)(1 − σ(z)), stable for any z
        q[t] = sample.scale * (s ? (s[i0 + t] as number) : 1) * pq;
      }
    } else {
      for (let t = 0; t < len; t++) q[t] = sample.scale * (s ? (s[i0 + t] as number) : 1) * c;
    }
    let qsum = 0;
    for (let t = 0; t < len; t++) qsum += q[t] as number;
    curvature += qsum;
    for (let j = 0; j < d; j++) {
      const cj = columns[j] as Float64Array;
      for (let t = 0; t < len; t++) tmp[t] = (q[t] as number) * (cj[i0 + t] as number);
      addDots(tmp, columns, j, i0, len, h, j, D);
      if (withIntercept) {
        let sum = 0;
        for (let t = 0; t < len; t++) sum += tmp[t] as number;
        h[d * D + j] = (h[d * D + j] as number) + sum;
      }
    }
  }
  if (withIntercept) h[d * D + d] = curvature;
  for (let j = 0; j < D; j++) {
    for (let k = j + 1; k < D; k++) h[j * D + k] = h[k * D + j] as number;
  }
  for (let j = 0; j < d; j++) h[j * D + j] = (h[j * D + j] as number) + lambda;
  return { h, curvature };
}

/**
 * The whitening factor L of H = L·Lᵀ. A small ridge keeps H positive definite when features
 * are collinear and nothing else does (penalty "none"); it only shapes the preconditioner,
 * never the objective.
 */
function whitening(h: Float64Array, D: number, penalised: boolean): Float64Array {
  let maxDiag = 0;
  for (let j = 0; j < D; j++) maxDiag = Math.max(maxDiag, h[j * D + j] as number);
  if (!Number.isFinite(maxDiag)) {
    throw new DataError("lc training: a feature has NaN or infinite values in the training rows");
  }
  let jitter = (penalised ? 1e-13 : 1e-10) * maxDiag;
  for (let attempt = 0; attempt < 8; attempt++, jitter *= 100) {
    const L = Float64Array.from(h);
    for (let j = 0; j < D; j++) L[j * D + j] = (L[j * D + j] as number) + jitter;
    if (choleskyInPlace(L, D)) return L;
  }
  throw new DataError(
    "lc training: cannot factor the feature covariance (a constant or degenerate feature?)",
  );
}

/**
 * f(θ) = Σ sᵢ·ℓᵢ + (λ/2)·‖w‖² and its gradient, θ = (w, b), in one pass over the rows (see
 * objectivePart): the rows' parts are summed in part order, whichever thread ran them.
 */
function makeObjective(
  evaluator: PartEvaluator,
  d: number,
  withIntercept: boolean,
  lambda: number,
): (theta: Float64Array, grad: Float64Array) => number {
  const stride = d + 2;
  return (theta, grad) => {
    const b = withIntercept ? (theta[d] as number) : 0;
    const acc = evaluator.evaluate(theta, b);
    grad.fill(0);
    let loss = 0;
    let rsum = 0;
    for (let p = 0; p < evaluator.parts; p++) {
      const o = p * stride;
      loss += acc[o] as number;
      rsum += acc[o + 1] as number;
      for (let j = 0; j < d; j++) grad[j] = (grad[j] as number) + (acc[o + 2 + j] as number);
    }
    if (withIntercept) grad[d] = rsum;
    if (lambda > 0) {
      let w2 = 0;
      for (let j = 0; j < d; j++) {
        const wj = theta[j] as number;
        w2 += wj * wj;
        grad[j] = (grad[j] as number) + lambda * wj;
      }
      loss += 0.5 * lambda * w2;
    }
    return loss;
  };
}

/**
 * Trains on rows that the caller has already cleaned (no NaN feature, label 0 or 1).
 * `weights` are optional per-row sample weights, multiplied by the class weights.
 * `options.threads` > 1 shares each evaluation of the objective with a worker thread when the
 * columns are in shared memory (SharedArrayBuffer) and there are at least 131,072 rows; the
 * model is the same for any thread count (lcThreads.ts).
 */
export function trainLc(
  columns: readonly Float64Array[],
  y: Float64Array,
  params: LcParams,
  weights?: Float64Array,
  options: { threads?: number } = {},
): LcModel {
  const n = y.length;
  const d = columns.length;
  checkShapes(columns, n, "lc training");
  if (weights && weights.length !== n) {
    throw new DataError(`lc training: ${weights.length} sample weights for ${n} rows`);
  }
  let n1 = 0;
  for (let i = 0; i < n; i++) {
    const v = y[i] as number;
    if (v === 1) n1++;
    else if (v !== 0) throw new DataError(`lc training: label at row ${i} is ${v}, expected 0 or 1`);
  }
  const n0 = n - n1;
  if (n1 === 0 || n0 === 0) {
    throw new DataError(
      `lc training: the label has one class only (${n1} of ${n} rows are 1); a classifier needs both`,
      {},
      { action: "skip" },
    );
  }

  // Sample weights × class weights ("balanced": n / (2·n_c), from unweighted counts as scikit-learn).
  let s: Float64Array | null = null;
  if (weights || params.class_weight === "balanced") {
    s = weights ? Float64Array.from(weights) : new Float64Array(n).fill(1);
    const w1 = params.class_weight === "balanced" ? n / (2 * n1) : 1;
    const w0 = params.class_weight === "balanced" ? n / (2 * n0) : 1;
    for (let i = 0; i < n; i++) {
      const si = s[i] as number;
      if (!(si >= 0) || !Number.isFinite(si)) {
        throw new DataError(`lc training: sample weight at row ${i} is ${si}, expected a finite value ≥ 0`);
      }
      s[i] = si * ((y[i] as number) === 1 ? w1 : w0);
    }
  }
  let sumS = n;
  let sumSY = n1;
  if (s) {
    sumS = 0;
    sumSY = 0;
    for (let i = 0; i < n; i++) {
      sumS += s[i] as number;
      sumSY += (s[i] as number) * (y[i] as number);
    }
    if (!(sumSY > 0 && sumSY < sumS)) {
      throw new DataError("lc training: the sample weights leave only one class with positive weight");
    }
  }

  const withIntercept = params.fit_intercept;
  const lambda = params.penalty === "l2" ? 1 / params.C : 0;
  const p0 = withIntercept ? sumSY / sumS : 0.5;

  const evaluator = partEvaluator(columns, y, s, options.threads ?? 1);
  try {
    return solve(columns, makeObjective(evaluator, d, withIntercept, lambda), s, n, params, {
      withIntercept,
      lambda,
      p0,
    });
  } finally {
    evaluator.close();
  }
}

/** The L-BFGS phases of trainLc from θ = (0, logit p₀). */
function solve(
  columns: readonly Float64Array[],
  objective: (theta: Float64Array, grad: Float64Array) => number,
  s: Float64Array | null,
  n: number,
  params: LcParams,
  setup: { withIntercept: boolean; lambda: number; p0: number },
): LcModel {
  const { withIntercept, lambda, p0 } = setup;
  const d = columns.length;
  const D = d + (withIntercept ? 1 : 0);
  const sample = hessianSample(columns, s, n);
  const tau = Math.min(params.tol, LC_MAX_TOLERANCE);
  const maxIterations = Math.max(params.max_iter, LC_MIN_ITERATIONS);

  // θ = (w, b) starts at w = 0, b = logit p₀ (the optimum of the intercept alone).
  const theta = new Float64Array(D);
  if (withIntercept) theta[d] = Math.log(p0 / (1 - p0));
  const gradTheta = new Float64Array(D);
  let f = objective(theta, gradTheta);
  if (!Number.isFinite(f) || !gradTheta.every(Number.isFinite)) {
    throw new DataError("lc training: a feature has NaN or infinite values in the training rows");
  }
  let iterations = 0;
  let converged = false;
  for (let phase = 0; phase < PHASES && !converged && iterations < maxIterations; phase++) {
    const { h, curvature } = hessianAt(
      sample,
      phase === 0 ? null : theta,
      p0 * (1 - p0),
      withIntercept,
      lambda,
    );
    const L = whitening(h, D, lambda > 0);
    const v = new Float64Array(D); // v = Lᵀ·θ
    for (let i = 0; i < D; i++) {
      let sum = 0;
      for (let k = i; k < D; k++) sum += (L[k * D + i] as number) * (theta[k] as number);
      v[i] = sum;
    }
    const gv = Float64Array.from(gradTheta);
    solveLower(L, D, gv);
    let gvNorm = 0;
    for (let i = 0; i < D; i++) gvNorm += (gv[i] as number) ** 2;
    gvNorm = Math.sqrt(gvNorm);
    const target = tau * Math.sqrt(curvature);
    const last = phase === PHASES - 1;
    const fv = (x: Float64Array, g: Float64Array): number => {
      theta.set(x);
      solveLowerTransposed(L, D, theta);
      const value = objective(theta, gradTheta);
      g.set(gradTheta);
      solveLower(L, D, g);
      return value;
    };
    const result = minimizeLbfgs(fv, v, {
      gradientTolerance: last ? target : Math.max(target, PHASE_REDUCTION * gvNorm),
      maxIterations: last
        ? maxIterations - iterations
        : Math.min(PHASE_ITERATIONS, maxIterations - iterations),
      firstStep: 1, // H is the Hessian at the phase's start: the first step is Newton's
      start: { f, grad: gv },
    });
    iterations += result.iterations;
    f = result.f;
    theta.set(result.x);
    solveLowerTransposed(L, D, theta);
    // gradTheta = L·∇_v, the gradient at the returned point
    for (let i = D - 1; i >= 0; i--) {
      let sum = 0;
      for (let k = 0; k <= i; k++) sum += (L[i * D + k] as number) * (result.grad[k] as number);
      gradTheta[i] = sum;
    }
    converged = result.gradientNorm <= target;
  }
  return {
    kind: "lc",
    coef: Array.from(theta.subarray(0, d)),
    intercept: withIntercept ? (theta[d] as number) : 0,
    iterations,
    converged,
  };
}

/**
 * Probability of class 1 for every row. A row with a NaN feature gets NaN (NaN propagates
 * through the logit and the sigmoid), so the output always has one value per input row. With
 * `scaler`, the columns are the unscaled features and each value is standardised as it is read,
 * (x − mean) / scale as applyScaler computes it: the same numbers as predicting on
 * applyScaler(scaler, columns), without the scaled copy.
 */
export function predictLc(model: LcModel, columns: readonly Float64Array[], scaler?: Scaler): Float64Array {
  if (columns.length !== model.coef.length) {
    throw new DataError(
      `lc predict: the model has ${model.coef.length} features, got ${columns.length} columns`,
    );
  }
  if (scaler !== undefined && scaler.mean.length !== columns.length) {
    throw new DataError(
      `lc predict: the scaler has ${scaler.mean.length} features, got ${columns.length} columns`,
    );
  }
  const n = columns[0]?.length ?? 0;
  checkShapes(columns, n, "lc predict");
  const z = new Float64Array(n).fill(model.intercept);
  model.coef.forEach((w, j) => {
    const c = columns[j] as Float64Array;
    if (scaler === undefined) {
      for (let i = 0; i < n; i++) z[i] = (z[i] as number) + w * (c[i] as number);
    } else {
      const m = scaler.mean[j] as number;
      const sc = scaler.scale[j] as number;
      for (let i = 0; i < n; i++) z[i] = (z[i] as number) + w * (((c[i] as number) - m) / sc);
    }
  });
  for (let i = 0; i < n; i++) {
    const v = z[i] as number;
    const e = Math.exp(-Math.abs(v));
    z[i] = v >= 0 ? 1 / (1 + e) : e / (1 + e);
  }
  return z;
}
