/**
 * Telegram's failure envelope: `{"ok":false,"error_code":400,"description":"Bad Request: ..."}`,
 * with `parameters` (retry_after, migrate_to_chat_id) when Telegram sends them. Descriptions
 * follow the Bot API server's wording (tdlib/telegram-bot-api), since clients match on them.
 */
export class BotApiError extends Error {
  readonly code: number;
  readonly parameters: Record<string, number> | undefined;
  constructor(code: number, description: string, parameters?: Record<string, number>) {
    super(description);
    this.name = "BotApiError";
    this.code = code;
    this.parameters = parameters;
  }

  envelope(): Record<string, unknown> {
    return {
      ok: false,
      error_code: this.code,
      description: this.message,
      ...(this.parameters === undefined ? {} : { parameters: this.parameters }),
    };
  }
}

export const badRequest = (what: string): BotApiError => new BotApiError(400, `Bad Request: ${what}`);

export const tooManyRequests = (retryAfter: number): BotApiError =>
  new BotApiError(429, `Too Many Requests: retry after ${retryAfter}`, { retry_after: retryAfter });

export const notFound = (): BotApiError => new BotApiError(404, "Not Found");

export const chatNotFound = (): BotApiError => badRequest("chat not found");

/** The API's Boolean parameters: "true", "yes" or "1" (any case, trimmed); anything else is false. */
export function toBool(value: string | undefined): boolean {
  const v = (value ?? "").trim().toLowerCase();
  return v === "true" || v === "yes" || v === "1";
}

/**
 * An integer parameter as the server reads it: an optional minus and the leading digits,
 * 0 for anything else, clamped to [min, max]; empty gives the default.
 */
export function intArg(value: string | undefined, def: number, min: number, max: number): number {
  if (value === undefined || value === "") return def;
  const m = /^(-?\d+)/.exec(value);
  const n = m?.[1] === undefined ? 0 : Number(m[1]);
  return Math.min(max, Math.max(min, Number.isFinite(n) ? n : 0));
}
