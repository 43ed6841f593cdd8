import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import type { Config } from "../../config/index.js";
import { errorMessage, UsageError } from "../../core/errors.js";
import type { Logger } from "../../core/log.js";
import { type ApiToken, isLoopback, type Scope, TokenGuard, type TokenGuardOptions } from "../auth.js";
import { type OpsOptions, parseAddress, registerOps } from "../ops.js";
import { EventHub } from "./events.js";
import { openApiDocument } from "./openapi.js";
import { API_ROUTES, ApiError, type RouteContext } from "./routes.js";
import type { ApiSource } from "./source.js";

/**
 * The HTTP server of `itb serve` and `itb ui`: the API v1 under /api/v1 (bearer tokens, see
 * auth.ts), the operations endpoints (/healthz, /readyz, /metrics, POST /control) and the
 * pages (registered by `registerPages`), on one port. docs/api.md.
 */
export interface ApiServerOptions {
  source: ApiSource;
  /** The events of GET /api/v1/events (a new hub when left out: pings only). */
  hub?: EventHub;
  /** The API's tokens; none: the API answers loopback clients only (see `authorize`). */
  tokens: readonly ApiToken[];
  /** Origins allowed to call the API from a browser (serve.cors_origins); none: no CORS headers. */
  corsOrigins?: readonly string[];
  log: Logger;
  /** The operations endpoints (itb serve). */
  ops?: Omit<OpsOptions, "authorize">;
  /** The pages' routes (HTML, scripts, assets), registered after the API's. */
  registerPages?: (app: FastifyInstance) => Promise<void>;
  /** The token guard's failure limit (tests). */
  guard?: TokenGuardOptions;
}

export interface ApiServer {
  readonly url: string;
  readonly app: FastifyInstance;
  readonly hub: EventHub;
  close(): Promise<void>;
}

/** The API's tokens from the configs (serve_read_token, serve_control_token: one or comma-separated). */
export function apiTokensOf(
  configs: readonly Pick<Config, "serve_read_token" | "serve_control_token">[],
): ApiToken[] {
  const out = new Map<string, ApiToken>();
  for (const c of configs) {
    for (const scope of ["read", "control"] as const) {
      const value = scope === "read" ? c.serve_read_token : c.serve_control_token;
      for (const token of (value ?? "").split(",").map((t) => t.trim())) {
        if (token === "") continue;
        const before = out.get(token);
        if (before === undefined || scope === "control") out.set(token, { token, scope });
      }
    }
  }
  return [...out.values()];
}

function guardOf(tokens: readonly ApiToken[], o: TokenGuardOptions | undefined): TokenGuard {
  try {
    return new TokenGuard(tokens, o);
  } catch (err) {
    if (err instanceof RangeError) {
      throw new UsageError(`serve_read_token / serve_control_token: ${err.message}`);
    }
    throw err;
  }
}

/** A Host header naming this machine (the open, tokenless API refuses others: DNS rebinding). */
function loopbackHost(host: string | undefined): boolean {
  if (host === undefined) return false;
  const m = /^(\[[^\]]+\]|[^:]+)(?::\d+)?$/.exec(host);
  return m !== null && isLoopback(m[1] as string);
}

