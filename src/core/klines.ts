/**
 * Kline column names, in Binance's order, as the original names them in its `klines` files.
 * The time column (`timestamp`) holds the open time; the rest are numeric columns.
 */
export const KLINE_COLUMNS = [
  "open",
  "high",
  "low",
  "close",
  "volume",
  "close_time",
  "quote_av",
  "trades",
  "tb_base_av",
  "tb_quote_av",
  "ignore",
] as const;

/** The time column's name in stored files unless the config's `time_column` says otherwise. */
export const DEFAULT_TIME_COLUMN = "timestamp";

/** Binance market family of a symbol: spot, or USD-M futures (`um`). */
export type Market = "spot" | "um";
