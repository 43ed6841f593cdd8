import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Frame } from "../../src/core/frame.js";
import { loadArchiveMonths } from "../../src/data/archive/import.js";
import { resampleKlines } from "../../src/data/resample.js";
import { type Simulator, startSimulator, VirtualClock } from "../../src/simulator/index.js";
import { SAMPLE } from "../helpers/paths.js";

/** REST semantics of the simulator against the bundled real sample (BTCUSDT spot, ETHUSDT USD-M, 2023-02..04). */

const MIN = 60_000;
const HOUR = 3_600_000;
const MAR = Date.UTC(2023, 2, 1);
const APR = Date.UTC(2023, 3, 1);
const MAY = Date.UTC(2023, 4, 1);

type Row = [number, string, string, string, string, string, number, string, number, string, string, string];

let sim: Simulator;
let clock: VirtualClock;
let btc: Frame;
let eth: Frame;

beforeAll(async () => {
  clock = new VirtualClock({ start: MAY, speed: 0 });
  sim = await startSimulator({ archive: SAMPLE, clock });
  btc = await loadArchiveMonths(SAMPLE, "BTCUSDT", "spot", "1m", ["2023-02", "2023-03", "2023-04"]);
  eth = await loadArchiveMonths(SAMPLE, "ETHUSDT", "um", "1m", ["2023-02", "2023-03", "2023-04"]);
});
afterAll(async () => {
  await sim.close();
});

async function get(path: string): Promise<{ status: number; body: unknown; headers: Headers }> {
  const res = await fetch(`${sim.url}${path}`);
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) as unknown, headers: res.headers };
}

async function klines(query: string, market: "spot" | "um" = "spot"): Promise<Row[]> {
  const r = await get(`${market === "spot" ? "/api/v3" : "/fapi/v1"}/klines?${query}`);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body as Row[];
}

/** The archive's row at open time t, as Binance's 12 REST fields turned into numbers. */
function archiveRow(frame: Frame, t: number): number[] {
  const i = frame.lowerBound(t);
  expect(frame.time[i]).toBe(t);
  return [
    t,
    ...[
      "open",
      "high",
      "low",
      "close",
      "volume",
      "close_time",
      "quote_av",
      "trades",
      "tb_base_av",
      "tb_quote_av",
    ].map((c) => frame.get(c)[i] as number),
    0,
  ];
}

const numbers = (row: Row): number[] => row.map((x) => Number(x));

