import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Config, loadConfig } from "../../src/config/index.js";
import type { Frame } from "../../src/core/frame.js";
import { silentLogger } from "../../src/core/log.js";
import { loadArchiveMonths } from "../../src/data/archive/import.js";
import { runDownload } from "../../src/data/runDownload.js";
import { frameFileInfo, readFrame, writeFrame } from "../../src/data/store/index.js";
import { type FaultRule, type Simulator, startSimulator, VirtualClock } from "../../src/simulator/index.js";
import { ROOT, SAMPLE } from "../helpers/paths.js";
import { capture, expectSameKlines, removeTempDirs, tempDir, withChanged } from "./downloadHelpers.js";

/**
 * `itb download` end to end: ccxt over HTTP against the Binance simulator serving the bundled
 * real candles (BTCUSDT spot, ETHUSDT USD-M, 2023-02..04), with faults injected, a resumed
 * run, and a real CLI process killed with SIGKILL mid-download.
 */

const MIN = 60_000;
const utc = (y: number, m: number, d = 1, h = 0, min = 0) => Date.UTC(y, m - 1, d, h, min);
const MAR = utc(2023, 3);
const APR = utc(2023, 4);
const MAY = utc(2023, 5);
const KLINES = "/api/v3/klines";

let sim: Simulator;
let btc: Frame;
let eth: Frame;
let march: Frame;
let work: string;

beforeAll(async () => {
  sim = await startSimulator({
    archive: SAMPLE,
    clock: new VirtualClock({ start: MAY, speed: 0 }),
    preload: true,
  });
  btc = await loadArchiveMonths(SAMPLE, "BTCUSDT", "spot", "1m", ["2023-02", "2023-03", "2023-04"]);
  eth = await loadArchiveMonths(SAMPLE, "ETHUSDT", "um", "1m", ["2023-02", "2023-03", "2023-04"]);
  march = btc.slice(btc.lowerBound(MAR), btc.lowerBound(APR));
  work = tempDir("sim");
});
afterAll(async () => {
  await sim.close();
  removeTempDirs();
});
afterEach(() => {
  sim.faults.clear();
  sim.requests.clear();
  sim.clock.set(MAY);
});

let n = 0;
/** A fresh data folder and a config file pointing at the simulator. */
function setup(extra: Record<string, unknown> = {}): { file: string; folder: string; config: Config } {
  n++;
  const folder = join(work, `d${n}`);
  const file = join(work, `config${n}.jsonc`);
  const body = {
    symbol: "BTCUSDT",
    freq: "1m",
    venue: "binance",
    exchange_url: sim.url,
    data_folder: folder,
    download_start: "2023-03",
    download_end: "2023-04",
    ...extra,
  };
  writeFileSync(file, `// written by downloadSimulator.test.ts\n${JSON.stringify(body, null, 2)}\n`);
  return { file, folder, config: loadConfig(file).config };
}

/** runDownload with recorded (not slept) waits and a seeded jitter source. */
async function download(config: Config, opts: Parameters<typeof runDownload>[1] = {}) {
  const sleeps: number[] = [];
  const c = capture();
  const results = await runDownload(config, opts, {
    ...c,
    ccxt: { sleep: async (ms) => void sleeps.push(ms), random: () => 0.5 },
  });
  return { results, sleeps, c };
}

const store = (folder: string, symbol = "BTCUSDT") => join(folder, symbol, "klines.parquet");

