import type { Config } from "../config/index.js";
import { UsageError } from "../core/errors.js";
import type { Logger, ProgressFactory } from "../core/log.js";
import { isoTime, parseTime } from "../core/time.js";
import { CcxtMarketData, type CcxtMarketDataOptions } from "../exchange/ccxt/adapter.js";
import type { Market, MarketData } from "../exchange/marketData.js";
import { DEFAULT_OVERLAP, type DownloadResult, downloadKlines, intervalMs } from "./download.js";
import { sourceFile } from "./paths.js";
import { sourceInterval } from "./runImport.js";

export interface DownloadOptions {
  /** `YYYY-MM[-DD]` or any time `parseTime` accepts; defaults to `download_start`, else the first candle. */
  from?: string;
  /** Exclusive end; defaults to `download_end`, else the last closed candle. */
  to?: string;
  /** Kline interval, for every source; default: each source's `interval`, else the config's frequency. */
  interval?: string;
  /** Fetched rows between atomic writes of a store. */
  batchRows?: number;
}

export interface SourceDownload extends DownloadResult {
  folder: string;
  market: Market;
  file: string;
}

export interface DownloadRunDeps {
  log: Logger;
  progress: ProgressFactory;
  /** Ctrl-C: stop after the request in flight and store what has arrived. */
  signal?: AbortSignal;
  /** The exchange; default: ccxt for the config's `venue` at its `exchange_url`. */
  marketData?: MarketData;
  /** Extra options of the default ccxt adapter (tests inject sleep, random, retry policy). */
  ccxt?: Partial<CcxtMarketDataOptions>;
}

function timeOption(value: string | null | undefined, what: string): number | undefined {
  return value === undefined || value === null ? undefined : parseTime(String(value), what);
}

/** `itb download`: every entry of `data_sources`, from the exchange's REST API into its klines store. */
export async function runDownload(
  config: Config,
  opts: DownloadOptions,
  deps: DownloadRunDeps,
): Promise<SourceDownload[]> {
  const from = timeOption(opts.from ?? config.download_start, "--from");
  const to = timeOption(opts.to ?? config.download_end, "--to");
  if (from !== undefined && to !== undefined && !(to > from)) {
    throw new UsageError(`empty date range: --from ${isoTime(from)} is not before --to ${isoTime(to)}`);
  }
  for (const ds of config.data_sources) intervalMs(opts.interval ?? sourceInterval(config, ds));
  const md =
    deps.marketData ??
    new CcxtMarketData({
      venue: config.venue,
      ...(config.exchange_url === undefined ? {} : { exchangeUrl: config.exchange_url }),
      ...(config.api_key === undefined ? {} : { apiKey: config.api_key }),
      ...(config.api_secret === undefined ? {} : { apiSecret: config.api_secret }),
      log: deps.log,
      ...(deps.signal === undefined ? {} : { signal: deps.signal }),
      ...deps.ccxt,
    });
  const results: SourceDownload[] = [];
  try {
    for (const ds of config.data_sources) {
      if (deps.signal?.aborted) break;
      const file = sourceFile(config, ds);
      const r = await downloadKlines(
        {
          symbol: ds.folder,
          market: ds.market,
          interval: opts.interval ?? sourceInterval(config, ds),
          ...(from === undefined ? {} : { from }),
          ...(to === undefined ? {} : { to }),
          storeFile: file,
          timeColumn: config.time_column,
          overlap: config.append_overlap_records ?? DEFAULT_OVERLAP,
          ...(opts.batchRows === undefined ? {} : { batchRows: opts.batchRows }),
        },
        md,
        deps,
      );
      results.push({ ...r, folder: ds.folder, market: ds.market, file });
    }
  } finally {
    if (deps.marketData === undefined) await md.close();
  }
  return results;
}
