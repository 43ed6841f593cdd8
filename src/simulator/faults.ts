import { z } from "zod";
import { UsageError } from "../core/errors.js";
import { seededRandom } from "./rng.js";

/**
 * Fault injection: rules that make chosen requests fail the way real exchanges and networks
 * fail, on a deterministic schedule ("the 3rd and 4th klines requests", "every 5th", "from the
 * 10th on") or at a rate drawn from a seeded RNG, so a test that injects faults replays exactly.
 *
 * Kinds: `status` (429/418 with Retry-After, 5xx, any 4xx), `delay` (answer late), `drop`
 * (write part of the body, then destroy the socket; or reset before any response),
 * `ws-disconnect` (kill a WebSocket instead of sending it a kline event) and `ws-skip` (the
 * kline event is lost: the socket stays open and never gets it), `accept-fail` (the request is
 * carried out, e.g. an order is accepted, but the reply is a 5xx, or no reply at all: the
 * connection hangs `delayMs` and is then reset, which a client sees as a timeout), `drop-user`
 * (every user-data WebSocket is closed at a user-data event, which is lost; the listen keys
 * stay valid; without a schedule the rule fires once).
 */

export const faultRuleSchema = z
  .object({
    kind: z.enum(["status", "delay", "drop", "ws-disconnect", "ws-skip", "accept-fail", "drop-user"]),
    /** HTTP status for `status` faults, and for `accept-fail` (without one: a timeout). */
    status: z.number().int().min(400).max(599).optional(),
    /** Retry-After header in seconds (default 1 for 429 and 418, none otherwise). */
    retryAfter: z.number().int().min(0).optional(),
    /** Milliseconds a `delay` fault holds the response. */
    delayMs: z.number().int().min(0).optional(),
    /** Body bytes a `drop` fault writes before destroying the socket (default: half the body). */
    bytes: z.number().int().min(0).optional(),
    /** `drop` without any response (no status line): the connection is reset. */
    reset: z.boolean().optional(),
    /** Applies to requests whose path starts with this (HTTP), or to streams on such paths (WebSocket). */
    path: z.string().startsWith("/").optional(),
    /** Applies to HTTP requests with this method only (e.g. DELETE, to fail a cancel and not the queries). */
    method: z.enum(["GET", "POST", "PUT", "DELETE"]).optional(),
    /** 1-based positions among the matching requests (kline events for ws-disconnect and ws-skip, user-data events for drop-user). */
    nth: z.array(z.number().int().min(1)).optional(),
    every: z.number().int().min(1).optional(),
    from: z.number().int().min(1).optional(),
    to: z.number().int().min(1).optional(),
    /** Probability per matching request, drawn from a PRNG seeded with `seed` (default 1). */
    rate: z.number().min(0).max(1).optional(),
    seed: z.number().int().optional(),
  })
  .strict()
  .superRefine((r, ctx) => {
    if (r.kind === "status" && r.status === undefined) {
      ctx.addIssue({ code: "custom", path: ["status"], message: "a status fault needs a status (e.g. 429)" });
    }
    if (r.kind === "delay" && r.delayMs === undefined) {
      ctx.addIssue({ code: "custom", path: ["delayMs"], message: "a delay fault needs delayMs" });
    }
  });

export type FaultRule = z.infer<typeof faultRuleSchema>;

/** Parses one rule or a list from JSON-shaped input (the admin endpoint, `--fault '{...}'`). */
export function parseFaultRules(input: unknown): FaultRule[] {
  const list = Array.isArray(input) ? input : [input];
  const r = z.array(faultRuleSchema).safeParse(list);
  if (!r.success) {
    const msg = r.error.issues
      .map((i) => `${i.path.length > 0 ? `${i.path.join(".")}: ` : ""}${i.message}`)
      .join("; ");
    throw new UsageError(`invalid fault rule: ${msg}`);
  }
  return r.data;
}

const SPEC_HELP =
  "expected e.g. status=429,nth=3+4  status=503,every=5  delay=2000,rate=0.1,seed=7  drop,path=/api/v3/klines,nth=2  ws-disconnect,nth=3  accept-fail=503,path=/api/v3/order,nth=1  accept-fail=timeout,method=DELETE,path=/api/v3/order  drop-user,nth=2";

