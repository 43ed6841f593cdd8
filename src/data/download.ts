import { DataError, errorMessage, UsageError } from "../core/errors.js";
import type { Frame } from "../core/frame.js";
import { isBinanceInterval, parseFreq } from "../core/freq.js";
import { DEFAULT_TIME_COLUMN, KLINE_COLUMNS } from "../core/klines.js";
import type { Logger, Progress, ProgressFactory } from "../core/log.js";
import { isoTime } from "../core/time.js";
import type { Market, MarketData } from "../exchange/marketData.js";
import { appendRows } from "./archive/append.js";
import { KlineTable } from "./archive/klinesCsv.js";
import { frameFileInfo, readFrame, writeFrame } from "./store/index.js";

/**
 * `itb download`: klines from an exchange's REST API into the symbol's klines store,
 * incrementally. The first run starts at `from` (or the exchange's first candle); later runs
 * resume at the last stored candle, fetching the last `overlap` bars again so values the
 * exchange corrected since are replaced (the exchange wins). Pages are fetched one after the
 * other; the still-forming candle (close time not before the exchange's clock) is never kept.
 * Rows are written atomically every `batchRows` rows (more once rewriting a long history would
 * dominate, see `writeShare`) and at the end, so a kill loses at most the batch in flight and
 * the next run resumes where the store ends; an abort (Ctrl-C) or a failure loses nothing.
 */

export interface DownloadRequest {
  /** The exchange's symbol, e.g. BTCUSDT. */
  symbol: string;
  market: Market;
  /** Kline interval, e.g. "1m". */
  interval: string;
  /** First open time wanted, epoch ms; undefined: from the exchange's first candle. */
  from?: number;
  /** Exclusive end, epoch ms; undefined: up to the last closed candle. */
  to?: number;
  /** e.g. data/BTCUSDT/klines.parquet */
  storeFile: string;
  timeColumn?: string;
  /** Bars up to and including the last stored one that a resumed run fetches again (default 5). */
  overlap?: number;
  /** Klines per request (default: the adapter's maximum). */
  pageSize?: number;
  /** Fetched rows between two atomic writes of the store (default 50,000). */
  batchRows?: number;
  /**
   * Largest share of the run spent rewriting the store (default 0.1). Each write rewrites the
   * whole file, so with a long history a batch waits until the time since the last write is
   * (1 - share) / share times that write's duration; 1 writes every `batchRows` rows.
   */
  writeShare?: number;
}

export interface DownloadResult {
  /** Requests for klines. */
  pages: number;
  /** Closed candles received inside the range. */
  rowsFetched: number;
  /** Rows the store did not have. */
  rowsAdded: number;
  /** Stored rows replaced because the exchange now reports other values. */
  rowsChanged: number;
  /** Rows in the store afterwards. */
  rowsTotal: number;
  /** Atomic writes of the store. */
  writes: number;
  /** The exchange's clock when the download started. */
  serverTime: number;
  /** The download was aborted (Ctrl-C); what had arrived is stored. */
  interrupted: boolean;
  first?: number;
  last?: number;
}

export interface DownloadDeps {
  log: Logger;
  progress: ProgressFactory;
  /** Aborting stops after the request in flight and stores what has arrived. */
  signal?: AbortSignal;
}

export const DEFAULT_OVERLAP = 5;
export const DEFAULT_BATCH_ROWS = 50_000;
export const DEFAULT_WRITE_SHARE = 0.1;

/** The step of a Binance interval name, or a usage error naming the valid ones. */
export function intervalMs(interval: string): number {
  let ok = false;
  let ms = 0;
  try {
    const freq = parseFreq(interval);
    ok = isBinanceInterval(freq) && freq.binance === interval;
    ms = freq.ms;
  } catch {
    ok = false;
  }
  if (!ok) {
    throw new UsageError(
      `"${interval}" is not a kline interval (1s, 1m, 3m, 5m, 15m, 30m, 1h, 2h, 4h, 6h, 8h, 12h, 1d, 3d, 1w)`,
    );
  }
  return ms;
}

/** A span of open times to fetch, [start, end). */
interface Span {
  start: number;
  end: number;
}

