import { describe, expect, it } from "vitest";
import { defaultBacktestOptions, runEngine } from "../../src/backtest/engine.js";
import {
  checkRuleParameters,
  evaluateCells,
  expandGrid,
  rankCells,
  thresholdSignals,
} from "../../src/backtest/grid.js";
import type { BacktestOptions, GridCell, Metrics } from "../../src/backtest/types.js";
import { gridAxisValues } from "../../src/config/gridValues.js";
import { ConfigError } from "../../src/core/errors.js";
import { backtestFixture } from "../helpers/backtestFixture.js";

describe("grid axis values", () => {
  it("reads numbers, lists and {start, stop, step}", () => {
    expect(gridAxisValues(0.05)).toEqual([0.05]);
    expect(gridAxisValues([0.1, 0.2])).toEqual([0.1, 0.2]);
    // stop always excluded here (numpy's arange would include 0.4 by rounding); 0.1 + 2 * 0.1 printed as 0.3
    expect(gridAxisValues({ start: 0.1, stop: 0.4, step: 0.1 })).toEqual([0.1, 0.2, 0.3]);
  });

  it("parses the original's numpy strings without evaluating them (values as numpy prints them)", () => {
    // np.linspace(0.02, 0.20, 10) → [0.02 0.04 0.06 0.08 0.1 0.12 0.14 0.16 0.18 0.2]
    expect(gridAxisValues("np.linspace(0.02, 0.20, 10)")).toEqual([
      0.02, 0.04, 0.06, 0.08, 0.1, 0.12, 0.14, 0.16, 0.18, 0.2,
    ]);
    // np.arange(-0.05, 0.0, 0.01) → [-0.05 -0.04 -0.03 -0.02 -0.01]
    expect(gridAxisValues("np.arange(-0.05, 0.0, 0.01)")).toEqual([-0.05, -0.04, -0.03, -0.02, -0.01]);
    expect(gridAxisValues("numpy.arange(3)")).toEqual([0, 1, 2]);
    // numpy's own rounding: np.arange(0.1, 0.4, 0.1) → [0.1 0.2 0.3 0.4]
    expect(gridAxisValues("np.arange(0.1, 0.4, 0.1)")).toEqual([0.1, 0.2, 0.3, 0.4]);
    expect(gridAxisValues("arange(start=1, stop=2, step=0.5)")).toEqual([1, 1.5]);
    expect(gridAxisValues("np.linspace(0, 1, 4, endpoint=False)")).toEqual([0, 0.25, 0.5, 0.75]);
    expect(gridAxisValues("[0.1, -0.2]")).toEqual([0.1, -0.2]);
    expect(gridAxisValues("0.3")).toEqual([0.3]);
  });

  it("refuses anything else with a message saying what is accepted", () => {
    expect(gridAxisValues("__import__('os').system('rm -rf /')")).toMatch(/expected a number, a list/);
    expect(gridAxisValues("np.arange(0, 1, x)")).toBe(
      'arange: cannot read argument "x" (only numbers are accepted)',
    );
    expect(gridAxisValues("np.arange(0, 1, 0)")).toBe("arange: step must not be 0");
    expect(gridAxisValues("np.linspace(0, 1, 2.5)")).toBe("linspace: num must be a non-negative integer");
    expect(gridAxisValues([0.1, "a"])).toBe('item 1: expected a number, found "a"');
    expect(gridAxisValues({ start: 0, stop: 1 })).toBe("expected numbers for start, stop and step");
    expect(gridAxisValues({ start: 0, stop: 1, step: 0.5, num: 3 })).toBe(
      "unknown key(s) num; expected {start, stop, step}",
    );
  });
});

describe("expandGrid", () => {
  it("takes every combination in sklearn's ParameterGrid order (keys sorted, last fastest)", () => {
    const cells = expandGrid({ sell_signal_threshold: [-1, -2], buy_signal_threshold: [1, 2, 3] }, {}, false);
    expect(cells).toEqual([
      { buy_signal_threshold: 1, sell_signal_threshold: -1 },
      { buy_signal_threshold: 1, sell_signal_threshold: -2 },
      { buy_signal_threshold: 2, sell_signal_threshold: -1 },
      { buy_signal_threshold: 2, sell_signal_threshold: -2 },
      { buy_signal_threshold: 3, sell_signal_threshold: -1 },
      { buy_signal_threshold: 3, sell_signal_threshold: -2 },
    ]);
  });

  it("buy_sell_equal drops the sell axes and mirrors the buy thresholds", () => {
    const cells = expandGrid(
      { buy_signal_threshold: [0.1, 0.2], sell_signal_threshold: [-5], buy_signal_threshold_2: [0.3] },
      {},
      true,
    );
    expect(cells).toEqual([
      {
        buy_signal_threshold: 0.1,
        buy_signal_threshold_2: 0.3,
        sell_signal_threshold: -0.1,
        sell_signal_threshold_2: -0.3,
      },
      {
        buy_signal_threshold: 0.2,
        buy_signal_threshold_2: 0.3,
        sell_signal_threshold: -0.2,
        sell_signal_threshold_2: -0.3,
      },
    ]);
  });

  it("keeps the signal set's own parameters for axes the grid does not list", () => {
    const cells = expandGrid({ buy_signal_threshold: [0.1] }, { sell_signal_threshold: -0.4 }, false);
    expect(cells).toEqual([{ buy_signal_threshold: 0.1, sell_signal_threshold: -0.4 }]);
  });

  it("names the axis of a bad value", () => {
    expect(() => expandGrid({ buy_signal_threshold: "eval(1)" }, {}, false)).toThrow(
      /^simulate_model\.grid\.buy_signal_threshold: expected a number, a list/,
    );
    expect(() => expandGrid({ buy_signal_threshold: [] }, {}, false)).toThrow(ConfigError);
  });

  it("a rule missing a parameter is refused before any backtest", () => {
    const cells = expandGrid({ buy_signal_threshold: [0.1] }, {}, false);
    expect(() => checkRuleParameters("threshold_rule", cells)).toThrow(
      "simulate_model.grid: threshold_rule needs sell_signal_threshold (in the grid or in the signal set's config.parameters)",
    );
  });
});

