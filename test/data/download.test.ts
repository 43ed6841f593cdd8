import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NetworkError, UsageError } from "../../src/core/errors.js";
import type { Frame } from "../../src/core/frame.js";
import { type DownloadRequest, downloadKlines } from "../../src/data/download.js";
import { resampleKlines } from "../../src/data/resample.js";
import { readFrame, writeFrame } from "../../src/data/store/index.js";
import { sampleCandles } from "../helpers/candles.js";
import {
  capture,
  expectSameKlines,
  FrameMarket,
  removeTempDirs,
  tempDir,
  withChanged,
} from "./downloadHelpers.js";

/**
 * The incremental download logic against an in-memory exchange over real candles (BTCUSDT
 * spot 1m, 2023-02..04): fast and exact. The same behaviour through ccxt and HTTP against the
 * simulator is in downloadSimulator.test.ts.
 */

const MIN = 60_000;
const utc = (y: number, m: number, d = 1, h = 0, min = 0) => Date.UTC(y, m - 1, d, h, min);
const MAR = utc(2023, 3);
const APR = utc(2023, 4);

let march: Frame;
let threeMonths: Frame;
let work: string;
beforeAll(async () => {
  march = await sampleCandles(["2023-03"]);
  threeMonths = await sampleCandles(["2023-02", "2023-03", "2023-04"]);
  work = tempDir("logic");
});
afterAll(removeTempDirs);

let n = 0;
function storeIn(ext = "parquet"): string {
  n++;
  return join(work, `s${n}`, "BTCUSDT", `klines.${ext}`);
}

function req(storeFile: string, extra: Partial<DownloadRequest> = {}): DownloadRequest {
  return { symbol: "BTCUSDT", market: "spot", interval: "1m", storeFile, ...extra };
}

