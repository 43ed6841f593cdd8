import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { benchFeatures } from "../../src/bench/workload.js";
import { loadArchiveMonths } from "../../src/data/archive/import.js";
import { mergeSources } from "../../src/data/merge.js";
import { radixSortFloat64 } from "../../src/models/gb/kernels.js";

/** The radix sort must order values exactly as Float64Array.prototype.sort does, bit for bit. */
function expectSameAsBuiltIn(values: Float64Array): void {
  const expected = values.slice().sort();
  const got = values.slice();
  radixSortFloat64(got, new Float64Array(values.length));
  expect(got.length).toBe(expected.length);
  for (let i = 0; i < got.length; i++) {
    const a = got[i] as number;
    const b = expected[i] as number;
    if (!Object.is(a, b)) throw new Error(`position ${i}: ${a} where the built-in sort has ${b}`);
  }
}

describe("radixSortFloat64", () => {
  it("orders signed zeros, infinities, subnormals, duplicates and NaNs as the built-in sort", () => {
    const special = [
      0,
      -0,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      Number.NaN,
      Number.MIN_VALUE,
      -Number.MIN_VALUE,
      Number.MAX_VALUE,
      -Number.MAX_VALUE,
      1,
      -1,
      1,
      0.1,
      -0.1,
      2 ** 52,
      -(2 ** 52),
    ];
    const v = new Float64Array(4000);
    for (let i = 0; i < v.length; i++) v[i] = special[(i * 7919) % special.length] as number;
    // a NaN with another payload and a negative NaN sort last as well
    const bits = new Uint32Array(v.buffer);
    bits[2 * 3 + 1] = 0xfff80001;
    bits[2 * 5] = 0x1234;
    bits[2 * 5 + 1] = 0x7ff00000;
    expectSameAsBuiltIn(v);
    const sorted = v.slice();
    radixSortFloat64(sorted, new Float64Array(v.length));
    const nans = sorted.filter(Number.isNaN).length;
    expect(nans).toBeGreaterThan(2);
    expect(sorted.subarray(sorted.length - nans).every(Number.isNaN)).toBe(true);
  });

  it("sorts random values of every sign and magnitude, and lengths 0 to 3", () => {
    let s = 12345;
    const rand = (): number => {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      return s / 2 ** 32;
    };
    const v = new Float64Array(100_003);
    for (let i = 0; i < v.length; i++) v[i] = (rand() - 0.5) * 10 ** Math.floor(rand() * 40 - 20);
    expectSameAsBuiltIn(v);
    for (const n of [0, 1, 2, 3]) expectSameAsBuiltIn(v.slice(0, n));
  });

  it("sorts the feature columns of real candles (shared top digits skip their passes)", async () => {
    const klines = await loadArchiveMonths(
      resolve(import.meta.dirname, "../../sample/binance-vision"),
      "BTCUSDT",
      "spot",
      "1m",
      ["2023-02"],
    );
    const { frame } = mergeSources([{ name: "BTCUSDT", prefix: "", frame: klines }], {
      freqMs: 60_000,
      interpolate: false,
      maxGap: 0,
    });
    const names = benchFeatures(frame);
    expect(names.length).toBe(20);
    for (const name of names) expectSameAsBuiltIn(frame.get(name));
    for (const name of ["open", "close", "volume"]) expectSameAsBuiltIn(frame.get(name));
  });

  it("refuses a scratch array shorter than the values", () => {
    expect(() => radixSortFloat64(new Float64Array(4), new Float64Array(3))).toThrow(
      "scratch is shorter than the array",
    );
  });
});
