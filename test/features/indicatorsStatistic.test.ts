import { beforeAll, describe, expect, test } from "vitest";
import { computeIndicator, resolveOptions, streamIndicator } from "../../src/features/indicators/registry.js";
import { sampleCandles } from "../helpers/candles.js";
import {
  type Columns,
  checkAll,
  checkEdges,
  expectMatches,
  firstNumber,
  indicator,
  marchColumns,
  type Opts,
  oracleOf,
  runStream,
} from "./indicatorsOverlapHelpers.js";

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

  test("LINEARREG, _SLOPE, _INTERCEPT and TSF roll their sums: within 1e-10 of TA-Lib over three months", async () => {
    // Feb-Apr 2023 (127k bars): thousands of re-anchorings for short periods, few for long ones.
    // Without them the rolling sums drift to 1e-4 over a year (slope, period 3).
    const f = await sampleCandles(["2023-02", "2023-03", "2023-04"]);
    for (const column of ["close", "volume"]) {
      const real = f.get(column);
      for (const name of ["LINEARREG", "LINEARREG_SLOPE", "LINEARREG_INTERCEPT", "TSF"]) {
        for (const timeperiod of [2, 3, 10, 60, 1000]) {
          const ind = indicator(name);
          const opts = resolveOptions(ind, { timeperiod });
          const label = `${name} ${timeperiod} on ${column}`;
          const ours = ind.batch([real], opts);
          expectMatches(label, ours, oracleOf(ind, [real], opts), 1e-10);
          expectMatches(`${label} stream`, runStream(ind, [real], opts), ours, 0);
        }
      }
    }
  });

  test("LINEARREG_SLOPE streamed after NaN rows re-anchors where the batch does", () => {
    // The batch skips leading NaN rows (computeIndicator), so the stream must count its bars
    // from the first number too, or its re-anchorings fall elsewhere and the bits differ.
    const ind = indicator("LINEARREG_SLOPE");
    const opts = resolveOptions(ind, { timeperiod: 10 });
    const padded = new Float64Array(3007).fill(Number.NaN);
    padded.set((cols.close as Float64Array).subarray(0, 3000), 7);
    const [batch] = computeIndicator(ind, [padded], opts);
    const stream = streamIndicator(ind, opts);
    const out = new Float64Array(1);
    const streamed = new Float64Array(padded.length);
    for (let i = 0; i < padded.length; i++) {
      stream.next([padded[i] as number], out);
      streamed[i] = out[0] as number;
    }
    expect(Array.from(streamed)).toEqual(Array.from(batch as Float64Array));
    expect(firstNumber(streamed)).toBe(16);
  });
});
