import type {
  FaultControl,
  FaultState,
  FloodLimit,
  OutageFault,
  RateLimitFault,
  ServerErrorFault,
  TimeoutFault,
} from "./types.js";

/**
 * Injected faults: rate limits (429 with retry_after), server errors, calls never answered,
 * blocked chats and outages, each for the next `count` matching calls or until cleared; and
 * the flood limit Telegram applies to sends per chat.
 */

type Rule =
  | { kind: "rateLimit"; left: number | null; f: RateLimitFault; methods?: Set<string> }
  | { kind: "serverError"; left: number | null; f: ServerErrorFault; methods?: Set<string> }
  | { kind: "timeout"; left: number | null; f: TimeoutFault; methods?: Set<string> };

/** What an infrastructure fault makes of a call, decided before the token is checked. */
export type GatewayFault =
  | { kind: "outage"; reset: boolean }
  | { kind: "timeout" }
  | { kind: "serverError"; status: number; html: boolean };

function count(what: string, n: number | undefined): number | null {
  if (n === undefined) return null;
  if (!Number.isInteger(n) || n < 1)
    throw new RangeError(`${what}: count must be a whole number >= 1, got ${n}`);
  return n;
}

function methodSet(what: string, methods: string[] | undefined): Set<string> | undefined {
  if (methods === undefined) return undefined;
  if (!Array.isArray(methods) || methods.some((m) => typeof m !== "string" || m === "")) {
    throw new RangeError(`${what}: methods must be a list of method names`);
  }
  return new Set(methods.map((m) => m.toLowerCase()));
}

function chat(what: string, id: number): number {
  if (!Number.isSafeInteger(id)) throw new RangeError(`${what}: chat id must be an integer, got ${id}`);
  return id;
}

export class Faults implements FaultControl {
  private rules: Rule[] = [];
  private readonly blocked = new Set<number>();
  private down: OutageFault | null = null;
  private readonly now: () => number;

  constructor(now: () => number) {
    this.now = now;
  }

  rateLimit(f: RateLimitFault): void {
    if (!Number.isInteger(f?.retryAfter) || f.retryAfter < 1) {
      throw new RangeError(
        `rateLimit: retryAfter must be a whole number of seconds >= 1, got ${f?.retryAfter}`,
      );
    }
    const methods = methodSet("rateLimit", f.methods);
    this.rules.push({ kind: "rateLimit", left: count("rateLimit", f.count), f: { ...f }, methods });
  }

  serverError(f: ServerErrorFault): void {
    if (![500, 502, 503, 504].includes(f?.status)) {
      throw new RangeError(`serverError: status must be 500, 502, 503 or 504, got ${f?.status}`);
    }
    const methods = methodSet("serverError", f.methods);
    this.rules.push({ kind: "serverError", left: count("serverError", f.count), f: { ...f }, methods });
  }

  timeout(f: TimeoutFault = {}): void {
    const methods = methodSet("timeout", f.methods);
    this.rules.push({ kind: "timeout", left: count("timeout", f.count), f: { ...f }, methods });
  }

  block(chatId: number): void {
    this.blocked.add(chat("block", chatId));
  }

  unblock(chatId: number): void {
    this.blocked.delete(chat("unblock", chatId));
  }

  outage(f: OutageFault): void {
    if (f?.until !== "cleared" && !Number.isFinite(f?.until)) {
      throw new RangeError(`outage: until must be epoch ms or "cleared", got ${String(f?.until)}`);
    }
    this.down = { until: f.until, ...(f.reset === true ? { reset: true } : {}) };
  }

  clear(): void {
    this.rules = [];
    this.blocked.clear();
    this.down = null;
  }

  list(): FaultState {
    return {
      rules: this.rules.map((r) => ({ ...r.f, kind: r.kind, left: r.left }) as FaultState["rules"][number]),
      blocked: [...this.blocked].sort((a, b) => a - b),
      outage: this.outageNow() ?? null,
    };
  }

