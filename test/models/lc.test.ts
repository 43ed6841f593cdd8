import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, DataError } from "../../src/core/errors.js";
import { type LcModel, lcParams, predictLc, trainLc } from "../../src/models/lc.js";
import { applyScaler, fitScaler } from "../../src/models/scaler.js";
import { ROOT } from "../helpers/paths.js";

/** scikit-learn's converged optima on real features, see test/fixtures/lc/lc_fixture.py. */
interface LcCase {
  name: string;
  features: number;
  params: { C: number; penalty: "l2" | "none"; class_weight: "balanced" | null; fit_intercept: boolean };
  coef: number[];
  intercept: number;
  proba_rows: number[];
  proba: number[];
}
interface Fixture {
  versions: Record<string, string>;
  columns: number[][];
  y: number[];
  cases: LcCase[];
}
const fx = JSON.parse(readFileSync(resolve(ROOT, "test/fixtures/lc/lc.json"), "utf8")) as Fixture;
const columns = fx.columns.map((c) => Float64Array.from(c));
const y = Float64Array.from(fx.y);

/** |a − b| ≤ rel·|b|, with |b| floored at 1e-3 so that a coefficient near 0 is judged absolutely. */
function expectRelClose(actual: readonly number[], expected: readonly number[], rel: number): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((a, i) => {
    const e = expected[i] as number;
    expect(Math.abs(a - e), `index ${i}: ${a} vs ${e}`).toBeLessThanOrEqual(
      rel * Math.max(Math.abs(e), 1e-3),
    );
  });
}

function scaled(d: number): Float64Array[] {
  const cols = columns.slice(0, d);
  return applyScaler(fitScaler(cols), cols);
}

describe("lc against scikit-learn's converged optimum", () => {
  it("records the versions it was computed with", () => {
    expect(fx.versions.sklearn).toBe("1.2.1");
  });

  for (const c of fx.cases) {
    it(`${c.name}: coefficients, intercept and probabilities`, () => {
      const xs = scaled(c.features);
      const model = trainLc(xs, y, lcParams({ ...c.params, solver: "lbfgs", tol: 1e-10, max_iter: 10000 }));
      expect(model.converged).toBe(true);
      expect(model.iterations).toBeGreaterThan(0);
      expectRelClose(model.coef, c.coef, 1e-4);
      expectRelClose([model.intercept], [c.intercept], 1e-4);
      const p = predictLc(model, xs);
      c.proba_rows.forEach((row, k) => {
        expect(Math.abs((p[row] as number) - (c.proba[k] as number))).toBeLessThanOrEqual(1e-6);
      });
    });
  }

  it("reaches the optimum with scikit-learn's default tol and the original's max_iter", () => {
    const c = fx.cases[0] as LcCase;
    const xs = scaled(c.features);
    const model = trainLc(
      xs,
      y,
      lcParams({ penalty: "l2", C: 1.0, class_weight: null, solver: "sag", max_iter: 100 }),
    );
    expect(model.converged).toBe(true);
    expectRelClose(model.coef, c.coef, 1e-4);
  });
});

