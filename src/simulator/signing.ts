import { createHmac, timingSafeEqual } from "node:crypto";
import type { Account, Accounts } from "./account.js";
import { ApiError, mandatoryParam } from "./errors.js";
import type { RequestContext } from "./router.js";

/**
 * Binance's SIGNED request check: the API key in the `X-MBX-APIKEY` header names an account;
 * `signature` is the hex HMAC-SHA256, under the account's secret, of the query string followed
 * directly by the request body (each without its `signature` parameter); `timestamp` must lie
 * within `recvWindow` (default 5000, at most 60000 ms) before the virtual clock and at most
 * 1000 ms after it. Errors carry Binance's codes and texts.
 */

const DEFAULT_RECV_WINDOW = 5000;
const MAX_RECV_WINDOW = 60_000;

/** The raw text without its `signature=` parameter, and the signature it carried. */
function withoutSignature(raw: string): { text: string; signature: string | undefined } {
  let signature: string | undefined;
  const kept: string[] = [];
  for (const part of raw.split("&")) {
    if (part.startsWith("signature=")) signature = part.slice("signature=".length);
    else if (part !== "") kept.push(part);
  }
  return { text: kept.join("&"), signature };
}

/** Query and form-body parameters together (a signed POST sends them in the body). */
export function allParams(ctx: RequestContext): URLSearchParams {
  const out = new URLSearchParams(ctx.params);
  if (ctx.body !== "") for (const [k, v] of new URLSearchParams(ctx.body)) out.append(k, v);
  out.delete("signature");
  return out;
}

function headerValue(ctx: RequestContext, name: string): string | undefined {
  const v = ctx.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The account named by the `X-MBX-APIKEY` header alone (USER_STREAM endpoints), or Binance's error. */
export function apiKeyAccount(ctx: RequestContext, accounts: Accounts): Account {
  const key = headerValue(ctx, "x-mbx-apikey");
  if (key === undefined || key === "") {
    throw new ApiError(401, -2015, "Invalid API-key, IP, or permissions for action.");
  }
  const account = accounts.byKey(key);
  if (account === undefined) throw new ApiError(401, -2014, "API-key format invalid.");
  return account;
}

/** The account a signed request acts for, or the ApiError Binance answers with. */
export function authenticate(ctx: RequestContext, accounts: Accounts): Account {
  const account = apiKeyAccount(ctx, accounts);
  const q = withoutSignature(ctx.query);
  const b = withoutSignature(ctx.body);
  const sent = q.signature ?? b.signature;
  if (sent === undefined || sent === "") throw mandatoryParam("signature");
  const params = allParams(ctx);
  const tsText = params.get("timestamp");
  if (tsText === null || tsText === "") throw mandatoryParam("timestamp");
  const timestamp = Number(tsText);
  if (!/^\d{1,20}$/.test(tsText)) {
    throw new ApiError(
      400,
      -1100,
      "Illegal characters found in parameter 'timestamp'; legal range is '^[0-9]{1,20}$'.",
    );
  }
  const rwText = params.get("recvWindow");
  const recvWindow = rwText === null || rwText === "" ? DEFAULT_RECV_WINDOW : Number(rwText);
  if (!Number.isFinite(recvWindow) || recvWindow < 0 || recvWindow > MAX_RECV_WINDOW) {
    throw new ApiError(400, -1131, "recvWindow must be less than 60000");
  }
  const expected = createHmac("sha256", account.secret)
    .update(q.text + b.text)
    .digest();
  const given = /^[0-9a-fA-F]{64}$/.test(sent) ? Buffer.from(sent, "hex") : undefined;
  if (given === undefined || !timingSafeEqual(given, expected)) {
    throw new ApiError(400, -1022, "Signature for this request is not valid.");
  }
  const now = ctx.state.clock.now();
  if (!(timestamp < now + 1000 && now - timestamp <= recvWindow)) {
    throw new ApiError(400, -1021, "Timestamp for this request is outside of the recvWindow.");
  }
  return account;
}

/**
 * A WebSocket API request's signed params (`apiKey`, `timestamp`, `signature`, ...): the
 * signature is the hex HMAC-SHA256 of the other params sorted by name and joined as
 * `key=value&...`; the timestamp is checked against the virtual clock as for REST.
 */
export function authenticateWsParams(
  params: Record<string, unknown>,
  accounts: Accounts,
  now: number,
): Account {
  const text = (name: string): string | undefined => {
    const v = params[name];
    return typeof v === "string" || typeof v === "number" ? String(v) : undefined;
  };
  const key = text("apiKey");
  if (key === undefined || key === "") throw mandatoryParam("apiKey");
  const account = accounts.byKey(key);
  if (account === undefined)
    throw new ApiError(401, -2015, "Invalid API-key, IP, or permissions for action.");
  const sent = text("signature");
  if (sent === undefined || sent === "") throw mandatoryParam("signature");
  const tsText = text("timestamp");
  if (tsText === undefined || tsText === "") throw mandatoryParam("timestamp");
  const rwText = text("recvWindow");
  const recvWindow = rwText === undefined ? DEFAULT_RECV_WINDOW : Number(rwText);
  if (!Number.isFinite(recvWindow) || recvWindow < 0 || recvWindow > MAX_RECV_WINDOW) {
    throw new ApiError(400, -1131, "recvWindow must be less than 60000");
  }
  const payload = Object.keys(params)
    .filter((k) => k !== "signature")
    .sort()
    .map((k) => `${k}=${text(k) ?? ""}`)
    .join("&");
  const expected = createHmac("sha256", account.secret).update(payload).digest();
  const given = /^[0-9a-fA-F]{64}$/.test(sent) ? Buffer.from(sent, "hex") : undefined;
  if (given === undefined || !timingSafeEqual(given, expected)) {
    throw new ApiError(400, -1022, "Signature for this request is not valid.");
  }
  const timestamp = Number(tsText);
  if (!(timestamp < now + 1000 && now - timestamp <= recvWindow)) {
    throw new ApiError(400, -1021, "Timestamp for this request is outside of the recvWindow.");
  }
  return account;
}
