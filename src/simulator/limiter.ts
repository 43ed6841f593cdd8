import type { Market } from "../data/archive/source.js";
import type { RealTime } from "./clock.js";
import { tooMuchWeight } from "./errors.js";

/**
 * Binance's IP request-weight limit: every request adds its weight to the current one-minute
 * window (of real time: a frozen virtual clock must not freeze the window); a request that
 * would exceed the limit is refused with 429 and a Retry-After of the seconds left in the
 * window. Spot and USD-M futures are separate services with separate budgets.
 */
export const DEFAULT_WEIGHT_LIMITS: Record<Market, number> = { spot: 6000, um: 2400 };

const WINDOW_MS = 60_000;

export class WeightLimiter {
  private readonly used: Record<Market, number> = { spot: 0, um: 0 };
  private readonly window: Record<Market, number> = { spot: Number.NaN, um: Number.NaN };

  constructor(
    readonly limits: Record<Market, number>,
    private readonly real: RealTime,
  ) {}

  /** Adds `weight`, or throws the 429 ApiError when the window's budget would be exceeded. */
  charge(market: Market, weight: number): number {
    const now = this.real();
    const w = Math.floor(now / WINDOW_MS);
    if (w !== this.window[market]) {
      this.window[market] = w;
      this.used[market] = 0;
    }
    const limit = this.limits[market];
    if (this.used[market] + weight > limit) {
      const retryAfter = Math.max(1, Math.ceil(((w + 1) * WINDOW_MS - now) / 1000));
      throw tooMuchWeight(limit, retryAfter);
    }
    this.used[market] += weight;
    return this.used[market];
  }

  usedWeight(market: Market): number {
    const w = Math.floor(this.real() / WINDOW_MS);
    return w === this.window[market] ? this.used[market] : 0;
  }

  reset(): void {
    this.used.spot = 0;
    this.used.um = 0;
  }
}

/**
 * The weight budget as a `RateLimit-Policy` header value (draft-ietf-httpapi-ratelimit-headers):
 * `"request-weight";q=6000;w=60` — `limit` units of Binance request weight per 60 s window.
 */
export function weightPolicy(limit: number): string {
  return `"request-weight";q=${limit};w=${WINDOW_MS / 1000}`;
}
