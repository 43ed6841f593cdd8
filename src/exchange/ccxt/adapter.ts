import { AsyncLocalStorage } from "node:async_hooks";
import type { Exchange } from "ccxt";
import { NetworkError } from "../../core/errors.js";
import type { Frame } from "../../core/frame.js";
import { parseFreq } from "../../core/freq.js";
import { type Logger, silentLogger } from "../../core/log.js";
import { isoTime } from "../../core/time.js";
import type { Market, MarketData } from "../marketData.js";
import { type ClientOptions, createCcxtClient, isBinance } from "./client.js";
import { headerValue, mapExchangeError, type ResponseInfo } from "./errors.js";
import { binanceKlinesFrame, ohlcvFrame } from "./klines.js";
import { creditIdle, pacedRateLimit, parseWeightPolicy, setRateLimit } from "./pacing.js";
import {
  DEFAULT_RETRY,
  ExchangeRequestError,
  type RetryPolicy,
  realSleep,
  type Sleep,
  withRetry,
} from "./retry.js";

/**
 * MarketData over ccxt. Requests run concurrently (many markets share one adapter; each
 * response's status and headers reach its own request through an AsyncLocalStorage slot)
 * and go through ccxt's own rate limiter (`enableRateLimit`), spaced
 * wider apart only as far as a budget the exchange announces allows (pacing.ts). On top:
 * Binance's used-weight header pauses requests until the next minute once it passes a share of
 * the limit; failures are mapped to itb errors and the transient ones retried (`withRetry`).
 */

export interface CcxtMarketDataOptions extends Omit<ClientOptions, "market"> {
  retry?: Partial<RetryPolicy>;
  /** Request weight per minute allowed per market (default: what the exchange announces, else Binance's 6000 spot, 2400 USD-M). */
  weightLimit?: Partial<Record<Market, number>>;
  /** Share of `weightLimit` after which requests wait for the next minute (default 0.8). */
  weightThreshold?: number;
  /** A response must be complete within this long, ms (default: ccxt's timeout + 5 s). */
  deadlineMs?: number;
  sleep?: Sleep;
  random?: () => number;
  now?: () => number;
  log?: Logger;
  /** Ctrl-C: cuts waits short. */
  signal?: AbortSignal;
  /** Builds the ccxt client (tests may wrap the real one). */
  createClient?: (opts: ClientOptions) => Promise<Exchange>;
}

export const DEFAULT_WEIGHT_LIMIT: Record<Market, number> = { spot: 6000, um: 2400 };

/** Counters for logs and tests. */
export interface AdapterStats {
  requests: number;
  failures: number;
  weightPauses: number;
  /** Last `X-MBX-USED-WEIGHT-1M` seen. */
  usedWeight: number | undefined;
}

const DEFAULT_TIMEOUT_MS = 10_000;

export class CcxtMarketData implements MarketData {
  readonly maxKlines = 1000;

  /**
   * Binance weighs a futures klines request by its limit (below 100: 1, below 500: 2, up to
   * 1000: 5), ccxt's throttler too: pages of 499 cost 20 % less weight and time per kline than
   * pages of 1000. Spot weighs 2 whatever the limit.
   */
  preferredKlines(market: Market): number {
    return market === "um" && (this.opts.venue === "binance" || this.opts.venue === "binanceusdm")
      ? 499
      : this.maxKlines;
  }
  readonly stats: AdapterStats = { requests: 0, failures: 0, weightPauses: 0, usedWeight: undefined };
  private readonly opts: CcxtMarketDataOptions;
  private readonly policy: RetryPolicy;
  private readonly clients = new Map<Market, Promise<Exchange>>();
  /** serverTime calls waiting for the request they share, per market. */
  private readonly timeAsked = new Map<Market, Promise<number>>();
  private readonly symbols = new Map<string, string>();
  private readonly sleep: Sleep;
  private readonly now: () => number;
  private readonly log: Logger;
  /** Weight per minute each market's exchange announced (RateLimit-Policy), once seen. */
  private readonly announced = new Map<Market, number>();
  /** The response of the request in whose async context ccxt reports it. */
  private readonly responseSlot = new AsyncLocalStorage<{ response?: ResponseInfo }>();
  private pauseUntil = 0;

  constructor(opts: CcxtMarketDataOptions) {
    this.opts = opts;
    this.policy = { ...DEFAULT_RETRY, ...opts.retry };
    this.sleep = opts.sleep ?? realSleep;
    this.now = opts.now ?? Date.now;
    this.log = opts.log ?? silentLogger;
  }

  get venue(): string {
    return this.opts.venue;
  }

