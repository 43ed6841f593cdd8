import { LedgerError } from "../../core/errors.js";
import { parseFreq } from "../../core/freq.js";
import type { MarketKey } from "./types.js";

/**
 * A market as the ledger keys it: the symbol as given, the frequency in Binance's spelling
 * (`1min`, `1T` and `1m` are one market).
 */
export function ledgerMarket(m: MarketKey): MarketKey {
  if (typeof m?.symbol !== "string" || m.symbol === "") {
    throw new LedgerError(`a ledger market needs a symbol, got ${JSON.stringify(m?.symbol)}`);
  }
  let freq: string;
  try {
    freq = parseFreq(m.freq).binance;
  } catch {
    throw new LedgerError(`market ${m.symbol}: unsupported frequency ${JSON.stringify(m.freq)}`);
  }
  return { symbol: m.symbol, freq };
}

export function marketName(m: MarketKey): string {
  return `${m.symbol} ${m.freq}`;
}
