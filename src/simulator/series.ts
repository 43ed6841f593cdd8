import type { Frame } from "../core/frame.js";
import { bucketStart, resampleKlines } from "../data/resample.js";
import { DecimalSum, formatDecimal } from "./format.js";
import type { SymbolSpec } from "./specs.js";

/**
 * One symbol's candles held for serving: the stored base bars (1m from the archives) as plain
 * typed arrays, and coarser intervals aggregated from them on first use and cached. Virtual
 * time decides what a client may see: bars whose close has passed, plus the single forming
 * bar that holds "now".
 */

/** Kline columns as parallel arrays; `time` is the open time. */
export interface Bars {
  step: number;
  length: number;
  time: Float64Array;
  open: Float64Array;
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
  volume: Float64Array;
  closeTime: Float64Array;
  quote: Float64Array;
  trades: Float64Array;
  takerBase: Float64Array;
  takerQuote: Float64Array;
  /**
   * Aggregated sums whose exact decimal a double cannot hold (a day's quote volume has 19
   * digits), by row: the text to serve instead of formatting the double.
   */
  texts?: Record<SumColumn, Map<number, string>>;
}

export type SumColumn = "volume" | "quote" | "takerBase" | "takerQuote";

/** One kline, e.g. the forming one built for a request. `f`/`L`: first and last trade id (-1 without trades). */
export interface Bar {
  t: number;
  o: number;
  h: number;
  l: number;
  c: number;
  v: number;
  ct: number;
  q: number;
  n: number;
  tb: number;
  tq: number;
  f: number;
  L: number;
  /** Exact texts of the sums, when they differ from formatting the doubles. */
  texts?: Partial<Record<SumColumn, string>>;
}

/**
 * How the forming bar looks. `full`: the stored bar whose open time has passed, whole (its
 * close and volume are up to one base bar ahead of virtual now). `open`: that bar as it is the
 * moment it opens (open = high = low = close, no volume), so nothing from the future leaks.
 */
export type FormingMode = "full" | "open";

