import { DataError, UsageError } from "../../core/errors.js";
import type { Frame } from "../../core/frame.js";
import { isBinanceInterval, parseFreq } from "../../core/freq.js";
import { DEFAULT_TIME_COLUMN } from "../../core/klines.js";
import type { Logger, ProgressFactory } from "../../core/log.js";
import { DAY_MS, dayKey, isoTime, monthKey, monthStart, nextMonth } from "../../core/time.js";
import { frameFileInfo, readFrame, writeFrame } from "../store/index.js";
import { appendRows, covers } from "./append.js";
import { KlineTable, parseKlineCsvInto } from "./klinesCsv.js";
import { archiveCsvs } from "./load.js";
import { type ArchiveSource, archivePath, type Market, openSource } from "./source.js";

/**
 * `itb import`: Binance's public kline archive → the symbol's klines store. Whole months come
 * from monthly files; a month without one (the current month is published only day by day)
 * from its daily files. Every file is fetched, checksum-verified and parsed before its rows
 * count, and the store is only ever replaced atomically, with whole files' rows: at the end,
 * at checkpoints while a long import runs (so a kill loses at most the files since the last
 * one), and when the import is interrupted (Ctrl-C: the files completed are kept, the file in
 * flight is dropped). A rerun skips the files the store already holds without reading them,
 * so an interrupted import resumes where it stopped. A failure (a corrupt file) leaves the
 * store as the last checkpoint left it.
 */

export interface ImportRequest {
  symbol: string;
  market: Market;
  /** Binance interval, e.g. "1m". */
  interval: string;
  /** Epoch ms, [from, to). */
  from: number;
  to: number;
  /** Archive base URL or local folder in Binance's layout. */
  source: string;
  /** e.g. data/BTCUSDT/klines.parquet */
  storeFile: string;
  timeColumn?: string;
  /** Check every zip against its `.CHECKSUM` file (default true). */
  verify?: boolean;
  /** Added to the "nothing published" error: what else the caller could ask for. */
  hint?: string;
}

export interface ImportResult {
  /** Archive files read. */
  files: number;
  /** Archive files not read because the store already holds their range. */
  filesSkipped: number;
  /** Rows read from the archive inside [from, to). */
  rowsRead: number;
  /** Rows the store did not have. */
  rowsAdded: number;
  /** Rows in the store after the import. */
  rowsTotal: number;
  /** Stopped by the signal: `files` completed and stored, `filesPlanned` were to be read. */
  interrupted: boolean;
  filesPlanned: number;
  first?: number;
  last?: number;
}

interface PlannedFile {
  path: string;
  /** The month or day the file holds. */
  periodStart: number;
  periodEnd: number;
  /** The part of [from, to) this file supplies. */
  start: number;
  end: number;
}

interface Plan {
  files: PlannedFile[];
  skipped: number;
  /** Days of months without a monthly file whose daily file is not published either. */
  missingDays: string[];
}

function stepOf(interval: string): number {
  const freq = parseFreq(interval);
  if (!isBinanceInterval(freq) || freq.binance !== interval) {
    throw new UsageError(
      `"${interval}" is not a Binance kline interval (1s, 1m, 3m, 5m, 15m, 30m, 1h, 2h, 4h, 6h, 8h, 12h, 1d, 3d, 1w)`,
    );
  }
  return freq.ms;
}

/** Archive requests in flight while planning: HEAD requests are small, their latency is not. */
const PLAN_CONCURRENCY = 8;

async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Which archive files supply [from, to) and the store does not already hold. */
async function planFiles(
  req: ImportRequest,
  source: ArchiveSource,
  stored: Frame | undefined,
  step: number,
): Promise<Plan> {
  const months: number[] = [];
  for (let m = monthStart(req.from); m < req.to; m = nextMonth(m)) months.push(m);
  const parts = await mapLimited(months, PLAN_CONCURRENCY, async (m): Promise<Plan> => {
    const plan: Plan = { files: [], skipped: 0, missingDays: [] };
    const start = Math.max(req.from, m);
    const end = Math.min(req.to, nextMonth(m));
    if (covers(stored, start, end, step)) {
      plan.skipped++;
      return plan;
    }
    const monthly = archivePath(req.market, req.symbol, req.interval, "monthly", monthKey(m));
    if (await source.exists(monthly)) {
      plan.files.push({ path: monthly, periodStart: m, periodEnd: nextMonth(m), start, end });
      return plan;
    }
    for (let d = m; d < end; d += DAY_MS) {
      const dStart = Math.max(start, d);
      const dEnd = Math.min(end, d + DAY_MS);
      if (dStart >= dEnd) continue;
      if (covers(stored, dStart, dEnd, step)) {
        plan.skipped++;
        continue;
      }
      const daily = archivePath(req.market, req.symbol, req.interval, "daily", dayKey(d));
      if (await source.exists(daily)) {
        plan.files.push({ path: daily, periodStart: d, periodEnd: d + DAY_MS, start: dStart, end: dEnd });
      } else plan.missingDays.push(dayKey(d));
    }
    return plan;
  });
  return {
    files: parts.flatMap((p) => p.files),
    skipped: parts.reduce((n, p) => n + p.skipped, 0),
    missingDays: parts.flatMap((p) => p.missingDays),
  };
}

