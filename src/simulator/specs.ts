import type { Market } from "../data/archive/source.js";
import { decimalsNeeded, formatDecimal } from "./format.js";

/**
 * What the exchange says about a symbol: assets, precisions and order filters, plus the
 * fraction digits its kline strings carry. BTCUSDT and ETHUSDT use Binance's published values
 * (spot and USD-M, as of 2024-2025); any other symbol gets values derived from its data (tick
 * and step from the decimals its prices and volumes use), so exchangeInfo stays plausible.
 */
export interface SymbolSpec {
  symbol: string;
  market: Market;
  baseAsset: string;
  quoteAsset: string;
  /** Fraction digits of prices, base quantities and quote quantities in kline strings (-1: shortest form). */
  priceDecimals: number;
  qtyDecimals: number;
  quoteDecimals: number;
  /** Futures `pricePrecision`/`quantityPrecision`; spot's base/quote asset precision (8). */
  pricePrecision: number;
  quantityPrecision: number;
  tickSize: number;
  minPrice: number;
  maxPrice: number;
  stepSize: number;
  minQty: number;
  maxQty: number;
  marketMaxQty: number;
  minNotional: number;
  maxNotional: number;
}

type Known = Omit<SymbolSpec, "symbol" | "market" | "baseAsset" | "quoteAsset">;

const SPOT_DECIMALS = {
  priceDecimals: 8,
  qtyDecimals: 8,
  quoteDecimals: 8,
  pricePrecision: 8,
  quantityPrecision: 8,
};

const KNOWN: Record<string, Known> = {
  "spot:BTCUSDT": {
    ...SPOT_DECIMALS,
    tickSize: 0.01,
    minPrice: 0.01,
    maxPrice: 1_000_000,
    stepSize: 0.00001,
    minQty: 0.00001,
    maxQty: 9000,
    marketMaxQty: 118.45,
    minNotional: 5,
    maxNotional: 9_000_000,
  },
  "spot:ETHUSDT": {
    ...SPOT_DECIMALS,
    tickSize: 0.01,
    minPrice: 0.01,
    maxPrice: 1_000_000,
    stepSize: 0.0001,
    minQty: 0.0001,
    maxQty: 9000,
    marketMaxQty: 2934.24,
    minNotional: 5,
    maxNotional: 9_000_000,
  },
  "um:BTCUSDT": {
    priceDecimals: 2,
    qtyDecimals: 3,
    quoteDecimals: 5,
    pricePrecision: 2,
    quantityPrecision: 3,
    tickSize: 0.1,
    minPrice: 556.8,
    maxPrice: 4_529_764,
    stepSize: 0.001,
    minQty: 0.001,
    maxQty: 1000,
    marketMaxQty: 120,
    minNotional: 100,
    maxNotional: 9_000_000,
  },
  "um:ETHUSDT": {
    priceDecimals: 2,
    qtyDecimals: 3,
    quoteDecimals: 5,
    pricePrecision: 2,
    quantityPrecision: 3,
    tickSize: 0.01,
    minPrice: 39.86,
    maxPrice: 306_177,
    stepSize: 0.001,
    minQty: 0.001,
    maxQty: 10_000,
    marketMaxQty: 2000,
    minNotional: 20,
    maxNotional: 9_000_000,
  },
};

/** Quote assets, longest and most common first, to split `BTCUSDT` into BTC / USDT. */
const QUOTES = [
  "FDUSD",
  "USDT",
  "USDC",
  "BUSD",
  "TUSD",
  "USDP",
  "DAI",
  "BTC",
  "ETH",
  "BNB",
  "EUR",
  "TRY",
  "BRL",
  "JPY",
  "GBP",
  "AUD",
  "BIDR",
  "IDRT",
  "UAH",
  "ZAR",
  "PLN",
  "RON",
  "ARS",
  "MXN",
  "USD",
  "XRP",
  "DOGE",
  "TRX",
  "DOT",
];

export function splitSymbol(symbol: string): { baseAsset: string; quoteAsset: string } {
  for (const q of QUOTES) {
    if (symbol.length > q.length && symbol.endsWith(q)) {
      return { baseAsset: symbol.slice(0, -q.length), quoteAsset: q };
    }
  }
  // Unknown quote: the last four letters are the most common shape (USDT, USDC, ...).
  const cut = Math.max(1, symbol.length - 4);
  return { baseAsset: symbol.slice(0, cut), quoteAsset: symbol.slice(cut) };
}

/** The published spec, or undefined when the symbol's values must come from its data. */
export function knownSpec(symbol: string, market: Market): SymbolSpec | undefined {
  const k = KNOWN[`${market}:${symbol}`];
  return k === undefined ? undefined : { symbol, market, ...splitSymbol(symbol), ...k };
}

export interface DataColumns {
  prices: readonly Float64Array[];
  quantities: readonly Float64Array[];
  quotes: readonly Float64Array[];
}

/** Most fraction digits any value in the columns uses (up to 8; 9 means "more than 8"). */
export function maxDecimals(columns: readonly Float64Array[], sampleRows = 50_000): number {
  let d = 0;
  for (const c of columns) {
    const n = Math.min(c.length, sampleRows);
    for (let i = 0; i < n; i++) {
      const need = decimalsNeeded(c[i] as number);
      if (need > d) d = need;
      if (d > 8) return d;
    }
  }
  return d;
}

/** A spec for a symbol Binance's published values do not cover, from the decimals of its data. */
export function derivedSpec(symbol: string, market: Market, data: DataColumns): SymbolSpec {
  const priceDec = Math.min(8, maxDecimals(data.prices));
  const qtyDec = Math.min(8, maxDecimals(data.quantities));
  const quoteDec = Math.min(8, maxDecimals(data.quotes));
  const tick = 10 ** -priceDec;
  const step = 10 ** -qtyDec;
  let high = 0;
  for (const c of data.prices) for (let i = 0; i < c.length; i++) high = Math.max(high, c[i] as number);
  const maxPrice = high > 0 ? 10 ** Math.ceil(Math.log10(high * 10)) : 1_000_000;
  const common = {
    symbol,
    market,
    ...splitSymbol(symbol),
    tickSize: tick,
    minPrice: tick,
    maxPrice,
    stepSize: step,
    minQty: step,
    maxQty: 9_000_000,
    marketMaxQty: 1_000_000,
    minNotional: 5,
    maxNotional: 9_000_000,
  };
  return market === "spot"
    ? { ...common, ...SPOT_DECIMALS }
    : {
        ...common,
        priceDecimals: priceDec,
        qtyDecimals: qtyDec,
        quoteDecimals: quoteDec,
        pricePrecision: priceDec,
        quantityPrecision: qtyDec,
      };
}

/** A filter value as Binance writes it: spot pads to 8 decimals, futures uses the shortest form. */
export function filterValue(spec: SymbolSpec, x: number): string {
  if (spec.market === "spot") return formatDecimal(x, 8);
  return String(Number(x.toFixed(8)));
}
