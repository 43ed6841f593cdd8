import { describe, expect, it } from "vitest";
import { fillGaps } from "../../src/features/fill.js";
import { firstDifference } from "../helpers/bits.js";

const N = Number.NaN;

/** The fill by its definition, one position at a time (pandas' interpolate / ffill with leading NaNs kept). */
function byDefinition(x: Float64Array, policy: "ffill" | "linear"): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i] as number;
    if (!Number.isNaN(v)) {
      out[i] = v;
      continue;
    }
    let before = i - 1;
    while (before >= 0 && Number.isNaN(x[before] as number)) before--;
    let after = i + 1;
    while (after < x.length && Number.isNaN(x[after] as number)) after++;
    if (before < 0) out[i] = N;
    else if (policy === "ffill" || after >= x.length) out[i] = x[before] as number;
    else {
      const last = x[before] as number;
      out[i] = last + (((x[after] as number) - last) * (i - before)) / (after - before);
    }
  }
  return out;
}

describe("fillGaps", () => {
  it("keeps leading NaNs, fills interior gaps and holds the last value after the end", () => {
    const x = Float64Array.from([N, N, 1, N, N, 4, 5, N, 9, N, N]);
    expect(Array.from(fillGaps(x, "linear"))).toEqual([N, N, 1, 2, 3, 4, 5, 7, 9, 9, 9]);
    expect(Array.from(fillGaps(x, "ffill"))).toEqual([N, N, 1, 1, 1, 4, 5, 5, 9, 9, 9]);
    // The input is not written.
    expect(Array.from(x)).toEqual([N, N, 1, N, N, 4, 5, N, 9, N, N]);
  });

  it("returns the column itself when nothing needs filling, and the same fill for the same column", () => {
    const whole = Float64Array.from([1, 2, 3]);
    expect(fillGaps(whole, "linear")).toBe(whole);
    const leadingOnly = Float64Array.from([N, N, 3, 4]);
    expect(fillGaps(leadingOnly, "ffill")).toBe(leadingOnly);
    const allNaN = Float64Array.from([N, N]);
    expect(fillGaps(allNaN, "linear")).toBe(allNaN);
    const gappy = Float64Array.from([1, N, 3]);
    expect(fillGaps(gappy, "linear")).toBe(fillGaps(gappy, "linear"));
    expect(fillGaps(gappy, "ffill")).not.toBe(fillGaps(gappy, "linear"));
  });

  it("equals the fill by definition, bit for bit, on long columns with gaps of every kind", () => {
    let seed = 11;
    const rnd = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    for (const lead of [0, 3]) {
      const x = new Float64Array(20_000);
      let p = 20_000;
      for (let i = 0; i < x.length; i++) {
        p += (rnd() - 0.5) * 7;
        x[i] = p;
      }
      x.fill(N, 0, lead);
      // Gaps of 1 to 300 rows, one at the very end.
      for (let g = 0; g < 60; g++) {
        const at = lead + 1 + Math.floor(rnd() * (x.length - 400));
        x.fill(N, at, at + 1 + Math.floor(rnd() * (g % 3 === 0 ? 300 : 3)));
      }
      x.fill(N, x.length - 17);
      for (const policy of ["linear", "ffill"] as const) {
        const got = fillGaps(x, policy);
        const want = byDefinition(x, policy);
        expect(got).not.toBe(x);
        expect(firstDifference(got, want)).toBe(-1);
      }
    }
  });

  it("finds gaps across the 4,096-row chunks of its scan", () => {
    for (const at of [[4095], [4096], [4095, 4096, 4097], [8191, 12_000], [12_999]]) {
      const x = Float64Array.from({ length: 13_000 }, (_, i) => 1000 + i * 0.5);
      for (const i of at) x[i] = N;
      x.fill(N, 0, 2);
      for (const policy of ["linear", "ffill"] as const)
        expect(firstDifference(fillGaps(x, policy), byDefinition(x, policy)), `${at} ${policy}`).toBe(-1);
    }
  });
});
