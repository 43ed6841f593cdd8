import type { Exchange } from "ccxt";
import { errorMessage, UsageError } from "../../core/errors.js";
import type { Logger } from "../../core/log.js";
import type { Market } from "../marketData.js";
import { ccxtExchangeId, isBinance, overrideApiUrls } from "./client.js";

/**
 * A kline WebSocket (ccxt pro's `watchOHLCV`) used as a doorbell: each time the stream shows a
 * candle newer than any before (a closed kline, or the first update of a new one, so the one
 * before it has closed), `onCandle` is called. The candles themselves are then fetched over REST in order
 * (closedCandles), so a message lost on the socket loses nothing, and the socket is only what
 * makes the service react within moments of a close instead of at its next poll. A dropped
 * connection is reopened with a capped backoff; `onReconnect` counts those.
 */
export interface KlineStreamOptions {
  venue: string;
  /** REST base of a simulator: its WebSocket is at the same host (ws://host/ws, /fstream/ws). */
  exchangeUrl?: string | undefined;
  market: Market;
  /** The exchange's symbol id, e.g. BTCUSDT. */
  symbol: string;
  interval: string;
  signal: AbortSignal;
  log: Logger;
  /** A candle newer than any before appeared on the stream (its open time). */
  onCandle: (openTime: number) => void;
  onReconnect?: () => void;
}

type ProClass = new (config?: Record<string, unknown>) => Exchange;

/** Opens the stream; resolves once it is subscribed (or the first attempt failed), then runs until aborted. */
export async function watchKlineCloses(o: KlineStreamOptions): Promise<{ done: Promise<void> }> {
  const ccxt = await import("ccxt");
  const id = ccxtExchangeId(o.venue, o.market);
  const pro = (ccxt as unknown as { pro: Record<string, ProClass | undefined> }).pro;
  const Class = Object.hasOwn(pro, id) ? pro[id] : undefined;
  if (Class === undefined) throw new UsageError(`ccxt has no WebSocket client for ${id}`);
  const config: Record<string, unknown> = { enableRateLimit: true };
  if (isBinance(id)) config.options = { fetchMarkets: { types: [o.market === "um" ? "linear" : "spot"] } };
  const ex = new Class(config);
  if (o.exchangeUrl !== undefined) {
    const urls = ex.urls as { api?: Record<string, unknown> };
    const api = overrideApiUrls(urls.api, o.exchangeUrl) as Record<string, unknown>;
    const ws = o.exchangeUrl.replace(/\/+$/, "").replace(/^http/i, "ws");
    if (isBinance(id)) api.ws = { spot: `${ws}/ws`, margin: `${ws}/ws`, future: `${ws}/fstream/ws` };
    urls.api = api;
    // ccxt pro opens plain ws:// URLs only through an http agent it loads on request
    await (ex as unknown as { loadHttpProxyAgent(): Promise<void> }).loadHttpProxyAgent();
  }
  const closing = () => void ex.close().catch(() => undefined);
  o.signal.addEventListener("abort", closing, { once: true });
  let unified: string;
  try {
    await ex.loadMarkets();
    const m = (ex as unknown as { markets_by_id?: Record<string, { symbol: string }[]> }).markets_by_id?.[
      o.symbol
    ];
    const found = m?.[0]?.symbol;
    if (found === undefined) throw new UsageError(`${o.symbol} is not a ${o.market} market of ${id}`);
    unified = found;
  } catch (err) {
    o.signal.removeEventListener("abort", closing);
    closing();
    throw err;
  }
  let newest = Number.NEGATIVE_INFINITY;
  let backoff = 1000;
  const done = (async () => {
    while (!o.signal.aborted) {
      try {
        const candles = (await ex.watchOHLCV(unified, o.interval)) as number[][];
        backoff = 1000;
        const latest = candles.at(-1)?.[0];
        if (latest === undefined) continue;
        // A candle newer than any seen: either a closed kline (x: true) or the first update of a
        // new one (so the one before it has closed). Either way, time to look.
        if (latest > newest) {
          newest = latest;
          o.onCandle(latest);
        }
      } catch (err) {
        if (o.signal.aborted) break;
        o.onReconnect?.();
        o.log.warn(
          { symbol: o.symbol, market: o.market, retry_ms: backoff, err: errorMessage(err) },
          "kline stream dropped; reopening",
        );
        await new Promise((r) => setTimeout(r, backoff).unref());
        backoff = Math.min(backoff * 2, 30_000);
      }
    }
    o.signal.removeEventListener("abort", closing);
    closing();
  })();
  return { done };
}
