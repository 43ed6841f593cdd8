import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { errorMessage } from "../../src/core/errors.js";
import { openPostgresLedger, type PostgresLedger } from "../../src/live/ledger/postgres.js";
import { openSqliteLedger, type SqliteLedger } from "../../src/live/ledger/sqlite.js";

/**
 * The two ledgers behind one face, for tests that run the same behaviour against both: SQLite
 * on a fresh file, Postgres on a fresh schema of the test server (dropped at cleanup). The
 * server is `ITB_TEST_POSTGRES_URL`, else 127.0.0.1:5432, database `test`, user root or
 * postgres (trust auth, as on the development machine and in CI). An unreachable server fails
 * the Postgres tests with a message saying so; they are never skipped.
 */

export type AnyLedger = SqliteLedger | PostgresLedger;

export interface LedgerBackend {
  name: "sqlite" | "postgres";
  /** A new, empty place for a ledger: a file path, or a URL naming a new schema. */
  fresh(): Promise<string>;
  open(where: string, opts?: { readonly?: boolean; command?: string }): Promise<AnyLedger>;
  /** How the ledger names itself in its errors (the file, or the URL with its schema). */
  name_(ledger: AnyLedger): string;
  /** Runs SQL on the ledger's database outside it (a damaged ledger, a newer schema). */
  sql(where: string, text: string): Promise<unknown[]>;
  /** The constraint error of a NaN in a NOT NULL column, in the database's words. */
  notNull(table: string, column: string): string;
  cleanup(): Promise<void>;
}

const CANDIDATES = ["postgres://root@127.0.0.1:5432/test", "postgres://postgres@127.0.0.1:5432/test"];

let server: Promise<string> | undefined;

/** The test server's URL (without a schema); rejects with a clear message when none answers. */
export function testPostgresUrl(): Promise<string> {
  server ??= (async () => {
    const env = process.env.ITB_TEST_POSTGRES_URL;
    const tried: string[] = [];
    for (const url of env === undefined || env === "" ? CANDIDATES : [env]) {
      const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
      c.on("error", () => undefined);
      try {
        await c.connect();
        await c.end();
        return url;
      } catch (err) {
        tried.push(`${url}: ${errorMessage(err) || String((err as { code?: string }).code)}`);
        await c.end().catch(() => undefined);
      }
    }
    throw new Error(
      `PostgreSQL is not reachable (${tried.join("; ")}); the Postgres ledger tests need a server ` +
        "(127.0.0.1:5432, database test, trust auth, as in CI) or ITB_TEST_POSTGRES_URL",
    );
  })();
  return server;
}

/** `url` with `?schema=` set. */
export function withSchema(url: string, schema: string): string {
  const u = new URL(url);
  u.searchParams.set("schema", schema);
  return u.toString();
}

export function schemaOf(where: string): string {
  return new URL(where).searchParams.get("schema") ?? "itb";
}

let schemaCount = 0;

/** A schema name no other test (or test run) uses. */
export function freshSchemaName(): string {
  return `itb_t${process.pid}_${Date.now().toString(36)}_${++schemaCount}`;
}

/** Drops the schemas, waiting at most 10 s for locks (a test that failed may hold a writer). */
export async function dropSchemas(url: string, schemas: readonly string[]): Promise<void> {
  if (schemas.length === 0) return;
  const c = new pg.Client({ connectionString: url });
  c.on("error", () => undefined);
  await c.connect();
  try {
    await c.query("SET lock_timeout = '10s'");
    for (const s of schemas) await c.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
  } finally {
    await c.end();
  }
}

/** bigint columns as numbers, as the ledger reads them. */
const TYPES = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === pg.types.builtins.INT8
      ? (v: string) => Number(v)
      : pg.types.getTypeParser(oid, format as "text")) as typeof pg.types.getTypeParser,
};

/** Runs `text` on the database of `where` (a ledger URL), in its schema; the last statement's rows. */
export async function pgQuery(where: string, text: string): Promise<unknown[]> {
  const u = new URL(where);
  u.searchParams.delete("schema");
  const c = new pg.Client({ connectionString: u.toString(), types: TYPES });
  c.on("error", () => undefined);
  await c.connect();
  try {
    await c.query(`SET search_path TO "${schemaOf(where)}"`);
    const r = (await c.query(text)) as pg.QueryResult | pg.QueryResult[];
    return (Array.isArray(r) ? (r.at(-1) as pg.QueryResult) : r).rows;
  } finally {
    await c.end();
  }
}

export function sqliteBackend(): LedgerBackend {
  // made on first use: a suite whose tests are all filtered out runs no afterAll to remove it
  let dir: string | undefined;
  let n = 0;
  return {
    name: "sqlite",
    fresh: async () => {
      dir ??= mkdtempSync(join(tmpdir(), "itb-ledger-"));
      return join(dir, `l${++n}`, "ledger.sqlite");
    },
    open: async (where, opts) => openSqliteLedger(where, opts),
    name_: (l) => (l as SqliteLedger).file,
    sql: async (where, text) => {
      const { default: Database } = await import("better-sqlite3");
      const db = new Database(where);
      try {
        const st = db.prepare(text);
        return st.reader ? st.all() : [st.run()];
      } finally {
        db.close();
      }
    },
    notNull: (table, column) => `NOT NULL constraint failed: ${table}.${column}`,
    cleanup: async () => {
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function postgresBackend(): LedgerBackend {
  const schemas: string[] = [];
  return {
    name: "postgres",
    fresh: async () => {
      const url = await testPostgresUrl();
      const schema = freshSchemaName();
      schemas.push(schema);
      return withSchema(url, schema);
    },
    open: (where, opts) => openPostgresLedger(where, opts),
    name_: (l) => (l as PostgresLedger).location,
    sql: pgQuery,
    notNull: (table, column) =>
      `null value in column "${column}" of relation "${table}" violates not-null constraint`,
    cleanup: async () => {
      if (schemas.length > 0) await dropSchemas(await testPostgresUrl(), schemas);
    },
  };
}

export const BACKENDS = [
  { name: "sqlite", make: sqliteBackend },
  { name: "postgres", make: postgresBackend },
] as const;
