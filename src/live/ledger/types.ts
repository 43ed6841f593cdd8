import type { Candle, Fill, Order, Trade } from "../../core/trading.js";
import type { TraderAction } from "../../trading/trader.js";

/**
 * The live service's ledger: every processed closed candle per market with what it produced
 * (scores, signals, decisions, orders, fills, trades, equity) and the state to resume from,
 * written in one transaction per candle. Asynchronous on purpose: the SQLite implementation
 * (sqlite.ts) answers at once, the PostgreSQL one (postgres.ts) over the network. docs/ledger.md.
 */

/** A market in the ledger: one config's symbol at one frequency. */
export interface MarketKey {
  symbol: string;
  freq: string;
}

/** Everything one processed closed candle produced, written in one transaction. */
export interface CandleRecord {
  market: MarketKey;
  /** The candle's open time, epoch ms (the grid time). NaN prices for a halt's missing candle. */
  candle: Candle;
  /** True for a candle processed while catching up (after a restart or an outage), not live. */
  catchUp: boolean;
  /** Model scores and signal columns of this candle, by column name (NaN allowed). */
  scores: Record<string, number>;
  signals: Record<string, number>;
  buy: boolean;
  sell: boolean;
  /** What the Trader decided on this candle and on the events during it (submits and cancels). */
  actions: readonly TraderAction[];
  /** Orders whose state changed while this candle was processed (their state afterwards). */
  orders: readonly Order[];
  fills: readonly Fill[];
  trades: readonly Trade[];
  /** After the candle. */
  equity: LedgerEquity;
  /**
   * Snapshots to resume from (the Trader's and the paper venue's state): plain data whose
   * numbers may be NaN, ±Infinity or -0; the ledger gives them back exactly (core/json.ts).
   */
  state: unknown;
  /** Wall-clock time the candle was processed (epoch ms) and the processing latency in ms. */
  processedAt: number;
  latencyMs: number;
  /** Notifications to deliver (Telegram messages, webhook events), recorded with the candle. */
  outbox?: readonly OutboxMessage[];
}

/** A notification to deliver: where, what, and whether it may be dropped in an overflow. */
export interface OutboxMessage {
  channel: "telegram" | "webhook";
  /** A chat id, or the webhook's index in output_sets. */
  target: string;
  kind: "score" | "diagram" | "order" | "trade" | "stats" | "daily";
  /** Kept when the queue overflows (trade and order messages); score and chart messages are not. */
  keep: boolean;
  /** Plain data (JSON): a message text and its parse mode, a chart request, a webhook event. */
  payload: unknown;
}

/** A notification in the outbox, waiting (or settled). */
export interface OutboxEntry extends OutboxMessage {
  id: number;
  market: MarketKey;
  /** The candle that produced it (open time, epoch ms) and when it was recorded. */
  candle: number;
  createdAt: number;
  attempts: number;
}

export interface OutboxOutcome {
  status: "sent" | "dropped" | "failed";
  at: number;
  /** Telegram's message id (of the first part of a split message). */
  messageId?: number;
  error?: string;
}

export interface LedgerEquity {
  equity: number;
  cash: number;
  position: -1 | 0 | 1;
  quantity: number;
  entryPrice: number;
}

export interface LastProcessed {
  time: number;
  state: unknown;
  equity: CandleRecord["equity"];
  /**
   * The rest of the candle's record, for status pages (what it scored, signalled, when). The
   * SQLite and Postgres ledgers fill them all; a ledger that leaves them out shows less in
   * `itb status`.
   */
  candle?: CandleRecord["candle"];
  scores?: Record<string, number>;
  signals?: Record<string, number>;
  buy?: boolean;
  sell?: boolean;
  catchUp?: boolean;
  processedAt?: number;
  latencyMs?: number;
}

/** What `read` returns: `decisions` are the Trader's actions (submits and cancels) per candle. */
export type LedgerTableName = "signals" | "decisions" | "orders" | "fills" | "trades" | "equity";

export const LEDGER_TABLES: readonly LedgerTableName[] = [
  "signals",
  "decisions",
  "orders",
  "fills",
  "trades",
  "equity",
];

export interface LedgerQuery {
  /** One market, or with only a symbol (a freq) every market of that symbol (freq). */
  market?: Partial<MarketKey>;
  /** Candle open times, epoch ms: from inclusive, to exclusive. */
  from?: number;
  to?: number;
}

export interface Ledger {
  /**
   * Records one processed candle atomically (all of it or nothing). A candle at or before the
   * market's last recorded one is refused with a LedgerError (never processed twice).
   */
  record(rec: CandleRecord): Promise<void>;
  /** The market's last recorded candle and the state saved with it; undefined if none. */
  last(market: MarketKey): Promise<LastProcessed | undefined>;
  /** Markets with at least one candle. */
  markets(): Promise<MarketKey[]>;
  /**
   * Rows for export and status: signals (time, OHLCV, scores, signals, buy, sell, catch_up,
   * latency), decisions, orders, fills, trades, equity; optionally from/to (open times, to
   * exclusive) and one market. Rows are ordered by market, then candle time.
   */
  read(what: LedgerTableName, q?: LedgerQuery): Promise<LedgerTable>;
  /** Undelivered notifications of `channel`, oldest first (at most `limit`). */
  pendingOutbox(channel: OutboxMessage["channel"], limit: number): Promise<OutboxEntry[]>;
  /** Marks a notification delivered, dropped or failed for good; a failed attempt counts with `retry`. */
  settleOutbox(id: number, outcome: OutboxOutcome | { status: "retry"; error: string }): Promise<void>;
  /**
   * Keeps at most `limit` undelivered notifications of `channel`: drops the oldest droppable
   * ones (score and chart messages) first; returns how many were dropped.
   */
  trimOutbox(channel: OutboxMessage["channel"], limit: number, at: number): Promise<number>;
  close(): Promise<void>;
}

/**
 * A column's kind: `number` (a double, NaN when missing; flags are 0/1), `time` (epoch ms, NaN
 * when missing; exported as a UTC timestamp) or `string` (null when missing).
 */
export type LedgerColumnType = "number" | "time" | "string";

/** A table: named columns of numbers or strings, one value per row. */
export interface LedgerTable {
  columns: string[];
  /** One per column; when left out, a column with a string in it is `string`, any other `number`. */
  types?: LedgerColumnType[];
  rows: (number | string | null)[][];
}

/** A table that says its column types (what the SQLite and Postgres ledgers return). */
export type TypedLedgerTable = LedgerTable & { types: LedgerColumnType[] };
