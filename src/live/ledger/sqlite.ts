import { existsSync, mkdirSync } from "node:fs";
import { hostname } from "node:os";
import { dirname, resolve } from "node:path";
import Database from "better-sqlite3";
import { errorMessage, LedgerError } from "../../core/errors.js";
import { encodeJson } from "../../core/json.js";
import { ledgerFreq, ledgerMarket, marketName } from "./market.js";
import {
  actionValues,
  fillValues,
  flag,
  iso,
  lastFromRow,
  ORDER_COLUMNS,
  ORDER_UPDATES,
  olderCandle,
  orderValues,
  outboxFromRow,
  tradeValues,
} from "./rows.js";
import { migrate, SCHEMA_VERSION, schemaVersion } from "./schema.js";
import { tableQuery } from "./tables.js";
import type {
  CandleRecord,
  LastProcessed,
  Ledger,
  LedgerQuery,
  LedgerTableName,
  MarketKey,
  OutboxEntry,
  OutboxMessage,
  OutboxOutcome,
  TypedLedgerTable,
} from "./types.js";
import { tryLockLedger } from "./writerLock.js";

/**
 * The ledger in one SQLite file (better-sqlite3), in WAL mode: the writer appends, readers
 * (export, status, other processes) read a consistent snapshot without waiting for it.
 * `synchronous = FULL` makes every committed candle durable before `record` returns: after a
 * SIGKILL or a power loss the file holds every candle whose `record` returned, each whole, and
 * nothing of the candle in flight. One writer per file (writerLock.ts). docs/ledger.md.
 */

export interface SqliteLedgerOptions {
  /** Open for reading only (export, status): the file must exist; `record` is refused. */
  readonly?: boolean;
  /** The command line recorded as the writer's (default: this process's arguments). */
  command?: string;
  /**
   * Commit time per record (ms, a moving average) above which the records of one turn of the
   * event loop are committed together (default SLOW_COMMIT_MS).
   */
  groupAboveMs?: number;
}

