import { type DuckDBConnection, DuckDBTypeId } from "@duckdb/node-api";
import bindings from "@duckdb/node-bindings";
import { DataError, errorMessage } from "../../core/errors.js";
import { Frame } from "../../core/frame.js";
import { grow } from "./arrays.js";
import { sqlIdent, sqlString, withConnection } from "./duckdb.js";
import { type FrameFileInfo, type ReadOptions, timeColumnOf } from "./options.js";
import { pickColumns } from "./pick.js";
import { readDoubles } from "./vectors.js";

/**
 * Reads Parquet through DuckDB. Every selected column is converted to DOUBLE inside DuckDB
 * (timestamps of any unit to epoch ms, integers, decimals and floats widened), so the copy out
 * is one memcpy per column per chunk whatever the file's types.
 */
export async function readParquet(file: string, opts?: ReadOptions): Promise<Frame> {
  return withConnection(async (conn) => {
    const schema = await describe(conn, file);
    const selected = selectColumns(file, schema, opts);
    const from = `read_parquet(${sqlString(file)})`;
    const rows = Number(await scalar(conn, file, `SELECT count(*) FROM ${from}`));
    const sql = `SELECT ${[selected.time.sql, ...selected.values.map((c) => c.sql)].join(", ")} FROM ${from}`;

    let capacity = rows;
    let time: Float64Array = new Float64Array(capacity);
    let cols: Float64Array[] = selected.values.map(() => new Float64Array(capacity));
    let n = 0;
    await corruptOnError(file, async () => {
      const result = await conn.stream(sql);
      for (;;) {
        const chunk = await result.fetchChunk();
        if (chunk === null || chunk.rowCount === 0) break;
        const count = chunk.rowCount;
        if (n + count > capacity) {
          // Only if the footer's row count disagrees with the data; grow rather than fail.
          capacity = Math.max(capacity * 2, n + count);
          time = grow(time, capacity);
          cols = cols.map((c) => grow(c, capacity));
        }
        readDoubles(bindings.data_chunk_get_vector(chunk.chunk, 0), count, time, n);
        cols.forEach((c, j) => {
          readDoubles(bindings.data_chunk_get_vector(chunk.chunk, j + 1), count, c, n);
        });
        n += count;
      }
    });
    if (n < capacity) {
      time = time.slice(0, n);
      cols = cols.map((c) => c.slice(0, n));
    }
    const nullTime = time.findIndex((t) => Number.isNaN(t));
    if (nullTime >= 0) {
      throw new DataError(`time column "${selected.time.name}" is empty at row ${nullTime + 1}`, { file });
    }
    return new Frame(
      time,
      selected.values.map((c, j) => [c.name, cols[j] as Float64Array] as const),
    );
  });
}

export async function parquetInfo(file: string, opts?: { timeColumn?: string }): Promise<FrameFileInfo> {
  return withConnection(async (conn) => {
    const schema = await describe(conn, file);
    const selected = selectColumns(file, schema, { ...opts, columns: [] });
    const reader = await corruptOnError(file, () =>
      conn.runAndReadAll(
        `SELECT count(*), min(${selected.time.sql}), max(${selected.time.sql}) FROM read_parquet(${sqlString(file)})`,
      ),
    );
    const [count, first, last] = reader.getRows()[0] ?? [];
    const info: FrameFileInfo = {
      rows: Number(count),
      columns: schema.filter((c) => c.name !== selected.time.name).map((c) => c.name),
    };
    if (typeof first === "number") info.first = first;
    if (typeof last === "number") info.last = last;
    return info;
  });
}

interface FileColumn {
  name: string;
  type: DuckDBTypeId;
  typeText: string;
}

interface Selected {
  time: { name: string; sql: string };
  values: { name: string; sql: string }[];
}

async function describe(conn: DuckDBConnection, file: string): Promise<FileColumn[]> {
  const result = await corruptOnError(file, () =>
    conn.run(`SELECT * FROM read_parquet(${sqlString(file)}) LIMIT 0`),
  );
  return result.columnNames().map((name, i) => ({
    name,
    type: result.columnTypeId(i),
    typeText: result.columnType(i).toString(),
  }));
}

