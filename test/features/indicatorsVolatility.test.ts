import { beforeAll, describe, test } from "vitest";
import { type Columns, checkAll, checkEdges, marchColumns, type Opts } from "./indicatorsOverlapHelpers.js";

let cols: Columns;
beforeAll(async () => {
  cols = await marchColumns();
});

describe("volatility indicators vs TA-Lib on BTCUSDT 1m", () => {
  for (const name of ["ATR", "NATR"]) {
    test(`${name} (period 1 is TRANGE, as in TA-Lib)`, () => {
      for (const s of [{}, { timeperiod: 1 }, { timeperiod: 2 }, { timeperiod: 200 }] as Opts[])
        checkAll(name, cols, s);
      checkEdges(name, cols);
      checkEdges(name, cols, { timeperiod: 1 });
    });
  }

  test("TRANGE", () => {
    checkAll("TRANGE", cols, {});
    checkEdges("TRANGE", cols);
  });
});