type Db = Database.Database;
function statements(db: Db) {
  const q = (n: number) => new Array(n).fill("?").join(", ");
  return {
    marketId: db.prepare("SELECT id FROM markets WHERE symbol = ? AND freq = ?").pluck(),
    addMarket: db.prepare("INSERT INTO markets (symbol, freq) VALUES (?, ?)"),
    lastTime: db.prepare("SELECT max(time) FROM candles WHERE market = ?").pluck(),
    candle: db.prepare(
      "INSERT INTO candles (market, time, open, high, low, close, volume, scores, signals, buy, sell, " +
        `catch_up, processed_at, latency_ms) VALUES (${q(14)})`,
    ),
    decision: db.prepare(
      "INSERT INTO decisions (market, time, seq, kind, client_order_id, symbol, side, type, quantity, " +
        "quote_quantity, price, trailing_fraction, reduce_only, oco_group, purpose, decided_at) " +
        `VALUES (${q(16)})`,
    ),
    // A state older than the one recorded (by updated_at) does not replace it.
    order: db.prepare(
      `INSERT INTO orders (market, candle, ${ORDER_COLUMNS}) VALUES (${q(22)}) ` +
        `ON CONFLICT (market, client_order_id) DO UPDATE SET candle = excluded.candle, ${ORDER_UPDATES} ` +
        "WHERE orders.updated_at IS NULL OR excluded.updated_at >= orders.updated_at",
    ),
    // A fill delivered again (same trade id) is ignored: it was recorded with its first delivery.
    fill: db.prepare(
      "INSERT INTO fills (market, candle, trade_id, client_order_id, symbol, side, price, quantity, fee, " +
        `liquidity, time, final) VALUES (${q(12)}) ON CONFLICT (market, trade_id) DO NOTHING`,
    ),
    trade: db.prepare(
      "INSERT INTO trades (market, candle, seq, side, entry_index, entry_time, entry_price, exit_index, " +
        `exit_time, exit_price, qty, fees, pnl, ret, exit_reason) VALUES (${q(15)})`,
    ),
    equity: db.prepare(
      "INSERT INTO equity (market, time, equity, cash, position, quantity, entry_price) " +
        `VALUES (${q(7)})`,
    ),
    state: db.prepare(
      "INSERT INTO state (market, time, state) VALUES (?, ?, ?) " +
        "ON CONFLICT (market) DO UPDATE SET time = excluded.time, state = excluded.state",
    ),
    last: db.prepare(
      "SELECT s.time, s.state, e.equity, e.cash, e.position, e.quantity, e.entry_price, " +
        "c.open, c.high, c.low, c.close, c.volume, c.scores, c.signals, c.buy, c.sell, c.catch_up, " +
        "c.processed_at, c.latency_ms FROM state s " +
        "JOIN equity e ON e.market = s.market AND e.time = s.time " +
        "JOIN candles c ON c.market = s.market AND c.time = s.time WHERE s.market = ?",
    ),
    outbox: db.prepare(
      "INSERT INTO outbox (market, candle, channel, target, kind, keep, payload, created_at) " +
        `VALUES (${q(8)})`,
    ),
    pendingOutbox: db.prepare(
      "SELECT o.id, m.symbol, m.freq, o.candle, o.channel, o.target, o.kind, o.keep, o.payload, " +
        "o.created_at, o.attempts FROM outbox o JOIN markets m ON m.id = o.market " +
        "WHERE o.status = 'pending' AND o.channel = ? ORDER BY o.id LIMIT ?",
    ),
    settleOutbox: db.prepare(
      "UPDATE outbox SET status = ?, settled_at = ?, message_id = ?, error = coalesce(?, error) " +
        "WHERE id = ? AND status = 'pending'",
    ),
    retryOutbox: db.prepare(
      "UPDATE outbox SET attempts = attempts + 1, error = ? WHERE id = ? AND status = 'pending'",
    ),
    countPending: db.prepare("SELECT count(*) FROM outbox WHERE status = 'pending' AND channel = ?").pluck(),
    dropOldest: db.prepare(
      "UPDATE outbox SET status = 'dropped', settled_at = ?, error = 'queue full' WHERE id IN " +
        "(SELECT id FROM outbox WHERE status = 'pending' AND channel = ? AND keep = 0 ORDER BY id LIMIT ?)",
    ),
    markets: db.prepare(
      "SELECT symbol, freq FROM markets m WHERE EXISTS (SELECT 1 FROM candles c WHERE c.market = m.id) " +
        "ORDER BY symbol, freq",
    ),
  };
}

type Statements = ReturnType<typeof statements>;

/** A record waiting for its commit. */
interface Queued {
  rec: CandleRecord;
  market: MarketKey;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * A commit slower than this per record (ms) makes the next records wait for the end of the
 * event loop's turn and share one commit. An fsync on a local SSD takes 0.05–0.5 ms; on a
 * network disk or under load, 1–10 ms.
 */
const SLOW_COMMIT_MS = 1;
/** The weight of the last commit in the moving average of commit times. */
const COMMIT_AVERAGE_WEIGHT = 0.05;

export class SqliteLedger implements Ledger {
  readonly file: string;
  readonly readonly: boolean;
  private readonly db: Db;
  private readonly st: Statements;
  private readonly ids = new Map<string, number>();
  private readonly unlock: (() => void) | undefined;
  private readonly recordTx: (rec: CandleRecord, market: MarketKey) => void;
  private readonly batchTx: (batch: readonly Queued[], failed: unknown[]) => void;
  /** Records waiting for the next commit. */
  private queue: Queued[] = [];
  /** Commit time per record (ms), a moving average: above SLOW_COMMIT_MS, records are grouped. */
  private commitMsPerRecord = 0;
  private readonly groupAboveMs: number;

