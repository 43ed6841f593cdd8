import { maskUrl } from "./secrets.js";

/**
 * `ledger_url`: the live service's ledger on PostgreSQL, `postgres://user[:password]@host[:port]/
 * database[?schema=name]` (`postgresql://` too; other query parameters such as `sslmode` go to
 * the driver). The schema (a Postgres namespace) holds the ledger's tables; default `itb`. The
 * URL may hold a password: it is shown only through `display`, with the password masked.
 */
export interface LedgerUrl {
  /** What the driver connects to (the URL without `schema`). */
  connectionString: string;
  schema: string;
  /** The URL with its password masked and its schema: safe to log. */
  display: string;
}

export const DEFAULT_LEDGER_SCHEMA = "itb";

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** The URL read, or what is wrong with it (a sentence that never echoes a password). */
export function readLedgerUrl(url: string): LedgerUrl | string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return "not a URL; a postgres://user[:password]@host[:port]/database[?schema=name] URL is expected";
  }
  if (u.protocol !== "postgres:" && u.protocol !== "postgresql:") {
    return `a postgres:// or postgresql:// URL is expected, found ${JSON.stringify(u.protocol)}`;
  }
  const schemas = u.searchParams.getAll("schema");
  const schema = schemas.at(-1) ?? DEFAULT_LEDGER_SCHEMA;
  if (schemas.length > 1) return "give one schema (?schema=name), not several";
  if (!SCHEMA_NAME.test(schema)) {
    return `schema ${JSON.stringify(schema)} is not a plain name (letters, digits and _, at most 63, not starting with a digit)`;
  }
  u.searchParams.delete("schema");
  const connectionString = u.toString();
  const shown = new URL(maskUrl(connectionString));
  shown.searchParams.set("schema", schema);
  return { connectionString, schema, display: shown.toString() };
}
