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
