import { existsSync } from "node:fs";
import type { Config } from "../../config/index.js";
import { readLedgerUrl } from "../../config/ledgerUrl.js";
import { ledgerFile } from "./file.js";
import { openSqliteLedger } from "./sqlite.js";
import type { Ledger } from "./types.js";

/**
 * The ledger of a config: on PostgreSQL when the config has a `ledger_url`, else the SQLite
 * file `<data_folder>/ledger.sqlite`. docs/ledger.md. The Postgres ledger (and its driver) is
 * loaded only when a config names one, so commands start as fast without it.
 */

const postgres = () => import("./postgres.js");

export type LedgerPlace = Pick<Config, "data_folder" | "ledger_url">;

/** Where the ledger is, for messages: the file, or the URL (password masked) with its schema. */
export function ledgerLocation(place: LedgerPlace): string {
  if (place.ledger_url === undefined) return ledgerFile(place);
  const u = readLedgerUrl(place.ledger_url);
  return typeof u === "string" ? "ledger_url" : u.display;
}

/** Opens the ledger for writing (creating it when needed); a second writer is refused. */
export async function openLedgerOf(place: LedgerPlace, opts: { command?: string } = {}): Promise<Ledger> {
  if (place.ledger_url !== undefined) return (await postgres()).openPostgresLedger(place.ledger_url, opts);
  return openSqliteLedger(ledgerFile(place), opts);
}

/** Opens the ledger for reading; undefined when there is none yet (no file, no schema). */
export async function openLedgerForReading(place: LedgerPlace): Promise<Ledger | undefined> {
  if (place.ledger_url !== undefined) {
    const { MissingLedgerError, openPostgresLedger } = await postgres();
    try {
      return await openPostgresLedger(place.ledger_url, { readonly: true });
    } catch (err) {
      if (err instanceof MissingLedgerError) return undefined;
      throw err;
    }
  }
  const file = ledgerFile(place);
  return existsSync(file) ? openSqliteLedger(file, { readonly: true }) : undefined;
}
