import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DataError } from "../../src/core/errors.js";
import {
  averagePrecision,
  classifierScores,
  f1At,
  precisionAt,
  recallAt,
  rocAuc,
  thresholdScores,
} from "../../src/models/metrics.js";
import { ROOT } from "../helpers/paths.js";

/** scikit-learn's metrics, see test/fixtures/lc/lc_fixture.py. */
interface MetricCase {
  name: string;
  y: number[];
  score: number[];
  roc_auc: number;
  average_precision: number;
  precision: number;
  recall: number;
  f1: number;
}
const fx = JSON.parse(readFileSync(resolve(ROOT, "test/fixtures/lc/metrics.json"), "utf8")) as {
  versions: Record<string, string>;
  cases: MetricCase[];
};

describe("metrics against scikit-learn", () => {
  it("records the versions it was computed with", () => {
    expect(fx.versions.sklearn).toBe("1.2.1");
  });

  for (const c of fx.cases) {
    it(`${c.name} (${c.y.length} rows)`, () => {
      expect(rocAuc(c.y, c.score)).toBeCloseTo(c.roc_auc, 12);
      expect(averagePrecision(c.y, c.score)).toBeCloseTo(c.average_precision, 12);
      expect(precisionAt(c.y, c.score)).toBeCloseTo(c.precision, 12);
      expect(recallAt(c.y, c.score)).toBeCloseTo(c.recall, 12);
      expect(f1At(c.y, c.score)).toBeCloseTo(c.f1, 12);
      const all = classifierScores(c.y, c.score);
      expect(all.auc).toBeCloseTo(c.roc_auc, 12);
      expect(all.ap).toBeCloseTo(c.average_precision, 12);
      expect(all.f1).toBeCloseTo(c.f1, 12);
    });
  }
});

/** P(s⁺ > s⁻) + ½·P(s⁺ = s⁻) over all pairs: the definition, O(n²). */
function pairwiseAuc(y: number[], s: number[]): number {
  let total = 0;
  let pairs = 0;
  for (let i = 0; i < y.length; i++) {
    if (y[i] !== 1) continue;
    for (let j = 0; j < y.length; j++) {
      if (y[j] !== 0) continue;
      pairs++;
      const a = s[i] as number;
      const b = s[j] as number;
      total += a > b ? 1 : a === b ? 0.5 : 0;
    }
  }
  return total / pairs;
}

/** Σ over distinct thresholds (descending) of Δrecall·precision, written directly. */
function directAp(y: number[], s: number[]): number {
  const P = y.filter((v) => v === 1).length;
  const thresholds = [...new Set(s)].sort((a, b) => b - a);
  let ap = 0;
  let prev = 0;
  for (const t of thresholds) {
    let tp = 0;
    let fp = 0;
    y.forEach((v, i) => {
      if ((s[i] as number) >= t) {
        if (v === 1) tp++;
        else fp++;
      }
    });
    ap += (tp / P - prev) * (tp / (tp + fp));
    prev = tp / P;
  }
  return ap;
}

describe("metrics properties", () => {
  const data = fc
    .array(fc.tuple(fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 6 })), {
      minLength: 2,
      maxLength: 60,
    })
    .filter((rows) => rows.some(([y]) => y === 1) && rows.some(([y]) => y === 0));

  it("AUC equals the pairwise definition with ties counted half", () => {
    fc.assert(
      fc.property(data, (rows) => {
        const y = rows.map(([v]) => v);
        const s = rows.map(([, v]) => v / 6);
        expect(rocAuc(y, s)).toBeCloseTo(pairwiseAuc(y, s), 12);
      }),
    );
  });

  it("AP equals Σ Δrecall·precision over distinct thresholds", () => {
    fc.assert(
      fc.property(data, (rows) => {
        const y = rows.map(([v]) => v);
        const s = rows.map(([, v]) => v / 6);
        expect(averagePrecision(y, s)).toBeCloseTo(directAp(y, s), 12);
      }),
    );
  });

  it("perfect, reversed and constant scores", () => {
    expect(rocAuc([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4])).toBe(1);
    expect(rocAuc([0, 0, 1, 1], [0.4, 0.3, 0.2, 0.1])).toBe(0);
    expect(rocAuc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5])).toBe(0.5);
    expect(averagePrecision([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4])).toBe(1);
    expect(averagePrecision([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5])).toBe(0.5);
  });

  it("one class: AUC NaN, AP 0 without positives; NaN scores and bad labels are DataErrors", () => {
    expect(rocAuc([1, 1], [0.2, 0.3])).toBeNaN();
    expect(rocAuc([0, 0], [0.2, 0.3])).toBeNaN();
    expect(averagePrecision([0, 0], [0.2, 0.3])).toBe(0);
    expect(() => rocAuc([0, 1], [0.2, Number.NaN])).toThrow(DataError);
    expect(() => rocAuc([0, 2], [0.2, 0.3])).toThrow(/expected 0 or 1/);
    expect(() => rocAuc([0, 1], [0.2])).toThrow(/2 labels but 1 scores/);
  });

  it("threshold scores use score > threshold; NaN predicts 0; undefined ratios are 0", () => {
    expect(thresholdScores([1, 1, 0], [0.5, 0.6, 0.7])).toEqual({ precision: 0.5, recall: 0.5, f1: 0.5 });
    expect(thresholdScores([1, 0], [Number.NaN, 0.1])).toEqual({ precision: 0, recall: 0, f1: 0 });
    expect(thresholdScores([0, 0], [0.9, 0.1], 0.5).precision).toBe(0);
    expect(thresholdScores([1, 0, 1], [0.3, 0.1, 0.25], 0.2)).toEqual({ precision: 1, recall: 1, f1: 1 });
  });

  it("classifierScores reads NaN scores as 0, like the original's fillna(0)", () => {
    const y = [0, 1, 1, 0];
    const withNaN = classifierScores(y, [Number.NaN, 0.8, 0.6, 0.3]);
    const zeros = classifierScores(y, [0, 0.8, 0.6, 0.3]);
    expect(withNaN).toEqual(zeros);
  });

  it("AUC on a million rows stays fast (native sorts, no comparator)", () => {
    const n = 1_000_000;
    const y = new Float64Array(n);
    const s = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      s[i] = ((i * 7919) % 1000) / 1000;
      y[i] = (i * 31) % 7 < 2 ? 1 : 0;
    }
    const t0 = performance.now();
    const auc = rocAuc(y, s);
    const ap = averagePrecision(y, s);
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(auc).toBeGreaterThan(0);
    expect(ap).toBeGreaterThan(0);
  });
});
