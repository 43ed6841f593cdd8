import type { FastifyReply, FastifyRequest } from "fastify";
import { DataError, UsageError } from "../../core/errors.js";
import type { LedgerTableName } from "../../live/ledger/types.js";
import type { EventHub } from "./events.js";
import {
  Candles,
  Configs,
  ControlAnswer,
  ControlRequest,
  EventsQuery,
  errorResponses,
  type JsonSchema,
  LEDGER_TABLE_NAMES,
  LedgerTableBody,
  MarketDetail,
  Markets,
  Models,
  PositionBody,
  PromoteAnswer,
  PromoteRequest,
  RangeQuery,
  ResultContent,
  Results,
  Session,
  Status,
} from "./schemas.js";
import type { ApiSource, RangeQuery as Range } from "./source.js";

/**
 * The routes of the HTTP API v1 as one table: each route's method, path, scope, schemas and
 * handler. The app registers them with Fastify and the OpenAPI document lists them, both
 * from this table. docs/api.md.
 */

export type RouteScope = "public" | "read" | "control";

export interface RouteContext {
  source: ApiSource;
  hub: EventHub;
  /** The scope the request was granted (set by the auth check). */
  scopeOf(req: FastifyRequest): "read" | "control";
  /** The OpenAPI document (built once). */
  openapi(): object;
}

export interface ApiRoute {
  method: "GET" | "POST";
  /** Fastify's form: /api/v1/markets/:id */
  url: string;
  scope: RouteScope;
  summary: string;
  params?: JsonSchema;
  query?: JsonSchema;
  body?: JsonSchema;
  /** Status → JSON schema of the answer. */
  responses: Record<string, JsonSchema>;
  /** Media types of the 200 answer other than JSON (events, a report's page). */
  produces?: readonly string[];
  handler(req: FastifyRequest, reply: FastifyReply, ctx: RouteContext): Promise<unknown>;
}

