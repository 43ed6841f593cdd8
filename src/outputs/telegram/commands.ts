/**
 * Answers to the bot's commands, from data the service collects. Legacy Markdown: a bold title,
 * then one line per market (or trade, or day); names from the config are escaped. Quote amounts
 * of several markets are added up as they are (one quote currency assumed).
 */
import { DAY_MS } from "../../core/time.js";
import type { Side, Trade } from "../../core/trading.js";
import { escapeText } from "./escape.js";
import {
  formatDuration,
  formatPct,
  formatPrice,
  formatQty,
  formatQuote,
  formatTime,
  pyFixed,
} from "./format.js";
import { type PositionLike, positionText, tally, tallyText } from "./summary.js";
import { closedTradeLine } from "./trades.js";

const md = (text: string) => escapeText(text, "Markdown");

/** The commands, for Telegram's setMyCommands and /help. */
export const COMMANDS: readonly { command: string; description: string }[] = [
  { command: "status", description: "Markets: last candle, lag, position, equity, paused or running" },
  { command: "signals", description: "Latest scores and buy/sell signals per market" },
  { command: "trades", description: "The last n closed trades (default 10)" },
  { command: "profit", description: "Profit of closed trades per market over the last days (default all)" },
  { command: "daily", description: "Trades and profit per day, last 7 days" },
  { command: "balance", description: "Cash, position value and equity per market" },
  { command: "positions", description: "Open positions with unrealised profit" },
  { command: "help", description: "This list" },
];

const ARGS: Readonly<Record<string, string>> = { trades: " [n]", profit: " [days]" };

/** /help: one line per command, its arguments in brackets. */
export function helpAnswer(): string {
  const lines = COMMANDS.map((c) => md(`/${c.command}${ARGS[c.command] ?? ""} - ${c.description}`));
  return ["*Commands*", ...lines].join("\n");
}

export interface StatusRow {
  market: string;
  /** Open time of the last processed candle, epoch ms; undefined before the first. */
  lastCandleTime?: number;
  /** Seconds between that candle's close and its processing (or now). */
  lagSeconds?: number;
  position?: PositionLike | null;
  /** Quote; undefined when the market does not trade. */
  equity?: number;
  paused: boolean;
}

/** /status: `BTCUSDT 1m: running, last candle 2024-05-01 12:34 UTC (lag 2.5 s), flat, equity 1,000.00`. */
export function statusAnswer(rows: readonly StatusRow[]): string {
  if (rows.length === 0) return "No markets.";
  const lines = rows.map((r) => {
    const parts = [r.paused ? "paused" : "running"];
    if (r.lastCandleTime === undefined) parts.push("no candle yet");
    else {
      const lag = r.lagSeconds === undefined ? "" : ` (lag ${formatDuration(r.lagSeconds)})`;
      parts.push(`last candle ${formatTime(r.lastCandleTime)}${lag}`);
    }
    parts.push(positionText(r.position));
    if (r.equity !== undefined) parts.push(`equity ${formatQuote(r.equity)}`);
    return `${md(r.market)}: ${parts.join(", ")}`;
  });
  return ["*Status*", ...lines].join("\n");
}

export interface SignalsRow {
  market: string;
  /** Open time of the candle the scores are of; undefined before the first. */
  time?: number;
  /** Score columns and their values (NaN while warming up). */
  scores: Readonly<Record<string, number>>;
  buy: boolean;
  sell: boolean;
}

/** /signals: `BTCUSDT 1m, 2024-05-01 12:34 UTC: trade_score +0.0123 → BUY`. */
export function signalsAnswer(rows: readonly SignalsRow[]): string {
  if (rows.length === 0) return "No markets.";
  const lines = rows.map((r) => {
    if (r.time === undefined) return `${md(r.market)}: no candle yet`;
    const names = Object.keys(r.scores);
    const scores =
      names.length === 0
        ? "no scores"
        : names
            .map((name) => {
              const v = r.scores[name] ?? Number.NaN;
              return `${md(name)} ${Number.isFinite(v) ? pyFixed(v, 4, true) : "n/a"}`;
            })
            .join(", ");
    const signal = r.buy && r.sell ? "BUY and SELL" : r.buy ? "BUY" : r.sell ? "SELL" : "no signal";
    return `${md(r.market)}, ${formatTime(r.time)}: ${scores} → ${signal}`;
  });
  return ["*Signals*", ...lines].join("\n");
}

/** A closed trade and the market it was made in. */
export interface MarketTrade {
  market: string;
  trade: Trade;
}

/** /trades [n]: the last `n` (≥ 1) closed trades, the latest first, each with its close time. */
export function tradesAnswer(trades: readonly MarketTrade[], n = 10): string {
  if (trades.length === 0) return "No closed trades yet.";
  const last = [...trades].sort((a, b) => b.trade.exitTime - a.trade.exitTime).slice(0, Math.max(1, n));
  const title = last.length === 1 ? "*Last closed trade*" : `*Last ${last.length} closed trades*`;
  const lines = last.map((t) => `${closedTradeLine(t.market, t.trade)}, ${formatTime(t.trade.exitTime)}`);
  return [title, ...lines].join("\n");
}

