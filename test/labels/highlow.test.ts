import { describe, expect, it } from "vitest";
import { Frame } from "../../src/core/frame.js";
import { futureExtreme, LABEL_GENERATORS } from "../../src/labels/index.js";
import { sampleCandles } from "../helpers/candles.js";

const highlow = LABEL_GENERATORS.highlow as NonNullable<(typeof LABEL_GENERATORS)[string]>;

function frameOf(close: number[], high: number[], low: number[]): Frame {
  return new Frame(
    Float64Array.from(close, (_, i) => i * 60_000),
    [
      ["close", Float64Array.from(close)],
      ["high", Float64Array.from(high)],
      ["low", Float64Array.from(low)],
    ],
  );
}

function byName(frame: Frame, config: Record<string, unknown>): Record<string, number[]> {
  const outs = highlow.batch(frame, config);
  return Object.fromEntries(highlow.outputs(config).map((n, k) => [n, Array.from(outs[k] as Float64Array)]));
}

const NAN = Number.NaN;

describe("highlow: the original's older label set", () => {
  it("names the outputs as the original, the ratio last", () => {
    expect(highlow.outputs({ horizon: 60 })).toEqual([
      "high_max_60",
      "high_10",
      "high_15",
      "high_20",
      "high_25",
      "high_30",
      "high_01",
      "high_02",
      "high_03",
      "high_04",
      "high_05",
      "low_min_60",
      "low_01",
      "low_02",
      "low_03",
      "low_04",
      "low_05",
      "low_10",
      "low_15",
      "low_20",
      "low_25",
      "low_30",
      "high_to_low_60",
    ]);
    expect(highlow.inputs({ horizon: 60 })).toEqual(["close", "high", "low"]);
    expect(highlow.horizon({ horizon: 60 })).toBe(60);
  });

  it("hand-checked: thresholds are inclusive (≥ / ≤), the tail is NaN", () => {
    // Horizon 2. Row 0 sees rows 1-2: max high 101 (+1.0 %), min low 99.5 (−0.5 %).
    // Row 1 sees rows 2-3: max high 100.25 (+0.25 %), min low 98.5 (−1.5 %).
    const f = frameOf([100, 100, 100, 100], [100, 101, 100.25, 100], [100, 99.5, 99.75, 98.5]);
    const o = byName(f, { horizon: 2 });
    const rows = (name: string) => o[name]?.slice(0, 2);
    expect(rows("high_max_2")).toEqual([1, 0.25]);
    expect(rows("high_10")).toEqual([1, 0]);
    expect(rows("high_15")).toEqual([0, 0]);
    expect(rows("high_02")).toEqual([0, 0]);
    expect(rows("high_03")).toEqual([0, 1]);
    expect(rows("high_05")).toEqual([0, 1]);
    expect(rows("low_min_2")).toEqual([0.5, 1.5]);
    expect(rows("low_04")).toEqual([0, 0]);
    expect(rows("low_05")).toEqual([1, 0]);
    expect(rows("low_10")).toEqual([0, 1]);
    expect(rows("low_15")).toEqual([0, 1]);
    expect(rows("low_20")).toEqual([0, 0]);
    expect(o.high_to_low_2?.[0]).toBeCloseTo((1 / 1.5) * 2 - 1, 15);
    expect(o.high_to_low_2?.[1]).toBeCloseTo((0.25 / 1.75) * 2 - 1, 15);
    for (const name of highlow.outputs({ horizon: 2 })) expect(o[name]?.slice(2)).toEqual([NAN, NAN]);
  });

  it("clips as the original: a future entirely below the close gives high_max 0 and ratio −1", () => {
    const f = frameOf([100, 100, 100], [100, 99.5, 99], [100, 99, 98]);
    const o = byName(f, { horizon: 2 });
    expect(o.high_max_2?.[0]).toBe(0);
    expect(o.low_min_2?.[0]).toBe(2);
    expect(o.high_to_low_2?.[0]).toBe(-1);
    expect(o.high_01?.[0]).toBe(1);
  });

  it("a NaN price in the future window gives NaN labels; a flat future gives a NaN ratio", () => {
    const f = frameOf([100, 100, 100, 100], [100, NAN, 100, 100], [100, 100, 100, 100]);
    const o = byName(f, { horizon: 1 });
    expect(o.high_10?.slice(0, 3)).toEqual([NAN, 0, 0]);
    expect(o.low_10?.slice(0, 3)).toEqual([0, 0, 0]);
    expect(o.high_to_low_1?.[1]).toBeNaN();
  });

  it("accepts other column names", () => {
    const f = new Frame(Float64Array.of(0, 1), [
      ["c", Float64Array.of(100, 100)],
      ["h", Float64Array.of(100, 103)],
      ["l", Float64Array.of(100, 100)],
    ]);
    const cfg = { horizon: 1, columns: ["c", "h", "l"] };
    expect(highlow.inputs(cfg)).toEqual(["c", "h", "l"]);
    expect((highlow.batch(f, cfg)[5] as Float64Array)[0]).toBe(1);
  });

  it("futureExtreme equals a direct max / min over t+1..t+h on real candles", async () => {
    const frame = (await sampleCandles(["2023-03"])).slice(0, 20_000);
    const h = frame.get("high");
    const l = frame.get("low");
    for (const w of [1, 7, 60]) {
      const mx = futureExtreme(h, w, true);
      const mn = futureExtreme(l, w, false);
      let bad = 0;
      for (let t = 0; t < h.length; t++) {
        let a = Number.NaN;
        let b = Number.NaN;
        if (t + w < h.length) {
          a = Number.NEGATIVE_INFINITY;
          b = Number.POSITIVE_INFINITY;
          for (let j = t + 1; j <= t + w; j++) {
            a = Math.max(a, h[j] as number);
            b = Math.min(b, l[j] as number);
          }
        }
        if (!Object.is(a, mx[t]) || !Object.is(b, mn[t])) bad++;
      }
      expect(bad).toBe(0);
    }
  });

  it("refuses a missing horizon", () => {
    expect(() => highlow.outputs({})).toThrow(/highlow: config.horizon must be a positive integer/);
  });
});
