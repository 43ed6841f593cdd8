/**
 * Totals of closed trades and the daily summary message (legacy Markdown). Profit is in quote
 * after fees; its percentage is relative to the money the trades put in (Σ profit / Σ entry
 * quantity × entry price), so one trade's percentage is its return.
 */
import type { Position, Trade } from "../../core/trading.js";
import { escapeText } from "./escape.js";
import { formatPct, formatPrice, formatQty, formatQuote } from "./format.js";

/** What a message shows of a position; flat when `side` is null or the quantity 0. */
export type PositionLike = Pick<Position, "side" | "quantity" | "entryPrice">;

export interface Tally {
  count: number;
  won: number;
  lost: number;
  /** Σ pnl, quote. */
  profit: number;
  /** Σ qty × entry price, quote. */
  invested: number;
}

export function tally(trades: Iterable<Trade>): Tally {
  const t: Tally = { count: 0, won: 0, lost: 0, profit: 0, invested: 0 };
  for (const trade of trades) {
    t.count++;
    if (trade.pnl > 0) t.won++;
    else if (trade.pnl < 0) t.lost++;
    t.profit += trade.pnl;
    t.invested += trade.qty * trade.entryPrice;
  }
  return t;
}

/** `3 trades (2 won, 1 lost), +12.34 (+0.56%)`, or `no trades`. */
export function tallyText(t: Tally): string {
  if (t.count === 0) return "no trades";
  return (
    `${t.count} trade${t.count === 1 ? "" : "s"} (${t.won} won, ${t.lost} lost), ` +
    `${formatQuote(t.profit, true)} (${formatPct(t.profit / t.invested)})`
  );
}

/** `long 0.0015 @ 30,123.45`, or `flat`. */
export function positionText(p: PositionLike | null | undefined): string {
  if (p === null || p === undefined || p.side === null || !(p.quantity > 0)) return "flat";
  return `${p.side} ${formatQty(p.quantity)} @ ${formatPrice(p.entryPrice)}`;
}

/** One market's day, for the daily summary. */
export interface MarketDay {
  market: string;
  /** The trades closed that day. */
  trades: readonly Trade[];
  /** Equity at the end of the day, quote. */
  equity: number;
  /** The position held at the end of the day. */
  position?: PositionLike | null;
}

/**
 * The end-of-day message: a bold title with the UTC date of `day` (any time of it), one line per
 * market (trades, won/lost, profit, equity, position), and a total line when there are several
 * markets (their quote amounts added up as they are):
 *
 * ```
 * *Daily summary 2024-05-01 (UTC)*
 * BTCUSDT 1m: 2 trades (1 won, 1 lost), +4.00 (+0.20%), equity 1,004.00, long 0.01 @ 30,000.00
 * ETHUSDT 1m: no trades, equity 1,000.00, flat
 * Total: 2 trades (1 won, 1 lost), +4.00 (+0.20%), equity 2,004.00
 * ```
 */
export function dailySummary(day: number, markets: readonly MarketDay[]): string {
  const title = `*Daily summary ${new Date(day).toISOString().slice(0, 10)} (UTC)*`;
  if (markets.length === 0) return `${title}\nNo markets.`;
  const lines = markets.map(
    (m) =>
      `${escapeText(m.market, "Markdown")}: ${tallyText(tally(m.trades))}, equity ${formatQuote(m.equity)}, ${positionText(m.position)}`,
  );
  if (markets.length > 1) {
    const all = tally(markets.flatMap((m) => m.trades));
    const equity = markets.reduce((sum, m) => sum + m.equity, 0);
    lines.push(`Total: ${tallyText(all)}, equity ${formatQuote(equity)}`);
  }
  return [title, ...lines].join("\n");
}
