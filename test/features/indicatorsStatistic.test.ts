import { beforeAll, describe, test } from "vitest";
import { sampleCandles } from "../helpers/candles.js";
import { type Columns, checkAll, checkEdges, marchColumns, type Opts } from "./indicatorsOverlapHelpers.js";

let cols: Columns;
/** Close of March vs close of February (trimmed to March's length): two unrelated series. */
let twoMonths: Columns;
beforeAll(async () => {
  cols = await marchColumns();
  const feb = (await sampleCandles(["2023-02"])).get("close");
  const n = Math.min(feb.length, (cols.close as Float64Array).length);
  twoMonths = { real0: (cols.close as Float64Array).subarray(0, n), real1: feb.subarray(0, n) };
});

describe("statistic functions vs TA-Lib on BTCUSDT 1m", () => {
  test("VAR (nbdev is ignored, as in TA-Lib)", () => {
    for (const s of [{}, { timeperiod: 1 }, { timeperiod: 2 }, { timeperiod: 200, nbdev: 3 }] as Opts[])
      checkAll("VAR", cols, s);
    checkAll("VAR", { real: cols.volume }, { timeperiod: 20 });
    checkEdges("VAR", cols);
  });

  test("STDDEV", () => {
    for (const s of [
      {},
      { timeperiod: 2 },
      { timeperiod: 20, nbdev: 2 },
      { timeperiod: 200, nbdev: -1.5 },
    ] as Opts[]) {
      checkAll("STDDEV", cols, s);
    }
    checkEdges("STDDEV", cols);
  });

  for (const name of ["BETA", "CORREL"]) {
    test(name, () => {
      for (const s of [{}, { timeperiod: 1 }, { timeperiod: 2 }, { timeperiod: 200 }] as Opts[]) {
        checkAll(name, cols, s);
        checkAll(name, twoMonths, s);
      }
      checkEdges(name, cols);
    });
  }

  for (const name of ["LINEARREG", "LINEARREG_ANGLE", "LINEARREG_INTERCEPT", "LINEARREG_SLOPE", "TSF"]) {
    test(name, () => {
      for (const s of [
        {},
        { timeperiod: 2 },
        { timeperiod: 10 },
        { timeperiod: 60 },
        { timeperiod: 200 },
      ] as Opts[]) {
        checkAll(name, cols, s);
      }
      checkAll(name, { real: cols.volume }, { timeperiod: 20 });
      checkEdges(name, cols);
    });
  }

  test("LINEARREG family reproduces TA-Lib's C int overflow for long periods", () => {
    const real = cols.close as Float64Array;
    for (const name of ["LINEARREG", "LINEARREG_SLOPE", "TSF"]) {
      checkAll(name, { real: real.subarray(0, 8000) }, { timeperiod: 1100 });
      checkAll(name, { real: real.subarray(0, 8000) }, { timeperiod: 1700 });
    }
    checkAll("LINEARREG_SLOPE", { real: real.subarray(0, 44000) }, { timeperiod: 43999 });
  });

  test("LINEARREG beyond period 46341 (SumX overflows too) on February + March", async () => {
    const both = (await sampleCandles(["2023-02", "2023-03"])).get("close").subarray(0, 47000);
    checkAll("LINEARREG_ANGLE", { real: both }, { timeperiod: 46400 });
  });
});