describe("general endpoints", () => {
  it("ping answers {} and time is the virtual clock", async () => {
    expect((await get("/api/v3/ping")).body).toEqual({});
    expect((await get("/fapi/v1/ping")).body).toEqual({});
    expect((await get("/api/v3/time")).body).toEqual({ serverTime: MAY });
    expect((await get("/fapi/v1/time")).body).toEqual({ serverTime: MAY });
  });

  it("spot exchangeInfo lists the spot symbols with Binance's filters", async () => {
    const r = await get("/api/v3/exchangeInfo");
    const info = r.body as { symbols: Record<string, unknown>[]; rateLimits: unknown[]; serverTime: number };
    expect(info.serverTime).toBe(MAY);
    expect(info.symbols.map((s) => s.symbol)).toEqual(["BTCUSDT"]);
    const s = info.symbols[0] as Record<string, unknown>;
    expect(s).toMatchObject({
      status: "TRADING",
      baseAsset: "BTC",
      quoteAsset: "USDT",
      baseAssetPrecision: 8,
    });
    const filters = s.filters as Record<string, unknown>[];
    expect(filters.find((f) => f.filterType === "PRICE_FILTER")).toMatchObject({ tickSize: "0.01000000" });
    expect(filters.find((f) => f.filterType === "LOT_SIZE")).toMatchObject({
      stepSize: "0.00001000",
      minQty: "0.00001000",
      maxQty: "9000.00000000",
    });
    expect(filters.find((f) => f.filterType === "NOTIONAL")).toMatchObject({ minNotional: "5.00000000" });
    expect(info.rateLimits).toContainEqual({
      rateLimitType: "REQUEST_WEIGHT",
      interval: "MINUTE",
      intervalNum: 1,
      limit: 6000,
    });
  });

  it("spot exchangeInfo takes symbol or symbols, and refuses an unknown one", async () => {
    const one = await get("/api/v3/exchangeInfo?symbol=BTCUSDT");
    expect((one.body as { symbols: unknown[] }).symbols).toHaveLength(1);
    const many = await get(`/api/v3/exchangeInfo?symbols=${encodeURIComponent('["BTCUSDT"]')}`);
    expect((many.body as { symbols: unknown[] }).symbols).toHaveLength(1);
    // ETHUSDT exists only as a USD-M perpetual in the sample.
    const bad = await get("/api/v3/exchangeInfo?symbol=ETHUSDT");
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({ code: -1121, msg: "Invalid symbol." });
  });

  it("futures exchangeInfo has the perpetual shape", async () => {
    const r = await get("/fapi/v1/exchangeInfo");
    const s = (r.body as { symbols: Record<string, unknown>[] }).symbols[0] as Record<string, unknown>;
    expect(s).toMatchObject({
      symbol: "ETHUSDT",
      contractType: "PERPETUAL",
      marginAsset: "USDT",
      pricePrecision: 2,
      quantityPrecision: 3,
      status: "TRADING",
    });
    const filters = s.filters as Record<string, unknown>[];
    expect(filters.find((f) => f.filterType === "MIN_NOTIONAL")).toEqual({
      filterType: "MIN_NOTIONAL",
      notional: "20",
    });
    expect(filters.find((f) => f.filterType === "PRICE_FILTER")).toMatchObject({ tickSize: "0.01" });
  });
});

