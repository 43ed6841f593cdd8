import { LedgerError } from "../../core/errors.js";
import { decodeJson } from "../../core/json.js";
import type { Fill, Order, OrderIntent, Trade } from "../../core/trading.js";
import type { TraderAction } from "../../trading/trader.js";
import { marketName } from "./market.js";
import type { LastProcessed, LedgerEquity, MarketKey, OutboxEntry, OutboxMessage } from "./types.js";

/**
 * A candle record's rows as SQL parameters, in the column order of both ledgers' tables (the
 * SQLite one and the Postgres one), and the rule that refuses a candle at or before the last.
 */

export type Value = number | string | null;

export const flag = (b: boolean): number => (b ? 1 : 0);
const opt = <T>(v: T | undefined): T | null => (v === undefined ? null : v);
export const iso = (ms: number): string => (Number.isFinite(ms) ? new Date(ms).toISOString() : String(ms));

function intentValues(o: OrderIntent): Value[] {
  return [
    o.side,
    o.type,
    opt(o.quantity),
    opt(o.quoteQuantity),
    opt(o.price),
    opt(o.trailingFraction),
    flag(o.reduceOnly),
    opt(o.ocoGroup),
    o.purpose,
    o.decidedAt,
  ];
}

export function actionValues(a: TraderAction): Value[] {
  if (a.kind === "cancel") return ["cancel", a.clientOrderId, a.symbol, ...new Array<Value>(10).fill(null)];
  return ["submit", a.order.clientOrderId, a.order.symbol, ...intentValues(a.order)];
}

export function orderValues(o: Order): Value[] {
  return [
    o.clientOrderId,
    o.symbol,
    ...intentValues(o),
    o.status,
    opt(o.exchangeOrderId),
    o.filledQuantity,
    o.averagePrice,
    o.fees,
    opt(o.reason),
    o.createdAt,
    o.updatedAt,
  ];
}

export function fillValues(f: Fill): Value[] {
  return [
    f.tradeId,
    f.clientOrderId,
    f.symbol,
    f.side,
    f.price,
    f.quantity,
    f.fee,
    f.liquidity,
    f.time,
    flag(f.final),
  ];
}

export function tradeValues(t: Trade): Value[] {
  return [
    t.side,
    t.entryIndex,
    t.entryTime,
    t.entryPrice,
    t.exitIndex,
    t.exitTime,
    t.exitPrice,
    t.qty,
    t.fees,
    t.pnl,
    t.ret,
    t.exitReason,
  ];
}

export const ORDER_COLUMNS =
  "client_order_id, symbol, side, type, quantity, quote_quantity, price, trailing_fraction, reduce_only, " +
  "oco_group, purpose, decided_at, status, exchange_order_id, filled_quantity, average_price, fees, reason, " +
  "created_at, updated_at";
export const ORDER_UPDATES = ORDER_COLUMNS.split(", ")
  .slice(1)
  .map((c) => `${c} = excluded.${c}`)
  .join(", ");

/** The refusal of a candle at or before the market's last recorded one (`last`), if it is. */
export function olderCandle(market: MarketKey, time: number, last: number | null): LedgerError | undefined {
  if (last === null || time > last) return undefined;
  return new LedgerError(
    `${marketName(market)}: the candle of ${iso(time)} is ${time === last ? "already recorded" : `before the last recorded one (${iso(last)})`}; a candle is recorded once, in order`,
  );
}

/** A stored number: NULL (a NaN) and anything else that is not a number read as NaN. */
export const num = (v: unknown): number => (typeof v === "number" ? v : Number.NaN);

/**
 * A market's last candle from the `last` query's row (both ledgers select the same columns in
 * the same order: time, state, equity, cash, position, quantity, entry price, OHLCV, scores,
 * signals, buy, sell, catch-up, processed at, latency).
 */
export function lastFromRow(row: readonly unknown[]): LastProcessed {
  const [time, state, equity, cash, position, quantity, entryPrice, open, high, low, close, volume] = row;
  const [scores, signals, buy, sell, catchUp, processedAt, latencyMs] = row.slice(12);
  return {
    time: num(time),
    state: decodeJson(state as string),
    equity: {
      equity: num(equity),
      cash: num(cash),
      position: num(position) as LedgerEquity["position"],
      quantity: num(quantity),
      entryPrice: num(entryPrice),
    },
    candle: {
      time: num(time),
      open: num(open),
      high: num(high),
      low: num(low),
      close: num(close),
      volume: num(volume),
    },
    scores: decodeJson(scores as string) as Record<string, number>,
    signals: decodeJson(signals as string) as Record<string, number>,
    buy: buy === 1,
    sell: sell === 1,
    catchUp: catchUp === 1,
    processedAt: num(processedAt),
    latencyMs: num(latencyMs),
  };
}

/** A notification from the `pendingOutbox` query's row (the same columns in both ledgers). */
export function outboxFromRow(r: readonly unknown[]): OutboxEntry {
  return {
    id: r[0] as number,
    market: { symbol: r[1] as string, freq: r[2] as string },
    candle: r[3] as number,
    channel: r[4] as OutboxMessage["channel"],
    target: r[5] as string,
    kind: r[6] as OutboxMessage["kind"],
    keep: r[7] === 1,
    payload: decodeJson(r[8] as string),
    createdAt: r[9] as number,
    attempts: r[10] as number,
  };
}
