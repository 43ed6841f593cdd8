import { describe, expect, it } from "vitest";
import {
  binomial,
  deflatedSharpe,
  moments,
  normalCdf,
  normalQuantile,
  overfitOdds,
  pbo,
  sharpeRatio,
} from "../../src/backtest/overfit.js";

/** A seeded uniform generator (mulberry32) and standard normals by Box–Muller. */
function normals(seed: number): () => number {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

function matrix(periods: number, trials: number, f: (t: number, n: number) => number) {
  const values = new Float64Array(periods * trials);
  for (let t = 0; t < periods; t++) for (let n = 0; n < trials; n++) values[t * trials + n] = f(t, n);
  return { periods, trials, values };
}

describe("normal distribution", () => {
  it("Φ matches published values (R pnorm / scipy.stats.norm.cdf) to 1e-15 relative", () => {
    const known: [number, number][] = [
      [0, 0.5],
      [1, 0.8413447460685429],
      [-1.96, 0.024997895148220435],
      [2.5, 0.9937903346742238],
      [-3, 0.0013498980316300946],
      [3, 0.9986501019683699],
      [-5, 2.866515718791939e-7],
      [-10, 7.61985302416047e-24],
    ];
    for (const [x, p] of known) expect(Math.abs(normalCdf(x) - p) / p).toBeLessThan(1e-14);
  });

  it("Φ agrees with an independent integration of the density (Simpson, 20000 steps)", () => {
    const phi = (x: number) => Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
    for (const x of [-2.7, -0.3, 0.9, 1.7, 2.99, 3.01, 4.2]) {
      const steps = 20000;
      const h = x / steps;
      let s = phi(0) + phi(x);
      for (let i = 1; i < steps; i++) s += (i % 2 === 1 ? 4 : 2) * phi(i * h);
      expect(Math.abs(normalCdf(x) - (0.5 + (s * h) / 3))).toBeLessThan(1e-12);
    }
  });

  it("Φ⁻¹ matches published quantiles and inverts Φ to 1e-12", () => {
    const known: [number, number][] = [
      [0.5, 0],
      [0.975, 1.959963984540054],
      [0.99, 2.3263478740408408],
      [0.01, -2.3263478740408408],
      [0.999, 3.090232306167813],
      [1e-10, -6.361340902404056],
      [0.8413447460685429, 1],
    ];
    for (const [p, x] of known) expect(Math.abs(normalQuantile(p) - x)).toBeLessThan(1e-12);
    for (let p = 1e-6; p < 1; p += 0.0173)
      expect(Math.abs(normalCdf(normalQuantile(p)) - p)).toBeLessThan(1e-14);
    expect(normalQuantile(0)).toBe(Number.NEGATIVE_INFINITY);
    expect(normalQuantile(1)).toBe(Number.POSITIVE_INFINITY);
  });
});

describe("deflated Sharpe ratio", () => {
  // Bailey and López de Prado (2014), the numerical example: annualised SR 2.5 over five years
  // of daily returns (T = 1250, 250 a year), N = 100 trials whose annualised Sharpe ratios have
  // variance 1/2, skewness −3, kurtosis 10; the paper prints SR0 ≈ 0.1132 (per day) and DSR = 0.9004.
  const paper = {
    sharpe: 2.5 / Math.sqrt(250),
    trials: 100,
    varianceOfTrialSharpes: 0.5 / 250,
    periods: 1250,
    skew: -3,
    kurtosis: 10,
  };

  it("reproduces the paper's worked example", () => {
    const r = deflatedSharpe(paper);
    expect(r.expectedMaxSharpe).toBeCloseTo(0.1132, 4);
    expect(r.dsr).toBeCloseTo(0.9004, 4);
  });

  it("reproduces the paper's follow-ups: N = 46 gives 0.9505; normal returns reach it at N = 88", () => {
    expect(deflatedSharpe({ ...paper, trials: 46 }).dsr).toBeCloseTo(0.9505, 3);
    expect(deflatedSharpe({ ...paper, trials: 88, skew: 0, kurtosis: 3 }).dsr).toBeCloseTo(0.9505, 3);
  });

  it("falls as trials grow; one trial is the probabilistic Sharpe ratio against 0", () => {
    const few = deflatedSharpe({ ...paper, trials: 10 }).dsr;
    const many = deflatedSharpe({ ...paper, trials: 10000 }).dsr;
    expect(few).toBeGreaterThan(many);
    const one = deflatedSharpe({ ...paper, trials: 1, skew: 0, kurtosis: 3 });
    expect(one.expectedMaxSharpe).toBe(0);
    const sr = paper.sharpe;
    expect(one.dsr).toBeCloseTo(normalCdf((sr * Math.sqrt(1249)) / Math.sqrt(1 + 0.5 * sr * sr)), 15);
  });

  it("sample moments: mean, variance, skewness and kurtosis (not excess)", () => {
    const m = moments([1, 2, 3, 4, 10]);
    expect(m.mean).toBe(4);
    expect(m.variance).toBeCloseTo(12.5, 12);
    // m2 = 10, m3 = 36 (−27 −8 −1 +0 +216)/5 → 180/5, m4 = (81+16+1+0+1296)/5 = 278.8
    expect(m.skew).toBeCloseTo(36 / 10 ** 1.5, 12);
    expect(m.kurtosis).toBeCloseTo(278.8 / 100, 12);
    expect(sharpeRatio([1, 2, 3, 4, 10])).toBeCloseTo(4 / Math.sqrt(12.5), 12);
  });
});

/** CSCV written out directly, for comparison: subsets by bit masks, rows gathered, two-pass moments, ranks by sorting. */
function bruteForcePbo(m: { periods: number; trials: number; values: Float64Array }, S: number) {
  const { periods: T, trials: N, values } = m;
  const blockOf = (t: number) => {
    for (let s = 0; s < S; s++) if (t < Math.floor(((s + 1) * T) / S)) return s;
    return S - 1;
  };
  const sr = (rows: number[], n: number) => {
    const x = rows.map((t) => values[t * N + n] as number);
    const mean = x.reduce((a, b) => a + b, 0) / x.length;
    const sd = Math.sqrt(x.reduce((a, b) => a + (b - mean) ** 2, 0) / (x.length - 1));
    return mean / sd;
  };
  const logits: number[] = [];
  for (let mask = 0; mask < 1 << S; mask++) {
    let bits = 0;
    for (let s = 0; s < S; s++) if (mask & (1 << s)) bits++;
    if (bits !== S / 2) continue;
    const inRows: number[] = [];
    const outRows: number[] = [];
    for (let t = 0; t < T; t++) (mask & (1 << blockOf(t)) ? inRows : outRows).push(t);
    const isr = Array.from({ length: N }, (_, n) => sr(inRows, n));
    const best = isr.indexOf(Math.max(...isr));
    const osr = Array.from({ length: N }, (_, n) => sr(outRows, n));
    const order = osr.map((v, n) => ({ v, n })).sort((a, b) => a.v - b.v);
    const rank = order.findIndex((o) => o.n === best) + 1;
    const w = rank / (N + 1);
    logits.push(Math.log(w / (1 - w)));
  }
  return { pbo: logits.filter((l) => l <= 0).length / logits.length, logits: logits.sort((a, b) => a - b) };
}

describe("probability of backtest overfitting (CSCV)", () => {
  it("agrees with a direct computation on a small matrix (every logit)", () => {
    const z = normals(7);
    const m = matrix(37, 6, (_t, n) => 0.001 * n + 0.01 * z());
    for (const S of [2, 4, 6, 8]) {
      const r = pbo(m, S);
      const b = bruteForcePbo(m, S);
      // the same matrix one row per trial gives the same splits
      const byTrial = new Float64Array(m.values.length);
      for (let t = 0; t < m.periods; t++)
        for (let n = 0; n < m.trials; n++) byTrial[n * m.periods + t] = m.values[t * m.trials + n] as number;
      expect(pbo({ ...m, values: byTrial, byTrial: true }, S).logits).toEqual(r.logits);
      expect(r.combinations).toBe(binomial(S, S / 2));
      expect(r.combinations).toBe(b.logits.length);
      expect(r.pbo).toBe(b.pbo);
      const sorted = Array.from(r.logits).sort((a, c) => a - c);
      for (const [i, l] of sorted.entries()) expect(l).toBeCloseTo(b.logits[i] as number, 10);
    }
    expect(binomial(16, 8)).toBe(12870);
  });

  it("is 0 when one trial is best in every block, its logit ln N every time", () => {
    const z = normals(11);
    const m = matrix(160, 20, (_t, n) => (n === 13 ? 0.05 : 0) + 0.01 * z());
    const r = pbo(m, 16);
    expect(r.combinations).toBe(12870);
    expect(r.pbo).toBe(0);
    expect(r.logit.min).toBeCloseTo(Math.log(20), 12);
    expect(r.logit.max).toBeCloseTo(Math.log(20), 12);
  });

  it("is about one half on pure noise with many trials (the paper's null: no trial has skill)", () => {
    const values: number[] = [];
    for (let seed = 1; seed <= 6; seed++) {
      const z = normals(100 + seed);
      values.push(
        pbo(
          matrix(480, 100, () => 0.01 * z()),
          8,
        ).pbo,
      );
    }
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    expect(mean).toBeGreaterThan(0.35);
    expect(mean).toBeLessThan(0.65);
  });

  it("is near 1 when the in-sample winner is systematically the out-of-sample loser", () => {
    // each trial alternates a good and a bad block at its own phase: what wins in sample is what
    // had its good blocks there, and those trials are the ones whose bad blocks are out of sample
    const z = normals(5);
    const m = matrix(160, 16, (t, n) => {
      const block = Math.floor(t / 10);
      return ((block + n) % 16 < 8 ? 0.02 : -0.02) + 0.001 * z();
    });
    expect(pbo(m, 16).pbo).toBeGreaterThan(0.9);
  });

  it("averages tied ranks, takes the first of tied in-sample winners, and refuses shapes it cannot split", () => {
    // trials 0–2 never trade; trial 3 gains in the first half only
    const m = matrix(8, 4, (t, n) => (n === 3 && t < 4 ? (t % 2 === 0 ? 0.01 : -0.005) : 0));
    const r = pbo(m, 2);
    // in sample = first half: trial 3 wins, ties the three others out of sample (rank 2.5 of 4: ω̄ 0.5, λ 0);
    // in sample = second half: all tie, trial 0 is taken, below trial 3 out of sample (rank 2: ω̄ 0.4)
    expect(Array.from(r.logits)).toEqual([0, Math.log(0.4 / 0.6)]);
    expect(r.pbo).toBe(1);
    expect(() => pbo(m, 3)).toThrow(/even integer/);
    expect(() => pbo(m, 6)).toThrow(/too few/);
    expect(() =>
      pbo(
        matrix(8, 1, () => 0),
        2,
      ),
    ).toThrow(/2 trials/);
  });
});

describe("overfitOdds (a search's summary)", () => {
  /** trials × periods, one row per trial (the grid's layout). */
  function rows(trials: number, periods: number, f: (n: number, t: number) => number): Float64Array {
    const out = new Float64Array(trials * periods);
    for (let n = 0; n < trials; n++) for (let t = 0; t < periods; t++) out[n * periods + t] = f(n, t);
    return out;
  }
  const opts = { trial: "cell", period: "day" };

  it("takes 16 blocks when there are 4 days a block, fewer otherwise, none below 16 days", () => {
    const z = normals(3);
    const r = rows(12, 200, () => 0.01 * z());
    const full = overfitOdds(r, 12, 200, 0, opts);
    expect(full.pbo).toMatchObject({ blocks: 16, combinations: 12870 });
    expect(full.pboNote).toBe("");
    // the same matrix as CSCV reads it (one row per period)
    const m = matrix(200, 12, (t, n) => r[n * 200 + t] as number);
    expect(full.pbo?.pbo).toBe(pbo(m, 16).pbo);
    const short = overfitOdds(r.subarray(0, 12 * 30), 12, 30, 0, opts);
    expect(short.pbo).toMatchObject({ blocks: 6, combinations: 20 });
    expect(short.pboNote).toBe("6 blocks, not 16: 30 days, 4 per block at least (16 blocks need 64 days)");
    const tiny = overfitOdds(r.subarray(0, 12 * 15), 12, 15, 0, opts);
    expect(tiny.pbo).toBeNull();
    expect(tiny.reading[0]).toBe("no PBO: 15 days, fewer than 16 (4 blocks of 4 days)");
    expect(tiny.deflated).not.toBeNull();
    expect(overfitOdds(r.subarray(0, 200), 1, 200, 0, opts).reading[0]).toBe(
      "no PBO: one cell, nothing was selected",
    );
  });

  it("deflates the selected trial's Sharpe ratio with N = trials and V = the trials' Sharpe variance", () => {
    const z = normals(9);
    const r = rows(20, 120, (n) => 0.0005 * n + 0.01 * z());
    const o = overfitOdds(r, 20, 120, 19, opts);
    const own = r.subarray(19 * 120, 20 * 120);
    const sharpes = Array.from({ length: 20 }, (_, n) => sharpeRatio(r.subarray(n * 120, (n + 1) * 120)));
    const m = moments(own);
    const expected = deflatedSharpe({
      sharpe: sharpeRatio(own),
      trials: 20,
      varianceOfTrialSharpes: moments(sharpes).variance,
      periods: 120,
      skew: m.skew,
      kurtosis: m.kurtosis,
    });
    expect(o.deflated?.dsr).toBe(expected.dsr);
    expect(o.deflated?.expectedMaxSharpe).toBe(expected.expectedMaxSharpe);
    expect(o.reading[1]).toMatch(
      /^DSR \d\.\d\d: \d+% probability that the winner's true Sharpe ratio per day \(-?\d\.\d{3}\) beats \d\.\d{3}, the best expected of 20 cells without skill; (not )?significant at 0\.95$/,
    );
  });

  it("reads a PBO above one half as the in-sample best more likely than not at or below the median", () => {
    const z = normals(5);
    const r = rows(16, 160, (n, t) => ((Math.floor(t / 10) + n) % 16 < 8 ? 0.02 : -0.02) + 0.001 * z());
    const o = overfitOdds(r, 16, 160, 0, opts);
    expect(o.pbo?.pbo).toBeGreaterThan(0.5);
    expect(o.reading[0]).toMatch(
      /^PBO \d\.\d\d: the best cell in sample is more likely than not to be at or below the median out of sample \(12870 splits\)$/,
    );
  });
});
