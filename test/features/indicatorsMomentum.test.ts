import { beforeAll, describe, expect, it } from "vitest";
import { computeIndicator, resolveOptions } from "../../src/features/indicators/index.js";
import { sampleCandles } from "../helpers/candles.js";
import { maxRelDiff } from "../helpers/talibOracle.js";
import {
  type Columns,
  checkAll,
  checkStream,
  expectMatches,
  indicator,
  inputsOf,
  oracleOf,
} from "./indicatorsMomentumHelpers.js";

/**
 * The momentum group against TA-Lib's C library (the `talib` binding) on real BTCUSDT 1m candles
 * (2023-03, 44,560 rows): batch within 1e-9 with identical NaN prefixes, lookback equal to
 * TA-Lib's begIndex, the stream equal to the batch on every row.
 */

const MA_TYPES = [0, 1, 2, 3, 4, 5, 6, 8];

const P = (timeperiod: number) => ({ timeperiod });

const CASES: Record<string, Record<string, number>[]> = {
  RSI: [{}, P(2), P(50)],
  CMO: [{}, P(2), P(50)],
  MOM: [{}, P(1), P(60)],
  ROC: [{}, P(1), P(60)],
  ROCP: [{}, P(1), P(60)],
  ROCR: [{}, P(1), P(60)],
  ROCR100: [{}, P(1), P(60)],
  ADX: [{}, P(2), P(50)],
  ADXR: [{}, P(2), P(40)],
  DX: [{}, P(2), P(50)],
  PLUS_DI: [{}, P(1), P(2), P(50)],
  MINUS_DI: [{}, P(1), P(2), P(50)],
  PLUS_DM: [{}, P(1), P(2), P(50)],
  MINUS_DM: [{}, P(1), P(2), P(50)],
  AROON: [{}, P(2), P(50)],
  AROONOSC: [{}, P(2), P(50)],
  BOP: [{}],
  CCI: [{}, P(2), P(50)],
  MFI: [{}, P(2), P(50)],
  WILLR: [{}, P(2), P(50)],
  TRIX: [{}, P(2), P(60)],
  ULTOSC: [
    {},
    { timeperiod1: 1, timeperiod2: 2, timeperiod3: 3 },
    { timeperiod1: 30, timeperiod2: 5, timeperiod3: 60 },
    { timeperiod1: 10, timeperiod2: 10, timeperiod3: 10 },
  ],
  MACD: [
    {},
    { fastperiod: 5, slowperiod: 3, signalperiod: 2 },
    { fastperiod: 30, slowperiod: 80, signalperiod: 20 },
    { fastperiod: 12, slowperiod: 12, signalperiod: 9 },
  ],
  MACDFIX: [{}, { signalperiod: 2 }, { signalperiod: 30 }],
  APO: [
    {},
    { fastperiod: 30, slowperiod: 10 },
    { fastperiod: 50, slowperiod: 120, matype: 1 },
    ...MA_TYPES.map((matype) => ({ fastperiod: 5, slowperiod: 20, matype })),
  ],
  PPO: [
    {},
    { fastperiod: 30, slowperiod: 10 },
    { fastperiod: 50, slowperiod: 120, matype: 1 },
    ...MA_TYPES.map((matype) => ({ fastperiod: 5, slowperiod: 20, matype })),
  ],
  STOCH: [
    {},
    { fastk_period: 1, slowk_period: 1, slowd_period: 1 },
    { fastk_period: 50, slowk_period: 10, slowk_matype: 1, slowd_period: 20, slowd_matype: 0 },
    { fastk_period: 9, slowk_period: 4, slowk_matype: 6, slowd_period: 5, slowd_matype: 8 },
    ...MA_TYPES.map((mt) => ({
      fastk_period: 14,
      slowk_period: 3,
      slowk_matype: mt,
      slowd_period: 4,
      slowd_matype: mt,
    })),
  ],
  STOCHF: [
    {},
    { fastk_period: 1, fastd_period: 1 },
    { fastk_period: 60, fastd_period: 20 },
    ...MA_TYPES.map((mt) => ({ fastk_period: 14, fastd_period: 5, fastd_matype: mt })),
  ],
  STOCHRSI: [
    {},
    { timeperiod: 2, fastk_period: 1, fastd_period: 1 },
    { timeperiod: 50, fastk_period: 30, fastd_period: 10 },
    ...MA_TYPES.map((mt) => ({ timeperiod: 14, fastk_period: 5, fastd_period: 3, fastd_matype: mt })),
  ],
};

let cols: Columns;

beforeAll(async () => {
  const f = await sampleCandles(["2023-03"]);
  cols = {
    open: f.get("open"),
    high: f.get("high"),
    low: f.get("low"),
    close: f.get("close"),
    volume: f.get("volume"),
  };
  expect(f.length).toBe(44560);
});

