import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  buyHoldPath,
  defaultBacktestOptions,
  Engine,
  runBacktest,
  runEngine,
} from "../../src/backtest/engine.js";
import { roundPrice, roundQty } from "../../src/backtest/orders.js";
import type { BacktestOptions, Bars, Signals } from "../../src/backtest/types.js";

const MIN = 60_000;
const T0 = Date.UTC(2023, 2, 1);

/** Bars from [open, high, low, close] rows, one minute apart. */
function bars(rows: readonly (readonly [number, number, number, number])[]): Bars {
  return {
    time: Float64Array.from(rows, (_, i) => T0 + i * MIN),
    open: Float64Array.from(rows, (r) => r[0]),
    high: Float64Array.from(rows, (r) => r[1]),
    low: Float64Array.from(rows, (r) => r[2]),
    close: Float64Array.from(rows, (r) => r[3]),
  };
}

/** Flat bars at the given closes (open = high = low = close). */
function closes(...cs: number[]): Bars {
  return bars(cs.map((c) => [c, c, c, c] as const));
}

/** Signals from a pattern: "B" buy, "S" sell, "X" both, anything else none. */
function signals(pattern: string): Signals {
  const p = [...pattern];
  return {
    buy: Uint8Array.from(p, (ch) => (ch === "B" || ch === "X" ? 1 : 0)),
    sell: Uint8Array.from(p, (ch) => (ch === "S" || ch === "X" ? 1 : 0)),
  };
}

function opts(o: Partial<BacktestOptions> = {}): BacktestOptions {
  return { ...defaultBacktestOptions(MIN), takerFee: 0, makerFee: 0, initialCapital: 100, ...o };
}

describe("signal pairing", () => {
  test("buy@100 sell@110 buy@105 sell@120 makes 10 + 15 per unit (the original reports +10)", () => {
    // a fixed stake of 119 with a step of 1 buys exactly one unit at 100 and at 105
    const r = runBacktest(
      closes(100, 110, 105, 120),
      signals("BSBS"),
      opts({
        fillAt: "close",
        stake: { mode: "fixed", amount: 119 },
        initialCapital: 1000,
        filters: { tickSize: 0, stepSize: 1, minNotional: 0 },
      }),
    );
    expect(r.trades.map((t) => [t.entryPrice, t.exitPrice, t.qty, t.pnl, t.exitReason])).toEqual([
      [100, 110, 1, 10, "signal"],
      [105, 120, 1, 15, "signal"],
    ]);
    expect(r.metrics.profit).toBe(25);
    expect(r.equity[3]).toBe(1025);
  });

  test("compounding all-in: the second trade buys with the first trade's profit", () => {
    const r = runBacktest(closes(100, 110, 105, 120), signals("BSBS"), opts({ fillAt: "close" }));
    expect(r.trades[0]?.qty).toBe(1);
    expect(r.trades[0]?.pnl).toBe(10);
    expect(r.trades[1]?.qty).toBeCloseTo(110 / 105, 14);
    expect(r.trades[1]?.pnl).toBeCloseTo((110 / 105) * 15, 12);
    expect(r.metrics.profit).toBeCloseTo(10 + (110 / 105) * 15, 12);
  });

  test("fixed stake: every entry spends the same amount", () => {
    const r = runBacktest(
      closes(100, 110, 105, 120),
      signals("BSBS"),
      opts({ fillAt: "close", stake: { mode: "fixed", amount: 50 } }),
    );
    expect(r.trades[0]?.qty).toBe(0.5);
    expect(r.trades[1]?.qty).toBeCloseTo(50 / 105, 14);
    expect(r.metrics.profit).toBeCloseTo(5 + (50 / 105) * 15, 12);
  });

  test("a fixed stake larger than the equity is cut to the equity (no leverage)", () => {
    const r = runBacktest(
      closes(100, 50, 50, 60),
      signals("BSB."),
      opts({ fillAt: "close", stake: { mode: "fixed", amount: 100 } }),
    );
    expect(r.trades.map((t) => t.qty)).toEqual([1, 1]);
    expect(r.trades[1]?.entryPrice).toBe(50);
  });

  test("signals in the position's direction are ignored (no pyramiding); a bar with both is a conflict", () => {
    const r = runBacktest(closes(100, 101, 102, 103, 104), signals("BBXS."), opts({ fillAt: "close" }));
    expect(r.trades).toHaveLength(1);
    expect(r.trades[0]).toMatchObject({ entryIndex: 0, exitIndex: 3, entryPrice: 100, exitPrice: 103 });
    expect(r.metrics.conflicts).toBe(1);
  });
});

