import { beforeAll, describe, test } from "vitest";
import { OVERLAP_GROUP } from "../../src/features/indicators/groupOverlap.js";
import { resolveOptions } from "../../src/features/indicators/registry.js";
import {
  type Columns,
  expectMatches,
  inputsOf,
  marchColumns,
  oracleOf,
  runStream,
} from "./indicatorsOverlapHelpers.js";

/**
 * Interior gaps (NaN rows a merge can leave) reach the kernels as they reach TA-Lib's C loops:
 * every function must give TA-Lib's numbers (and NaNs) after a gap, and its stream the batch's.
 */
let gappy: Columns;
beforeAll(async () => {
  const cols = await marchColumns();
  gappy = {};
  for (const [k, v] of Object.entries(cols)) {
    const x = Float64Array.from((v as Float64Array).subarray(0, 3000));
    for (const i of [700, 701, 1500, 2990]) x[i] = Number.NaN;
    gappy[k as keyof Columns] = x;
  }
  // A gap in one input only: the high of a single bar.
  (gappy.high as Float64Array)[2000] = Number.NaN;
});

describe("interior NaN rows behave as in TA-Lib (batch and stream)", () => {
  for (const ind of OVERLAP_GROUP) {
    test(ind.name, () => {
      const sets = ind.options.some((o) => o.name === "timeperiod")
        ? [{}, { timeperiod: ind.options.find((o) => o.name === "timeperiod")?.min === 1 ? 1 : 2 }]
        : [{}];
      for (const given of sets) {
        const opts = resolveOptions(ind, given);
        const inputs = inputsOf(ind, gappy);
        const ours = ind.batch(inputs, opts);
        expectMatches(`${ind.name} ${JSON.stringify(given)} with gaps`, ours, oracleOf(ind, inputs, opts));
        expectMatches(
          `${ind.name} ${JSON.stringify(given)} with gaps, stream`,
          runStream(ind, inputs, opts),
          ours,
          0,
        );
      }
    });
  }
});
