import { describe, expect, it } from "vitest";
import type { Trade } from "../../src/core/trading.js";
import { type EntryContext, RiskGuard } from "../../src/trading/risk.js";

/** Risk limits before an entry, and the loss breaker with its cooldown, across a restart. */

const MIN = 60_000;
const T = Date.UTC(2023, 2, 20, 10, 0);

const ctx = (o: Partial<EntryContext> = {}): EntryContext => ({
  now: T + MIN + 5_000,
  barMs: MIN,
  lastCandleTime: T,
  lastCandleMissing: false,
  lastClose: 30_000,
  notional: 1_000,
  price: 30_000,
  positionNotional: 0,
  totalExposure: 0,
  openMarkets: 0,
  marketOpen: false,
  equity: 10_000,
  ...o,
});

const trade = (pnl: number, exitTime: number): Trade => ({
  side: "long",
  entryIndex: 0,
  entryTime: exitTime - 10 * MIN,
  entryPrice: 30_000,
  exitIndex: 10,
  exitTime,
  exitPrice: 30_000 + pnl * 10,
  qty: 0.1,
  fees: 1,
  pnl,
  ret: pnl / 3000,
  exitReason: "signal",
});

describe("risk limits before an entry", () => {
  it("refuse stale or missing candles, notional outside its range, a price off the last close", () => {
    const g = new RiskGuard({ minNotional: 10, maxNotional: 5_000, priceBand: 0.05 });
    expect(g.checkEntry(ctx())).toEqual({ ok: true });
    expect(g.checkEntry(ctx({ now: T + 3 * MIN + 1 }))).toEqual({
      ok: false,
      rule: "stale_data",
      reason: "the last candle closed 120 s ago (more than 2 bars)",
    });
    expect(g.checkEntry(ctx({ now: T + 3 * MIN }))).toEqual({ ok: true });
    expect(g.checkEntry(ctx({ lastCandleMissing: true }))).toMatchObject({ ok: false, rule: "stale_data" });
    expect(g.checkEntry(ctx({ notional: 5 }))).toEqual({
      ok: false,
      rule: "min_notional",
      reason: "notional 5 is below 10",
    });
    expect(g.checkEntry(ctx({ notional: 5_000.5 }))).toMatchObject({ ok: false, rule: "max_notional" });
    expect(g.checkEntry(ctx({ notional: Number.NaN }))).toMatchObject({ ok: false, rule: "notional" });
    expect(g.checkEntry(ctx({ price: 31_501 }))).toEqual({
      ok: false,
      rule: "price_band",
      reason: "price 31501 is more than 5% from the last close 30000",
    });
    expect(g.checkEntry(ctx({ price: 28_501 }))).toEqual({ ok: true });
  });

  it("refuse a position, an exposure or a count of open markets above their limits", () => {
    const g = new RiskGuard({ maxPositionNotional: 3_000, maxTotalExposure: 8_000, maxOpenMarkets: 2 });
    expect(g.checkEntry(ctx({ positionNotional: 2_500, marketOpen: true }))).toEqual({
      ok: false,
      rule: "max_position",
      reason: "the position would be 3500, above 3000",
    });
    expect(g.checkEntry(ctx({ totalExposure: 7_500 }))).toMatchObject({ ok: false, rule: "max_exposure" });
    expect(g.checkEntry(ctx({ openMarkets: 2 }))).toEqual({
      ok: false,
      rule: "max_open_markets",
      reason: "2 markets hold a position already (at most 2)",
    });
    // adding to a market that holds one opens no new market
    expect(g.checkEntry(ctx({ openMarkets: 2, marketOpen: true }))).toEqual({ ok: true });
  });
});

describe("the loss breaker", () => {
  it("pauses entries for the cooldown after losses in a row; a win resets the count", () => {
    const g = new RiskGuard({ maxConsecutiveLosses: 3 });
    g.onTrade(trade(-10, T), 10_000);
    g.onTrade(trade(-10, T + MIN), 9_990);
    g.onTrade(trade(5, T + 2 * MIN), 9_980);
    g.onTrade(trade(-10, T + 3 * MIN), 9_985);
    g.onTrade(trade(-10, T + 4 * MIN), 9_975);
    expect(g.checkEntry(ctx({ now: T + 4 * MIN + 30_000, lastCandleTime: T + 4 * MIN - MIN }))).toEqual({
      ok: true,
    });
    g.onTrade(trade(-10, T + 5 * MIN), 9_965);
    const after = { lastCandleTime: T + 64 * MIN };
    expect(g.checkEntry(ctx({ ...after, now: T + 65 * MIN - 1 }))).toEqual({
      ok: false,
      rule: "circuit_breaker",
      reason: "entries paused until 2023-03-20T11:05:00.000Z (3 losses in a row)",
    });
    // a restart keeps the pause
    const restarted = new RiskGuard({ maxConsecutiveLosses: 3 }, structuredClone(g.snapshot()));
    expect(restarted.checkEntry(ctx({ ...after, now: T + 65 * MIN - 1 }))).toMatchObject({
      rule: "circuit_breaker",
    });
    expect(restarted.checkEntry(ctx({ ...after, now: T + 65 * MIN }))).toEqual({ ok: true });
  });

  it("counts losses and the loss in % per UTC day, from the day's first equity; a new day starts afresh", () => {
    const g = new RiskGuard({ maxDailyLossPercent: 10, maxDailyLosses: 5, cooldownMs: 30 * MIN });
    g.onTrade(trade(-600, T), 10_000);
    g.onTrade(trade(-300, T + MIN), 9_400);
    expect(g.snapshot()).toMatchObject({ dailyLosses: 2, dailyLossQuote: 900, dayStartEquity: 10_000 });
    g.onTrade(trade(-100, T + 2 * MIN), 9_100); // 1,000 of 10,000: 10 %
    expect(g.snapshot()).toMatchObject({ cooldownUntil: T + 32 * MIN, tripped: "10% lost today" });
    // the next UTC day: counters from zero, the base is that day's equity
    const next = Date.UTC(2023, 2, 21, 0, 5);
    g.onTrade(trade(-100, next), 9_000);
    expect(g.snapshot()).toMatchObject({ dailyLosses: 1, dailyLossQuote: 100, dayStartEquity: 9_000 });
    for (let i = 1; i <= 4; i++) g.onTrade(trade(-1, next + i * MIN), 8_900);
    expect(g.snapshot()).toMatchObject({
      cooldownUntil: next + 4 * MIN + 30 * MIN,
      tripped: "5 losses today",
    });
  });
});
