import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Frame } from "../../src/core/frame.js";
import { KLINE_COLUMNS } from "../../src/core/klines.js";
import { silentLogger } from "../../src/core/log.js";
import { loadArchiveMonths } from "../../src/data/archive/import.js";
import { CcxtMarketData, type CcxtMarketDataOptions } from "../../src/exchange/ccxt/adapter.js";
import { type Simulator, startSimulator, VirtualClock } from "../../src/simulator/index.js";
import { SAMPLE } from "../helpers/paths.js";

/**
 * The ccxt adapter over real HTTP against the Binance simulator serving the bundled real
 * candles: the unchanged ccxt client with only its URLs overridden.
 */

const MIN = 60_000;
const MAR = Date.UTC(2023, 2, 1);
const MAY = Date.UTC(2023, 4, 1);

let sim: Simulator;
let btc: Frame;
let eth: Frame;
const adapters: CcxtMarketData[] = [];

beforeAll(async () => {
  sim = await startSimulator({
    archive: SAMPLE,
    clock: new VirtualClock({ start: MAY, speed: 0 }),
    preload: true,
  });
  btc = await loadArchiveMonths(SAMPLE, "BTCUSDT", "spot", "1m", ["2023-02", "2023-03", "2023-04"]);
  eth = await loadArchiveMonths(SAMPLE, "ETHUSDT", "um", "1m", ["2023-02", "2023-03", "2023-04"]);
});
afterAll(async () => {
  for (const a of adapters) await a.close();
  await sim.close();
});
afterEach(() => {
  sim.faults.clear();
  sim.requests.clear();
});

/** An adapter whose waits are recorded instead of slept. */
function adapter(extra: Partial<CcxtMarketDataOptions> = {}) {
  const sleeps: number[] = [];
  const md = new CcxtMarketData({
    venue: "binance",
    exchangeUrl: sim.url,
    sleep: async (ms) => void sleeps.push(ms),
    random: () => 0.5,
    log: silentLogger,
    ...extra,
  });
  adapters.push(md);
  return { md, sleeps };
}

function expectRowsEqual(page: Frame, archive: Frame, from: number): void {
  const lo = archive.lowerBound(from);
  expect([...page.time]).toEqual([...archive.time.subarray(lo, lo + page.length)]);
  for (const c of KLINE_COLUMNS) {
    expect([...page.get(c)], c).toEqual([...archive.get(c).subarray(lo, lo + page.length)]);
  }
}

