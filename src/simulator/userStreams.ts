import { randomBytes } from "node:crypto";
import { WebSocket } from "ws";
import type { Market } from "../data/archive/source.js";
import { ApiError } from "./errors.js";
import { json, type RequestContext, type Route } from "./router.js";
import { allParams, apiKeyAccount, authenticateWsParams } from "./signing.js";
import type { SimState } from "./state.js";

/**
 * User-data streams: listen keys and the WebSockets that read them, for any market. A market's
 * account code calls `publish(apiKey, market, payload)`; every socket open on a listen key of
 * that API key and market gets the payload (combined sockets: `{"stream": key, "data": ...}`).
 *
 * Listen keys, as Binance serves them (the `X-MBX-APIKEY` header only, no signature):
 *   spot  POST/PUT/DELETE /api/v3/userDataStream   (weight 2; PUT and DELETE take `listenKey`)
 *   um    POST/PUT/DELETE /fapi/v1/listenKey       (weight 1; the account's key, no parameter)
 * POST returns the account's valid key for that market (extending it) or a new one. A key
 * lapses 60 virtual minutes after its creation or last keepalive: its sockets get
 * `listenKeyExpired` and are closed. Sockets: `/ws/<key>` and `/stream?streams=<key>` (spot),
 * `/fstream/ws/<key>` (um), taken over from the kline stream hub's upgrade.
 *
 * Binance's WebSocket API (`/ws-api/v3`, which ccxt pro uses for spot `watchOrders` and
 * `watchBalance`): `userDataStream.subscribe.signature` (params `apiKey`, `timestamp`,
 * `signature`) subscribes the connection to the account's spot events, delivered as
 * `{"subscriptionId": n, "event": {...}}`; `userDataStream.unsubscribe` ends one or all.
 * Other methods are answered with status 400, `-1020` "This operation is not supported.".
 */

const VALIDITY_MS = 60 * 60_000;

interface Socket {
  ws: WebSocket;
  path: string;
  combined: boolean;
}

/** A WebSocket API connection and its user-data subscriptions (id → API key). */
interface WsApiSocket {
  ws: WebSocket;
  path: string;
  subscriptions: Map<number, string>;
  nextId: number;
}

interface ListenKey {
  key: string;
  apiKey: string;
  market: Market;
  expiresAt: number;
  sockets: Set<Socket>;
}

const noKey = (): ApiError => new ApiError(400, -1125, "This listenKey does not exist.");

export class UserStreams {
  private readonly keys = new Map<string, ListenKey>();
  private readonly wsApi = new Set<WsApiSocket>();
  private sent = 0;

  constructor(private readonly state: Pick<SimState, "clock" | "faults" | "accounts" | "log">) {}

  /** Sends a market's event to every socket on a listen key of `apiKey` in that market (and spot WebSocket API subscriptions). */
  publish(apiKey: string, market: Market, payload: Record<string, unknown>): void {
    const raw = JSON.stringify(payload);
    if (market === "spot") {
      for (const c of [...this.wsApi]) {
        for (const [id, key] of c.subscriptions) {
          if (key !== apiKey || c.ws.readyState !== WebSocket.OPEN) continue;
          if (this.state.faults.forUserEvent(c.path)) {
            this.state.log.info({ market }, "simulator: fault: user-data WebSockets dropped");
            this.dropAll();
            return;
          }
          c.ws.send(`{"subscriptionId":${id},"event":${raw}}`);
          this.sent++;
        }
      }
    }
    for (const k of this.keys.values()) {
      if (k.apiKey !== apiKey || k.market !== market || k.sockets.size === 0) continue;
      const first = k.sockets.values().next().value as Socket;
      if (this.state.faults.forUserEvent(first.path)) {
        this.state.log.info({ market }, "simulator: fault: user-data WebSockets dropped");
        this.dropAll();
        return;
      }
      for (const s of k.sockets) {
        if (s.ws.readyState !== WebSocket.OPEN) continue;
        s.ws.send(s.combined ? `{"stream":${JSON.stringify(k.key)},"data":${raw}}` : raw);
        this.sent++;
      }
    }
  }

  /** Closes every user-data socket (their keys stay valid; clients reconnect with them). */
  dropAll(): void {
    for (const k of this.keys.values()) {
      for (const s of k.sockets) s.ws.terminate();
      k.sockets.clear();
    }
    for (const c of this.wsApi) if (c.subscriptions.size > 0) c.ws.terminate();
  }

  /** Serves the WebSocket API's user-data methods on a connection. */
  attachWsApi(ws: WebSocket, path: string): void {
    const c: WsApiSocket = { ws, path, subscriptions: new Map(), nextId: 0 };
    this.wsApi.add(c);
    const detach = () => this.wsApi.delete(c);
    ws.on("close", detach);
    ws.on("error", detach);
    ws.on("message", (data) => this.onWsApi(c, data.toString()));
  }

  private onWsApi(c: WsApiSocket, text: string): void {
    let msg: { id?: unknown; method?: unknown; params?: unknown };
    try {
      msg = JSON.parse(text) as typeof msg;
    } catch {
      c.ws.send(JSON.stringify({ id: null, status: 400, error: { code: -1000, msg: "Malformed request." } }));
      return;
    }
    const id = msg.id ?? null;
    const params = (typeof msg.params === "object" && msg.params !== null ? msg.params : {}) as Record<
      string,
      unknown
    >;
    const reply = (body: Record<string, unknown>) => {
      if (c.ws.readyState === WebSocket.OPEN) c.ws.send(JSON.stringify({ id, ...body }));
    };
    try {
      if (msg.method === "userDataStream.subscribe.signature") {
        const account = authenticateWsParams(params, this.state.accounts, this.state.clock.now());
        const subscriptionId = c.nextId++;
        c.subscriptions.set(subscriptionId, account.apiKey);
        reply({ status: 200, result: { subscriptionId } });
      } else if (msg.method === "userDataStream.unsubscribe") {
        const sub = params.subscriptionId;
        if (typeof sub === "number") c.subscriptions.delete(sub);
        else c.subscriptions.clear();
        reply({ status: 200, result: {} });
      } else {
        throw new ApiError(400, -1020, "This operation is not supported.");
      }
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      reply({ status: err.status, error: { code: err.code, msg: err.message } });
    }
  }