  async fetchKlines(
    symbol: string,
    market: Market,
    interval: string,
    startTime: number,
    limit: number,
  ): Promise<Frame> {
    const what = `klines ${symbol} ${market} ${interval} from ${isoTime(startTime)}`;
    const n = Math.max(1, Math.min(limit, this.maxKlines));
    return this.request(market, what, symbol, async (ex) => {
      if (isBinance(ex.id)) {
        const params = { symbol, interval, startTime, limit: n };
        const b = ex as Exchange &
          Record<"publicGetKlines" | "fapiPublicGetKlines", (p: object) => Promise<unknown>>;
        const raw = market === "um" ? await b.fapiPublicGetKlines(params) : await b.publicGetKlines(params);
        return binanceKlinesFrame(raw, what);
      }
      const unified = await this.unifiedSymbol(ex, symbol, market);
      const rows = await ex.fetchOHLCV(unified, interval, startTime, n);
      return ohlcvFrame(rows, parseFreq(interval).ms, what);
    });
  }

  /**
   * The exchange's time. Calls made in the same turn of the event loop (many markets woken by
   * one close) share one request, sent after all of them were made.
   */
  serverTime(market: Market = "spot"): Promise<number> {
    let p = this.timeAsked.get(market);
    if (p === undefined) {
      p = new Promise<void>((go) => setImmediate(go)).then(() => {
        this.timeAsked.delete(market);
        return this.askServerTime(market);
      });
      this.timeAsked.set(market, p);
    }
    return p;
  }

  private askServerTime(market: Market): Promise<number> {
    return this.request(market, `server time (${market})`, undefined, async (ex) => {
      if (isBinance(ex.id)) {
        const b = ex as Exchange & Record<"publicGetTime" | "fapiPublicGetTime", () => Promise<unknown>>;
        const r = (market === "um" ? await b.fapiPublicGetTime() : await b.publicGetTime()) as {
          serverTime?: unknown;
        };
        const t = Number(r?.serverTime);
        if (!Number.isFinite(t)) throw new ExchangeRequestError(`server time: unreadable response`);
        return t;
      }
      if (ex.has.fetchTime) {
        const t = await ex.fetchTime();
        if (typeof t === "number" && Number.isFinite(t)) return t;
      }
      // No clock endpoint: the local clock decides which candle is still forming.
      return this.now();
    });
  }

  async close(): Promise<void> {
    const clients = [...this.clients.values()];
    this.clients.clear();
    for (const p of clients) {
      const ex = await p.catch(() => undefined);
      if (ex === undefined) continue;
      await ex.close();
      // ccxt keeps an undici keep-alive pool that `close()` leaves open.
      const dispatcher = (ex as unknown as { fetchDispatcher?: { close(): Promise<void> } }).fetchDispatcher;
      await dispatcher?.close().catch(() => undefined);
    }
  }

  /** The ccxt client of a market, created once, with the response hook installed. */
  private client(market: Market): Promise<Exchange> {
    let p = this.clients.get(market);
    if (p === undefined) {
      const { venue, exchangeUrl, apiKey, apiSecret, timeoutMs } = this.opts;
      const opts: ClientOptions = { venue, market };
      if (exchangeUrl !== undefined) opts.exchangeUrl = exchangeUrl;
      if (apiKey !== undefined) opts.apiKey = apiKey;
      if (apiSecret !== undefined) opts.apiSecret = apiSecret;
      if (timeoutMs !== undefined) opts.timeoutMs = timeoutMs;
      p = (this.opts.createClient ?? createCcxtClient)(opts).then((ex) => {
        // ccxt hands every response (errors included) to onRestResponse before judging it:
        // the one place that sees the status and headers of a 429 or a 418.
        const onRest = ex.onRestResponse.bind(ex);
        ex.onRestResponse = (status, statusText, url, method, headers, body, reqHeaders, reqBody) => {
          const slot = this.responseSlot.getStore();
          if (slot !== undefined)
            slot.response = { status: Number(status), headers: (headers ?? {}) as ResponseInfo["headers"] };
          return onRest(status, statusText, url, method, headers, body, reqHeaders, reqBody);
        };
        return ex;
      });
      this.clients.set(market, p);
      // A failed construction (unknown venue) is not cached: the next call reports it again.
      p.catch(() => this.clients.delete(market));
    }
    return p;
  }

  private request<T>(
    market: Market,
    what: string,
    symbol: string | undefined,
    call: (ex: Exchange) => Promise<T>,
  ): Promise<T> {
    return (async () => {
      const ex = await this.client(market);
      const deps = {
        sleep: this.sleep,
        random: this.opts.random ?? Math.random,
        log: this.log,
        ...(this.opts.signal === undefined ? {} : { signal: this.opts.signal }),
      };
      return withRetry(what, () => this.attempt(ex, market, what, symbol, call), this.policy, deps);
    })();
  }