describe("fill timing", () => {
  const b = bars([
    [10, 12, 9, 11],
    [20, 22, 19, 21],
    [30, 32, 29, 31],
    [40, 42, 39, 41],
  ]);

  test("next_open: a signal on bar t fills at bar t+1's open", () => {
    const r = runBacktest(b, signals("B.S."), opts());
    expect(r.trades).toHaveLength(1);
    expect(r.trades[0]).toMatchObject({ entryIndex: 1, entryPrice: 20, exitIndex: 3, exitPrice: 40 });
    expect(r.trades[0]?.entryTime).toBe(T0 + MIN);
  });

  test("next_close: at bar t+1's close", () => {
    const r = runBacktest(b, signals("B.S."), opts({ fillAt: "next_close" }));
    expect(r.trades[0]).toMatchObject({ entryIndex: 1, entryPrice: 21, exitIndex: 3, exitPrice: 41 });
  });

  test("close: at bar t's own close", () => {
    const r = runBacktest(b, signals("B.S."), opts({ fillAt: "close" }));
    expect(r.trades[0]).toMatchObject({ entryIndex: 0, entryPrice: 11, exitIndex: 2, exitPrice: 31 });
  });

  test("a signal on the last bar does not trade under next_*", () => {
    for (const fillAt of ["next_open", "next_close"] as const) {
      const r = runBacktest(b, signals("...B"), opts({ fillAt }));
      expect(r.trades).toEqual([]);
      expect(r.metrics.profit).toBe(0);
    }
  });

  test("under close, an entry on the last bar is skipped but an exit on it is a signal exit", () => {
    expect(runBacktest(b, signals("...B"), opts({ fillAt: "close" })).trades).toEqual([]);
    const r = runBacktest(b, signals("B..S"), opts({ fillAt: "close" }));
    expect(r.trades[0]).toMatchObject({ exitIndex: 3, exitPrice: 41, exitReason: "signal" });
  });

  test("an open position is closed at the last close with exit reason end, with fee and slippage", () => {
    const r = runBacktest(b, signals("B..."), opts({ takerFee: 0.001, slippageBps: 10 }));
    const t = r.trades[0];
    expect(t).toMatchObject({ entryIndex: 1, exitIndex: 3, exitReason: "end" });
    expect(t?.entryPrice).toBeCloseTo(20 * 1.001, 12);
    expect(t?.exitPrice).toBeCloseTo(41 * 0.999, 12);
    expect(r.metrics.profit).toBeCloseTo(t?.pnl as number, 9);
    expect(r.equity[3]).toBeCloseTo(100 + (t?.pnl as number), 9);
  });

  test("a run over a row range trades only inside it", () => {
    const r = runBacktest(b, signals("BS.S"), opts(), { start: 1, end: 4 });
    expect(r.trades).toEqual([]);
    expect(r.equity).toHaveLength(3);
    expect(r.metrics.bars).toBe(3);
    expect(r.metrics.firstTime).toBe(T0 + MIN);
  });
});

