import type { Market } from "../data/archive/source.js";
import { ByteWriter } from "./bytes.js";
import {
  illegalChars,
  invalidInterval,
  invalidParam,
  mandatoryParam,
  startAfterEnd,
  unreadParams,
} from "./errors.js";
import { formatDecimal } from "./format.js";
import type { Bar, Selection, Series } from "./series.js";

/** Binance interval names the simulator aggregates from 1m bars, with their length. */
export const INTERVALS: ReadonlyMap<string, number> = new Map([
  ["1m", 60_000],
  ["3m", 180_000],
  ["5m", 300_000],
  ["15m", 900_000],
  ["30m", 1_800_000],
  ["1h", 3_600_000],
  ["2h", 7_200_000],
  ["4h", 14_400_000],
  ["6h", 21_600_000],
  ["8h", 28_800_000],
  ["12h", 43_200_000],
  ["1d", 86_400_000],
  ["1w", 604_800_000],
]);

export const KLINE_LIMITS: Record<Market, { default: number; max: number }> = {
  spot: { default: 500, max: 1000 },
  um: { default: 500, max: 1500 },
};

const SYMBOL_LEGAL = "^[A-Z0-9-_.]{1,20}$";
const INT_LEGAL = "^[0-9]{1,20}$";
const SPOT_KLINE_PARAMS = new Set(["symbol", "interval", "startTime", "endTime", "limit", "timeZone"]);

export interface KlineQuery {
  symbol: string;
  interval: string;
  step: number;
  startTime?: number;
  endTime?: number;
  limit: number;
}

/** A symbol parameter checked the way Binance checks it (upper case, legal characters). */
export function parseSymbol(value: string | null, name = "symbol"): string {
  if (value === null || value === "") throw mandatoryParam(name);
  if (!/^[A-Z0-9\-_.]{1,20}$/.test(value)) throw illegalChars(name, SYMBOL_LEGAL);
  return value;
}

function parseInteger(params: URLSearchParams, name: string): number | undefined {
  const v = params.get(name);
  if (v === null) return undefined;
  if (!/^-?\d{1,20}$/.test(v)) throw illegalChars(name, INT_LEGAL);
  return Number(v);
}

/**
 * Parameters of GET /api/v3/klines or /fapi/v1/klines, validated in Binance's order and with
 * its error codes. A limit above the maximum is clamped to it, a limit below 1 is refused.
 */
export function parseKlineQuery(params: URLSearchParams, market: Market): KlineQuery {
  if (market === "spot") {
    // Spot refuses parameters it does not read; futures ignores them.
    const sent = [...new Set(params.keys())];
    const read = sent.filter((k) => SPOT_KLINE_PARAMS.has(k)).length;
    if (read < sent.length) throw unreadParams(read, sent.length);
  }
  const symbol = parseSymbol(params.get("symbol"));
  const interval = params.get("interval");
  if (interval === null || interval === "") throw mandatoryParam("interval");
  const step = INTERVALS.get(interval);
  if (step === undefined) throw invalidInterval();
  const startTime = parseInteger(params, "startTime");
  const endTime = parseInteger(params, "endTime");
  const limitParam = parseInteger(params, "limit");
  const tz = params.get("timeZone");
  if (tz !== null && !/^(\+|-)?0{1,2}(:00)?$/.test(tz)) throw invalidParam("timeZone");
  const lim = KLINE_LIMITS[market];
  if (limitParam !== undefined && limitParam < 1) throw invalidParam("limit");
  const limit = Math.min(limitParam ?? lim.default, lim.max);
  if (startTime !== undefined && endTime !== undefined && startTime > endTime && market === "um") {
    throw startAfterEnd();
  }
  const q: KlineQuery = { symbol, interval, step, limit };
  if (startTime !== undefined) q.startTime = startTime;
  if (endTime !== undefined) q.endTime = endTime;
  return q;
}

/** Request weight of a klines call: spot 2; futures by the requested limit, as Binance documents. */
export function klinesWeight(market: Market, params: URLSearchParams): number {
  if (market === "spot") return 2;
  const raw = Number(params.get("limit") ?? KLINE_LIMITS.um.default);
  const limit = Number.isFinite(raw) ? raw : KLINE_LIMITS.um.default;
  return limit < 100 ? 1 : limit < 500 ? 2 : limit <= 1000 ? 5 : 10;
}

export function checkInterval(series: Series, step: number): void {
  if (!series.supports(step)) throw invalidInterval();
}

