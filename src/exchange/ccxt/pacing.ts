import type { Exchange } from "ccxt";

/**
 * Pacing requests by the budget an exchange announces. ccxt spaces requests by its own table of
 * Binance's limits (`rateLimit` ms per cost unit, each endpoint's cost derived from its weight).
 * An exchange that says its budget in a `RateLimit-Policy` header (draft-ietf-httpapi-ratelimit-
 * headers; `itb sim` does, Binance does not) may allow more: then requests are spaced to spend
 * that budget evenly instead. A smaller budget does not slow ccxt's spacing down: the adapter's
 * used-weight guard waits for the next minute near it, and a 429 or 418 waits its Retry-After.
 */

export interface WeightPolicy {
  /** Units of request weight allowed per window. */
  quota: number;
  windowSeconds: number;
}

/**
 * The tightest policy of a `RateLimit-Policy` value such as `"request-weight";q=6000;w=60`
 * (members separated by commas, parameters by semicolons); undefined when none has a positive
 * quota and window.
 */
export function parseWeightPolicy(header: string | undefined): WeightPolicy | undefined {
  if (header === undefined) return undefined;
  let best: WeightPolicy | undefined;
  for (const member of header.split(",")) {
    const params = new Map(
      member
        .split(";")
        .slice(1)
        .map((p) => p.trim().split("=") as [string, string | undefined]),
    );
    const quota = Number(params.get("q"));
    const windowSeconds = Number(params.get("w"));
    if (!(Number.isFinite(quota) && quota > 0 && Number.isFinite(windowSeconds) && windowSeconds > 0))
      continue;
    if (best === undefined || quota / windowSeconds < best.quota / best.windowSeconds) {
      best = { quota, windowSeconds };
    }
  }
  return best;
}

/**
 * ccxt's cost of one unit of Binance request weight, per ccxt class: spot endpoints cost a fifth
 * of their weight (klines, weight 2, costs 0.4: at 50 ms per cost unit that is Binance's 6000 per
 * minute), USD-M endpoints their weight (so ccxt assumes 1200 per minute, half of Binance's 2400).
 */
const COST_PER_WEIGHT: Record<string, number> = { binance: 0.2, binanceusdm: 1 };

/**
 * The ms per cost unit that spends `policy` evenly, when it is shorter than ccxt's `current`
 * spacing; undefined when ccxt's own is as fast or faster, or the class is not known.
 */
export function pacedRateLimit(id: string, policy: WeightPolicy, current: number): number | undefined {
  const costPerWeight = COST_PER_WEIGHT[id];
  if (costPerWeight === undefined) return undefined;
  const ms = (policy.windowSeconds * 1000) / (policy.quota * costPerWeight);
  return ms < current ? ms : undefined;
}

/**
 * ccxt's leaky bucket sleeps at least this long whenever a request leaves it in debt, so a
 * spacing well below it only adds that sleep to every request.
 */
export const THROTTLE_GRANULARITY_MS = 1;

/**
 * Sets ccxt's spacing of requests (its leaky bucket's refill rate) on a client; a spacing below
 * the bucket's granularity turns the limiter off instead (the budget is then kept by the
 * adapter's used-weight guard and the exchange's Retry-After).
 */
export function setRateLimit(ex: Exchange, ms: number): void {
  ex.rateLimit = ms;
  if (ms < THROTTLE_GRANULARITY_MS) {
    ex.enableRateLimit = false;
    return;
  }
  ex.tokenBucket = { ...ex.tokenBucket, rateLimit: ms, refillRate: 1 / ms };
  ex.initThrottler();
}

/**
 * Cost units ccxt's bucket may hold: three seconds of ccxt's spacing at its 50 ms per unit
 * (300 request weight on Binance spot, 5 % of its minute; 60 on USD-M, 2.5 %), so the requests
 * of many markets closing together (a klines request costs 0.4 on spot) go out at once after
 * an idle while.
 */
export const BURST_COST_UNITS = 60;

interface LeakyBucket {
  running: boolean;
  config: { tokens: number; refillRate: number; capacity: number };
}

const lastSeen = new WeakMap<object, number>();

/**
 * ccxt's leaky bucket refills only while requests wait in it, so a request after an idle
 * minute still waits its whole cost (10–50 ms a request against Binance). Before a request,
 * this credits the time the bucket stood idle, up to its capacity. The sustained rate stays
 * ccxt's: only idle time is credited.
 */
export function creditIdle(ex: Exchange, now: number): void {
  const t = (ex as unknown as { throttler?: LeakyBucket }).throttler;
  if (t?.config === undefined || !ex.enableRateLimit) return;
  const last = lastSeen.get(t);
  lastSeen.set(t, now);
  if (last === undefined || t.running) return;
  const { tokens, refillRate, capacity } = t.config;
  t.config.tokens = Math.min(capacity, tokens + refillRate * (now - last));
}
