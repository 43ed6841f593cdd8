import type { Candle, Fill, Order, Trade } from "../../core/trading.js";
import type { TraderAction } from "../../trading/trader.js";

/**
 * The ledger of the live service: every processed closed candle per market, with what it
 * produced, written in one transaction per candle (see docs/ledger.md). Asynchronous so that a
 * Postgres implementation can take the SQLite one's place.
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
  equity: { equity: number; cash: number; position: -1 | 0 | 1; quantity: number; entryPrice: number };
  /** Opaque JSON-serialisable snapshots to resume from (the Trader's and the paper venue's state). */
  state: unknown;
  /** Wall-clock time the candle was processed (epoch ms) and the processing latency in ms. */
  processedAt: number;
  latencyMs: number;
}

export interface LastProcessed {
  time: number;
  state: unknown;
  equity: CandleRecord["equity"];
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
  /** Rows for export and status: signals (time, OHLCV, scores, signals, buy, sell, catch_up, latency), orders, fills, trades, equity; optionally from/to (open times, to exclusive) and one market. */
  read(
    what: "signals" | "orders" | "fills" | "trades" | "equity",
    q?: { market?: MarketKey; from?: number; to?: number },
  ): Promise<LedgerTable>;
  close(): Promise<void>;
}

/** A table: named columns of numbers or strings, one value per row. */
export interface LedgerTable {
  columns: string[];
  rows: (number | string | null)[][];
}
