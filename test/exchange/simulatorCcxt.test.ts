import ccxt, { type Exchange } from "ccxt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Frame } from "../../src/core/frame.js";
import { loadArchiveMonths } from "../../src/data/archive/import.js";
import { ccxtBinanceUrls, type Simulator, startSimulator } from "../../src/simulator/index.js";
import { SAMPLE } from "../helpers/paths.js";

/**
 * The real ccxt binance client, unchanged apart from its URLs, against the simulator: the
 * conformance check that the simulator speaks Binance as clients expect it.
 */

const MIN = 60_000;
const MAR = Date.UTC(2023, 2, 1);
const APR = Date.UTC(2023, 3, 1);
const MAY = Date.UTC(2023, 4, 1);

let sim: Simulator;

function binance(url: string, pro = false): Exchange {
  const opts = { enableRateLimit: false, options: { fetchMarkets: { types: ["spot", "linear"] } } };
  const ex = pro ? new ccxt.pro.binance(opts) : new ccxt.binance(opts);
  Object.assign(ex.urls.api as object, ccxtBinanceUrls(url));
  return ex;
}

beforeAll(async () => {
  sim = await startSimulator({ archive: SAMPLE, start: MAY, speed: 0 });
});
afterAll(async () => {
  await sim.close();
});

async function waitFor(cond: () => boolean, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Pages fetchOHLCV through [from, to) the way a downloader does. */
async function fetchAll(ex: Exchange, symbol: string, from: number, to: number): Promise<number[][]> {
  const out: number[][] = [];
  let since = from;
  while (since < to) {
    const page = (await ex.fetchOHLCV(symbol, "1m", since, 1000)) as number[][];
    const inRange = page.filter((r) => (r[0] as number) < to);
    out.push(...inRange);
    if (inRange.length < page.length || page.length === 0) break;
    since = (page.at(-1)?.[0] as number) + MIN;
  }
  return out;
}

function archiveOhlcv(frame: Frame, from: number, to: number): number[][] {
  const lo = frame.lowerBound(from);
  const hi = frame.lowerBound(to);
  const cols = ["open", "high", "low", "close", "volume"].map((c) => frame.get(c));
  const rows: number[][] = [];
  for (let i = lo; i < hi; i++) rows.push([frame.time[i] as number, ...cols.map((c) => c[i] as number)]);
  return rows;
}

describe("ccxt binance against the simulator", () => {
  it("loadMarkets sees the spot and USD-M markets the simulator serves", async () => {
    const ex = binance(sim.url);
    const markets = await ex.loadMarkets();
    expect(Object.keys(markets).sort()).toEqual(["BTC/USDT", "ETH/USDT:USDT"]);
    const spot = markets["BTC/USDT"];
    expect(spot).toMatchObject({ spot: true, active: true, base: "BTC", quote: "USDT", id: "BTCUSDT" });
    expect(spot?.precision).toMatchObject({ price: 0.01, amount: 0.00001 });
    expect(spot?.limits.cost?.min).toBe(5);
    const perp = markets["ETH/USDT:USDT"];
    expect(perp).toMatchObject({ swap: true, linear: true, settle: "USDT", contractSize: 1, active: true });
    expect(perp?.precision).toMatchObject({ price: 0.01, amount: 0.001 });
    expect(perp?.limits.cost?.min).toBe(20);
    expect(await ex.fetchTime()).toBe(MAY);
  });

  it("fetchOHLCV paged through March 2023 equals the archive row for row (halt gap included)", async () => {
    const ex = binance(sim.url);
    const btc = await loadArchiveMonths(SAMPLE, "BTCUSDT", "spot", "1m", ["2023-03"]);
    const got = await fetchAll(ex, "BTC/USDT", MAR, APR);
    const want = archiveOhlcv(btc, MAR, APR);
    expect(got.length).toBe(31 * 1440 - 80);
    expect(got).toEqual(want);
  });

  it("the same for the USD-M perpetual ETH/USDT:USDT", async () => {
    const ex = binance(sim.url);
    const eth = await loadArchiveMonths(SAMPLE, "ETHUSDT", "um", "1m", ["2023-03"]);
    const got = await fetchAll(ex, "ETH/USDT:USDT", MAR, APR);
    expect(got.length).toBe(31 * 1440);
    expect(got).toEqual(archiveOhlcv(eth, MAR, APR));
  });

  it("publicGetKlines returns Binance's raw 12-field rows", async () => {
    const ex = binance(sim.url);
    const rows = (await ex.publicGetKlines({
      symbol: "BTCUSDT",
      interval: "1m",
      startTime: MAR,
      limit: 2,
    })) as unknown[][];
    expect(rows).toHaveLength(2);
    for (const r of rows) {
      expect(r).toHaveLength(12);
      expect(r.map((x) => typeof x)).toEqual([
        "number",
        "string",
        "string",
        "string",
        "string",
        "string",
        "number",
        "string",
        "number",
        "string",
        "string",
        "string",
      ]);
    }
    const btc = await loadArchiveMonths(SAMPLE, "BTCUSDT", "spot", "1m", ["2023-03"]);
    expect(Number(rows[0]?.[7])).toBe(btc.get("quote_av")[0]);
    expect(rows[0]?.[6]).toBe(btc.get("close_time")[0]);
  });

  it("ccxt maps injected faults to its error classes", async () => {
    const ex = binance(sim.url);
    await ex.loadMarkets();
    sim.faults.set([
      { kind: "status", status: 429, path: "/api/v3/klines", nth: [1] },
      { kind: "status", status: 418, path: "/api/v3/klines", nth: [2] },
      { kind: "status", status: 503, path: "/api/v3/klines", nth: [3] },
      { kind: "status", status: 500, path: "/api/v3/klines", nth: [4] },
    ]);
    try {
      // ccxt's binance maps both 429 and 418 to DDoSProtection (RateLimitExceeded is for its own -1003 checks).
      await expect(ex.fetchOHLCV("BTC/USDT", "1m", MAR, 5)).rejects.toBeInstanceOf(ccxt.DDoSProtection);
      await expect(ex.fetchOHLCV("BTC/USDT", "1m", MAR, 5)).rejects.toBeInstanceOf(ccxt.DDoSProtection);
      await expect(ex.fetchOHLCV("BTC/USDT", "1m", MAR, 5)).rejects.toBeInstanceOf(ccxt.ExchangeNotAvailable);
      await expect(ex.fetchOHLCV("BTC/USDT", "1m", MAR, 5)).rejects.toBeInstanceOf(ccxt.OperationFailed);
      expect(await ex.fetchOHLCV("BTC/USDT", "1m", MAR, 5)).toHaveLength(5);
      await expect(ex.fetchOHLCV("NOPE/USDT", "1m", MAR, 5)).rejects.toBeInstanceOf(ccxt.BadSymbol);
    } finally {
      sim.faults.clear();
    }
  });

  it("ccxt pro watchOHLCV receives the klines the virtual clock closes", async () => {
    const start = Date.UTC(2023, 2, 10, 10, 0);
    const s = await startSimulator({ archive: SAMPLE, start, speed: 0, streams: { formingEveryMs: 0 } });
    const ex = binance(s.url, true);
    try {
      // ccxt pro opens plain ws:// (not wss://) URLs only through an http agent it loads on request.
      await ex.loadHttpProxyAgent();
      await ex.loadMarkets();
      const first = ex.watchOHLCV("BTC/USDT", "1m");
      // Time moves only once the subscription has reached the server.
      await waitFor(() => s.streams().subscriptions === 1);
      s.clock.advance(MIN);
      const got = (await first) as number[][];
      const btc = await loadArchiveMonths(SAMPLE, "BTCUSDT", "spot", "1m", ["2023-03"]);
      expect(got.at(-1)).toEqual(archiveOhlcv(btc, start, start + MIN)[0]);
      const next = ex.watchOHLCV("ETH/USDT:USDT", "1m");
      await waitFor(() => s.streams().subscriptions === 2);
      s.clock.advance(MIN);
      const eth = await loadArchiveMonths(SAMPLE, "ETHUSDT", "um", "1m", ["2023-03"]);
      expect(((await next) as number[][]).at(-1)).toEqual(archiveOhlcv(eth, start + MIN, start + 2 * MIN)[0]);
    } finally {
      await ex.close();
      await s.close();
    }
  });
});