describe("lc behaviour", () => {
  const xs = scaled(8);
  const params = lcParams({});

  it("predicts NaN for rows with a NaN feature and keeps the input length", () => {
    const model = trainLc(xs, y, params);
    const test = xs.map((c) => c.slice(0, 50));
    (test[3] as Float64Array)[7] = Number.NaN;
    (test[0] as Float64Array)[12] = Number.NaN;
    (test[7] as Float64Array)[12] = Number.NaN;
    const p = predictLc(model, test);
    expect(p.length).toBe(50);
    p.forEach((v, i) => {
      if (i === 7 || i === 12) expect(v).toBeNaN();
      else expect(v > 0 && v < 1).toBe(true);
    });
  });

  it("is deterministic: the same input gives identical coefficients", () => {
    const a = trainLc(xs, y, params);
    const b = trainLc(
      xs.map((c) => c.slice()),
      y.slice(),
      params,
    );
    expect(b).toEqual(a);
  });

  it("treats a sample weight of 2 as the row appearing twice", () => {
    const n = y.length;
    const w = new Float64Array(n).fill(1);
    const extra: number[] = [];
    for (let i = 0; i < n; i += 3) {
      w[i] = 2;
      extra.push(i);
    }
    const weighted = trainLc(xs, y, params, w);
    const dup = (x: Float64Array): Float64Array =>
      Float64Array.from([...x, ...extra.map((i) => x[i] as number)]);
    const duplicated = trainLc(xs.map(dup), dup(y), params);
    expectRelClose(weighted.coef, duplicated.coef, 1e-6);
    expectRelClose([weighted.intercept], [duplicated.intercept], 1e-6);
  });

  it("balanced class weights equal explicit weights n / (2·n_class)", () => {
    const n = y.length;
    const n1 = y.reduce((a, v) => a + v, 0);
    const w = Float64Array.from(y, (v) => (v === 1 ? n / (2 * n1) : n / (2 * (n - n1))));
    const balanced = trainLc(xs, y, lcParams({ class_weight: "balanced" }));
    const explicit = trainLc(xs, y, params, w);
    expectRelClose(balanced.coef, explicit.coef, 1e-7);
  });

  it("without a penalty, unscaled features give the same probabilities as scaled ones", () => {
    // The unpenalised optimum is affine invariant; prices near 22,000 next to returns near 1e-3
    // make the raw problem badly scaled, which the whitening must absorb.
    const none = lcParams({ penalty: "none" });
    const raw = columns.slice(0, 8);
    const onRaw = predictLc(trainLc(raw, y, none), raw);
    const onScaled = predictLc(trainLc(xs, y, none), xs);
    for (let i = 0; i < onRaw.length; i++) {
      expect(Math.abs((onRaw[i] as number) - (onScaled[i] as number))).toBeLessThanOrEqual(1e-6);
    }
  });

  it("converges on a large synthetic problem (sampled Hessian) to Newton's optimum", () => {
    const n = 150_000;
    const d = 5;
    let seed = 12345;
    const rnd = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const cols = Array.from({ length: d }, () => Float64Array.from({ length: n }, () => rnd() * 2 - 1));
    // a nearly collinear pair, as SMA 5 / SMA 10
    const c0 = cols[0] as Float64Array;
    cols[1] = Float64Array.from(c0, (v) => v + 1e-4 * (rnd() - 0.5));
    const labels = Float64Array.from({ length: n }, (_, i) => {
      const z = 1.5 * (c0[i] as number) - 0.8 * ((cols[2] as Float64Array)[i] as number) - 1;
      return rnd() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
    });
    const model = trainLc(cols, labels, params);
    expect(model.converged).toBe(true);
    const exact = newton(cols, labels, 1);
    expectRelClose([...model.coef, model.intercept], exact, 1e-5);
  });

  it("returns intercept 0 without fit_intercept", () => {
    const model = trainLc(xs, y, lcParams({ fit_intercept: false }));
    expect(model.intercept).toBe(0);
  });

  it("rejects labels of one class, labels other than 0/1, and mismatched shapes", () => {
    expect(() => trainLc(xs, new Float64Array(y.length), params)).toThrow(/one class/);
    const bad = y.slice();
    bad[5] = 2;
    expect(() => trainLc(xs, bad, params)).toThrow(DataError);
    expect(() => trainLc(xs, y.slice(1), params)).toThrow(/feature column 0 has/);
    const nan = xs.map((c) => c.slice());
    (nan[2] as Float64Array)[10] = Number.NaN;
    expect(() => trainLc(nan, y, params)).toThrow(/NaN/);
    // above 131,072 rows the Hessian is estimated on every k-th row: the first pass still sees all
    const big = 140_000;
    const bigCols = [Float64Array.from({ length: big }, (_, i) => Math.sin(i))];
    const bigY = Float64Array.from({ length: big }, (_, i) => i % 2);
    (bigCols[0] as Float64Array)[1] = Number.POSITIVE_INFINITY;
    expect(() => trainLc(bigCols, bigY, params)).toThrow(/NaN or infinite/);
    const model: LcModel = trainLc(xs, y, params);
    expect(() => predictLc(model, xs.slice(1))).toThrow(/8 features/);
  });
});