  private async attempt<T>(
    ex: Exchange,
    market: Market,
    what: string,
    symbol: string | undefined,
    call: (ex: Exchange) => Promise<T>,
  ): Promise<T> {
    await this.pace(market);
    creditIdle(ex, Date.now());
    const slot: { response?: ResponseInfo } = {};
    this.stats.requests++;
    try {
      const result = await this.withDeadline(
        ex,
        what,
        this.responseSlot.run(slot, () => call(ex)),
      );
      this.notePolicy(ex, market, slot.response);
      this.noteWeight(market, slot.response);
      return result;
    } catch (err) {
      this.stats.failures++;
      this.notePolicy(ex, market, slot.response);
      this.noteWeight(market, slot.response);
      const ctx = {
        venue: ex.id,
        request: what,
        ...(symbol === undefined ? {} : { symbol }),
        ...(slot.response === undefined ? {} : { response: slot.response }),
      };
      throw mapExchangeError(err, ctx);
    }
  }

  /**
   * ccxt's timeout covers the wait for headers only; a body that stalls would hang until
   * undici's 5-minute body timeout. This bounds the whole response.
   */
  private async withDeadline<T>(ex: Exchange, what: string, p: Promise<T>): Promise<T> {
    const ms = this.opts.deadlineMs ?? (Number(ex.timeout) || DEFAULT_TIMEOUT_MS) + 5_000;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new ExchangeRequestError(`${what}: no complete response within ${ms} ms`)),
        ms,
      );
    });
    try {
      return await Promise.race([p, deadline]);
    } finally {
      clearTimeout(timer);
      // The losing request may still fail later; nobody waits for it any more.
      p.catch(() => undefined);
    }
  }

  /**
   * Reads the budget the exchange announces (once per market): ccxt's spacing follows it when
   * it allows more, and the used-weight guard below measures against it.
   */
  private notePolicy(ex: Exchange, market: Market, response: ResponseInfo | undefined): void {
    if (this.announced.has(market)) return;
    const policy = parseWeightPolicy(headerValue(response?.headers, "ratelimit-policy"));
    if (policy === undefined) return;
    this.announced.set(market, (policy.quota * 60) / policy.windowSeconds);
    const before = Number(ex.rateLimit);
    const ms = pacedRateLimit(ex.id, policy, before);
    if (ms !== undefined) setRateLimit(ex, ms);
    this.log.debug(
      { market, weight: policy.quota, windowSeconds: policy.windowSeconds, rateLimitMs: ms ?? before },
      "the exchange announces its request-weight budget",
    );
  }

  /** Reads Binance's used-weight header; near the limit, later requests wait for the next minute. */
  private noteWeight(market: Market, response: ResponseInfo | undefined): void {
    const header = headerValue(response?.headers, "x-mbx-used-weight-1m");
    const used = Number(header);
    if (header === undefined || !Number.isFinite(used)) return;
    this.stats.usedWeight = used;
    const limit =
      this.opts.weightLimit?.[market] ?? this.announced.get(market) ?? DEFAULT_WEIGHT_LIMIT[market];
    const threshold = this.opts.weightThreshold ?? 0.8;
    if (used >= limit * threshold) {
      const now = this.now();
      // Binance counts weight per clock minute; a second of margin covers clock skew.
      this.pauseUntil = Math.max(this.pauseUntil, now - (now % 60_000) + 61_000);
    }
  }

  private async pace(market: Market): Promise<void> {
    const wait = this.pauseUntil - this.now();
    if (wait <= 0) return;
    this.stats.weightPauses++;
    this.log.warn(
      { market, usedWeight: this.stats.usedWeight, waitMs: wait },
      "request weight near the exchange's limit; waiting for the next minute",
    );
    await this.sleep(wait, this.opts.signal);
    this.pauseUntil = 0;
  }

  /** ccxt's unified symbol for an exchange id such as BTCUSDT (other venues than Binance). */
  private async unifiedSymbol(ex: Exchange, symbol: string, market: Market): Promise<string> {
    const key = `${market}:${symbol}`;
    const known = this.symbols.get(key);
    if (known !== undefined) return known;
    await ex.loadMarkets();
    let unified: string | undefined;
    if (symbol.includes("/")) unified = ex.markets?.[symbol] ? symbol : undefined;
    else {
      const candidates = (ex.markets_by_id?.[symbol] ?? []) as {
        symbol: string;
        spot?: boolean;
        linear?: boolean;
      }[];
      unified = candidates.find((m) => (market === "spot" ? m.spot : m.linear))?.symbol;
    }
    if (unified === undefined) {
      throw new NetworkError(
        `${symbol}: the exchange does not know this symbol (${ex.id} has no ${market} market with this id)`,
        { action: "halt" },
      );
    }
    this.symbols.set(key, unified);
    return unified;
  }
}
