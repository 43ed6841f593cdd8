import { beforeAll, describe, test } from "vitest";
import { type Columns, checkAll, checkEdges, marchColumns } from "./indicatorsOverlapHelpers.js";

let cols: Columns;
beforeAll(async () => {
  cols = await marchColumns();
});

describe("price transforms vs TA-Lib on BTCUSDT 1m", () => {
  for (const name of ["AVGPRICE", "MEDPRICE", "TYPPRICE", "WCLPRICE"]) {
    test(name, () => {
      checkAll(name, cols, {});
      checkEdges(name, cols);
    });
  }
});