async function scalar(conn: DuckDBConnection, file: string, sql: string): Promise<unknown> {
  const reader = await corruptOnError(file, () => conn.runAndReadAll(sql));
  return reader.getRows()[0]?.[0];
}

function selectColumns(file: string, schema: readonly FileColumn[], opts: ReadOptions | undefined): Selected {
  const timeName = timeColumnOf(opts);
  const byName = new Map(schema.map((c) => [c.name, c]));
  const timeCol = byName.get(timeName);
  if (timeCol === undefined) {
    throw new DataError(
      `no time column "${timeName}"; columns are: ${schema.map((c) => c.name).join(", ") || "(none)"}`,
      { file },
    );
  }
  const timeSql = timeExpression(timeCol);
  if (timeSql === undefined) {
    throw new DataError(
      `time column "${timeName}" has type ${timeCol.typeText}; expected a timestamp or epoch milliseconds`,
      { file },
    );
  }
  const names = pickColumns(
    file,
    schema.map((c) => c.name),
    timeName,
    opts?.columns,
  );
  const refused: string[] = [];
  const values = names.map((name) => {
    const col = byName.get(name) as FileColumn;
    const sql = valueExpression(col);
    if (sql === undefined) refused.push(`"${name}" (${col.typeText})`);
    return { name, sql: sql ?? "" };
  });
  if (refused.length > 0) {
    throw new DataError(
      `non-numeric column${refused.length > 1 ? "s" : ""} ${refused.join(", ")}; read a numeric subset with the \`columns\` option`,
      { file },
    );
  }
  return { time: { name: timeName, sql: timeSql }, values };
}

const TIMESTAMPS = new Set<DuckDBTypeId>([
  DuckDBTypeId.TIMESTAMP,
  DuckDBTypeId.TIMESTAMP_TZ,
  DuckDBTypeId.TIMESTAMP_S,
  DuckDBTypeId.TIMESTAMP_MS,
  DuckDBTypeId.TIMESTAMP_NS,
]);

const NUMBERS = new Set<DuckDBTypeId>([
  DuckDBTypeId.TINYINT,
  DuckDBTypeId.SMALLINT,
  DuckDBTypeId.INTEGER,
  DuckDBTypeId.BIGINT,
  DuckDBTypeId.HUGEINT,
  DuckDBTypeId.UTINYINT,
  DuckDBTypeId.USMALLINT,
  DuckDBTypeId.UINTEGER,
  DuckDBTypeId.UBIGINT,
  DuckDBTypeId.UHUGEINT,
  DuckDBTypeId.FLOAT,
  DuckDBTypeId.DECIMAL,
  DuckDBTypeId.BOOLEAN,
]);

/** Epoch ms as DOUBLE. A timestamp without zone is taken as UTC, as the original's files mean it. */
function timeExpression(col: FileColumn): string | undefined {
  const id = sqlIdent(col.name);
  // epoch_us keeps the microseconds a millisecond division would drop; nanoseconds are cut to µs.
  if (TIMESTAMPS.has(col.type)) return `CAST(epoch_us(${id}) AS DOUBLE) / 1000`;
  if (col.type === DuckDBTypeId.DATE) return `CAST(epoch_us(CAST(${id} AS TIMESTAMP)) AS DOUBLE) / 1000`;
  if (col.type === DuckDBTypeId.DOUBLE) return id;
  if (NUMBERS.has(col.type) && col.type !== DuckDBTypeId.BOOLEAN) return `CAST(${id} AS DOUBLE)`;
  return undefined;
}

function valueExpression(col: FileColumn): string | undefined {
  const id = sqlIdent(col.name);
  if (col.type === DuckDBTypeId.DOUBLE) return id;
  if (NUMBERS.has(col.type)) return `CAST(${id} AS DOUBLE)`;
  return undefined;
}

/**
 * Any DuckDB failure while opening or scanning a file we could stat means the bytes are not a
 * readable Parquet file (cut short, overwritten, not Parquet at all). DuckDB's own message goes
 * into `cause`; the caller's message says what is wrong and what to do.
 */
async function corruptOnError<T>(file: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof DataError) throw err;
    throw new DataError(
      `not a valid or complete Parquet file (${errorMessage(err).split("\n")[0]}); write or download it again`,
      { file },
      { cause: err },
    );
  }
}
