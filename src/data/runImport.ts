import { type Config, configFreq, type DataSource } from "../config/index.js";
import { UsageError } from "../core/errors.js";
import { parseFreq } from "../core/freq.js";
import type { Logger, ProgressFactory } from "../core/log.js";
import { monthKey, parseTime } from "../core/time.js";
import { type ImportResult, importKlines } from "./archive/import.js";
import { sourceFile } from "./paths.js";

export interface ImportOptions {
  /** Archive base URL or local folder in Binance's layout; defaults to the config's `archive_url`. */
  source?: string;
  /** `YYYY-MM[-DD]` or any time `parseTime` accepts; defaults to `download_start`. */
  from?: string;
  /** Exclusive end; defaults to `download_end`, else now. */
  to?: string;
  /** Binance interval to import, for every source; default: each source's `interval`, else the config's frequency. */
  interval?: string;
  verify?: boolean;
  /** The command-line option that sets the start, named when it is missing (default "--from"). */
  fromOption?: string;
}

/** The interval a source is imported (and downloaded) at: its own `interval`, else the grid's. */
export function sourceInterval(config: Config, ds: DataSource): string {
  return ds.interval === undefined ? configFreq(config).binance : parseFreq(ds.interval).binance;
}

export interface SourceImport extends ImportResult {
  folder: string;
  file: string;
}

/** `itb import`: every entry of `data_sources`, from Binance's public archive into its klines store. */
export async function runImport(
  config: Config,
  opts: ImportOptions,
  deps: { log: Logger; progress: ProgressFactory; now?: () => number; signal?: AbortSignal },
): Promise<SourceImport[]> {
  const fromText = opts.from ?? config.download_start;
  if (fromText === undefined || fromText === null) {
    const option = opts.fromOption ?? "--from";
    throw new UsageError(`no start date: set download_start in the config or pass ${option} YYYY-MM[-DD]`);
  }
  const from = parseTime(String(fromText), "--from");
  const toText = opts.to ?? config.download_end;
  const to =
    toText === undefined || toText === null ? (deps.now ?? Date.now)() : parseTime(String(toText), "--to");
  if (!(to > from)) {
    throw new UsageError(`empty date range: --from ${monthKey(from)} is not before --to ${monthKey(to)}`);
  }
  const source = opts.source ?? config.archive_url;
  const results: SourceImport[] = [];
  for (const [i, ds] of config.data_sources.entries()) {
    // Interrupted: the sources not started are left for the rerun.
    if (deps.signal?.aborted) break;
    const interval = opts.interval ?? sourceInterval(config, ds);
    const file = sourceFile(config, ds);
    deps.log.info({ symbol: ds.folder, market: ds.market, interval, source, file }, "import");
    const r = await importKlines(
      {
        symbol: ds.folder,
        market: ds.market,
        interval,
        from,
        to,
        source,
        storeFile: file,
        timeColumn: config.time_column,
        verify: opts.verify ?? true,
        // The archive may publish only finer candles (1m) than the grid: merge aggregates them.
        ...(opts.interval === undefined && ds.interval === undefined && interval !== "1m"
          ? {
              hint: `to import finer candles and let merge aggregate them to freq, set "interval" on data_sources[${i}], e.g. "interval": "1m"`,
            }
          : {}),
      },
      deps,
    );
    results.push({ ...r, folder: ds.folder, file });
  }
  return results;
}

/** Whether an import stopped before every source was complete. */
export function importIncomplete(config: Config, results: readonly SourceImport[]): boolean {
  return results.length < config.data_sources.length || results.some((r) => r.interrupted);
}

/** What an interrupted import kept, for its message: files stored per source, sources not started. */
export function describeStoppedImport(config: Config, results: readonly SourceImport[]): string {
  const done = results.map((r) =>
    r.interrupted
      ? `${r.folder}: ${r.files} of ${r.filesPlanned} file(s) stored`
      : `${r.folder}: complete (${r.files} file(s))`,
  );
  const notStarted = config.data_sources.slice(results.length).map((ds) => ds.folder);
  return (
    `import stopped; ${done.length > 0 ? done.join(", ") : "no file completed"}` +
    (notStarted.length > 0 ? `; not started: ${notStarted.join(", ")}` : "") +
    "; run the same command again to resume"
  );
}
