import { ItbError, NetworkError } from "../../core/errors.js";
import { ExchangeRequestError } from "./retry.js";

/**
 * ccxt's errors → itb's, with the action the caller must take. ccxt already sorts exchange
 * answers into a hierarchy (OperationFailed ⊃ NetworkError ⊃ RateLimitExceeded, DDoSProtection,
 * ExchangeNotAvailable, RequestTimeout; ExchangeError ⊃ AuthenticationError, BadRequest ⊃
 * BadSymbol); a failure while reading a response body (a connection dropped mid-body) escapes
 * it as a raw undici error, so transport error codes are recognised here too.
 */

/** What the adapter saw of the last HTTP response (ccxt's `onRestResponse` hook). */
export interface ResponseInfo {
  status: number;
  headers: Record<string, string | undefined>;
}

export interface ErrorContext {
  /** ccxt exchange id, e.g. "binance". */
  venue: string;
  /** The exchange's symbol the request was about, if any. */
  symbol?: string;
  /** e.g. "GET klines BTCUSDT 1m from 2023-03-01T00:00:00.000Z". */
  request: string;
  /** The response the error came from; undefined when none arrived (timeout, dropped connection). */
  response?: ResponseInfo;
}

/** ccxt's error class names along the prototype chain (ccxt's classes are named after themselves). */
function ccxtKinds(err: unknown): Set<string> {
  const names = new Set<string>();
  if (!(err instanceof Error)) return names;
  for (let p = Object.getPrototypeOf(err); p && p !== Error.prototype; p = Object.getPrototypeOf(p)) {
    const name = (p as { constructor?: { name?: string } }).constructor?.name;
    if (name) names.add(name);
  }
  return names.has("BaseError") ? names : new Set();
}

/** Transport failures undici and Node report outside ccxt's hierarchy (e.g. a body cut short). */
const TRANSPORT_CODES = /^(UND_ERR_|ECONN|EPIPE|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH)/;

function isTransportError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && TRANSPORT_CODES.test(code)) return true;
    // undici's fetch reports a body cut short as TypeError("terminated"), a refused connect as "fetch failed".
    if (e.name === "TypeError" && /^(terminated|fetch failed)$/.test(e.message)) return true;
    if (e.name === "SocketError") return true;
  }
  return false;
}

export function headerValue(
  headers: Record<string, string | undefined> | undefined,
  name: string,
): string | undefined {
  if (headers === undefined) return undefined;
  const want = name.toLowerCase();
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === want) return v;
  return undefined;
}

/** `Retry-After` in ms: delta-seconds (RFC 9110) or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(
  headers: Record<string, string | undefined> | undefined,
  now: () => number = Date.now,
): number | undefined {
  const v = headerValue(headers, "retry-after")?.trim();
  if (v === undefined || v === "") return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const at = Date.parse(v);
  return Number.isFinite(at) ? Math.max(0, at - now()) : undefined;
}

/** `{"code":-1121,"msg":"Invalid symbol."}` inside a ccxt message, as "-1121 Invalid symbol". */
function exchangeCode(message: string): { code: number; msg: string } | undefined {
  const m = /\{\s*"code"\s*:\s*(-?\d+)\s*,\s*"msg"\s*:\s*"((?:[^"\\]|\\.)*)"/.exec(message);
  if (!m) return undefined;
  return { code: Number(m[1]), msg: (m[2] ?? "").replace(/\.$/, "") };
}

function venueName(venue: string): string {
  return venue.startsWith("binance") ? "Binance" : venue;
}

/** The exchange's own words for an error: "Binance -1121 Invalid symbol" or ccxt's message. */
function detail(err: Error, ctx: ErrorContext): string {
  const c = exchangeCode(err.message);
  if (c) return `${venueName(ctx.venue)} ${c.code} ${c.msg}`;
  const status = ctx.response?.status;
  const msg = err.message.length > 300 ? `${err.message.slice(0, 300)}…` : err.message;
  return status === undefined ? msg : `HTTP ${status}: ${msg}`;
}

/**
 * The itb error for a failed request: `retry` for rate limits (with Retry-After), 5xx,
 * timeouts, dropped connections and unreadable responses; `halt` for bad credentials, an
 * unknown symbol and other rejected requests. Errors that are neither ccxt's nor transport
 * failures are returned unchanged: they are bugs, and their stack should show.
 */
export function mapExchangeError(err: unknown, ctx: ErrorContext): unknown {
  if (err instanceof ItbError || !(err instanceof Error)) return err;
  const kinds = ccxtKinds(err);
  const status = ctx.response?.status;
  const who = ctx.symbol ?? ctx.venue;
  // The status decides first where it is unambiguous: ccxt classifies by body code, and Binance
  // answers an overload with 503 and -1008, which ccxt calls a plain ExchangeError.
  const exchangeFailure = kinds.size > 0;
  if (kinds.has("AuthenticationError") || (exchangeFailure && status === 401)) {
    return new NetworkError(
      `${ctx.venue}: the exchange refused the request as unauthorized (${detail(err, ctx)}); ` +
        "check api_key and api_secret (or ITB_API_KEY / ITB_API_SECRET) and the key's IP and permission settings",
      { status: status ?? 401, action: "halt", cause: err },
    );
  }
  if (
    kinds.has("RateLimitExceeded") ||
    kinds.has("DDoSProtection") ||
    (exchangeFailure && (status === 429 || status === 418))
  ) {
    const wait = retryAfterMs(ctx.response?.headers);
    const what = status === 418 ? "the exchange banned this IP for a while" : "rate limit exceeded";
    return new ExchangeRequestError(`${ctx.request}: ${what} (${detail(err, ctx)})`, {
      status,
      ...(wait === undefined ? {} : { retryAfterMs: wait }),
      cause: err,
    });
  }
  if (kinds.has("OperationFailed") || (exchangeFailure && status !== undefined && status >= 500)) {
    return new ExchangeRequestError(`${ctx.request}: ${err.name} (${detail(err, ctx)})`, {
      status,
      cause: err,
    });
  }
  if (kinds.has("BadSymbol")) {
    return new NetworkError(`${who}: the exchange does not know this symbol (${detail(err, ctx)})`, {
      status,
      action: "halt",
      cause: err,
    });
  }
  if (kinds.has("BaseError")) {
    return new NetworkError(`${ctx.request}: the exchange rejected the request (${detail(err, ctx)})`, {
      status,
      action: "halt",
      cause: err,
    });
  }
  if (isTransportError(err)) {
    const cause = err.cause instanceof Error ? `: ${err.cause.message}` : "";
    return new ExchangeRequestError(`${ctx.request}: connection failed (${err.message}${cause})`, {
      cause: err,
    });
  }
  return err;
}
