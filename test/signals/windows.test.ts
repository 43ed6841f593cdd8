import { describe, expect, it } from "vitest";
import { EwmMean, RollingMean } from "../../src/signals/index.js";

const N = Number.NaN;

function run(k: { update(x: number): number }, xs: readonly number[]): number[] {
  return xs.map((x) => k.update(x));
}

/**
 * Expected values are worked out by hand from pandas' definitions (pandas/_libs/window/
 * aggregations.pyx: roll_mean and ewm), as the original calls them:
 *   rolling(window, min_periods=window // 2).mean() and
 *   ewm(span=window, min_periods=window // 2, adjust=False).mean().
 */
describe("RollingMean = pandas rolling(window, min_periods).mean()", () => {
  it("window 3, min_periods 1: NaN skipped inside the window, NaN once the window holds no value", () => {
    // i0 [1]=1; i1 [1,2]=1.5; i2 [1,2,NaN]=1.5; i3 [2,NaN,4]=3; i4 [NaN,4,5]=4.5; i5 [4,5,NaN]=4.5;
    // i6 [5,NaN,NaN]=5; i7 [NaN,NaN,NaN]: no observation → NaN.
    expect(run(new RollingMean(3, 1), [1, 2, N, 4, 5, N, N, N])).toEqual([1, 1.5, 1.5, 3, 4.5, 4.5, 5, N]);
  });

  it("window 4, min_periods 2: NaN while fewer than 2 values are in the window", () => {
    // i0 [1]: 1 value → NaN; i1 [1,NaN] → NaN; i2 [1,NaN,3]=2; i3 [1,NaN,3,5]=3; i4 [NaN,3,5,NaN]=4;
    // i5 [3,5,NaN,NaN]=4; i6 [5,NaN,NaN,NaN]: 1 value → NaN; i7 [NaN,NaN,NaN,2]: 1 value → NaN.
    expect(run(new RollingMean(4, 2), [1, N, 3, 5, N, N, N, 2])).toEqual([N, N, 2, 3, 4, 4, N, N]);
  });

  it("window 1 (min_periods 0) is the identity, NaN staying NaN", () => {
    expect(run(new RollingMean(1, 0), [1, N, 3, -2.5])).toEqual([1, N, 3, -2.5]);
  });

  it("a window of one repeated value returns that value exactly, as pandas does (GH#42064)", () => {
    // A plain running sum gives (0.1 + 0.1 + 0.1) / 3 = 0.10000000000000002; pandas returns 0.1.
    expect((0.1 + 0.1 + 0.1) / 3).not.toBe(0.1);
    expect(run(new RollingMean(3, 1), [0.1, 0.1, 0.1, 0.1])).toEqual([0.1, 0.1, 0.1, 0.1]);
  });

  it("removes the value leaving the window with Kahan compensation (no drift over long series)", () => {
    const k = new RollingMean(3, 1);
    const xs = Array.from({ length: 100_000 }, (_, i) => ((i * 7919) % 1000) / 1000 + 1e6);
    let worst = 0;
    xs.forEach((x, i) => {
      const got = k.update(x);
      if (i >= 2) {
        const exact = ((xs[i - 2] as number) + (xs[i - 1] as number) + x) / 3;
        worst = Math.max(worst, Math.abs(got - exact));
      }
    });
    expect(worst).toBeLessThan(1e-9);
  });

  it("rejects a window below 1", () => {
    expect(() => new RollingMean(0, 0)).toThrow(RangeError);
  });
});

describe("EwmMean = pandas ewm(span, min_periods, adjust=False).mean()", () => {
  it("span 3 (alpha 0.5): starts at the first value; a NaN decays the old weight (ignore_na=False)", () => {
    // alpha = 1 / (1 + (3 - 1) / 2) = 0.5.
    // i0 NaN → NaN (no value yet); i1 first value → 2;
    // i2 old_wt = 0.5: (0.5*2 + 0.5*4) / (0.5 + 0.5) = 3;
    // i3 NaN: mean stays 3, old_wt = 0.5 (decayed, not reset);
    // i4 old_wt = 0.25: (0.25*3 + 0.5*8) / (0.25 + 0.5) = 4.75 / 0.75 (with ignore_na=True it would be 5.5);
    // i5 old_wt = 0.5: (0.5*(4.75/0.75) + 0.5*8) / 1.
    const i4 = 4.75 / 0.75;
    const expected = [N, 2, 3, 3, i4, (0.5 * i4 + 0.5 * 8) / 1];
    expect(run(new EwmMean(3, 1), [N, 2, 4, N, 8, 8])).toEqual(expected);
    expect(i4).toBeCloseTo(19 / 3, 14);
  });

  it("min_periods counts values, not rows: span 4, min_periods 2", () => {
    // alpha = 1 / (1 + 1.5) = 0.4; i0: 1 value → NaN; i1 NaN: 1 value → NaN;
    // i2: old_wt = 0.6 * 0.6 = 0.36 (decayed twice), (0.36*1 + 0.4*3) / (0.36 + 0.4) = 1.56 / 0.76.
    const got = run(new EwmMean(4, 2), [1, N, 3]);
    expect(got[0]).toBeNaN();
    expect(got[1]).toBeNaN();
    expect(got[2]).toBeCloseTo(1.56 / 0.76, 14);
  });

  it("a fractional span (3.5): alpha = 1 / 2.25", () => {
    // i1: old_wt = 1 - 4/9 = 5/9: (5/9 * 1 + 4/9 * 2) / 1 = 13/9.
    const got = run(new EwmMean(3.5, 1), [1, 2]);
    expect(got[0]).toBe(1);
    expect(got[1]).toBeCloseTo(13 / 9, 14);
  });

  it("min_periods 0 behaves as 1 (pandas clamps it) and a constant series stays exact", () => {
    expect(run(new EwmMean(5, 0), [0.1, 0.1, 0.1])).toEqual([0.1, 0.1, 0.1]);
  });
});