/** An answer with a status other than 200: `{"error": text}`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const idParam = (extra: Record<string, JsonSchema> = {}): JsonSchema => ({
  type: "object",
  properties: {
    id: { type: "string", description: "The market: <SYMBOL>-<freq>, e.g. BTCUSDT-1m" },
    ...extra,
  },
  required: ["id", ...Object.keys(extra)],
});

const noMarket = (id: string) =>
  new ApiError(404, `no market ${id}; GET /api/v1/markets lists them (ids like BTCUSDT-1m)`);

const NO_SERVICE = "no service runs: start itb serve";

function controlOf(ctx: RouteContext) {
  const c = ctx.source.control;
  if (c === undefined) throw new ApiError(409, NO_SERVICE);
  return c;
}

function range(req: FastifyRequest): Range {
  const q = req.query as Range;
  if (q.from !== undefined && q.to !== undefined && q.from >= q.to) {
    throw new ApiError(400, `from (${q.from}) must be before to (${q.to})`);
  }
  return q;
}

const READ_ERRORS = [401, 429] as const;
const CONTROL_ERRORS = [400, 401, 403, 409, 429] as const;

function killSwitch(action: "pause" | "resume" | "flatten", what: string): ApiRoute {
  return {
    method: "POST",
    url: `/api/v1/control/${action}`,
    scope: "control",
    summary: `${what}, for every market or one symbol's (applied at each market's next candle)`,
    body: ControlRequest,
    responses: { 200: ControlAnswer, ...errorResponses(CONTROL_ERRORS) },
    handler: async (req, _reply, ctx) => {
      const symbol = (req.body as { symbol?: string } | undefined)?.symbol;
      const markets = controlOf(ctx).apply(action, symbol);
      if (markets.length === 0) {
        throw new ApiError(
          409,
          `no market took ${action}${symbol === undefined ? "" : ` for ${symbol}`} (not trading, not ready yet, or no such symbol)`,
        );
      }
      return { action, markets: markets.map((m) => m.id) };
    },
  };
}

export const API_ROUTES: readonly ApiRoute[] = [
  {
    method: "GET",
    url: "/api/v1/openapi.json",
    scope: "public",
    summary: "This API's OpenAPI 3.1 document",
    responses: { 200: { type: "object", additionalProperties: true } },
    handler: async (_req, _reply, ctx) => ctx.openapi(),
  },
  {
    method: "GET",
    url: "/api/v1/session",
    scope: "read",
    summary: "What the presented token may do, and whether a service runs",
    responses: { 200: Session, ...errorResponses(READ_ERRORS) },
    handler: async (req, _reply, ctx) => ({
      scopes: ctx.scopeOf(req) === "control" ? ["read", "control"] : ["read"],
      mode: ctx.source.mode,
    }),
  },
  {
    method: "GET",
    url: "/api/v1/status",
    scope: "read",
    summary: "The service's version, readiness and markets",
    responses: { 200: Status, ...errorResponses(READ_ERRORS) },
    handler: async (_req, _reply, ctx) => ({
      version: ctx.source.version,
      mode: ctx.source.mode,
      now: ctx.source.now(),
      ready: ctx.source.ready(),
      markets: await ctx.source.markets(),
    }),
  },
  {
    method: "GET",
    url: "/api/v1/markets",
    scope: "read",
    summary: "Every market",
    responses: { 200: Markets, ...errorResponses(READ_ERRORS) },
    handler: async (_req, _reply, ctx) => ({ markets: await ctx.source.markets() }),
  },
  {
    method: "GET",
    url: "/api/v1/markets/:id",
    scope: "read",
    summary: "One market, with its signal rule's thresholds",
    params: idParam(),
    responses: { 200: MarketDetail, ...errorResponses([...READ_ERRORS, 404]) },
    handler: async (req, _reply, ctx) => {
      const { id } = req.params as { id: string };
      return (await ctx.source.market(id)) ?? Promise.reject(noMarket(id));
    },
  },
  {
    method: "GET",
    url: "/api/v1/markets/:id/candles",
    scope: "read",
    summary: "The candles the service processed, with their scores and signals (default: the last 1000)",
    params: idParam(),
    query: RangeQuery,
    responses: { 200: Candles, ...errorResponses([...READ_ERRORS, 400, 404]) },
    handler: async (req, _reply, ctx) => {
      const { id } = req.params as { id: string };
      return (await ctx.source.candles(id, range(req))) ?? Promise.reject(noMarket(id));
    },
  },
  {
    method: "GET",
    url: "/api/v1/markets/:id/position",
    scope: "read",
    summary: "The market's position after its last candle",
    params: idParam(),
    responses: { 200: PositionBody, ...errorResponses([...READ_ERRORS, 404]) },
    handler: async (req, _reply, ctx) => {
      const { id } = req.params as { id: string };
      return (await ctx.source.position(id)) ?? Promise.reject(noMarket(id));
    },
  },
  {
    method: "GET",
    url: "/api/v1/markets/:id/:table",
    scope: "read",
    summary: "A ledger table of the market (default: its last 1000 rows)",
    params: idParam({ table: { type: "string", enum: [...LEDGER_TABLE_NAMES] } }),
    query: RangeQuery,
    responses: { 200: LedgerTableBody, ...errorResponses([...READ_ERRORS, 400, 404]) },
    handler: async (req, _reply, ctx) => {
      const { id, table } = req.params as { id: string; table: LedgerTableName };
      return (await ctx.source.table(id, table, range(req))) ?? Promise.reject(noMarket(id));
    },
  },
  {
    method: "GET",
    url: "/api/v1/models",
    scope: "read",
    summary: "The model store of every market: versions, metrics, the current version",
    responses: { 200: Models, ...errorResponses(READ_ERRORS) },
    handler: async (_req, _reply, ctx) => ({ models: await ctx.source.models() }),
  },
  {
    method: "GET",
    url: "/api/v1/results",
    scope: "read",
    summary: "The stored results: simulations (itb simulate) and reports (itb report)",
    responses: { 200: Results, ...errorResponses(READ_ERRORS) },
    handler: async (_req, _reply, ctx) => ({ results: await ctx.source.results() }),
  },
  {
    method: "GET",
    url: "/api/v1/results/:market/:kind/:name",
    scope: "read",
    summary: "A result's content: simulation/simulation, report/report (JSON), report/html (the page)",
    params: {
      type: "object",
      properties: { market: { type: "string" }, kind: { type: "string" }, name: { type: "string" } },
      required: ["market", "kind", "name"],
    },
    responses: { 200: ResultContent, ...errorResponses([...READ_ERRORS, 404]) },
    produces: ["text/html"],
    handler: async (req, reply, ctx) => {
      const { market, kind, name } = req.params as { market: string; kind: string; name: string };
      const r = await ctx.source.result(market, kind, name);
      if (r === undefined) {
        throw new ApiError(404, `no result ${market}/${kind}/${name}; GET /api/v1/results lists them`);
      }
      if (r.type === "html") return reply.type("text/html; charset=utf-8").send(r.body);
      return r.body;
    },
  },
  {
    method: "GET",
    url: "/api/v1/config",
    scope: "read",
    summary: 'The configs in use, resolved, secrets masked as "***"',
    responses: { 200: Configs, ...errorResponses(READ_ERRORS) },
    handler: async (_req, _reply, ctx) => ({ configs: await ctx.source.configs() }),
  },
  killSwitch("pause", "No new entries (exits still go out)"),
  killSwitch("resume", "Allow new entries again"),
  killSwitch("flatten", "Close every position at market"),
  {
    method: "POST",
    url: "/api/v1/markets/:id/exit",
    scope: "control",
    summary: "Close one market's position at market at its next candle",
    params: idParam(),
    responses: { 200: ControlAnswer, ...errorResponses([...CONTROL_ERRORS, 404]) },
    handler: async (req, _reply, ctx) => {
      const { id } = req.params as { id: string };
      const took = controlOf(ctx).exit(id);
      if (took === undefined) throw noMarket(id);
      if (!took) throw new ApiError(409, `${id} does not trade (or is not ready yet): nothing to exit`);
      return { action: "exit", markets: [id] };
    },
  },
  {
    method: "POST",
    url: "/api/v1/models/:market/:name/promote",
    scope: "control",
    summary: "Make a model version current (the markets pick it up at their next candle)",
    params: {
      type: "object",
      properties: { market: { type: "string" }, name: { type: "string" } },
      required: ["market", "name"],
    },
    body: PromoteRequest,
    responses: { 200: PromoteAnswer, ...errorResponses([...CONTROL_ERRORS, 404]) },
    handler: async (req, _reply, ctx) => {
      const { market, name } = req.params as { market: string; name: string };
      const { version } = req.body as { version: number };
      const control = controlOf(ctx);
      try {
        return (await control.promote(market, name, version)) ?? Promise.reject(noMarket(market));
      } catch (err) {
        const known = err instanceof UsageError || err instanceof DataError;
        if (known && /^no model \S+ in the store|has no version \d+/.test(err.message)) {
          throw new ApiError(404, err.message);
        }
        if (known) throw new ApiError(400, err.message);
        throw err;
      }
    },
  },
  {
    method: "GET",
    url: "/api/v1/events",
    scope: "read",
    summary: "Server-sent events: candle, order, fill, trade, control; a ping comment every 15 s",
    query: EventsQuery,
    responses: {
      200: { type: "string", description: "text/event-stream" },
      ...errorResponses([...READ_ERRORS, 404]),
    },
    produces: ["text/event-stream"],
    handler: async (req, reply, ctx) => {
      const { market } = req.query as { market?: string };
      if (market !== undefined && (await ctx.source.market(market)) === undefined) throw noMarket(market);
      reply.hijack();
      ctx.hub.attach(reply.raw, market, reply.getHeaders());
      return undefined;
    },
  },
];
