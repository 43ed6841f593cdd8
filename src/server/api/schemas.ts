/**
 * The JSON schemas of the HTTP API v1: what each route accepts and answers. The routes carry
 * them (Fastify validates the parameters, queries and bodies with them) and the OpenAPI
 * document is built from the same objects, so the two cannot drift apart. docs/api.md.
 */

export type JsonSchema = Record<string, unknown>;

const num = { type: "number" } as const;
const numOrNull = { type: ["number", "null"] } as const;
const int = { type: "integer" } as const;
const str = { type: "string" } as const;
const strOrNull = { type: ["string", "null"] } as const;
const bool = { type: "boolean" } as const;
const openObject = { type: "object", additionalProperties: true } as const;
const numbers = { type: "object", additionalProperties: numOrNull } as const;

function object(properties: Record<string, JsonSchema>, description?: string): JsonSchema {
  return {
    type: "object",
    properties,
    required: Object.keys(properties),
    additionalProperties: false,
    ...(description === undefined ? {} : { description }),
  };
}

export const ErrorBody = object({ error: str }, "What went wrong, in clear text.");

const RateLimited = {
  type: "object",
  properties: { error: str, retryAfterSeconds: int },
  required: ["error", "retryAfterSeconds"],
  additionalProperties: false,
  description: "Too many failed attempts from this address; try again after retryAfterSeconds.",
} as const;

/** Every error status an API route may answer with, besides its own. */
export function errorResponses(statuses: readonly number[]): Record<string, JsonSchema> {
  const out: Record<string, JsonSchema> = {};
  for (const s of statuses) out[String(s)] = s === 429 ? RateLimited : ErrorBody;
  return out;
}

const side = { type: "integer", enum: [-1, 0, 1] } as const;

const Position = object({
  side,
  quantity: num,
  entry_price: numOrNull,
});

const LastCandle = {
  anyOf: [
    { type: "null" },
    object({
      time: num,
      open: numOrNull,
      high: numOrNull,
      low: numOrNull,
      close: numOrNull,
      volume: numOrNull,
      scores: numbers,
      signals: numbers,
      buy: bool,
      sell: bool,
    }),
  ],
} as const;

const summaryProperties = {
  id: { type: "string", description: "<SYMBOL>-<freq>, e.g. BTCUSDT-1m" },
  symbol: str,
  freq: str,
  trading: { type: ["string", "null"], enum: ["paper", "shadow", "live", null] },
  paused: { type: ["boolean", "null"] },
  health: object({
    status: { type: "string", enum: ["ok", "warming up", "stale", "stopped", "stored"] },
    detail: strOrNull,
  }),
  last: LastCandle,
  position: Position,
  equity: numOrNull,
  cash: numOrNull,
  initial_capital: num,
  pnl: numOrNull,
} as const;

export const MarketSummary = object(summaryProperties, "One market: one config's symbol at one frequency.");

export const MarketDetail = object({
  ...summaryProperties,
  thresholds: object(
    { score: strOrNull, buy: numOrNull, sell: numOrNull },
    "The signal rule's score column and its buy and sell thresholds.",
  ),
});

export const Session = object({
  scopes: { type: "array", items: { type: "string", enum: ["read", "control"] } },
  mode: { type: "string", enum: ["serve", "ui"] },
});

export const Status = object({
  version: str,
  mode: { type: "string", enum: ["serve", "ui"] },
  now: num,
  ready: bool,
  markets: { type: "array", items: MarketSummary },
});

export const Markets = object({ markets: { type: "array", items: MarketSummary } });

const cellValue = { type: ["number", "string", "null"] } as const;

export const Candles = object({
  market: str,
  columns: { type: "array", items: str },
  rows: { type: "array", items: { type: "array", items: numOrNull } },
});

export const LedgerTableBody = object({
  columns: { type: "array", items: str },
  types: { type: "array", items: { type: "string", enum: ["number", "time", "string"] } },
  rows: { type: "array", items: { type: "array", items: cellValue } },
});

export const PositionBody = object({
  side,
  quantity: num,
  entry_price: numOrNull,
  equity: numOrNull,
  cash: numOrNull,
});

export const Models = object({
  models: {
    type: "array",
    items: object({
      market: str,
      name: str,
      current: { type: ["integer", "null"] },
      versions: {
        type: "array",
        items: object({
          version: int,
          created_at: str,
          algorithm: str,
          features: int,
          metrics: openObject,
        }),
      },
    }),
  },
});

export const Results = object({
  results: {
    type: "array",
    items: object({
      market: strOrNull,
      kind: { type: "string", enum: ["simulation", "report"] },
      name: str,
      created_at: str,
      summary: openObject,
    }),
  },
});

export const ResultContent = {
  description: "The result's JSON (a report's HTML page as text/html).",
  ...openObject,
} as const;

export const Configs = object({
  configs: {
    type: "array",
    items: object({ file: str, config: { ...openObject, description: 'Secrets masked as "***".' } }),
  },
});

export const ControlRequest = {
  type: "object",
  properties: { symbol: { type: "string", minLength: 1 } },
  additionalProperties: false,
} as const;

export const ControlAnswer = object({
  action: { type: "string", enum: ["pause", "resume", "flatten", "exit"] },
  markets: { type: "array", items: str },
});

export const PromoteRequest = {
  type: "object",
  properties: { version: { type: "integer", minimum: 1 } },
  required: ["version"],
  additionalProperties: false,
} as const;

export const PromoteAnswer = object({ name: str, version: int });

export const RangeQuery = {
  type: "object",
  properties: {
    from: { type: "integer", description: "Candle open time, epoch ms, inclusive." },
    to: { type: "integer", description: "Candle open time, epoch ms, exclusive." },
    limit: {
      type: "integer",
      minimum: 1,
      maximum: 100_000,
      description: "At most this many rows, the latest (default 1000).",
    },
  },
  additionalProperties: false,
} as const;

export const EventsQuery = {
  type: "object",
  properties: { market: { type: "string", description: "Only this market's events." } },
  additionalProperties: false,
} as const;

export const LEDGER_TABLE_NAMES = ["signals", "decisions", "orders", "fills", "trades", "equity"] as const;

/** The data of each event of GET /api/v1/events (its `data:` line, JSON). */
export const EventSchemas: Record<string, JsonSchema> = {
  candle: object({
    market: str,
    time: num,
    open: numOrNull,
    high: numOrNull,
    low: numOrNull,
    close: numOrNull,
    volume: numOrNull,
    scores: numbers,
    signals: numbers,
    buy: bool,
    sell: bool,
    catch_up: bool,
  }),
  order: { type: "object", properties: { market: str }, required: ["market"], additionalProperties: true },
  fill: { type: "object", properties: { market: str }, required: ["market"], additionalProperties: true },
  trade: { type: "object", properties: { market: str }, required: ["market"], additionalProperties: true },
  control: object({ market: str, action: { type: "string", enum: ["pause", "resume", "exit"] } }),
};
