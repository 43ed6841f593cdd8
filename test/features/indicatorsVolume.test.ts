import { beforeAll, describe, test } from "vitest";
import { type Columns, checkAll, checkEdges, marchColumns, type Opts } from "./indicatorsOverlapHelpers.js";

let cols: Columns;
beforeAll(async () => {
  cols = await marchColumns();
});

describe("volume indicators vs TA-Lib on BTCUSDT 1m", () => {
  test("AD", () => {
    checkAll("AD", cols, {});
    checkEdges("AD", cols);
  });

  test("ADOSC", () => {
    for (const s of [
      {},
      { fastperiod: 2, slowperiod: 2 },
      { fastperiod: 200, slowperiod: 20 },
      { fastperiod: 12, slowperiod: 200 },
    ] as Opts[]) {
      checkAll("ADOSC", cols, s);
    }
    checkEdges("ADOSC", cols);
    checkEdges("ADOSC", cols, { fastperiod: 30, slowperiod: 5 });
  });

  test("OBV (close and open as the price, starting at the first volume)", () => {
    checkAll("OBV", cols, {});
    checkAll("OBV", { ...cols, real: cols.open }, {});
    checkEdges("OBV", cols);
  });
});
