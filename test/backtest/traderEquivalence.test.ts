import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { Engine, runBacktest } from "../../src/backtest/engine.js";

import { buildCase, caseArb } from "../helpers/randomBars.js";

/**
 * The threshold search's engine and the Trader driving the simulated venue are two
 * implementations of one set of trading rules, each with stretch fast paths: on random bars
 * with gaps, conflicts, gaps through stops, filters and every fill mode, all four give the
 * same trades, equity marks, metrics and month rows, bit for bit.
 */
describe("Trader + simulated venue equal the engine", () => {
  test("every trade, equity mark, metric and month row, with and without fast paths", () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const { b, s, o, lo, hi } = buildCase(c);
        const engine = new Engine(o, { fastPaths: false });
        const eq = new Float64Array(hi - lo);
        engine.runRows(b, s, lo, hi, eq);
        const expected = {
          trades: engine.trades,
          equity: Array.from(eq),
          metrics: engine.metrics(),
          monthly: engine.monthly(),
        };
        for (const fastPaths of [false, true]) {
          const r = runBacktest(b, s, o, { start: lo, end: hi, fastPaths });
          expect({
            trades: r.trades,
            equity: Array.from(r.equity),
            metrics: r.metrics,
            monthly: r.monthly,
          }).toEqual(expected);
        }
      }),
      { numRuns: 1500 },
    );
  });
});
