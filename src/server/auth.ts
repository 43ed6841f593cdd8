import { createHash, timingSafeEqual } from "node:crypto";

/**
 * Who may use the service's HTTP API: bearer tokens with a scope. A `read` token sees status,
 * markets and results; a `control` token may also steer (pause, resume, flatten, promote) and
 * reads too. Tokens are compared in constant time (their SHA-256 digests, so a token's length
 * does not show either), and an address that keeps failing is refused for a while, so a token
 * cannot be guessed by trying. The guard never keeps or returns a token in the clear.
 */

export type Scope = "read" | "control";

export interface ApiToken {
  token: string;
  scope: Scope;
}

export type AuthVerdict =
  | { ok: true; scope: Scope }
  | { ok: false; status: 401 | 403 | 429; reason: string; retryAfterSeconds?: number };

export interface TokenGuardOptions {
  /** Failed attempts from one address allowed within `windowMs` (default 10). */
  maxFailures?: number;
  /** The window failures are counted over, and how long an address is refused after (default 60 s). */
  windowMs?: number;
  now?: () => number;
}

const digest = (s: string): Buffer => createHash("sha256").update(s, "utf8").digest();

export class TokenGuard {
  private readonly tokens: { digest: Buffer; scope: Scope }[];
  private readonly failures = new Map<string, number[]>();
  private readonly maxFailures: number;
  private readonly windowMs: number;
  private readonly now: () => number;

  constructor(tokens: readonly ApiToken[], o: TokenGuardOptions = {}) {
    for (const t of tokens) {
      if (t.token.length < 16) {
        throw new RangeError(
          `an API token must have at least 16 characters (a ${t.scope} token has ${t.token.length})`,
        );
      }
    }
    this.tokens = tokens.map((t) => ({ digest: digest(t.token), scope: t.scope }));
    this.maxFailures = o.maxFailures ?? 10;
    this.windowMs = o.windowMs ?? 60_000;
    this.now = o.now ?? Date.now;
  }

  /** Whether any token is configured (without one the API is closed to all but loopback use). */
  get hasTokens(): boolean {
    return this.tokens.length > 0;
  }

  /**
   * The verdict on a request's `Authorization` header for an endpoint that needs `need`, from
   * `client` (its address): 401 without a valid bearer token, 403 for a read token on a control
   * endpoint, 429 while the address is refused for failing too often.
   */
  check(authorization: string | undefined, need: Scope, client: string): AuthVerdict {
    const t = this.now();
    const recent = (this.failures.get(client) ?? []).filter((at) => at > t - this.windowMs);
    if (recent.length >= this.maxFailures) {
      const retry = Math.ceil(((recent[0] as number) + this.windowMs - t) / 1000);
      return {
        ok: false,
        status: 429,
        reason: "too many failed attempts",
        retryAfterSeconds: Math.max(1, retry),
      };
    }
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
    const scope = m === null ? undefined : this.scopeOf(m[1] as string);
    if (scope === undefined) {
      recent.push(t);
      this.failures.set(client, recent);
      return { ok: false, status: 401, reason: m === null ? "a bearer token is required" : "unknown token" };
    }
    this.failures.delete(client);
    if (need === "control" && scope !== "control") {
      return { ok: false, status: 403, reason: "this token may read, not control" };
    }
    return { ok: true, scope };
  }

  /** The scope of a presented token; every configured token is compared, in constant time. */
  private scopeOf(presented: string): Scope | undefined {
    const d = digest(presented);
    let found: Scope | undefined;
    for (const t of this.tokens) {
      if (timingSafeEqual(d, t.digest) && found !== "control") found = t.scope;
    }
    return found;
  }
}

/** Whether `host` is a loopback address (127.0.0.0/8, ::1, localhost). */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127(\.\d{1,3}){3}$/.test(h) || h === "::ffff:127.0.0.1";
}
