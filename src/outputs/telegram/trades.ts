/**
 * Messages about closed trades: the original's two `trader_simulation` messages (the profit of
 * the closed leg, then the 4-week stats of that side), and itb's one-line closed trade.
 */
import { DAY_MS } from "../../core/time.js";
import type { ExitReason, Side, Trade } from "../../core/trading.js";
import { escapeText } from "./escape.js";
import { formatPct, formatPrice, formatQty, formatQuote, pyFixed } from "./format.js";

/**
 * The original's first message: a closed long is a sale, a closed short a purchase
 * (`⚡💰 *SOLD:  Profit: 1.25% 12.3456₮*`, two spaces after the colon). The percentage is
 * 100 × the trade's return, the amount its profit in quote, both after fees (the original's
 * simulation had no fees).
 */
export function tradeProfitMessage(trade: Trade): string {
  const verb = trade.side === "long" ? "SOLD" : "BOUGHT";
  return `⚡💰 *${verb}:  Profit: ${pyFixed(100 * trade.ret, 2)}% ${pyFixed(trade.pnl, 4)}₮*`;
}

const STATS_WINDOW_MS = 28 * DAY_MS;

/**
 * The original's second message: pandas' `describe()` of the percentage returns (100 × ret) of
 * the trades of `side` that closed within the 28 days up to `now` (`now − 28 days ≤ exit ≤ now`).
 * The original's text exactly: sum (count × mean) to two decimals, the rest to four, the
 * sample standard deviation (`nan` for a single trade, as pandas and Python print it), each
 * line ending in a line break (the last too).
 */
export function tradeStatsMessage(side: Side, trades: readonly Trade[], now: number): string {
  const pcts = trades
    .filter((t) => t.side === side && t.exitTime <= now && t.exitTime >= now - STATS_WINDOW_MS)
    .map((t) => 100 * t.ret);
  const d = describe(pcts);
  const header =
    side === "long" ? "↗ *LONG transactions stats (4 weeks)*" : "↘ *SHORT transactions stats (4 weeks)*";
  return (
    `${header}\n` +
    `🔸sum=${pyFixed(d.count * d.mean, 2)}% 🔸count=${d.count}\n` +
    `🔸mean=${pyFixed(d.mean, 4)}% 🔸std=${pyFixed(d.std, 4)}%\n` +
    `🔸min=${pyFixed(d.min, 4)}% 🔸median=${pyFixed(d.median, 4)}% 🔸max=${pyFixed(d.max, 4)}%\n`
  );
}

/**
 * pandas' Series.describe() of floats: NaN where undefined (std of one value, all of none). The
 * sums run in order (numpy sums pairwise from nine values on: a difference in the last bit).
 */
function describe(values: readonly number[]): {
  count: number;
  mean: number;
  std: number;
  min: number;
  median: number;
  max: number;
} {
  const count = values.length;
  if (count === 0) return { count, mean: NaN, std: NaN, min: NaN, median: NaN, max: NaN };
  let sum = 0;
  for (const v of values) sum += v;
  const mean = sum / count;
  let sq = 0;
  for (const v of values) sq += (v - mean) ** 2;
  const sorted = [...values].sort((a, b) => a - b);
  // numpy's linear interpolation between the middle values (its `_lerp`, exact for t = 0.5).
  const mid = (count - 1) / 2;
  const t = mid - Math.floor(mid);
  const lo = sorted[Math.floor(mid)] ?? NaN;
  const hi = sorted[Math.ceil(mid)] ?? NaN;
  return {
    count,
    mean,
    std: count > 1 ? Math.sqrt(sq / (count - 1)) : NaN,
    min: sorted[0] ?? NaN,
    median: t >= 0.5 ? hi - (hi - lo) * (1 - t) : lo + (hi - lo) * t,
    max: sorted[count - 1] ?? NaN,
  };
}

const REASONS: Record<ExitReason, string> = {
  signal: "signal",
  stop_loss: "stop loss",
  take_profit: "take profit",
  trailing_stop: "trailing stop",
  end: "closed out",
  manual: "operator exit",
};

/** An exit reason in words (`stop_loss` → `stop loss`). */
function exitReasonText(reason: ExitReason): string {
  return REASONS[reason] ?? reason;
}

/**
 * itb's line for a closed trade, legacy Markdown:
 * `✅ BTCUSDT 1m: long 0.0015 30,000.00 → 30,500.00, +0.66 (+1.47%) after fees, signal`
 * (✅ a gain, ❌ a loss or nothing).
 */
export function closedTradeLine(market: string, trade: Trade): string {
  const mark = trade.pnl > 0 ? "✅" : "❌";
  return (
    `${mark} ${escapeText(market, "Markdown")}: ${trade.side} ${formatQty(trade.qty)} ` +
    `${formatPrice(trade.entryPrice)} → ${formatPrice(trade.exitPrice)}, ` +
    `${formatQuote(trade.pnl, true)} (${formatPct(trade.ret)}) after fees, ${exitReasonText(trade.exitReason)}`
  );
}
