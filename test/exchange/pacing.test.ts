import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Exchange } from "ccxt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CcxtMarketData, type CcxtMarketDataOptions } from "../../src/exchange/ccxt/adapter.js";
import { createCcxtClient } from "../../src/exchange/ccxt/client.js";
import {
  BURST_COST_UNITS,
  creditIdle,
  pacedRateLimit,
  parseWeightPolicy,
} from "../../src/exchange/ccxt/pacing.js";
import { startSimulator, VirtualClock } from "../../src/simulator/index.js";
import { SAMPLE } from "../helpers/paths.js";

/**
 * The download paces its requests by the budget the exchange announces (RateLimit-Policy), when
 * that allows more than ccxt's table of Binance's limits; without an announcement, ccxt's own
 * spacing stays, as against Binance.
 */

const MAR = Date.UTC(2023, 2, 1);
const MAY = Date.UTC(2023, 4, 1);

/** An adapter whose ccxt clients are kept, to read their spacing. */
function adapter(url: string, extra: Partial<CcxtMarketDataOptions> = {}) {
  const clients = new Map<string, Exchange>();
  const md = new CcxtMarketData({
    venue: "binance",
    exchangeUrl: url,
    createClient: async (o) => {
      const ex = await createCcxtClient(o);
      clients.set(o.market, ex);
      return ex;
    },
    ...extra,
  });
  return { md, clients };
}

describe("RateLimit-Policy", () => {
  it("is read as the tightest budget it lists", () => {
    expect(parseWeightPolicy('"request-weight";q=6000;w=60')).toEqual({ quota: 6000, windowSeconds: 60 });
    expect(parseWeightPolicy('burst;q=100;w=1, "daily";q=1000;w=86400')).toEqual({
      quota: 1000,
      windowSeconds: 86400,
    });
    expect(parseWeightPolicy("default;q=0;w=60")).toBeUndefined();
    expect(parseWeightPolicy("default;w=60")).toBeUndefined();
    expect(parseWeightPolicy(undefined)).toBeUndefined();
  });

  it("sets ccxt's spacing per cost unit only when it is shorter than ccxt's own", () => {
    // Spot requests cost a fifth of their weight in ccxt, futures requests their weight.
    expect(pacedRateLimit("binance", { quota: 600_000, windowSeconds: 60 }, 50)).toBe(0.5);
    expect(pacedRateLimit("binanceusdm", { quota: 600_000, windowSeconds: 60 }, 50)).toBe(0.1);
    expect(pacedRateLimit("binanceusdm", { quota: 2400, windowSeconds: 60 }, 50)).toBe(25);
    expect(pacedRateLimit("binance", { quota: 6000, windowSeconds: 60 }, 50)).toBeUndefined();
    expect(pacedRateLimit("binance", { quota: 50, windowSeconds: 60 }, 50)).toBeUndefined();
    expect(pacedRateLimit("kraken", { quota: 600_000, windowSeconds: 60 }, 3000)).toBeUndefined();
  });
});

