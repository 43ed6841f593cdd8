import { parseFreq } from "../../core/freq.js";
import type { LastProcessed, MarketKey } from "./types.js";

/**
 * What `itb status` says about one market: its last processed candle (open and close time, how
 * far behind the clock its close is), the scores and signals of that candle, the position and
 * the equity after it. Numbers that are NaN (a halt's prices, a flat position's entry price)
 * are null, so the object is plain JSON.
 */
export interface MarketStatus {
  symbol: string;
  freq: string;
  /** The ledger file that was read. */
  ledger: string;
  /** False when the ledger has no candle of the market (or there is no ledger yet). */
  recorded: boolean;
  last_candle: string | null;
  close_time: string | null;
  /** now − the candle's close time, seconds. */
  lag_seconds: number | null;
  catch_up: boolean | null;
  processed_at: string | null;
  latency_ms: number | null;
  close: number | null;
  scores: Record<string, number | null>;
  signals: Record<string, number | null>;
  buy: boolean | null;
  sell: boolean | null;
  position: "long" | "short" | "flat" | null;
  quantity: number | null;
  entry_price: number | null;
  equity: number | null;
  cash: number | null;
}

const finite = (x: number): number | null => (Number.isFinite(x) ? x : null);
const isoOf = (ms: number): string | null => (Number.isFinite(ms) ? new Date(ms).toISOString() : null);

function plain(values: Record<string, number>): Record<string, number | null> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, finite(v)]));
}

export function marketStatus(
  market: MarketKey,
  ledger: string,
  last: LastProcessed | undefined,
  now: number,
): MarketStatus {
  const base = { symbol: market.symbol, freq: market.freq, ledger };
  if (last === undefined) {
    return {
      ...base,
      recorded: false,
      last_candle: null,
      close_time: null,
      lag_seconds: null,
      catch_up: null,
      processed_at: null,
      latency_ms: null,
      close: null,
      scores: {},
      signals: {},
      buy: null,
      sell: null,
      position: null,
      quantity: null,
      entry_price: null,
      equity: null,
      cash: null,
    };
  }
  const closeTime = last.time + parseFreq(market.freq).ms;
  const e = last.equity;
  const num = (x: number | undefined) => (x === undefined ? null : finite(x));
  return {
    ...base,
    recorded: true,
    last_candle: isoOf(last.time),
    close_time: isoOf(closeTime),
    lag_seconds: Math.round((now - closeTime) / 100) / 10,
    catch_up: last.catchUp ?? null,
    processed_at: last.processedAt === undefined ? null : isoOf(last.processedAt),
    latency_ms: num(last.latencyMs),
    close: num(last.candle?.close),
    scores: plain(last.scores ?? {}),
    signals: plain(last.signals ?? {}),
    buy: last.buy ?? null,
    sell: last.sell ?? null,
    position: e.position === 1 ? "long" : e.position === -1 ? "short" : "flat",
    quantity: finite(e.quantity),
    entry_price: finite(e.entryPrice),
    equity: finite(e.equity),
    cash: finite(e.cash),
  };
}
