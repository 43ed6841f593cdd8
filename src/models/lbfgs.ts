/**
 * Limited-memory BFGS for smooth unconstrained minimisation (Nocedal & Wright, "Numerical
 * Optimization", 2nd ed., algorithms 7.4 and 7.5), with a bracketing line search that accepts
 * a step on the strong Wolfe conditions or, once the change in f is below its rounding noise,
 * on Hager & Zhang's approximate Wolfe conditions (SIAM J. Optim. 16, 2005), which need only
 * the directional derivative. The second test is what lets the solver go on converging after
 * f itself can no longer resolve the decrease: near the optimum of a sum over 10⁵ rows the
 * decrease per step is far below ε·|f|, while the gradient is still computed accurately.
 */

/** Returns f(x) and writes ∇f(x) into `grad`. */
export type ObjectiveFn = (x: Float64Array, grad: Float64Array) => number;

export interface LbfgsOptions {
  /** Stop when ‖∇f‖₂ ≤ this (absolute; the caller scales it to its problem). */
  gradientTolerance: number;
  maxIterations: number;
  /** Number of correction pairs kept (default 10). */
  memory?: number;
  /** Trial step of the first iteration (default 1/‖∇f‖₂, capped at 1). */
  firstStep?: number;
  /** Evaluations allowed per line search (default 40). */
  maxLineSearch?: number;
  /** Relative rounding noise of f, below which f stops deciding steps (default 1e-12). */
  functionNoise?: number;
  /** f(x0) and ∇f(x0) when the caller already has them (saves one evaluation). */
  start?: { f: number; grad: Float64Array };
}

export type LbfgsStop = "gradient" | "max_iterations" | "line_search";

export interface LbfgsResult {
  x: Float64Array;
  f: number;
  /** ∇f(x) */
  grad: Float64Array;
  gradientNorm: number;
  iterations: number;
  evaluations: number;
  converged: boolean;
  reason: LbfgsStop;
}

const C1 = 1e-4; // sufficient decrease (Armijo)
const C2 = 0.9; // curvature; 0.9 is the usual choice for quasi-Newton methods
const DELTA = 0.1; // approximate Wolfe upper bound, (2δ − 1)·φ'(0)

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

interface LineResult {
  ok: boolean;
  f: number;
  step: number;
}

/**
 * Finds a step along `p` from `x` (f0, d0 = ∇f·p < 0), leaving the point in `xNew` and its
 * gradient in `gNew`. Brackets with the derivative sign; inside a bracket takes the secant of
 * the two derivatives (or a quadratic fit when only f says the step is too long), safeguarded
 * to the middle 80 % of the bracket.
 */
function lineSearch(
  fg: ObjectiveFn,
  x: Float64Array,
  f0: number,
  p: Float64Array,
  d0: number,
  step0: number,
  xNew: Float64Array,
  gNew: Float64Array,
  maxEval: number,
  noise: number,
  count: { evaluations: number },
): LineResult {
  const epsF = noise * Math.abs(f0);
  let lo = 0;
  let flo = f0;
  let dlo = d0;
  let hi = Number.POSITIVE_INFINITY;
  let fhi = Number.NaN;
  let dhi = Number.NaN;
  let a = step0;
  const n = x.length;
  for (let it = 0; it < maxEval; it++) {
    for (let i = 0; i < n; i++) xNew[i] = (x[i] as number) + a * (p[i] as number);
    const f = fg(xNew, gNew);
    count.evaluations++;
    const d = dot(gNew, p);
    if (!Number.isFinite(f) || !Number.isFinite(d)) {
      // Overflow far along p: the minimum lies closer.
      hi = a;
      fhi = Number.POSITIVE_INFINITY;
      dhi = Number.NaN;
    } else {
      const armijo = f <= f0 + C1 * a * d0;
      const inNoise = f <= f0 + epsF;
      if (armijo && Math.abs(d) <= -C2 * d0) return { ok: true, f, step: a };
      if (inNoise && C2 * d0 <= d && d <= (2 * DELTA - 1) * d0) return { ok: true, f, step: a };
      if ((!armijo && !inNoise) || d >= 0) {
        hi = a;
        fhi = f;
        dhi = d;
      } else {
        lo = a;
        flo = f;
        dlo = d;
      }
    }
    if (hi === Number.POSITIVE_INFINITY) {
      a *= 4;
      continue;
    }
    const width = hi - lo;
    if (width <= 1e-16 * hi) break;
    let next: number;
    if (Number.isFinite(dhi) && dhi >= 0) {
      next = lo - (dlo * width) / (dhi - dlo); // secant on φ'
    } else if (Number.isFinite(fhi)) {
      const denom = 2 * (fhi - flo - dlo * width);
      next = denom > 0 ? lo - (dlo * width * width) / denom : lo + width / 2; // quadratic fit of φ
    } else {
      next = lo + width / 2;
    }
    const margin = 0.1 * width;
    if (!(next >= lo + margin && next <= hi - margin)) next = lo + width / 2;
    a = next;
  }
  // No step met the conditions. A step that decreased f (lo > 0) is still progress.
  if (lo > 0) {
    for (let i = 0; i < n; i++) xNew[i] = (x[i] as number) + lo * (p[i] as number);
    const f = fg(xNew, gNew);
    count.evaluations++;
    return { ok: Number.isFinite(f), f, step: lo };
  }
  return { ok: false, f: f0, step: 0 };
}

