import fc from "fast-check";
import type { BacktestOptions, Bars, Signals } from "../../src/backtest/types.js";

/**
 * Random backtest cases for the property tests: a deterministic random walk from a seed, with
 * gaps (NaN rows), equal closes (frequent in real data) and signals that come in runs, so that
 * held and flat stretches form; and options across every fill mode, direction, cost and stop.
 */
export const MIN = 60_000;

export const caseArb = fc.record({
  n: fc.integer({ min: 1, max: 600 }),
  seed: fc.integer({ min: 1, max: 2 ** 30 }),
  density: fc.constantFrom(0, 0.02, 0.1, 0.4),
  nanRate: fc.constantFrom(0, 0.05, 0.3),
  stepMs: fc.constantFrom(MIN, 3 * 3_600_000, 2 * 86_400_000),
  direction: fc.constantFrom("long", "short", "both"),
  fillAt: fc.constantFrom("next_open", "next_close", "close"),
  fee: fc.constantFrom(0, 0.001),
  slippageBps: fc.constantFrom(0, 3, 40),
  stopLoss: fc.option(fc.constantFrom(0.003, 0.02), { nil: undefined }),
  takeProfit: fc.option(fc.constantFrom(0.004, 0.03), { nil: undefined }),
  trailingStop: fc.option(fc.constantFrom(0.005, 0.02), { nil: undefined }),
  fixed: fc.boolean(),
  filters: fc.boolean(),
  cut: fc.tuple(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 1000 })),
} as const);

export type Case = typeof caseArb extends fc.Arbitrary<infer T> ? T : never;

export function buildCase(c: Case): { b: Bars; s: Signals; o: BacktestOptions; lo: number; hi: number } {
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
    // now and then a bar that opens away from the last close (a gap through the stops)
    const jump = rnd() < 0.05 ? (rnd() - 0.5) * 0.08 : (rnd() - 0.5) * 0.01;
    const o = p * (1 + jump);
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
  const o: BacktestOptions = {
    direction: c.direction,
    fillAt: c.fillAt,
    takerFee: c.fee,
    makerFee: c.fee / 2,
    slippageBps: c.slippageBps,
    initialCapital: 10_000,
    stake: c.fixed ? { mode: "fixed", amount: 5000 } : { mode: "compound", fraction: 1 },
    stopLoss: c.stopLoss,
    takeProfit: c.takeProfit,
    trailingStop: c.trailingStop,
    filters: c.filters ? { tickSize: 0.01, stepSize: 0.001, minNotional: 10 } : undefined,
    barMs: MIN,
  };
  // a row range, often all rows
  const lo = c.cut[0] < 500 ? 0 : Math.floor(((c.cut[0] - 500) / 1000) * n);
  const hi = c.cut[1] < 500 ? n : Math.max(lo + 1, n - Math.floor(((c.cut[1] - 500) / 1000) * n));
  return { b, s: { buy, sell }, o, lo: Math.min(lo, n - 1), hi: Math.min(hi, n) };
}