describe("itb download through ccxt from the simulator", () => {
  it("a real month (2023-03, with the 80-minute halt) equals the archive row for row, all 12 fields", async () => {
    const { folder, config } = setup();
    const { results, sleeps } = await download(config);
    const stored = await readFrame(store(folder));
    expectSameKlines(stored, march);
    expect(results[0]).toMatchObject({ rowsAdded: march.length, pages: 45, first: MAR, last: APR - MIN });
    expect(sleeps).toEqual([]);
    // The halt is the only gap.
    const i = stored.lowerBound(utc(2023, 3, 24, 14));
    expect(stored.time[i - 1]).toBe(utc(2023, 3, 24, 12, 39));
    // Every page asked for the next candle after the previous page: no overlaps, no holes.
    const starts = sim.requests.list({ path: KLINES }).map((r) => Number(r.params.startTime));
    expect(starts[0]).toBe(MAR);
    expect(new Set(starts).size).toBe(starts.length);
  });

  it("USD-M futures go to /fapi/v1 in pages of the least weight per kline and equal the archive", async () => {
    const { folder, config } = setup({
      symbol: "ETHUSDT",
      data_sources: [{ folder: "ETHUSDT", market: "um" }],
      download_start: "2023-03-27",
    });
    await download(config);
    const from = utc(2023, 3, 27);
    expectSameKlines(
      await readFrame(store(folder, "ETHUSDT")),
      eth.slice(eth.lowerBound(from), eth.lowerBound(APR)),
    );
    // 7,200 candles in pages of 499, each of weight 2 (a page of 1000 weighs 5 on futures):
    // fourteen full pages and one of 214.
    const pages = sim.requests.list({ path: "/fapi/v1/klines" });
    expect(pages.length).toBe(15);
    expect(pages.map((r) => r.params.limit)).toEqual(Array(15).fill("499"));
    expect(pages.map((r) => r.weight)).toEqual(Array(15).fill(2));
    expect(sim.requests.list({ path: KLINES })).toEqual([]);
  });

  const faults: [string, FaultRule[], (sleeps: number[]) => void][] = [
    [
      "429 with Retry-After",
      [{ kind: "status", status: 429, retryAfter: 2, path: KLINES, nth: [3, 17] }],
      (s) => expect(s).toEqual([2000, 2000]),
    ],
    [
      "418 with Retry-After",
      [{ kind: "status", status: 418, retryAfter: 5, path: KLINES, nth: [9] }],
      (s) => expect(s).toEqual([5000]),
    ],
    [
      "bursts of 5xx",
      [
        { kind: "status", status: 503, path: KLINES, from: 4, to: 7 },
        { kind: "status", status: 500, path: KLINES, nth: [20] },
        { kind: "status", status: 502, path: KLINES, from: 30, to: 31 },
        { kind: "status", status: 504, path: KLINES, nth: [40] },
      ],
      // Backoff restarts for each request: 4 failures in a row, then 1, 2 and 1.
      (s) => expect(s).toEqual([250, 500, 1000, 2000, 250, 250, 500, 250]),
    ],
    [
      "connections dropped mid-body and reset",
      [
        { kind: "drop", bytes: 3000, path: KLINES, nth: [2, 11, 12] },
        { kind: "drop", reset: true, path: KLINES, nth: [25] },
      ],
      (s) => expect(s).toEqual([250, 250, 500, 250]),
    ],
    [
      "a seeded 20 % of 503s and slow answers",
      [
        { kind: "status", status: 503, path: KLINES, rate: 0.2, seed: 7 },
        { kind: "delay", delayMs: 150, path: KLINES, every: 10 },
      ],
      (s) => expect(s.length).toBeGreaterThan(3),
    ],
  ];

  it.each(faults)("with %s the result equals the archive exactly", async (_name, rules, checkSleeps) => {
    sim.faults.set(rules);
    const { folder, config } = setup();
    const { sleeps } = await download(config);
    expectSameKlines(await readFrame(store(folder)), march);
    checkSleeps(sleeps);
    const log = sim.requests.list({ path: KLINES });
    expect(log.filter((r) => r.faults?.some((f) => !f.startsWith("delay"))).length).toBeGreaterThan(0);
    // Exactly one complete answer per page (a dropped body was sent with status 200, then cut).
    const complete = log.filter((r) => r.status === 200 && !r.faults?.some((f) => f.startsWith("drop")));
    expect(complete.length).toBe(45);
  });

  it("resumes: half the month, then the rest", async () => {
    const { folder, config } = setup();
    const mid = utc(2023, 3, 16, 7, 13);
    const first = await download(config, { to: "2023-03-16 07:13" });
    expect(first.results[0]?.last).toBe(mid - MIN);
    sim.requests.clear();
    const second = await download(config);
    expect(second.results[0]).toMatchObject({
      rowsAdded: march.length - march.lowerBound(mid),
      rowsChanged: 0,
    });
    // The resumed run starts 5 bars (append_overlap_records' default) before the end of the store.
    expect(Number(sim.requests.list({ path: KLINES })[0]?.params.startTime)).toBe(mid - 5 * MIN);
    expectSameKlines(await readFrame(store(folder)), march);
  });

  it("never stores the still-forming candle, and a later run replaces the overlap", async () => {
    // The exchange's clock stands 30 s into the 12:34 candle of 2023-03-10.
    sim.clock.set(utc(2023, 3, 10, 12, 34) + 30_000);
    const { folder, config } = setup({ download_end: null, append_overlap_records: 3 });
    await download(config);
    const s1 = await readFrame(store(folder));
    expect(s1.time.at(-1)).toBe(utc(2023, 3, 10, 12, 33));
    expectSameKlines(s1, march.slice(0, march.lowerBound(utc(2023, 3, 10, 12, 34))));
    // The exchange does serve the forming 12:34 candle; the download dropped it.
    const res = await fetch(
      `${sim.url}${KLINES}?symbol=BTCUSDT&interval=1m&startTime=${utc(2023, 3, 10, 12, 30)}`,
    );
    const rows = (await res.json()) as [number, ...unknown[]][];
    expect(rows.at(-1)?.[0]).toBe(utc(2023, 3, 10, 12, 34));
    // Stored values that differ from the exchange's in the overlap are replaced (the exchange wins).
    await writeFrame(
      store(folder),
      withChanged(s1, "close", [s1.length - 3, s1.length - 2, s1.length - 1], 1),
    );
    sim.clock.set(utc(2023, 3, 11));
    const { results } = await download(config);
    expect(results[0]?.rowsChanged).toBe(3);
    expectSameKlines(await readFrame(store(folder)), march.slice(0, march.lowerBound(utc(2023, 3, 11))));
  });

  it("without download_start, starts at the exchange's first candle", async () => {
    const { folder, config } = setup({ download_start: null, download_end: "2023-02-02 12:00" });
    await download(config);
    expect(Number(sim.requests.list({ path: KLINES })[0]?.params.startTime)).toBe(0);
    const feb = utc(2023, 2);
    expectSameKlines(await readFrame(store(folder)), btc.slice(0, btc.lowerBound(feb + 36 * 3_600_000)));
  });

  it("an unknown symbol stops at once with the clear message and no retries", async () => {
    const { config } = setup({ symbol: "BTCUSDX" });
    await expect(download(config)).rejects.toMatchObject({
      action: "halt",
      message: "BTCUSDX: the exchange does not know this symbol (Binance -1121 Invalid symbol)",
    });
    expect(sim.requests.list({ path: KLINES })).toHaveLength(1);
  });

  it("a 401 stops at once and names the credentials", async () => {
    sim.faults.set([{ kind: "status", status: 401, path: KLINES }]);
    const { folder, config } = setup();
    await expect(download(config)).rejects.toMatchObject({ action: "halt", status: 401 });
    expect(sim.requests.list({ path: KLINES })).toHaveLength(1);
    expect(existsSync(store(folder))).toBe(false);
  });
});