describe("lcParams", () => {
  it("accepts the original's params and fills scikit-learn's defaults", () => {
    const p = lcParams({
      is_scale: false,
      penalty: "l2",
      C: 1.0,
      class_weight: null,
      solver: "sag",
      max_iter: 100,
    });
    expect(p).toEqual({
      C: 1,
      penalty: "l2",
      class_weight: null,
      max_iter: 100,
      tol: 1e-4,
      fit_intercept: true,
    });
    expect(lcParams({})).toEqual(p);
  });

  it("maps penalty null to none, accepts any solver and random_state, and balanced weights", () => {
    const p = lcParams({
      penalty: null,
      solver: "liblinear",
      random_state: 42,
      class_weight: "balanced",
      tol: 1e-6,
    });
    expect(p.penalty).toBe("none");
    expect(p.class_weight).toBe("balanced");
    expect(p.tol).toBe(1e-6);
  });

  it("names unknown keys and bad values in one ConfigError", () => {
    expect(() => lcParams({ C: 1, n_estimators: 10 })).toThrow(ConfigError);
    expect(() => lcParams({ C: 1, n_estimators: 10 })).toThrow(/unknown key "n_estimators"/);
    let err: unknown;
    try {
      lcParams({ C: -1, penalty: "l1", max_iter: 1.5, class_weight: { 0: 1 }, foo: 1 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const issues = (err as ConfigError).issues.join("\n");
    for (const word of ['"C"', '"penalty"', '"max_iter"', '"class_weight"', '"foo"'])
      expect(issues).toContain(word);
  });
});

/** Newton's method on the L2 objective (λ = 1/C), dense and direct: the test's own reference. */
function newton(cols: Float64Array[], labels: Float64Array, C: number): number[] {
  const n = labels.length;
  const d = cols.length;
  const D = d + 1;
  const at = (a: Float64Array, i: number): number => a[i] as number;
  const theta = new Float64Array(D);
  const xi = new Float64Array(D);
  for (let it = 0; it < 30; it++) {
    const g = new Float64Array(D);
    const H = new Float64Array(D * D); // row-major, full
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < d; j++) xi[j] = at(cols[j] as Float64Array, i);
      xi[d] = 1;
      let z = 0;
      for (let j = 0; j < D; j++) z += at(theta, j) * at(xi, j);
      const p = 1 / (1 + Math.exp(-z));
      const r = p - at(labels, i);
      const q = p * (1 - p);
      for (let j = 0; j < D; j++) {
        g[j] = at(g, j) + r * at(xi, j);
        for (let k = 0; k < D; k++) H[j * D + k] = at(H, j * D + k) + q * at(xi, j) * at(xi, k);
      }
    }
    for (let j = 0; j < d; j++) {
      g[j] = at(g, j) + at(theta, j) / C;
      H[j * D + j] = at(H, j * D + j) + 1 / C;
    }
    // Gaussian elimination: H·δ = g, then θ −= δ
    for (let p = 0; p < D; p++) {
      for (let r = p + 1; r < D; r++) {
        const f = at(H, r * D + p) / at(H, p * D + p);
        for (let k = p; k < D; k++) H[r * D + k] = at(H, r * D + k) - f * at(H, p * D + k);
        g[r] = at(g, r) - f * at(g, p);
      }
    }
    for (let p = D - 1; p >= 0; p--) {
      let s = at(g, p);
      for (let k = p + 1; k < D; k++) s -= at(H, p * D + k) * at(g, k);
      g[p] = s / at(H, p * D + p);
    }
    for (let j = 0; j < D; j++) theta[j] = at(theta, j) - at(g, j);
  }
  return Array.from(theta);
}
