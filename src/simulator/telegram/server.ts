import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { adminReply } from "./admin.js";
import { BotApiError, notFound, tooManyRequests } from "./apiError.js";
import { parseCallArgs, readBody } from "./body.js";
import { Bot, maskToken, tokenBotId } from "./bot.js";
import { Faults, FloodLimiter, type GatewayFault } from "./faults.js";
import { type Call, Described, METHODS, type Shared } from "./methods.js";
import type {
  CallbackAnswer,
  PhotoFile,
  RequestRecord,
  SentMessage,
  TelegramSim,
  TelegramSimOptions,
  UserUpdate,
} from "./types.js";

/**
 * `startTelegramSim`: a Telegram Bot API server on loopback. Clients call
 * `<url>/bot<token>/<method>` exactly as they call https://api.telegram.org (grammy: the
 * `client.apiRoot` option), and get Telegram's envelopes, error texts and limits; tests push
 * users' messages and button presses, read what the bot sent, and inject faults.
 */

const SERVER_HEADERS = {
  Server: "nginx/1.18.0",
  "Access-Control-Allow-Origin": "*",
  "Access-Control-Expose-Headers": "Content-Length,Content-Type,Date,Server,Connection",
};

const STATUS_TEXT: Record<number, string> = {
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

function write(res: ServerResponse, status: number, body: string, type: string, headers: object = {}): void {
  if (res.destroyed || res.writableEnded) return;
  const bytes = Buffer.from(body, "utf8");
  res.writeHead(status, {
    ...SERVER_HEADERS,
    "Content-Type": type,
    "Content-Length": String(bytes.length),
    ...headers,
  });
  res.end(bytes);
}

/** nginx's page for a gateway error, as api.telegram.org's front sends it when the backend is down. */
function nginxPage(status: number): string {
  const title = `${status} ${STATUS_TEXT[status] ?? "Error"}`;
  return `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n</body>\r\n</html>\r\n`;
}

function oneLine(text: string): string {
  return text.replace(/\r?\n/g, " ⏎ ");
}

function kb(size: number): string {
  const k = size / 1024;
  return k < 10 ? k.toFixed(1) : String(Math.round(k));
}

/** The terminal line for a message the bot sent or edited. */
function messageLine(m: SentMessage, edit: boolean, withBot: boolean): string {
  const who = `${withBot ? `bot ${m.bot_id} ` : ""}chat ${m.chat_id}`;
  if (edit) return `${who} edit ${m.message_id}: ${oneLine(m.text ?? "")}`;
  if (m.kind === "photo") {
    const caption = m.caption === undefined ? "" : ` ${oneLine(m.caption)}`;
    return `${who} photo: [photo ${kb(m.photo?.size ?? 0)} KB]${caption}`;
  }
  return `${who} text: ${oneLine(m.text ?? "")}`;
}

function checkOptions(opts: TelegramSimOptions): void {
  if (!Array.isArray(opts.tokens) || opts.tokens.length === 0) {
    throw new RangeError("no bot token: give at least one token of the form 123456:ABC-DEF...");
  }
  const ids = new Set<number>();
  for (const t of opts.tokens) {
    const id = typeof t === "string" ? tokenBotId(t) : undefined;
    if (id === undefined) {
      throw new RangeError(`bot token ${maskToken(String(t))} is not of the form 123456:ABC-DEF...`);
    }
    if (ids.has(id)) throw new RangeError(`two tokens for bot ${id}`);
    ids.add(id);
  }
  for (const c of opts.chats ?? []) {
    if (!Number.isSafeInteger(c) || c === 0) throw new RangeError(`chat id ${c} is not a non-zero integer`);
  }
}

export async function startTelegramSim(opts: TelegramSimOptions): Promise<TelegramSim> {
  checkOptions(opts);
  const now = opts.now ?? (() => Date.now());
  const faults = new Faults(now);
  const flood = new FloodLimiter(opts.floodLimit, now);
  const bots = new Map<string, Bot>(opts.tokens.map((t) => [t, new Bot(t, opts.chats)]));
  const first = bots.values().next().value as Bot;
  let messages: SentMessage[] = [];
  let requests: RequestRecord[] = [];
  const answers: CallbackAnswer[] = [];
  const photos = new Map<string, PhotoFile>();
  const withBot = bots.size > 1;
  const shared: Shared = {
    now,
    faults,
    flood,
    answers,
    photos,
    sent(m, edit) {
      if (!edit) messages.push(m);
      opts.log?.(messageLine(m, edit, withBot));
    },
  };

  const reply = (res: ServerResponse, rec: RequestRecord | undefined, err: BotApiError): void => {
    if (rec !== undefined && !res.destroyed) {
      rec.status = err.code;
      rec.description = err.message;
    }
    const retry = err.parameters?.retry_after;
    write(
      res,
      err.code,
      JSON.stringify(err.envelope()),
      "application/json",
      retry === undefined ? {} : { "Retry-After": String(retry) },
    );
  };

  const gatewayReply = (
    res: ServerResponse,
    rec: RequestRecord,
    f: GatewayFault,
    req: IncomingMessage,
  ): void => {
    req.resume();
    if (f.kind === "timeout") return; // held: the client gives up, or close() cuts it
    if (f.kind === "outage" && f.reset) {
      req.socket.destroy();
      return;
    }
    const status = f.kind === "outage" ? 502 : f.status;
    const description = STATUS_TEXT[status] ?? "Error";
    if (f.kind === "serverError" && f.html) {
      rec.status = status;
      rec.description = description;
      write(res, status, nginxPage(status), "text/html");
      return;
    }
    reply(res, rec, new BotApiError(status, description));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const path = url.pathname;
    const httpMethod = req.method ?? "GET";
    if (path.startsWith("/admin/") || path === "/admin") {
      const body = (await readBody(req)).toString("utf8");
      const r = adminReply(sim, httpMethod, path, body);
      write(res, r.status, JSON.stringify(r.body), "application/json");
      return;
    }
    const m = /^\/bot([^/]*)\/(.*)$/.exec(path);
    const token = m?.[1] ?? "";
    const name = m?.[2] ?? "";
    const method = name.toLowerCase();
    const rec: RequestRecord = {
      method: name,
      path: m === null ? path : `/bot${maskToken(token)}/${name}`,
      httpMethod,
      status: 0,
      at: now(),
    };
    requests.push(rec);
    if (m === null) {
      req.resume();
      reply(res, rec, notFound());
      return;
    }
    const gateway = faults.gateway(method);
    if (gateway !== undefined) {
      rec.fault = gateway.kind;
      gatewayReply(res, rec, gateway, req);
      return;
    }
    try {
      const body = await readBody(req);
      const { args, files } = parseCallArgs(url, req.headers["content-type"], body);
      if (tokenBotId(token) === undefined) throw notFound();
      const bot = bots.get(token);
      if (bot === undefined) throw new BotApiError(401, "Unauthorized");
      const retry = faults.rateLimited(method);
      if (retry !== undefined) {
        rec.fault = "rateLimit";
        throw tooManyRequests(retry);
      }
      const handler = METHODS.get(method);
      if (handler === undefined) throw notFound();
      const call: Call = { name, args, files, bot, onClose: (cb) => res.once("close", cb) };
      const result = await handler(call, shared);
      if (res.destroyed) return;
      rec.status = 200;
      const envelope =
        result instanceof Described
          ? { ok: true, result: result.result, description: result.description }
          : { ok: true, result };
      write(res, 200, JSON.stringify(envelope), "application/json");
    } catch (err) {
      if (!(err instanceof BotApiError)) throw err;
      reply(res, rec, err);
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      // A bug in the simulator: Telegram's 500, and the reason on the log line.
      opts.log?.(`telegram-sim: internal error: ${err instanceof Error ? err.message : String(err)}`);
      write(
        res,
        500,
        JSON.stringify({ ok: false, error_code: 500, description: "Internal Server Error" }),
        "application/json",
      );
    });
  });
  server.keepAliveTimeout = 5_000;

  const host = opts.host ?? "127.0.0.1";
  await new Promise<void>((done, fail) => {
    server.once("error", fail);
    server.listen(opts.port ?? 0, host, () => {
      server.off("error", fail);
      done();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const hostPart = host.includes(":") ? `[${host}]` : host;

  const botFor = (u: UserUpdate): Bot => {
    if (u === null || typeof u !== "object") throw new RangeError("pushUpdate: expected an update object");
    if (u.botId === undefined) return first;
    const bot = [...bots.values()].find((b) => b.id === u.botId);
    if (bot === undefined) throw new RangeError(`pushUpdate: no bot ${u.botId}`);
    return bot;
  };

  let closed: Promise<void> | undefined;
  const sim: TelegramSim = {
    url: `http://${hostPart}:${port}`,
    port,
    messages: () => [...messages],
    requests: () => requests.map((r) => ({ ...r })),
    callbackAnswers: () => answers.map((a) => ({ ...a })),
    pushUpdate: (u) => botFor(u).push(u, Math.floor(now() / 1000)),
    faults,
    reset() {
      messages = [];
      requests = [];
      answers.length = 0;
      photos.clear();
      faults.clear();
      flood.reset();
      for (const b of bots.values()) b.reset();
    },
    close() {
      closed ??= new Promise<void>((done) => {
        for (const b of bots.values()) b.close();
        server.close(() => done());
        server.closeAllConnections();
      });
      return closed;
    },
  };
  return sim;
}
