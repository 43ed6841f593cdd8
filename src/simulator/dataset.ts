import { readdir, stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { DataError } from "../core/errors.js";
import { assertAscending, concatFrames, Frame } from "../core/frame.js";
import { DEFAULT_TIME_COLUMN, KLINE_COLUMNS } from "../core/klines.js";
import type { Logger } from "../core/log.js";
import { DAY_MS, nextMonth } from "../core/time.js";
import { loadArchiveMonths } from "../data/archive/import.js";
import { KlineTable, parseKlineCsvInto } from "../data/archive/klinesCsv.js";
import { archiveCsvs } from "../data/archive/load.js";
import { archivePath, type Market, openSource } from "../data/archive/source.js";
import { nativeStep } from "../data/resample.js";
import { frameFileInfo, readFrame } from "../data/store/index.js";
import { fitsDecimals } from "./format.js";
import { Series } from "./series.js";
import { derivedSpec, knownSpec, type SymbolSpec } from "./specs.js";

/**
 * The candles the simulator serves, found at startup and loaded per symbol on first use (then
 * cached): a folder in Binance's archive layout (a symbol's market is where its files are:
 * `data/spot` or `data/futures/um`), or a symbol store (`<data_folder>/<SYMBOL>/klines.parquet`).
 */

export type DataSource =
  | { kind: "archive"; root: string; months: string[]; days: string[] }
  | { kind: "store"; file: string; timeColumn: string };

export interface SymbolEntry {
  symbol: string;
  market: Market;
  source: DataSource;
  /** Time range the data is known to cover before loading (from file names or the store footer). */
  first: number | undefined;
  end: number | undefined;
}

const MARKET_DIRS: Record<Market, string> = { spot: "data/spot", um: "data/futures/um" };
const SYMBOL_RE = /^[A-Z0-9]{2,20}$/;
/** Archives are served from their 1m files: every coarser Binance interval aggregates from them. */
const ARCHIVE_INTERVAL = "1m";

async function listDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return [];
    throw new DataError(`cannot list folder: ${(err as Error).message}`, { file: dir }, { cause: err });
  }
}

async function isDir(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() === true;
}

/** The folder that holds `data/`: accepts the archive root or its `data` folder itself. */
export async function archiveRoot(dir: string): Promise<string> {
  const abs = resolve(dir);
  if (!(await isDir(abs))) throw new DataError("archive folder not found", { file: abs });
  if (await isDir(join(abs, "data"))) return abs;
  if (basename(abs) === "data") return dirname(abs);
  throw new DataError("not a Binance archive folder: expected data/spot/... or data/futures/um/... inside", {
    file: abs,
  });
}

async function discoverArchive(root: string): Promise<SymbolEntry[]> {
  const out: SymbolEntry[] = [];
  for (const market of ["spot", "um"] as const) {
    const symbols = new Set([
      ...(await listDir(join(root, MARKET_DIRS[market], "monthly/klines"))),
      ...(await listDir(join(root, MARKET_DIRS[market], "daily/klines"))),
    ]);
    for (const symbol of [...symbols].sort()) {
      if (!SYMBOL_RE.test(symbol)) continue;
      const monthRe = new RegExp(`^${symbol}-${ARCHIVE_INTERVAL}-(\\d{4}-\\d{2})\\.zip$`);
      const dayRe = new RegExp(`^${symbol}-${ARCHIVE_INTERVAL}-(\\d{4}-\\d{2}-\\d{2})\\.zip$`);
      const pick = (names: string[], re: RegExp) =>
        names
          .map((n) => re.exec(n)?.[1])
          .filter((k): k is string => k !== undefined)
          .sort();
      const months = pick(
        await listDir(join(root, MARKET_DIRS[market], "monthly/klines", symbol, ARCHIVE_INTERVAL)),
        monthRe,
      );
      // Daily files count only for months without a monthly file (the current month, as Binance publishes it).
      const monthSet = new Set(months);
      const days = pick(
        await listDir(join(root, MARKET_DIRS[market], "daily/klines", symbol, ARCHIVE_INTERVAL)),
        dayRe,
      ).filter((d) => !monthSet.has(d.slice(0, 7)));
      if (months.length === 0 && days.length === 0) continue;
      const starts = [...months.map((m) => Date.parse(`${m}-01T00:00:00Z`)), ...days.map(dayStart)];
      const ends = [
        ...months.map((m) => nextMonth(Date.parse(`${m}-01T00:00:00Z`))),
        ...days.map((d) => dayStart(d) + DAY_MS),
      ];
      out.push({
        symbol,
        market,
        source: { kind: "archive", root, months, days },
        first: Math.min(...starts),
        end: Math.max(...ends),
      });
    }
  }
  return out;
}

function dayStart(day: string): number {
  return Date.parse(`${day}T00:00:00Z`);
}