describe("the adapter against an exchange that announces its budget", () => {
  it("the simulator announces its weight limit per market on every reply", async () => {
    const sim = await startSimulator({ archive: SAMPLE, clock: new VirtualClock({ start: MAY, speed: 0 }) });
    try {
      const spot = await fetch(`${sim.url}/api/v3/time`);
      const um = await fetch(`${sim.url}/fapi/v1/time`);
      expect(spot.headers.get("ratelimit-policy")).toBe('"request-weight";q=6000;w=60');
      expect(um.headers.get("ratelimit-policy")).toBe('"request-weight";q=2400;w=60');
    } finally {
      await sim.close();
    }
  });

  it("a large budget spaces requests by it; Binance's own budget leaves spot as ccxt has it", async () => {
    const big = await startSimulator({
      archive: SAMPLE,
      clock: new VirtualClock({ start: MAY, speed: 0 }),
      weightLimits: { spot: 600_000, um: 600_000 },
    });
    const binanceLike = await startSimulator({
      archive: SAMPLE,
      clock: new VirtualClock({ start: MAY, speed: 0 }),
    });
    try {
      const a = adapter(big.url);
      await a.md.serverTime("spot");
      await a.md.fetchKlines("BTCUSDT", "spot", "1m", MAR, 1000);
      await a.md.fetchKlines("ETHUSDT", "um", "1m", MAR, 499);
      expect(a.clients.get("spot")?.rateLimit).toBe(0.5);
      expect(a.clients.get("um")?.rateLimit).toBe(0.1);
      // Under a millisecond ccxt's bucket would only add its own sleep: the limiter is off.
      expect(a.clients.get("spot")?.enableRateLimit).toBe(false);
      expect(a.clients.get("um")?.enableRateLimit).toBe(false);
      await a.md.close();

      const b = adapter(binanceLike.url);
      await b.md.fetchKlines("BTCUSDT", "spot", "1m", MAR, 1000);
      await b.md.fetchKlines("ETHUSDT", "um", "1m", MAR, 499);
      expect(b.clients.get("spot")?.rateLimit).toBe(50);
      // ccxt assumes half of Binance's futures budget; the announced 2400 per minute is used.
      expect(b.clients.get("um")?.rateLimit).toBe(25);
      expect(b.clients.get("um")?.enableRateLimit).toBe(true);
      expect(b.clients.get("um")?.throttler.config.refillRate).toBe(1 / 25);
      await b.md.close();
    } finally {
      await big.close();
      await binanceLike.close();
    }
  });

  it("the used-weight guard measures against the announced budget when none is configured", async () => {
    let real = Date.UTC(2024, 0, 1, 0, 0, 10);
    const small = await startSimulator({
      archive: SAMPLE,
      clock: new VirtualClock({ start: MAY, speed: 0 }),
      realNow: () => real,
      weightLimits: { spot: 50 },
    });
    try {
      const sleeps: number[] = [];
      const { md } = adapter(small.url, {
        now: () => real,
        sleep: async (ms) => {
          sleeps.push(ms);
          real += ms;
        },
        random: () => 0.5,
      });
      // Klines of limit 1000 weigh 2: from 40 of 50 used on, requests wait for the next minute.
      for (let k = 0; k < 45; k++) await md.fetchKlines("BTCUSDT", "spot", "1m", MAR + k * 60_000_000, 1000);
      expect(small.requests.list({ path: "/api/v3/klines" }).filter((r) => r.status !== 200)).toEqual([]);
      expect(md.stats.weightPauses).toBe(2);
      expect(sleeps[0]).toBe(51_000);
      await md.close();
    } finally {
      await small.close();
    }
  });
});

describe("the adapter against an exchange that announces nothing (as Binance)", () => {
  let server: Server;
  let url = "";
  beforeAll(async () => {
    server = createServer((_req, res) => {
      res.writeHead(200, { "Content-Type": "application/json", "X-MBX-USED-WEIGHT-1M": "1" });
      res.end(JSON.stringify({ serverTime: MAY }));
    });
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((done) => server.close(() => done()));
  });

  it("keeps ccxt's spacing", async () => {
    const { md, clients } = adapter(url);
    expect(await md.serverTime("spot")).toBe(MAY);
    expect(await md.serverTime("um")).toBe(MAY);
    expect(clients.get("spot")?.rateLimit).toBe(50);
    expect(clients.get("um")?.rateLimit).toBe(50);
    await md.close();
  });
});

describe("ccxt's bucket after an idle while", () => {
  it("holds a burst of BURST_COST_UNITS and is credited the time it stood idle, never above it", async () => {
    const ex = await createCcxtClient({ venue: "binance", market: "spot" });
    const t = (
      ex as unknown as {
        throttler: { running: boolean; config: { tokens: number; capacity: number; refillRate: number } };
      }
    ).throttler;
    expect(t.config.capacity).toBe(BURST_COST_UNITS);
    expect(t.config.refillRate).toBe(1 / 50);
    t.config.tokens = -1; // a request of cost 1 just went out
    creditIdle(ex, 1_000); // the first sight only notes the time
    expect(t.config.tokens).toBe(-1);
    creditIdle(ex, 1_500); // 500 ms idle at 1/50 per ms: 10 units
    expect(t.config.tokens).toBe(9);
    creditIdle(ex, 7_500);
    expect(t.config.tokens).toBe(BURST_COST_UNITS);
    // while requests wait in it, ccxt refills it itself: nothing is credited twice
    t.config.tokens = -2;
    t.running = true;
    creditIdle(ex, 9_000);
    expect(t.config.tokens).toBe(-2);
    t.running = false;
  });
});
