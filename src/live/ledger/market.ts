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
  return { symbol: m.symbol, freq: ledgerFreq(m.freq, `market ${m.symbol}`) };
}

/** A frequency in Binance's spelling (`1min` → `1m`); `what` names the market in the error. */
export function ledgerFreq(freq: string, what = "ledger"): string {
  try {
    return parseFreq(freq).binance;
  } catch {
    throw new LedgerError(`${what}: unsupported frequency ${JSON.stringify(freq)}`);
  }
}

export function marketName(m: MarketKey): string {
  return `${m.symbol} ${m.freq}`;
}
