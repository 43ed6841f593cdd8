import { open } from "node:fs/promises";
import { extname } from "node:path";
import { DuckDBTimestampTZValue } from "@duckdb/node-api";
import { DataError, errorMessage } from "../../core/errors.js";
import { withTempPath } from "../../data/atomic.js";
import { formatNumber } from "../../data/store/csvNumber.js";
import { formatTime } from "../../data/store/csvTime.js";
import { sqlIdent, sqlString, withConnection } from "../../data/store/duckdb.js";
import type { LedgerColumnType, LedgerTable, TypedLedgerTable } from "./types.js";

/**
 * A ledger table to a file, atomically (temporary file, fsync, rename), chosen by extension:
 *
 * - CSV: times as ISO-8601 UTC with milliseconds, numbers in shortest round-trip form, NaN and
 *   missing strings as empty fields, strings quoted (RFC 4180) when they hold a comma, a quote
 *   or a line break — the frame store's conventions, so readFrame reads the numeric columns.
 * - Parquet (Snappy), through DuckDB: times as TIMESTAMP WITH TIME ZONE like the klines store
 *   (NULL when missing), numbers as DOUBLE (NaN kept), strings as VARCHAR (NULL when missing).
 */

export type TableFormat = "csv" | "parquet";

/** The format of `file`'s extension, or undefined when it is neither .csv nor .parquet. */
export function tableFormatOf(file: string): TableFormat | undefined {
  const ext = extname(file).toLowerCase();
  return ext === ".csv" ? "csv" : ext === ".parquet" ? "parquet" : undefined;
}

export async function writeLedgerTable(file: string, table: LedgerTable): Promise<void> {
  const format = tableFormatOf(file);
  if (format === undefined) {
    throw new DataError(`unsupported file type "${extname(file) || "(none)"}": use .csv or .parquet`, {
      file,
    });
  }
  const typed = { ...table, types: columnTypes(table) };
  if (format === "csv") await writeCsvTable(file, typed);
  else await writeParquetTable(file, typed);
}

/** The table's column types; for a table without them, `string` where a string occurs, else `number`. */
export function columnTypes(table: LedgerTable): LedgerColumnType[] {
  if (table.types !== undefined) return table.types;
  return table.columns.map((_, j) =>
    table.rows.some((r) => typeof r[j] === "string") ? "string" : "number",
  );
}

const ROWS_PER_WRITE = 4096;

function quote(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function csvCell(v: number | string | null, type: LedgerColumnType): string {
  if (v === null) return "";
  if (type === "string") return quote(String(v));
  const x = Number(v);
  if (type === "time") return Number.isFinite(x) ? formatTime(x) : "";
  return formatNumber(x);
}

async function writeCsvTable(file: string, table: TypedLedgerTable): Promise<void> {
  await withTempPath(file, async (tmp) => {
    const handle = await open(tmp, "wx");
    try {
      let text = `${table.columns.map(quote).join(",")}\n`;
      for (let i = 0; i < table.rows.length; i++) {
        const row = table.rows[i] as (number | string | null)[];
        text += `${row.map((v, j) => csvCell(v, table.types[j] as LedgerColumnType)).join(",")}\n`;
        if ((i + 1) % ROWS_PER_WRITE === 0) {
          await handle.write(text);
          text = "";
        }
      }
      await handle.write(text);
    } finally {
      await handle.close();
    }
  });
}

const SQL_TYPE: Record<LedgerColumnType, string> = {
  number: "DOUBLE",
  time: "TIMESTAMPTZ",
  string: "VARCHAR",
};

async function writeParquetTable(file: string, table: TypedLedgerTable): Promise<void> {
  checkNames(file, table.columns);
  await withConnection(async (conn) => {
    const columns = table.columns.map(
      (name, j) => `${sqlIdent(name)} ${SQL_TYPE[table.types[j] ?? "number"]}`,
    );
    await conn.run(`CREATE TEMP TABLE ledger_export (${columns.join(", ")})`);
    try {
      const appender = await conn.createAppender("ledger_export");
      for (const row of table.rows) {
        row.forEach((v, j) => {
          const type = table.types[j];
          if (v === null) appender.appendNull();
          else if (type === "string") appender.appendVarchar(String(v));
          else if (type === "time") {
            const ms = Number(v);
            if (Number.isFinite(ms))
              appender.appendTimestampTZ(new DuckDBTimestampTZValue(BigInt(Math.round(ms * 1000))));
            else appender.appendNull();
          } else appender.appendDouble(Number(v));
        });
        appender.endRow();
      }
      appender.closeSync();
      await withTempPath(file, async (tmp) => {
        try {
          await conn.run(`COPY ledger_export TO ${sqlString(tmp)} (FORMAT parquet, COMPRESSION SNAPPY)`);
        } catch (err) {
          throw new DataError(`cannot write Parquet file: ${errorMessage(err)}`, { file }, { cause: err });
        }
      });
    } finally {
      await conn.run("DROP TABLE IF EXISTS ledger_export");
    }
  });
}

/** DuckDB compares names without case: two columns that differ only in case cannot both be written. */
function checkNames(file: string, names: readonly string[]): void {
  const seen = new Map<string, string>();
  for (const n of names) {
    const prior = seen.get(n.toLowerCase());
    if (prior !== undefined) {
      throw new DataError(`columns "${prior}" and "${n}" differ only in case: Parquet cannot hold both`, {
        file,
      });
    }
    seen.set(n.toLowerCase(), n);
  }
}