/** What to fetch: history before the store (if `from` asks for it) and everything after it. */
function plan(
  stored: Frame | undefined,
  req: DownloadRequest,
  step: number,
  overlap: number,
  end: number,
): { spans: Span[]; resumeAt: number | undefined } {
  const spans: Span[] = [];
  if (stored === undefined || stored.length === 0) {
    spans.push({ start: req.from ?? 0, end });
    return { spans, resumeAt: undefined };
  }
  const first = stored.time[0] as number;
  const last = stored.time[stored.length - 1] as number;
  if (req.from !== undefined && req.from < first) spans.push({ start: req.from, end: Math.min(first, end) });
  // Never before the store's first row: that part is the span above, and rows must stay ascending.
  const resumeAt = Math.max(last + step - overlap * step, first, req.from ?? first);
  spans.push({ start: resumeAt, end });
  return { spans: spans.filter((s) => s.start < s.end), resumeAt };
}

export async function downloadKlines(
  req: DownloadRequest,
  md: MarketData,
  deps: DownloadDeps,
): Promise<DownloadResult> {
  const step = intervalMs(req.interval);
  if (req.from !== undefined && req.to !== undefined && !(req.to > req.from)) {
    throw new UsageError(
      `empty download range: from ${isoTime(req.from)} is not before to ${isoTime(req.to)}`,
    );
  }
  const timeColumn = req.timeColumn ?? DEFAULT_TIME_COLUMN;
  const overlap = Math.max(0, Math.floor(req.overlap ?? DEFAULT_OVERLAP));
  const pageSize = Math.max(
    1,
    Math.min(req.pageSize ?? md.preferredKlines?.(req.market) ?? md.maxKlines, md.maxKlines),
  );
  const batchRows = Math.max(1, req.batchRows ?? DEFAULT_BATCH_ROWS);
  const writeShare = Math.min(1, Math.max(0.01, req.writeShare ?? DEFAULT_WRITE_SHARE));
  const what = `${req.symbol} ${req.market} ${req.interval}`;

  const info = await frameFileInfo(req.storeFile, { timeColumn });
  let stored =
    info === undefined || info.rows === 0 ? undefined : await readFrame(req.storeFile, { timeColumn });
  const serverTime = await md.serverTime(req.market);
  // A candle is closed once its close time (open + step - 1) is before the exchange's clock.
  const end = Math.min(req.to ?? Number.POSITIVE_INFINITY, serverTime);
  const { spans, resumeAt } = plan(stored, req, step, overlap, end);
  deps.log.info(
    {
      symbol: req.symbol,
      market: req.market,
      interval: req.interval,
      from: req.from === undefined ? "first candle" : isoTime(req.from),
      to: req.to === undefined ? "last closed candle" : isoTime(req.to),
      storedRows: stored?.length ?? 0,
      resumeAt: resumeAt === undefined ? undefined : isoTime(resumeAt),
      file: req.storeFile,
    },
    "download",
  );

  const result: DownloadResult = {
    pages: 0,
    rowsFetched: 0,
    rowsAdded: 0,
    rowsChanged: 0,
    rowsTotal: stored?.length ?? 0,
    writes: 0,
    serverTime,
    interrupted: false,
  };
  let pending = new KlineTable(Math.min(batchRows, 4 * pageSize));
  let lastWriteEnd = performance.now();
  let lastWriteMs = 0;
  const batchDue = () =>
    pending.length >= batchRows &&
    performance.now() - lastWriteEnd >= (lastWriteMs * (1 - writeShare)) / writeShare;

  const flush = async (): Promise<void> => {
    if (pending.length === 0) return;
    const fresh = pending.toFrame();
    pending = new KlineTable(Math.min(batchRows, 4 * pageSize));
    const { frame, added, changed } = appendRows(stored, fresh);
    if (added > 0 || changed > 0) {
      const t0 = performance.now();
      await writeFrame(req.storeFile, frame, { timeColumn });
      lastWriteEnd = performance.now();
      lastWriteMs = lastWriteEnd - t0;
      result.writes++;
    }
    if (changed > 0) {
      deps.log.info(
        { symbol: req.symbol, rows: changed },
        "stored candles differed from the exchange's; its values replaced them",
      );
    }
    stored = frame;
    result.rowsAdded += added;
    result.rowsChanged += changed;
  };

  // Progress in bars of the interval, started once the first candle's time is known.
  let progress: Progress | undefined;
  let doneBars = 0;
  let totalBars = 0;
  const barsOf = (s: Span) => Math.max(0, Math.ceil((s.end - s.start) / step));
  // Without `from` or a store, the download asks from time 0: the first candle is its real start.
  const fromFirstCandle = req.from === undefined && stored === undefined;

  try {
    for (const span of spans) {
      let start = span.start;
      let spanBars = 0;
      while (start < span.end) {
        if (deps.signal?.aborted) break;
        const page = await md.fetchKlines(req.symbol, req.market, req.interval, start, pageSize);
        result.pages++;
        // Rows before `start` would repeat the previous page (a sloppy server): skip them.
        const lo = page.lowerBound(start);
        if (lo >= page.length) break;
        if (progress === undefined) {
          if (fromFirstCandle) span.start = page.time[lo] as number;
          totalBars = spans.reduce((n, s) => n + barsOf(s), 0);
          progress = deps.progress("download", `${req.interval} bars`);
          progress.start(totalBars, { rows: 0, source: `${req.symbol} ${req.market}` });
        }
        const kept = appendClosed(pending, page, lo, span.end, serverTime);
        result.rowsFetched += kept;
        const lastOpen = page.time[page.length - 1] as number;
        spanBars = Math.min(barsOf(span), Math.ceil((lastOpen + step - span.start) / step));
        progress.update(doneBars + spanBars, { rows: result.rowsFetched });
        if (batchDue()) await flush();
        // A row past the span or still forming ends the span: nothing after it is wanted yet.
        if (kept < page.length - lo) break;
        start = lastOpen + 1;
      }
      doneBars += spanBars;
      if (deps.signal?.aborted) break;
    }
  } catch (err) {
    if (!deps.signal?.aborted) {
      // Keep what has arrived: the rows are closed candles, and the next run resumes after them.
      try {
        await flush();
      } catch (flushErr) {
        deps.log.error(
          { file: req.storeFile, error: errorMessage(flushErr) },
          "could not store fetched rows",
        );
      }
      progress?.stop();
      throw err;
    }
  }
  result.interrupted = deps.signal?.aborted === true;
  await flush();
  // The last closed candle may end before the range does (a halt, a delisting): the range is done.
  if (!result.interrupted) progress?.update(totalBars, { rows: result.rowsFetched });
  progress?.stop();

  result.rowsTotal = stored?.length ?? 0;
  if (stored !== undefined && stored.length > 0) {
    result.first = stored.time[0] as number;
    result.last = stored.time[stored.length - 1] as number;
  }
  deps.log.info(
    {
      symbol: req.symbol,
      pages: result.pages,
      rowsFetched: result.rowsFetched,
      rowsAdded: result.rowsAdded,
      rowsChanged: result.rowsChanged,
      rowsTotal: result.rowsTotal,
      first: result.first === undefined ? undefined : isoTime(result.first),
      last: result.last === undefined ? undefined : isoTime(result.last),
      file: req.storeFile,
    },
    result.interrupted ? `download of ${what} interrupted; fetched rows stored` : `download of ${what} done`,
  );
  return result;
}