const QUOTE = 34;
const COMMA = 44;

/** Writes `x` as a JSON string with `d` fraction digits. */
function writeDecimal(w: ByteWriter, x: number, d: number): void {
  w.byte(QUOTE);
  if (!w.fixed(x, d)) w.ascii(formatDecimal(x, d));
  w.byte(QUOTE);
}

function writeText(w: ByteWriter, text: string | undefined, x: number, d: number): void {
  if (text === undefined) writeDecimal(w, x, d);
  else {
    w.byte(QUOTE);
    w.ascii(text);
    w.byte(QUOTE);
  }
}

/** Bytes one row can take: 12 fields of at most ~30 bytes plus punctuation. */
const ROW_MAX = 400;

/**
 * The selected rows as Binance's JSON array of 12-field arrays, written straight into bytes
 * (the hot path: no per-row objects or strings).
 */
export function klinesBody(series: Series, sel: Selection): Buffer {
  const { priceDecimals: pd, qtyDecimals: qd, quoteDecimals: qq } = series.spec;
  const b = sel.bars;
  const tx = b.texts;
  const w = new ByteWriter(256 + (sel.hi - sel.lo + 1) * 180);
  w.reserve(1);
  w.byte(91);
  for (let i = sel.lo; i < sel.hi; i++) {
    w.reserve(ROW_MAX);
    if (i > sel.lo) w.byte(COMMA);
    w.byte(91);
    w.uint(b.time[i] as number);
    w.byte(COMMA);
    writeDecimal(w, b.open[i] as number, pd);
    w.byte(COMMA);
    writeDecimal(w, b.high[i] as number, pd);
    w.byte(COMMA);
    writeDecimal(w, b.low[i] as number, pd);
    w.byte(COMMA);
    writeDecimal(w, b.close[i] as number, pd);
    w.byte(COMMA);
    writeText(w, tx?.volume.get(i), b.volume[i] as number, qd);
    w.byte(COMMA);
    w.uint(b.closeTime[i] as number);
    w.byte(COMMA);
    writeText(w, tx?.quote.get(i), b.quote[i] as number, qq);
    w.byte(COMMA);
    w.uint(b.trades[i] as number);
    w.byte(COMMA);
    writeText(w, tx?.takerBase.get(i), b.takerBase[i] as number, qd);
    w.byte(COMMA);
    writeText(w, tx?.takerQuote.get(i), b.takerQuote[i] as number, qq);
    w.ascii(',"0"]');
  }
  w.reserve(2);
  if (sel.forming !== undefined) {
    if (sel.hi > sel.lo) w.byte(COMMA);
    w.ascii(barJson(series, sel.forming));
  }
  w.reserve(1);
  w.byte(93);
  return w.bytes();
}

/** A bar's four sums as strings: exact texts where the bar carries them. */
function sumTexts(series: Series, k: Bar): [string, string, string, string] {
  const { qtyDecimals: qd, quoteDecimals: qq } = series.spec;
  return [
    k.texts?.volume ?? formatDecimal(k.v, qd),
    k.texts?.quote ?? formatDecimal(k.q, qq),
    k.texts?.takerBase ?? formatDecimal(k.tb, qd),
    k.texts?.takerQuote ?? formatDecimal(k.tq, qq),
  ];
}

function barJson(series: Series, k: Bar): string {
  const pd = series.spec.priceDecimals;
  const [v, q, tb, tq] = sumTexts(series, k);
  return `[${k.t},"${formatDecimal(k.o, pd)}","${formatDecimal(k.h, pd)}","${formatDecimal(k.l, pd)}","${formatDecimal(k.c, pd)}","${v}",${k.ct},"${q}",${k.n},"${tb}","${tq}","0"]`;
}

/** The `k` object of a kline stream event. */
export function streamKline(
  series: Series,
  interval: string,
  k: Bar,
  closed: boolean,
): Record<string, unknown> {
  const pd = series.spec.priceDecimals;
  const [v, q, tb, tq] = sumTexts(series, k);
  return {
    t: k.t,
    T: k.ct,
    s: series.spec.symbol,
    i: interval,
    f: k.f,
    L: k.L,
    o: formatDecimal(k.o, pd),
    c: formatDecimal(k.c, pd),
    h: formatDecimal(k.h, pd),
    l: formatDecimal(k.l, pd),
    v,
    n: k.n,
    x: closed,
    q,
    V: tb,
    Q: tq,
    B: "0",
  };
}
