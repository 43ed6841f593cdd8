import { beforeAll, describe, expect, it } from "vitest";
import { Frame } from "../../src/core/frame.js";
import { talibGenerator } from "../../src/features/talib.js";
import { sampleCandles } from "../helpers/candles.js";
import { maxRelDiff, oracle } from "../helpers/talibOracle.js";

let candles: Frame;
beforeAll(async () => {
  // Real BTCUSDT 1m candles, March 2023, first 20,000 rows (the oracle is synchronous).
  candles = (await sampleCandles(["2023-03"])).slice(0, 20_000);
});

function run(config: Record<string, unknown>): Map<string, Float64Array> {
  const names = talibGenerator.outputs(config);
  const outs = talibGenerator.batch(candles, config);
  return new Map(names.map((n, i) => [n, outs[i] as Float64Array]));
}

function expectClose(got: Float64Array | undefined, want: Float64Array): void {
  expect(got).toBeDefined();
  const d = maxRelDiff(got as Float64Array, want);
  expect(d.nanMismatch).toBe(-1);
  expect(d.diff).toBeLessThanOrEqual(1e-9);
}

describe("talib generator", () => {
  it("names outputs <columns>_<FUNC>_<window> and equals TA-Lib", () => {
    const out = run({ columns: ["close"], functions: ["SMA", "EMA"], windows: [5, 20] });
    expect([...out.keys()]).toEqual(["close_SMA_5", "close_SMA_20", "close_EMA_5", "close_EMA_20"]);
    const close = candles.get("close");
    expectClose(out.get("close_SMA_5"), oracle("SMA", { real: close }, { timeperiod: 5 })[0] as Float64Array);
    expectClose(
      out.get("close_EMA_20"),
      oracle("EMA", { real: close }, { timeperiod: 20 })[0] as Float64Array,
    );
  });

  it("infers named inputs from a column list (ATR from high/low/close, OBV from close/volume)", () => {
    const atr = run({ columns: ["high", "low", "close"], functions: "ATR", windows: [14] });
    const [high, low, close, volume] = ["high", "low", "close", "volume"].map((c) =>
      candles.get(c),
    ) as Float64Array[];
    expectClose(
      atr.get("high_low_close_ATR_14"),
      oracle("ATR", { high, low, close }, { timeperiod: 14 })[0] as Float64Array,
    );
    const obv = run({ columns: ["close", "volume"], functions: ["OBV"] });
    expectClose(obv.get("close_volume_OBV"), oracle("OBV", { real: close, volume })[0] as Float64Array);
  });

  it("splits multi-output functions with suffixes and passes args", () => {
    const bb = run({
      columns: "close",
      functions: ["BBANDS"],
      windows: [20],
      args: { nbdevup: 2, nbdevdn: 2 },
    });
    expect([...bb.keys()]).toEqual([
      "close_BBANDS_20_upper",
      "close_BBANDS_20_middle",
      "close_BBANDS_20_lower",
    ]);
    const want = oracle("BBANDS", { real: candles.get("close") }, { timeperiod: 20, nbdevup: 2, nbdevdn: 2 });
    expectClose(bb.get("close_BBANDS_20_upper"), want[0] as Float64Array);
    expectClose(bb.get("close_BBANDS_20_lower"), want[2] as Float64Array);
    const macd = run({ columns: "close", functions: "MACD" });
    expect([...macd.keys()]).toEqual(["close_MACD_macd", "close_MACD_macdsignal", "close_MACD_macdhist"]);
    const stoch = run({ columns: ["high", "low", "close"], functions: "STOCH" });
    expect([...stoch.keys()]).toEqual(["high_low_close_STOCH_slowk", "high_low_close_STOCH_slowd"]);
  });

  it("window 1 on a single input returns the input; names override as in the original", () => {
    const out = run({ columns: ["close"], functions: ["SMA"], windows: [1, 5], names: "x" });
    expect([...out.keys()]).toEqual(["close_SMA_x_1", "close_SMA_x_5"]);
    expect(Array.from(out.get("close_SMA_x_1") as Float64Array)).toEqual(Array.from(candles.get("close")));
    const listed = run({ columns: ["close"], functions: ["SMA"], windows: [5, 10], names: ["fast", "slow"] });
    expect([...listed.keys()]).toEqual(["fast", "slow"]);
  });

  it("applies rel_base/rel_func/percentage across windows, with first meaning the first series", () => {
    const plain = run({ columns: ["close"], functions: ["SMA"], windows: [5, 10, 20] });
    const rel = run({
      columns: ["close"],
      functions: ["SMA"],
      windows: [5, 10, 20],
      parameters: { rel_base: "first", rel_func: "rel_diff", percentage: true },
    });
    const s5 = plain.get("close_SMA_5") as Float64Array;
    const s20 = plain.get("close_SMA_20") as Float64Array;
    const r20 = rel.get("close_SMA_20") as Float64Array;
    const i = 500;
    expect(r20[i]).toBeCloseTo((((s20[i] as number) - (s5[i] as number)) / (s5[i] as number)) * 100, 12);
    expect(rel.get("close_SMA_5")?.[i]).toBeCloseTo((s5[i] as number) * 100, 9);
  });

  it("holds the last value inside gaps by default and interpolates only when asked", () => {
    const t = Float64Array.from({ length: 8 }, (_, i) => i * 60_000);
    const f = new Frame(t, [["close", Float64Array.from([1, 2, 3, Number.NaN, Number.NaN, 6, 7, 8])]]);
    const cfg = { columns: "close", functions: "SMA", windows: [1] };
    expect(Array.from(talibGenerator.batch(f, cfg)[0] as Float64Array)).toEqual([1, 2, 3, 3, 3, 6, 7, 8]);
    expect(Array.from(talibGenerator.batch(f, { ...cfg, fill: "linear" })[0] as Float64Array)).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8,
    ]);
  });

  it("refuses configs it cannot run, saying why", () => {
    expect(() => talibGenerator.outputs({ columns: ["close"], functions: ["ATR"], windows: [14] })).toThrow(
      "talib ATR takes 3 input column(s) (high, low, close), but columns lists 1: close",
    );
    expect(() => talibGenerator.outputs({ columns: "close", functions: ["MACD"], windows: [14] })).toThrow(
      "talib MACD has no timeperiod, so windows cannot be set; use args",
    );
    expect(() => talibGenerator.outputs({ columns: "close", functions: ["SMAX"] })).toThrow(
      'unknown or unsupported TA-Lib function "SMAX"',
    );
    expect(() => talibGenerator.outputs({ columns: "close", functions: ["SMA"], windows: [0.5] })).toThrow(
      "SMA: option timeperiod must be an integer",
    );
  });

  it("runs TA-Lib functions that are not ported through the native binding", () => {
    const out = run({ columns: ["open", "high", "low", "close"], functions: ["CDLDOJI"] });
    const [open, high, low, close] = ["open", "high", "low", "close"].map((c) =>
      candles.get(c),
    ) as Float64Array[];
    expectClose(
      out.get("open_high_low_close_CDLDOJI"),
      oracle("CDLDOJI", { open, high, low, close })[0] as Float64Array,
    );
  });
});
