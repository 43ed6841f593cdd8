/**
 * The `urls.api` entries that point ccxt's `binance` at a simulator, REST and WebSocket (ccxt
 * pro); everything else about the client stays as shipped. Use with
 * `options.fetchMarkets = { types: ["spot", "linear"] }` so loadMarkets asks only for the
 * markets the simulator serves (not inverse futures or options).
 */
export function ccxtBinanceUrls(url: string): Record<string, unknown> {
  const base = url.replace(/\/+$/, "");
  const ws = base.replace(/^http/, "ws");
  return {
    public: `${base}/api/v3`,
    private: `${base}/api/v3`,
    v1: `${base}/api/v1`,
    fapiPublic: `${base}/fapi/v1`,
    fapiPublicV2: `${base}/fapi/v2`,
    fapiPublicV3: `${base}/fapi/v3`,
    fapiPrivate: `${base}/fapi/v1`,
    fapiPrivateV2: `${base}/fapi/v2`,
    fapiPrivateV3: `${base}/fapi/v3`,
    fapiData: `${base}/futures/data`,
    ws: {
      spot: `${ws}/ws`,
      margin: `${ws}/ws`,
      future: `${ws}/fstream/ws`,
      // ccxt pro's spot watchOrders/watchBalance subscribe over the WebSocket API.
      "ws-api": { spot: `${ws}/ws-api/v3` },
    },
  };
}

/** The part of a ccxt binance client `ccxtBinanceErrorsByPath` changes. */
interface BinanceErrorTables {
  exceptions: Record<string, unknown>;
  getExceptionsByUrl(url: string, exactOrBroad: string): unknown;
}

const MARKET_BY_PATH: readonly [string, string][] = [
  ["/api/", "spot"],
  ["/fapi/", "linear"],
  ["/futures/", "linear"],
  ["/dapi/", "inverse"],
  ["/eapi/", "option"],
  ["/papi/", "portfolioMargin"],
];

/**
 * ccxt's binance chooses its market's error table (USD-M: -2019 InsufficientFunds, -2022
 * InvalidOrder, -2021 OrderImmediatelyFillable, -5022 OrderNotFillable, ...) from the official
 * host name of the URL (`https://fapi.binance.com/...`); against a simulator every URL is on
 * one loopback host, so only the common table applies and those codes surface as a plain
 * ExchangeError. This makes the client choose the table from the path instead, so errors
 * reach the caller as the same classes as on Binance.
 */
export function ccxtBinanceErrorsByPath(exchange: object, url: string): void {
  const ex = exchange as BinanceErrorTables;
  const base = url.replace(/\/+$/, "");
  const original = ex.getExceptionsByUrl.bind(ex);
  ex.getExceptionsByUrl = (requestUrl: string, exactOrBroad: string) => {
    if (!requestUrl.startsWith(`${base}/`)) return original(requestUrl, exactOrBroad);
    const path = requestUrl.slice(base.length);
    const market = MARKET_BY_PATH.find(([prefix]) => path.startsWith(prefix))?.[1];
    const tables = market === undefined ? undefined : (ex.exceptions[market] as Record<string, unknown>);
    return tables?.[exactOrBroad] ?? {};
  };
}
