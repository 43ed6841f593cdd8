import type { ServerResponse } from "node:http";
import type { CandleRecord } from "../../live/ledger/types.js";

/**
 * The service's events for GET /api/v1/events (server-sent events). `publish` is called by
 * the markets' candle loop and never waits: each client has a bounded buffer (what its socket
 * has not taken yet); a client that falls that far behind is dropped, never a market slowed.
 * A `: ping` comment goes to every client every `pingMs`, and `close` ends every stream (the
 * service's shutdown).
 */

export type ApiEventName = "candle" | "order" | "fill" | "trade" | "control";

export interface ApiEvent {
  name: ApiEventName;
  market: string;
  data: Record<string, unknown>;
}

interface Client {
  res: ServerResponse;
  market: string | undefined;
}

export interface EventHubOptions {
  /** Bytes a client may have waiting in its socket before it is dropped (default 1 MiB). */
  maxBufferedBytes?: number;
  /** Between two ping comments, ms (default 15 s). */
  pingMs?: number;
}

export class EventHub {
  private readonly clients = new Set<Client>();
  private readonly maxBuffered: number;
  private readonly ping: NodeJS.Timeout;
  private closed = false;
  /** Clients dropped for falling behind (tests, logs). */
  dropped = 0;

  constructor(o: EventHubOptions = {}) {
    this.maxBuffered = o.maxBufferedBytes ?? 1 << 20;
    this.ping = setInterval(() => this.write(": ping\n\n", undefined), o.pingMs ?? 15_000);
    this.ping.unref();
  }

  get size(): number {
    return this.clients.size;
  }

  /** Streams the events (of one market, or all) to `res` until the client leaves or the hub closes. */
  attach(
    res: ServerResponse,
    market: string | undefined,
    headers: Record<string, number | string | string[] | undefined> = {},
  ): void {
    if (this.closed) {
      res.end();
      return;
    }
    const client: Client = { res, market };
    const extra = Object.fromEntries(Object.entries(headers).filter(([, v]) => v !== undefined)) as Record<
      string,
      number | string | string[]
    >;
    res.writeHead(200, {
      ...extra,
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
    res.write(": connected\n\n");
    this.clients.add(client);
    const leave = () => this.clients.delete(client);
    res.on("close", leave);
    res.on("error", leave);
  }

  publish(e: ApiEvent): void {
    if (this.closed || this.clients.size === 0) return;
    const text = `event: ${e.name}\ndata: ${JSON.stringify({ market: e.market, ...e.data })}\n\n`;
    this.write(text, e.market);
  }

  private write(text: string, market: string | undefined): void {
    for (const c of this.clients) {
      if (market !== undefined && c.market !== undefined && c.market !== market) continue;
      if (c.res.writableLength > this.maxBuffered) {
        this.clients.delete(c);
        this.dropped++;
        c.res.destroy();
        continue;
      }
      c.res.write(text);
    }
  }

  /** Ends every stream; later clients get an empty one. */
  close(): void {
    this.closed = true;
    clearInterval(this.ping);
    for (const c of this.clients) c.res.end();
    this.clients.clear();
  }
}

/** The events of one processed candle: the candle, then its orders, fills and trades. */
export function publishRecord(hub: EventHub, market: string, rec: CandleRecord): void {
  if (hub.size === 0) return;
  const c = rec.candle;
  hub.publish({
    name: "candle",
    market,
    data: {
      time: c.time,
      open: c.open,
      high: c.high,
      low: c.low,
      close: c.close,
      volume: c.volume,
      scores: rec.scores,
      signals: rec.signals,
      buy: rec.buy,
      sell: rec.sell,
      catch_up: rec.catchUp,
    },
  });
  for (const o of rec.orders) hub.publish({ name: "order", market, data: { ...o } });
  for (const f of rec.fills) hub.publish({ name: "fill", market, data: { ...f } });
  for (const t of rec.trades) hub.publish({ name: "trade", market, data: { ...t } });
}