export async function buildApiApp(o: ApiServerOptions): Promise<{ app: FastifyInstance; hub: EventHub }> {
  const hub = o.hub ?? new EventHub();
  const guard = guardOf(o.tokens, o.guard);
  const cors = new Set(o.corsOrigins ?? []);
  const app = Fastify({
    logger: false,
    forceCloseConnections: true,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: true } },
  });
  // JSON.stringify everywhere: NaN goes out as null, and no field is dropped by a schema
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  app.addContentTypeParser("application/json", { parseAs: "string" }, (_req, body, done) => {
    const text = String(body);
    if (text.trim() === "") {
      done(null, undefined);
      return;
    }
    try {
      done(null, JSON.parse(text));
    } catch {
      const err = new ApiError(400, "the body is not valid JSON");
      done(err, undefined);
    }
  });

  const scopes = new WeakMap<FastifyRequest, Scope>();
  /** Answers 401/403/429 and returns false, or records the request's scope. */
  const authorize = (req: FastifyRequest, reply: FastifyReply, need: Scope): boolean => {
    const client = req.socket.remoteAddress ?? "unknown";
    if (!guard.hasTokens) {
      // no token configured: the server listens on loopback only (startApiServer), and the
      // API answers requests that name this machine
      if (isLoopback(client) && loopbackHost(req.headers.host)) {
        scopes.set(req, "control");
        return true;
      }
      reply.code(401).header("www-authenticate", 'Bearer realm="itb"');
      reply.send({ error: "no API token is configured: the API answers on this machine only" });
      return false;
    }
    const v = guard.check(req.headers.authorization, need, client);
    if (v.ok) {
      scopes.set(req, v.scope);
      return true;
    }
    if (v.status === 401) reply.header("www-authenticate", 'Bearer realm="itb"');
    if (v.status === 429) {
      reply.header("retry-after", String(v.retryAfterSeconds));
      reply.code(429).send({ error: v.reason, retryAfterSeconds: v.retryAfterSeconds });
      return false;
    }
    reply.code(v.status).send({ error: v.reason });
    return false;
  };

  app.addHook("onRequest", async (req, reply) => {
    const origin = req.headers.origin;
    // A page of another site must not steer the service through a visitor's browser (the
    // tokenless loopback mode would let it): a request that changes something is refused when
    // the browser says it comes from another origin.
    if (req.method !== "GET" && req.method !== "HEAD" && req.method !== "OPTIONS") {
      const site = req.headers["sec-fetch-site"];
      const foreign =
        (origin !== undefined && origin !== `http://${req.headers.host ?? ""}` && !cors.has(origin)) ||
        (origin === undefined && (site === "cross-site" || site === "same-site"));
      if (foreign) {
        return reply.code(403).send({ error: `cross-origin request refused (origin ${origin ?? site})` });
      }
    }
    if (origin !== undefined && cors.has(origin) && req.url.startsWith("/api/")) {
      reply.header("access-control-allow-origin", origin);
      reply.header("vary", "Origin");
      reply.header("access-control-allow-headers", "authorization, content-type");
      reply.header("access-control-allow-methods", "GET, POST");
      reply.header("access-control-max-age", "600");
    }
  });
  if (cors.size > 0) {
    app.options("/api/v1/*", async (req, reply) => {
      const origin = req.headers.origin;
      return reply.code(origin !== undefined && cors.has(origin) ? 204 : 403).send();
    });
  }

  app.setErrorHandler((err: Error & { statusCode?: number; validation?: unknown }, req, reply) => {
    if (err instanceof ApiError) return reply.code(err.status).send({ error: err.message });
    const status = err.statusCode ?? 500;
    if (status >= 500) {
      o.log.error({ method: req.method, path: req.url.split("?")[0], err: errorMessage(err) }, "API error");
      return reply.code(500).send({ error: `internal error: ${errorMessage(err)}` });
    }
    if (req.url.split("?")[0] === "/control" && status === 400) {
      return reply
        .code(400)
        .send({ error: 'expected a JSON body {"action": "pause"|"resume"|"flatten", "symbol"?}' });
    }
    return reply.code(status).send({ error: err.message });
  });
  app.setNotFoundHandler(async (req, reply) => {
    const path = req.url.split("?")[0] ?? "/";
    return reply.code(404).send({
      error: path.startsWith("/api/")
        ? `no endpoint ${req.method} ${path}; GET /api/v1/openapi.json lists them`
        : `no endpoint ${path}; try /healthz, /readyz or /metrics`,
    });
  });

  if (o.ops !== undefined) {
    registerOps(app, {
      ...o.ops,
      ...(guard.hasTokens ? { authorize: (req, reply) => authorize(req, reply, "control") } : {}),
    });
  }

  let doc: object | undefined;
  const ctx: RouteContext = {
    source: o.source,
    hub,
    scopeOf: (req) => scopes.get(req) ?? "read",
    openapi: () => {
      doc ??= openApiDocument(API_ROUTES, o.source.version);
      return doc;
    },
  };
  for (const r of API_ROUTES) {
    const scope = r.scope;
    app.route({
      method: r.method,
      url: r.url,
      schema: {
        ...(r.params === undefined ? {} : { params: r.params }),
        ...(r.query === undefined ? {} : { querystring: r.query }),
        ...(r.body === undefined ? {} : { body: r.body }),
      },
      ...(scope === "public"
        ? {}
        : {
            // before the body is parsed or validated: a caller without a token learns nothing
            onRequest: async (req: FastifyRequest, reply: FastifyReply) => {
              if (!authorize(req, reply, scope)) return reply;
              return undefined;
            },
          }),
      preValidation: async (req: FastifyRequest) => {
        if (r.body !== undefined && req.body === undefined) req.body = {};
      },
      handler: (req, reply) => r.handler(req, reply, ctx),
    });
  }
  await o.registerPages?.(app);
  return { app, hub };
}

/**
 * Builds the server and listens on `address`. A non-loopback address without a token is
 * refused (the API would be open to the network).
 */
export async function startApiServer(o: ApiServerOptions & { address: string }): Promise<ApiServer> {
  const { host, port } = parseAddress(o.address);
  if (o.tokens.length === 0 && !isLoopback(host)) {
    throw new UsageError(
      `refusing to listen on ${o.address} without an API token: anyone who reaches it could read and steer the service. ` +
        "Set serve_read_token and/or serve_control_token (16 characters or more; or ITB_SERVE_READ_TOKEN / ITB_SERVE_CONTROL_TOKEN, or the secrets file), or listen on 127.0.0.1",
    );
  }
  const { app, hub } = await buildApiApp(o);
  try {
    await app.listen({ host, port });
  } catch (err) {
    hub.close();
    await app.close().catch(() => undefined);
    if ((err as NodeJS.ErrnoException).code === "EADDRINUSE") {
      throw new UsageError(
        `cannot listen on ${o.address}: the address is in use (serve.address sets another)`,
      );
    }
    throw err;
  }
  const a = app.server.address();
  const bound = typeof a === "object" && a !== null ? a : { address: host, port, family: "IPv4" };
  const shown = bound.family === "IPv6" ? `[${bound.address}]` : bound.address;
  return {
    url: `http://${shown}:${bound.port}`,
    app,
    hub,
    close: async () => {
      hub.close();
      await app.close();
    },
  };
}