  /** Use openSqliteLedger. */
  constructor(
    file: string,
    db: Db,
    readonly: boolean,
    unlock: (() => void) | undefined,
    groupAboveMs = SLOW_COMMIT_MS,
  ) {
    this.file = file;
    this.groupAboveMs = groupAboveMs;
    this.db = db;
    this.readonly = readonly;
    this.unlock = unlock;
    this.st = statements(db);
    // One candle: a savepoint inside the batch's transaction, all or nothing.
    this.recordTx = db.transaction((rec: CandleRecord, market: MarketKey) => this.write(rec, market));
    this.batchTx = db.transaction((batch: readonly Queued[], failed: unknown[]) => {
      batch.forEach((q, i) => {
        try {
          this.recordTx(q.rec, q.market);
        } catch (err) {
          failed[i] = err;
        }
      });
    });
  }

  /**
   * Records one candle, whole, and settles once its commit is on disk; `rec` must not change
   * until then. A record is committed at once, in a transaction of its own, so a market's
   * candle never waits for the others'. While the disk is slow (commits took more than
   * SLOW_COMMIT_MS per record on a moving average) the records of one turn of the event loop
   * (the markets whose candles closed together) are committed together instead, each in a
   * savepoint of its own: one fsync for all of them, so a slow disk cannot hold the event loop
   * for one fsync per market; a candle that fails (a duplicate) fails alone either way.
   */
  async record(rec: CandleRecord): Promise<void> {
    if (this.readonly) throw new LedgerError(`${this.file}: opened read-only, cannot record`);
    const market = ledgerMarket(rec.market);
    const time = rec.candle?.time;
    if (!Number.isSafeInteger(time)) {
      throw new LedgerError(
        `${marketName(market)}: a candle's time must be an integer of epoch ms, got ${time}`,
      );
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ rec, market, resolve, reject });
      if (this.queue.length > 1) return; // a group waits for the end of this turn
      if (this.commitMsPerRecord > this.groupAboveMs) setImmediate(() => this.flush());
      else this.flush();
    });
  }

  /** Commits the queued records (reads and close call it first, so they see every record). */
  private flush(): void {
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    const failed = new Array<unknown>(batch.length);
    let err: unknown;
    const started = performance.now();
    try {
      this.batchTx(batch, failed);
    } catch (e) {
      err = e; // not committed: every record of the batch failed
    }
    // a moving average: one slow fsync now and then does not change the mode, a slow disk does
    const perRecord = (performance.now() - started) / batch.length;
    this.commitMsPerRecord += COMMIT_AVERAGE_WEIGHT * (perRecord - this.commitMsPerRecord);
    batch.forEach((q, i) => {
      const e = err ?? failed[i];
      if (e === undefined) {
        q.resolve();
        return;
      }
      // A rolled-back record may have added its market: forget the ids cached since.
      this.ids.clear();
      q.reject(
        e instanceof LedgerError
          ? e
          : new LedgerError(
              `${this.file}: cannot record the ${marketName(q.market)} candle of ${iso(q.rec.candle.time)}: ${errorMessage(e)}`,
              { cause: e },
            ),
      );
    });
  }

  async last(market: MarketKey): Promise<LastProcessed | undefined> {
    return this.reading(() => this.lastOf(market));
  }

  private lastOf(market: MarketKey): LastProcessed | undefined {
    const id = this.marketId(ledgerMarket(market), false);
    if (id === undefined) return undefined;
    const row = this.st.last.raw(true).get(id) as unknown[] | undefined;
    if (row === undefined) return undefined;
    return lastFromRow(row);
  }

  async markets(): Promise<MarketKey[]> {
    return this.reading(() => this.st.markets.all() as MarketKey[]);
  }

  async read(what: LedgerTableName, q: LedgerQuery = {}): Promise<TypedLedgerTable> {
    const m = q.market;
    const market =
      m === undefined
        ? {}
        : {
            ...(m.symbol === undefined ? {} : { symbol: m.symbol }),
            ...(m.freq === undefined ? {} : { freq: ledgerFreq(m.freq) }),
          };
    return this.reading(() => {
      const t = tableQuery(what, { ...q, market });
      return t.decode(
        this.db
          .prepare(t.sql)
          .raw(true)
          .all(...t.params) as unknown[][],
      );
    });
  }

  /** A read's SQLite failure (a damaged file, a disk error) as a LedgerError naming the file. */
  private reading<T>(read: () => T): T {
    this.flush();
    try {
      return read();
    } catch (err) {
      if (err instanceof LedgerError) throw err;
      throw new LedgerError(`${this.file}: cannot read the ledger: ${errorMessage(err)}`, { cause: err });
    }
  }

  async close(): Promise<void> {
    if (this.db.open) {
      this.flush();
      this.db.close();
    }
    this.unlock?.();
  }

  private marketId(m: MarketKey, create: boolean): number | undefined {
    const key = `${m.symbol}\u0000${m.freq}`;
    const known = this.ids.get(key);
    if (known !== undefined) return known;
    let id = this.st.marketId.get(m.symbol, m.freq) as number | undefined;
    if (id === undefined && create) id = Number(this.st.addMarket.run(m.symbol, m.freq).lastInsertRowid);
    // A reader does not cache: the writer may add the market later.
    if (id !== undefined && !this.readonly) this.ids.set(key, id);
    return id;
  }

  /** Inside the record's transaction. */
  private write(rec: CandleRecord, market: MarketKey): void {
    const st = this.st;
    const id = this.marketId(market, true) as number;
    const c = rec.candle;
    const refused = olderCandle(market, c.time, st.lastTime.get(id) as number | null);
    if (refused !== undefined) throw refused;
    st.candle.run(
      id,
      c.time,
      c.open,
      c.high,
      c.low,
      c.close,
      c.volume,
      encodeJson(rec.scores),
      encodeJson(rec.signals),
      flag(rec.buy),
      flag(rec.sell),
      flag(rec.catchUp),
      rec.processedAt,
      rec.latencyMs,
    );
    rec.actions.forEach((a, seq) => {
      st.decision.run(id, c.time, seq, ...actionValues(a));
    });
    for (const o of rec.orders) st.order.run(id, c.time, ...orderValues(o));
    for (const f of rec.fills) st.fill.run(id, c.time, ...fillValues(f));
    rec.trades.forEach((t, seq) => {
      st.trade.run(id, c.time, seq, ...tradeValues(t));
    });
    const e = rec.equity;
    st.equity.run(id, c.time, e.equity, e.cash, e.position, e.quantity, e.entryPrice);
    st.state.run(id, c.time, encodeJson(rec.state));
    for (const o of rec.outbox ?? []) {
      st.outbox.run(
        id,
        c.time,
        o.channel,
        o.target,
        o.kind,
        flag(o.keep),
        encodeJson(o.payload),
        rec.processedAt,
      );
    }
  }

  async pendingOutbox(channel: OutboxMessage["channel"], limit: number): Promise<OutboxEntry[]> {
    return this.reading(() =>
      (this.st.pendingOutbox.raw(true).all(channel, limit) as unknown[][]).map(outboxFromRow),
    );
  }

  async settleOutbox(id: number, outcome: OutboxOutcome | { status: "retry"; error: string }): Promise<void> {
    this.writing(() => {
      if (outcome.status === "retry") this.st.retryOutbox.run(outcome.error, id);
      else
        this.st.settleOutbox.run(
          outcome.status,
          outcome.at,
          outcome.messageId ?? null,
          outcome.error ?? null,
          id,
        );
    });
  }

  async trimOutbox(channel: OutboxMessage["channel"], limit: number, at: number): Promise<number> {
    return this.writing(() => {
      const over = (this.st.countPending.get(channel) as number) - limit;
      return over > 0 ? this.st.dropOldest.run(at, channel, over).changes : 0;
    });
  }

  /** A write outside a candle's record (the outbox's bookkeeping), after the queued records. */
  private writing<T>(write: () => T): T {
    if (this.readonly) throw new LedgerError(`${this.file}: opened read-only, cannot write`);
    this.flush();
    try {
      return write();
    } catch (err) {
      throw new LedgerError(`${this.file}: cannot update the outbox: ${errorMessage(err)}`, { cause: err });
    }
  }
}

