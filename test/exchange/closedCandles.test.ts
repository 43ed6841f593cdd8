import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SystemClock } from "../../src/core/clock.js";
import type { Frame } from "../../src/core/frame.js";
import { silentLogger } from "../../src/core/log.js";
import { loadArchiveMonths } from "../../src/data/archive/import.js";
import { CcxtMarketData } from "../../src/exchange/ccxt/adapter.js";
import { type ClosedCandle, closedCandles } from "../../src/exchange/closedCandles.js";
import { type Simulator, startSimulator, VirtualClock } from "../../src/simulator/index.js";
import { SAMPLE } from "../helpers/paths.js";

/**
 * The closed-candle subscription over ccxt against the Binance simulator serving the sample:
 * back-fill from a past start, across the real 80-minute halt of Binance spot on 2023-03-24
 * (NaN candles on the grid, as merge leaves them), then following the exchange's clock minute
 * by minute, with server errors in between: every grid time exactly once, in order, with the
 * archive's values.
 */
const MIN = 60_000;
const HALT_START = Date.UTC(2023, 2, 24, 12, 40); // first minute without a candle
const HALT_END = Date.UTC(2023, 2, 24, 14, 0); // first candle after the halt
const FROM = Date.UTC(2023, 2, 24, 12, 30);

let sim: Simulator;
let btc: Frame;
let md: CcxtMarketData;

beforeAll(async () => {
  sim = await startSimulator({
    archive: SAMPLE,
    clock: new VirtualClock({ start: HALT_END + 10 * MIN + 30_000, speed: 0 }),
    preload: true,
  });
  btc = await loadArchiveMonths(SAMPLE, "BTCUSDT", "spot", "1m", ["2023-03"]);
  md = new CcxtMarketData({ venue: "binance", exchangeUrl: sim.url, log: silentLogger, random: () => 0.5 });
});
afterAll(async () => {
  await md.close();
  await sim.close();
});

function expectArchive(c: ClosedCandle): void {
  if (c.time >= HALT_START && c.time < HALT_END) {
    expect(c.missing).toBe(true);
    expect(Number.isNaN(c.close)).toBe(true);
    return;
  }
  const i = btc.lowerBound(c.time);
  expect(btc.time[i]).toBe(c.time);
  expect(c.missing).toBe(false);
  for (const k of ["open", "high", "low", "close", "volume"] as const) expect(c[k]).toBe(btc.get(k)[i]);
}

describe("closedCandles", () => {
  it("back-fills across a halt, then follows the exchange's clock: each grid time once, in order", async () => {
    const controller = new AbortController();
    const feed = closedCandles(md, {
      symbol: "BTCUSDT",
      market: "spot",
      interval: "1m",
      intervalMs: MIN,
      from: FROM,
      clock: new SystemClock(),
      delayMs: 0,
      maxWaitMs: 5,
      retryMs: 5,
      signal: controller.signal,
    });
    const got: ClosedCandle[] = [];
    const start = sim.clock.now();
    let live = 0;
    for await (const c of feed) {
      got.push(c);
      expectArchive(c);
      if (c.time + 2 * MIN > sim.clock.now()) {
        // caught up: from here on the exchange's clock moves a minute at a time, with 503s
        if (++live === 4) break;
        if (live === 2) sim.faults.set([{ kind: "status", status: 503, path: "/api/v3/klines", every: 2 }]);
        sim.clock.set(c.time + 2 * MIN + 1);
      }
    }
    expect(sim.requests.list({ path: "/api/v3/klines" }).some((r) => r.status === 503)).toBe(true);
    sim.faults.clear();
    controller.abort();
    const times = got.map((c) => c.time);
    expect(times[0]).toBe(FROM);
    for (let i = 1; i < times.length; i++) expect((times[i] as number) - (times[i - 1] as number)).toBe(MIN);
    expect(got.filter((c) => c.missing)).toHaveLength(80);
    expect(got.length).toBe((start - MIN - FROM - 30_000) / MIN + 1 + 3);
  });

  it("stops when its signal aborts, while it waits for the next close", async () => {
    const controller = new AbortController();
    sim.clock.set(FROM + 2 * MIN + 30_000);
    const feed = closedCandles(md, {
      symbol: "BTCUSDT",
      market: "spot",
      interval: "1m",
      intervalMs: MIN,
      from: FROM,
      clock: new SystemClock(),
      delayMs: 0,
      maxWaitMs: 20,
      signal: controller.signal,
    });
    const got: number[] = [];
    const done = (async () => {
      for await (const c of feed) got.push(c.time);
    })();
    await new Promise((r) => setTimeout(r, 300));
    controller.abort(new Error("stop"));
    await expect(done).rejects.toThrow("stop");
    expect(got).toEqual([FROM, FROM + MIN]);
  });
});
