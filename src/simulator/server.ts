import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type Logger, silentLogger } from "../core/log.js";
import type { Market } from "../data/archive/source.js";
import { type AccountConfig, Accounts } from "./account.js";
import { adminRoutes } from "./adminRoutes.js";
import { archiveRoutes } from "./archiveFiles.js";
import { type RealTime, VirtualClock } from "./clock.js";
import { Dataset } from "./dataset.js";
import { DEFAULT_ACCOUNT } from "./defaults.js";
import { ApiError, tooMuchWeight } from "./errors.js";
import { type FaultRule, Faults, type HttpFault } from "./faults.js";
import { FuturesAccounts, type UserEventSink } from "./futuresAccount.js";
import { futuresRoutes } from "./futuresRoutes.js";
import { DEFAULT_WEIGHT_LIMITS, WeightLimiter, weightPolicy } from "./limiter.js";
import { marketRoutes } from "./marketRoutes.js";
import { orderListRoutes } from "./orderListRoutes.js";
import { orderRoutes } from "./orderRoutes.js";
import { RequestLog } from "./requests.js";
import { type Reply, Router } from "./router.js";
import type { FormingMode } from "./series.js";
import { spotUserEvents } from "./spotUserEvents.js";
import type { SimState, StreamStats } from "./state.js";
import { StreamHub, type StreamOptions } from "./streams.js";
import { UserStreams } from "./userStreams.js";

/**
 * `startSimulator`: a Binance-compatible exchange on loopback, serving stored real candles
 * through the spot and USD-M REST endpoints, the kline WebSocket streams and the public
 * archive's file paths, under a virtual clock, with injectable faults and a record of every
 * request. Point ccxt (or anything that speaks Binance) at `url`.
 */

export interface SimulatorOptions {
  /** A folder in Binance's archive layout (`data/spot/monthly/klines/...`), e.g. sample/binance-vision. */
  archive?: string;
  /** A data folder of symbol stores (`<dir>/<SYMBOL>/klines.parquet` or `.csv`). */
  dataFolder?: string;
  /** Market of the data folder's symbols (a store does not record it). Default spot. */
  storeMarket?: Market;
  /** Time column of the stores (default `timestamp`). */
  timeColumn?: string;
  /** Check archive zips against their .CHECKSUM files when loading (default true). */
  verify?: boolean;
  /** Default 0: an ephemeral port. */
  port?: number;
  /** When `port` is in use, listen on an ephemeral port instead of failing. */
  anyPortIfTaken?: boolean;
  /** Default 127.0.0.1. */
  host?: string;
  /** Virtual start time, epoch ms (default: the end of the data, so the latest candles are the newest stored). */
  start?: number;
  /** Virtual ms per real ms (default 1; 0 freezes the clock). */
  speed?: number;
  /** A clock to use instead of one made from start and speed (tests share it). */
  clock?: VirtualClock;
  /** Real-time source for the clock, weight windows and stream cadence (default performance.now / Date.now). */
  realNow?: RealTime;
  faults?: readonly FaultRule[];
  /** Spot trading accounts (API key, secret, starting balances); default one, DEFAULT_ACCOUNT. Each also has a USD-M futures wallet holding its USDT balance. */
  accounts?: readonly AccountConfig[];
  /** Receives the futures user-data events (ORDER_TRADE_UPDATE, ACCOUNT_UPDATE, ...) of each API key. */
  onUserEvent?: UserEventSink;
  /** Share of a candle's volume a resting order may fill per candle, in (0, 1] (default 0.1). */
  participation?: number;
  /** Request weight per minute, per market (default spot 6000, um 2400, Binance's limits). */
  weightLimits?: Partial<Record<Market, number>>;
  /** The forming kline: "full" stored bar (default) or "open" (no lookahead). See Series. */
  forming?: FormingMode;
  streams?: StreamOptions;
  /** Load every symbol before listening, so the first request is not the slow one. */
  preload?: boolean;
  log?: Logger;
}

