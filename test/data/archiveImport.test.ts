import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChecksumError, DataError } from "../../src/core/errors.js";
import type { Frame } from "../../src/core/frame.js";
import { KLINE_COLUMNS } from "../../src/core/klines.js";
import { sha256Hex } from "../../src/data/archive/checksum.js";
import { type ImportRequest, importKlines, loadArchiveMonths } from "../../src/data/archive/import.js";
import { parseKlineCsv } from "../../src/data/archive/klinesCsv.js";
import { readSingleEntry } from "../../src/data/archive/zip.js";
import { readFrame, writeFrame } from "../../src/data/store/index.js";
import { type Captured, capture } from "../helpers/capture.js";
import {
  copyArchive,
  flipBytes,
  frameDiff,
  listTree,
  publishZip,
  referenceRows,
  removeTempDirs,
  SAMPLE,
  SHARED,
  SPOT_DIR,
  spotZip,
  tempDir,
  umZip,
  unzipText,
} from "./archiveHelpers.js";

const MIN = 60_000;
const utc = (y: number, m: number, d = 1, h = 0, min = 0) => Date.UTC(y, m - 1, d, h, min);
const FEB = utc(2023, 2);
const MAR = utc(2023, 3);
const APR = utc(2023, 4);
const MAY = utc(2023, 5);

let work: string;
beforeAll(() => {
  work = tempDir("import");
});
afterAll(removeTempDirs);

let n = 0;
function storeIn(ext = "parquet"): string {
  n++;
  return join(work, `s${n}`, "BTCUSDT", `klines.${ext}`);
}

function spot(
  storeFile: string,
  from: number,
  to: number,
  extra: Partial<ImportRequest> = {},
): ImportRequest {
  return { symbol: "BTCUSDT", market: "spot", interval: "1m", from, to, source: SAMPLE, storeFile, ...extra };
}

async function run(req: ImportRequest, c: Captured = capture()) {
  return importKlines(req, c);
}

function monthFrame(zip: string): Frame {
  return parseKlineCsv(readSingleEntry(readFileSync(zip), zip).data, zip);
}