describe("fees and slippage", () => {
  test("market entry and exit by hand: 10 bps slippage, 0.1 % taker fee", () => {
    const b = bars([
      [100, 100, 100, 100],
      [100, 100, 100, 100],
      [110, 110, 110, 110],
    ]);
    const r = runBacktest(
      b,
      signals("BS."),
      opts({ initialCapital: 10_000, takerFee: 0.001, slippageBps: 10 }),
    );
    const t = r.trades[0];
    const entry = 100.1; // 100 × (1 + 10/1e4)
    const qty = 10_000 / (entry * 1.001); // cost + fee = the stake
    const entryFee = qty * entry * 0.001;
    const exit = 109.89; // 110 × (1 − 10/1e4)
    const exitFee = qty * exit * 0.001;
    expect(t?.entryPrice).toBeCloseTo(entry, 12);
    expect(t?.qty).toBeCloseTo(qty, 12);
    expect(qty * entry + entryFee).toBeCloseTo(10_000, 9);
    expect(t?.exitPrice).toBeCloseTo(exit, 12);
    expect(t?.fees).toBeCloseTo(entryFee + exitFee, 9);
    expect(t?.pnl).toBeCloseTo(qty * (exit - entry) - entryFee - exitFee, 9);
    expect(t?.ret).toBeCloseTo((t?.pnl as number) / (qty * entry), 12);
    expect(r.metrics.feesPaid).toBeCloseTo(entryFee + exitFee, 9);
    expect(r.metrics.profit).toBeCloseTo(t?.pnl as number, 9);
  });

  test("short: sell fills below, buy back above the reference price", () => {
    const r = runBacktest(
      closes(100, 90, 90),
      signals("SB."),
      opts({ direction: "short", fillAt: "close", slippageBps: 100, takerFee: 0.01 }),
    );
    const t = r.trades[0];
    const qty = 100 / (99 * 1.01);
    expect(t?.side).toBe("short");
    expect(t?.entryPrice).toBeCloseTo(99, 12);
    expect(t?.exitPrice).toBeCloseTo(90.9, 12);
    expect(t?.qty).toBeCloseTo(qty, 12);
    expect(t?.pnl).toBeCloseTo(qty * (99 - 90.9) - qty * 99 * 0.01 - qty * 90.9 * 0.01, 9);
  });
});

