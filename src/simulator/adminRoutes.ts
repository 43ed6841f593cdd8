import { UsageError } from "../core/errors.js";
import { parseFreq } from "../core/freq.js";
import { isoTime, parseTime } from "../core/time.js";
import { ApiError } from "./errors.js";
import { parseFaultRules } from "./faults.js";
import { json, type RequestContext, type Route } from "./router.js";
import type { SimState } from "./state.js";

/**
 * The simulator's own control surface (not Binance's): virtual time, faults and the request
 * log. Admin calls are never faulted, weighed or recorded.
 *
 *   GET    /admin/state               clock, symbols, faults, weight used, stream counts
 *   POST   /admin/clock               {"time": ms|"2023-03-01 12:00", "advance": ms|"3m", "speed": x}
 *   GET    /admin/faults              rules with how often each matched and fired
 *   POST   /admin/faults              a rule or a list: replaces all rules ({"add": [...]} appends)
 *   DELETE /admin/faults              removes all rules
 *   GET    /admin/requests[?path=&since=]   recorded requests
 *   DELETE /admin/requests            clears the record
 */

function bodyJson(ctx: RequestContext): unknown {
  if (ctx.body.trim() === "") return {};
  try {
    return JSON.parse(ctx.body);
  } catch (err) {
    throw new ApiError(400, -1135, `Invalid JSON body: ${(err as Error).message}`);
  }
}

/** A usage mistake in an admin body is a 400 with the reason. */
function usage<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof UsageError || err instanceof RangeError) throw new ApiError(400, -1130, err.message);
    throw err;
  }
}

function timeOf(v: unknown, what: string): number {
  if (typeof v === "number") return v;
  if (typeof v === "string") return parseTime(v, what);
  throw new UsageError(`${what} must be epoch ms or a time string`);
}

function durationOf(v: unknown): number {
  if (typeof v === "number") return v;
  if (typeof v === "string") return /^\d+$/.test(v) ? Number(v) : parseFreq(v).ms;
  throw new UsageError('advance must be milliseconds or a duration such as "3m" or "1h"');
}

export function adminState(state: SimState): Record<string, unknown> {
  const now = state.clock.now();
  return {
    now,
    nowIso: isoTime(now),
    speed: state.clock.speed,
    forming: state.forming,
    symbols: state.data.symbols().map((e) => {
      const s = state.data.loaded(e.market, e.symbol);
      return {
        symbol: e.symbol,
        market: e.market,
        first: e.first,
        end: e.end,
        loaded: s !== undefined,
        rows: s?.base.length,
      };
    }),
    weight: { spot: state.limiter.usedWeight("spot"), um: state.limiter.usedWeight("um") },
    faults: state.faults.list(),
    requests: state.requests.length,
    streams: state.streams(),
    userStreams: state.userStreams.stats(),
  };
}

export function adminRoutes(): Route[] {
  return [
    { method: "GET", path: "/admin/state", admin: true, handle: (ctx) => json(adminState(ctx.state)) },
    {
      method: "POST",
      path: "/admin/clock",
      admin: true,
      handle: (ctx) => {
        const b = bodyJson(ctx) as Record<string, unknown>;
        usage(() => {
          for (const k of Object.keys(b)) {
            if (!["time", "advance", "step", "speed"].includes(k))
              throw new UsageError(`unknown clock field "${k}"`);
          }
          if (b.speed !== undefined) ctx.state.clock.setSpeed(Number(b.speed));
          if (b.time !== undefined) ctx.state.clock.set(timeOf(b.time, "time"));
          const step = b.advance ?? b.step;
          if (step !== undefined) ctx.state.clock.advance(durationOf(step));
        });
        return json(adminState(ctx.state));
      },
    },
    { method: "GET", path: "/admin/faults", admin: true, handle: (ctx) => json(ctx.state.faults.list()) },
    {
      method: "POST",
      path: "/admin/faults",
      admin: true,
      handle: (ctx) => {
        const b = bodyJson(ctx);
        usage(() => {
          if (b !== null && typeof b === "object" && !Array.isArray(b) && "add" in b) {
            ctx.state.faults.add(parseFaultRules((b as { add: unknown }).add));
          } else ctx.state.faults.set(parseFaultRules(b));
        });
        return json(ctx.state.faults.list());
      },
    },
    {
      method: "DELETE",
      path: "/admin/faults",
      admin: true,
      handle: (ctx) => {
        ctx.state.faults.clear();
        return json([]);
      },
    },
    {
      method: "GET",
      path: "/admin/requests",
      admin: true,
      handle: (ctx) => {
        const since = ctx.params.get("since");
        const path = ctx.params.get("path");
        const filter: { path?: string; since?: number } = {};
        if (path !== null) filter.path = path;
        if (since !== null) filter.since = Number(since);
        return json(ctx.state.requests.list(filter));
      },
    },
    {
      method: "DELETE",
      path: "/admin/requests",
      admin: true,
      handle: (ctx) => {
        ctx.state.requests.clear();
        return json([]);
      },
    },
  ];
}