describe("klines", () => {
  it("rows carry Binance's 12 fields, decimal strings that parse to the stored values", async () => {
    const t = Date.UTC(2023, 2, 10, 10, 0);
    const [row] = await klines(`symbol=BTCUSDT&interval=1m&startTime=${t}&limit=1`);
    expect(row).toHaveLength(12);
    expect(typeof row?.[0]).toBe("number");
    expect(typeof row?.[1]).toBe("string");
    expect(typeof row?.[8]).toBe("number");
    expect(row?.[1]).toMatch(/^\d+\.\d{8}$/); // spot pads to 8 decimals, as Binance does
    expect(row?.[11]).toBe("0");
    expect(numbers(row as Row)).toEqual(archiveRow(btc, t));
    const [f] = await klines(`symbol=ETHUSDT&interval=1m&startTime=${t}&limit=1`, "um");
    expect(f?.[1]).toMatch(/^\d+\.\d{2}$/); // futures: the symbol's price precision
    expect(f?.[5]).toMatch(/^\d+\.\d{3}$/);
    expect(numbers(f as Row)).toEqual(archiveRow(eth, t));
  });

  it("serves a whole month exactly, the halt gap included", async () => {
    let since = MAR;
    const rows: Row[] = [];
    while (since < APR) {
      const page = await klines(
        `symbol=BTCUSDT&interval=1m&startTime=${since}&endTime=${APR - 1}&limit=1000`,
      );
      if (page.length === 0) break;
      rows.push(...page);
      since = (page.at(-1)?.[0] as number) + MIN;
    }
    const lo = btc.lowerBound(MAR);
    const hi = btc.lowerBound(APR);
    expect(rows.length).toBe(hi - lo);
    expect(rows.length).toBe(31 * 1440 - 80);
    for (let k = 0; k < rows.length; k++) {
      expect(numbers(rows[k] as Row)).toEqual(archiveRow(btc, btc.time[lo + k] as number));
    }
    const halt = rows.findIndex((r) => r[0] === Date.UTC(2023, 2, 24, 12, 39));
    expect((rows[halt + 1] as Row)[0] - (rows[halt] as Row)[0]).toBe(81 * MIN);
  });

  it("startTime, endTime and limit select as Binance does", async () => {
    const t = Date.UTC(2023, 2, 10, 10, 0);
    const times = (rows: Row[]) => rows.map((r) => r[0]);
    // startTime inside a bar: bars opening at or after it.
    expect(times(await klines(`symbol=BTCUSDT&interval=1m&startTime=${t + 1}&limit=2`))).toEqual([
      t + MIN,
      t + 2 * MIN,
    ]);
    // startTime and endTime: both inclusive on open times.
    expect(times(await klines(`symbol=BTCUSDT&interval=1m&startTime=${t}&endTime=${t + 2 * MIN}`))).toEqual([
      t,
      t + MIN,
      t + 2 * MIN,
    ]);
    // only endTime: the latest `limit` bars opening at or before it.
    expect(times(await klines(`symbol=BTCUSDT&interval=1m&endTime=${t + 30_000}&limit=3`))).toEqual([
      t - 2 * MIN,
      t - MIN,
      t,
    ]);
    // neither: the latest bars before virtual now (May 1, after the sample's last bar).
    const latest = await klines("symbol=BTCUSDT&interval=1m&limit=2");
    expect(times(latest)).toEqual([MAY - 2 * MIN, MAY - MIN]);
    // default limit 500; a limit above the maximum is clamped (1000 spot, 1500 futures).
    expect(await klines(`symbol=BTCUSDT&interval=1m&startTime=${t}`)).toHaveLength(500);
    expect(await klines(`symbol=BTCUSDT&interval=1m&startTime=${t}&limit=5000`)).toHaveLength(1000);
    expect(await klines(`symbol=ETHUSDT&interval=1m&startTime=${t}&limit=5000`, "um")).toHaveLength(1500);
    // a start after the data, or a spot start after the end: nothing.
    expect(await klines(`symbol=BTCUSDT&interval=1m&startTime=${MAY + HOUR}`)).toEqual([]);
    expect(await klines(`symbol=BTCUSDT&interval=1m&startTime=${t + MIN}&endTime=${t}`)).toEqual([]);
  });

  it("aggregates 1m into coarser intervals with the exchange's OHLCV rules", async () => {
    const ref = resampleKlines(btc.slice(btc.lowerBound(MAR), btc.lowerBound(APR)), HOUR);
    const rows = await klines(`symbol=BTCUSDT&interval=1h&startTime=${MAR}&endTime=${APR - 1}&limit=1000`);
    expect(rows.length).toBe(ref.length);
    expect(rows.length).toBe(31 * 24 - 1); // the 13:00 hour of the halt has no bar at all
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i] as Row;
      expect(r[0]).toBe(ref.time[i]);
      expect(r[6]).toBe((ref.time[i] as number) + HOUR - 1);
      for (const [k, c] of [
        [1, "open"],
        [2, "high"],
        [3, "low"],
        [4, "close"],
        [8, "trades"],
      ] as const) {
        expect(Number(r[k])).toBe(ref.get(c)[i]);
      }
      // Sums are the exact decimal sums, without floating-point residue.
      for (const [k, c] of [
        [5, "volume"],
        [7, "quote_av"],
        [9, "tb_base_av"],
        [10, "tb_quote_av"],
      ] as const) {
        const x = ref.get(c)[i] as number;
        expect(Math.abs(Number(r[k]) - x) / Math.max(1, x)).toBeLessThan(1e-12);
        expect(r[k]).toMatch(/^\d+\.\d{8}$/);
      }
    }
    // Every served interval, and Monday-aligned weeks.
    for (const iv of ["3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "1w"]) {
      expect((await klines(`symbol=BTCUSDT&interval=${iv}&limit=3`)).length, iv).toBe(3);
    }
    const weeks = await klines(`symbol=BTCUSDT&interval=1w&startTime=${MAR}&limit=2`);
    expect(new Date(weeks[0]?.[0] as number).getUTCDay()).toBe(1);
  });

  it("sums are exact decimals: a day's volume equals the sum of its 1m strings", async () => {
    const day = Date.UTC(2023, 2, 15);
    const minutes = await klines(
      `symbol=BTCUSDT&interval=1m&startTime=${day}&endTime=${day + 86_399_999}&limit=1000`,
    );
    const more = await klines(
      `symbol=BTCUSDT&interval=1m&startTime=${day + 1000 * MIN}&endTime=${day + 86_399_999}&limit=1000`,
    );
    const all = [...minutes, ...more];
    expect(all).toHaveLength(1440);
    const sum = (k: number) => all.reduce((s, r) => s + BigInt((r[k] as string).replace(".", "")), 0n);
    const [d] = (await klines(`symbol=BTCUSDT&interval=1d&startTime=${day}&limit=1`)) as [Row];
    for (const k of [5, 7, 9, 10]) expect(BigInt((d[k] as string).replace(".", ""))).toBe(sum(k));
  });

  it("answers bad parameters with Binance's error codes", async () => {
    const cases: [string, number, number][] = [
      ["symbol=NOPEUSDT&interval=1m", 400, -1121],
      ["symbol=btcusdt&interval=1m", 400, -1100],
      ["interval=1m", 400, -1102],
      ["symbol=BTCUSDT", 400, -1102],
      ["symbol=BTCUSDT&interval=7m", 400, -1120],
      ["symbol=BTCUSDT&interval=1s", 400, -1120],
      ["symbol=BTCUSDT&interval=1m&limit=0", 400, -1130],
      ["symbol=BTCUSDT&interval=1m&limit=abc", 400, -1100],
      ["symbol=BTCUSDT&interval=1m&startTime=yesterday", 400, -1100],
      ["symbol=BTCUSDT&interval=1m&foo=1", 400, -1104],
    ];
    for (const [q, status, code] of cases) {
      const r = await get(`/api/v3/klines?${q}`);
      expect([r.status, (r.body as { code: number }).code], q).toEqual([status, code]);
      expect(typeof (r.body as { msg: unknown }).msg).toBe("string");
    }
    const swapped = await get(
      `/fapi/v1/klines?symbol=ETHUSDT&interval=1m&startTime=${MAR + MIN}&endTime=${MAR}`,
    );
    expect(swapped.body).toEqual({ code: -1023, msg: "Start time is greater than end time." });
    // A symbol served on one market is not on the other.
    expect((await get("/fapi/v1/klines?symbol=BTCUSDT&interval=1m")).body).toEqual({
      code: -1121,
      msg: "Invalid symbol.",
    });
  });

  it("reports the used weight and refuses requests over the minute's budget", async () => {
    let real = 1_000_000_000;
    const clk = new VirtualClock({ start: APR, speed: 0 });
    const s = await startSimulator({
      archive: SAMPLE,
      clock: clk,
      realNow: () => real,
      weightLimits: { spot: 10 },
    });
    try {
      const weights: (string | null)[] = [];
      for (let i = 0; i < 5; i++) {
        const res = await fetch(`${s.url}/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=1`);
        expect(res.status).toBe(200);
        weights.push(res.headers.get("x-mbx-used-weight-1m"));
      }
      expect(weights).toEqual(["2", "4", "6", "8", "10"]);
      const over = await fetch(`${s.url}/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=1`);
      expect(over.status).toBe(429);
      expect(Number(over.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(((await over.json()) as { code: number }).code).toBe(-1003);
      // Futures have their own budget; a new minute resets the spot one.
      const f = await fetch(`${s.url}/fapi/v1/klines?symbol=ETHUSDT&interval=1m&limit=1000`);
      expect(f.headers.get("x-mbx-used-weight-1m")).toBe("5");
      real += 60_000;
      expect((await fetch(`${s.url}/api/v3/ping`)).headers.get("x-mbx-used-weight-1m")).toBe("1");
    } finally {
      await s.close();
    }
  });
});

describe("the virtual clock", () => {
  it("shows closed bars and the single forming one, never a bar that has not opened", async () => {
    const t = Date.UTC(2023, 2, 10, 10, 0);
    const clk = new VirtualClock({ start: t + 30_000, speed: 0 });
    const s = await startSimulator({ archive: SAMPLE, clock: clk });
    try {
      const latest = async (iv: string, limit = 3) =>
        (await (
          await fetch(`${s.url}/api/v3/klines?symbol=BTCUSDT&interval=${iv}&limit=${limit}`)
        ).json()) as Row[];
      let rows = await latest("1m");
      expect(rows.map((r) => r[0])).toEqual([t - 2 * MIN, t - MIN, t]);
      expect(rows.filter((r) => r[6] >= clk.now())).toHaveLength(1); // only the last one is still forming
      expect(numbers(rows[2] as Row)).toEqual(archiveRow(btc, t)); // "full" mode: the stored bar
      // Asking past now changes nothing.
      const ahead = (await (
        await fetch(`${s.url}/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=${t}&limit=10`)
      ).json()) as Row[];
      expect(ahead.map((r) => r[0])).toEqual([t]);
      const after = await fetch(`${s.url}/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=${t + 1}`);
      expect(await after.json()).toEqual([]);
      const before = (await (
        await fetch(`${s.url}/api/v3/klines?symbol=BTCUSDT&interval=1m&endTime=${t - 1}&limit=2`)
      ).json()) as Row[];
      expect(before.map((r) => r[0])).toEqual([t - 2 * MIN, t - MIN]);
      // Advancing reveals the next bar, one at a time.
      await fetch(`${s.url}/admin/clock`, { method: "POST", body: JSON.stringify({ advance: "1m" }) });
      rows = await latest("1m");
      expect(rows.map((r) => r[0])).toEqual([t - MIN, t, t + MIN]);
      // The forming hour holds only the minutes opened so far.
      clk.set(t + 30 * MIN + 5_000);
      const [, hour] = await latest("1h", 2);
      const mins = btc.slice(btc.lowerBound(t), btc.lowerBound(t + 31 * MIN));
      expect(hour?.[0]).toBe(t);
      expect(Number(hour?.[2])).toBe(Math.max(...mins.get("high")));
      expect(Number(hour?.[3])).toBe(Math.min(...mins.get("low")));
      expect(Number(hour?.[4])).toBe(mins.get("close")[30]);
      expect(hour?.[6]).toBe(t + HOUR - 1);
      expect(hour?.[8]).toBe(mins.get("trades").reduce((a, b) => a + b, 0));
    } finally {
      await s.close();
    }
  });

  it('"open" mode shows the forming bar as it opens, with nothing from its future', async () => {
    const t = Date.UTC(2023, 2, 10, 10, 0);
    const s = await startSimulator({ archive: SAMPLE, start: t + 30_000, speed: 0, forming: "open" });
    try {
      const rows = (await (
        await fetch(`${s.url}/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=2`)
      ).json()) as Row[];
      const last = rows[1] as Row;
      const open = btc.get("open")[btc.lowerBound(t)] as number;
      expect(last[0]).toBe(t);
      expect([last[1], last[2], last[3], last[4]].map(Number)).toEqual([open, open, open, open]);
      expect([Number(last[5]), last[8]]).toEqual([0, 0]);
      expect(numbers(rows[0] as Row)).toEqual(archiveRow(btc, t - MIN));
    } finally {
      await s.close();
    }
  });

  it("runs at --speed virtual seconds per real second", async () => {
    let real = 0;
    const s = await startSimulator({ archive: SAMPLE, start: MAR, speed: 60, realNow: () => real });
    try {
      expect(s.clock.now()).toBe(MAR);
      real += 1000; // one real second at 60x: one virtual minute
      expect(s.clock.now()).toBe(MAR + MIN);
      const state = (await (await fetch(`${s.url}/admin/state`)).json()) as { now: number; speed: number };
      expect(state).toMatchObject({ now: MAR + MIN, speed: 60 });
      await fetch(`${s.url}/admin/clock`, {
        method: "POST",
        body: JSON.stringify({ speed: 0, time: "2023-03-02" }),
      });
      real += 5000;
      expect(s.clock.now()).toBe(Date.UTC(2023, 2, 2));
      const bad = await fetch(`${s.url}/admin/clock`, {
        method: "POST",
        body: JSON.stringify({ advance: -5 }),
      });
      expect(bad.status).toBe(400);
    } finally {
      await s.close();
    }
  });
});