describe("stops", () => {
  const base = opts({ fillAt: "close" });

  test("stop-loss: a long stopped at entry × (1 − sl) when the low touches it", () => {
    const b = bars([
      [100, 100, 100, 100],
      [100, 101, 94, 96],
      [96, 96, 96, 96],
    ]);
    const r = runBacktest(b, signals("B.."), { ...base, stopLoss: 0.05, takerFee: 0.001, makerFee: 0.005 });
    const t = r.trades[0];
    expect(t).toMatchObject({ exitIndex: 1, exitPrice: 95, exitReason: "stop_loss" });
    expect(t?.fees).toBeCloseTo((t?.qty as number) * (100 + 95) * 0.001, 12); // taker on both sides
  });

  test("take-profit: a limit at entry × (1 + tp), maker fee, no slippage", () => {
    const b = bars([
      [100, 100, 100, 100],
      [100, 111, 99, 105],
      [105, 105, 105, 105],
    ]);
    const r = runBacktest(b, signals("B.."), {
      ...base,
      takeProfit: 0.1,
      takerFee: 0.001,
      makerFee: 0.005,
      slippageBps: 50,
    });
    const t = r.trades[0];
    expect(t?.entryPrice).toBeCloseTo(100.5, 12);
    expect(t?.exitPrice).toBeCloseTo(110.55, 12);
    expect(t?.exitReason).toBe("take_profit");
    const q = t?.qty as number;
    expect(t?.fees).toBeCloseTo(q * 100.5 * 0.001 + q * 110.55 * 0.005, 12);
  });

  test("stop-loss and take-profit touched in the same bar: the stop is assumed first", () => {
    const b = bars([
      [100, 100, 100, 100],
      [100, 111, 94, 105],
      [105, 105, 105, 105],
    ]);
    const r = runBacktest(b, signals("B.."), { ...base, stopLoss: 0.05, takeProfit: 0.1 });
    expect(r.trades[0]).toMatchObject({ exitPrice: 95, exitReason: "stop_loss" });
  });

  test("a bar that opens through the stop fills at the open, with slippage", () => {
    const b = bars([
      [100, 100, 100, 100],
      [90, 92, 89, 91],
      [91, 91, 91, 91],
    ]);
    const r = runBacktest(b, signals("B.."), { ...base, stopLoss: 0.05, slippageBps: 10 });
    expect(r.trades[0]?.exitPrice).toBeCloseTo(90 * 0.999, 12);
    expect(r.trades[0]?.exitReason).toBe("stop_loss");
  });

  test("a bar that opens beyond the take-profit fills it at its level, even if the range then reaches the stop", () => {
    // The open is the first price of the bar: a resting take-profit at 110 fills there, whatever
    // the bar does afterwards (the range alone would assume the stop first).
    const b = bars([
      [100, 100, 100, 100],
      [112, 113, 94, 96],
      [96, 96, 96, 96],
    ]);
    const r = runBacktest(b, signals("B.."), { ...base, stopLoss: 0.05, takeProfit: 0.1 });
    expect(r.trades[0]).toMatchObject({
      exitIndex: 1,
      exitPrice: 100 * (1 + 0.1),
      exitReason: "take_profit",
    });
    const viaEngine = runEngine(b, signals("B.."), { ...base, stopLoss: 0.05, takeProfit: 0.1 });
    expect(viaEngine.trades).toEqual(r.trades);
  });

  test("under close, a signal at the close of the bar a stop closed the position in opens again", () => {
    // Decided at bar 1's close, when the stop has already closed the long: a new long opens at
    // that close (the position at the decision is flat).
    const b = bars([
      [100, 100, 100, 100],
      [100, 101, 94, 96],
      [96, 97, 95, 97],
    ]);
    const r = runBacktest(b, signals("BB."), { ...base, stopLoss: 0.05 });
    expect(r.trades.map((t) => [t.entryIndex, t.exitIndex, t.exitReason])).toEqual([
      [0, 1, "stop_loss"],
      [1, 2, "end"],
    ]);
    expect(runEngine(b, signals("BB."), { ...base, stopLoss: 0.05 }).trades).toEqual(r.trades);
  });

  test("a gap stop is not followed by a re-entry from a buy decided while long (next_open)", () => {
    // Long from bar 1's open; bar 1 closes with another buy (ignored: already long, no order
    // sent); bar 2 opens through the stop. The stop fills at the open and no new long is opened.
    const b = bars([
      [100, 100, 100, 100],
      [100, 100, 100, 100],
      [90, 92, 89, 91],
      [91, 91, 91, 91],
    ]);
    const r = runBacktest(b, signals("BB.."), opts({ stopLoss: 0.05 }));
    expect(r.trades).toHaveLength(1);
    expect(r.trades[0]).toMatchObject({ exitIndex: 2, exitPrice: 90, exitReason: "stop_loss" });
    expect(r.metrics.exposurePct).toBe(25);
  });

  test("a negative maker fee is a rebate on the take-profit fill", () => {
    const b = bars([
      [100, 100, 100, 100],
      [100, 111, 99, 105],
      [105, 105, 105, 105],
    ]);
    const r = runBacktest(b, signals("B.."), { ...base, takeProfit: 0.1, takerFee: 0, makerFee: -0.0002 });
    const t = r.trades[0];
    const q = t?.qty as number;
    expect(t?.exitPrice).toBeCloseTo(110, 12);
    expect(t?.fees).toBeCloseTo(-q * 110 * 0.0002, 12);
    expect(t?.pnl).toBeCloseTo(q * 10 + q * 110 * 0.0002, 10);
  });

  test("short stop-loss above and take-profit below the entry", () => {
    const sl = runBacktest(
      bars([
        [100, 100, 100, 100],
        [100, 106, 99, 104],
        [104, 104, 104, 104],
      ]),
      signals("S.."),
      { ...base, direction: "short", stopLoss: 0.05, takeProfit: 0.1 },
    );
    expect(sl.trades[0]).toMatchObject({ side: "short", exitPrice: 105, exitReason: "stop_loss" });
    const tp = runBacktest(
      bars([
        [100, 100, 100, 100],
        [100, 101, 89, 95],
        [95, 95, 95, 95],
      ]),
      signals("S.."),
      { ...base, direction: "short", stopLoss: 0.05, takeProfit: 0.1 },
    );
    expect(tp.trades[0]).toMatchObject({ exitPrice: 90, exitReason: "take_profit" });
    expect(tp.trades[0]?.pnl).toBeCloseTo(10, 12);
  });

  test("stops of a close-filled entry start at the next bar", () => {
    // the entry bar's low (80) lies below the stop but happened before the fill at its close
    const b = bars([
      [100, 100, 80, 100],
      [100, 101, 99, 100],
    ]);
    const r = runBacktest(b, signals("B."), { ...base, stopLoss: 0.05 });
    expect(r.trades[0]?.exitReason).toBe("end");
  });

  test("stops of an entry at the open are checked on the entry bar itself", () => {
    const b = bars([
      [100, 100, 100, 100],
      [100, 101, 94, 96],
      [96, 96, 96, 96],
    ]);
    const r = runBacktest(b, signals("B.."), opts({ stopLoss: 0.05 }));
    expect(r.trades[0]).toMatchObject({
      entryIndex: 1,
      exitIndex: 1,
      exitPrice: 95,
      exitReason: "stop_loss",
    });
  });

  test("trailing stop follows the highest high, moved only after the bar's check", () => {
    const b = bars([
      [100, 100, 100, 100],
      // low 105 would hit a trail raised by this bar's high (120 × 0.9 = 108), but the bar is
      // checked against the trail before it (100 × 0.9 = 90)
      [100, 120, 105, 119],
      [118, 119, 107, 110],
      [110, 110, 110, 110],
    ]);
    const r = runBacktest(b, signals("B..."), { ...base, trailingStop: 0.1 });
    expect(r.trades[0]).toMatchObject({ exitIndex: 2, exitReason: "trailing_stop" });
    expect(r.trades[0]?.exitPrice).toBeCloseTo(108, 12);
  });

  test("short trailing stop follows the lowest low", () => {
    const b = bars([
      [100, 100, 100, 100],
      [100, 99, 80, 81],
      [82, 89, 82, 85],
      [85, 85, 85, 85],
    ]);
    const r = runBacktest(b, signals("S..."), { ...base, direction: "short", trailingStop: 0.1 });
    expect(r.trades[0]).toMatchObject({ exitIndex: 2, exitReason: "trailing_stop" });
    expect(r.trades[0]?.exitPrice).toBeCloseTo(88, 12);
  });
});