/**
 * Opens (creating the folder, the file and its schema when needed) the ledger at `file` for
 * writing, or with `readonly` for reading. A second writer of the same file, in this process
 * or another, is refused with a LedgerError naming the one at work.
 */
export function openSqliteLedger(file: string, opts: SqliteLedgerOptions = {}): SqliteLedger {
  const path = resolve(file);
  return opts.readonly === true ? openReader(path) : openWriter(path, opts.command, opts.groupAboveMs);
}

function openReader(file: string): SqliteLedger {
  if (!existsSync(file)) throw new LedgerError(`no ledger at ${file}`);
  let db: Db | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    checkVersion(db, file);
    return new SqliteLedger(file, db, true, undefined);
  } catch (err) {
    db?.close();
    throw asLedgerError(err, file);
  }
}

function openWriter(
  file: string,
  command: string | undefined,
  groupAboveMs: number | undefined,
): SqliteLedger {
  mkdirSync(dirname(file), { recursive: true });
  const lock = tryLockLedger(file);
  if (lock === undefined)
    throw new LedgerError(`${file} is being written by ${writerOf(file)}; one writer per ledger`);
  let db: Db | undefined;
  try {
    db = new Database(file);
    const mode = db.pragma("journal_mode = WAL", { simple: true });
    if (mode !== "wal")
      throw new LedgerError(`${file}: cannot use WAL mode (journal mode stays ${String(mode)})`);
    // Every commit reaches the disk before record() returns (see the class comment).
    db.pragma("synchronous = FULL");
    db.pragma("foreign_keys = ON");
    migrate(db, file);
    db.prepare(
      "INSERT INTO writer (id, pid, hostname, command, started) VALUES (1, ?, ?, ?, ?) " +
        "ON CONFLICT (id) DO UPDATE SET pid = excluded.pid, hostname = excluded.hostname, " +
        "command = excluded.command, started = excluded.started",
    ).run(process.pid, hostname(), command ?? processCommand(), new Date().toISOString());
    return new SqliteLedger(file, db, false, lock.release, groupAboveMs);
  } catch (err) {
    db?.close();
    lock.release();
    throw asLedgerError(err, file);
  }
}