/** Markets in the order given, then those only the trades name, in their order. */
function marketOrder(markets: readonly string[], trades: readonly MarketTrade[]): string[] {
  const seen = new Set(markets);
  const out = [...seen];
  for (const t of trades) {
    if (!seen.has(t.market)) {
      seen.add(t.market);
      out.push(t.market);
    }
  }
  return out;
}

/**
 * /profit [days]: closed-trade profit per market and in total, over the trades that closed in
 * the last `days` (≥ 1) days up to `now` (`now − days × 24 h < exit ≤ now`), or all of them.
 * `markets` lists the markets to show even without trades.
 */
export function profitAnswer(input: {
  trades: readonly MarketTrade[];
  now: number;
  days?: number;
  markets?: readonly string[];
}): string {
  const { now, days } = input;
  const trades = input.trades.filter(
    (t) => t.trade.exitTime <= now && (days === undefined || t.trade.exitTime > now - days * DAY_MS),
  );
  const title =
    days === undefined ? "*Profit, all closed trades*" : `*Profit, last ${days} day${days === 1 ? "" : "s"}*`;
  const markets = marketOrder(input.markets ?? [], trades);
  if (markets.length === 0) return `${title}\nNo closed trades yet.`;
  const lines = markets.map(
    (m) => `${md(m)}: ${tallyText(tally(trades.filter((t) => t.market === m).map((t) => t.trade)))}`,
  );
  if (markets.length > 1) lines.push(`Total: ${tallyText(tally(trades.map((t) => t.trade)))}`);
  return [title, ...lines].join("\n");
}

/**
 * /daily: trades and profit of all markets per UTC day, the `days` (default 7) days up to the
 * one holding `now`, the latest first; a day without trades says so.
 */
export function dailyAnswer(input: { trades: readonly MarketTrade[]; now: number; days?: number }): string {
  const days = input.days ?? 7;
  const today = Math.floor(input.now / DAY_MS) * DAY_MS;
  const lines: string[] = [];
  for (let i = 0; i < days; i++) {
    const start = today - i * DAY_MS;
    const end = Math.min(start + DAY_MS, input.now + 1);
    const day = input.trades
      .filter((t) => t.trade.exitTime >= start && t.trade.exitTime < end)
      .map((t) => t.trade);
    lines.push(`${new Date(start).toISOString().slice(0, 10)}: ${tallyText(tally(day))}`);
  }
  return ["*Daily profit (UTC)*", ...lines].join("\n");
}

export interface BalanceRow {
  market: string;
  /** Quote currency held. */
  cash: number;
  /** The position marked at the last close, quote (negative for a short's debt). */
  positionValue: number;
  equity: number;
}

/** /balance: cash, position value and equity per market, and their total for several. */
export function balanceAnswer(rows: readonly BalanceRow[]): string {
  if (rows.length === 0) return "No markets.";
  const line = (name: string, cash: number, position: number, equity: number) =>
    `${name}: cash ${formatQuote(cash)}, position ${formatQuote(position)}, equity ${formatQuote(equity)}`;
  const lines = rows.map((r) => line(md(r.market), r.cash, r.positionValue, r.equity));
  if (rows.length > 1) {
    const sum = (f: (r: BalanceRow) => number) => rows.reduce((s, r) => s + f(r), 0);
    lines.push(
      line(
        "Total",
        sum((r) => r.cash),
        sum((r) => r.positionValue),
        sum((r) => r.equity),
      ),
    );
  }
  return ["*Balance*", ...lines].join("\n");
}

export interface PositionRow {
  market: string;
  side: Side | null;
  quantity: number;
  entryPrice: number;
  /** The last close. */
  price: number;
}

/**
 * /positions: the open positions with their unrealised profit at `price`, before exit fees
 * (`(price − entry) × qty` for a long, `(entry − price) × qty` for a short; % of entry value).
 */
export function positionsAnswer(rows: readonly PositionRow[]): string {
  const open = rows.filter((r) => r.side !== null && r.quantity > 0);
  if (open.length === 0) return "No open positions.";
  const lines = open.map((r) => {
    const pnl = (r.side === "long" ? r.price - r.entryPrice : r.entryPrice - r.price) * r.quantity;
    return (
      `${md(r.market)}: ${r.side} ${formatQty(r.quantity)} @ ${formatPrice(r.entryPrice)}, ` +
      `now ${formatPrice(r.price)}, unrealised ${formatQuote(pnl, true)} (${formatPct(pnl / (r.entryPrice * r.quantity))})`
    );
  });
  return ["*Open positions*", ...lines].join("\n");
}
