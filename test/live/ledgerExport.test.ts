import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DataError } from "../../src/core/errors.js";
import { withConnection } from "../../src/data/store/duckdb.js";
import { readFrame } from "../../src/data/store/index.js";
import { writeLedgerTable } from "../../src/live/ledger/export.js";
import { LEDGER_TABLES, type TypedLedgerTable } from "../../src/live/ledger/types.js";
import { BACKENDS } from "../helpers/ledgerBackends.js";
import { sampleRecords } from "../helpers/ledgerRecords.js";
import { SAMPLE } from "../helpers/paths.js";

/**
 * Every ledger table written as CSV and as Parquet and read back: the numeric and time columns
 * through the project's readFrame, every column (strings too) through DuckDB with its type,
 * equal to the ledger's rows (the SQLite ledger's and the Postgres one's); strings that need
 * quoting survive CSV.
 */

let dir = "";
/** The tables of each ledger, by backend and table name. */
const tables = new Map<string, TypedLedgerTable>();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "itb-ledger-export-"));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Every column of a file through DuckDB: its types and rows (times as epoch ms, NULL as null). */
async function readBack(file: string, csv: boolean) {
  return withConnection(async (conn) => {
    const source = csv ? `read_csv('${file}', header = true, all_varchar = true)` : `read_parquet('${file}')`;
    const described = (await conn.runAndReadAll(`DESCRIBE SELECT * FROM ${source}`)).getRowObjects();
    const types = described.map((d) => String(d.column_type));
    const names = described.map((d) => String(d.column_name));
    const select = names
      .map((n, j) => (types[j]?.startsWith("TIMESTAMP") ? `epoch_ms("${n}")` : `"${n}"`))
      .join(", ");
    const rows = (await conn.runAndReadAll(`SELECT ${select} FROM ${source}`)).getRows();
    return { names, types, rows: rows.map((r) => r.map((v) => (typeof v === "bigint" ? Number(v) : v))) };
  });
}

const numericColumns = (t: TypedLedgerTable) => t.columns.filter((_, j) => t.types[j] === "number");

async function expectNumbersBack(file: string, t: TypedLedgerTable): Promise<void> {
  const names = numericColumns(t);
  const frame = await readFrame(file, { columns: names });
  expect(Array.from(frame.time)).toEqual(t.rows.map((r) => r[0]));
  for (const name of names) {
    const j = t.columns.indexOf(name);
    expect(Array.from(frame.get(name)), name).toEqual(t.rows.map((r) => r[j]));
  }
}

describe.each(BACKENDS)("the $name ledger's tables as files", ({ name, make }) => {
  const b = make();
  beforeAll(async () => {
    const records = await sampleRecords(SAMPLE, { count: 1500, halts: [40, 41, 42], catchUpUntil: 30 });
    const ledger = await b.open(await b.fresh());
    for (const r of records) await ledger.record(r);
    for (const what of LEDGER_TABLES) tables.set(`${name} ${what}`, await ledger.read(what));
    await ledger.close();
  }, 120_000);
  afterAll(async () => {
    await b.cleanup();
  });

  it.each(LEDGER_TABLES)("%s as Parquet: typed columns equal to the ledger's", async (what) => {
    const t = tables.get(`${name} ${what}`) as TypedLedgerTable;
    expect(t.rows.length).toBeGreaterThan(50);
    const file = join(dir, `${name}-${what}.parquet`);
    await writeLedgerTable(file, t);
    const back = await readBack(file, false);
    expect(back.names).toEqual(t.columns);
    expect(back.types).toEqual(
      t.types.map((x) => (x === "time" ? "TIMESTAMP WITH TIME ZONE" : x === "number" ? "DOUBLE" : "VARCHAR")),
    );
    expect(back.rows).toEqual(
      t.rows.map((r) => r.map((v, j) => (t.types[j] === "time" && Number.isNaN(v) ? null : v))),
    );
    await expectNumbersBack(file, t);
  });

  it.each(LEDGER_TABLES)(
    "%s as CSV: ISO times, shortest numbers, strings; readFrame reads the numbers",
    async (what) => {
      const t = tables.get(`${name} ${what}`) as TypedLedgerTable;
      const file = join(dir, `${name}-${what}.csv`);
      await writeLedgerTable(file, t);
      const back = await readBack(file, true);
      expect(back.names).toEqual(t.columns);
      const text = (v: number | string | null, j: number) => {
        if (v === null || (typeof v === "number" && Number.isNaN(v))) return null;
        if (t.types[j] === "time") return new Date(v as number).toISOString();
        return String(v);
      };
      expect(back.rows).toEqual(t.rows.map((r) => r.map(text)));
      await expectNumbersBack(file, t);
    },
  );
});