  isBlocked(chatId: number): boolean {
    return this.blocked.has(chatId);
  }

  private outageNow(): OutageFault | undefined {
    if (this.down === null) return undefined;
    if (this.down.until !== "cleared" && this.now() >= this.down.until) {
      this.down = null;
      return undefined;
    }
    return this.down;
  }

  /** Takes one use of the first rule of these kinds that matches the method. */
  private fire(kinds: Rule["kind"][], method: string): Rule | undefined {
    const rule = this.rules.find((r) => kinds.includes(r.kind) && (r.methods?.has(method) ?? true));
    if (rule === undefined) return undefined;
    if (rule.left !== null) {
      rule.left--;
      if (rule.left === 0) this.rules = this.rules.filter((r) => r !== rule);
    }
    return rule;
  }

  /** An outage, a call left unanswered or a server error for this call (method in lower case). */
  gateway(method: string): GatewayFault | undefined {
    const down = this.outageNow();
    if (down !== undefined) return { kind: "outage", reset: down.reset === true };
    const rule = this.fire(["timeout", "serverError"], method);
    if (rule?.kind === "timeout") return { kind: "timeout" };
    if (rule?.kind === "serverError") {
      return { kind: "serverError", status: rule.f.status, html: rule.f.html === true };
    }
    return undefined;
  }

  /** retry_after seconds if an injected rate limit takes this call. */
  rateLimited(method: string): number | undefined {
    const rule = this.fire(["rateLimit"], method);
    return rule?.kind === "rateLimit" ? rule.f.retryAfter : undefined;
  }
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Telegram's flood control on sends: per chat about one message a second with a short burst
 * allowed, and about 30 a second over all chats. Token buckets: a chat's holds `burst`
 * messages and refills at `perSecond`; the bot's holds `globalPerSecond` and refills at that
 * rate. A send that finds either empty gets 429 with retry_after = the whole seconds until
 * both have a message again (at least 1), and uses nothing.
 */
export class FloodLimiter {
  private readonly perSecond: number;
  private readonly burst: number;
  private readonly global: number;
  private readonly buckets = new Map<string, Bucket>();
  private readonly now: () => number;
  readonly enabled: boolean;

  constructor(limit: FloodLimit | false | undefined, now: () => number) {
    this.now = now;
    this.enabled = limit !== false;
    const l = limit === false ? {} : (limit ?? {});
    this.perSecond = l.perSecond ?? 1;
    this.burst = l.burst ?? 3;
    this.global = l.globalPerSecond ?? 30;
    for (const [k, v] of Object.entries({
      perSecond: this.perSecond,
      burst: this.burst,
      globalPerSecond: this.global,
    })) {
      if (!Number.isFinite(v) || v <= 0)
        throw new RangeError(`floodLimit.${k} must be a positive number, got ${v}`);
    }
    if (this.burst < 1) throw new RangeError(`floodLimit.burst must be at least 1, got ${this.burst}`);
  }

  private level(key: string, capacity: number, rate: number, now: number): Bucket {
    const b = this.buckets.get(key) ?? { tokens: capacity, at: now };
    b.tokens = Math.min(capacity, b.tokens + ((now - b.at) / 1000) * rate);
    b.at = now;
    this.buckets.set(key, b);
    return b;
  }

  /** Takes one send to the chat; the retry_after seconds when the limit refuses it. */
  take(botId: number, chatId: number): number | undefined {
    if (!this.enabled) return undefined;
    const now = this.now();
    const c = this.level(`${botId}:${chatId}`, this.burst, this.perSecond, now);
    const g = this.level(`${botId}:*`, this.global, this.global, now);
    const wait = Math.max((1 - c.tokens) / this.perSecond, (1 - g.tokens) / this.global);
    if (wait > 1e-9) return Math.max(1, Math.ceil(wait - 1e-9));
    c.tokens -= 1;
    g.tokens -= 1;
    return undefined;
  }

  reset(): void {
    this.buckets.clear();
  }
}
