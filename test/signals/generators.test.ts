import { describe, expect, it } from "vitest";
import { Frame } from "../../src/core/frame.js";
import type { FeatureGenerator } from "../../src/features/generator.js";
import {
  compileSignalSets,
  createSignalStream,
  runSignalSets,
  type SignalSetInput,
} from "../../src/signals/index.js";

const N = Number.NaN;

function frameOf(cols: Record<string, number[]>): Frame {
  const n = Object.values(cols)[0]?.length ?? 0;
  return new Frame(
    Float64Array.from({ length: n }, (_, i) => 1_677_628_800_000 + i * 60_000),
    Object.entries(cols).map(([k, v]) => [k, Float64Array.from(v)] as const),
  );
}

function apply(cols: Record<string, number[]>, sets: SignalSetInput[]): { f: Frame; names: string[] } {
  const f = frameOf(cols);
  return { f, names: runSignalSets(f, sets) };
}

const col = (f: Frame, name: string) => [...f.get(name)];

describe("smoothen", () => {
  const data = { a: [0.25, N, 0.75, N], b: [0.5, 0.5, N, N] };

  it("row-wise mean skipping NaN; all NaN gives NaN", () => {
    const { f, names } = apply(data, [
      { generator: "smoothen", config: { columns: ["a", "b"], names: "m" } },
    ]);
    expect(names).toEqual(["m"]);
    // (0.25+0.5)/2, only b, only a, none.
    expect(col(f, "m")).toEqual([0.375, 0.5, 0.75, N]);
  });

  it("a single column given as a string is passed through", () => {
    const { f } = apply(data, [{ generator: "smoothen", config: { columns: "a", names: "m" } }]);
    expect(col(f, "m")).toEqual([0.25, N, 0.75, N]);
  });

  it("point_threshold binarises the mean (>=), a NaN mean gives 0", () => {
    const { f } = apply(data, [
      { generator: "smoothen", config: { columns: ["a", "b"], names: "m", point_threshold: 0.5 } },
    ]);
    expect(col(f, "m")).toEqual([0, 1, 1, 0]);
  });

  it("point_threshold 0 or null is not set (the original tests it for truthiness)", () => {
    for (const point_threshold of [0, null]) {
      const { f } = apply(data, [
        { generator: "smoothen", config: { columns: ["a", "b"], names: "m", point_threshold } },
      ]);
      expect(col(f, "m")).toEqual([0.375, 0.5, 0.75, N]);
    }
  });

  it("binarised then smoothed by an integer window: rolling mean, min_periods = window // 2", () => {
    // points [0, 1, 1, 0]; window 2 → min_periods 1: [0, 0.5, 1, 0.5].
    const { f } = apply(data, [
      { generator: "smoothen", config: { columns: ["a", "b"], names: "m", point_threshold: 0.5, window: 2 } },
    ]);
    expect(col(f, "m")).toEqual([0, 0.5, 1, 0.5]);
  });

  it("a fractional window or ewm: true gives the exponential mean (span = window, adjust=False)", () => {
    // means [0.375, 0.5, 0.75, NaN]; span 3 → alpha 0.5, min_periods 1:
    // 0.375; (0.5*0.375 + 0.5*0.5)/1 = 0.4375; (0.5*0.4375 + 0.5*0.75)/1 = 0.59375; NaN keeps 0.59375.
    const { f } = apply(data, [
      { generator: "smoothen", config: { columns: ["a", "b"], names: "m", window: 3, ewm: true } },
    ]);
    expect(col(f, "m")).toEqual([0.375, 0.4375, 0.59375, 0.59375]);
    // span 2.5 → alpha = 1/1.75 = 4/7, min_periods 1: 0.375, then 3/7*0.375 + 4/7*0.5.
    const g = apply(data, [
      { generator: "smoothen", config: { columns: ["a", "b"], names: "m", window: 2.5 } },
    ]).f;
    expect(g.get("m")[0]).toBe(0.375);
    expect(g.get("m")[1]).toBeCloseTo((3 / 7) * 0.375 + (4 / 7) * 0.5, 14);
  });
});

describe("combine", () => {
  const data = { u: [0.75, 0.25, N, 0.5, 0], d: [0.25, 0.75, 0.5, N, 0] };
  const combine = (extra: Record<string, unknown>) =>
    col(
      apply(data, [{ generator: "combine", config: { columns: ["u", "d"], names: "s", ...extra } }]).f,
      "s",
    );

  it("relative: 2u/(u+d) - 1; NaN in, NaN out; 0/0 is NaN", () => {
    expect(combine({ combine: "relative" })).toEqual([0.5, -0.5, N, N, N]);
  });

  it("difference: u - d", () => {
    expect(combine({ combine: "difference" })).toEqual([0.5, -0.5, N, N, 0]);
  });

  it("otherwise: u if u >= d else -d (NaN u compares false and gives -d; NaN d gives NaN)", () => {
    expect(combine({ combine: "no_combine" })).toEqual([0.75, -0.75, -0.5, N, 0]);
    expect(combine({})).toEqual([0.75, -0.75, -0.5, N, 0]);
  });

  it("coefficient multiplies, then constant adds; 0 means unset", () => {
    expect(combine({ combine: "difference", coefficient: 2, constant: -0.25 })).toEqual([
      0.75,
      -1.25,
      N,
      N,
      -0.25,
    ]);
    expect(combine({ combine: "difference", coefficient: 0, constant: 0 })).toEqual([0.5, -0.5, N, N, 0]);
  });
});

