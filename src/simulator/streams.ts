import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocket, WebSocketServer } from "ws";
import type { Market } from "../data/archive/source.js";
import { INTERVALS, streamKline } from "./klines.js";
import { lowerBound } from "./series.js";
import type { SimState, StreamStats } from "./state.js";
import type { UserStreams } from "./userStreams.js";

/**
 * Binance's kline WebSocket streams, driven by the virtual clock: when time passes a bar's
 * close, every socket subscribed to that symbol and interval gets the closed kline (`x: true`,
 * the stored values); between closes, the forming kline (`x: false`) at a real-time cadence.
 *
 * Paths, as on stream.binance.com and fstream.binance.com (futures under `/fstream`):
 *   /ws/<symbol>@kline_<interval>            raw stream; events are the bare payload
 *   /stream?streams=<name>/<name>            combined; events are {"stream": name, "data": payload}
 *   /ws, /ws/<anything>                      no stream yet; subscribe with {"method":"SUBSCRIBE",...}
 *   /fstream/ws/..., /fstream/stream?...     the same for USD-M futures; ccxt's rewritten
 *   /fstream/market/ws/... and /fstream/public/ws/... are accepted too
 *   /ws/<listenKey>, /stream?streams=<listenKey>, /fstream/ws/<listenKey>
 *                                            user-data streams, handed to UserStreams
 *   /ws-api/v3                               the WebSocket API's user-data methods, handed to UserStreams
 *
 * The hub's timer (and every clock change) also runs the tick hooks (`onTick`) first: the
 * accounts settle their open orders there as virtual time passes candle closes.
 */

export interface StreamOptions {
  /** Real milliseconds between checks of the clock while it runs (default 100). */
  tickMs?: number;
  /** Real milliseconds between forming-kline updates per stream (Binance: 2000); 0 turns them off. */
  formingEveryMs?: number;
  /** Most closed klines sent per stream after one clock jump; older ones are skipped (default 1000). */
  maxCatchUp?: number;
}

interface Client {
  ws: WebSocket;
  market: Market;
  path: string;
  combined: boolean;
  streams: Set<string>;
}

interface Group {
  market: Market;
  symbol: string;
  interval: string;
  step: number;
  clients: Map<Client, string>;
  /** Virtual time up to which this stream's events have been sent. */
  lastNow: number;
  lastFormingReal: number;
  lastFormingNow: number;
}

/** Binance's WebSocket API (ws-api.binance.com/ws-api/v3), served for its user-data stream methods. */
const WS_API_PATH = "/ws-api/v3";
const PATH_RE = /^(\/fstream)?(?:\/(?:market|public))?\/(ws|stream)(?:\/(.*))?$/;
const KLINE_RE = /^([a-z0-9]{2,20})@kline_(\w+)$/;

export class StreamHub {
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  private readonly clients = new Set<Client>();
  private readonly groups = new Map<string, Group>();
  private readonly timer: NodeJS.Timeout;
  private readonly unlisten: () => void;
  private readonly formingEveryMs: number;
  private readonly maxCatchUp: number;
  private eventsSent = 0;
  private pumping = false;
  private readonly tickHooks = new Set<(now: number) => void>();

  constructor(
    private readonly state: SimState,
    private readonly realNow: () => number,
    opts: StreamOptions = {},
    private readonly users?: UserStreams,
  ) {
    this.formingEveryMs = opts.formingEveryMs ?? 2000;
    this.maxCatchUp = opts.maxCatchUp ?? 1000;
    this.timer = setInterval(() => {
      if (state.clock.speed > 0) this.runTickHooks();
      if (this.groups.size > 0 && (state.clock.speed > 0 || this.formingEveryMs > 0)) this.pump();
    }, opts.tickMs ?? 100);
    this.timer.unref();
    this.unlisten = state.clock.onChange(() => {
      this.runTickHooks();
      this.pump();
    });
  }

  /** Runs `hook(virtualNow)` on every timer tick while the clock runs, and after every clock change. */
  onTick(hook: (now: number) => void): () => void {
    this.tickHooks.add(hook);
    return () => this.tickHooks.delete(hook);
  }

