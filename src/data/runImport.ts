import { type Config, configFreq } from "../config/index.js";
import { UsageError } from "../core/errors.js";
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
  /** Binance interval to import; defaults to the config's frequency. */
  interval?: string;
  verify?: boolean;
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
    throw new UsageError("no start date: set download_start in the config or pass --from YYYY-MM[-DD]");
  }
  const from = parseTime(String(fromText), "--from");
  const toText = opts.to ?? config.download_end;
  const to =
    toText === undefined || toText === null ? (deps.now ?? Date.now)() : parseTime(String(toText), "--to");
  if (!(to > from)) {
    throw new UsageError(`empty date range: --from ${monthKey(from)} is not before --to ${monthKey(to)}`);
  }
  const interval = opts.interval ?? configFreq(config).binance;
  const source = opts.source ?? config.archive_url;
  const results: SourceImport[] = [];
  for (const ds of config.data_sources) {
    // Interrupted: the sources not started are left for the rerun.
    if (deps.signal?.aborted) break;
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
