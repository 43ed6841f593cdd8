import type Database from "better-sqlite3";
import { LedgerError } from "../../core/errors.js";

/**
 * The SQLite ledger's schema and its migrations. `schema_version` holds one row: the version
 * the file is at. Opening a ledger for writing applies the migrations it lacks, each in its
 * own transaction (`MIGRATIONS[i]` takes version i to i + 1); a file at a newer version than
 * this itb knows is refused rather than misread.
 *
 * Times are epoch ms (INTEGER); prices and amounts REAL, where SQLite stores NaN as NULL (read
 * back as NaN); flags 0/1. Scores, signals and state snapshots are JSON text (json.ts). Every
 * row of a candle's record points at its candle (foreign keys), so nothing of a candle can
 * exist without the candle itself.
 */

type Db = Database.Database;

const V1 = `
CREATE TABLE markets (
  id     INTEGER PRIMARY KEY,
  symbol TEXT NOT NULL,
  freq   TEXT NOT NULL,
  UNIQUE (symbol, freq)
);
CREATE TABLE candles (
  market       INTEGER NOT NULL REFERENCES markets (id),
  time         INTEGER NOT NULL,
  open         REAL,
  high         REAL,
  low          REAL,
  close        REAL,
  volume       REAL,
  scores       TEXT NOT NULL,
  signals      TEXT NOT NULL,
  buy          INTEGER NOT NULL,
  sell         INTEGER NOT NULL,
  catch_up     INTEGER NOT NULL,
  processed_at INTEGER NOT NULL,
  latency_ms   REAL NOT NULL,
  PRIMARY KEY (market, time)
) WITHOUT ROWID;
CREATE TABLE decisions (
  market            INTEGER NOT NULL,
  time              INTEGER NOT NULL,
  seq               INTEGER NOT NULL,
  kind              TEXT NOT NULL,
  client_order_id   TEXT NOT NULL,
  symbol            TEXT NOT NULL,
  side              TEXT,
  type              TEXT,
  quantity          REAL,
  quote_quantity    REAL,
  price             REAL,
  trailing_fraction REAL,
  reduce_only       INTEGER,
  oco_group         TEXT,
  purpose           TEXT,
  decided_at        INTEGER,
  PRIMARY KEY (market, time, seq),
  FOREIGN KEY (market, time) REFERENCES candles (market, time)
) WITHOUT ROWID;
CREATE TABLE orders (
  market            INTEGER NOT NULL,
  client_order_id   TEXT NOT NULL,
  candle            INTEGER NOT NULL,
  symbol            TEXT NOT NULL,
  side              TEXT NOT NULL,
  type              TEXT NOT NULL,
  quantity          REAL,
  quote_quantity    REAL,
  price             REAL,
  trailing_fraction REAL,
  reduce_only       INTEGER NOT NULL,
  oco_group         TEXT,
  purpose           TEXT NOT NULL,
  decided_at        INTEGER,
  status            TEXT NOT NULL,
  exchange_order_id TEXT,
  filled_quantity   REAL,
  average_price     REAL,
  fees              REAL,
  reason            TEXT,
  created_at        INTEGER,
  updated_at        INTEGER,
  PRIMARY KEY (market, client_order_id),
  FOREIGN KEY (market, candle) REFERENCES candles (market, time)
) WITHOUT ROWID;
CREATE TABLE fills (
  market          INTEGER NOT NULL,
  trade_id        TEXT NOT NULL,
  candle          INTEGER NOT NULL,
  client_order_id TEXT NOT NULL,
  symbol          TEXT NOT NULL,
  side            TEXT NOT NULL,
  price           REAL,
  quantity        REAL,
  fee             REAL,
  liquidity       TEXT NOT NULL,
  time            INTEGER,
  final           INTEGER NOT NULL,
  PRIMARY KEY (market, trade_id),
  FOREIGN KEY (market, candle) REFERENCES candles (market, time)
) WITHOUT ROWID;
CREATE TABLE trades (
  market      INTEGER NOT NULL,
  candle      INTEGER NOT NULL,
  seq         INTEGER NOT NULL,
  side        TEXT NOT NULL,
  entry_index INTEGER,
  entry_time  INTEGER,
  entry_price REAL,
  exit_index  INTEGER,
  exit_time   INTEGER,
  exit_price  REAL,
  qty         REAL,
  fees        REAL,
  pnl         REAL,
  ret         REAL,
  exit_reason TEXT NOT NULL,
  PRIMARY KEY (market, candle, seq),
  FOREIGN KEY (market, candle) REFERENCES candles (market, time)
) WITHOUT ROWID;
CREATE TABLE equity (
  market      INTEGER NOT NULL,
  time        INTEGER NOT NULL,
  equity      REAL,
  cash        REAL,
  position    INTEGER NOT NULL,
  quantity    REAL,
  entry_price REAL,
  PRIMARY KEY (market, time),
  FOREIGN KEY (market, time) REFERENCES candles (market, time)
) WITHOUT ROWID;
CREATE TABLE state (
  market INTEGER PRIMARY KEY REFERENCES markets (id),
  time   INTEGER NOT NULL,
  state  TEXT NOT NULL,
  FOREIGN KEY (market, time) REFERENCES candles (market, time)
);
CREATE TABLE writer (
  id       INTEGER PRIMARY KEY CHECK (id = 1),
  pid      INTEGER NOT NULL,
  hostname TEXT NOT NULL,
  command  TEXT NOT NULL,
  started  TEXT NOT NULL
);
`;