async function discoverStores(folder: string, market: Market, timeColumn: string): Promise<SymbolEntry[]> {
  const abs = resolve(folder);
  if (!(await isDir(abs))) throw new DataError("data folder not found", { file: abs });
  const out: SymbolEntry[] = [];
  for (const name of (await listDir(abs)).sort()) {
    if (!SYMBOL_RE.test(name)) continue;
    for (const file of ["klines.parquet", "klines.csv"]) {
      const path = join(abs, name, file);
      if (!(await stat(path).catch(() => undefined))?.isFile()) continue;
      const info = await frameFileInfo(path, { timeColumn });
      if (info === undefined || info.rows === 0) break;
      out.push({
        symbol: name,
        market,
        source: { kind: "store", file: path, timeColumn },
        first: info.first,
        end: info.last === undefined ? undefined : info.last + 60_000,
      });
      break;
    }
  }
  return out;
}

export interface DatasetOptions {
  /** A folder in Binance's archive layout. */
  archive?: string;
  /** A data folder of symbol stores. */
  dataFolder?: string;
  /** Market of the symbols in `dataFolder` (a store does not say). Default spot. */
  storeMarket?: Market;
  timeColumn?: string;
  /** Verify archive zips against their .CHECKSUM files when loading (default true). */
  verify?: boolean;
  log: Logger;
}

export class Dataset {
  private readonly entries = new Map<string, SymbolEntry>();
  private readonly loading = new Map<string, Promise<Series>>();
  private readonly ready = new Map<string, Series>();
  private readonly verify: boolean;
  private readonly log: Logger;
  /** The archive root, when serving one (for the static /data/ files too). */
  readonly archiveRoot: string | undefined;

  private constructor(entries: SymbolEntry[], opts: DatasetOptions, root: string | undefined) {
    for (const e of entries) this.entries.set(key(e.market, e.symbol), e);
    this.verify = opts.verify ?? true;
    this.log = opts.log;
    this.archiveRoot = root;
  }

  static async open(opts: DatasetOptions): Promise<Dataset> {
    const entries: SymbolEntry[] = [];
    let root: string | undefined;
    if (opts.archive !== undefined) {
      root = await archiveRoot(opts.archive);
      entries.push(...(await discoverArchive(root)));
    }
    if (opts.dataFolder !== undefined) {
      const stores = await discoverStores(
        opts.dataFolder,
        opts.storeMarket ?? "spot",
        opts.timeColumn ?? DEFAULT_TIME_COLUMN,
      );
      // A symbol in both places is served from the archive.
      const have = new Set(entries.map((e) => key(e.market, e.symbol)));
      entries.push(...stores.filter((e) => !have.has(key(e.market, e.symbol))));
    }
    if (opts.archive === undefined && opts.dataFolder === undefined) {
      throw new DataError("nothing to serve: give an archive folder or a data folder");
    }
    if (entries.length === 0) {
      throw new DataError(
        `no 1m kline data found in ${[opts.archive, opts.dataFolder].filter(Boolean).join(" or ")}`,
      );
    }
    return new Dataset(entries, opts, root);
  }

  symbols(market?: Market): SymbolEntry[] {
    return [...this.entries.values()].filter((e) => market === undefined || e.market === market);
  }

  entry(market: Market, symbol: string): SymbolEntry | undefined {
    return this.entries.get(key(market, symbol));
  }

  /** The loaded series, if it is in memory already. */
  loaded(market: Market, symbol: string): Series | undefined {
    return this.ready.get(key(market, symbol));
  }

  /** The symbol's series, loading it on first use; concurrent callers share one load. */
  load(entry: SymbolEntry): Promise<Series> {
    const k = key(entry.market, entry.symbol);
    let p = this.loading.get(k);
    if (p === undefined) {
      const t0 = performance.now();
      p = this.read(entry).then((s) => {
        this.ready.set(k, s);
        this.log.info(
          {
            symbol: entry.symbol,
            market: entry.market,
            rows: s.base.length,
            ms: Math.round(performance.now() - t0),
          },
          "simulator: symbol loaded",
        );
        return s;
      });
      // A failed load is retried on the next request rather than cached.
      p.catch(() => this.loading.delete(k));
      this.loading.set(k, p);
    }
    return p;
  }

  /** Earliest start and latest end of all data, from what discovery saw. */
  coverage(): { first: number | undefined; end: number | undefined } {
    let first: number | undefined;
    let end: number | undefined;
    for (const e of this.entries.values()) {
      if (e.first !== undefined) first = first === undefined ? e.first : Math.min(first, e.first);
      if (e.end !== undefined) end = end === undefined ? e.end : Math.max(end, e.end);
    }
    return { first, end };
  }

