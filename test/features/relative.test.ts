import { describe, expect, it } from "vitest";
import {
  applyRelative,
  applyRelativeRow,
  parseRelativeParams,
  type RelativeParams,
} from "../../src/features/relative.js";

// Three windows' outputs over two rows.
const A = Float64Array.from([2, 4]);
const B = Float64Array.from([4, 5]);
const C = Float64Array.from([8, 10]);

function rel(params: RelativeParams): number[][] {
  return applyRelative([A, B, C], params).map((s) => Array.from(s));
}

describe("applyRelative (the original's parameters)", () => {
  it("leaves the series alone without rel_base, and returns copies", () => {
    const out = applyRelative([A, B], {});
    expect(out.map((s) => Array.from(s))).toEqual([
      [2, 4],
      [4, 5],
    ]);
    expect(out[0]).not.toBe(A);
  });

  it('"next": each series against the next window\'s; the last stays', () => {
    expect(rel({ rel_base: "next", rel_func: "diff" })).toEqual([
      [-2, -1],
      [-4, -5],
      [8, 10],
    ]);
    expect(rel({ rel_base: "next", rel_func: "rel" })).toEqual([
      [0.5, 0.8],
      [0.5, 0.5],
      [8, 10],
    ]);
  });

  it('"last": every series against the last; the last stays', () => {
    expect(rel({ rel_base: "last", rel_func: "rel_diff" })).toEqual([
      [-0.75, -0.6],
      [-0.5, -0.5],
      [8, 10],
    ]);
  });

  it('"prev": each series against the previous window\'s; the first stays', () => {
    expect(rel({ rel_base: "prev", rel_func: "diff" })).toEqual([
      [2, 4],
      [2, 1],
      [4, 5],
    ]);
  });

  it('"first": against the first series (the original used the last one here by mistake)', () => {
    expect(rel({ rel_base: "first", rel_func: "rel" })).toEqual([
      [2, 4],
      [2, 1.25],
      [4, 2.5],
    ]);
  });

  it("percentage multiplies every output by 100, the unchanged base and rel_base-less sets too", () => {
    expect(rel({ rel_base: "last", rel_func: "rel_diff", percentage: true })).toEqual([
      [-75, -60],
      [-50, -50],
      [800, 1000],
    ]);
    expect(applyRelative([A], { percentage: true }).map((s) => Array.from(s))).toEqual([[200, 400]]);
  });

  it("log is the natural log of the final value (after rel and percentage); negatives give NaN", () => {
    const out = rel({ rel_base: "next", rel_func: "rel", log: true });
    expect(out[0]?.[0]).toBeCloseTo(Math.log(0.5), 15);
    expect(out[2]?.[1]).toBeCloseTo(Math.log(10), 15);
    const neg = rel({ rel_base: "next", rel_func: "diff", log: true });
    expect(neg[0]?.[0]).toBeNaN();
  });

  it("NaN in either series gives NaN; division by a zero base gives ±Infinity as numpy does", () => {
    const out = applyRelative([Float64Array.from([Number.NaN, 1]), Float64Array.from([1, 0])], {
      rel_base: "next",
      rel_func: "rel",
    });
    expect(Array.from(out[0] as Float64Array)).toEqual([Number.NaN, Number.POSITIVE_INFINITY]);
  });

  it("the row form gives the same numbers as the series form", () => {
    for (const params of [
      { rel_base: "next", rel_func: "rel_diff", percentage: true },
      { rel_base: "last", rel_func: "diff" },
      { rel_base: "prev", rel_func: "rel", log: true },
      { rel_base: "first", rel_func: "rel_diff" },
      { percentage: true },
    ] as RelativeParams[]) {
      const series = applyRelative([A, B, C], params);
      const out = new Float64Array(3);
      applyRelativeRow([A[1] as number, B[1] as number, C[1] as number], params, out);
      expect(Array.from(out)).toEqual(series.map((s) => s[1]));
    }
  });
});

describe("parseRelativeParams", () => {
  it("reads the four keys and ignores others (bias, …)", () => {
    expect(
      parseRelativeParams(
        { rel_base: "prev", rel_func: "rel", percentage: true, log: false, bias: true },
        "x",
      ),
    ).toEqual({ rel_base: "prev", rel_func: "rel", percentage: true, log: false });
    expect(parseRelativeParams(undefined, "x")).toEqual({});
    expect(parseRelativeParams({ rel_base: false, rel_func: false }, "x")).toEqual({});
  });

  it("names the key and the accepted values", () => {
    expect(() => parseRelativeParams({ rel_base: "base" }, "talib")).toThrow(
      /talib: parameters.rel_base must be one of "next", "last", "prev", "first", found "base"/,
    );
    expect(() => parseRelativeParams({ rel_base: "next" }, "talib")).toThrow(/rel_func/);
    expect(() => parseRelativeParams({ rel_base: "next", rel_func: "ratio" }, "talib")).toThrow(/rel_func/);
    expect(() => parseRelativeParams({ percentage: 1 }, "talib")).toThrow(/percentage must be true or false/);
    expect(() => parseRelativeParams([1], "talib")).toThrow(/parameters must be an object/);
  });

  it("applyRelative refuses a rel_base without rel_func when it has something to convert", () => {
    expect(() => applyRelative([A, B], { rel_base: "next" })).toThrow(/rel_func/);
    expect(() => applyRelative([A, B], { rel_base: "middle" as never, rel_func: "rel" })).toThrow(/rel_base/);
  });
});