describe("momentum indicators vs TA-Lib on BTCUSDT 1m", () => {
  for (const [name, optionSets] of Object.entries(CASES)) {
    it(`${name}: batch, lookback and stream`, () => {
      for (const given of optionSets) checkAll(name, cols, given);
    });
  }

  it("covers the whole group", () => {
    expect(Object.keys(CASES).sort()).toEqual(
      [
        "ADX",
        "ADXR",
        "APO",
        "AROON",
        "AROONOSC",
        "BOP",
        "CCI",
        "CMO",
        "DX",
        "MACD",
        "MACDFIX",
        "MFI",
        "MINUS_DI",
        "MINUS_DM",
        "MOM",
        "PLUS_DI",
        "PLUS_DM",
        "PPO",
        "ROC",
        "ROCP",
        "ROCR",
        "ROCR100",
        "RSI",
        "STOCH",
        "STOCHF",
        "STOCHRSI",
        "TRIX",
        "ULTOSC",
        "WILLR",
      ].sort(),
    );
  });

  it("leading NaNs: computeIndicator equals TA-Lib on the sliced input", () => {
    const skip = 37;
    for (const name of Object.keys(CASES)) {
      const ind = indicator(name);
      const opts = resolveOptions(ind, {});
      const full = inputsOf(ind, cols).map((x) => x.slice(0, 3000));
      // One input starts later than the others, as a warm-up column would.
      const withNan = full.map((x, k) => {
        const y = x.slice();
        if (k === full.length - 1) y.fill(Number.NaN, 0, skip);
        return y;
      });
      const ours = computeIndicator(ind, withNan, opts);
      const ref = oracleOf(
        ind,
        full.map((x) => x.subarray(skip)),
        {},
      ).map((r) => {
        const out = new Float64Array(3000).fill(Number.NaN);
        out.set(r, skip);
        return out;
      });
      expectMatches(`${name} leading NaN`, ours, ref);
    }
  });

  it("inputs shorter than the warm-up give all NaN, one row more gives one value", () => {
    for (const name of Object.keys(CASES)) {
      const ind = indicator(name);
      const opts = resolveOptions(ind, {});
      const lb = ind.lookback(opts);
      for (const n of [0, 1, lb, lb + 1]) {
        const inputs = inputsOf(ind, cols).map((x) => x.slice(0, n));
        const ours = ind.batch(inputs, opts);
        expect(ours.length).toBe(ind.outputs.length);
        for (const o of ours) {
          expect(o.length).toBe(n);
          const valid = o.filter((v) => !Number.isNaN(v)).length;
          expect(valid, `${name} n=${n}`).toBe(Math.max(0, n - lb));
        }
        if (n > 0) expectMatches(`${name} n=${n}`, ours, oracleOf(ind, inputs, {}));
      }
    }
  });

  it("a period-1 EMA/SMA inside MACD, MACDFIX, TRIX, ULTOSC: itb computes the defined values", () => {
    // TA-Lib 0.6's EMA and SMA lookbacks refuse period 1 (they return -1), so TA_MACD with
    // signalperiod 1, TA_TRIX with timeperiod 1 and TA_ULTOSC with all periods 1 start one bar
    // early on a value read from outside the input (and MACD's signal is shifted two bars into
    // the future). itb treats EMA(1) as what it is (the identity, in TA-Lib's EMA arithmetic).
    const run = (name: string, given: Record<string, number>) => {
      const ind = indicator(name);
      const opts = resolveOptions(ind, given);
      const inputs = inputsOf(ind, cols);
      const ours = ind.batch(inputs, opts);
      checkStream(ind, inputs, opts, ours);
      return { lb: ind.lookback(opts), ours, ref: oracleOf(ind, inputs, given), inputs };
    };
    const close = cols.close as Float64Array;
    // Compares from `from` up to TA-Lib's last value (its misaligned MACD ends early).
    const near = (a: Float64Array, b: Float64Array, from: number, label: string) => {
      let to = from;
      while (to < b.length && !Number.isNaN(b[to] as number)) to++;
      expect(to - from, label).toBeGreaterThan(40000);
      const d = maxRelDiff(a.subarray(from, to), b.subarray(from, to));
      expect(d.nanMismatch, label).toBe(-1);
      expect(d.diff, label).toBeLessThanOrEqual(1e-9);
    };

    for (const [name, given, slow] of [
      ["MACD", { fastperiod: 5, slowperiod: 3, signalperiod: 1 }, 5],
      ["MACDFIX", { signalperiod: 1 }, 26],
    ] as const) {
      const { lb, ours, ref } = run(name, given);
      expect(lb).toBe(slow - 1);
      const [line, signal, hist] = ours as [Float64Array, Float64Array, Float64Array];
      expect(Number.isNaN(line[lb - 1] as number) && !Number.isNaN(line[lb] as number)).toBe(true);
      near(line, ref[0] as Float64Array, lb, `${name} line`);
      near(signal, line, lb, `${name} signal = line`);
      near(hist, new Float64Array(close.length), lb, `${name} hist = 0`);
    }

    const trix = run("TRIX", { timeperiod: 1 });
    expect(trix.lb).toBe(1);
    const roc1 = oracleOf(indicator("ROC"), [close], { timeperiod: 1 })[0] as Float64Array;
    near(trix.ours[0] as Float64Array, roc1, 1, "TRIX(1) = ROC(1)");

    const ult = run("ULTOSC", { timeperiod1: 1, timeperiod2: 1, timeperiod3: 1 });
    expect(ult.lb).toBe(1);
    expect(Number.isNaN(ult.ours[0]?.[0] as number)).toBe(true);
    near(ult.ours[0] as Float64Array, ult.ref[0] as Float64Array, 1, "ULTOSC(1,1,1)");
  });

  it("MAMA (matype 7) is refused with a clear error", () => {
    const ind = indicator("APO");
    expect(() => ind.batch(inputsOf(ind, cols), resolveOptions(ind, { matype: 7 }))).toThrow(/MAMA/);
  });
});