export function lowerBound(a: Float64Array, x: number, hi = a.length): number {
  let lo = 0;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((a[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index whose value is > x. */
export function upperBound(a: Float64Array, x: number, hi = a.length): number {
  let lo = 0;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((a[mid] as number) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** A query's answer: rows [lo, hi) of `bars`, then the forming bar when it is selected. */
export interface Selection {
  bars: Bars;
  lo: number;
  hi: number;
  forming: Bar | undefined;
}

export class Series {
  readonly spec: SymbolSpec;
  readonly base: Bars;
  /** tradePrefix[i] = trades in base bars [0, i): synthetic, consistent trade ids. */
  private readonly tradePrefix: Float64Array;
  private readonly frame: Frame;
  private readonly cache = new Map<number, Bars>();

  constructor(spec: SymbolSpec, frame: Frame, step: number) {
    this.spec = spec;
    this.frame = frame;
    this.base = barsOf(frame, step);
    const n = this.base.length;
    this.tradePrefix = new Float64Array(n + 1);
    for (let i = 0; i < n; i++) {
      this.tradePrefix[i + 1] = (this.tradePrefix[i] as number) + (this.base.trades[i] as number);
    }
  }

  get first(): number | undefined {
    return this.base.length > 0 ? (this.base.time[0] as number) : undefined;
  }

  /** Open time of the last stored base bar. */
  get last(): number | undefined {
    return this.base.length > 0 ? (this.base.time[this.base.length - 1] as number) : undefined;
  }

  /** Whether `step` can be served: the base step or a multiple of it. */
  supports(step: number): boolean {
    return step >= this.base.step && step % this.base.step === 0;
  }

  /** Bars at `step` over all stored data (aggregated once, then cached). */
  bars(step: number): Bars {
    if (step === this.base.step) return this.base;
    let b = this.cache.get(step);
    if (b === undefined) {
      b = this.aggregate(step);
      this.cache.set(step, b);
    }
    return b;
  }

  /** How many of `bars` have closed by `now` (open time + step <= now). */
  closedCount(bars: Bars, now: number): number {
    return lowerBound(bars.time, now - bars.step + 1);
  }

  /**
   * The bar at `step` that holds `now`, built from the base bars opened by then, or undefined
   * when none has (a halt, or before the data starts).
   */
  forming(step: number, now: number, mode: FormingMode): Bar | undefined {
    const b = this.base;
    const start = bucketStart(now, step);
    const lo = lowerBound(b.time, start);
    const hi = upperBound(b.time, now);
    if (hi <= lo) return undefined;
    const last = hi - 1;
    const lastForming = (b.time[last] as number) + b.step > now;
    const partial = mode === "open" && lastForming;
    const closedEnd = partial ? last : hi;
    const { qtyDecimals: qd, quoteDecimals: qq } = this.spec;
    const o = b.open[lo] as number;
    let h = Number.NEGATIVE_INFINITY;
    let l = Number.POSITIVE_INFINITY;
    let c = o;
    let n = 0;
    const v = new DecimalSum(qd);
    const q = new DecimalSum(qq);
    const tb = new DecimalSum(qd);
    const tq = new DecimalSum(qq);
    for (let i = lo; i < closedEnd; i++) {
      h = Math.max(h, b.high[i] as number);
      l = Math.min(l, b.low[i] as number);
      c = b.close[i] as number;
      v.add(b.volume[i] as number);
      q.add(b.quote[i] as number);
      n += b.trades[i] as number;
      tb.add(b.takerBase[i] as number);
      tq.add(b.takerQuote[i] as number);
    }
    if (partial) {
      const op = b.open[last] as number;
      h = Math.max(h, op);
      l = Math.min(l, op);
      c = op;
    }
    const single = step === b.step;
    const ct = single ? (b.closeTime[last] as number) : start + step - 1;
    const texts = { volume: v.text(), quote: q.text(), takerBase: tb.text(), takerQuote: tq.text() };
    const bar: Bar = {
      t: single ? (b.time[last] as number) : start,
      o,
      h,
      l,
      c,
      v: Number(texts.volume),
      ct,
      q: Number(texts.quote),
      n,
      tb: Number(texts.takerBase),
      tq: Number(texts.takerQuote),
      f: -1,
      L: -1,
      texts,
    };
    this.setTradeIds(bar, lo);
    return bar;
  }

  /** Row i of `bars` as a Bar (for streams; the REST handler reads the arrays directly). */
  barAt(bars: Bars, i: number): Bar {
    const bar: Bar = {
      t: bars.time[i] as number,
      o: bars.open[i] as number,
      h: bars.high[i] as number,
      l: bars.low[i] as number,
      c: bars.close[i] as number,
      v: bars.volume[i] as number,
      ct: bars.closeTime[i] as number,
      q: bars.quote[i] as number,
      n: bars.trades[i] as number,
      tb: bars.takerBase[i] as number,
      tq: bars.takerQuote[i] as number,
      f: -1,
      L: -1,
    };
    if (bars.texts !== undefined) {
      const t: Partial<Record<SumColumn, string>> = {};
      for (const col of SUM_COLUMNS) {
        const text = bars.texts[col].get(i);
        if (text !== undefined) t[col] = text;
      }
      bar.texts = t;
    }
    this.setTradeIds(bar, lowerBound(this.base.time, bar.t));
    return bar;
  }

  /**
   * Binance's selection rules over what is visible at `now`: with startTime, bars opening at or
   * after it, ascending, capped by endTime; with only endTime, the latest `limit` opening at or
   * before it; with neither, the latest `limit`.
   */
  select(
    step: number,
    now: number,
    q: { startTime?: number; endTime?: number; limit: number },
    mode: FormingMode,
  ): Selection {
    const bars = this.bars(step);
    const closed = this.closedCount(bars, now);
    const forming = this.forming(step, now, mode);
    const total = closed + (forming === undefined ? 0 : 1);
    const lowerV = (x: number): number => {
      const i = lowerBound(bars.time, x, closed);
      if (i < closed) return i;
      return forming !== undefined && forming.t >= x ? closed : total;
    };
    const upperV = (x: number): number => {
      const i = upperBound(bars.time, x, closed);
      if (i < closed) return i;
      return forming !== undefined && forming.t > x ? closed : total;
    };
    let lo: number;
    let hi: number;
    if (q.startTime !== undefined) {
      lo = lowerV(q.startTime);
      hi = Math.min(q.endTime === undefined ? total : upperV(q.endTime), lo + q.limit);
    } else {
      hi = q.endTime === undefined ? total : upperV(q.endTime);
      lo = Math.max(0, hi - q.limit);
    }
    const withForming = forming !== undefined && lo <= closed && hi > closed;
    lo = Math.min(lo, closed);
    return { bars, lo, hi: Math.max(lo, Math.min(hi, closed)), forming: withForming ? forming : undefined };
  }

  private setTradeIds(bar: Bar, baseIndex: number): void {
    if (bar.n > 0) {
      bar.f = (this.tradePrefix[baseIndex] as number) + 1;
      bar.L = bar.f + bar.n - 1;
    }
  }

  /**
   * Bars at `step` from the base bars: prices by resampleKlines' OHLC rules, sums as exact
   * decimals (the double nearest to each, plus the text where the double cannot hold it).
   */
  private aggregate(step: number): Bars {
    const r = resampleKlines(this.frame, step);
    const bars = barsOf(r, step);
    const b = this.base;
    const { qtyDecimals: qd, quoteDecimals: qq } = this.spec;
    const texts: Record<SumColumn, Map<number, string>> = {
      volume: new Map(),
      quote: new Map(),
      takerBase: new Map(),
      takerQuote: new Map(),
    };
    const sums = SUM_COLUMNS.map((col) => ({ col, d: col === "quote" || col === "takerQuote" ? qq : qd }));
    const acc = sums.map((s) => new DecimalSum(s.d));
    const flush = (j: number) => {
      sums.forEach((s, k) => {
        const a = acc[k] as DecimalSum;
        const text = a.text();
        const value = Number(text);
        bars[s.col][j] = value;
        if (formatDecimal(value, s.d) !== text) texts[s.col].set(j, text);
        a.reset();
      });
    };
    let j = -1;
    let current = Number.NaN;
    for (let i = 0; i < b.length; i++) {
      const start = bucketStart(b.time[i] as number, step);
      if (start !== current) {
        if (j >= 0) flush(j);
        j++;
        current = start;
      }
      sums.forEach((s, k) => {
        (acc[k] as DecimalSum).add(b[s.col][i] as number);
      });
    }
    if (j >= 0) flush(j);
    for (let i = 0; i < bars.length; i++) bars.closeTime[i] = (bars.time[i] as number) + step - 1;
    bars.texts = texts;
    return bars;
  }
}

const SUM_COLUMNS: readonly SumColumn[] = ["volume", "quote", "takerBase", "takerQuote"];

function barsOf(frame: Frame, step: number): Bars {
  const col = (name: string): Float64Array => frame.get(name);
  return {
    step,
    length: frame.length,
    time: frame.time,
    open: col("open"),
    high: col("high"),
    low: col("low"),
    close: col("close"),
    volume: col("volume"),
    closeTime: col("close_time"),
    quote: col("quote_av"),
    trades: col("trades"),
    takerBase: col("tb_base_av"),
    takerQuote: col("tb_quote_av"),
  };
}