describe("thresholdSignals", () => {
  it("threshold_rule: buy at or above, sell at or below, NaN neither", () => {
    const s = Float64Array.from([0.3, 0.2, Number.NaN, -0.2, -0.1, 0]);
    const out = { buy: new Uint8Array(6), sell: new Uint8Array(6) };
    thresholdSignals("threshold_rule", [s], { buy_signal_threshold: 0.2, sell_signal_threshold: -0.2 }, out);
    expect([...out.buy]).toEqual([1, 1, 0, 0, 0, 0]);
    expect([...out.sell]).toEqual([0, 0, 0, 1, 0, 0]);
  });

  it("threshold_rule2: both scores must pass", () => {
    const a = Float64Array.from([0.5, 0.5, -0.5, -0.5]);
    const b = Float64Array.from([0.5, 0.0, -0.5, 0.0]);
    const out = { buy: new Uint8Array(4), sell: new Uint8Array(4) };
    thresholdSignals(
      "threshold_rule2",
      [a, b],
      {
        buy_signal_threshold: 0.4,
        buy_signal_threshold_2: 0.4,
        sell_signal_threshold: -0.4,
        sell_signal_threshold_2: -0.4,
      },
      out,
    );
    expect([...out.buy]).toEqual([1, 0, 0, 0]);
    expect([...out.sell]).toEqual([0, 0, 1, 0]);
  });
});

describe("rankCells", () => {
  const cell = (id: number, v: number, trades = 50): GridCell => ({
    params: { id },
    metrics: { profitPctPerMonth: v, trades } as unknown as Metrics,
  });

  it("best first, NaN last, ties in grid order", () => {
    const ranked = rankCells([cell(0, 1), cell(1, Number.NaN), cell(2, 3), cell(3, 1)], "profitPctPerMonth");
    expect(ranked.map((c) => c.params.id)).toEqual([2, 0, 3, 1]);
  });

  it("ranks cells with fewer than min_trades trades after all others, in metric order among themselves", () => {
    const cells = [
      cell(0, 1, 12),
      cell(1, 40, 1),
      cell(2, 3, 10),
      cell(3, 25, 9),
      cell(4, Number.NaN, 30),
      cell(5, 0, 0),
      cell(6, -2, 11),
    ];
    const ids = (minTrades?: number) =>
      rankCells(cells, "profitPctPerMonth", minTrades).map((c) => c.params.id);
    // enough trades, then too few, then none (no result: its 0 % does not beat a real loss)
    expect(ids(10)).toEqual([2, 0, 6, 4, 1, 3, 5]);
    // 0 (and the default) ranks by the metric alone, as the original
    expect(ids(0)).toEqual([1, 3, 2, 0, 5, 6, 4]);
    expect(ids()).toEqual([1, 3, 2, 0, 5, 6, 4]);
    // no cell has enough: the trading cells by the metric, the caller says the best has too few
    expect(ids(100)).toEqual([1, 3, 2, 0, 6, 4, 5]);
  });
});

describe("evaluateCells' day returns", () => {
  it("are each cell's equity at the UTC day ends over the previous day's, and leave the metrics as they were", async () => {
    const { bars, score } = await backtestFixture(["2023-03"]);
    const n = bars.time.length;
    // a range that starts and ends inside a day
    const start = 700;
    const end = n - 300;
    const cells = expandGrid(
      { buy_signal_threshold: [0.2, 0.5], sell_signal_threshold: [-0.5, -0.2] },
      {},
      false,
    );
    const variants: BacktestOptions[] = [
      defaultBacktestOptions(60_000),
      {
        ...defaultBacktestOptions(60_000),
        direction: "both",
        stopLoss: 0.01,
        takeProfit: 0.02,
        fillAt: "close",
      },
    ];
    for (const options of variants) {
      const r = evaluateCells({ bars, rule: "threshold_rule", scores: [score], options, start, end }, cells);
      // 31 days of March; the range's first and last days are partial
      expect(r.days).toBe(31);
      expect(r.dayReturns.length).toBe(cells.length * 31);
      cells.forEach((p, c) => {
        const signals = thresholdSignals("threshold_rule", [score], p, {
          buy: new Uint8Array(n),
          sell: new Uint8Array(n),
        });
        const full = runEngine(bars, signals, options, { start, end });
        expect(r.metrics[c]).toEqual(full.metrics);
        // the last row of each UTC day, from the equity curve
        let prev = options.initialCapital;
        let d = 0;
        for (let k = start; k < end; k++) {
          const day = Math.floor((bars.time[k] as number) / 86_400_000);
          const last = k === end - 1 || Math.floor((bars.time[k + 1] as number) / 86_400_000) !== day;
          if (!last) continue;
          const e = full.equity[k - start] as number;
          expect(r.dayReturns[c * r.days + d]).toBe(e / prev - 1);
          prev = e;
          d++;
        }
        expect(d).toBe(31);
      });
      expect(r.dayReturns.some((v) => v !== 0)).toBe(true);
    }
  });
});