describe("importKlines from a local folder", () => {
  it("a month equals the CSV inside the zip, row for row and value for value (spot, no header)", async () => {
    const store = storeIn();
    const c = capture();
    const r = await run(spot(store, MAR, APR), c);
    const rows = referenceRows(unzipText(spotZip(SAMPLE, "2023-03")));
    expect(r).toEqual({
      files: 1,
      filesPlanned: 1,
      interrupted: false,
      filesSkipped: 0,
      rowsRead: rows.length,
      rowsAdded: rows.length,
      rowsTotal: rows.length,
      first: MAR,
      last: APR - MIN,
    });
    const stored = await readFrame(store);
    expect(stored.columnNames).toEqual([...KLINE_COLUMNS]);
    const cols = [stored.time, ...KLINE_COLUMNS.map((k) => stored.get(k))];
    let bad = 0;
    rows.forEach((row, i) => {
      row.forEach((v, j) => {
        if (!Object.is(cols[j]?.[i], v)) bad++;
      });
    });
    expect(bad).toBe(0);
    // One info line per file and a summary; progress in files with the rows so far.
    expect(c.lines.filter((l) => l.level === "info" && l.obj.file === "BTCUSDT-1m-2023-03.zip")).toEqual([
      { level: "info", obj: { file: "BTCUSDT-1m-2023-03.zip", rows: rows.length }, msg: "archive file" },
    ]);
    expect(c.lines.at(-1)?.obj).toMatchObject({ rowsAdded: rows.length, rowsTotal: rows.length });
    expect(c.bars).toEqual([
      {
        label: "import",
        unit: "files",
        calls: [
          ["start", 1, { rows: 0, source: "BTCUSDT spot" }],
          ["update", 1, { rows: rows.length }],
          ["stop"],
        ],
      },
    ]);
  });

  it("March 2023 has as many rows as the CSV has lines, and the real 80-minute halt", async () => {
    const store = storeIn();
    const r = await run(spot(store, MAR, APR));
    const lines = unzipText(spotZip(SAMPLE, "2023-03"))
      .split("\n")
      .filter((l) => l !== "").length;
    expect(r.rowsTotal).toBe(lines);
    const f = await readFrame(store);
    const halt = utc(2023, 3, 24, 12, 40);
    expect(f.lowerBound(utc(2023, 3, 24, 14, 0)) - f.lowerBound(halt)).toBe(0);
    expect(f.time[f.lowerBound(halt)]).toBe(utc(2023, 3, 24, 14, 0));
    const before = f.lowerBound(utc(2023, 3, 24, 12, 39));
    expect(f.time[before]).toBe(utc(2023, 3, 24, 12, 39));
    expect(f.get("volume")[before]).toBe(0);
    expect(f.get("close_time")[before]).toBe(1679661581646);
    // Every other minute of the month is there.
    expect(lines).toBe((APR - MAR) / MIN - 80);
  });

  it("futures (header) imports the same values as the CSV, into a CSV store too", async () => {
    for (const ext of ["parquet", "csv"]) {
      const store = storeIn(ext);
      const r = await run({ ...spot(store, FEB, MAR), symbol: "ETHUSDT", market: "um" });
      const rows = referenceRows(unzipText(umZip(SAMPLE, "2023-02")));
      expect(r.rowsAdded).toBe(rows.length);
      expect(frameDiff(await readFrame(store), monthFrame(umZip(SAMPLE, "2023-02")))).toBe(0);
    }
  });

  it("re-running is a no-op: files skipped unread, nothing written", async () => {
    const store = storeIn();
    const first = await run(spot(store, FEB, MAY));
    expect(first.files).toBe(3);
    const bytes = readFileSync(store);
    const mtime = statSync(store).mtimeMs;
    const c = capture();
    const again = await run(spot(store, FEB, MAY), c);
    expect(again).toEqual({
      ...first,
      files: 0,
      filesPlanned: 0,
      filesSkipped: 3,
      rowsRead: 0,
      rowsAdded: 0,
    });
    expect(Buffer.compare(readFileSync(store), bytes)).toBe(0);
    expect(statSync(store).mtimeMs).toBe(mtime);
    expect(listTree(join(store, ".."))).toEqual(["klines.parquet"]);
    expect(c.lines.at(-1)?.msg).toBe("import done; the store already had every row");
  });

  it("Feb then Mar equals Feb..Mar; overlapping ranges add no duplicates; rows outside [from, to) are dropped", async () => {
    const both = storeIn();
    await run(spot(both, FEB, APR));
    const stepwise = storeIn();
    const feb = await run(spot(stepwise, FEB, MAR));
    const mar = await run(spot(stepwise, MAR, APR));
    expect(mar.rowsTotal).toBe(feb.rowsTotal + mar.rowsAdded);
    expect(frameDiff(await readFrame(stepwise), await readFrame(both))).toBe(0);

    const overlap = storeIn();
    const mid = await run(spot(overlap, utc(2023, 2, 10, 6, 30), utc(2023, 3, 10)));
    expect(mid.first).toBe(utc(2023, 2, 10, 6, 30));
    expect(mid.last).toBe(utc(2023, 3, 10) - MIN);
    const wide = await run(spot(overlap, FEB, APR));
    expect(wide.files).toBe(2);
    expect(wide.rowsAdded).toBe(wide.rowsTotal - mid.rowsTotal);
    expect(frameDiff(await readFrame(overlap), await readFrame(both))).toBe(0);
  });

  it("archive rows replace stored rows that differ, with a warning", async () => {
    const store = storeIn();
    await run(spot(store, MAR, APR));
    const f = await readFrame(store);
    const good = f.get("close")[100];
    f.get("close")[100] = 1;
    f.get("volume")[200] = 2;
    const trimmed = f.slice(0, f.length - 10);
    await writeFrame(store, trimmed);
    const c = capture();
    const r = await run(spot(store, MAR, APR), c);
    expect(r.rowsAdded).toBe(10);
    const after = await readFrame(store);
    expect(after.get("close")[100]).toBe(good);
    expect(c.lines.filter((l) => l.level === "warn")).toEqual([
      {
        level: "warn",
        obj: { symbol: "BTCUSDT", rows: 2, file: store },
        msg: "stored rows differed from Binance's archive; the archive's values replaced them",
      },
    ]);
  });

  it("a month published only as daily files (the current month) comes from its days", async () => {
    const root = copyArchive(SAMPLE, [
      `${SPOT_DIR}/BTCUSDT-1m-2023-02.zip`,
      `${SPOT_DIR}/BTCUSDT-1m-2023-02.zip.CHECKSUM`,
    ]);
    const march = unzipText(spotZip(SAMPLE, "2023-03")).split("\n");
    const byDay = new Map<string, string[]>();
    for (const line of march) {
      if (line === "") continue;
      const day = new Date(Number(line.slice(0, line.indexOf(",")))).toISOString().slice(0, 10);
      byDay.set(day, [...(byDay.get(day) ?? []), line]);
    }
    const lastDay = byDay.get("2023-03-31") ?? [];
    byDay.delete("2023-03-31"); // not published yet
    for (const [day, lines] of byDay) {
      const zip = join(root, "data/spot/daily/klines/BTCUSDT/1m", `BTCUSDT-1m-${day}.zip`);
      publishZip(zip, `BTCUSDT-1m-${day}.csv`, `${lines.join("\n")}\n`);
    }
    const store = storeIn();
    const c = capture();
    const r = await run(spot(store, FEB, APR, { source: root }), c);
    expect(r.files).toBe(1 + 30);
    const monthly = storeIn();
    await run(spot(monthly, FEB, utc(2023, 3, 31)));
    expect(frameDiff(await readFrame(store), await readFrame(monthly))).toBe(0);
    expect(c.lines.find((l) => l.level === "warn")?.obj).toEqual({
      symbol: "BTCUSDT",
      days: 1,
      first: "2023-03-31",
      last: "2023-03-31",
    });
    // Once the last day is published, a re-run reads only that day.
    expect(lastDay.length).toBe(1440);
    publishZip(
      join(root, "data/spot/daily/klines/BTCUSDT/1m", "BTCUSDT-1m-2023-03-31.zip"),
      "BTCUSDT-1m-2023-03-31.csv",
      lastDay.join("\n"),
    );
    const again = await run(spot(store, FEB, APR, { source: root }));
    expect([again.files, again.filesSkipped, again.rowsAdded]).toEqual([1, 31, 1440]);
  });

  it("a µs-timestamp archive imports to the same ms rows", async () => {
    const root = tempDir("micros");
    const csv = unzipText(spotZip(SAMPLE, "2023-04")).replace(
      /^(\d+),((?:[^,]*,){5})(\d+),/gm,
      "$1000,$2$3000,",
    );
    publishZip(join(root, SPOT_DIR, "BTCUSDT-1m-2023-04.zip"), "BTCUSDT-1m-2023-04.csv", csv);
    const us = storeIn();
    const ms = storeIn();
    await run(spot(us, APR, MAY, { source: root }));
    await run(spot(ms, APR, MAY));
    expect(frameDiff(await readFrame(us), await readFrame(ms))).toBe(0);
  });

  it("nothing published for the range is an error naming what was asked", async () => {
    await expect(run(spot(storeIn(), utc(2021, 1), utc(2021, 1, 3)))).rejects.toThrow(
      new DataError(
        `nothing published for BTCUSDT spot 1m in [2021-01-01T00:00:00.000Z, 2021-01-03T00:00:00.000Z) at ${SAMPLE}; check the symbol, market and interval`,
      ),
    );
    await expect(run(spot(storeIn(), FEB, MAR, { source: join(work, "nowhere") }))).rejects.toThrow(
      `archive folder ${join(work, "nowhere")} does not exist`,
    );
    await expect(run(spot(storeIn(), FEB, MAR, { interval: "2m" }))).rejects.toThrow(
      /"2m" is not a Binance kline interval/,
    );
  });
});

