import type { Trade } from "../core/trading.js";

/**
 * Risk limits, checked before every entry (exits only reduce risk and always go out): the size
 * of one position and of all of them together, how many markets may hold one, the notional of
 * an order, the price against the last close, stale data, and a circuit breaker on losses
 * (consecutive losses, losses per day, loss per day in percent of the day's starting equity)
 * with a cooldown. Pure: the caller gives the time and the portfolio; the state (the breaker's
 * counters) is plain data saved with every candle, so a restart keeps them.
 *
 * The breaker follows the original fork's `risk_management.circuit_breaker` (three consecutive
 * losses, five losses a day or 10 % a day pause entries for 60 minutes), with the day in UTC
 * (the fork used the machine's local date).
 */

export interface RiskLimits {
  /** Largest notional of one market's position, quote. */
  maxPositionNotional?: number;
  /** Largest notional of all positions together, quote. */
  maxTotalExposure?: number;
  /** Most markets holding a position at once. */
  maxOpenMarkets?: number;
  /** Smallest and largest notional of an entry order, quote. */
  minNotional?: number;
  maxNotional?: number;
  /** An order price further than this fraction from the last close is refused (a bad tick, a typo). */
  priceBand?: number;
  /** No entries when the last candle closed more than this many bars ago, or was missing (default 2). */
  staleBars?: number;
  /** The breaker: losses in a row, losses in a UTC day, loss in a UTC day in % of the day's first equity. */
  maxConsecutiveLosses?: number;
  maxDailyLosses?: number;
  maxDailyLossPercent?: number;
  /** How long the breaker pauses entries, ms (default 60 minutes). */
  cooldownMs?: number;
}

/** What is known when an entry is about to go out. */
export interface EntryContext {
  now: number;
  barMs: number;
  /** The open time of the last candle, and whether it was missing (a gap, NaN prices). */
  lastCandleTime: number;
  lastCandleMissing: boolean;
  lastClose: number;
  /** The entry's notional, quote, and its price (the last close for a market order). */
  notional: number;
  price: number;
  /** This market's position notional now, all markets' together, and how many hold one (this one included). */
  positionNotional: number;
  totalExposure: number;
  openMarkets: number;
  /** Whether this market holds a position now. */
  marketOpen: boolean;
  /** Equity now, quote (the daily loss limit's base). */
  equity: number;
}

export type RiskVerdict = { ok: true } | { ok: false; rule: string; reason: string };

export interface RiskState {
  /** UTC day (epoch days) the daily counters belong to, and the equity it started with. */
  day: number;
  dayStartEquity: number;
  dailyLosses: number;
  dailyLossQuote: number;
  consecutiveLosses: number;
  /** Entries paused until this time (epoch ms); 0: not paused. */
  cooldownUntil: number;
  /** Why the breaker tripped last. */
  tripped?: string;
}

const DAY = 86_400_000;
const OK: RiskVerdict = { ok: true };

export class RiskGuard {
  private state: RiskState;
  private readonly limits: RiskLimits;

  constructor(limits: RiskLimits, saved?: RiskState) {
    this.limits = limits;
    this.state =
      saved === undefined
        ? {
            day: -1,
            dayStartEquity: Number.NaN,
            dailyLosses: 0,
            dailyLossQuote: 0,
            consecutiveLosses: 0,
            cooldownUntil: 0,
          }
        : { ...saved };
  }

  snapshot(): RiskState {
    return { ...this.state };
  }

  /** Whether an entry may go out now; the first rule it breaks otherwise. */
  checkEntry(c: EntryContext): RiskVerdict {
    const l = this.limits;
    this.rollDay(c.now, c.equity);
    if (c.now < this.state.cooldownUntil) {
      return refuse(
        "circuit_breaker",
        `entries paused until ${new Date(this.state.cooldownUntil).toISOString()} (${this.state.tripped ?? "losses"})`,
      );
    }
    const stale = l.staleBars ?? 2;
    const age = c.now - (c.lastCandleTime + c.barMs);
    if (c.lastCandleMissing)
      return refuse("stale_data", "the last candle is missing (an exchange halt or a gap)");
    if (age > stale * c.barMs) {
      return refuse(
        "stale_data",
        `the last candle closed ${Math.round(age / 1000)} s ago (more than ${stale} bars)`,
      );
    }
    if (!(c.notional > 0) || !Number.isFinite(c.notional))
      return refuse("notional", `no notional (${c.notional})`);
    if (l.minNotional !== undefined && c.notional < l.minNotional) {
      return refuse("min_notional", `notional ${round(c.notional)} is below ${l.minNotional}`);
    }
    if (l.maxNotional !== undefined && c.notional > l.maxNotional) {
      return refuse("max_notional", `notional ${round(c.notional)} is above ${l.maxNotional}`);
    }
    if (l.priceBand !== undefined && Math.abs(c.price / c.lastClose - 1) > l.priceBand) {
      return refuse(
        "price_band",
        `price ${c.price} is more than ${l.priceBand * 100}% from the last close ${c.lastClose}`,
      );
    }
    if (l.maxPositionNotional !== undefined && c.positionNotional + c.notional > l.maxPositionNotional) {
      return refuse(
        "max_position",
        `the position would be ${round(c.positionNotional + c.notional)}, above ${l.maxPositionNotional}`,
      );
    }
    if (l.maxTotalExposure !== undefined && c.totalExposure + c.notional > l.maxTotalExposure) {
      return refuse(
        "max_exposure",
        `all positions would be ${round(c.totalExposure + c.notional)}, above ${l.maxTotalExposure}`,
      );
    }
    if (l.maxOpenMarkets !== undefined && !c.marketOpen && c.openMarkets + 1 > l.maxOpenMarkets) {
      return refuse(
        "max_open_markets",
        `${c.openMarkets} markets hold a position already (at most ${l.maxOpenMarkets})`,
      );
    }
    return OK;
  }

  /** A closed trade: the breaker counts its loss (after fees) or resets on a win. */
  onTrade(t: Trade, equityBefore: number): void {
    const s = this.state;
    this.rollDay(t.exitTime, equityBefore);
    if (!(t.pnl < 0)) {
      s.consecutiveLosses = 0;
      return;
    }
    s.consecutiveLosses++;
    s.dailyLosses++;
    s.dailyLossQuote += -t.pnl;
    const l = this.limits;
    const pct = (100 * s.dailyLossQuote) / s.dayStartEquity;
    const why =
      l.maxConsecutiveLosses !== undefined && s.consecutiveLosses >= l.maxConsecutiveLosses
        ? `${s.consecutiveLosses} losses in a row`
        : l.maxDailyLosses !== undefined && s.dailyLosses >= l.maxDailyLosses
          ? `${s.dailyLosses} losses today`
          : l.maxDailyLossPercent !== undefined && pct >= l.maxDailyLossPercent
            ? `${round(pct)}% lost today`
            : undefined;
    if (why !== undefined) {
      s.cooldownUntil = t.exitTime + (l.cooldownMs ?? 60 * 60_000);
      s.tripped = why;
      s.consecutiveLosses = 0;
    }
  }

  /** A new UTC day resets the daily counters; the day's base is the equity when it is first seen. */
  private rollDay(now: number, equity: number): void {
    const day = Math.floor(now / DAY);
    if (day === this.state.day) return;
    this.state.day = day;
    this.state.dayStartEquity = equity;
    this.state.dailyLosses = 0;
    this.state.dailyLossQuote = 0;
  }
}

function refuse(rule: string, reason: string): RiskVerdict {
  return { ok: false, rule, reason };
}

const round = (x: number) => Math.round(x * 100) / 100;
