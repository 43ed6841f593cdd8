import { describe, expect, it } from "vitest";
import { minimizeLbfgs } from "../../src/models/lbfgs.js";
import { choleskyInPlace, solveLower, solveLowerTransposed } from "../../src/models/linalg.js";

describe("L-BFGS", () => {
  it("minimises the Rosenbrock function from the classic start (−1.2, 1)", () => {
    const r = minimizeLbfgs(
      (x, g) => {
        const a = x[0] as number;
        const b = x[1] as number;
        g[0] = -2 * (1 - a) - 400 * a * (b - a * a);
        g[1] = 200 * (b - a * a);
        return (1 - a) ** 2 + 100 * (b - a * a) ** 2;
      },
      Float64Array.of(-1.2, 1),
      { gradientTolerance: 1e-10, maxIterations: 500 },
    );
    expect(r.converged).toBe(true);
    expect(r.reason).toBe("gradient");
    expect(r.x[0]).toBeCloseTo(1, 8);
    expect(r.x[1]).toBeCloseTo(1, 8);
    expect(r.iterations).toBeLessThan(100);
  });

  it("solves an ill-conditioned quadratic (condition 1e4) to a tight gradient", () => {
    // The iterates match scipy's L-BFGS-B (maxcor 10) to 10 digits on this family of problems.
    const n = 20;
    const diag = Float64Array.from({ length: n }, (_, i) => 10 ** ((4 * i) / (n - 1)));
    const r = minimizeLbfgs(
      (x, g) => {
        let f = 0;
        for (let i = 0; i < n; i++) {
          const d = (x[i] as number) - 1;
          g[i] = (diag[i] as number) * d;
          f += 0.5 * (diag[i] as number) * d * d;
        }
        return f;
      },
      new Float64Array(n),
      { gradientTolerance: 1e-8, maxIterations: 5000 },
    );
    expect(r.converged).toBe(true);
    expect(r.iterations).toBeLessThan(1000);
    for (const v of r.x) expect(v).toBeCloseTo(1, 6);
  });

  it("keeps converging when f can no longer resolve the decrease (approximate Wolfe steps)", () => {
    // f carries a large constant, so near the optimum every decrease is below ε·|f|.
    const r = minimizeLbfgs(
      (x, g) => {
        const a = (x[0] as number) - 3;
        const b = (x[1] as number) + 2;
        g[0] = 2 * a + b;
        g[1] = a + 4 * b;
        return 1e12 + a * a + a * b + 2 * b * b;
      },
      Float64Array.of(0, 0),
      { gradientTolerance: 1e-9, maxIterations: 200 },
    );
    expect(r.converged).toBe(true);
    expect(r.x[0]).toBeCloseTo(3, 8);
    expect(r.x[1]).toBeCloseTo(-2, 8);
  });

  it("stops at max_iterations and reports it", () => {
    const r = minimizeLbfgs(
      (x, g) => {
        const a = x[0] as number;
        const b = x[1] as number;
        g[0] = -2 * (1 - a) - 400 * a * (b - a * a);
        g[1] = 200 * (b - a * a);
        return (1 - a) ** 2 + 100 * (b - a * a) ** 2;
      },
      Float64Array.of(-1.2, 1),
      { gradientTolerance: 1e-12, maxIterations: 3 },
    );
    expect(r.converged).toBe(false);
    expect(r.reason).toBe("max_iterations");
    expect(r.iterations).toBe(3);
  });

  it("rejects a start point where f is not finite", () => {
    expect(() =>
      minimizeLbfgs(() => Number.NaN, new Float64Array(2), { gradientTolerance: 1e-6, maxIterations: 10 }),
    ).toThrow(/not finite/);
  });
});

describe("Cholesky", () => {
  it("factors, solves, and refuses a matrix that is not positive definite", () => {
    const A = Float64Array.of(4, 2, 0.4, 2, 5, 1, 0.4, 1, 3);
    const L = A.slice();
    expect(choleskyInPlace(L, 3)).toBe(true);
    // L·Lᵀ·x = b
    const b = Float64Array.of(1, 2, 3);
    const x = b.slice();
    solveLower(L, 3, x);
    solveLowerTransposed(L, 3, x);
    for (let i = 0; i < 3; i++) {
      let s = 0;
      for (let k = 0; k < 3; k++) s += (A[i * 3 + k] as number) * (x[k] as number);
      expect(s).toBeCloseTo(b[i] as number, 12);
    }
    expect(choleskyInPlace(Float64Array.of(1, 2, 2, 1), 2)).toBe(false);
  });
});