/**
 * Appends page rows from `lo` on while they are inside the span and closed; returns how many.
 * Stops at the first row that is not (the exchange returns rows in time order).
 */
function appendClosed(table: KlineTable, page: Frame, lo: number, end: number, serverTime: number): number {
  const closeTime = page.get("close_time");
  const cols = KLINE_COLUMNS.map((c) => page.get(c));
  let hi = lo;
  while (hi < page.length && (page.time[hi] as number) < end && (closeTime[hi] as number) < serverTime) hi++;
  const n = hi - lo;
  if (n === 0) return 0;
  checkAscending(table, page, lo);
  table.reserve(n);
  const at = table.length;
  (table.cols[0] as Float64Array).set(page.time.subarray(lo, hi), at);
  cols.forEach((c, j) => {
    (table.cols[j + 1] as Float64Array).set(c.subarray(lo, hi), at);
  });
  table.length += n;
  return n;
}

function checkAscending(table: KlineTable, page: Frame, lo: number): void {
  if (table.length === 0) return;
  const prev = (table.cols[0] as Float64Array)[table.length - 1] as number;
  const next = page.time[lo] as number;
  if (!(next > prev)) {
    throw new DataError(
      `the exchange returned a candle at ${isoTime(next)} after one at ${isoTime(prev)}; expected ascending times`,
    );
  }
}
