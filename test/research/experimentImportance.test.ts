import { describe, expect, it } from "vitest";
import {
  correlationRatio,
  type ImportanceTrial,
  parameterImportance,
} from "../../src/research/experiments/importance.js";
import { rng, toyValue } from "../helpers/experiments.js";

/**
 * Parameter importance (η² and its chance-corrected ε²): the definition on a worked example,
 * its invariances, and synthetic trial sets where one parameter alone decides the objective.
 */

describe("correlation ratio", () => {
  it("matches the worked example: y = 1..6 in three pairs", () => {
    // group means 1.5, 3.5, 5.5; grand mean 3.5; SS_total 17.5, SS_within 6 × 0.25 = 1.5,
    // SS_between 16: η² = 16 / 17.5; MS_within = 1.5 / (6 − 3) = 0.5: ε² = (16 − 2 × 0.5) / 17.5
    const r = correlationRatio(Float64Array.of(1, 2, 3, 4, 5, 6), Int32Array.of(0, 0, 1, 1, 2, 2), 3);
    expect(r.eta2).toBeCloseTo(16 / 17.5, 15);
    expect(r.epsilon2).toBeCloseTo(15 / 17.5, 15);
    expect([...r.mean]).toEqual([1.5, 3.5, 5.5]);
    expect([...r.count]).toEqual([2, 2, 2]);
  });

  it("is 0 when the objective does not vary, and 1 when the groups hold one value each", () => {
    expect(correlationRatio(Float64Array.of(2, 2, 2, 2), Int32Array.of(0, 1, 0, 1), 2).eta2).toBe(0);
    const r = correlationRatio(Float64Array.of(1, 1, 5, 5, 9, 9), Int32Array.of(0, 0, 1, 1, 2, 2), 3);
    expect(r.eta2).toBe(1);
    expect(r.epsilon2).toBe(1);
  });
});

/** Trials over four parameters whose objective is `f` of their parameters plus noise of `noise` sd-ish. */
function synthetic(
  n: number,
  seed: number,
  f: (p: Record<string, number | string>) => number,
  noise: number,
) {
  const r = rng(seed);
  const out: ImportanceTrial[] = [];
  for (let i = 0; i < n; i++) {
    const p = {
      C: 10 ** (-2 + 4 * r()),
      depth: 2 + Math.floor(r() * 7),
      lr: r(),
      features: ["fast", "slow", "all"][Math.floor(r() * 3)] as string,
    };
    out.push({ params: p, value: f(p) + (r() - 0.5) * noise });
  }
  return out;
}

const byName = (imp: ReturnType<typeof parameterImportance>) =>
  Object.fromEntries(imp.map((p) => [p.param, p]));

describe("parameter importance", () => {
  it("gives the one parameter that matters an importance near 1 and the others near 0", () => {
    const trials = synthetic(300, 11, (p) => toyValue(p.C as number), 0.002);
    const imp = parameterImportance(trials);
    expect(imp.map((p) => p.param)[0]).toBe("C");
    const m = byName(imp);
    expect(m.C?.importance).toBeGreaterThan(0.9);
    for (const other of ["depth", "lr", "features"]) {
      expect(m[other]?.importance, other).toBeLessThan(0.03);
      // η² alone keeps its share by chance: (k − 1)/(n − 1) on average, which ε² removes
      expect(m[other]?.eta2, other).toBeLessThan(0.08);
    }
    expect(m.C?.kind).toBe("numeric");
    expect(m.C?.groups).toHaveLength(10);
    expect(m.depth?.kind).toBe("numeric-values");
    expect(m.depth?.groups.map((g) => g.label)).toEqual(["2", "3", "4", "5", "6", "7", "8"]);
    expect(m.features?.kind).toBe("categorical");
    expect(m.C?.groups.reduce((a, g) => a + g.count, 0)).toBe(300);
  });

  it("finds a categorical parameter that matters, with its per-choice means", () => {
    const effect: Record<string, number> = { fast: 0.55, slow: 0.6, all: 0.5 };
    const trials = synthetic(240, 5, (p) => effect[p.features as string] as number, 0.004);
    const m = byName(parameterImportance(trials));
    expect(m.features?.importance).toBeGreaterThan(0.95);
    for (const g of m.features?.groups ?? []) expect(g.mean).toBeCloseTo(effect[g.label] as number, 2);
    for (const other of ["C", "depth", "lr"]) expect(m[other]?.importance, other).toBeLessThan(0.03);
  });

  it("does not depend on a numeric parameter's scale (groups by rank)", () => {
    const trials = synthetic(150, 3, (p) => toyValue(p.C as number), 0.01);
    const logged = trials.map((t) => ({
      ...t,
      params: { ...t.params, C: Math.log10(t.params.C as number) },
    }));
    const a = byName(parameterImportance(trials));
    const b = byName(parameterImportance(logged));
    expect(b.C?.importance).toBe(a.C?.importance);
    expect(b.C?.groups.map((g) => g.count)).toEqual(a.C?.groups.map((g) => g.count));
  });

  it("keeps equal values in one group and measures a parameter only on the trials that set it", () => {
    const trials: ImportanceTrial[] = [];
    for (let i = 0; i < 40; i++)
      trials.push({ params: { x: i < 20 ? 1 : 2 + i, y: "a" }, value: i < 20 ? 0 : 1 });
    trials.push({ params: { y: "b" }, value: 5 });
    const m = byName(parameterImportance(trials, { bins: 4 }));
    expect(m.x?.trials).toBe(40);
    // the twenty 1s are one group, however many bins that spans
    expect(m.x?.groups[0]).toMatchObject({ low: 1, high: 1, count: 20, mean: 0 });
    expect(m.x?.eta2).toBe(1);
    expect(m.y?.trials).toBe(41);
  });

  it("gives 0 to a parameter with one value or too few trials", () => {
    const m = byName(
      parameterImportance([
        { params: { a: 1, b: "x" }, value: 1 },
        { params: { a: 2, b: "x" }, value: 2 },
      ]),
    );
    expect(m.a?.importance).toBe(0);
    expect(m.b?.importance).toBe(0);
  });
});