export interface Simulator {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** `ws://127.0.0.1:PORT` */
  wsUrl: string;
  port: number;
  clock: VirtualClock;
  faults: Faults;
  requests: RequestLog;
  data: Dataset;
  /** Open WebSocket connections, their subscriptions and the events sent so far. */
  streams(): StreamStats;
  /**
   * User-data streams: `publish(apiKey, market, payload)` sends an event to every socket on
   * that account's listen keys of the market (the spot account publishes its own; a futures
   * account publishes `ORDER_TRADE_UPDATE` / `ACCOUNT_UPDATE` with market "um").
   */
  userStreams: UserStreams;
  close(): Promise<void>;
}

const MAX_BODY = 1 << 20;

function readBody(req: IncomingMessage): Promise<string> {
  if (req.method === "GET" || req.method === "HEAD") return Promise.resolve("");
  return new Promise((done, fail) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        fail(new ApiError(413, -1000, "Request body too large."));
        req.destroy();
      } else chunks.push(c);
    });
    req.on("end", () => done(Buffer.concat(chunks).toString("utf8")));
    req.on("error", fail);
  });
}

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

/** 502, 503 and 504 come from the load balancer in front of the API, as an HTML page. */
const GATEWAY_HTML: Record<number, string> = {
  502: "Bad Gateway",
  503: "Service Temporarily Unavailable",
  504: "Gateway Time-out",
};

/** The reply to an injected status fault, shaped as Binance (or its load balancer, for 502-504) sends it. */
function faultReply(
  status: number,
  retryAfter: number | undefined,
  path: string,
  now: number,
  weightLimit: number,
): Reply {
  const headers: Record<string, string> =
    retryAfter === undefined ? {} : { "Retry-After": String(retryAfter) };
  const gateway = GATEWAY_HTML[status];
  if (path.startsWith("/data/"))
    return { status, body: `HTTP ${status}`, contentType: "text/plain", headers };
  if (gateway !== undefined) {
    return {
      status,
      body: `<html>\r\n<head><title>${status} ${gateway}</title></head>\r\n<body>\r\n<center><h1>${status} ${gateway}</h1></center>\r\n</body>\r\n</html>\r\n`,
      contentType: "text/html",
      headers,
    };
  }
  const body =
    status === 429
      ? path.startsWith("/fapi/")
        ? {
            code: -1003,
            msg: `Too many requests; current limit of IP(127.0.0.1) is ${weightLimit} requests per minute. Please use the websocket for live updates to avoid polling the API.`,
          }
        : // Spot's text (errors.md), the same as the weight limiter's own 429.
          { code: -1003, msg: tooMuchWeight(weightLimit, retryAfter ?? 1).message }
      : status === 418
        ? {
            code: -1003,
            msg: `Way too much request weight used; IP banned until ${now + (retryAfter ?? 120) * 1000}. Please use WebSocket Streams for live updates to avoid bans.`,
          }
        : status >= 500
          ? { code: -1000, msg: "An unknown error occurred while processing the request." }
          : { code: -1000, msg: `HTTP ${status}` };
  return { status, body: JSON.stringify(body), contentType: "application/json;charset=UTF-8", headers };
}

function errorReply(err: unknown, log: Logger): Reply {
  if (err instanceof ApiError) {
    return {
      status: err.status,
      body: err.body(),
      contentType: "application/json;charset=UTF-8",
      headers: err.headers,
    };
  }
  log.error(
    { err: err instanceof Error ? (err.stack ?? err.message) : String(err) },
    "simulator: handler failed",
  );
  return {
    status: 500,
    body: JSON.stringify({ code: -1000, msg: "An unknown error occurred while processing the request." }),
    contentType: "application/json;charset=UTF-8",
  };
}

