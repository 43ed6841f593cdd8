import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { Frame } from "../../src/core/frame.js";
import type { GeneratorConfig } from "../../src/features/generator.js";
import { itbstatsGenerator } from "../../src/features/itbstats.js";
import { npSum } from "../../src/features/stats.js";
import { sampleCandles } from "../helpers/candles.js";
import { ROOT } from "../helpers/paths.js";

/** Values from numpy / pandas / scipy, see test/fixtures/itbstats_fixture.py. */
interface Fixture {
  versions: Record<string, string>;
  windows: number[];
  close: number[];
  rows: number[];
  values: Record<string, (number | null)[]>;
}
const fx = JSON.parse(readFileSync(resolve(ROOT, "test/fixtures/itbstats.json"), "utf8")) as Fixture;

const FUNCTIONS = [
  "scipy_skew",
  "pandas_skew",
  "scipy_kurtosis",
  "pandas_kurtosis",
  "lsbm",
  "fmax",
  "mean",
  "std",
  "area",
  "slope",
];

function frameOf(cols: Record<string, Float64Array>): Frame {
  const n = Object.values(cols)[0]?.length ?? 0;
  return new Frame(
    Float64Array.from({ length: n }, (_, i) => i * 60_000),
    Object.entries(cols),
  );
}

/**
 * |a − b| ≤ 1e-9·|b|, with an absolute floor for values that are rounding noise around 0: the
 * fixture rows are printed with 15 digits, and scipy's slope goes through BLAS, whose summation
 * order differs from numpy's, so a slope near 0 carries an absolute error of its scale × 1e-16.
 */
function close(a: number, b: number | null, floor: number): boolean {
  if (b === null) return Number.isNaN(a);
  return Math.abs(a - b) <= 1e-9 * Math.abs(b) + floor;
}

function checkAgainstFixture(name: string, config: GeneratorConfig, fixtureName: (f: string) => string) {
  const x = Float64Array.from(fx.close);
  const outs = itbstatsGenerator.batch(frameOf({ close: x }), config);
  const names = itbstatsGenerator.outputs(config);
  let checked = 0;
  names.forEach((out, k) => {
    const [, fname, w] = /^close_(.+)_(\d+)$/.exec(out) as RegExpExecArray;
    const expected = fx.values[`${fixtureName(fname as string)}_${w}`] as (number | null)[];
    const got = outs[k] as Float64Array;
    // Slopes are per-bar price changes (~1..100); everything else is exact up to printing.
    const floor = fname === "slope" ? 1e-10 : 1e-14;
    fx.rows.forEach((row, j) => {
      const e = expected[j] as number | null;
      const g = got[row] as number;
      if (!close(g, e, floor)) {
        throw new Error(`${name}: ${out} at row ${row}: got ${g}, numpy/pandas/scipy gave ${e}`);
      }
      checked++;
    });
  });
  return checked;
}

describe("itbstats against numpy/pandas/scipy (fixture)", () => {
  it(`matches every function and window on 2,000 real closes (${fx.versions.pandas ? `pandas ${fx.versions.pandas}, scipy ${fx.versions.scipy}, numpy ${fx.versions.numpy}` : ""})`, () => {
    const config = { columns: "close", functions: FUNCTIONS, windows: fx.windows };
    const checked = checkAgainstFixture("default (bias false)", config, (f) => f);
    expect(checked).toBe(FUNCTIONS.length * fx.windows.length * fx.rows.length);
  });

  it("scipy_skew and scipy_kurtosis with parameters.bias = true", () => {
    const config = {
      columns: ["close"],
      functions: ["scipy_skew", "scipy_kurtosis"],
      windows: fx.windows,
      parameters: { bias: true },
    };
    checkAgainstFixture("bias true", config, (f) => `${f}_bias`);
  });

  it("sums like numpy: pairwise in blocks of 8192", () => {
    // A value that an ordinary left-to-right sum would round differently.
    const a = Float64Array.from({ length: 20_000 }, (_, i) => 25_000 + Math.sin(i) * 1000 + i * 1e-3);
    let plain = 0;
    for (const v of a) plain += v;
    const s = npSum(a, 0, a.length);
    expect(Math.abs(s - plain)).toBeLessThan(1e-6 * Math.abs(plain));
    const [a3, a4, a5, a6, a7] = Array.from(a.subarray(3, 8));
    expect(npSum(a, 3, 5)).toBe(
      (a3 as number) + (a4 as number) + (a5 as number) + (a6 as number) + (a7 as number),
    );
  });
});