  private runTickHooks(): void {
    const now = this.state.clock.now();
    for (const h of this.tickHooks) {
      try {
        h(now);
      } catch (err) {
        this.state.log.error({ err: String(err) }, "simulator: tick hook failed");
      }
    }
  }

  /** Takes over an HTTP upgrade on a stream path; false if the path is not one. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const url = new URL(req.url ?? "/", "http://localhost");
    const wsApi = url.pathname === WS_API_PATH && this.users !== undefined;
    const m = PATH_RE.exec(url.pathname);
    if (m === null && !wsApi) return false;
    const market: Market = m?.[1] === undefined ? "spot" : "um";
    const combined = m?.[2] === "stream";
    const names = combined ? (url.searchParams.get("streams") ?? "").split("/") : (m?.[3] ?? "").split("/");
    const state = this.state;
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const client: Client = { ws, market, path: url.pathname, combined, streams: new Set() };
      this.clients.add(client);
      state.requests.add({
        seq: state.requests.seq(),
        method: "GET",
        path: url.pathname,
        params: Object.fromEntries(url.searchParams),
        status: 101,
        time: state.clock.now(),
      });
      if (wsApi) {
        // The WebSocket API: requests and replies, user-data subscriptions by signature.
        this.users?.attachWsApi(ws, url.pathname);
        ws.on("close", () => this.drop(client));
        ws.on("error", () => this.drop(client));
        return;
      }
      // ccxt connects to /ws/<number> and subscribes by message: only stream names and listen keys count.
      for (const n of names) {
        if (n.includes("@")) this.subscribe(client, n);
        else if (n !== "") this.users?.attach(ws, market, url.pathname, n, combined);
      }
      ws.on("message", (data) => this.onMessage(client, data.toString()));
      ws.on("close", () => this.drop(client));
      ws.on("error", () => this.drop(client));
    });
    return true;
  }

  stats(): StreamStats {
    let subscriptions = 0;
    for (const c of this.clients) subscriptions += c.streams.size;
    return { connections: this.clients.size, subscriptions, eventsSent: this.eventsSent };
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.unlisten();
    for (const c of this.clients) c.ws.terminate();
    this.clients.clear();
    this.groups.clear();
    await new Promise<void>((done) => this.wss.close(() => done()));
  }

  private onMessage(client: Client, text: string): void {
    let msg: { method?: unknown; params?: unknown; id?: unknown };
    try {
      msg = JSON.parse(text) as typeof msg;
    } catch (err) {
      this.reply(client, { code: 3, msg: `Invalid JSON: ${(err as Error).message}` });
      return;
    }
    const id = msg.id ?? null;
    if (
      id !== null &&
      !(typeof id === "string" || (typeof id === "number" && Number.isInteger(id) && id >= 0))
    ) {
      this.reply(client, { code: 2, msg: "Invalid request: request ID must be an unsigned integer" });
      return;
    }
    const params = Array.isArray(msg.params) ? msg.params : [];
    switch (msg.method) {
      case "SUBSCRIBE":
        for (const p of params) if (typeof p === "string") this.subscribe(client, p);
        this.reply(client, { result: null, id });
        return;
      case "UNSUBSCRIBE":
        for (const p of params) if (typeof p === "string") this.unsubscribe(client, p);
        this.reply(client, { result: null, id });
        return;
      case "LIST_SUBSCRIPTIONS":
        this.reply(client, { result: [...client.streams], id });
        return;
      case "SET_PROPERTY":
        if (params[0] === "combined" && typeof params[1] === "boolean") {
          client.combined = params[1];
          this.reply(client, { result: null, id });
        } else this.reply(client, { code: 0, msg: "Unknown property", id });
        return;
      case "GET_PROPERTY":
        if (params[0] === "combined") this.reply(client, { result: client.combined, id });
        else this.reply(client, { code: 0, msg: "Unknown property", id });
        return;
      default:
        this.reply(client, {
          code: 2,
          msg: "Invalid request: unknown variant, expected one of `SUBSCRIBE`, `UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`, `SET_PROPERTY`, `GET_PROPERTY`",
          id,
        });
    }
  }

  private reply(client: Client, body: unknown): void {
    if (client.ws.readyState === WebSocket.OPEN) client.ws.send(JSON.stringify(body));
  }

  /**
   * Adds a stream to a socket. Names that are not kline streams of a served symbol are
   * accepted and stay silent, as Binance does for streams without events.
   */
  private subscribe(client: Client, name: string): void {
    client.streams.add(name);
    const m = KLINE_RE.exec(name);
    if (m === null) return;
    const symbol = (m[1] as string).toUpperCase();
    const interval = m[2] as string;
    const step = INTERVALS.get(interval);
    const entry = this.state.data.entry(client.market, symbol);
    if (step === undefined || entry === undefined) return;
    const key = `${client.market}:${symbol}:${interval}`;
    let g = this.groups.get(key);
    if (g === undefined) {
      const now = this.state.clock.now();
      g = {
        market: client.market,
        symbol,
        interval,
        step,
        clients: new Map(),
        lastNow: now,
        lastFormingReal: this.realNow(),
        lastFormingNow: now,
      };
      this.groups.set(key, g);
      this.state.data.load(entry).then(
        () => this.pump(),
        (err: unknown) =>
          this.state.log.error({ symbol, err: String(err) }, "simulator: stream data failed to load"),
      );
    }
    g.clients.set(client, name);
  }

