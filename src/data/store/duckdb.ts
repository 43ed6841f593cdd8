import { type DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import { registerFrameScan } from "./frameScan.js";

/**
 * One in-memory DuckDB per process. Creating an instance costs tens of milliseconds and each
 * holds its own buffer pool and thread pool, so every store operation and every later stage
 * shares this one.
 */
let started: Promise<{ instance: DuckDBInstance; shared: DuckDBConnection }> | undefined;

function start(): Promise<{ instance: DuckDBInstance; shared: DuckDBConnection }> {
  if (started === undefined) {
    started = (async () => {
      const instance = await DuckDBInstance.create(":memory:");
      const shared = await instance.connect();
      registerFrameScan(shared);
      return { instance, shared };
    })();
    // A failed start must not be cached: the next call tries again.
    started.catch(() => {
      started = undefined;
    });
  }
  return started;
}

/** The process's shared DuckDB connection, created on first use. */
export async function duckdb(): Promise<DuckDBConnection> {
  return (await start()).shared;
}

/**
 * Runs `use` on a connection of its own. A DuckDB connection runs one statement at a time and
 * temporary tables belong to their connection, so concurrent reads and writes each get one;
 * connections to one instance are cheap.
 */
export async function withConnection<T>(use: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
  const conn = await (await start()).instance.connect();
  try {
    return await use(conn);
  } finally {
    conn.closeSync();
  }
}

/** A SQL string literal. */
export function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** A quoted SQL identifier. */
export function sqlIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
