import { readdirSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Frame } from "../../src/core/frame.js";
import { duckdb, frameFileInfo, readFrame, writeFrame } from "../../src/data/store/index.js";
import {
  BTC_2023_03,
  ETH_2023_03,
  edgeFrame,
  errorOf,
  expectSameFrame,
  klinesFrame,
  tempDir,
} from "./storeFixtures.js";

let tmp: { dir: string; remove: () => void };
beforeAll(() => {
  tmp = tempDir("parquet");
});
afterAll(() => tmp.remove());

const path = (name: string) => join(tmp.dir, name);

async function sql(text: string): Promise<void> {
  await (await duckdb()).run(text);
}

function sqlPath(p: string): string {
  return `'${p.replaceAll("'", "''")}'`;
}

describe("Parquet round trips", () => {
  it.each(["snappy", "zstd"] as const)(
    "a real month of BTCUSDT candles comes back bit-identical (%s)",
    async (compression) => {
      const frame = klinesFrame(BTC_2023_03);
      expect(frame.length).toBeGreaterThan(44_000);
      const file = path(`btc-${compression}.parquet`);
      await writeFrame(file, frame, { compression });
      expectSameFrame(await readFrame(file), frame);
    },
  );

  it("uses the requested compression codec", async () => {
    const frame = klinesFrame(ETH_2023_03);
    for (const compression of ["snappy", "zstd"] as const) {
      const file = path(`eth-codec-${compression}.parquet`);
      await writeFrame(file, frame, { compression });
      const conn = await duckdb();
      const codecs = (
        await conn.runAndReadAll(`SELECT DISTINCT compression FROM parquet_metadata(${sqlPath(file)})`)
      ).getRows();
      expect(codecs).toEqual([[compression.toUpperCase()]]);
      expectSameFrame(await readFrame(file), frame);
    }
  });

  it("keeps NaN, -0, subnormals, extremes and inexact sums exactly", async () => {
    const frame = edgeFrame(["z", "a", "m"]);
    const file = path("edge.parquet");
    await writeFrame(file, frame);
    const back = await readFrame(file);
    expectSameFrame(back, frame);
    expect(Object.is(back.get("z")[1], -0)).toBe(true);
    expect(back.get("z")[8]).toBe(0.1 + 0.2);
    // Stored as NaN, not NULL: other readers see a float NaN.
    const conn = await duckdb();
    const rows = (
      await conn.runAndReadAll(
        `SELECT count(*) FILTER (z IS NULL), count(*) FILTER (isnan(z)) FROM ${sqlPath(file)}`,
      )
    ).getRows();
    expect(rows).toEqual([[0n, 1n]]);
  });

  it("stores the time as a UTC timestamp named timestamp, the rest as DOUBLE in frame order", async () => {
    const file = path("schema.parquet");
    await writeFrame(file, edgeFrame(["z", "a", "m"]));
    const conn = await duckdb();
    const schema = (
      await conn.runAndReadAll(
        `SELECT name, type, logical_type FROM parquet_schema(${sqlPath(file)}) WHERE name <> 'duckdb_schema'`,
      )
    ).getRowObjectsJS();
    expect(schema.map((c) => c.name)).toEqual(["timestamp", "z", "a", "m"]);
    expect(schema.slice(1).every((c) => c.type === "DOUBLE")).toBe(true);
    expect(String(schema[0]?.logical_type)).toMatch(/isAdjustedToUTC=1|isAdjustedToUTC=true/);
  });

  it("writes the time column under another name when asked and reads it back by that name", async () => {
    const frame = edgeFrame();
    const file = path("open_time.parquet");
    await writeFrame(file, frame, { timeColumn: "open_time" });
    expectSameFrame(await readFrame(file, { timeColumn: "open_time" }), frame);
    const err = await errorOf(readFrame(file));
    expect(err.message).toBe(`${file}: no time column "timestamp"; columns are: open_time, a, b, c`);
  });

  it("reads a subset of columns in the requested order", async () => {
    const frame = klinesFrame(BTC_2023_03);
    const file = path("subset.parquet");
    await writeFrame(file, frame);
    const back = await readFrame(file, { columns: ["close", "open", "trades"] });
    expectSameFrame(back, frame.select(["close", "open", "trades"]));
    const err = await errorOf(readFrame(file, { columns: ["close", "clsoe"] }));
    expect(err.message).toBe(
      `${file}: column "clsoe" not found; columns are: open, high, low, close, volume, close_time, quote_av, trades, tb_base_av, tb_quote_av, ignore`,
    );
  });

  it("writes and reads an empty frame", async () => {
    const file = path("empty.parquet");
    const frame = Frame.empty(["a", "b"]);
    await writeFrame(file, frame);
    expectSameFrame(await readFrame(file), frame);
    expect(await frameFileInfo(file)).toEqual({ rows: 0, columns: ["a", "b"] });
  });

  it("replaces an existing file and leaves no temporary file behind", async () => {
    const file = path("replace.parquet");
    await writeFrame(file, edgeFrame());
    const second = klinesFrame(ETH_2023_03);
    await writeFrame(file, second, { compression: "zstd" });
    expectSameFrame(await readFrame(file), second);
    expect(readdirSync(tmp.dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it("runs concurrent writes and reads side by side", async () => {
    const btc = klinesFrame(BTC_2023_03);
    const eth = klinesFrame(ETH_2023_03);
    await Promise.all([writeFrame(path("c1.parquet"), btc), writeFrame(path("c2.parquet"), eth)]);
    const [a, b] = await Promise.all([readFrame(path("c1.parquet")), readFrame(path("c2.parquet"))]);
    expectSameFrame(a, btc);
    expectSameFrame(b, eth);
  });

  it("creates missing parent folders", async () => {
    const file = path("deep/er/frame.parquet");
    await writeFrame(file, edgeFrame());
    expectSameFrame(await readFrame(file), edgeFrame());
  });
});

describe("frameFileInfo on Parquet", () => {
  it("gives rows, data columns and the time range", async () => {
    const frame = klinesFrame(BTC_2023_03);
    const file = path("info.parquet");
    await writeFrame(file, frame);
    expect(await frameFileInfo(file)).toEqual({
      rows: frame.length,
      columns: frame.columnNames,
      first: Date.UTC(2023, 2, 1),
      last: Date.UTC(2023, 2, 31, 23, 59),
    });
  });

  it("is undefined for a missing file", async () => {
    expect(await frameFileInfo(path("nope.parquet"))).toBeUndefined();
  });
});

describe("Parquet files written by others", () => {
  it("reads a TIMESTAMP without zone as UTC and converts integer, float and decimal columns", async () => {
    const file = path("foreign.parquet");
    await sql(
      `COPY (SELECT TIMESTAMP '2023-03-01 00:00:00' + to_minutes(i) AS timestamp,
          (i * 1000000000000)::BIGINT AS big, (i * 2)::INTEGER AS int, i::SMALLINT AS small,
          (i / 4)::FLOAT AS f, (i / 8)::DECIMAL(10, 3) AS dec, i::UBIGINT AS ubig, (i % 2 = 0) AS flag,
          CASE WHEN i = 3 THEN NULL ELSE i / 10 END AS maybe
        FROM range(10) t(i)) TO ${sqlPath(file)} (FORMAT parquet)`,
    );
    const frame = await readFrame(file);
    expect(frame.columnNames).toEqual(["big", "int", "small", "f", "dec", "ubig", "flag", "maybe"]);
    expect(frame.time[0]).toBe(Date.UTC(2023, 2, 1));
    expect(frame.time[9]).toBe(Date.UTC(2023, 2, 1, 0, 9));
    expect(frame.get("big")[7]).toBe(7e12);
    expect(frame.get("int")[7]).toBe(14);
    expect(frame.get("small")[7]).toBe(7);
    expect(frame.get("f")[7]).toBe(1.75);
    expect(frame.get("dec")[7]).toBe(0.875);
    expect(frame.get("ubig")[7]).toBe(7);
    expect(frame.get("flag")[7]).toBe(0);
    expect(frame.get("flag")[8]).toBe(1);
    expect(frame.get("maybe")[3]).toBeNaN();
    expect(frame.get("maybe")[4]).toBe(0.4);
  });

  it.each([
    ["TIMESTAMPTZ", "CAST(TIMESTAMP '2023-03-01 00:00:00.123' + to_minutes(i) AS TIMESTAMPTZ)", 123],
    ["TIMESTAMP_S", "CAST(TIMESTAMP '2023-03-01 00:00:00' + to_minutes(i) AS TIMESTAMP_S)", 0],
    ["TIMESTAMP_MS", "CAST(TIMESTAMP '2023-03-01 00:00:00.123' + to_minutes(i) AS TIMESTAMP_MS)", 123],
    ["TIMESTAMP_NS", "CAST(TIMESTAMP '2023-03-01 00:00:00.123' + to_minutes(i) AS TIMESTAMP_NS)", 123],
    ["BIGINT epoch ms", "(1677628800123 + i * 60000)::BIGINT", 123],
  ])("reads a %s time column", async (label, expr, ms) => {
    const file = path(`time-${label.replace(/\W/g, "_")}.parquet`);
    await sql(`COPY (SELECT ${expr} AS timestamp, i::DOUBLE AS x FROM range(3) t(i)) TO ${sqlPath(file)}`);
    const frame = await readFrame(file);
    expect([...frame.time]).toEqual([0, 1, 2].map((i) => Date.UTC(2023, 2, 1, 0, i) + ms));
    expect([...frame.get("x")]).toEqual([0, 1, 2]);
  });

  it("reads an INTEGER epoch-ms time column", async () => {
    const file = path("time-int.parquet");
    await sql(
      `COPY (SELECT (i * 60000)::INTEGER AS t, i::DOUBLE AS x FROM range(3) r(i)) TO ${sqlPath(file)}`,
    );
    const frame = await readFrame(file, { timeColumn: "t" });
    expect([...frame.time]).toEqual([0, 60_000, 120_000]);
  });

  it("keeps microseconds in a timestamp and writes them back unchanged", async () => {
    const file = path("micros.parquet");
    await sql(
      `COPY (SELECT TIMESTAMPTZ '2023-03-01 00:00:00.123456+00' + to_minutes(i) AS timestamp, 1.5 AS x FROM range(2) t(i)) TO ${sqlPath(file)}`,
    );
    const frame = await readFrame(file);
    expect(frame.time[0]).toBe(Date.UTC(2023, 2, 1) + 123.456);
    const copy = path("micros-copy.parquet");
    await writeFrame(copy, frame);
    expectSameFrame(await readFrame(copy), frame);
  });

  it("refuses non-numeric columns by name unless the read leaves them out", async () => {
    const file = path("text.parquet");
    await sql(
      `COPY (SELECT TIMESTAMP '2023-03-01' + to_minutes(i) AS timestamp, 'BTCUSDT' AS symbol, i::DOUBLE AS close, [i] AS list FROM range(3) t(i)) TO ${sqlPath(file)}`,
    );
    const err = await errorOf(readFrame(file));
    expect(err.message).toBe(
      `${file}: non-numeric columns "symbol" (VARCHAR), "list" (BIGINT[]); read a numeric subset with the \`columns\` option`,
    );
    const frame = await readFrame(file, { columns: ["close"] });
    expect([...frame.get("close")]).toEqual([0, 1, 2]);
  });

  it("refuses a time column that is not a time", async () => {
    const file = path("text-time.parquet");
    await sql(`COPY (SELECT '2023-03-01' AS timestamp, 1.0 AS x) TO ${sqlPath(file)}`);
    const err = await errorOf(readFrame(file));
    expect(err.message).toBe(
      `${file}: time column "timestamp" has type VARCHAR; expected a timestamp or epoch milliseconds`,
    );
  });

  it("refuses a NULL time", async () => {
    const file = path("null-time.parquet");
    await sql(
      `COPY (SELECT CASE WHEN i = 1 THEN NULL ELSE TIMESTAMP '2023-03-01' + to_minutes(i) END AS timestamp, 1.0 AS x FROM range(3) t(i)) TO ${sqlPath(file)}`,
    );
    const err = await errorOf(readFrame(file));
    expect(err.message).toBe(`${file}: time column "timestamp" is empty at row 2`);
  });
});

describe("Parquet errors", () => {
  it("names a missing file", async () => {
    const file = path("missing.parquet");
    const err = await errorOf(readFrame(file));
    expect(err.message).toBe(`${file}: file not found`);
    expect(err.file).toBe(file);
  });

  it("recognises a truncated file and keeps DuckDB's reason as the cause", async () => {
    const file = path("cut.parquet");
    await writeFrame(file, klinesFrame(BTC_2023_03));
    truncateSync(file, Math.floor(readFileSync(file).length / 2));
    const err = await errorOf(readFrame(file));
    expect(err.message.startsWith(`${file}: not a valid or complete Parquet file`)).toBe(true);
    expect(err.cause).toBeInstanceOf(Error);
    expect(err.action).toBe("halt");
    const info = await errorOf(frameFileInfo(file));
    expect(info.message.startsWith(`${file}: not a valid or complete Parquet file`)).toBe(true);
  });

  it("recognises random bytes", async () => {
    const file = path("random.parquet");
    const bytes = new Uint8Array(4096);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919 + 13) % 251;
    writeFileSync(file, bytes);
    const err = await errorOf(readFrame(file));
    expect(err.message.startsWith(`${file}: not a valid or complete Parquet file`)).toBe(true);
  });

  it("recognises an empty file", async () => {
    const file = path("zero.parquet");
    writeFileSync(file, "");
    const err = await errorOf(readFrame(file));
    expect(err.message.startsWith(`${file}: not a valid or complete Parquet file`)).toBe(true);
  });

  it("refuses an unsorted or duplicated time column on write and leaves the old file", async () => {
    const file = path("unsorted.parquet");
    await writeFrame(file, edgeFrame());
    const bad = new Frame(new Float64Array([3, 2, 5]), [["x", new Float64Array(3)]]);
    const err = await errorOf(writeFrame(file, bad));
    expect(err.message).toBe(
      `${file}: time column is not strictly ascending at row 2 (1970-01-01T00:00:00.002Z)`,
    );
    expectSameFrame(await readFrame(file), edgeFrame());
  });

  it("refuses column names that differ only in case or repeat the time column", async () => {
    const t = new Float64Array([1, 2]);
    const twoCases = new Frame(t, [
      ["Close", new Float64Array(2)],
      ["close", new Float64Array(2)],
    ]);
    const file = path("case.parquet");
    expect((await errorOf(writeFrame(file, twoCases))).message).toBe(
      `${file}: column "close" clashes with column "Close": Parquet column names must differ in more than case`,
    );
    const timeClash = new Frame(t, [["timestamp", new Float64Array(2)]]);
    expect((await errorOf(writeFrame(file, timeClash))).message).toBe(
      `${file}: column "timestamp" clashes with the time column "timestamp": Parquet column names must differ in more than case`,
    );
  });

  it("refuses a time that has no exact microsecond value", async () => {
    const file = path("fraction.parquet");
    const frame = new Frame(new Float64Array([1, 1.0001]), [["x", new Float64Array(2)]]);
    expect((await errorOf(writeFrame(file, frame))).message).toBe(
      `${file}: time 1.0001 at row 2 is not a whole number of microseconds within the timestamp range`,
    );
  });

  it("refuses an unknown extension", async () => {
    const file = path("frame.feather");
    expect((await errorOf(writeFrame(file, edgeFrame()))).message).toBe(
      `${file}: unsupported file type ".feather": use .parquet or .csv`,
    );
    expect((await errorOf(readFrame(file))).message).toBe(
      `${file}: unsupported file type ".feather": use .parquet or .csv`,
    );
  });
});

describe("duckdb()", () => {
  it("is one shared connection that can query stored files", async () => {
    const a = await duckdb();
    const b = await duckdb();
    expect(a).toBe(b);
    const file = path("sql.parquet");
    const frame = klinesFrame(BTC_2023_03);
    await writeFrame(file, frame);
    const rows = (await a.runAndReadAll(`SELECT count(*), max(high) FROM ${sqlPath(file)}`)).getRows();
    expect(rows).toEqual([[BigInt(frame.length), Math.max(...frame.get("high"))]]);
  });
});