/** Keeps only the rows from `first` on whose time is in [start, end); returns how many. */
function keepRange(table: KlineTable, first: number, start: number, end: number): number {
  const time = table.cols[0] as Float64Array;
  let lo = first;
  while (lo < table.length && (time[lo] as number) < start) lo++;
  let hi = table.length;
  while (hi > lo && (time[hi - 1] as number) >= end) hi--;
  if (lo > first) for (const c of table.cols) c.copyWithin(first, lo, hi);
  table.length = first + (hi - lo);
  return hi - lo;
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/**
 * The store is rewritten whole at each checkpoint, so checkpoints are spaced: at least this
 * long apart, and far enough that rewriting takes at most a tenth of the time (as download).
 */
export const CHECKPOINT_MIN_MS = 5_000;
const CHECKPOINT_WRITE_SHARE = 0.1;

export interface ImportDeps {
  log: Logger;
  progress: ProgressFactory;
  /** Aborting stops after the file being parsed; the completed files are stored. */
  signal?: AbortSignal;
}

export async function importKlines(req: ImportRequest, deps: ImportDeps): Promise<ImportResult> {
  if (!(req.to > req.from)) {
    throw new UsageError(`empty import range: from ${isoTime(req.from)} is not before to ${isoTime(req.to)}`);
  }
  const step = stepOf(req.interval);
  const timeColumn = req.timeColumn ?? DEFAULT_TIME_COLUMN;
  const verify = req.verify ?? true;
  const source = openSource(req.source, deps.signal === undefined ? {} : { signal: deps.signal });
  const info = await frameFileInfo(req.storeFile, { timeColumn });
  let stored = info === undefined ? undefined : await readFrame(req.storeFile, { timeColumn });

  const plan = await planFiles(req, source, stored, step);
  const what = `${req.symbol} ${req.market} ${req.interval}`;
  if (plan.missingDays.length > 0) {
    deps.log.warn(
      {
        symbol: req.symbol,
        days: plan.missingDays.length,
        first: plan.missingDays[0],
        last: plan.missingDays.at(-1),
      },
      "archive has neither a monthly nor a daily file for these days (not published yet, or no trading)",
    );
  }
  if (plan.files.length === 0 && plan.skipped === 0) {
    throw new DataError(
      `nothing published for ${what} in [${isoTime(req.from)}, ${isoTime(req.to)}) at ${source.location}; check the symbol, market and interval${req.hint === undefined ? "" : ` (${req.hint})`}`,
    );
  }

  // All files go into one table, each cut to its share of the range as it arrives, so the
  // archive rows are never held twice.
  const capacity = (from: number) =>
    plan.files.slice(from).reduce((n, f) => n + Math.ceil((f.periodEnd - f.periodStart) / step), 0);
  let table = new KlineTable(capacity(0));
  let rowsRead = 0;
  let added = 0;
  let changed = 0;
  let filesDone = 0;
  let lastWriteEnd = performance.now();
  let lastWriteMs = 0;
  /** Merges the completed files into the store and writes it if anything changed. */
  const store = async (more: boolean): Promise<void> => {
    const r = appendRows(stored, table.toFrame());
    if (r.added > 0 || r.changed > 0) {
      const t0 = performance.now();
      await writeFrame(req.storeFile, r.frame, { timeColumn });
      lastWriteEnd = performance.now();
      lastWriteMs = lastWriteEnd - t0;
    }
    // Rows already merged count once: later merges see them as stored.
    added += r.added;
    changed += r.changed;
    stored = r.frame;
    // The stored frame may share the table's arrays: the next files go into a new one.
    table = new KlineTable(more ? capacity(filesDone) : 0);
  };
  const checkpointDue = () => {
    const since = performance.now() - lastWriteEnd;
    return (
      since >= CHECKPOINT_MIN_MS &&
      since >= (lastWriteMs * (1 - CHECKPOINT_WRITE_SHARE)) / CHECKPOINT_WRITE_SHARE
    );
  };
  const progress = deps.progress("import", "files");
  progress.start(plan.files.length, { rows: 0, source: `${req.symbol} ${req.market}` });
  try {
    const paths = plan.files.map((f) => f.path);
    for await (const { path, csv } of archiveCsvs(source, paths, { verify })) {
      const file = plan.files[filesDone] as PlannedFile;
      const before = table.length;
      parseKlineCsvInto(csv, source.describe(path), table);
      // Drops rows outside [from, to), and keeps files disjoint even if one strays past its period.
      const rows = keepRange(table, before, file.start, file.end);
      rowsRead += rows;
      filesDone++;
      deps.log.info({ file: baseName(file.path), rows }, "archive file");
      progress.update(filesDone, { rows: rowsRead });
      if (deps.signal?.aborted) break;
      if (filesDone < plan.files.length && checkpointDue()) {
        await store(true);
        deps.log.debug(
          { file: req.storeFile, files: filesDone, rows: stored?.length ?? 0 },
          "import checkpoint",
        );
      }
    }
  } catch (err) {
    // Interrupted while a file was in flight: the files before it are complete and kept.
    if (!deps.signal?.aborted) throw err;
  } finally {
    progress.stop();
  }
  await store(false);
  const interrupted = deps.signal?.aborted === true && filesDone < plan.files.length;
  if (changed > 0) {
    deps.log.warn(
      { symbol: req.symbol, rows: changed, file: req.storeFile },
      "stored rows differed from Binance's archive; the archive's values replaced them",
    );
  }
  const frame = stored ?? new KlineTable(0).toFrame();

  const result: ImportResult = {
    files: filesDone,
    filesSkipped: plan.skipped,
    rowsRead,
    rowsAdded: added,
    rowsTotal: frame.length,
    interrupted,
    filesPlanned: plan.files.length,
  };
  if (frame.length > 0) {
    result.first = frame.time[0] as number;
    result.last = frame.time[frame.length - 1] as number;
  }
  deps.log.info(
    {
      symbol: req.symbol,
      files: result.files,
      filesSkipped: result.filesSkipped,
      rowsRead,
      rowsAdded: added,
      rowsTotal: result.rowsTotal,
      first: result.first === undefined ? undefined : isoTime(result.first),
      last: result.last === undefined ? undefined : isoTime(result.last),
      file: req.storeFile,
    },
    interrupted
      ? `import interrupted after ${filesDone} of ${plan.files.length} file(s); their rows are stored`
      : added > 0 || changed > 0
        ? "import done"
        : "import done; the store already had every row",
  );
  return result;
}

/**
 * The benchmark's load stage: monthly archives of one symbol (months as `YYYY-MM`), read,
 * verified (unless `verify: false`), parsed and concatenated in month order. A month that is
 * not there is an error: the caller asked for it by name.
 */
export async function loadArchiveMonths(
  root: string,
  symbol: string,
  market: Market,
  interval: string,
  months: readonly string[],
  opts: { verify?: boolean } = {},
): Promise<Frame> {
  const step = stepOf(interval);
  let capacity = 0;
  for (const m of months) {
    if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(m)) throw new UsageError(`invalid month "${m}": expected YYYY-MM`);
    const start = Date.parse(`${m}-01T00:00:00Z`);
    capacity += Math.ceil((nextMonth(start) - start) / step);
  }
  const source = openSource(root);
  const paths = months.map((m) => archivePath(market, symbol, interval, "monthly", m));
  // One table for all months, sized by the most bars a month can hold: no per-month frames to concatenate.
  const table = new KlineTable(capacity);
  let k = 0;
  for await (const { path, csv } of archiveCsvs(source, paths, { verify: opts.verify ?? true })) {
    const before = table.length;
    parseKlineCsvInto(csv, source.describe(path), table);
    const time = table.cols[0] as Float64Array;
    // Months given out of order or twice would make a table the grid cannot use: say which.
    if (before > 0 && table.length > before && !((time[before] as number) > (time[before - 1] as number))) {
      throw new DataError(
        `months must be ascending and distinct: ${months[k]} does not start after ${months[k - 1]}`,
      );
    }
    k++;
  }
  return table.toFrame();
}