  /** Takes a stream name of a socket being opened; true if it is a live listen key of the market. */
  attach(ws: WebSocket, market: Market, path: string, name: string, combined: boolean): boolean {
    const k = this.keys.get(name);
    if (k === undefined || k.market !== market) return false;
    const socket: Socket = { ws, path, combined };
    k.sockets.add(socket);
    const detach = () => k.sockets.delete(socket);
    ws.on("close", detach);
    ws.on("error", detach);
    return true;
  }

  /** Expires the keys whose validity ran out by `now`. */
  tick(now: number): void {
    for (const k of [...this.keys.values()]) {
      if (k.expiresAt > now) continue;
      this.keys.delete(k.key);
      // Spot sends the event time as a string, futures as a number.
      const payload = {
        e: "listenKeyExpired",
        E: k.market === "spot" ? String(k.expiresAt) : k.expiresAt,
        listenKey: k.key,
      };
      for (const s of k.sockets) {
        if (s.ws.readyState === WebSocket.OPEN) {
          s.ws.send(s.combined ? JSON.stringify({ stream: k.key, data: payload }) : JSON.stringify(payload));
          this.sent++;
        }
        s.ws.close(1000, "listenKey expired");
      }
      k.sockets.clear();
    }
  }

  /** Live listen keys, the sockets on them, WebSocket API user-data subscriptions, and events sent. */
  stats(): { keys: number; sockets: number; subscriptions: number; eventsSent: number } {
    let sockets = 0;
    let subscriptions = 0;
    for (const k of this.keys.values()) sockets += k.sockets.size;
    for (const c of this.wsApi) subscriptions += c.subscriptions.size;
    return { keys: this.keys.size, sockets, subscriptions, eventsSent: this.sent };
  }

  routes(): Route[] {
    const spot = "/api/v3/userDataStream";
    const um = "/fapi/v1/listenKey";
    return [
      this.route("POST", spot, "spot", 2, (ctx, apiKey) =>
        json({ listenKey: this.open(apiKey, "spot", ctx) }),
      ),
      this.route("PUT", spot, "spot", 2, (ctx, apiKey) => {
        this.keepalive(this.named(ctx, apiKey, "spot"), ctx);
        return json({});
      }),
      this.route("DELETE", spot, "spot", 2, (ctx, apiKey) => {
        this.remove(this.named(ctx, apiKey, "spot"));
        return json({});
      }),
      this.route("POST", um, "um", 1, (ctx, apiKey) => json({ listenKey: this.open(apiKey, "um", ctx) })),
      this.route("PUT", um, "um", 1, (ctx, apiKey) => {
        const k = this.current(apiKey, "um", ctx.state.clock.now());
        if (k === undefined) throw noKey();
        this.keepalive(k, ctx);
        return json({ listenKey: k.key });
      }),
      this.route("DELETE", um, "um", 1, (ctx, apiKey) => {
        const k = this.current(apiKey, "um", ctx.state.clock.now());
        if (k !== undefined) this.remove(k);
        return json({});
      }),
    ];
  }

  private route(
    method: Route["method"],
    path: string,
    market: Market,
    weight: number,
    handle: (ctx: RequestContext, apiKey: string) => ReturnType<Route["handle"]>,
  ): Route {
    return {
      method,
      path,
      market,
      weight: () => weight,
      security: "USER_STREAM",
      handle: (ctx) => {
        const account = apiKeyAccount(ctx, ctx.state.accounts);
        this.tick(ctx.state.clock.now());
        return handle(ctx, account.apiKey);
      },
    };
  }

  private current(apiKey: string, market: Market, now: number): ListenKey | undefined {
    for (const k of this.keys.values()) {
      if (k.apiKey === apiKey && k.market === market && k.expiresAt > now) return k;
    }
    return undefined;
  }

  private open(apiKey: string, market: Market, ctx: RequestContext): string {
    const now = ctx.state.clock.now();
    const existing = this.current(apiKey, market, now);
    if (existing !== undefined) {
      existing.expiresAt = now + VALIDITY_MS;
      return existing.key;
    }
    const key = randomBytes(45).toString("base64").replace(/[+/=]/g, "").slice(0, 60).padEnd(60, "0");
    this.keys.set(key, { key, apiKey, market, expiresAt: now + VALIDITY_MS, sockets: new Set() });
    return key;
  }

  /** The key in the `listenKey` parameter, if it is this account's in this market. */
  private named(ctx: RequestContext, apiKey: string, market: Market): ListenKey {
    const name = allParams(ctx).get("listenKey");
    if (name === null || name === "") {
      throw new ApiError(
        400,
        -1102,
        "Mandatory parameter 'listenKey' was not sent, was empty/null, or malformed.",
      );
    }
    const k = this.keys.get(name);
    if (k === undefined || k.apiKey !== apiKey || k.market !== market) throw noKey();
    return k;
  }

  private keepalive(k: ListenKey, ctx: RequestContext): void {
    k.expiresAt = ctx.state.clock.now() + VALIDITY_MS;
  }

  private remove(k: ListenKey): void {
    this.keys.delete(k.key);
    for (const s of k.sockets) s.ws.close(1000, "listenKey deleted");
    k.sockets.clear();
  }
}