export function minimizeLbfgs(fg: ObjectiveFn, x0: Float64Array, options: LbfgsOptions): LbfgsResult {
  const n = x0.length;
  const m = Math.max(1, options.memory ?? 10);
  const maxLs = options.maxLineSearch ?? 40;
  const noise = options.functionNoise ?? 1e-12;
  const count = { evaluations: 0 };

  let x = Float64Array.from(x0);
  let g = new Float64Array(n);
  let f: number;
  if (options.start) {
    f = options.start.f;
    g.set(options.start.grad);
  } else {
    f = fg(x, g);
    count.evaluations++;
  }
  if (!Number.isFinite(f)) throw new RangeError(`L-BFGS: objective is not finite at the start point (${f})`);

  let xNew = new Float64Array(n);
  let gNew = new Float64Array(n);
  const p = new Float64Array(n);
  const sHist = Array.from({ length: m }, () => new Float64Array(n));
  const yHist = Array.from({ length: m }, () => new Float64Array(n));
  const rho = new Float64Array(m);
  const alpha = new Float64Array(m);
  let stored = 0; // pairs in the ring
  let newest = -1; // index of the newest pair
  let iterations = 0;
  let reason: LbfgsStop = "max_iterations";
  let gnorm = Math.sqrt(dot(g, g));

  while (true) {
    if (gnorm <= options.gradientTolerance) {
      reason = "gradient";
      break;
    }
    if (iterations >= options.maxIterations) break;

    // Two-loop recursion: p = −H·g.
    for (let i = 0; i < n; i++) p[i] = -(g[i] as number);
    let gamma = 1;
    if (stored > 0) {
      for (let k = 0; k < stored; k++) {
        const idx = (newest - k + m) % m;
        const a = (rho[idx] as number) * dot(sHist[idx] as Float64Array, p);
        alpha[idx] = a;
        const y = yHist[idx] as Float64Array;
        for (let i = 0; i < n; i++) p[i] = (p[i] as number) - a * (y[i] as number);
      }
      const yN = yHist[newest] as Float64Array;
      gamma = dot(sHist[newest] as Float64Array, yN) / dot(yN, yN);
      for (let i = 0; i < n; i++) p[i] = (p[i] as number) * gamma;
      for (let k = stored - 1; k >= 0; k--) {
        const idx = (newest - k + m) % m;
        const b = (rho[idx] as number) * dot(yHist[idx] as Float64Array, p);
        const s = sHist[idx] as Float64Array;
        const c = (alpha[idx] as number) - b;
        for (let i = 0; i < n; i++) p[i] = (p[i] as number) + c * (s[i] as number);
      }
    }
    let d0 = dot(g, p);
    if (!(d0 < 0)) {
      // Not a descent direction (rounding in a nearly flat region): restart from steepest descent.
      stored = 0;
      for (let i = 0; i < n; i++) p[i] = -(g[i] as number);
      d0 = -gnorm * gnorm;
    }
    const step0 = stored > 0 ? 1 : (options.firstStep ?? Math.min(1, 1 / gnorm));
    let ls = lineSearch(fg, x, f, p, d0, step0, xNew, gNew, maxLs, noise, count);
    if (!ls.ok && stored > 0) {
      // The quasi-Newton model misled the search: drop it and try steepest descent once.
      stored = 0;
      for (let i = 0; i < n; i++) p[i] = -(g[i] as number);
      d0 = -gnorm * gnorm;
      ls = lineSearch(fg, x, f, p, d0, Math.min(1, 1 / gnorm), xNew, gNew, maxLs, noise, count);
    }
    if (!ls.ok) {
      reason = "line_search";
      break;
    }
    iterations++;

    // Correction pair s = x⁺ − x, y = g⁺ − g; kept only when the curvature sᵀy is positive.
    const slot = (newest + 1) % m;
    const sv = sHist[slot] as Float64Array;
    const yv = yHist[slot] as Float64Array;
    let sy = 0;
    let yy = 0;
    for (let i = 0; i < n; i++) {
      const si = (xNew[i] as number) - (x[i] as number);
      const yi = (gNew[i] as number) - (g[i] as number);
      sv[i] = si;
      yv[i] = yi;
      sy += si * yi;
      yy += yi * yi;
    }
    if (sy > 1e-16 * yy && yy > 0) {
      rho[slot] = 1 / sy;
      newest = slot;
      stored = Math.min(stored + 1, m);
    } else if (stored === m) {
      stored--; // the slot just overwritten held the oldest pair
    }
    [x, xNew] = [xNew, x];
    [g, gNew] = [gNew, g];
    f = ls.f;
    gnorm = Math.sqrt(dot(g, g));
  }
  return {
    x,
    f,
    grad: g,
    gradientNorm: gnorm,
    iterations,
    evaluations: count.evaluations,
    converged: reason === "gradient",
    reason,
  };
}