describe("downloadKlines", () => {
  it("a month from scratch equals the archive, written in batches, with progress in bars", async () => {
    const store = storeIn();
    const md = new FrameMarket(threeMonths, utc(2023, 6));
    const c = capture();
    const r = await downloadKlines(
      req(store, { from: MAR, to: APR, batchRows: 10_000, writeShare: 1 }),
      md,
      c,
    );
    expectSameKlines(await readFrame(store), march);
    expect(r).toMatchObject({
      rowsFetched: march.length,
      rowsAdded: march.length,
      rowsChanged: 0,
      rowsTotal: march.length,
      first: MAR,
      last: APR - MIN,
      interrupted: false,
      // 44,560 rows in pages of 1000, and the page that reaches April ends the download.
      pages: 45,
      writes: 5,
    });
    expect(md.calls[0]).toEqual({ startTime: MAR, limit: 1000 });
    // Each page starts right after the previous one's last candle: no duplicates, no re-fetches.
    expect(new Set(md.calls.map((x) => x.startTime)).size).toBe(md.calls.length);
    const bar = c.bars[0];
    expect(bar?.label).toBe("download");
    expect(bar?.unit).toBe("1m bars");
    expect(bar?.calls[0]).toEqual(["start", (APR - MAR) / MIN, { rows: 0, source: "BTCUSDT spot" }]);
    expect(bar?.calls.at(-2)).toEqual(["update", (APR - MAR) / MIN, { rows: march.length }]);
    expect(bar?.calls.at(-1)).toEqual(["stop"]);
  });

  it("keeps the real 80-minute halt of 2023-03-24 as a gap and nothing else", async () => {
    const store = storeIn();
    await downloadKlines(
      req(store, { from: MAR, to: APR }),
      new FrameMarket(threeMonths, utc(2023, 6)),
      capture(),
    );
    const t = (await readFrame(store)).time;
    const gaps: [number, number][] = [];
    for (let i = 1; i < t.length; i++)
      if ((t[i] as number) - (t[i - 1] as number) !== MIN) gaps.push([t[i - 1] as number, t[i] as number]);
    expect(gaps).toEqual([[utc(2023, 3, 24, 12, 39), utc(2023, 3, 24, 14, 0)]]);
  });

  it("resumes from the last stored candle, fetching the overlap again", async () => {
    const store = storeIn();
    const md = new FrameMarket(threeMonths, utc(2023, 6));
    const mid = utc(2023, 3, 16, 7, 13);
    await downloadKlines(req(store, { from: MAR, to: mid }), md, capture());
    expect((await readFrame(store)).time.at(-1)).toBe(mid - MIN);
    md.calls.length = 0;
    const r = await downloadKlines(req(store, { from: MAR, to: APR, overlap: 5 }), md, capture());
    // The last 5 stored bars (the last one included) are asked for again.
    expect(md.calls[0]?.startTime).toBe(mid - 5 * MIN);
    expect(r.rowsAdded).toBe(march.length - march.lowerBound(mid));
    expect(r.rowsChanged).toBe(0);
    expectSameKlines(await readFrame(store), march);
    // A third run finds nothing new and does not rewrite the store.
    const again = await downloadKlines(req(store, { from: MAR, to: APR }), md, capture());
    expect(again).toMatchObject({ rowsAdded: 0, rowsChanged: 0, writes: 0, pages: 1 });
  });

  it("never stores the still-forming candle; a later run replaces the overlap the exchange corrected", async () => {
    const store = storeIn("csv");
    // The exchange's clock is 30 s into the 12:34 candle: 12:33 is the last closed one.
    const now = utc(2023, 3, 10, 12, 34) + 30_000;
    const md = new FrameMarket(threeMonths, now);
    const r1 = await downloadKlines(req(store, { from: MAR }), md, capture());
    const s1 = await readFrame(store);
    expect(s1.time.at(-1)).toBe(utc(2023, 3, 10, 12, 33));
    expect(r1.serverTime).toBe(now);
    expectSameKlines(s1, march.slice(0, march.lowerBound(utc(2023, 3, 10, 12, 34))));
    // The exchange revises the last three stored candles, and time moves on a day.
    const last = threeMonths.lowerBound(utc(2023, 3, 10, 12, 33));
    md.data = withChanged(threeMonths, "close", [last - 2, last - 1, last], 0.5);
    md.now = utc(2023, 3, 11, 12, 34) + 59_999;
    const c = capture();
    const r2 = await downloadKlines(req(store, { from: MAR, overlap: 5 }), md, c);
    expect(r2.rowsChanged).toBe(3);
    const s2 = await readFrame(store);
    expect(s2.time.at(-1)).toBe(utc(2023, 3, 11, 12, 33));
    expectSameKlines(
      s2,
      md.data.slice(md.data.lowerBound(MAR), md.data.lowerBound(utc(2023, 3, 11, 12, 34))),
    );
    expect(c.lines.some((l) => l.msg?.includes("replaced them") && l.obj.rows === 3)).toBe(true);
  });

  it("without a start, begins at the exchange's first candle (startTime 0)", async () => {
    const store = storeIn();
    const md = new FrameMarket(march, utc(2023, 6));
    const c = capture();
    await downloadKlines(req(store), md, c);
    expect(md.calls[0]?.startTime).toBe(0);
    expectSameKlines(await readFrame(store), march);
    // Progress counts from the first candle, not from 1970.
    expect(c.bars[0]?.calls[0]).toEqual([
      "start",
      (utc(2023, 6) - MAR) / MIN,
      { rows: 0, source: "BTCUSDT spot" },
    ]);
  });

  it("fetches history before the store when --from asks for it", async () => {
    const store = storeIn();
    const md = new FrameMarket(threeMonths, utc(2023, 6));
    await downloadKlines(req(store, { from: utc(2023, 3, 20), to: APR }), md, capture());
    const r = await downloadKlines(req(store, { from: MAR, to: APR }), md, capture());
    expect(r.rowsAdded).toBe(march.lowerBound(utc(2023, 3, 20)));
    expectSameKlines(await readFrame(store), march);
  });

  it("an abort stops after the request in flight and stores every row fetched; the next run completes", async () => {
    const store = storeIn();
    const md = new FrameMarket(threeMonths, utc(2023, 6));
    const ac = new AbortController();
    md.beforeFetch = (k) => {
      if (k === 12) ac.abort();
    };
    const r = await downloadKlines(req(store, { from: MAR, to: APR, batchRows: 50_000 }), md, {
      ...capture(),
      signal: ac.signal,
    });
    expect(r.interrupted).toBe(true);
    expect(r.pages).toBe(13);
    expect(r.rowsTotal).toBe(13_000);
    expectSameKlines(await readFrame(store), march.slice(0, 13_000));
    md.beforeFetch = undefined;
    await downloadKlines(req(store, { from: MAR, to: APR }), md, capture());
    expectSameKlines(await readFrame(store), march);
  });

  it("a failure mid-run stores the rows fetched before it, then reports the failure", async () => {
    const store = storeIn();
    const md = new FrameMarket(threeMonths, utc(2023, 6));
    md.beforeFetch = (k) => {
      if (k === 7) throw new NetworkError("klines: gave up after 8 attempts", { action: "retry" });
    };
    await expect(downloadKlines(req(store, { from: MAR, to: APR }), md, capture())).rejects.toThrow(
      "gave up after 8 attempts",
    );
    expect((await readFrame(store)).length).toBe(7000);
    md.beforeFetch = undefined;
    await downloadKlines(req(store, { from: MAR, to: APR }), md, capture());
    expectSameKlines(await readFrame(store), march);
  });

  it("coarser intervals work the same way (1h, the forming hour dropped)", async () => {
    const store = storeIn();
    const hourly = resampleKlines(threeMonths, 3_600_000);
    const md = new FrameMarket(hourly, utc(2023, 3, 31, 5, 20));
    const r = await downloadKlines(req(store, { interval: "1h", from: MAR }), md, capture());
    expect(r.last).toBe(utc(2023, 3, 31, 4));
    expectSameKlines(
      await readFrame(store),
      hourly.slice(hourly.lowerBound(MAR), hourly.lowerBound(utc(2023, 3, 31, 5))),
    );
  });

  it("refuses an unknown interval and an empty range", async () => {
    const md = new FrameMarket(march, utc(2023, 6));
    await expect(downloadKlines(req(storeIn(), { interval: "7m" }), md, capture())).rejects.toThrow(
      UsageError,
    );
    await expect(downloadKlines(req(storeIn(), { from: APR, to: MAR }), md, capture())).rejects.toThrow(
      /empty download range/,
    );
  });

  it("a store written by the importer is extended in place", async () => {
    const store = storeIn();
    await writeFrame(store, march.slice(0, 20_000));
    const md = new FrameMarket(threeMonths, utc(2023, 6));
    const r = await downloadKlines(req(store, { to: APR }), md, capture());
    expect(r.rowsAdded).toBe(march.length - 20_000);
    expectSameKlines(await readFrame(store), march);
  });
});