describe("itbstats generator", () => {
  it("names outputs <column>_<function>_<window>, every column, function and window in order", () => {
    const cfg = { columns: ["close", "volume"], functions: ["mean", "STD"], windows: [3, 10] };
    expect(itbstatsGenerator.outputs(cfg)).toEqual([
      "close_mean_3",
      "close_mean_10",
      "close_STD_3",
      "close_STD_10",
      "volume_mean_3",
      "volume_mean_10",
      "volume_STD_3",
      "volume_STD_10",
    ]);
    expect(itbstatsGenerator.inputs(cfg)).toEqual(["close", "volume"]);
    expect(itbstatsGenerator.warmup(cfg)).toBe(9);
  });

  it("uses min_periods = max(1, w // 2): partial windows at the start", () => {
    const x = Float64Array.from([1, 2, 3, 4, 5, 6]);
    const [m4] = itbstatsGenerator.batch(frameOf({ close: x }), {
      columns: "close",
      functions: "mean",
      windows: 4,
    });
    expect(Array.from(m4 as Float64Array)).toEqual([Number.NaN, 1.5, 2, 2.5, 3.5, 4.5]);
    const [m1] = itbstatsGenerator.batch(frameOf({ close: x }), {
      columns: "close",
      functions: "mean",
      windows: 1,
    });
    expect(Array.from(m1 as Float64Array)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("skips leading NaNs and fills gaps forward by default (linear on request)", () => {
    const x = Float64Array.from([Number.NaN, Number.NaN, 1, 2, Number.NaN, 4]);
    const ff = itbstatsGenerator.batch(frameOf({ close: x }), {
      columns: "close",
      functions: "mean",
      windows: 2,
    });
    expect(Array.from(ff[0] as Float64Array)).toEqual([Number.NaN, Number.NaN, 1, 1.5, 2, 3]);
    const lin = itbstatsGenerator.batch(frameOf({ close: x }), {
      columns: "close",
      functions: "mean",
      windows: 2,
      fill: "linear",
    });
    expect(Array.from(lin[0] as Float64Array)).toEqual([Number.NaN, Number.NaN, 1, 1.5, 2.5, 3.5]);
  });

  it("hand-checked values: lsbm, fmax, area, slope, std", () => {
    const x = Float64Array.from([5, 1, 2, 6, 3]);
    const f = frameOf({ close: x });
    const get = (fn: string) =>
      (itbstatsGenerator.batch(f, { columns: "close", functions: fn, windows: 5 })[0] as Float64Array)[4];
    // mean 3.4: below are 1, 2 (run of 2) and 3 (run of 1)
    expect(get("lsbm")).toBe(2);
    // first maximum 6 at position 3 of 5
    expect(get("fmax")).toBe(3 / 5);
    // d = x − 3 = [2, −2, −1, 3, 0]: sum 2, sum|d| 8 → 0.25
    expect(get("area")).toBeCloseTo(0.25, 15);
    // least squares through (0,5) (1,1) (2,2) (3,6) (4,3): slope = 1 / 10 · Σ(i−2)(x−3.4) = 0.1
    expect(get("slope")).toBeCloseTo(0.1, 14);
    expect(get("std")).toBeCloseTo(Math.sqrt((1.6 ** 2 + 2.4 ** 2 + 1.4 ** 2 + 2.6 ** 2 + 0.4 ** 2) / 5), 14);
  });

  it("applies rel_base / rel_func / percentage / log across a function's windows", () => {
    const x = Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
    const f = frameOf({ close: x });
    const plain = itbstatsGenerator.batch(f, { columns: "close", functions: "mean", windows: [2, 4] });
    const rel = itbstatsGenerator.batch(f, {
      columns: "close",
      functions: "mean",
      windows: [2, 4],
      parameters: { rel_base: "last", rel_func: "rel_diff", percentage: true },
    });
    const a = plain[0] as Float64Array;
    const b = plain[1] as Float64Array;
    expect((rel[0] as Float64Array)[7]).toBeCloseTo(
      (((a[7] as number) - (b[7] as number)) / (b[7] as number)) * 100,
      12,
    );
    expect((rel[1] as Float64Array)[7]).toBeCloseTo((b[7] as number) * 100, 12);
  });

  it("refuses unknown functions, bad windows and bad parameters with the key named", () => {
    const base = { columns: "close", functions: ["mean"], windows: [3] };
    expect(() => itbstatsGenerator.outputs({ ...base, functions: ["median"] })).toThrow(
      /unknown function "median"/,
    );
    expect(() => itbstatsGenerator.outputs({ ...base, windows: [0] })).toThrow(/windows/);
    expect(() => itbstatsGenerator.outputs({ ...base, parameters: { rel_base: "middle" } })).toThrow(
      /rel_base/,
    );
    expect(() => itbstatsGenerator.outputs({ ...base, parameters: { bias: "yes" } })).toThrow(/bias/);
    expect(() => itbstatsGenerator.outputs({ ...base, columns: [] })).toThrow(/columns/);
  });
});

describe("itbstats has no lookahead", () => {
  it("a value at row t is the same whether or not later rows exist (prefix invariance)", async () => {
    const frame = (await sampleCandles(["2023-03"])).slice(0, 4000);
    const config = { columns: ["close", "volume"], functions: FUNCTIONS, windows: [3, 20, 60] };
    const full = itbstatsGenerator.batch(frame, config);
    for (const cut of [1, 29, 61, 1777, 3999]) {
      const part = itbstatsGenerator.batch(frame.slice(0, cut), config);
      part.forEach((p, k) => {
        expect(Array.from(p)).toEqual(Array.from((full[k] as Float64Array).subarray(0, cut)));
      });
    }
  });
});

describe("itbstats streaming twin", () => {
  it("equals batch bit for bit on real candles, from the first bar and after warm-up when started late", async () => {
    const frame = (await sampleCandles(["2023-03"])).slice(0, 3000);
    // A gap, to exercise the forward fill in both forms.
    const close = new Float64Array(frame.get("close"));
    close.fill(Number.NaN, 1000, 1010);
    frame.set("close", close);
    const config = {
      columns: ["close", "volume"],
      functions: [...FUNCTIONS, "scipy_skew"],
      windows: [1, 2, 5, 20, 60],
      parameters: { rel_base: "next", rel_func: "rel", log: false },
    };
    const names = itbstatsGenerator.outputs(config);
    const batch = itbstatsGenerator.batch(frame, config);
    const inputs = itbstatsGenerator.inputs(config).map((c) => frame.get(c));
    const warm = itbstatsGenerator.warmup(config);
    const run = (from: number) => {
      const s = itbstatsGenerator.stream?.(config);
      if (!s) throw new Error("no stream");
      const out = new Float64Array(names.length);
      const vals = new Float64Array(inputs.length);
      let mismatches = 0;
      for (let t = from; t < frame.length; t++) {
        inputs.forEach((c, k) => {
          vals[k] = c[t] as number;
        });
        s.next(vals, out);
        if (from > 0 && t - from < warm) continue;
        for (let k = 0; k < names.length; k++) {
          const b = (batch[k] as Float64Array)[t] as number;
          if (!Object.is(out[k], b)) {
            mismatches++;
            if (mismatches < 5) console.error(names[k], t, out[k], b);
          }
        }
      }
      return mismatches;
    };
    expect(run(0)).toBe(0);
    expect(run(1234)).toBe(0);
  });
});
