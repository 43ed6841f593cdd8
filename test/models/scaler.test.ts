import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { DataError } from "../../src/core/errors.js";
import { applyScaler, fitScaler } from "../../src/models/scaler.js";
import { ROOT } from "../helpers/paths.js";

/** scikit-learn's StandardScaler, see test/fixtures/lc/lc_fixture.py. */
interface Fixture {
  columns: number[][];
  scaler: {
    features: { mean: number[]; scale: number[]; transformed_row_0: number[] };
    small: {
      columns: (number | null)[][];
      mean: number[];
      scale: number[];
      transformed: (number | null)[][];
    };
  };
}
const fx = JSON.parse(readFileSync(resolve(ROOT, "test/fixtures/lc/lc.json"), "utf8")) as Fixture;
const nanOf = (c: (number | null)[]): Float64Array =>
  Float64Array.from(c, (v) => (v === null ? Number.NaN : v));

function expectRel(actual: readonly number[], expected: readonly number[], rel: number): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((a, i) => {
    const e = expected[i] as number;
    expect(Math.abs(a - e), `index ${i}: ${a} vs ${e}`).toBeLessThanOrEqual(rel * Math.abs(e) + 1e-300);
  });
}

describe("standard scaler against scikit-learn", () => {
  it("mean and scale of real features (returns, volume, price levels)", () => {
    const cols = fx.columns.map((c) => Float64Array.from(c));
    const s = fitScaler(cols);
    expectRel(s.mean, fx.scaler.features.mean, 1e-12);
    expectRel(s.scale, fx.scaler.features.scale, 1e-12);
    const t = applyScaler(s, cols).map((c) => c[0] as number);
    expectRel(t, fx.scaler.features.transformed_row_0, 1e-10);
  });

  it("disregards NaN when fitting and keeps it when transforming; constant column gets scale 1", () => {
    const small = fx.scaler.small;
    const cols = small.columns.map(nanOf);
    const s = fitScaler(cols);
    expectRel(s.mean, small.mean, 1e-15);
    expectRel(s.scale, small.scale, 1e-12);
    const t = applyScaler(s, cols);
    t.forEach((c, j) => {
      const e = nanOf(small.transformed[j] as (number | null)[]);
      c.forEach((v, i) => {
        if (Number.isNaN(e[i] as number)) expect(v).toBeNaN();
        else expect(v).toBeCloseTo(e[i] as number, 9);
      });
    });
  });
});

describe("standard scaler behaviour", () => {
  const cols = fx.columns.slice(0, 3).map((c) => Float64Array.from(c));

  it("fits only the flagged rows when a row mask is given", () => {
    const n = (cols[0] as Float64Array).length;
    const mask = new Uint8Array(n);
    for (let i = 0; i < 1600; i++) mask[i] = 1;
    const masked = fitScaler(cols, mask);
    const sliced = fitScaler(cols.map((c) => c.slice(0, 1600)));
    expect(masked).toEqual(sliced);
  });

  it("returns new arrays of the input length and leaves the input untouched", () => {
    const before = cols.map((c) => c.slice());
    const s = fitScaler(cols);
    const t = applyScaler(s, cols);
    expect(t.map((c) => c.length)).toEqual(cols.map((c) => c.length));
    expect(cols).toEqual(before);
    // standardised: mean 0, population std 1
    for (const c of t) {
      const m = c.reduce((a, v) => a + v, 0) / c.length;
      const v = c.reduce((a, x) => a + (x - m) ** 2, 0) / c.length;
      expect(Math.abs(m)).toBeLessThan(1e-12);
      expect(v).toBeCloseTo(1, 12);
    }
  });

  it("a column without values has mean NaN and scale 1; shape errors are DataErrors", () => {
    const s = fitScaler([Float64Array.of(Number.NaN, Number.NaN)]);
    expect(s.mean[0]).toBeNaN();
    expect(s.scale[0]).toBe(1);
    expect(() => fitScaler([new Float64Array(3), new Float64Array(4)])).toThrow(DataError);
    expect(() => fitScaler(cols, new Uint8Array(2))).toThrow(/row mask/);
    expect(() => applyScaler(fitScaler(cols), cols.slice(1))).toThrow(/fitted on 3 columns/);
  });
});
