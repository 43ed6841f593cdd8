import type { Exchange } from "ccxt";
import { UsageError } from "../../core/errors.js";
import type { Market } from "../marketData.js";
import { BURST_COST_UNITS } from "./pacing.js";

/**
 * Building ccxt clients. Binance gets `binance` for spot and `binanceusdm` for USD-M futures;
 * any other ccxt exchange id is used as given. ccxt is imported lazily: it takes about half a
 * second to load, which commands that never talk to an exchange should not pay.
 */

export interface ClientOptions {
  /** ccxt exchange id from the config's `venue`. */
  venue: string;
  market: Market;
  /** REST base URL replacing the origin of every ccxt API URL, e.g. a local simulator. */
  exchangeUrl?: string;
  apiKey?: string;
  apiSecret?: string;
  /** ccxt's request timeout, ms (ccxt's default 10 s when unset). */
  timeoutMs?: number;
  /** The exchange's testnet (ccxt's sandbox URLs), before `exchangeUrl` replaces them. */
  sandbox?: boolean;
}

/** The ccxt class for a venue and market: Binance's futures live in their own class. */
export function ccxtExchangeId(venue: string, market: Market): string {
  if (venue === "binance") return market === "um" ? "binanceusdm" : "binance";
  return venue;
}

/** Whether the venue is a Binance class whose raw kline endpoints the adapter uses. */
export function isBinance(id: string): boolean {
  return id === "binance" || id === "binanceusdm";
}

/**
 * A copy of ccxt's `urls.api` (a string or a nested object of strings) with the scheme, host
 * and port of every http(s) URL replaced by `base`; paths stay (`/api/v3`, `/fapi/v1`). A base
 * with a path prefixes it. Templated hosts (`https://api.{hostname}`) are replaced as well.
 */
export function overrideApiUrls(api: unknown, base: string): unknown {
  const root = base.replace(/\/+$/, "");
  const rewrite = (v: unknown): unknown => {
    if (typeof v === "string") return /^https?:\/\//i.test(v) ? v.replace(/^https?:\/\/[^/]+/i, root) : v;
    if (Array.isArray(v)) return v.map(rewrite);
    if (v !== null && typeof v === "object") {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, rewrite(x)]));
    }
    return v;
  };
  return rewrite(api);
}

type ExchangeClass = new (config?: Record<string, unknown>) => Exchange;

export async function createCcxtClient(opts: ClientOptions): Promise<Exchange> {
  const ccxt = await import("ccxt");
  const id = ccxtExchangeId(opts.venue, opts.market);
  const classes = ccxt.exchanges as unknown as Record<string, ExchangeClass | undefined>;
  const Class = Object.hasOwn(classes, id) ? classes[id] : undefined;
  if (Class === undefined) {
    throw new UsageError(
      `unknown venue "${opts.venue}": expected a ccxt exchange id such as binance, bybit, okx or kraken`,
    );
  }
  const config: Record<string, unknown> = { enableRateLimit: true };
  if (opts.timeoutMs !== undefined) config.timeout = opts.timeoutMs;
  if (opts.apiKey) config.apiKey = opts.apiKey;
  if (opts.apiSecret) config.secret = opts.apiSecret;
  // Other venues keep futures under one class; its default market type selects them.
  if (!isBinance(id) && opts.market === "um") config.options = { defaultType: "swap" };
  const ex = new Class(config);
  // a small burst after an idle while (pacing.ts creditIdle); the sustained rate stays ccxt's
  ex.tokenBucket = { ...ex.tokenBucket, capacity: BURST_COST_UNITS };
  ex.initThrottler();
  if (opts.sandbox === true) ex.setSandboxMode(true);
  if (opts.exchangeUrl !== undefined) {
    const urls = ex.urls as { api?: unknown };
    urls.api = overrideApiUrls(urls.api, opts.exchangeUrl);
  }
  return ex;
}
