import type { Clock } from "../core/clock.js";
import { ItbError } from "../core/errors.js";
import type { Frame } from "../core/frame.js";
import type { Candle } from "../core/trading.js";
import type { Waker } from "../core/waker.js";
import type { Market, MarketData } from "./marketData.js";

/**
 * The closed-candle subscription over any MarketData: every candle of a market from a start
 * time on, each exactly once and in time order, on the regular grid, as it closes. A candle
 * missed while the process was away or the exchange was unreachable is fetched before the
 * next one is yielded (the same REST call back-fills and follows). A grid time the exchange has
 * no candle for while it has later ones (a halt) is yielded as a candle of NaNs, as `merge`
 * leaves such rows in batch. Transient failures (`action: "retry"`) are retried with a capped
 * exponential backoff; others end the iteration with their error.
 *
 * It polls: after each expected close (plus `delayMs`, the exchange's settling time) it asks the
 * exchange's clock and then the klines. The live service may put a WebSocket stream in front of
 * it for latency; what reaches the chain still comes through this order-keeping logic.
 */
export interface ClosedCandleOptions {
  symbol: string;
  market: Market;
  /** The exchange's interval name (1m, 1h). */
  interval: string;
  intervalMs: number;
  /** Open time of the first candle wanted (on the grid). */
  from: number;
  clock: Clock;
  /** Wait after a candle's close before asking for it, ms (default 1000, as the original). */
  delayMs?: number;
  /** Longest single wait, ms: the exchange's clock is asked again after it (default 60 s). */
  maxWaitMs?: number;
  /** First retry wait after a transient failure, ms (default 1000; doubles up to 60 s). */
  retryMs?: number;
  signal?: AbortSignal;
  /** Cuts waits short when poked (a WebSocket saw a candle close): the feed looks at once. */
  wake?: Waker;
  /** Told about every transient failure before its retry. */
  onRetry?: (err: unknown, waitMs: number) => void;
}

/** A candle the feed yields: `time` on the grid; NaN prices when the exchange had none (a halt). */
export interface ClosedCandle extends Candle {
  /** The candle was made up of NaNs for a grid time the exchange skipped. */
  missing: boolean;
  /** Every column the exchange reported (the klines store's: open … tb_quote_av), by name. */
  values: Record<string, number>;
  /** The exchange's time when the candle was fetched (a candle fetched long after its close is a catch-up). */
  receivedAt: number;
}

export async function* closedCandles(md: MarketData, o: ClosedCandleOptions): AsyncGenerator<ClosedCandle> {
  const delay = o.delayMs ?? 1000;
  const maxWait = o.maxWaitMs ?? 60_000;
  const firstRetry = o.retryMs ?? 1000;
  let next = o.from;
  let retry = firstRetry;
  /** The exchange's time at the last fetch, once its candles are handed out: no need to ask again. */
  let known: number | undefined;
  /** This clock's time when `known` was learnt (the wait is measured from it, not from now). */
  let knownAt = 0;
  const sleep = (ms: number) =>
    o.wake === undefined
      ? o.clock.waitUntil(o.clock.now() + Math.max(0, ms), o.signal)
      : o.wake.wait(Math.max(0, ms), o.clock, o.signal);
  for (;;) {
    o.signal?.throwIfAborted();
    let now: number;
    let askedAt: number;
    let rows: ClosedCandle[];
    try {
      const due = next + o.intervalMs + delay;
      if (known !== undefined && known < due) {
        // the last fetch's time already says the next candle is not due: wait, then ask
        const ms = knownAt + (due - known) - o.clock.now();
        known = undefined;
        await sleep(Math.min(ms, maxWait));
        continue;
      }
      known = undefined;
      now = await md.serverTime(o.market);
      askedAt = o.clock.now();
      if (now < due) {
        await sleep(Math.min(due - now, maxWait));
        continue;
      }
      const frame = await md.fetchKlines(o.symbol, o.market, o.interval, next, md.maxKlines);
      rows = closedRows(frame, next, o.intervalMs, now);
      retry = firstRetry;
    } catch (err) {
      if (o.signal?.aborted) throw o.signal.reason;
      if (!(err instanceof ItbError) || err.action !== "retry") throw err;
      o.onRetry?.(err, retry);
      await sleep(retry);
      retry = Math.min(retry * 2, 60_000);
      continue;
    }
    if (rows.length === 0) {
      // due but not published yet: ask again shortly
      await sleep(Math.min(delay > 0 ? delay : 250, maxWait));
      continue;
    }
    for (const c of rows) {
      yield c;
      next = c.time + o.intervalMs;
    }
    // (the consumer may take its time between candles: the wait counts from the question)
    known = now;
    knownAt = askedAt;
  }
}

/**
 * The candles of a klines frame from `next` on that had closed by `now`, on the grid: a grid
 * time skipped by the exchange before a later candle becomes a NaN candle.
 */
function closedRows(frame: Frame, next: number, intervalMs: number, now: number): ClosedCandle[] {
  const receivedAt = now;
  const out: ClosedCandle[] = [];
  if (frame.length === 0) return out;
  const names = frame.columnNames;
  const cols = names.map((c) => frame.get(c));
  let expect = next;
  for (let i = 0; i < frame.length; i++) {
    const t = frame.time[i] as number;
    if (t < expect) continue;
    // a candle is closed when its whole interval lies before the exchange's now
    if (t + intervalMs > now) break;
    if ((t - next) % intervalMs !== 0) continue; // off the grid: not ours
    for (; expect < t; expect += intervalMs) out.push(missingCandle(expect, names, receivedAt));
    const values: Record<string, number> = {};
    names.forEach((n, k) => {
      values[n] = (cols[k] as Float64Array)[i] as number;
    });
    out.push({
      time: t,
      open: values.open ?? Number.NaN,
      high: values.high ?? Number.NaN,
      low: values.low ?? Number.NaN,
      close: values.close ?? Number.NaN,
      volume: values.volume ?? Number.NaN,
      missing: false,
      values,
      receivedAt,
    });
    expect = t + intervalMs;
  }
  return out;
}

function missingCandle(time: number, names: readonly string[], receivedAt: number): ClosedCandle {
  const nan = Number.NaN;
  const values: Record<string, number> = {};
  for (const n of names) values[n] = nan;
  return { time, open: nan, high: nan, low: nan, close: nan, volume: nan, missing: true, values, receivedAt };
}