  private unsubscribe(client: Client, name: string): void {
    client.streams.delete(name);
    for (const [key, g] of this.groups) {
      if (g.clients.get(client) === name) {
        g.clients.delete(client);
        if (g.clients.size === 0) this.groups.delete(key);
      }
    }
  }

  private drop(client: Client): void {
    if (!this.clients.delete(client)) return;
    for (const name of [...client.streams]) this.unsubscribe(client, name);
  }

  /** Sends every event due between each stream's last check and virtual now. */
  pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      const now = this.state.clock.now();
      const real = this.realNow();
      for (const g of [...this.groups.values()]) this.pumpGroup(g, now, real);
    } finally {
      this.pumping = false;
    }
  }

  private pumpGroup(g: Group, now: number, real: number): void {
    const series = this.state.data.loaded(g.market, g.symbol);
    if (series === undefined || !series.supports(g.step)) return;
    if (now < g.lastNow) {
      // The clock was set back: start over from the new now, without replaying anything.
      g.lastNow = now;
      g.lastFormingNow = now;
      return;
    }
    const bars = series.bars(g.step);
    const from = lowerBound(bars.time, g.lastNow - g.step + 1);
    const to = lowerBound(bars.time, now - g.step + 1);
    for (let i = Math.max(from, to - this.maxCatchUp); i < to; i++) {
      const bar = series.barAt(bars, i);
      this.send(g, Math.min(now, bar.t + g.step), streamKline(series, g.interval, bar, true));
    }
    g.lastNow = now;
    if (
      this.formingEveryMs > 0 &&
      real - g.lastFormingReal >= this.formingEveryMs &&
      now !== g.lastFormingNow
    ) {
      g.lastFormingReal = real;
      g.lastFormingNow = now;
      const bar = series.forming(g.step, now, this.state.forming);
      if (bar !== undefined && bar.t + g.step > now)
        this.send(g, now, streamKline(series, g.interval, bar, false));
    }
  }

  private send(g: Group, eventTime: number, k: Record<string, unknown>): void {
    const payload = { e: "kline", E: eventTime, s: g.symbol, k };
    const raw = JSON.stringify(payload);
    for (const [client, name] of [...g.clients]) {
      if (client.ws.readyState !== WebSocket.OPEN) continue;
      const fault = this.state.faults.forStreamEvent(client.path);
      if (fault === "disconnect") {
        this.state.log.info({ path: client.path, stream: name }, "simulator: fault: WebSocket disconnected");
        client.ws.terminate();
        this.drop(client);
        continue;
      }
      if (fault === "skip") {
        this.state.log.info({ path: client.path, stream: name }, "simulator: fault: kline event lost");
        continue;
      }
      client.ws.send(client.combined ? `{"stream":${JSON.stringify(name)},"data":${raw}}` : raw);
      this.eventsSent++;
    }
  }
}