describe("directions", () => {
  test("long only: a sell when flat does nothing", () => {
    const r = runBacktest(closes(100, 110, 120), signals("S.."), opts({ fillAt: "close" }));
    expect(r.trades).toEqual([]);
  });

  test("short: sell opens, buy closes", () => {
    const r = runBacktest(
      closes(100, 95, 90, 80),
      signals("S.B."),
      opts({ fillAt: "close", direction: "short" }),
    );
    expect(r.trades).toHaveLength(1);
    expect(r.trades[0]).toMatchObject({ side: "short", entryPrice: 100, exitPrice: 90, qty: 1, pnl: 10 });
    expect(r.equity[1]).toBe(105);
    expect(r.metrics.shortTrades).toBe(1);
  });

  test("both: a signal against the position reverses it", () => {
    const r = runBacktest(
      closes(100, 110, 99, 121, 121),
      signals("BSB.."),
      opts({ fillAt: "close", direction: "both" }),
    );
    expect(r.trades.map((t) => [t.side, t.entryPrice, t.exitPrice, t.exitReason])).toEqual([
      ["long", 100, 110, "signal"],
      ["short", 110, 99, "signal"],
      ["long", 99, 121, "end"],
    ]);
    expect(r.trades[1]?.pnl).toBeCloseTo(11, 12); // qty 1 short from 110 to 99
    expect(r.metrics.profit).toBeCloseTo(10 + 11 + (121 / 99) * 22, 9);
    expect(r.metrics.longTrades).toBe(2);
    expect(r.metrics.shortTrades).toBe(1);
  });
});

