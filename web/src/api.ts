/**
 * The pages' side of the HTTP API v1 (docs/dashboard.md): the token kept in sessionStorage, every
 * request with `Authorization: Bearer`, the event stream read with fetch() (the token never goes
 * into a URL). A 401 forgets the token and sends the page back to the login.
 */

import { SseParser } from "./sse.js";

const TOKEN_KEY = "itb.token";

export function token(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function saveToken(t: string): void {
  sessionStorage.setItem(TOKEN_KEY, t);
}

export function forgetToken(): void {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** An answer other than 2xx, with the API's `error` text. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

/** Called when the API refuses the token (401); the shell shows the login again. */
let onUnauthorized: (message: string) => void = () => {};
export function setUnauthorizedHandler(fn: (message: string) => void): void {
  onUnauthorized = fn;
}

async function errorOf(res: Response): Promise<ApiError> {
  let text = `${res.status} ${res.statusText}`;
  let retry: number | undefined;
  try {
    const body = (await res.json()) as { error?: unknown; retryAfterSeconds?: unknown };
    if (typeof body.error === "string") text = body.error;
    if (typeof body.retryAfterSeconds === "number") retry = body.retryAfterSeconds;
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(res.status, text, retry);
}

/** A request with the given token (the login's check) or the stored one. */
export async function request(
  path: string,
  init: { method?: string; body?: unknown; token?: string; signal?: AbortSignal } = {},
): Promise<Response> {
  const t = init.token ?? token();
  if (t === null) {
    onUnauthorized("");
    throw new ApiError(401, "not logged in");
  }
  const headers: Record<string, string> = { authorization: `Bearer ${t}`, accept: "application/json" };
  if (init.body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(path, {
    method: init.method ?? "GET",
    headers,
    body: init.body === undefined ? null : JSON.stringify(init.body),
    cache: "no-store",
    credentials: "omit",
    signal: init.signal ?? null,
  });
  if (!res.ok) {
    const err = await errorOf(res);
    if (res.status === 401 && init.token === undefined) {
      forgetToken();
      onUnauthorized(err.message);
    }
    throw err;
  }
  return res;
}

export async function getJson<T>(
  path: string,
  init: { token?: string; signal?: AbortSignal } = {},
): Promise<T> {
  return (await (await request(path, init)).json()) as T;
}

export async function postJson<T>(path: string, body: unknown = {}): Promise<T> {
  return (await (await request(path, { method: "POST", body })).json()) as T;
}

// ---- the contract's shapes -------------------------------------------------------------------

export type Scope = "read" | "control";

export interface Session {
  scopes: Scope[];
  mode: "serve" | "ui";
}

export interface LastCandle {
  time: number;
  open: number | null;
  high: number | null;
  low: number | null;
  close: number | null;
  volume: number | null;
  scores: Record<string, number | null>;
  signals: Record<string, number | null>;
  buy: boolean;
  sell: boolean;
}

export interface MarketSummary {
  id: string;
  symbol: string;
  freq: string;
  trading: "paper" | "shadow" | "live" | null;
  paused: boolean | null;
  health: { status: string; detail: string | null };
  last: LastCandle | null;
  position: { side: -1 | 0 | 1; quantity: number | null; entry_price: number | null };
  equity: number | null;
  cash: number | null;
  initial_capital: number;
  pnl: number | null;
}

export interface MarketDetail extends MarketSummary {
  thresholds: { score: string | null; buy: number | null; sell: number | null };
}

export interface Status {
  version: string;
  mode: "serve" | "ui";
  now: number;
  ready: boolean;
  markets: MarketSummary[];
}

export interface Table {
  columns: string[];
  types?: string[];
  rows: (number | string | null)[][];
}

export interface Position {
  side: -1 | 0 | 1;
  quantity: number | null;
  entry_price: number | null;
  equity: number | null;
  cash: number | null;
}

export interface ModelVersion {
  version: number;
  created_at: string;
  algorithm: string;
  features: number;
  metrics: Record<string, unknown>;
}

export interface ModelEntry {
  market: string;
  name: string;
  current: number | null;
  versions: ModelVersion[];
}

export interface ResultEntry {
  market: string | null;
  kind: string;
  name: string;
  created_at: string;
  summary: Record<string, unknown>;
}

export interface ControlAnswer {
  action: string;
  markets: string[];
}

/** A table's rows as objects by column name. */
export function records(t: Table): Record<string, number | string | null>[] {
  return t.rows.map((r) => Object.fromEntries(t.columns.map((c, i) => [c, r[i] ?? null])));
}

export const marketPath = (id: string): string => `/api/v1/markets/${encodeURIComponent(id)}`;

// ---- the event stream ------------------------------------------------------------------------

export interface StreamEvent {
  event: string;
  data: unknown;
}

/**
 * Reads `GET path` as text/event-stream until `signal` aborts, calling `onEvent` for each event
 * (comments and pings are skipped) and `onState` when the stream opens or drops; reconnects
 * after a drop with a growing delay (1 s up to 15 s). A 401 ends it (and the login shows).
 */
export async function followEvents(
  path: string,
  onEvent: (e: StreamEvent) => void,
  o: { signal: AbortSignal; onState?: (open: boolean) => void },
): Promise<void> {
  let delay = 1000;
  while (!o.signal.aborted) {
    try {
      const res = await request(path, { signal: o.signal });
      const body = res.body;
      if (body === null) throw new Error("the event stream has no body");
      o.onState?.(true);
      delay = 1000;
      await readEvents(body, onEvent);
    } catch (err) {
      if (err instanceof ApiError && (err.status === 401 || err.status === 403)) return;
      if (o.signal.aborted) return;
    }
    o.onState?.(false);
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(15_000, delay * 2);
  }
}

async function readEvents(
  body: ReadableStream<Uint8Array>,
  onEvent: (e: StreamEvent) => void,
): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const parser = new SseParser();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    for (const e of parser.push(decoder.decode(value, { stream: true }))) {
      let data: unknown = e.data;
      try {
        data = JSON.parse(e.data);
      } catch {
        // not JSON: the text as it came
      }
      onEvent({ event: e.event, data });
    }
  }
}