/** Runs the compiled CLI asynchronously (the simulator lives in this process, so no spawnSync). */
function itbAsync(args: string[]): {
  child: ChildProcess;
  done: Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>;
} {
  const child = spawn(process.execPath, [resolve(ROOT, "bin/itb"), ...args], {
    cwd: ROOT,
    env: { ...process.env, ITB_API_KEY: "", ITB_API_SECRET: "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (b: Buffer) => {
    stdout += b.toString();
  });
  child.stderr?.on("data", (b: Buffer) => {
    stderr += b.toString();
  });
  const done = new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>(
    (ok) => {
      child.on("close", (code, signal) => ok({ code, signal, stdout, stderr }));
    },
  );
  return { child, done };
}

describe("itb download as a process", () => {
  it("killed with SIGKILL mid-run, then rerun: the store is valid, complete and equals the archive", async () => {
    const { file, folder } = setup();
    // Slow answers stretch the month's 45 pages over several seconds.
    sim.faults.set([{ kind: "delay", delayMs: 60, path: KLINES }]);
    const run = itbAsync(["download", "--config", file, "--batch-rows", "2000", "--log-format", "json"]);
    let rows = 0;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const info = await frameFileInfo(store(folder)).catch(() => undefined);
      rows = info?.rows ?? 0;
      if (rows >= 4000) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    run.child.kill("SIGKILL");
    const killed = await run.done;
    expect(killed.signal, killed.stderr).toBe("SIGKILL");
    const partial = await readFrame(store(folder));
    expect(partial.length).toBeGreaterThanOrEqual(4000);
    expect(partial.length).toBeLessThan(march.length);
    expectSameKlines(partial, march.slice(0, partial.length));

    sim.faults.clear();
    const rerun = itbAsync(["download", "--config", file, "--log-format", "json"]);
    const r = await rerun.done;
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^BTCUSDT: [\d,]+ rows added from \d+ request\(s\); 44,560 rows in /);
    expectSameKlines(await readFrame(store(folder)), march);
  });

  it("Ctrl-C (SIGINT) stores every row fetched, exits 130, and the next run completes", async () => {
    const { file, folder } = setup();
    sim.faults.set([{ kind: "delay", delayMs: 60, path: KLINES }]);
    const run = itbAsync(["download", "--config", file, "--log-format", "json"]);
    // Wait until a few pages have been answered, then interrupt (no batch has been written yet).
    const deadline = Date.now() + 30_000;
    while (sim.requests.list({ path: KLINES }).length < 5 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    run.child.kill("SIGINT");
    const r = await run.done;
    expect(r.code, r.stderr).toBe(130);
    expect(r.stdout).toContain("[interrupted]");
    expect(r.stderr).toContain("download interrupted; run the same command again to resume");
    const pages = sim.requests.list({ path: KLINES }).filter((x) => x.status === 200).length;
    const partial = await readFrame(store(folder));
    expect(partial.length).toBe(pages * 1000);
    expectSameKlines(partial, march.slice(0, partial.length));
    sim.faults.clear();
    expect((await itbAsync(["download", "--config", file]).done).code).toBe(0);
    expectSameKlines(await readFrame(store(folder)), march);
  });

  it("a bad symbol exits with status 1 and one clear line", async () => {
    const { file } = setup({ symbol: "BTCUSDX" });
    const r = await itbAsync(["download", "--config", file, "--log-level", "error"]).done;
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr.trim().split("\n").at(-1)).toBe(
      "error: BTCUSDX: the exchange does not know this symbol (Binance -1121 Invalid symbol)",
    );
    expect(sim.requests.list({ path: KLINES })).toHaveLength(1);
  });

  it("--help shows an example", async () => {
    const r = await itbAsync(["download", "--help"]).done;
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("--from <YYYY-MM[-DD]>");
    expect(r.stdout).toContain("Example:\n  itb download --config ");
  });
});

describe("throughput", () => {
  it("reports rows/s for a month of 1m candles on loopback", async () => {
    const { config } = setup();
    const t0 = performance.now();
    await runDownload(config, {}, { log: silentLogger, progress: capture().progress });
    const s = (performance.now() - t0) / 1000;
    const rate = Math.round(march.length / s);
    process.stderr.write(`download throughput: ${march.length} rows in ${s.toFixed(2)} s = ${rate} rows/s\n`);
    expect(rate).toBeGreaterThan(5000);
  });
});
