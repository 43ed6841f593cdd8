import type { Frame } from "../core/frame.js";

import type { Market } from "../core/klines.js";

export type { Market };

/**
 * The market-data port: candles and the exchange's clock. The downloader uses it now, the live
 * engine later; the ccxt adapter implements it against real exchanges and the simulator alike.
 * Implementations handle transport concerns themselves (rate limits, retries with backoff),
 * so a rejected promise is final for that call: an `ItbError` whose `action` says whether a
 * later retry can help (`retry`) or a person must act (`halt`: bad symbol, bad credentials).
 */
export interface MarketData {
  /**
   * Up to `limit` klines of `symbol` with open time >= `startTime` (epoch ms), ascending and
   * distinct. The frame's time is the open time; its columns are `KLINE_COLUMNS` (NaN where
   * the venue does not report a field). The last row may be the still-forming candle: a row is
   * closed only when its `close_time` is before `serverTime()`.
   */
  fetchKlines(
    symbol: string,
    market: Market,
    interval: string,
    startTime: number,
    limit: number,
  ): Promise<Frame>;
  /** The exchange's current time, epoch ms (spot's clock unless a market is named). */
  serverTime(market?: Market): Promise<number>;
  /** Most klines one `fetchKlines` call returns. */
  readonly maxKlines: number;
  /**
   * The page size that costs the least request weight per kline on this market, when it is not
   * `maxKlines` (Binance futures: 499 klines weigh 2, 1000 weigh 5).
   */
  preferredKlines?(market: Market): number;
  /** Releases connections; the adapter is unusable afterwards. */
  close(): Promise<void>;
}
