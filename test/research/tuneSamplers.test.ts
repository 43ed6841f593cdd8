import { describe, expect, it } from "vitest";
import { Halving } from "../../src/research/tune/halving.js";
import { makeSampler, type Observation, tpeStartup } from "../../src/research/tune/samplers.js";
import { type ParamValues, parseSpace } from "../../src/research/tune/space.js";

/** The samplers (random, TPE) and successive halving, on known functions. */

const space = parseSpace(
  JSON.stringify({
    parameters: {
      x: { float: [-5, 5] },
      y: { float: [0.001, 10], log: true },
      n: { int: [1, 64], log: true },
      k: { int: [0, 9] },
      w: { choice: [[1, 5], [1, 5, 60], "none"] },
    },
  }),
  "space.jsonc",
);

/** Runs a sampler for `trials` on f (to maximise), every trial complete. */
function run(sampler: "random" | "tpe", seed: number, trials: number, f: (p: ParamValues) => number) {
  const s = makeSampler(sampler, space.parameters, seed, trials);
  const history: Observation[] = [];
  for (let i = 0; i < trials; i++) {
    const params = s.propose(i, history);
    history.push({ params, value: f(params), status: "complete" });
  }
  return history;
}

/** A smooth function of every dimension with its maximum 0 at x = 1.3, y = 0.5, n = 8, k = 7, w = [1, 5, 60]. */
const target = (p: ParamValues) =>
  -(((p.x as number) - 1.3) ** 2) -
  (Math.log(p.y as number) - Math.log(0.5)) ** 2 -
  (Math.log2(p.n as number) - 3) ** 2 -
  0.1 * ((p.k as number) - 7) ** 2 -
  (JSON.stringify(p.w) === "[1,5,60]" ? 0 : 2);

describe("samplers", () => {
  it("stay inside the space: floats in range, ints integral, choices from the list", () => {
    for (const name of ["random", "tpe"] as const) {
      for (const h of run(name, 3, 40, target)) {
        const p = h.params;
        expect(p.x as number).toBeGreaterThanOrEqual(-5);
        expect(p.x as number).toBeLessThanOrEqual(5);
        expect(p.y as number).toBeGreaterThanOrEqual(0.001);
        expect(p.y as number).toBeLessThanOrEqual(10);
        expect(Number.isInteger(p.n) && (p.n as number) >= 1 && (p.n as number) <= 64).toBe(true);
        expect(Number.isInteger(p.k) && (p.k as number) >= 0 && (p.k as number) <= 9).toBe(true);
        expect([[1, 5], [1, 5, 60], "none"]).toContainEqual(p.w);
      }
    }
  });

  it("are reproducible: the same seed proposes the same parameters, another seed others", () => {
    for (const name of ["random", "tpe"] as const) {
      const a = run(name, 42, 25, target).map((h) => h.params);
      const b = run(name, 42, 25, target).map((h) => h.params);
      const c = run(name, 43, 25, target).map((h) => h.params);
      expect(b).toEqual(a);
      expect(c[0]).not.toEqual(a[0]);
    }
  });

  it("TPE's startup trials are random search's, and TPE starts after a quarter of the trials (2 to 10)", () => {
    expect([4, 8, 40, 100].map(tpeStartup)).toEqual([2, 2, 10, 10]);
    const r = run("random", 7, 40, target).map((h) => h.params);
    const t = run("tpe", 7, 40, target).map((h) => h.params);
    expect(t.slice(0, 10)).toEqual(r.slice(0, 10));
    expect(t[10]).not.toEqual(r[10]);
  });

  it("TPE finds a better optimum than random search on average over 20 seeds (60 trials)", () => {
    const best = (name: "random" | "tpe", seed: number) =>
      Math.max(...run(name, seed, 60, target).map((h) => h.value as number));
    const seeds = Array.from({ length: 20 }, (_, i) => i + 1);
    const tpe = seeds.map((s) => best("tpe", s));
    const rnd = seeds.map((s) => best("random", s));
    const mean = (x: number[]) => x.reduce((a, b) => a + b, 0) / x.length;
    expect(mean(tpe)).toBeGreaterThan(mean(rnd));
    // and on most seeds, not by a few lucky ones
    expect(tpe.filter((v, i) => v > (rnd[i] as number)).length).toBeGreaterThanOrEqual(14);
  });
});

describe("successive halving", () => {
  it("judges at 1, η, η² … folds below K", () => {
    expect(new Halving(3, 4).rungs).toEqual([1, 3]);
    expect(new Halving(2, 8).rungs).toEqual([1, 2, 4]);
    expect(new Halving(3, 1).rungs).toEqual([]);
    expect(new Halving(0, 8).rungs).toEqual([]);
  });

  it("keeps every trial until η reached a rung, then only the best ⌊n/η⌋", () => {
    const h = new Halving(3, 4);
    expect([0.5, 0.6].map((v) => h.report(1, v))).toEqual([true, true]);
    expect(h.report(1, 0.55)).toBe(false); // 3 reached: keep 1, 0.6 is better
    expect(h.report(1, 0.7)).toBe(true); // the best so far
    expect(h.report(1, 0.52)).toBe(false);
    expect(h.report(1, 0.65)).toBe(true); // 6 reached: keep 2 (0.7, 0.65)
    expect(h.report(2, 0.1)).toBe(true); // not a rung
    expect(h.report(1, Number.NaN)).toBe(false);
  });

  it("never prunes the best so far and prunes the worst once η trials are in (random sequences)", () => {
    let state = 12345;
    const rnd = () => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state / 2 ** 32;
    };
    for (let rep = 0; rep < 50; rep++) {
      const eta = 2 + (rep % 3);
      const h = new Halving(eta, 16);
      const seen: number[] = [];
      for (let i = 0; i < 40; i++) {
        const v = rnd();
        const kept = h.report(1, v);
        seen.push(v);
        if (v >= Math.max(...seen)) expect(kept).toBe(true);
        if (seen.length >= eta && v <= Math.min(...seen)) expect(kept).toBe(false);
        const better = seen.filter((x) => x > v).length;
        expect(kept).toBe(seen.length < eta || better < Math.floor(seen.length / eta));
      }
    }
  });
});