describe("threshold rules", () => {
  it("threshold_rule: buy = s >= buy threshold, sell = s <= sell threshold, as 0/1; NaN never signals", () => {
    const { f, names } = apply({ s: [0.1, 0.05, 0, -0.05, -0.1, N] }, [
      {
        generator: "threshold_rule",
        config: {
          columns: "s",
          names: ["buy", "sell"],
          parameters: { buy_signal_threshold: 0.05, sell_signal_threshold: -0.05 },
        },
      },
    ]);
    expect(names).toEqual(["buy", "sell"]);
    expect(col(f, "buy")).toEqual([1, 1, 0, 0, 0, 0]);
    expect(col(f, "sell")).toEqual([0, 0, 0, 1, 1, 0]);
  });

  it("threshold_rule accepts a one-element list of columns", () => {
    const { f } = apply({ s: [1, -1] }, [
      {
        generator: "threshold_rule",
        config: {
          columns: ["s"],
          names: ["b", "x"],
          parameters: { buy_signal_threshold: 0, sell_signal_threshold: 0 },
        },
      },
    ]);
    expect(col(f, "b")).toEqual([1, 0]);
    expect(col(f, "x")).toEqual([0, 1]);
  });

  it("threshold_rule2: both scores must pass their thresholds", () => {
    const { f } = apply({ s1: [0.2, 0.2, -0.2, -0.2, N], s2: [0.1, -0.1, -0.1, 0.1, 0.1] }, [
      {
        generator: "threshold_rule2",
        config: {
          columns: ["s1", "s2"],
          names: ["buy", "sell"],
          parameters: {
            buy_signal_threshold: 0.1,
            buy_signal_threshold_2: 0,
            sell_signal_threshold: -0.1,
            sell_signal_threshold_2: 0,
          },
        },
      },
    ]);
    expect(col(f, "buy")).toEqual([1, 0, 0, 0, 0]);
    expect(col(f, "sell")).toEqual([0, 0, 1, 0, 0]);
  });
});

describe("signal_sets as a chain", () => {
  it("each entry sees the previous entries' columns; prefixes as in feature_sets", () => {
    const { f, names } = apply({ btc_up: [0.75, 0.25, 0.5], btc_down: [0.25, 0.75, 0.5], close: [1, 2, 3] }, [
      {
        generator: "combine",
        column_prefix: "btc",
        feature_prefix: "btc",
        config: { columns: ["up", "down"], names: "score", combine: "difference" },
      },
      {
        generator: "threshold_rule",
        config: {
          columns: "btc_score",
          names: ["buy", "sell"],
          parameters: { buy_signal_threshold: 0.5, sell_signal_threshold: -0.5 },
        },
      },
    ]);
    expect(names).toEqual(["btc_score", "buy", "sell"]);
    expect(col(f, "btc_score")).toEqual([0.5, -0.5, 0]);
    expect(col(f, "buy")).toEqual([1, 0, 0]);
    expect(col(f, "sell")).toEqual([0, 1, 0]);
    expect(f.columnNames).toEqual(["btc_up", "btc_down", "close", "btc_score", "buy", "sell"]);
  });

  it("an output named like an existing column replaces it", () => {
    const { f, names } = apply({ s: [0.25, 0.75] }, [
      { generator: "smoothen", config: { columns: "s", names: "s", point_threshold: 0.5 } },
    ]);
    expect(names).toEqual(["s"]);
    expect(col(f, "s")).toEqual([0, 1]);
  });
});

describe("custom generators", () => {
  it("a FeatureGenerator-shaped custom generator runs in batch and in the stream", () => {
    const double: FeatureGenerator = {
      inputs: () => ["x"],
      outputs: () => ["x2"],
      warmup: () => 0,
      batch: (frame) => [frame.get("x").map((v) => v * 2)],
      stream: () => ({
        next(v, out) {
          out[0] = (v[0] as number) * 2;
        },
      }),
    };
    const steps = compileSignalSets(
      [{ generator: "./double.mjs:double", feature_prefix: "p", config: {} }],
      new Map([["./double.mjs:double", double]]),
    );
    const f = frameOf({ x: [1, N, 3] });
    expect(runSignalSets(f, steps)).toEqual(["p_x2"]);
    expect(col(f, "p_x2")).toEqual([2, N, 6]);
    const s = createSignalStream(steps);
    expect([1, N, 3].map((x) => s.push({ x }).p_x2)).toEqual([2, N, 6]);
  });

  it("a custom generator without a streaming form fails when a stream is asked for", () => {
    const batchOnly: FeatureGenerator = {
      inputs: () => ["x"],
      outputs: () => ["y"],
      warmup: () => 0,
      batch: (frame) => [frame.get("x")],
    };
    const steps = compileSignalSets([{ generator: "m:batchOnly" }], new Map([["m:batchOnly", batchOnly]]));
    expect(() => createSignalStream(steps)).toThrow(
      'signal_sets[0].generator: "m:batchOnly" has no streaming form (stream()), so it cannot run live',
    );
  });
});
