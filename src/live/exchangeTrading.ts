import type { Config } from "../config/index.js";
import { ConfigError } from "../core/errors.js";
import type { Market } from "../core/klines.js";
import type { Logger } from "../core/log.js";
import { ccxtExchangeId, createCcxtClient, isBinance } from "../exchange/ccxt/client.js";
import { BinanceExecution } from "../exchange/ccxt/execution.js";

/**
 * Where a trading market's orders go, and the one place that decides it. A live order never
 * goes out without an explicit opt-in: `trade_model.mode` "live" alone trades on the exchange's
 * testnet (ccxt's sandbox URLs, which need testnet keys), or at `exchange_url` when the config
 * names one (a simulator); only `itb serve --live` sends orders to the real account, and then
 * not when `trade_model.testnet` is true.
 */

export interface ExchangeTarget {
  /** The real account: --live given and the config does not ask for the testnet. */
  real: boolean;
  /** Human words for the log: "the real Binance account", "Binance's testnet", the URL. */
  where: string;
  market: Market;
}

/** The market a config trades: the data source of the symbol itself (no column prefix). */
export function tradedMarket(config: Config): Market {
  const own = config.data_sources.find((d) => d.column_prefix === "") ?? config.data_sources[0];
  return own?.market ?? "spot";
}

export function exchangeTarget(config: Config, live: boolean): ExchangeTarget {
  const market = tradedMarket(config);
  const testnet =
    !live ||
    config.trade_model?.testnet === true ||
    (market === "um" && config.futures?.use_testnet === true);
  const where =
    config.exchange_url !== undefined
      ? config.exchange_url
      : testnet
        ? `the ${config.venue} testnet`
        : `the real ${config.venue} account`;
  return { real: !testnet && config.exchange_url === undefined, where, market };
}

/**
 * The WebSocket base of the account's user-data stream (the listen key is appended): a
 * simulator's at its host, else Binance's, live or testnet, spot or futures.
 */
export function userStreamBase(config: Config, live: boolean): string {
  const t = exchangeTarget(config, live);
  if (config.exchange_url !== undefined) {
    const ws = config.exchange_url.replace(/\/+$/, "").replace(/^http/i, "ws");
    return t.market === "um" ? `${ws}/fstream/ws` : `${ws}/ws`;
  }
  if (t.market === "um")
    return t.real ? "wss://fstream.binance.com/ws" : "wss://fstream.binancefuture.com/ws";
  return t.real ? "wss://stream.binance.com:9443/ws" : "wss://stream.testnet.binance.vision/ws";
}

/** `abcd…wxyz`: enough of an API key to tell accounts apart, never the key. */
export function maskKey(key: string): string {
  return key.length <= 8 ? "…" : `${key.slice(0, 4)}…${key.slice(-4)}`;
}

/** The exchange adapter of a market that trades live (or reads its balance, in shadow mode). */
export async function openExchangeExecution(
  config: Config,
  o: { live: boolean; inDoubtBefore: number; log: Logger; signal: AbortSignal },
): Promise<BinanceExecution> {
  const target = exchangeTarget(config, o.live);
  const id = ccxtExchangeId(config.venue, target.market);
  if (!isBinance(id)) {
    throw new ConfigError(
      `venue: exchange trading supports venue "binance" (spot and USD-M), not "${config.venue}"`,
    );
  }
  if (config.api_key === undefined || config.api_secret === undefined) {
    const missing = config.api_key === undefined ? "api_key" : "api_secret";
    throw new ConfigError(
      `${missing}: trading on the exchange needs the API key and secret (ITB_API_KEY and ITB_API_SECRET, or secrets_file)`,
    );
  }
  const client = await createCcxtClient({
    venue: config.venue,
    market: target.market,
    ...(config.exchange_url === undefined ? {} : { exchangeUrl: config.exchange_url }),
    apiKey: config.api_key,
    apiSecret: config.api_secret,
    sandbox: !target.real && config.exchange_url === undefined,
  });
  o.log.warn(
    {
      symbol: config.symbol,
      freq: config.freq,
      market: target.market,
      account: maskKey(config.api_key),
      exchange: target.where,
      real: target.real,
    },
    target.real ? "LIVE TRADING: orders go to the real account" : `trading on ${target.where}`,
  );
  return new BinanceExecution({
    client,
    market: target.market,
    log: o.log,
    inDoubtBefore: o.inDoubtBefore,
    signal: o.signal,
    nativeStops: config.trade_model?.use_native_tp_sl !== false,
    ...(target.market === "um"
      ? {
          futures: {
            leverage: config.futures?.leverage ?? 1,
            marginType: (config.futures?.margin_type || "ISOLATED") as "ISOLATED" | "CROSSED",
          },
        }
      : {}),
  });
}