/**
 * Version 2: the outbox. The notifications a candle produced (Telegram messages, webhook
 * events) are written in the candle's transaction, so they exist exactly when the candle does;
 * a delivery loop sends the pending ones in `id` order and marks each sent (or dropped, or
 * failed for good) with Telegram's message id. After a crash, what was not marked is sent.
 */
const V2 = `
CREATE TABLE outbox (
  id         INTEGER PRIMARY KEY,
  market     INTEGER NOT NULL,
  candle     INTEGER NOT NULL,
  channel    TEXT NOT NULL,
  target     TEXT NOT NULL,
  kind       TEXT NOT NULL,
  keep       INTEGER NOT NULL,
  payload    TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  status     TEXT NOT NULL DEFAULT 'pending',
  attempts   INTEGER NOT NULL DEFAULT 0,
  settled_at INTEGER,
  message_id INTEGER,
  error      TEXT,
  FOREIGN KEY (market, candle) REFERENCES candles (market, time)
);
CREATE INDEX outbox_pending ON outbox (status, id);
`;

/** `MIGRATIONS[i]` takes a ledger from version i to i + 1. Append; never edit a released one. */
export const MIGRATIONS: readonly ((db: Db) => void)[] = [(db) => db.exec(V1), (db) => db.exec(V2)];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** The file's schema version; 0 for a new (empty) file. */
export function schemaVersion(db: Db): number {
  const table = db
    .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'")
    .get();
  if (table === undefined) return 0;
  const row = db.prepare("SELECT version FROM schema_version").get() as { version: number } | undefined;
  return row?.version ?? 0;
}

/** Brings the file to SCHEMA_VERSION, one transaction per step. */
export function migrate(db: Db, file: string, migrations: readonly ((db: Db) => void)[] = MIGRATIONS): void {
  const from = schemaVersion(db);
  if (from > migrations.length) {
    throw new LedgerError(
      `${file}: ledger schema version ${from} is newer than this itb's (${migrations.length}); use a newer itb`,
    );
  }
  if (from === 0 && hasOtherTables(db)) {
    throw new LedgerError(`${file}: an SQLite database, but not an itb ledger (no schema_version table)`);
  }
  for (let v = from; v < migrations.length; v++) {
    const step = migrations[v] as (db: Db) => void;
    db.transaction(() => {
      if (v === 0) db.exec("CREATE TABLE schema_version (version INTEGER NOT NULL)");
      step(db);
      db.exec("DELETE FROM schema_version");
      db.prepare("INSERT INTO schema_version (version) VALUES (?)").run(v + 1);
    })();
  }
}

function hasOtherTables(db: Db): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table'").get() !== undefined;
}
