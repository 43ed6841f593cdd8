import { beforeAll, describe, expect, test } from "vitest";
import { maBatch, maLookback, maStream } from "../../src/features/indicators/ma.js";
import { IndicatorError, resolveOptions } from "../../src/features/indicators/registry.js";
import { oracle } from "../helpers/talibOracle.js";
import {
  type Columns,
  checkAll,
  checkEdges,
  expectMatches,
  firstNumber,
  indicator,
  marchColumns,
} from "./indicatorsOverlapHelpers.js";

const MATYPES = [0, 1, 2, 3, 4, 5, 6, 8];

let cols: Columns;
beforeAll(async () => {
  cols = await marchColumns();
});

const CASES: [string, Record<string, number>[]][] = [
  ["SMA", [{}, { timeperiod: 2 }, { timeperiod: 200 }]],
  ["EMA", [{}, { timeperiod: 2 }, { timeperiod: 200 }]],
  ["WMA", [{}, { timeperiod: 2 }, { timeperiod: 200 }]],
  ["DEMA", [{}, { timeperiod: 2 }, { timeperiod: 200 }]],
  ["TEMA", [{}, { timeperiod: 2 }, { timeperiod: 200 }]],
  ["TRIMA", [{}, { timeperiod: 2 }, { timeperiod: 3 }, { timeperiod: 31 }, { timeperiod: 200 }]],
  ["KAMA", [{}, { timeperiod: 2 }, { timeperiod: 200 }]],
  ["T3", [{}, { timeperiod: 2, vfactor: 0 }, { timeperiod: 30, vfactor: 1 }, { timeperiod: 200 }]],
  ["MIDPOINT", [{}, { timeperiod: 2 }, { timeperiod: 200 }]],
  ["MIDPRICE", [{}, { timeperiod: 2 }, { timeperiod: 200 }]],
  [
    "SAR",
    [
      {},
      { acceleration: 0.05, maximum: 0.5 },
      { acceleration: 0.3, maximum: 0.2 },
      { acceleration: 0, maximum: 0 },
    ],
  ],
];

describe("overlap studies vs TA-Lib on BTCUSDT 1m", () => {
  for (const [name, sets] of CASES) {
    test(name, () => {
      for (const s of sets) checkAll(name, cols, s);
      checkEdges(name, cols);
    });
  }

  test("MA, every supported matype, periods 1, 2, 30, 200", () => {
    for (const matype of MATYPES) {
      for (const timeperiod of [1, 2, 30, 200]) checkAll("MA", cols, { timeperiod, matype });
      checkEdges("MA", cols, { matype });
    }
  });

  test("BBANDS, every supported matype and several deviations", () => {
    checkAll("BBANDS", cols, {});
    checkEdges("BBANDS", cols);
    for (const matype of MATYPES) {
      checkAll("BBANDS", cols, { matype, timeperiod: 20 });
      checkAll("BBANDS", cols, { matype, timeperiod: 2, nbdevup: 1, nbdevdn: 1 });
      checkEdges("BBANDS", cols, { matype, timeperiod: 20 });
    }
    checkAll("BBANDS", cols, { timeperiod: 200, nbdevup: 1, nbdevdn: 3 });
    checkAll("BBANDS", cols, { timeperiod: 200, nbdevup: 3, nbdevdn: 1, matype: 1 });
    checkAll("BBANDS", cols, { timeperiod: 50, nbdevup: 1.5, nbdevdn: -2.5, matype: 2 });
  });
});

describe("ma.ts (the MA dispatcher other indicators use)", () => {
  test("maBatch, maStream and maLookback equal TA_MA for every supported matype", () => {
    const real = cols.close as Float64Array;
    for (const matype of MATYPES) {
      for (const period of [1, 2, 9, 30]) {
        const ref = oracle("MA", { real }, { timeperiod: period, matype });
        const ours = maBatch(matype, real, period);
        expectMatches(`maBatch(${matype}, ${period})`, [ours], ref);
        expect(maLookback(matype, period)).toBe(firstNumber(ref[0] as Float64Array));
        const s = maStream(matype, period);
        const streamed = new Float64Array(real.length);
        for (let i = 0; i < real.length; i++) streamed[i] = s.next(real[i] as number);
        expectMatches(`maStream(${matype}, ${period})`, [streamed], [ours], 0);
      }
    }
  });

  test("period 1 returns a copy of the input", () => {
    const real = new Float64Array([1, 2, 3]);
    for (const matype of MATYPES) {
      const out = maBatch(matype, real, 1);
      expect(Array.from(out)).toEqual([1, 2, 3]);
      expect(out).not.toBe(real);
    }
  });

  test("MAMA and unknown MA types are refused with an IndicatorError", () => {
    const real = new Float64Array(10);
    expect(() => maBatch(7, real, 5)).toThrow("MA type 7 (MAMA) is not supported");
    expect(() => maStream(7, 5)).toThrow(IndicatorError);
    expect(() => maLookback(7, 5)).toThrow(IndicatorError);
    expect(() => maBatch(9, real, 5)).toThrow(IndicatorError);
    expect(() => maBatch(0, real, 0)).toThrow(IndicatorError);
    const bb = indicator("BBANDS");
    expect(() => bb.batch([real], resolveOptions(bb, { matype: 7 }))).toThrow("MAMA");
  });

  test("options are validated with TA-Lib's ranges and Python talib's defaults", () => {
    const sma = indicator("SMA");
    expect(resolveOptions(sma, {})).toEqual({ timeperiod: 30 });
    expect(() => resolveOptions(sma, { timeperiod: 1 })).toThrow(IndicatorError);
    expect(resolveOptions(indicator("MA"), { timeperiod: 1 })).toEqual({ timeperiod: 1, matype: 0 });
    expect(resolveOptions(indicator("BBANDS"), {})).toEqual({
      timeperiod: 5,
      nbdevup: 2,
      nbdevdn: 2,
      matype: 0,
    });
    expect(resolveOptions(indicator("T3"), {})).toEqual({ timeperiod: 5, vfactor: 0.7 });
    expect(resolveOptions(indicator("SAR"), {})).toEqual({ acceleration: 0.02, maximum: 0.2 });
    expect(() => resolveOptions(indicator("T3"), { vfactor: 1.5 })).toThrow(IndicatorError);
    expect(() => indicator("SMA").batch([new Float64Array(3), new Float64Array(3)], {})).toThrow(
      IndicatorError,
    );
  });
});
