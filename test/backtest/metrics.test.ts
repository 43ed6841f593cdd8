import { describe, expect, test } from "vitest";
import { defaultBacktestOptions, runBacktest } from "../../src/backtest/engine.js";
import { computeMetrics, MetricsAccumulator, MONTH_MS, YEAR_MS } from "../../src/backtest/metrics.js";
import type { Bars, Signals } from "../../src/backtest/types.js";

const MIN = 60_000;

function flatBars(time: number[], closes: number[]): Bars {
  return {
    time: Float64Array.from(time),
    open: Float64Array.from(closes),
    high: Float64Array.from(closes),
    low: Float64Array.from(closes),
    close: Float64Array.from(closes),
  };
}

function signals(pattern: string): Signals {
  const p = [...pattern];
  return {
    buy: Uint8Array.from(p, (ch) => (ch === "B" ? 1 : 0)),
    sell: Uint8Array.from(p, (ch) => (ch === "S" ? 1 : 0)),
  };
}

describe("metrics of a hand-computed equity path", () => {
  // Long, fills at the close, no fees, all-in from 100: qty 1 on both trades.
  // equity at the closes: 100, 110, 99, 120 (sell: +20), 120 (buy), 102 (sell: −18)
  const t0 = Date.UTC(2023, 2, 1);
  const closes = [100, 110, 99, 120, 120, 102];
  const b = flatBars(
    closes.map((_, i) => t0 + i * MIN),
    closes,
  );
  const r = runBacktest(b, signals("B..SBS"), {
    ...defaultBacktestOptions(MIN),
    fillAt: "close",
    takerFee: 0,
    makerFee: 0,
    initialCapital: 100,
  });
  const m = r.metrics;

  test("equity, trades, win rate, profit factor", () => {
    expect(Array.from(r.equity)).toEqual([100, 110, 99, 120, 120, 102]);
    expect(r.trades.map((t) => t.pnl)).toEqual([20, -18]);
    expect(m.trades).toBe(2);
    expect(m.wins).toBe(1);
    expect(m.winRatePct).toBe(50);
    expect(m.profitFactor).toBe(20 / 18);
    expect(m.profit).toBe(2);
    expect(m.profitPct).toBeCloseTo(2, 12);
  });

  test("drawdown: the largest peak-to-trough fall of the marked equity", () => {
    // 110 → 99 is 10 %, 120 → 102 is 15 %
    expect(m.maxDrawdownPct).toBeCloseTo(15, 12);
    expect(m.buyHoldPct).toBeCloseTo(2, 12); // close[last] / open[first] − 1
    expect(m.buyHoldMaxDrawdownPct).toBeCloseTo(15, 12);
  });

  test("Sharpe and Sortino: per-bar returns annualised by sqrt(bars per year)", () => {
    const rets = [0, 0.1, 99 / 110 - 1, 120 / 99 - 1, 0, 102 / 120 - 1];
    const n = rets.length;
    const mean = rets.reduce((a, x) => a + x, 0) / n;
    const sd = Math.sqrt(rets.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1));
    const down = Math.sqrt(rets.reduce((a, x) => a + Math.min(x, 0) ** 2, 0) / n);
    const annual = Math.sqrt((365.25 * 86_400_000) / MIN);
    expect(m.sharpe).toBeCloseTo((mean / sd) * annual, 9);
    expect(m.sortino).toBeCloseTo((mean / down) * annual, 9);
  });

  test("exposure, holding time, span", () => {
    // a position is held at the closes of rows 0, 1, 2 and 4
    expect(m.exposurePct).toBeCloseTo((4 / 6) * 100, 12);
    expect(m.avgHoldBars).toBe(2); // (3 + 1) / 2
    expect(m.bars).toBe(6);
    expect(m.firstTime).toBe(t0);
    expect(m.lastTime).toBe(t0 + 5 * MIN);
    expect(m.months).toBeCloseTo((6 * MIN) / MONTH_MS, 15);
    expect(m.profitPctPerMonth).toBeCloseTo(m.profitPct / m.months, 9);
    expect(m.rejectedOrders).toBe(0);
    expect(m.feesPaid).toBe(0);
  });
});

describe("month table", () => {
  test("rows by UTC month with trades closed in the month and buy-and-hold per month", () => {
    // two bars in January, two in February; buy in January, sell in February
    const time = [
      Date.UTC(2023, 0, 31, 23, 58),
      Date.UTC(2023, 0, 31, 23, 59),
      Date.UTC(2023, 1, 1),
      Date.UTC(2023, 1, 1, 0, 1),
    ];
    const r = runBacktest(flatBars(time, [100, 110, 121, 100]), signals("B.S."), {
      ...defaultBacktestOptions(MIN),
      fillAt: "close",
      takerFee: 0,
      makerFee: 0,
      initialCapital: 100,
    });
    expect(r.monthly).toEqual([
      {
        month: "2023-01",
        startEquity: 100,
        endEquity: 110,
        returnPct: 10.000000000000009,
        trades: 0,
        profit: 0,
        buyHoldPct: 10.000000000000009,
      },
      {
        month: "2023-02",
        startEquity: 110,
        endEquity: 121,
        returnPct: 10.000000000000009,
        trades: 1,
        profit: 21,
        buyHoldPct: (100 / 110 - 1) * 100,
      },
    ]);
    expect(r.metrics.profit).toBe(21);
  });
});

describe("computeMetrics edge cases", () => {
  test("an empty run", () => {
    const m = computeMetrics(new MetricsAccumulator(1000, MIN));
    expect(m).toMatchObject({
      bars: 0,
      months: 0,
      trades: 0,
      winRatePct: 0,
      profit: 0,
      profitFactor: 0,
      sharpe: 0,
      sortino: 0,
      exposurePct: 0,
      avgHoldBars: 0,
      buyHoldPct: 0,
    });
  });

  test("profit factor is Infinity with no losing trade; Sortino is Infinity with no losing bar", () => {
    const r = runBacktest(flatBars([0, MIN, 2 * MIN], [100, 110, 120]), signals("B.S"), {
      ...defaultBacktestOptions(MIN),
      fillAt: "close",
      takerFee: 0,
      makerFee: 0,
      initialCapital: 100,
    });
    expect(r.metrics.profitFactor).toBe(Number.POSITIVE_INFINITY);
    expect(r.metrics.sortino).toBe(Number.POSITIVE_INFINITY);
    expect(r.metrics.sharpe).toBeGreaterThan(0);
  });

  test("a year is 365.25 days, a month a twelfth of it", () => {
    expect(YEAR_MS).toBe(365.25 * 86_400_000);
    expect(MONTH_MS).toBe(30.4375 * 86_400_000);
  });
});