  private async read(entry: SymbolEntry): Promise<Series> {
    const frame = await readEntry(entry, this.verify);
    const where = entry.source.kind === "store" ? entry.source.file : `${entry.market} ${entry.symbol}`;
    const full = completeColumns(frame, where);
    const step = nativeStep(full.time) ?? 60_000;
    const spec = fitSpec(
      knownSpec(entry.symbol, entry.market) ??
        derivedSpec(entry.symbol, entry.market, {
          prices: ["open", "high", "low", "close"].map((c) => full.get(c)),
          quantities: ["volume", "tb_base_av"].map((c) => full.get(c)),
          quotes: ["quote_av", "tb_quote_av"].map((c) => full.get(c)),
        }),
      full,
      this.log,
    );
    return new Series(spec, full, step);
  }
}

function key(market: Market, symbol: string): string {
  return `${market}:${symbol}`;
}

async function readEntry(entry: SymbolEntry, verify: boolean): Promise<Frame> {
  const src = entry.source;
  if (src.kind === "store") return readFrame(src.file, { timeColumn: src.timeColumn });
  const parts: Frame[] = [];
  if (src.months.length > 0) {
    parts.push(
      await loadArchiveMonths(src.root, entry.symbol, entry.market, ARCHIVE_INTERVAL, src.months, { verify }),
    );
  }
  if (src.days.length > 0) {
    const source = openSource(src.root);
    const paths = src.days.map((d) => archivePath(entry.market, entry.symbol, ARCHIVE_INTERVAL, "daily", d));
    const table = new KlineTable(src.days.length * 1440);
    for await (const { path, csv } of archiveCsvs(source, paths, { verify })) {
      parseKlineCsvInto(csv, source.describe(path), table);
    }
    parts.push(table.toFrame());
  }
  const frame = parts.length === 1 ? (parts[0] as Frame) : sortByTime(concatFrames(parts));
  assertAscending(frame, `${entry.market} ${entry.symbol}`);
  return frame;
}

/** Rows in time order (daily files of a month between monthly files arrive after them). */
function sortByTime(frame: Frame): Frame {
  const t = frame.time;
  let sorted = true;
  for (let i = 1; i < t.length && sorted; i++) sorted = (t[i] as number) > (t[i - 1] as number);
  if (sorted) return frame;
  const order = Array.from({ length: t.length }, (_, i) => i).sort(
    (a, b) => (t[a] as number) - (t[b] as number),
  );
  const pick = (c: Float64Array) => Float64Array.from(order, (i) => c[i] as number);
  return new Frame(
    pick(t),
    [...frame.columns()].map(([name, c]) => [name, pick(c)] as const),
  );
}

/**
 * Every kline column the server writes, whatever the store kept: a missing close time is the
 * bar's end, other missing columns are 0 (Binance's value for "none").
 */
function completeColumns(frame: Frame, where: string): Frame {
  for (const c of ["open", "high", "low", "close"]) {
    if (!frame.has(c))
      throw new DataError(`no "${c}" column; klines need open, high, low and close`, { file: where });
  }
  const step = nativeStep(frame.time) ?? 60_000;
  for (const name of KLINE_COLUMNS) {
    if (frame.has(name)) continue;
    const col = new Float64Array(frame.length);
    if (name === "close_time")
      for (let i = 0; i < col.length; i++) col[i] = (frame.time[i] as number) + step - 1;
    frame.set(name, col);
  }
  for (const name of KLINE_COLUMNS) {
    const c = frame.get(name);
    for (let i = 0; i < c.length; i++) if (Number.isNaN(c[i] as number)) c[i] = 0;
  }
  return frame;
}

/**
 * Widens a spec's kline decimals until every stored value round-trips through its string
 * (data finer than Binance's usual precision is served exactly, never rounded).
 */
function fitSpec(spec: SymbolSpec, frame: Frame, log: Logger): SymbolSpec {
  const groups: [keyof SymbolSpec & ("priceDecimals" | "qtyDecimals" | "quoteDecimals"), string[]][] = [
    ["priceDecimals", ["open", "high", "low", "close"]],
    ["qtyDecimals", ["volume", "tb_base_av"]],
    ["quoteDecimals", ["quote_av", "tb_quote_av"]],
  ];
  const out = { ...spec };
  for (const [field, cols] of groups) {
    let d = out[field];
    const fits = (dd: number) => cols.every((c) => frame.get(c).every((x) => fitsDecimals(x, dd)));
    if (d >= 0 && fits(d)) continue;
    while (d >= 0 && d < 12 && !fits(d)) d++;
    if (d >= 12 && !fits(d)) d = -1;
    log.warn(
      { symbol: spec.symbol, market: spec.market, field, from: out[field], to: d },
      "simulator: stored values need more decimals than Binance uses; serving them exactly",
    );
    out[field] = d;
  }
  return out;
}
