import type { Market } from "../data/archive/source.js";
import type { SymbolEntry } from "./dataset.js";
import { ApiError, illegalChars, invalidSymbol } from "./errors.js";
import { exchangeInfoBody } from "./exchangeInfo.js";
import { checkInterval, klinesBody, klinesWeight, parseKlineQuery, parseSymbol } from "./klines.js";
import { json, type RequestContext, type Route } from "./router.js";
import { knownSpec, type SymbolSpec } from "./specs.js";
import type { SimState } from "./state.js";

/** Public market-data endpoints of one market: spot under /api/v3, USD-M futures under /fapi/v1. */

const PREFIX: Record<Market, string> = { spot: "/api/v3", um: "/fapi/v1" };
/** Weight of exchangeInfo: 20 on spot, 1 on futures (Binance's documented values). */
const INFO_WEIGHT: Record<Market, number> = { spot: 20, um: 1 };

async function specOf(state: SimState, entry: SymbolEntry): Promise<SymbolSpec> {
  return (
    state.data.loaded(entry.market, entry.symbol)?.spec ??
    knownSpec(entry.symbol, entry.market) ??
    (await state.data.load(entry)).spec
  );
}

/** Symbols named by exchangeInfo's `symbol` or `symbols` (a JSON array), or all of the market's. */
function requestedEntries(ctx: RequestContext, market: Market): SymbolEntry[] {
  const data = ctx.state.data;
  if (market === "um") return data.symbols("um");
  const one = ctx.params.get("symbol");
  const many = ctx.params.get("symbols");
  if (one !== null && many !== null) {
    throw new ApiError(400, -1128, "Combination of optional parameters invalid.");
  }
  let names: string[] | undefined;
  if (one !== null) names = [parseSymbol(one)];
  else if (many !== null) {
    let list: unknown;
    try {
      list = JSON.parse(many);
    } catch {
      throw illegalChars("symbols", '^\\[("[A-Z0-9-_.]{1,20}"(,"[A-Z0-9-_.]{1,20}"){0,}){0,1}\\]$');
    }
    if (!Array.isArray(list) || !list.every((s) => typeof s === "string")) {
      throw illegalChars("symbols", '^\\[("[A-Z0-9-_.]{1,20}"(,"[A-Z0-9-_.]{1,20}"){0,}){0,1}\\]$');
    }
    names = (list as string[]).map((s) => parseSymbol(s, "symbols"));
  }
  if (names === undefined) return data.symbols("spot");
  return names.map((n) => {
    const e = data.entry("spot", n);
    if (e === undefined) throw invalidSymbol();
    return e;
  });
}

function routesFor(market: Market): Route[] {
  const p = PREFIX[market];
  return [
    { method: "GET", path: `${p}/ping`, market, weight: () => 1, security: "NONE", handle: () => json({}) },
    {
      method: "GET",
      path: `${p}/time`,
      market,
      weight: () => 1,
      security: "NONE",
      handle: (ctx) => json({ serverTime: ctx.state.clock.now() }),
    },
    {
      method: "GET",
      path: `${p}/exchangeInfo`,
      market,
      weight: () => INFO_WEIGHT[market],
      security: "NONE",
      handle: async (ctx) => {
        const entries = requestedEntries(ctx, market);
        const symbols = await Promise.all(
          entries.map(async (entry) => ({ entry, spec: await specOf(ctx.state, entry) })),
        );
        return json(
          exchangeInfoBody(market, ctx.state.clock.now(), ctx.state.limiter.limits[market], symbols),
        );
      },
    },
    {
      method: "GET",
      path: `${p}/klines`,
      market,
      weight: (params) => klinesWeight(market, params),
      security: "NONE",
      handle: async (ctx) => {
        const q = parseKlineQuery(ctx.params, market);
        const entry = ctx.state.data.entry(market, q.symbol);
        if (entry === undefined) throw invalidSymbol();
        const series = ctx.state.data.loaded(market, q.symbol) ?? (await ctx.state.data.load(entry));
        checkInterval(series, q.step);
        const sel = series.select(q.step, ctx.state.clock.now(), q, ctx.state.forming);
        return { status: 200, body: klinesBody(series, sel), contentType: "application/json;charset=UTF-8" };
      },
    },
  ];
}

export function marketRoutes(): Route[] {
  return [...routesFor("spot"), ...routesFor("um")];
}
