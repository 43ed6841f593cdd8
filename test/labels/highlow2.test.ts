import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Frame } from "../../src/core/frame.js";
import { highlow2Kernel, LABEL_GENERATORS } from "../../src/labels/index.js";
import { sampleCandles } from "../helpers/candles.js";

const highlow2 = LABEL_GENERATORS.highlow2 as NonNullable<(typeof LABEL_GENERATORS)[string]>;

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

const cfg = (fn: "high" | "low", extra: Record<string, unknown> = {}) => ({
  columns: ["close", "high", "low"],
  function: fn,
  thresholds: [2.0],
  tolerance: 0.2,
  horizon: 3,
  names: [`${fn}_20`],
  ...extra,
});

function labels(frame: Frame, config: Record<string, unknown>): number[] {
  return Array.from(highlow2.batch(frame, config)[0] as Float64Array);
}

/**
 * The label straight from its definition, one bar at a time: the first bar of t+1..t+h that
 * crosses either level decides; a bar crossing both counts as the take-profit. NaN prices cross
 * nothing.
 */
function naive(
  c: Float64Array,
  h: Float64Array,
  l: Float64Array,
  horizon: number,
  thr: number,
  tol: number,
  up: boolean,
) {
  const n = c.length;
  const out = new Float64Array(n).fill(Number.NaN);
  const t1 = up ? thr : -thr;
  const stop = Math.round(-t1 * tol * 1e6) / 1e6;
  for (let t = 0; t + horizon < n; t++) {
    const p = c[t] as number;
    if (Number.isNaN(p)) continue;
    const take = p * (1 + t1 / 100);
    const lose = p * (1 + stop / 100);
    out[t] = 0;
    for (let j = t + 1; j <= t + horizon; j++) {
      const hit = up ? (h[j] as number) > take : (l[j] as number) < take;
      const stopped = up ? (l[j] as number) < lose : (h[j] as number) > lose;
      if (hit) {
        out[t] = 1;
        break;
      }
      if (stopped) break;
    }
  }
  return out;
}

/**
 * ../shared/bench/reference.py's `first_cross` + `labels`: offsets of the first crossing of each
 * level (−1 for none), then first ≥ 0 and (second < 0 or first ≤ second), over complete windows.
 */
function referenceLabels(c: Float64Array, h: Float64Array, l: Float64Array, horizon: number, up: boolean) {
  const n = c.length;
  const thr = 2.0;
  const t = up ? thr : -thr;
  const stop = Number((-t * 0.2).toFixed(6));
  const firstCross = (price: Float64Array, threshold: number, goesUp: boolean) => {
    const m = n - horizon;
    const out = new Int32Array(Math.max(0, m)).fill(-1);
    for (let s = 0; s < m; s++) {
      const line = (c[s] as number) * (1 + threshold / 100);
      for (let k = 0; k < horizon; k++) {
        const v = price[s + 1 + k] as number;
        if (goesUp ? v > line : v < line) {
          out[s] = k;
          break;
        }
      }
    }
    return out;
  };
  const first = firstCross(up ? h : l, t, up);
  const second = firstCross(up ? l : h, stop, !up);
  const lab = new Float64Array(n).fill(Number.NaN);
  for (let s = 0; s < first.length; s++) {
    const f = first[s] as number;
    const g = second[s] as number;
    lab[s] = f >= 0 && (g < 0 || f <= g) ? 1 : 0;
  }
  return lab;
}

function sameArray(a: Float64Array, b: Float64Array): number {
  let diff = 0;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) diff++;
  return diff;
}