describe("CcxtMarketData against the simulator", () => {
  it("spot and USD-M klines keep all 12 fields and equal the archive", async () => {
    const { md } = adapter();
    const spot = await md.fetchKlines("BTCUSDT", "spot", "1m", MAR, 1000);
    expect(spot.length).toBe(1000);
    expect(spot.columnNames).toEqual([...KLINE_COLUMNS]);
    expectRowsEqual(spot, btc, MAR);
    const um = await md.fetchKlines("ETHUSDT", "um", "1m", MAR + 7 * MIN, 500);
    expect(um.length).toBe(500);
    expectRowsEqual(um, eth, MAR + 7 * MIN);
    const paths = sim.requests.list().map((r) => `${r.path}?${new URLSearchParams(r.params)}`);
    expect(paths).toEqual([
      `/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=${MAR}&limit=1000`,
      `/fapi/v1/klines?symbol=ETHUSDT&interval=1m&startTime=${MAR + 7 * MIN}&limit=500`,
    ]);
  });

  it("reads the exchange's clock", async () => {
    const { md } = adapter();
    expect(await md.serverTime()).toBe(MAY);
    expect(await md.serverTime("um")).toBe(MAY);
  });

  it("waits as Retry-After says on 429 and 418, then succeeds", async () => {
    sim.faults.set([
      { kind: "status", status: 429, retryAfter: 3, path: "/api/v3/klines", nth: [1] },
      { kind: "status", status: 418, retryAfter: 7, path: "/api/v3/klines", nth: [2] },
    ]);
    const { md, sleeps } = adapter();
    const page = await md.fetchKlines("BTCUSDT", "spot", "1m", MAR, 10);
    expectRowsEqual(page, btc, MAR);
    expect(sleeps).toEqual([3000, 7000]);
    expect(sim.requests.list().map((r) => r.status)).toEqual([429, 418, 200]);
  });

  it("retries 5xx, resets and bodies cut short with jittered backoff", async () => {
    sim.faults.set([
      { kind: "status", status: 503, path: "/api/v3/klines", nth: [1] },
      { kind: "status", status: 502, path: "/api/v3/klines", nth: [2] },
      { kind: "drop", reset: true, path: "/api/v3/klines", nth: [3] },
      { kind: "drop", bytes: 2000, path: "/api/v3/klines", nth: [4] },
      { kind: "status", status: 500, path: "/api/v3/klines", nth: [5] },
    ]);
    const { md, sleeps } = adapter({ random: () => 0.5 });
    const page = await md.fetchKlines("BTCUSDT", "spot", "1m", MAR, 1000);
    expectRowsEqual(page, btc, MAR);
    // Half of each doubling window (random 0.5): 500, 1000, 2000, 4000, 8000 ms windows.
    expect(sleeps).toEqual([250, 500, 1000, 2000, 4000]);
    expect(md.stats).toMatchObject({ failures: 5 });
  });

  it("a response slower than the timeout is abandoned and retried", async () => {
    sim.faults.set([{ kind: "delay", delayMs: 1500, path: "/api/v3/klines", nth: [1] }]);
    const { md, sleeps } = adapter({ timeoutMs: 300 });
    const page = await md.fetchKlines("BTCUSDT", "spot", "1m", MAR, 100);
    expectRowsEqual(page, btc, MAR);
    expect(sleeps).toEqual([250]);
    expect(md.stats.failures).toBe(1);
  });

  it("an unknown symbol stops at once with a clear message, without retries", async () => {
    const { md, sleeps } = adapter();
    await expect(md.fetchKlines("BTCUSDX", "spot", "1m", MAR, 1000)).rejects.toMatchObject({
      action: "halt",
      message: "BTCUSDX: the exchange does not know this symbol (Binance -1121 Invalid symbol)",
    });
    expect(sleeps).toEqual([]);
    expect(sim.requests.list({ path: "/api/v3/klines" })).toHaveLength(1);
  });

  it("a 401 stops at once and points at the credentials", async () => {
    sim.faults.set([{ kind: "status", status: 401, path: "/api/v3/klines" }]);
    const { md, sleeps } = adapter();
    await expect(md.fetchKlines("BTCUSDT", "spot", "1m", MAR, 1000)).rejects.toMatchObject({
      action: "halt",
      status: 401,
      message: expect.stringMatching(/unauthorized.*api_key/),
    });
    expect(sleeps).toEqual([]);
    expect(sim.requests.list({ path: "/api/v3/klines" })).toHaveLength(1);
  });

  it("gives up after the bounded number of attempts", async () => {
    sim.faults.set([{ kind: "status", status: 503, path: "/api/v3/klines" }]);
    const { md, sleeps } = adapter({ retry: { attempts: 4 } });
    await expect(md.fetchKlines("BTCUSDT", "spot", "1m", MAR, 1000)).rejects.toThrow(
      /gave up after 4 attempts/,
    );
    expect(sleeps).toHaveLength(3);
    expect(sim.requests.list({ path: "/api/v3/klines" })).toHaveLength(4);
  });
});

describe("request weight", () => {
  it("near the limit, requests wait for the next minute instead of running into 429", async () => {
    // A simulator whose weight window runs on a fake clock that the adapter's sleeps advance.
    let real = Date.UTC(2024, 0, 1, 0, 0, 10);
    const small = await startSimulator({
      archive: SAMPLE,
      clock: new VirtualClock({ start: MAY, speed: 0 }),
      realNow: () => real,
      weightLimits: { spot: 50 },
    });
    try {
      const sleeps: number[] = [];
      const md = new CcxtMarketData({
        venue: "binance",
        exchangeUrl: small.url,
        weightLimit: { spot: 50 },
        now: () => real,
        sleep: async (ms) => {
          sleeps.push(ms);
          real += ms;
        },
        random: () => 0.5,
      });
      adapters.push(md);
      // Klines of limit 1000 weigh 2 on spot: from 40 of 50 used (80 %) on, requests wait; 45 need two waits.
      for (let k = 0; k < 45; k++) await md.fetchKlines("BTCUSDT", "spot", "1m", MAR + k * 1000 * MIN, 1000);
      const statuses = small.requests.list({ path: "/api/v3/klines" }).map((r) => r.status);
      expect(statuses.filter((s) => s !== 200)).toEqual([]);
      expect(md.stats.weightPauses).toBe(2);
      // Each pause lasts to one second past the next minute boundary of the (fake) clock.
      expect(sleeps[0]).toBe(51_000);
    } finally {
      await small.close();
    }
  });
});