describe("ledger tables as files", () => {
  it("strings with commas, quotes and line breaks are quoted in CSV and come back whole", async () => {
    const t: TypedLedgerTable = {
      columns: ["timestamp", "reason", "a,b", "x"],
      types: ["time", "string", "string", "number"],
      rows: [
        [Date.UTC(2023, 2, 1), 'rejected: "min notional", below 10', "line\nbreak", -0],
        [Date.UTC(2023, 2, 1, 0, 1), null, "", Number.NaN],
      ],
    };
    const file = join(dir, "quoted.csv");
    await writeLedgerTable(file, t);
    expect(readFileSync(file, "utf8")).toBe(
      'timestamp,reason,"a,b",x\n' +
        '2023-03-01T00:00:00.000Z,"rejected: ""min notional"", below 10","line\nbreak",-0\n' +
        "2023-03-01T00:01:00.000Z,,,\n",
    );
    const back = await readBack(file, true);
    expect(back.rows).toEqual([
      ["2023-03-01T00:00:00.000Z", 'rejected: "min notional", below 10', "line\nbreak", "-0"],
      ["2023-03-01T00:01:00.000Z", null, null, null],
    ]);
    const parquet = join(dir, "quoted.parquet");
    await writeLedgerTable(parquet, t);
    const p = await readBack(parquet, false);
    expect(p.rows).toEqual([
      [Date.UTC(2023, 2, 1), 'rejected: "min notional", below 10', "line\nbreak", -0],
      [Date.UTC(2023, 2, 1, 0, 1), null, "", Number.NaN],
    ]);
    expect(Object.is(p.rows[0]?.[3], -0)).toBe(true);
  });

  it("a table without column types (another Ledger's) goes out as strings where strings are, numbers elsewhere", async () => {
    const file = join(dir, "untyped.parquet");
    await writeLedgerTable(file, {
      columns: ["timestamp", "side", "price"],
      rows: [
        [Date.UTC(2023, 2, 1), "buy", 1.5],
        [Date.UTC(2023, 2, 1, 0, 1), null, Number.NaN],
      ],
    });
    const back = await readBack(file, false);
    expect(back.types).toEqual(["DOUBLE", "VARCHAR", "DOUBLE"]);
    expect(back.rows).toEqual([
      [Date.UTC(2023, 2, 1), "buy", 1.5],
      [Date.UTC(2023, 2, 1, 0, 1), null, Number.NaN],
    ]);
  });

  it("refuses other extensions and names that differ only in case (Parquet), writing nothing", async () => {
    const t: TypedLedgerTable = {
      columns: ["timestamp", "Close", "close"],
      types: ["time", "number", "number"],
      rows: [],
    };
    await expect(writeLedgerTable(join(dir, "x.json"), t)).rejects.toThrow(
      new DataError('unsupported file type ".json": use .csv or .parquet', { file: join(dir, "x.json") }),
    );
    await expect(writeLedgerTable(join(dir, "x.parquet"), t)).rejects.toThrow(
      `${join(dir, "x.parquet")}: columns "Close" and "close" differ only in case: Parquet cannot hold both`,
    );
  });
});
