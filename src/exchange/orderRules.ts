/**
 * A market's order rules as the exchange publishes them (Binance's exchangeInfo filters), and
 * the one place where order amounts and prices are fitted to them: quantities are cut down to
 * the step (never rounded up: an order must not spend more than it was given), prices rounded
 * to the tick in the direction that keeps the order on its side (a buy's limit down, a sell's
 * up; a stop's trigger to the nearest tick).
 */
export interface OrderRules {
  symbol: string;
  baseAsset: string;
  quoteAsset: string;
  tickSize: number;
  minPrice: number;
  maxPrice: number;
  stepSize: number;
  minQty: number;
  maxQty: number;
  /** MARKET_LOT_SIZE; a step of 0 means the LOT_SIZE step applies. */
  marketStepSize: number;
  marketMaxQty: number;
  /** NOTIONAL (spot) or MIN_NOTIONAL (futures), quote. */
  minNotional: number;
  /** Whether the minimum applies to market orders (spot's applyMinToMarket; always on futures). */
  minNotionalMarket: boolean;
  maxNotional: number;
  /** The order types the market accepts (e.g. MARKET, LIMIT, STOP_LOSS, STOP_MARKET). */
  orderTypes: readonly string[];
  /** Spot: one-cancels-the-other order lists are allowed. */
  ocoAllowed: boolean;
}

type Filter = Record<string, unknown> & { filterType?: string };

const num = (v: unknown, fallback = 0): number => {
  const n = typeof v === "string" || typeof v === "number" ? Number(v) : Number.NaN;
  return Number.isFinite(n) ? n : fallback;
};

/** The rules of one symbol from an exchangeInfo `symbols[]` entry (spot or USD-M). */
export function orderRulesOf(entry: Record<string, unknown>): OrderRules {
  const filters = (Array.isArray(entry.filters) ? entry.filters : []) as Filter[];
  const f = (type: string): Filter => filters.find((x) => x.filterType === type) ?? {};
  const price = f("PRICE_FILTER");
  const lot = f("LOT_SIZE");
  const marketLot = f("MARKET_LOT_SIZE");
  const notional = f("NOTIONAL");
  const minNotional = f("MIN_NOTIONAL");
  const spotNotional = notional.filterType !== undefined;
  return {
    symbol: String(entry.symbol),
    baseAsset: String(entry.baseAsset),
    quoteAsset: String(entry.quoteAsset),
    tickSize: num(price.tickSize),
    minPrice: num(price.minPrice),
    maxPrice: num(price.maxPrice, Number.POSITIVE_INFINITY) || Number.POSITIVE_INFINITY,
    stepSize: num(lot.stepSize),
    minQty: num(lot.minQty),
    maxQty: num(lot.maxQty, Number.POSITIVE_INFINITY) || Number.POSITIVE_INFINITY,
    marketStepSize: num(marketLot.stepSize),
    marketMaxQty: num(marketLot.maxQty, Number.POSITIVE_INFINITY) || Number.POSITIVE_INFINITY,
    minNotional: spotNotional
      ? num(notional.minNotional)
      : num(minNotional.notional ?? minNotional.minNotional),
    minNotionalMarket: spotNotional ? notional.applyMinToMarket !== false : true,
    maxNotional: spotNotional
      ? num(notional.maxNotional, Number.POSITIVE_INFINITY) || Number.POSITIVE_INFINITY
      : Number.POSITIVE_INFINITY,
    orderTypes: Array.isArray(entry.orderTypes) ? entry.orderTypes.map(String) : [],
    ocoAllowed: entry.ocoAllowed === true || entry.otoAllowed === true,
  };
}

/** Decimal places of a step such as 0.00001 (5); 0 for a step of 0 or 1 and up. */
function decimalsOf(step: number): number {
  if (!(step > 0) || step >= 1) return 0;
  const s = step.toExponential();
  const [mant, exp] = s.split("e");
  const frac = (mant ?? "").split(".")[1]?.length ?? 0;
  return Math.max(0, frac - Number(exp));
}

function snap(x: number, step: number, mode: "down" | "up" | "nearest"): number {
  if (!(step > 0)) return x;
  // a millionth of a step forgives the binary noise of x / step (0.3 / 0.1 = 2.9999999999999996)
  const k = x / step;
  const n = mode === "down" ? Math.floor(k + 1e-6) : mode === "up" ? Math.ceil(k - 1e-6) : Math.round(k);
  return Number((n * step).toFixed(decimalsOf(step)));
}

/** A quantity cut down to the step of the order's type (market orders: MARKET_LOT_SIZE's, if any). */
export function fitQuantity(r: OrderRules, qty: number, market: boolean): number {
  const step = market && r.marketStepSize > 0 ? r.marketStepSize : r.stepSize;
  return snap(qty, step, "down");
}

/** A limit price on the tick: a buy's rounded down, a sell's up (never a worse price than asked). */
export function fitLimitPrice(r: OrderRules, price: number, side: "buy" | "sell"): number {
  return snap(price, r.tickSize, side === "buy" ? "down" : "up");
}

/** A stop's trigger on the nearest tick. */
export function fitStopPrice(r: OrderRules, price: number): number {
  return snap(price, r.tickSize, "nearest");
}

/** Why an order of `qty` at `price` breaks the rules (a text for the rejection), or undefined. */
export function ruleBreach(r: OrderRules, qty: number, price: number, market: boolean): string | undefined {
  if (!(qty > 0)) return `quantity below the step (${r.stepSize})`;
  if (qty < r.minQty) return `LOT_SIZE: quantity ${qty} below the minimum ${r.minQty}`;
  const maxQty = market ? Math.min(r.maxQty, r.marketMaxQty) : r.maxQty;
  if (qty > maxQty) return `LOT_SIZE: quantity ${qty} above the maximum ${maxQty}`;
  const notional = qty * price;
  if ((!market || r.minNotionalMarket) && notional < r.minNotional) {
    return `min_notional: ${notional.toFixed(2)} ${r.quoteAsset} below the minimum ${r.minNotional}`;
  }
  if (!market && notional > r.maxNotional) {
    return `max_notional: ${notional.toFixed(2)} ${r.quoteAsset} above the maximum ${r.maxNotional}`;
  }
  return undefined;
}

/** A number as the exchange wants it in a request: plain decimals, no exponent. */
export function decimalText(x: number, step: number): string {
  return x.toFixed(step > 0 ? decimalsOf(step) : 8);
}