describe("importKlines refuses corrupt input and leaves the store as it was", () => {
  const rels = ["2023-02", "2023-03", "2023-04"].flatMap((m) => [
    `${SPOT_DIR}/BTCUSDT-1m-${m}.zip`,
    `${SPOT_DIR}/BTCUSDT-1m-${m}.zip.CHECKSUM`,
  ]);

  async function storeWithFeb(): Promise<{ store: string; bytes: Buffer; files: string[] }> {
    const store = storeIn();
    await run(spot(store, FEB, MAR));
    return { store, bytes: readFileSync(store), files: listTree(join(store, "..")) };
  }

  function expectUnchanged(before: { store: string; bytes: Buffer; files: string[] }): void {
    expect(Buffer.compare(readFileSync(before.store), before.bytes)).toBe(0);
    expect(listTree(join(before.store, ".."))).toEqual(before.files);
    expect(before.files).toEqual(["klines.parquet"]);
  }

  it("a corrupted zip: checksum mismatch, exact message, store byte-for-byte unchanged", async () => {
    const root = copyArchive(SAMPLE, rels);
    const zip = spotZip(root, "2023-03");
    const bytes = readFileSync(zip);
    flipBytes(bytes, 500_000, 16);
    writeFileSync(zip, bytes);
    const expected = readFileSync(`${zip}.CHECKSUM`, "utf8").slice(0, 64);
    const before = await storeWithFeb();
    const err = await run(spot(before.store, FEB, MAY, { source: root })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChecksumError);
    expect((err as Error).message).toBe(
      `BTCUSDT-1m-2023-03.zip: checksum mismatch (expected ${expected}, got ${sha256Hex(bytes)}); the file is corrupt, nothing was written`,
    );
    expectUnchanged(before);
    // Without verification the zip's own CRC-32 / deflate checks still refuse it.
    const unverified = await run(spot(before.store, FEB, MAY, { source: root, verify: false })).catch(
      (e: unknown) => e,
    );
    expect(unverified).toBeInstanceOf(DataError);
    expect((unverified as Error).message).toMatch(
      new RegExp(`^${zip.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: not a valid zip archive: `),
    );
    expectUnchanged(before);
  });

  it("a wrong CHECKSUM file: exact message, store unchanged", async () => {
    const root = copyArchive(SAMPLE, rels);
    const zip = spotZip(root, "2023-04");
    const wrong = `${"0123456789abcdef".repeat(4)}  BTCUSDT-1m-2023-04.zip\n`;
    writeFileSync(`${zip}.CHECKSUM`, wrong);
    const before = await storeWithFeb();
    await expect(run(spot(before.store, FEB, MAY, { source: root }))).rejects.toThrow(
      new ChecksumError(
        `checksum mismatch (expected ${"0123456789abcdef".repeat(4)}, got ${sha256Hex(readFileSync(zip))}); the file is corrupt, nothing was written`,
        { file: "BTCUSDT-1m-2023-04.zip" },
      ),
    );
    expectUnchanged(before);
  });

  it("a missing CHECKSUM file is an error unless verification is off", async () => {
    const root = copyArchive(
      SAMPLE,
      rels.filter((r) => !r.endsWith("2023-03.zip.CHECKSUM")),
    );
    const before = await storeWithFeb();
    await expect(run(spot(before.store, FEB, MAY, { source: root }))).rejects.toThrow(
      `${spotZip(root, "2023-03")}: no BTCUSDT-1m-2023-03.zip.CHECKSUM next to it, so it cannot be verified (import with verification off to accept it unchecked)`,
    );
    expectUnchanged(before);
    const r = await run(spot(before.store, FEB, MAY, { source: root, verify: false }));
    expect([r.files, r.filesSkipped]).toEqual([2, 1]);
  });

  it("a bad row fails the import with file, line and column, store unchanged", async () => {
    const root = tempDir("badrow");
    const lines = unzipText(spotZip(SAMPLE, "2023-03")).split("\n");
    lines[41] = (lines[41] ?? "").replace(/^(\d+),([^,]+),([^,]+),/, "$1,$2,NaNx,");
    publishZip(join(root, SPOT_DIR, "BTCUSDT-1m-2023-03.zip"), "BTCUSDT-1m-2023-03.csv", lines.join("\n"));
    const before = await storeWithFeb();
    await expect(run(spot(before.store, FEB, APR, { source: root }))).rejects.toThrow(
      `${spotZip(root, "2023-03")}: line 42, column high: not a number: "NaNx"`,
    );
    expectUnchanged(before);
  });
});