function checkVersion(db: Db, file: string): void {
  const version = schemaVersion(db);
  if (version === SCHEMA_VERSION) return;
  if (version === 0) throw new LedgerError(`${file}: not an itb ledger (no schema_version table)`);
  throw new LedgerError(
    version > SCHEMA_VERSION
      ? `${file}: ledger schema version ${version} is newer than this itb's (${SCHEMA_VERSION}); use a newer itb`
      : `${file}: ledger schema version ${version} is older than this itb's (${SCHEMA_VERSION}); itb serve upgrades it`,
  );
}

/** The process holding the ledger, as its row in `writer` names it. */
function writerOf(file: string): string {
  let db: Db | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    const w = db.prepare("SELECT pid, hostname, command, started FROM writer WHERE id = 1").get() as
      | { pid: number; hostname: string; command: string; started: string }
      | undefined;
    if (w !== undefined) {
      const host = w.hostname === hostname() ? "" : ` on ${w.hostname}`;
      return `another process (pid ${w.pid}${host}, ${JSON.stringify(w.command)}, since ${w.started})`;
    }
  } catch {
    // The holder may be creating the file: name it without details.
  } finally {
    db?.close();
  }
  return "another process";
}

function processCommand(): string {
  return ["itb", ...process.argv.slice(2)].join(" ");
}

function asLedgerError(err: unknown, file: string): LedgerError {
  if (err instanceof LedgerError) return err;
  const code = err instanceof Error && "code" in err ? String(err.code) : "";
  if (code === "SQLITE_NOTADB") return new LedgerError(`${file}: not an itb ledger (not an SQLite database)`);
  return new LedgerError(`${file}: cannot open the ledger: ${errorMessage(err)}`, { cause: err });
}