/**
 * The command line's compact form: comma-separated `key=value` tokens, lists joined by `+`.
 * `status=429` (or a bare `429`), `delay=MS`, `drop[=BYTES|reset]`, `ws-disconnect`, `ws-skip` or `drop-user` sets the
 * kind, as does `accept-fail[=STATUS|timeout]` (with `delay-ms=` for how long a timeout hangs);
 * `path=`, `method=`, `nth=`, `every=`, `from=`, `to=`, `rate=`, `seed=`, `retry-after=` refine it.
 * A spec starting with `{` or `[` is read as JSON.
 */
export function parseFaultSpec(spec: string): FaultRule[] {
  const text = spec.trim();
  if (text.startsWith("{") || text.startsWith("[")) {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new UsageError(`invalid fault JSON "${text}": ${(err as Error).message}`);
    }
    return parseFaultRules(json);
  }
  const rule: Record<string, unknown> = {};
  const num = (k: string, v: string | undefined): number => {
    const n = Number(v);
    if (v === undefined || v === "" || !Number.isFinite(n)) {
      throw new UsageError(`invalid fault "${spec}": ${k} needs a number; ${SPEC_HELP}`);
    }
    return n;
  };
  const setKind = (kind: string) => {
    if (rule.kind !== undefined)
      throw new UsageError(`invalid fault "${spec}": more than one kind; ${SPEC_HELP}`);
    rule.kind = kind;
  };
  for (const token of text.split(",")) {
    const eq = token.indexOf("=");
    const k = (eq === -1 ? token : token.slice(0, eq)).trim().toLowerCase();
    const v = eq === -1 ? undefined : token.slice(eq + 1).trim();
    if (k === "") continue;
    if (/^\d{3}$/.test(k) && v === undefined) {
      setKind("status");
      rule.status = Number(k);
    } else if (k === "status") {
      setKind("status");
      rule.status = num(k, v);
    } else if (k === "delay") {
      setKind("delay");
      rule.delayMs = num(k, v);
    } else if (k === "drop") {
      setKind("drop");
      if (v === "reset") rule.reset = true;
      else if (v !== undefined) rule.bytes = num(k, v);
    } else if (k === "ws-disconnect" || k === "ws-skip" || k === "drop-user") {
      setKind(k);
    } else if (k === "accept-fail") {
      setKind(k);
      if (v !== undefined && v !== "timeout") rule.status = num(k, v);
    } else if (k === "path") {
      rule.path = v;
    } else if (k === "method") {
      rule.method = v?.toUpperCase();
    } else if (k === "nth") {
      rule.nth = (v ?? "").split(/[+|]/).map((x) => num(k, x));
    } else if (k === "every" || k === "from" || k === "to" || k === "rate" || k === "seed" || k === "bytes") {
      rule[k] = num(k, v);
    } else if (k === "retry-after" || k === "retryafter") {
      rule.retryAfter = num(k, v);
    } else if (k === "delay-ms" || k === "delayms") {
      rule.delayMs = num(k, v);
    } else {
      throw new UsageError(`invalid fault "${spec}": unknown key "${k}"; ${SPEC_HELP}`);
    }
  }
  if (rule.kind === undefined) throw new UsageError(`invalid fault "${spec}": no kind; ${SPEC_HELP}`);
  return parseFaultRules(rule);
}

/** What the server must do to one HTTP request. */
export interface HttpFault {
  delayMs: number;
  status?: { status: number; retryAfter: number | undefined };
  drop?: { bytes: number | undefined; reset: boolean };
  /** Carry the request out, then answer `status`, or hang `delayMs` and reset (no status). */
  acceptFail?: { status: number | undefined; delayMs: number };
  /** Short labels of the rules that fired, for the request log. */
  fired: string[];
}

export interface FaultState {
  rule: FaultRule;
  /** Requests (or stream events) the rule matched so far. */
  seen: number;
  /** How many times it fired. */
  fired: number;
}

class RuleState implements FaultState {
  seen = 0;
  fired = 0;
  private readonly rng: (() => number) | undefined;
  constructor(readonly rule: FaultRule) {
    this.rng = rule.rate === undefined ? undefined : seededRandom(rule.seed ?? 1);
  }

  matches(path: string, method?: string): boolean {
    const r = this.rule;
    return (
      (r.path === undefined || path.startsWith(r.path)) &&
      (method === undefined || r.method === undefined || r.method === method)
    );
  }