describe("loadArchiveMonths", () => {
  it("concatenates the sample months in order, equal to parsing each month", async () => {
    const f = await loadArchiveMonths(SAMPLE, "ETHUSDT", "um", "1m", ["2023-02", "2023-03", "2023-04"]);
    const parts = ["2023-02", "2023-03", "2023-04"].map((m) => monthFrame(umZip(SAMPLE, m)));
    expect(f.length).toBe(parts.reduce((s, p) => s + p.length, 0));
    expect(f.time[0]).toBe(FEB);
    expect(f.time[f.length - 1]).toBe(MAY - MIN);
    expect(
      frameDiff(
        f.slice(parts[0]?.length ?? 0, (parts[0]?.length ?? 0) + (parts[1]?.length ?? 0)),
        parts[1] as Frame,
      ),
    ).toBe(0);
  });

  it("refuses a missing month, months out of order, and a bad month", async () => {
    await expect(loadArchiveMonths(SAMPLE, "BTCUSDT", "spot", "1m", ["2023-02", "2023-05"])).rejects.toThrow(
      `${spotZip(SAMPLE, "2023-05")}: not found`,
    );
    await expect(loadArchiveMonths(SAMPLE, "BTCUSDT", "spot", "1m", ["2023-03", "2023-02"])).rejects.toThrow(
      "months must be ascending and distinct: 2023-02 does not start after 2023-03",
    );
    await expect(loadArchiveMonths(SAMPLE, "BTCUSDT", "spot", "1m", ["2023-3"])).rejects.toThrow(
      'invalid month "2023-3": expected YYYY-MM',
    );
  });

  describe.skipIf(!existsSync(SHARED))(
    "12 months of 2023 from ../shared (skipped: ../shared/data/binance-vision absent)",
    () => {
      it("has every CSV line of every month, ascending", async () => {
        const months = Array.from({ length: 12 }, (_, i) => `2023-${String(i + 1).padStart(2, "0")}`);
        const f = await loadArchiveMonths(SHARED, "BTCUSDT", "spot", "1m", months);
        let lines = 0;
        for (const m of months)
          lines += unzipText(spotZip(SHARED, m))
            .split("\n")
            .filter((l) => l !== "").length;
        expect(f.length).toBe(lines);
        expect(f.time[0]).toBe(utc(2023, 1));
        expect(f.time[f.length - 1]).toBe(utc(2024, 1) - MIN);
        let ascending = true;
        for (let i = 1; i < f.length; i++)
          if (!((f.time[i] as number) > (f.time[i - 1] as number))) ascending = false;
        expect(ascending).toBe(true);
      });
    },
  );
});
