import type { Market } from "../data/archive/source.js";
import type { SymbolEntry } from "./dataset.js";
import { filterValue, type SymbolSpec } from "./specs.js";

/**
 * GET /api/v3/exchangeInfo and /fapi/v1/exchangeInfo bodies, in Binance's shapes, with every
 * field ccxt's binance `parseMarket` reads (assets, precisions, PRICE_FILTER, LOT_SIZE,
 * MARKET_LOT_SIZE, NOTIONAL / MIN_NOTIONAL, contractType and marginAsset for futures).
 */

function spotSymbol(spec: SymbolSpec): Record<string, unknown> {
  const f = (x: number) => filterValue(spec, x);
  return {
    symbol: spec.symbol,
    status: "TRADING",
    baseAsset: spec.baseAsset,
    baseAssetPrecision: 8,
    quoteAsset: spec.quoteAsset,
    quotePrecision: 8,
    quoteAssetPrecision: 8,
    baseCommissionPrecision: 8,
    quoteCommissionPrecision: 8,
    orderTypes: [
      "LIMIT",
      "LIMIT_MAKER",
      "MARKET",
      "STOP_LOSS",
      "STOP_LOSS_LIMIT",
      "TAKE_PROFIT",
      "TAKE_PROFIT_LIMIT",
    ],
    icebergAllowed: true,
    ocoAllowed: true,
    otoAllowed: true,
    quoteOrderQtyMarketAllowed: true,
    allowTrailingStop: true,
    cancelReplaceAllowed: true,
    amendAllowed: true,
    isSpotTradingAllowed: true,
    isMarginTradingAllowed: false,
    filters: [
      {
        filterType: "PRICE_FILTER",
        minPrice: f(spec.minPrice),
        maxPrice: f(spec.maxPrice),
        tickSize: f(spec.tickSize),
      },
      { filterType: "LOT_SIZE", minQty: f(spec.minQty), maxQty: f(spec.maxQty), stepSize: f(spec.stepSize) },
      { filterType: "ICEBERG_PARTS", limit: 10 },
      { filterType: "MARKET_LOT_SIZE", minQty: f(0), maxQty: f(spec.marketMaxQty), stepSize: f(0) },
      {
        filterType: "TRAILING_DELTA",
        minTrailingAboveDelta: 10,
        maxTrailingAboveDelta: 2000,
        minTrailingBelowDelta: 10,
        maxTrailingBelowDelta: 2000,
      },
      {
        filterType: "PERCENT_PRICE_BY_SIDE",
        bidMultiplierUp: "5",
        bidMultiplierDown: "0.2",
        askMultiplierUp: "5",
        askMultiplierDown: "0.2",
        avgPriceMins: 5,
      },
      {
        filterType: "NOTIONAL",
        minNotional: f(spec.minNotional),
        applyMinToMarket: true,
        maxNotional: f(spec.maxNotional),
        applyMaxToMarket: false,
        avgPriceMins: 5,
      },
      { filterType: "MAX_NUM_ORDERS", maxNumOrders: 200 },
      { filterType: "MAX_NUM_ALGO_ORDERS", maxNumAlgoOrders: 5 },
    ],
    permissions: [],
    permissionSets: [["SPOT"]],
    defaultSelfTradePreventionMode: "EXPIRE_MAKER",
    allowedSelfTradePreventionModes: ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH", "DECREMENT"],
  };
}

function futuresSymbol(spec: SymbolSpec, onboardDate: number): Record<string, unknown> {
  const f = (x: number) => filterValue(spec, x);
  return {
    symbol: spec.symbol,
    pair: spec.symbol,
    contractType: "PERPETUAL",
    deliveryDate: 4133404800000,
    onboardDate,
    status: "TRADING",
    maintMarginPercent: "2.5000",
    requiredMarginPercent: "5.0000",
    baseAsset: spec.baseAsset,
    quoteAsset: spec.quoteAsset,
    marginAsset: spec.quoteAsset,
    pricePrecision: spec.pricePrecision,
    quantityPrecision: spec.quantityPrecision,
    baseAssetPrecision: 8,
    quotePrecision: 8,
    underlyingType: "COIN",
    underlyingSubType: [],
    settlePlan: 0,
    triggerProtect: "0.0500",
    liquidationFee: "0.012500",
    marketTakeBound: "0.05",
    maxMoveOrderLimit: 10000,
    filters: [
      {
        filterType: "PRICE_FILTER",
        minPrice: f(spec.minPrice),
        maxPrice: f(spec.maxPrice),
        tickSize: f(spec.tickSize),
      },
      { filterType: "LOT_SIZE", minQty: f(spec.minQty), maxQty: f(spec.maxQty), stepSize: f(spec.stepSize) },
      {
        filterType: "MARKET_LOT_SIZE",
        minQty: f(spec.minQty),
        maxQty: f(spec.marketMaxQty),
        stepSize: f(spec.stepSize),
      },
      { filterType: "MAX_NUM_ORDERS", limit: 200 },
      { filterType: "MAX_NUM_ALGO_ORDERS", limit: 10 },
      { filterType: "MIN_NOTIONAL", notional: f(spec.minNotional) },
      {
        filterType: "PERCENT_PRICE",
        multiplierUp: "1.0500",
        multiplierDown: "0.9500",
        multiplierDecimal: "4",
      },
    ],
    orderTypes: [
      "LIMIT",
      "MARKET",
      "STOP",
      "STOP_MARKET",
      "TAKE_PROFIT",
      "TAKE_PROFIT_MARKET",
      "TRAILING_STOP_MARKET",
    ],
    timeInForce: ["GTC", "IOC", "FOK", "GTX", "GTD"],
    permissionSets: ["GRID", "COPY"],
  };
}

export function exchangeInfoBody(
  market: Market,
  serverTime: number,
  weightLimit: number,
  symbols: readonly { entry: SymbolEntry; spec: SymbolSpec }[],
): Record<string, unknown> {
  if (market === "spot") {
    return {
      timezone: "UTC",
      serverTime,
      rateLimits: [
        { rateLimitType: "REQUEST_WEIGHT", interval: "MINUTE", intervalNum: 1, limit: weightLimit },
        { rateLimitType: "ORDERS", interval: "SECOND", intervalNum: 10, limit: 100 },
        { rateLimitType: "ORDERS", interval: "DAY", intervalNum: 1, limit: 200000 },
        { rateLimitType: "RAW_REQUESTS", interval: "MINUTE", intervalNum: 5, limit: 61000 },
      ],
      exchangeFilters: [],
      symbols: symbols.map((s) => spotSymbol(s.spec)),
    };
  }
  const assets = [...new Set(symbols.map((s) => s.spec.quoteAsset))];
  return {
    timezone: "UTC",
    serverTime,
    futuresType: "U_MARGINED",
    rateLimits: [
      { rateLimitType: "REQUEST_WEIGHT", interval: "MINUTE", intervalNum: 1, limit: weightLimit },
      { rateLimitType: "ORDERS", interval: "MINUTE", intervalNum: 1, limit: 1200 },
      { rateLimitType: "ORDERS", interval: "SECOND", intervalNum: 10, limit: 300 },
    ],
    exchangeFilters: [],
    assets: assets.map((asset) => ({ asset, marginAvailable: true, autoAssetExchange: "-10000" })),
    symbols: symbols.map((s) => futuresSymbol(s.spec, s.entry.first ?? 0)),
  };
}