describe("exchange filters", () => {
  test("price rounds adversely to the tick, quantity down to the step", () => {
    expect(roundPrice(100.1234, 1, 0.01)).toBe(100.13);
    expect(roundPrice(100.1234, -1, 0.01)).toBe(100.12);
    expect(roundPrice(100.1, 1, 0.01)).toBe(100.1); // an exact multiple stays
    expect(roundQty(0.0123456, 0.0001)).toBe(0.0123);
    expect(roundQty(3, 0.1)).toBe(3);
  });

  test("fills use rounded prices and quantities", () => {
    const b = bars([
      [100, 100, 100, 100],
      [100, 100, 100, 100],
      [110, 110, 110, 110],
    ]);
    const r = runBacktest(
      b,
      signals("BS."),
      opts({
        initialCapital: 1000,
        slippageBps: 3,
        filters: { tickSize: 0.1, stepSize: 0.01, minNotional: 5 },
      }),
    );
    const t = r.trades[0];
    expect(t?.entryPrice).toBe(100.1); // 100.03 up
    expect(t?.qty).toBe(9.99); // 1000 / 100.1 = 9.99000999 down
    expect(t?.exitPrice).toBe(109.9); // 109.967 down
    expect(t?.pnl).toBeCloseTo(9.99 * 9.8, 9);
  });

  test("an order below the minimum notional is rejected and the position stays flat", () => {
    const r = runBacktest(
      closes(100, 100, 100, 100),
      signals("B.B."),
      opts({ initialCapital: 5, filters: { tickSize: 0, stepSize: 0, minNotional: 10 } }),
    );
    expect(r.trades).toEqual([]);
    expect(r.metrics.rejectedOrders).toBe(2);
    expect(r.metrics.profit).toBe(0);
  });

  test("a short whose price rounds below one tick is rejected, not an infinite quantity", () => {
    const r = runBacktest(
      closes(0.004, 0.004, 0.004),
      signals("S.."),
      opts({ direction: "short", filters: { tickSize: 0.01, stepSize: 0, minNotional: 0 } }),
    );
    expect(r.metrics.rejectedOrders).toBe(1);
    expect(r.trades).toEqual([]);
    expect(r.metrics.profit).toBe(0);
  });

  test("a quantity rounding to zero is rejected", () => {
    const r = runBacktest(
      closes(100, 100, 100),
      signals("B.."),
      opts({ initialCapital: 50, filters: { tickSize: 0, stepSize: 1, minNotional: 0 } }),
    );
    expect(r.metrics.rejectedOrders).toBe(1);
    expect(r.metrics.exposurePct).toBe(0);
  });
});

describe("bars without prices", () => {
  test("a NaN bar carries the equity and delays a pending fill to the next bar with prices", () => {
    const b = closes(100, 100, Number.NaN, 110, 120);
    const r = runBacktest(b, signals(".B..."), opts());
    expect(r.trades[0]).toMatchObject({ entryIndex: 3, entryPrice: 110, exitIndex: 4, exitReason: "end" });
    const expected = [100, 100, 100, 100, 100 + 100 * (120 / 110 - 1)];
    for (const [i, v] of expected.entries()) expect(r.equity[i]).toBeCloseTo(v, 12);
  });
});

