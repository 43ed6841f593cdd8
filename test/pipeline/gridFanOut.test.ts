import { describe, expect, it } from "vitest";
import type { Metrics } from "../../src/backtest/types.js";
import { decodeGrid, encodeGrid, gridChunks } from "../../src/pipeline/gridFanOut.js";
import { backtestFixture } from "../helpers/backtestFixture.js";

/**
 * The grid's fan-out pieces without a queue: the chunks cover the cells once, in order, and a
 * task's metrics cross Redis (JSON) bit for bit, the values JSON cannot hold included. The
 * queue itself is tested end to end in test/cli/queue.test.ts.
 */

describe("grid fan-out", () => {
  it("cuts the cells into contiguous chunks of about the given steps, at most one per cell", () => {
    expect(gridChunks(4, 2000, 1000)).toEqual([
      [0, 1],
      [1, 2],
      [2, 3],
      [3, 4],
    ]);
    expect(gridChunks(10, 1000, 3000)).toEqual([
      [0, 2],
      [2, 5],
      [5, 7],
      [7, 10],
    ]);
    // below the size: one chunk, the grid stays on the worker threads
    expect(gridChunks(9, 1000, 9000)).toEqual([[0, 9]]);
    for (const [cells, rows, steps] of [
      [100, 44_640, 1e6],
      [7, 3, 1],
      [1000, 525_600, 1e9],
    ] as const) {
      const chunks = gridChunks(cells, rows, steps);
      expect(chunks[0]?.[0]).toBe(0);
      expect(chunks.at(-1)?.[1]).toBe(cells);
      chunks.forEach(([from, to], i) => {
        expect(to).toBeGreaterThan(from);
        if (i > 0) expect(from).toBe(chunks[i - 1]?.[1]);
      });
    }
  });

  it("a task's metrics and day returns survive JSON exactly: NaN, Infinity and -0 included, keys in the engine's order", async () => {
    const { grid } = await backtestFixture();
    const metrics: Metrics[] = grid.map((c) => c.metrics);
    // what a grid can hold besides finite numbers
    metrics.push({
      ...(metrics[0] as Metrics),
      profitFactor: Number.POSITIVE_INFINITY,
      sharpe: Number.NaN,
      profit: -0,
    });
    const days = 3;
    const dayReturns = new Float64Array(metrics.length * days).map((_, i) => (i - 7) / 1000);
    dayReturns[1] = -0;
    dayReturns[2] = Number.NaN;
    const wire = JSON.parse(JSON.stringify(encodeGrid({ metrics, days, dayReturns }))) as ReturnType<
      typeof encodeGrid
    >;
    const decoded = decodeGrid(wire, metrics.length);
    expect(decoded.days).toBe(3);
    expect(Array.from(decoded.dayReturns).every((v, i) => Object.is(v, dayReturns[i]))).toBe(true);
    const back = decoded.metrics;
    expect(back.map((m) => Object.keys(m))).toEqual(metrics.map((m) => Object.keys(m)));
    back.forEach((m, i) => {
      for (const [k, v] of Object.entries(metrics[i] as Metrics))
        expect(Object.is(m[k as keyof Metrics], v)).toBe(true);
    });
    expect(JSON.stringify(back)).toBe(JSON.stringify(metrics));
    expect(() => decodeGrid(wire, metrics.length + 1)).toThrow(/values for 11 cells/);
    expect(() => decodeGrid({ ...wire, days: 4 }, metrics.length)).toThrow(
      /30 day returns for 10 cells of 4 days/,
    );
  });
});