/** Writes the reply; a drop fault writes the head and part of the body, then destroys the socket. */
function send(res: ServerResponse, reply: Reply, head: boolean, drop: HttpFault["drop"]): void {
  const body = typeof reply.body === "string" ? Buffer.from(reply.body) : reply.body;
  res.writeHead(reply.status, {
    "Content-Type": reply.contentType ?? "application/json;charset=UTF-8",
    "Content-Length": String(body.length),
    ...reply.headers,
  });
  if (drop !== undefined) {
    const n = Math.min(body.length, drop.bytes ?? Math.floor(body.length / 2));
    const cut = () => res.socket?.destroy();
    if (head || n === 0) res.flushHeaders();
    if (!head && n > 0) res.write(body.subarray(0, n), cut);
    else setImmediate(cut);
    return;
  }
  res.end(head ? undefined : body);
}

export async function startSimulator(opts: SimulatorOptions): Promise<Simulator> {
  const log = opts.log ?? silentLogger;
  const data = await Dataset.open({
    archive: opts.archive,
    dataFolder: opts.dataFolder,
    storeMarket: opts.storeMarket,
    timeColumn: opts.timeColumn,
    verify: opts.verify,
    log,
  });
  if (opts.preload) await Promise.all(data.symbols().map((e) => data.load(e)));
  const real = opts.realNow ?? (() => performance.now());
  const clock =
    opts.clock ??
    new VirtualClock({
      start: opts.start ?? data.coverage().end ?? Date.now(),
      speed: opts.speed ?? 1,
      real,
    });
  const wallClock = opts.realNow ?? (() => Date.now());
  let hub: StreamHub | undefined;
  const accounts = new Accounts(opts.accounts ?? [DEFAULT_ACCOUNT], opts.participation);
  const faults = new Faults(opts.faults ?? []);
  const users = new UserStreams({ clock, faults, accounts, log });
  const futures = new FuturesAccounts(opts.accounts ?? [DEFAULT_ACCOUNT], clock.now(), opts.participation);
  if (opts.onUserEvent !== undefined) futures.subscribe(opts.onUserEvent);
  // the futures accounts' events go out on their user-data streams, as the spot accounts' do
  futures.subscribe((apiKey, payload) => users.publish(apiKey, "um", payload));
  // Open futures orders fill (and their events go out) as soon as the clock is moved past a candle close.
  const stopSettling = clock.onChange((s) => futures.settle(s.now));
  const state: SimState = {
    clock,
    data,
    faults,
    requests: new RequestLog(),
    limiter: new WeightLimiter({ ...DEFAULT_WEIGHT_LIMITS, ...opts.weightLimits }, wallClock),
    forming: opts.forming ?? "full",
    accounts,
    futures,
    userStreams: users,
    log,
    streams: () => hub?.stats() ?? { connections: 0, subscriptions: 0, eventsSent: 0 },
  };
  const spotEvent = spotUserEvents();
  accounts.listen((account, event) => users.publish(account.apiKey, "spot", spotEvent(account, event)));
  const router = new Router()
    .add(marketRoutes())
    .add(orderRoutes())
    .add(futuresRoutes())
    .add(orderListRoutes())
    .add(users.routes())
    .add(archiveRoutes(data.archiveRoot))
    .add(adminRoutes());

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const path = url.pathname;
    const method = req.method ?? "GET";
    const head = method === "HEAD";
    const route = router.match(method, path);
    const body = await readBody(req).catch((err: unknown) => err);
    if (body instanceof Error) {
      send(res, errorReply(body, log), head, undefined);
      return;
    }
    const ctx = {
      method,
      path,
      params: url.searchParams,
      query: url.search.slice(1),
      headers: req.headers,
      body: body as string,
      state,
    };
    if (route?.admin === true) {
      let reply: Reply;
      try {
        reply = await route.handle(ctx);
      } catch (err) {
        reply = errorReply(err, log);
      }
      send(res, reply, head, undefined);
      return;
    }
    const seq = state.requests.seq();
    const time = clock.now();
    const fault = state.faults.forHttp(path, head ? "GET" : method);
    const weightLimit = state.limiter.limits[route?.market ?? (path.startsWith("/fapi/") ? "um" : "spot")];
    const record = (status: number, weight?: number) =>
      state.requests.add({
        seq,
        method,
        path,
        params: Object.fromEntries(url.searchParams),
        status,
        time,
        ...(weight === undefined ? {} : { weight }),
        ...(fault.fired.length > 0 ? { faults: fault.fired } : {}),
      });
    if (fault.delayMs > 0) await sleep(fault.delayMs);
    if (fault.drop?.reset) {
      record(0);
      req.socket.destroy();
      return;
    }
    let reply: Reply;
    let weight: number | undefined;
    if (fault.status !== undefined) {
      reply = faultReply(fault.status.status, fault.status.retryAfter, path, clock.now(), weightLimit);
    } else if (route === undefined) {
      reply = router.hasPath(path)
        ? { status: 405, body: "Method Not Allowed", contentType: "text/plain" }
        : { status: 404, body: "Not Found", contentType: "text/plain" };
    } else {
      try {
        if (route.market !== undefined && route.weight !== undefined) {
          weight = route.weight(url.searchParams);
          state.limiter.charge(route.market, weight);
        }
        reply = await route.handle(ctx);
      } catch (err) {
        reply = errorReply(err, log);
      }
      if (fault.acceptFail !== undefined) {
        // The request took effect; the client never learns it.
        if (fault.acceptFail.status === undefined) {
          await sleep(fault.acceptFail.delayMs);
          record(0, weight);
          req.socket.destroy();
          return;
        }
        reply = faultReply(fault.acceptFail.status, undefined, path, clock.now(), weightLimit);
      }
      if (route.market !== undefined) {
        const used = String(state.limiter.usedWeight(route.market));
        reply.headers = {
          ...reply.headers,
          "X-MBX-USED-WEIGHT": used,
          "X-MBX-USED-WEIGHT-1M": used,
          // Binance publishes its budget in exchangeInfo only; every reply here also announces
          // it, in the IETF draft's header, so a client can pace itself from the first reply.
          "RateLimit-Policy": weightPolicy(state.limiter.limits[route.market]),
        };
      }
    }
    send(res, reply, head, fault.drop);
    record(reply.status, weight);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log.error({ err: String(err) }, "simulator: request failed");
      if (!res.headersSent) send(res, errorReply(err, log), false, undefined);
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5_000;
  hub = new StreamHub(state, wallClock, opts.streams, users);
  const streams = hub;
  // Open orders fill as virtual time passes candle closes; listen keys lapse on the same clock.
  streams.onTick((now) => {
    accounts.settle(now);
    futures.settle(now);
    users.tick(now);
  });
  server.on("upgrade", (req, socket, headBuf: Buffer) => {
    if (!streams.handleUpgrade(req, socket, headBuf)) {
      socket.end("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    }
  });

  const host = opts.host ?? "127.0.0.1";
  const listen = (port: number) =>
    new Promise<void>((done, fail) => {
      server.once("error", fail);
      server.listen(port, host, () => {
        server.off("error", fail);
        done();
      });
    });
  try {
    await listen(opts.port ?? 0);
  } catch (err) {
    if (!(opts.anyPortIfTaken === true && (err as NodeJS.ErrnoException).code === "EADDRINUSE")) throw err;
    log.info({ port: opts.port }, "simulator: port in use, listening on a free one");
    await listen(0);
  }
  const port = (server.address() as AddressInfo).port;
  const hostPart = host.includes(":") ? `[${host}]` : host;
  log.info({ url: `http://${hostPart}:${port}`, symbols: data.symbols().length }, "simulator: listening");

  let closed: Promise<void> | undefined;
  return {
    url: `http://${hostPart}:${port}`,
    wsUrl: `ws://${hostPart}:${port}`,
    port,
    clock,
    faults: state.faults,
    requests: state.requests,
    data,
    streams: () => streams.stats(),
    userStreams: users,
    close() {
      closed ??= (async () => {
        stopSettling();
        await streams.close();
        await new Promise<void>((done) => {
          server.close(() => done());
          server.closeAllConnections();
        });
      })();
      return closed;
    },
  };
}
