import { Frame } from "../../core/frame.js";
import { KLINE_COLUMNS } from "../../core/klines.js";
import { ExchangeRequestError } from "./retry.js";

/**
 * Exchange answers → kline frames (time = open time, columns `KLINE_COLUMNS`). Binance's raw
 * `klines` rows carry all 12 fields; ccxt's unified OHLCV rows only six, so the rest is NaN
 * except `close_time`, which follows from the interval as Binance defines it (open + step - 1).
 */

const FIELDS = 1 + KLINE_COLUMNS.length;

function unreadable(what: string, why: string): ExchangeRequestError {
  // A response cut short parses as text, not as an array: worth another try, like any transport fault.
  return new ExchangeRequestError(`${what}: unreadable response (${why})`);
}

function numberOf(v: unknown): number {
  if (typeof v === "number") return v;
  if (typeof v === "string" && v.trim() !== "") return Number(v);
  return Number.NaN;
}

/** Binance's `GET /api/v3/klines` (or `/fapi/v1/klines`) answer as a frame, ascending and distinct. */
export function binanceKlinesFrame(raw: unknown, what: string): Frame {
  if (!Array.isArray(raw)) {
    const text = typeof raw === "string" ? raw.slice(0, 80) : typeof raw;
    return throwing(unreadable(what, `expected a JSON array, got ${JSON.stringify(text)}`));
  }
  const n = raw.length;
  const cols = Array.from({ length: FIELDS }, () => new Float64Array(n));
  for (let i = 0; i < n; i++) {
    const row: unknown = raw[i];
    if (!Array.isArray(row) || row.length < FIELDS) {
      return throwing(unreadable(what, `row ${i} is not a ${FIELDS}-field kline`));
    }
    for (let j = 0; j < FIELDS; j++) {
      const v = numberOf(row[j]);
      // `ignore` is documented as unused; anything else must be a number.
      if (Number.isNaN(v) && j < FIELDS - 1) {
        return throwing(unreadable(what, `row ${i} field ${j} is ${JSON.stringify(row[j])}`));
      }
      (cols[j] as Float64Array)[i] = v;
    }
  }
  return ascendingDistinct(toFrame(cols));
}

/** ccxt's unified `[time, open, high, low, close, volume]` rows as a kline frame. */
export function ohlcvFrame(rows: unknown, stepMs: number, what: string): Frame {
  if (!Array.isArray(rows)) return throwing(unreadable(what, "expected an array of OHLCV rows"));
  const n = rows.length;
  const cols = Array.from({ length: FIELDS }, () => new Float64Array(n).fill(Number.NaN));
  const closeTime = 1 + KLINE_COLUMNS.indexOf("close_time");
  for (let i = 0; i < n; i++) {
    const row: unknown = rows[i];
    if (!Array.isArray(row) || row.length < 6)
      return throwing(unreadable(what, `row ${i} is not an OHLCV row`));
    for (let j = 0; j < 6; j++) (cols[j] as Float64Array)[i] = numberOf(row[j]);
    (cols[closeTime] as Float64Array)[i] = numberOf(row[0]) + stepMs - 1;
  }
  return ascendingDistinct(toFrame(cols));
}

function throwing(err: Error): never {
  throw err;
}

function toFrame(cols: Float64Array[]): Frame {
  return new Frame(
    cols[0] as Float64Array,
    KLINE_COLUMNS.map((name, j) => [name, cols[j + 1] as Float64Array] as const),
  );
}

/** Sorted by time with one row per time (the later row of duplicates wins); unchanged if it already was. */
export function ascendingDistinct(frame: Frame): Frame {
  const t = frame.time;
  let ok = true;
  for (let i = 1; i < t.length && ok; i++) ok = (t[i] as number) > (t[i - 1] as number);
  if (ok) return frame;
  const order = Array.from(t.keys()).sort((a, b) => (t[a] as number) - (t[b] as number) || a - b);
  const keep: number[] = [];
  for (const i of order) {
    if (keep.length > 0 && t[keep[keep.length - 1] as number] === t[i]) keep[keep.length - 1] = i;
    else keep.push(i);
  }
  const pick = (c: Float64Array) => Float64Array.from(keep, (i) => c[i] as number);
  const out = new Frame(pick(t));
  for (const [name, c] of frame.columns()) out.set(name, pick(c));
  return out;
}
