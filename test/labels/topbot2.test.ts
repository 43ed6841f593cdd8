import { describe, expect, it } from "vitest";
import { Frame } from "../../src/core/frame.js";
import { extremumLabels, LABEL_GENERATORS } from "../../src/labels/index.js";
import { sampleCandles } from "../helpers/candles.js";

const topbot2 = LABEL_GENERATORS.topbot2 as NonNullable<(typeof LABEL_GENERATORS)[string]>;

function frameOf(x: number[]): Frame {
  return new Frame(
    Float64Array.from(x, (_, i) => i),
    [["close", Float64Array.from(x)]],
  );
}

const cfg = (extra: Record<string, unknown> = {}) => ({
  columns: "close",
  function: "top",
  level: 0.5,
  tolerances: [0.5, 0.1],
  names: ["top_05", "top_01"],
  ...extra,
});

/**
 * The original's find_all_extremums / find_one_extremum written out plainly: linear idxmax
 * (first maximum, NaN skipped), level and tolerance points found by scanning, intervals on a
 * stack, labels on (left tolerance point, right tolerance point).
 */
function plainTopbot(x: Float64Array, isMax: boolean, level: number, tol: number): Float64Array {
  const n = x.length;
  const out = new Float64Array(n);
  const better = (a: number, b: number) => (isMax ? a > b : a < b);
  const beyond = (v: number, line: number) => (isMax ? v < line : v > line);
  const intervals: [number, number][] = [[0, n - 1]];
  while (intervals.length > 0) {
    const [lo, hi] = intervals.pop() as [number, number];
    let e = -1;
    for (let i = lo; i <= hi; i++) {
      const v = x[i] as number;
      if (Number.isNaN(v)) continue;
      if (e < 0 || better(v, x[e] as number)) e = i;
    }
    if (e < 0) continue;
    const ev = x[e] as number;
    const lv = isMax ? ev - level * Math.abs(ev) : ev + level * Math.abs(ev);
    const tv = isMax ? ev - tol * Math.abs(ev) : ev + tol * Math.abs(ev);
    const left = (line: number) => {
      for (let i = e; i >= lo; i--) if (beyond(x[i] as number, line)) return i;
      return -1;
    };
    const right = (line: number) => {
      for (let i = e; i <= hi; i++) if (beyond(x[i] as number, line)) return i;
      return -1;
    };
    const ll = left(lv);
    const rl = right(lv);
    if (ll >= 0 && rl >= 0) for (let i = left(tv) + 1; i < right(tv); i++) out[i] = 1;
    if (ll >= 0 && lo < ll) intervals.push([lo, ll]);
    if (rl >= 0 && rl < hi) intervals.push([rl, hi]);
  }
  for (let i = 0; i < n; i++) if (Number.isNaN(x[i] as number)) out[i] = Number.NaN;
  return out;
}

describe("topbot2", () => {
  it("hand-checked: two tops clear 50 % on both sides; tolerance sets the width of each run", () => {
    // 10 at row 3 falls below 5 at rows 1 and 5; 5 at row 7 falls below 2.5 at rows 6 and 8.
    // 3 at row 4 and 8 at row 2 are not tops of their own: no drop of 50 % on one side.
    const x = [1, 2, 8, 10, 9, 2, 1, 5, 1];
    const outs = topbot2.batch(frameOf(x), cfg());
    // tolerance 0.5 → line at 75 % of the top: 8 and 9 stay above 7.5; 5's run is just itself.
    expect(Array.from(outs[0] as Float64Array)).toEqual([0, 0, 1, 1, 1, 0, 0, 1, 0]);
    // tolerance 0.1 → line at 95 %: only the tops themselves.
    expect(Array.from(outs[1] as Float64Array)).toEqual([0, 0, 0, 1, 0, 0, 0, 1, 0]);
  });

  it('"bot" finds the same rows on the negated series', () => {
    const x = [1, 2, 8, 10, 9, 2, 1, 5, 1];
    const top = topbot2.batch(frameOf(x), cfg());
    const bot = topbot2.batch(
      frameOf(x.map((v) => -v)),
      cfg({ function: "bot", names: ["bot_05", "bot_01"] }),
    );
    expect(bot.map((o) => Array.from(o))).toEqual(top.map((o) => Array.from(o)));
  });

  it("a top without a drop on its right (the end of the data) is not labelled", () => {
    const outs = topbot2.batch(frameOf([1, 2, 3, 4, 10]), cfg());
    expect(Array.from(outs[0] as Float64Array)).toEqual([0, 0, 0, 0, 0]);
  });

  it("NaN rows are NaN and never serve as level points", () => {
    const outs = topbot2.batch(frameOf([1, Number.NaN, 10, Number.NaN, 1]), cfg());
    expect(Array.from(outs[1] as Float64Array)).toEqual([0, Number.NaN, 1, Number.NaN, 0]);
  });

  it("equals the plain original algorithm on real closes (tops and bottoms, several levels)", async () => {
    const frame = await sampleCandles(["2023-02", "2023-03"]);
    const x = new Float64Array(frame.get("close"));
    x.fill(Number.NaN, 5000, 5003);
    for (const [isMax, level, tol] of [
      [true, 0.02, 0.25],
      [false, 0.02, 0.5],
      [true, 0.005, 0.1],
      [false, 0.01, 1],
    ] as const) {
      const got = extremumLabels(x, isMax, level, level * tol);
      const want = plainTopbot(x, isMax, level, level * tol);
      let bad = 0;
      let ones = 0;
      for (let i = 0; i < x.length; i++) {
        if (!Object.is(got[i], want[i])) bad++;
        if (got[i] === 1) ones++;
      }
      expect(bad).toBe(0);
      expect(ones).toBeGreaterThan(0);
    }
  });

  it("names, inputs, an unbounded horizon, and config errors", () => {
    expect(topbot2.outputs(cfg())).toEqual(["top_05", "top_01"]);
    expect(topbot2.inputs(cfg({ columns: ["close"] }))).toEqual(["close"]);
    expect(topbot2.horizon(cfg())).toBe(Number.POSITIVE_INFINITY);
    expect(() => topbot2.outputs(cfg({ function: "max" }))).toThrow(/config.function must be "top" or "bot"/);
    expect(() => topbot2.outputs(cfg({ names: ["a"] }))).toThrow(/config.names/);
    expect(() => topbot2.outputs(cfg({ level: 0 }))).toThrow(/config.level/);
    expect(() => topbot2.outputs(cfg({ tolerances: [1.5] }))).toThrow(/config.tolerances/);
    expect(() => topbot2.outputs(cfg({ columns: ["a", "b"] }))).toThrow(/config.columns/);
  });
});