describe("invariants (property-based)", () => {
  const arb = fc.record({
    n: fc.integer({ min: 2, max: 120 }),
    seed: fc.integer({ min: 1, max: 2 ** 30 }),
    density: fc.double({ min: 0, max: 0.6, noNaN: true }),
    direction: fc.constantFrom("long", "short", "both"),
    fillAt: fc.constantFrom("next_open", "next_close", "close"),
    fee: fc.constantFrom(0, 0.001, 0.0075),
    slippageBps: fc.constantFrom(0, 2, 25),
    stopLoss: fc.option(fc.constantFrom(0.003, 0.01, 0.05), { nil: undefined }),
    takeProfit: fc.option(fc.constantFrom(0.004, 0.02), { nil: undefined }),
    trailingStop: fc.option(fc.constantFrom(0.005, 0.03), { nil: undefined }),
    fixed: fc.boolean(),
    filters: fc.boolean(),
  } as const);

  /** A deterministic random walk and random signals from the case's seed. */
  function build(c: { n: number; seed: number; density: number }): { b: Bars; s: Signals } {
    let x = c.seed;
    const rnd = () => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      return x / 2 ** 32;
    };
    const rows: [number, number, number, number][] = [];
    let p = 100;
    for (let i = 0; i < c.n; i++) {
      const o = p * (1 + (rnd() - 0.5) * 0.01);
      const cl = o * (1 + (rnd() - 0.5) * 0.02);
      rows.push([o, Math.max(o, cl) * (1 + rnd() * 0.01), Math.min(o, cl) * (1 - rnd() * 0.01), cl]);
      p = cl;
    }
    const buy = new Uint8Array(c.n);
    const sell = new Uint8Array(c.n);
    for (let i = 0; i < c.n; i++) {
      buy[i] = rnd() < c.density ? 1 : 0;
      sell[i] = rnd() < c.density ? 1 : 0;
    }
    return { b: bars(rows), s: { buy, sell } };
  }

  test("final equity = initial capital + sum of trade pnl; lean mode gives the same metrics", () => {
    fc.assert(
      fc.property(arb, (c) => {
        const { b, s } = build(c);
        const o: BacktestOptions = {
          ...defaultBacktestOptions(MIN),
          direction: c.direction,
          fillAt: c.fillAt,
          takerFee: c.fee,
          makerFee: c.fee / 2,
          slippageBps: c.slippageBps,
          stake: c.fixed ? { mode: "fixed", amount: 5000 } : { mode: "compound", fraction: 1 },
          stopLoss: c.stopLoss,
          takeProfit: c.takeProfit,
          trailingStop: c.trailingStop,
          filters: c.filters ? { tickSize: 0.01, stepSize: 0.001, minNotional: 10 } : undefined,
        };
        const full = runBacktest(b, s, o);
        const sum = full.trades.reduce((a, t) => a + t.pnl, 0);
        const end = full.equity[c.n - 1] as number;
        expect(Math.abs(end - (o.initialCapital + sum))).toBeLessThan(1e-9 * o.initialCapital);
        expect(full.metrics.profit).toBeCloseTo(sum, 6);
        expect(full.metrics.trades).toBe(full.trades.length);
        for (const t of full.trades) {
          expect(t.exitIndex).toBeGreaterThanOrEqual(t.entryIndex);
          expect(t.pnl).toBeCloseTo(
            (t.side === "long" ? 1 : -1) * t.qty * (t.exitPrice - t.entryPrice) - t.fees,
            9,
          );
        }
        const lean = runBacktest(b, s, o, { collectTrades: false });
        expect(lean.metrics).toEqual(full.metrics);
        expect(lean.monthly).toEqual(full.monthly);
        expect(lean.trades).toEqual([]);
        expect(lean.equity).toHaveLength(0);
      }),
      { numRuns: 300 },
    );
  });

  test("under next_open every entry is at the open of the bar after a matching signal", () => {
    fc.assert(
      fc.property(arb, (c) => {
        const { b, s } = build(c);
        const o: BacktestOptions = {
          ...defaultBacktestOptions(MIN),
          direction: c.direction,
          stopLoss: c.stopLoss,
          takeProfit: c.takeProfit,
          trailingStop: c.trailingStop,
        };
        for (const t of runBacktest(b, s, o).trades) {
          expect(t.entryIndex).toBeGreaterThanOrEqual(1);
          const prev = t.entryIndex - 1;
          const sig = t.side === "long" ? s.buy[prev] : s.sell[prev];
          const other = t.side === "long" ? s.sell[prev] : s.buy[prev];
          expect(sig).toBe(1);
          expect(other).toBe(0);
          expect(t.entryPrice).toBe(b.open[t.entryIndex]);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe("fast paths (flat skip, held stretches, buy-and-hold pass) equal the plain per-bar path", () => {
  const arb = fc.record({
    n: fc.integer({ min: 1, max: 600 }),
    seed: fc.integer({ min: 1, max: 2 ** 30 }),
    density: fc.constantFrom(0, 0.02, 0.1, 0.4),
    nanRate: fc.constantFrom(0, 0.05, 0.3),
    stepMs: fc.constantFrom(MIN, 3 * 3_600_000, 2 * 86_400_000),
    direction: fc.constantFrom("long", "short", "both"),
    fillAt: fc.constantFrom("next_open", "next_close", "close"),
    fee: fc.constantFrom(0, 0.001),
    slippageBps: fc.constantFrom(0, 3),
    stopLoss: fc.option(fc.constantFrom(0.003, 0.02), { nil: undefined }),
    takeProfit: fc.option(fc.constantFrom(0.004, 0.03), { nil: undefined }),
    trailingStop: fc.option(fc.constantFrom(0.005, 0.02), { nil: undefined }),
    fixed: fc.boolean(),
    filters: fc.boolean(),
    cut: fc.tuple(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 1000 })),
  } as const);

  /** Random walk with gaps (NaN rows) and signals that come in runs, so stretches form. */
  function build(c: { n: number; seed: number; density: number; nanRate: number; stepMs: number }) {
    let x = c.seed;
    const rnd = () => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      return x / 2 ** 32;
    };
    const n = c.n;
    const b: Bars = {
      time: new Float64Array(n),
      open: new Float64Array(n),
      high: new Float64Array(n),
      low: new Float64Array(n),
      close: new Float64Array(n),
    };
    const buy = new Uint8Array(n);
    const sell = new Uint8Array(n);
    let p = 100;
    let on = 0;
    for (let i = 0; i < n; i++) {
      b.time[i] = Date.UTC(2023, 0, 28) + i * c.stepMs;
      const o = p * (1 + (rnd() - 0.5) * 0.01);
      // equal closes are common in real data: keep some
      const cl = rnd() < 0.2 ? o : o * (1 + (rnd() - 0.5) * 0.02);
      const gap = rnd() < c.nanRate;
      b.open[i] = gap ? Number.NaN : o;
      b.high[i] = gap ? Number.NaN : Math.max(o, cl) * (1 + rnd() * 0.005);
      b.low[i] = gap ? Number.NaN : Math.min(o, cl) * (1 - rnd() * 0.005);
      b.close[i] = gap ? Number.NaN : cl;
      if (!gap) p = cl;
      if (rnd() < c.density)
        on = rnd() < 0.5 ? 1 : rnd() < 0.9 ? 2 : 3; // 3: both (a conflict)
      else if (rnd() < 0.15) on = 0;
      buy[i] = on === 1 || on === 3 ? 1 : 0;
      sell[i] = on === 2 || on === 3 ? 1 : 0;
    }
    return { b, s: { buy, sell } as Signals };
  }

  function run(b: Bars, s: Signals, o: BacktestOptions, start: number, end: number, fastPaths: boolean) {
    const e = new Engine(o, { fastPaths });
    const equity = new Float64Array(end - start);
    e.runRows(b, s, start, end, equity);
    return { trades: e.trades, equity: Array.from(equity), metrics: e.metrics(), monthly: e.monthly() };
  }

  test("every trade, equity mark, metric and month row, bit for bit", () => {
    fc.assert(
      fc.property(arb, (c) => {
        const { b, s } = build(c);
        const o: BacktestOptions = {
          ...defaultBacktestOptions(MIN),
          direction: c.direction,
          fillAt: c.fillAt,
          takerFee: c.fee,
          makerFee: c.fee / 2,
          slippageBps: c.slippageBps,
          stake: c.fixed ? { mode: "fixed", amount: 5000 } : { mode: "compound", fraction: 1 },
          stopLoss: c.stopLoss,
          takeProfit: c.takeProfit,
          trailingStop: c.trailingStop,
          filters: c.filters ? { tickSize: 0.01, stepSize: 0.001, minNotional: 10 } : undefined,
        };
        // a row range, often all rows
        const lo = c.cut[0] < 500 ? 0 : Math.floor(((c.cut[0] - 500) / 1000) * c.n);
        const hi = c.cut[1] < 500 ? c.n : Math.max(lo + 1, c.n - Math.floor(((c.cut[1] - 500) / 1000) * c.n));
        const plain = run(b, s, o, lo, hi, false);
        const fast = run(b, s, o, lo, hi, true);
        expect(fast).toEqual(plain);
        // lean mode with the grid's shared buy-and-hold pass
        const lean = runEngine(b, s, o, {
          start: lo,
          end: hi,
          collectTrades: false,
          buyHold: buyHoldPath(b, lo, hi),
        });
        expect(lean.metrics).toEqual(plain.metrics);
        expect(lean.monthly).toEqual(plain.monthly);
      }),
      { numRuns: 400 },
    );
  });
});

describe("options", () => {
  test("defaults", () => {
    expect(defaultBacktestOptions(MIN)).toEqual({
      direction: "long",
      fillAt: "next_open",
      takerFee: 0.001,
      makerFee: 0.001,
      slippageBps: 0,
      initialCapital: 10_000,
      stake: { mode: "compound", fraction: 1 },
      barMs: MIN,
    });
  });

  test("invalid options and inputs are refused with a message naming them", () => {
    const b = closes(1, 2);
    expect(() => runBacktest(b, signals(".."), opts({ takerFee: -1 }))).toThrow(/takerFee/);
    expect(() => runBacktest(b, signals(".."), opts({ stopLoss: 0 }))).toThrow(/stopLoss/);
    expect(() => runBacktest(b, signals("..."), opts())).toThrow(/buy has 3 rows/);
    expect(() => runBacktest(b, signals(".."), opts(), { start: 1, end: 3 })).toThrow(/range/);
  });
});