describe("highlow2: hand-checked", () => {
  // close 100 everywhere: take-profit 102, stop 99.6 (tolerance 0.2 of 2 %).
  const close = [100, 100, 100, 100, 100];
  const high = [100, 101, 103, 100, 100];
  const low = [100, 99.5, 100, 100, 97];

  it("row 0: the stop (99.5 < 99.6) comes first; row 1: 103 > 102 before 97; the last horizon rows are NaN", () => {
    expect(labels(frameOf(close, high, low), cfg("high"))).toEqual([
      0,
      1,
      Number.NaN,
      Number.NaN,
      Number.NaN,
    ]);
  });

  it("mirrored for low: the same prices reflected around 100", () => {
    const mh = low.map((v) => 200 - v);
    const ml = high.map((v) => 200 - v);
    expect(labels(frameOf(close, mh, ml), cfg("low"))).toEqual([0, 1, Number.NaN, Number.NaN, Number.NaN]);
  });

  it("a bar crossing both levels counts as the take-profit", () => {
    const f = frameOf([100, 100, 100, 100], [100, 103, 100, 100], [100, 99, 100, 100]);
    expect(labels(f, cfg("high"))[0]).toBe(1);
    const g = frameOf([100, 100, 100, 100], [100, 101, 100, 100], [100, 97, 100, 100]);
    expect(labels(g, cfg("low"))[0]).toBe(1);
  });

  it("comparisons are strict: touching a level is not crossing it", () => {
    const f = frameOf([100, 100, 100, 100], [100, 102, 100, 102.5], [100, 99.6, 100, 100]);
    expect(labels(f, cfg("high"))[0]).toBe(1);
    const g = frameOf([100, 100, 100, 100], [100, 102, 100, 100], [100, 99.6, 100, 100]);
    expect(labels(g, cfg("high"))[0]).toBe(0);
  });

  it("nothing crosses within the horizon: 0; a cross after the horizon does not count", () => {
    const f = frameOf([100, 100, 100, 100, 100], [100, 101, 101, 101, 110], [100, 100, 100, 100, 100]);
    expect(labels(f, cfg("high"))).toEqual([0, 1, Number.NaN, Number.NaN, Number.NaN]);
  });

  it("a NaN close gives NaN; NaN prices in the window cross nothing", () => {
    const f = frameOf(
      [Number.NaN, 100, 100, 100, 100],
      [100, Number.NaN, 103, 100, 100],
      [100, Number.NaN, 100, 100, 100],
    );
    expect(labels(f, cfg("high"))).toEqual([Number.NaN, 1, Number.NaN, Number.NaN, Number.NaN]);
  });

  it("one output per threshold, the sign of a threshold being set by function", () => {
    const f = frameOf(close, high, low);
    const outs = highlow2.batch(f, cfg("high", { thresholds: [2.0, -0.5], names: ["high_20", "high_05"] }));
    expect(Array.from(outs[0] as Float64Array).slice(0, 2)).toEqual([0, 1]);
    // 0.5 %: take-profit 100.5 (101 in row 1), stop 99.9 (99.5 in row 1 too): a tie, so 1.
    expect(Array.from(outs[1] as Float64Array).slice(0, 2)).toEqual([1, 1]);
    expect(highlow2.outputs(cfg("high", { thresholds: [1, 2], names: ["a", "b"] }))).toEqual(["a", "b"]);
    expect(highlow2.inputs(cfg("high"))).toEqual(["close", "high", "low"]);
    expect(highlow2.horizon(cfg("high"))).toBe(3);
  });

  it("all rows NaN when the frame is not longer than the horizon", () => {
    const f = frameOf([100, 100, 100], [100, 103, 100], [100, 100, 100]);
    expect(labels(f, cfg("high"))).toEqual([Number.NaN, Number.NaN, Number.NaN]);
  });

  it("refuses bad configs with the key named", () => {
    const f = frameOf(close, high, low);
    expect(() => highlow2.batch(f, cfg("high", { function: "up" }))).toThrow(
      /config.function must be "high" or "low"/,
    );
    expect(() => highlow2.batch(f, cfg("high", { names: ["a", "b"] }))).toThrow(/config.names/);
    expect(() => highlow2.batch(f, cfg("high", { horizon: 0 }))).toThrow(/config.horizon/);
    expect(() => highlow2.batch(f, cfg("high", { columns: ["close", "high"] }))).toThrow(/config.columns/);
    expect(() => highlow2.batch(f, cfg("high", { tolerance: -1 }))).toThrow(/config.tolerance/);
  });
});

describe("highlow2: kernel against the definition", () => {
  it("equals the bar-by-bar definition on random walks with NaNs, any horizon (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -1.5, max: 1.5, noNaN: true }), { minLength: 1, maxLength: 300 }),
        fc.integer({ min: 1, max: 70 }),
        fc.double({ min: 0.1, max: 3, noNaN: true }),
        fc.double({ min: 0, max: 2, noNaN: true }),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 5 }),
        (steps, horizon, thr, tol, up, holes) => {
          const n = steps.length;
          const c = new Float64Array(n);
          const h = new Float64Array(n);
          const l = new Float64Array(n);
          let p = 100;
          steps.forEach((s, i) => {
            p *= 1 + s / 100;
            c[i] = p;
            h[i] = p * (1 + Math.abs(s) / 150);
            l[i] = p * (1 - Math.abs(s) / 120);
          });
          for (const k of holes) {
            const i = k % n;
            if (k % 3 === 0) c[i] = Number.NaN;
            else if (k % 3 === 1) h[i] = Number.NaN;
            else l[i] = Number.NaN;
          }
          const got = highlow2Kernel(c, h, l, horizon, thr, tol, up);
          const want = naive(c, h, l, horizon, thr, tol, up);
          expect(sameArray(got, want)).toBe(0);
        },
      ),
      { numRuns: 400 },
    );
  });
});

describe("highlow2 on real candles (BTCUSDT 1m, 2023-02..04)", () => {
  it("high_20 / low_20 equal the straightforward O(n·h) scan and the reference's first_cross", async () => {
    const frame = await sampleCandles(["2023-02", "2023-03", "2023-04"]);
    expect(frame.length).toBeGreaterThan(40_000);
    const c = frame.get("close");
    const h = frame.get("high");
    const l = frame.get("low");
    const rates: Record<string, number> = {};
    for (const fn of ["high", "low"] as const) {
      const config = { ...cfg(fn), horizon: 120 };
      const got = highlow2.batch(frame, config)[0] as Float64Array;
      expect(sameArray(got, naive(c, h, l, 120, 2.0, 0.2, fn === "high"))).toBe(0);
      expect(sameArray(got, referenceLabels(c, h, l, 120, fn === "high"))).toBe(0);
      let ones = 0;
      let known = 0;
      for (const v of got) {
        if (Number.isNaN(v)) continue;
        known++;
        ones += v;
      }
      expect(known).toBe(frame.length - 120);
      rates[`${fn}_20`] = ones / known;
    }
    // Label rates of the sample, 2023-02..04: reported for the record (see the lead's notes).
    expect(rates.high_20).toBeGreaterThan(0.02);
    expect(rates.low_20).toBeGreaterThan(0.02);
    console.info(`highlow2 label rates 2023-02..04 (${frame.length} rows): ${JSON.stringify(rates)}`);
  });
});