  /** Counts one matching event and says whether the rule fires on it. */
  step(): boolean {
    const n = ++this.seen;
    const r = this.rule;
    // The RNG is drawn on every matching event, fired or not, so the sequence depends only on the count.
    const draw = this.rng?.();
    let fire = true;
    if (r.nth !== undefined) fire &&= r.nth.includes(n);
    if (r.every !== undefined) fire &&= n % r.every === 0;
    if (r.from !== undefined) fire &&= n >= r.from;
    if (r.to !== undefined) fire &&= n <= r.to;
    if (draw !== undefined) fire &&= draw < (r.rate as number);
    if (fire) this.fired++;
    return fire;
  }

  label(): string {
    const r = this.rule;
    if (r.kind === "status") return `status ${r.status}`;
    if (r.kind === "delay") return `delay ${r.delayMs}ms`;
    if (r.kind === "drop")
      return r.reset ? "drop reset" : `drop${r.bytes === undefined ? "" : ` ${r.bytes}B`}`;
    if (r.kind === "accept-fail") return `accept-fail ${r.status ?? "timeout"}`;
    return r.kind;
  }
}

/** Kinds that act on WebSocket events, never on HTTP requests. */
const STREAM_KINDS: readonly FaultRule["kind"][] = ["ws-disconnect", "ws-skip", "drop-user"];

export class Faults {
  private rules: RuleState[] = [];

  constructor(rules: readonly FaultRule[] = []) {
    this.set(rules);
  }

  /** Replaces every rule; schedules count from zero again. */
  set(rules: readonly FaultRule[]): void {
    this.rules = rules.map((r) => new RuleState(r));
  }

  add(rules: readonly FaultRule[]): void {
    this.rules.push(...rules.map((r) => new RuleState(r)));
  }

  clear(): void {
    this.rules = [];
  }

  list(): FaultState[] {
    return this.rules.map((s) => ({ rule: s.rule, seen: s.seen, fired: s.fired }));
  }

  /**
   * Every HTTP rule matching the path counts the request (so each schedule stays independent);
   * delays add up; the first status or drop rule that fires decides the response.
   */
  forHttp(path: string, method?: string): HttpFault {
    const out: HttpFault = { delayMs: 0, fired: [] };
    for (const s of this.rules) {
      if (STREAM_KINDS.includes(s.rule.kind) || !s.matches(path, method)) continue;
      if (!s.step()) continue;
      const r = s.rule;
      if (r.kind === "delay") {
        out.delayMs += r.delayMs ?? 0;
        out.fired.push(s.label());
      } else if (out.status === undefined && out.drop === undefined && out.acceptFail === undefined) {
        out.fired.push(s.label());
        if (r.kind === "accept-fail") out.acceptFail = { status: r.status, delayMs: r.delayMs ?? 0 };
        else if (r.kind === "status") {
          const status = r.status as number;
          const retryAfter = r.retryAfter ?? (status === 429 || status === 418 ? 1 : undefined);
          out.status = { status, retryAfter };
        } else out.drop = { bytes: r.bytes, reset: r.reset === true };
      }
    }
    return out;
  }

  /**
   * What happens to the next kline event of a WebSocket on `path`: `disconnect` (the socket is
   * killed instead), `skip` (the event is lost) or undefined (it is sent). Every matching rule
   * counts the event; a disconnect wins over a skip.
   */
  forStreamEvent(path: string): "disconnect" | "skip" | undefined {
    let out: "disconnect" | "skip" | undefined;
    for (const s of this.rules) {
      if ((s.rule.kind !== "ws-disconnect" && s.rule.kind !== "ws-skip") || !s.matches(path)) continue;
      if (!s.step()) continue;
      if (s.rule.kind === "ws-disconnect") out = "disconnect";
      else out ??= "skip";
    }
    return out;
  }

  /**
   * Whether a user-data event published to sockets on `path` closes every user-data socket
   * instead (a `drop-user` rule firing). A rule without a schedule fires once.
   */
  forUserEvent(path: string): boolean {
    let drop = false;
    for (const s of this.rules) {
      const r = s.rule;
      if (r.kind !== "drop-user" || !s.matches(path)) continue;
      const scheduled =
        r.nth !== undefined ||
        r.every !== undefined ||
        r.from !== undefined ||
        r.to !== undefined ||
        r.rate !== undefined;
      if (!scheduled && s.fired > 0) continue;
      if (s.step()) drop = true;
    }
    return drop;
  }
}
