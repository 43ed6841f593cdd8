import Database from "better-sqlite3";
import { errorMessage, LedgerError } from "../../core/errors.js";

/**
 * One writer per ledger file, enforced by the operating system: the writer holds an exclusive
 * SQLite lock on a small companion file, `<ledger>.lock` (a POSIX advisory lock, which SQLite
 * also enforces between connections of one process). The kernel drops it when the process
 * ends, however it ends, so a writer killed with SIGKILL leaves nothing stale behind and the
 * next one starts at once. The ledger file itself stays in WAL mode with no lock held between
 * transactions, so readers (export, status) never wait for the writer.
 */

export function ledgerLockFile(file: string): string {
  return `${file}.lock`;
}

/** Takes the writer lock of `file`; undefined when another connection holds it. */
export function tryLockLedger(file: string): { release(): void } | undefined {
  const lockFile = ledgerLockFile(file);
  let db: Database.Database | undefined;
  try {
    db = new Database(lockFile, { timeout: 0 });
    db.pragma("locking_mode = EXCLUSIVE");
    // The journal in memory: the lock file is never written, and no `-journal` file is left
    // beside it (journal_mode OFF is refused by SQLite's defensive mode).
    db.pragma("journal_mode = MEMORY");
    db.exec("BEGIN EXCLUSIVE");
  } catch (err) {
    db?.close();
    if (err instanceof Error && "code" in err && err.code === "SQLITE_BUSY") return undefined;
    throw new LedgerError(`cannot lock the ledger: ${lockFile}: ${errorMessage(err)}`, { cause: err });
  }
  const held = db;
  return {
    release: () => {
      if (held.open) held.close();
    },
  };
}
