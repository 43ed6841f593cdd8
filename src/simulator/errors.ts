/**
 * Binance's error replies: an HTTP status and a `{"code": -1121, "msg": "Invalid symbol."}`
 * body. Messages follow Binance's errors.md wording so clients that match on them still work.
 */
export class ApiError extends Error {
  readonly status: number;
  readonly code: number;
  readonly headers: Record<string, string>;
  constructor(status: number, code: number, msg: string, headers: Record<string, string> = {}) {
    super(msg);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.headers = headers;
  }

  body(): string {
    return JSON.stringify({ code: this.code, msg: this.message });
  }
}

export const invalidSymbol = (): ApiError => new ApiError(400, -1121, "Invalid symbol.");
export const invalidInterval = (): ApiError => new ApiError(400, -1120, "Invalid interval.");

export const mandatoryParam = (name: string): ApiError =>
  new ApiError(400, -1102, `Mandatory parameter '${name}' was not sent, was empty/null, or malformed.`);

export const illegalChars = (name: string, legal: string): ApiError =>
  new ApiError(400, -1100, `Illegal characters found in parameter '${name}'; legal range is '${legal}'.`);

export const invalidParam = (name: string): ApiError =>
  new ApiError(400, -1130, `Data sent for parameter '${name}' is not valid.`);

export const unreadParams = (read: number, sent: number): ApiError =>
  new ApiError(
    400,
    -1104,
    `Not all sent parameters were read; read '${read}' parameter(s) but was sent '${sent}'.`,
  );

export const startAfterEnd = (): ApiError => new ApiError(400, -1023, "Start time is greater than end time.");

export function tooMuchWeight(limit: number, retryAfterSeconds: number): ApiError {
  return new ApiError(
    429,
    -1003,
    `Too much request weight used; current limit is ${limit} request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.`,
    { "Retry-After": String(retryAfterSeconds) },
  );
}
