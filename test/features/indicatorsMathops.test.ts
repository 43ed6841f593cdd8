import { beforeAll, describe, expect, test } from "vitest";
import { computeIndicator, resolveOptions, streamIndicator } from "../../src/features/indicators/registry.js";
import {
  type Columns,
  checkAll,
  checkEdges,
  expectMatches,
  indicator,
  marchColumns,
  type Opts,
  oracleOf,
  runStream,
} from "./indicatorsOverlapHelpers.js";

let cols: Columns;
beforeAll(async () => {
  cols = await marchColumns();
});

describe("math operators vs TA-Lib on BTCUSDT 1m", () => {
  for (const name of ["MAX", "MIN", "SUM", "MAXINDEX", "MININDEX"]) {
    test(name, () => {
      for (const s of [{}, { timeperiod: 2 }, { timeperiod: 200 }] as Opts[]) checkAll(name, cols, s);
      // Volume has long runs of equal values (ties) and the open many repeated prices.
      checkAll(name, { real: cols.volume }, { timeperiod: 14 });
      checkAll(name, { real: cols.open }, { timeperiod: 60 });
      checkEdges(name, cols);
    });
  }

  test("MAX/MIN/MAXINDEX/MININDEX keep TA-Lib's tie rules on plateaus and staircases", () => {
    const n = 3000;
    const x = new Float64Array(n);
    for (let i = 0; i < n; i++) x[i] = Math.floor(i / 7) % 5 === 0 ? 5 : (Math.floor(i / 3) * 17) % 11;
    for (const name of ["MAX", "MIN", "MAXINDEX", "MININDEX"]) {
      for (const timeperiod of [2, 5, 9, 40]) checkAll(name, { real: x }, { timeperiod });
    }
  });

  test("interior NaN behaves as TA-Lib's loops (batch and stream)", () => {
    const x = Float64Array.from((cols.close as Float64Array).subarray(0, 4000));
    for (const i of [100, 101, 500, 1500, 1507, 2999]) x[i] = Number.NaN;
    for (const name of ["MAX", "MIN", "MAXINDEX", "MININDEX", "MIDPOINT"]) {
      for (const timeperiod of [2, 5, 30]) {
        const ind = indicator(name);
        const opts = { timeperiod };
        const ours = ind.batch([x], opts);
        expectMatches(`${name} ${timeperiod} with NaN`, ours, oracleOf(ind, [x], opts));
        expectMatches(`${name} ${timeperiod} with NaN stream`, runStream(ind, [x], opts), ours, 0);
      }
    }
  });

  test("MAXINDEX after leading NaN counts from the start of the series, as Python's talib does", () => {
    const ind = indicator("MAXINDEX");
    const x = new Float64Array([Number.NaN, Number.NaN, 1, 3, 2]);
    const [out] = computeIndicator(ind, [x], { timeperiod: 2 });
    expect(Array.from(out as Float64Array)).toEqual([Number.NaN, Number.NaN, Number.NaN, 3, 3]);
    const s = streamIndicator(ind, resolveOptions(ind, { timeperiod: 2 }));
    const o = new Float64Array(1);
    const streamed = Array.from(x, (v) => {
      s.next([v], o);
      return o[0];
    });
    expect(streamed).toEqual([Number.NaN, Number.NaN, Number.NaN, 3, 3]);
  });
});
