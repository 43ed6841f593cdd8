import { hostname } from "node:os";
import pg from "pg";
import { type LedgerUrl, readLedgerUrl } from "../../config/ledgerUrl.js";
import { maskUrl } from "../../config/secrets.js";
import { errorMessage, LedgerError } from "../../core/errors.js";
import { encodeJson } from "../../core/json.js";
import type { Fill, Order } from "../../core/trading.js";
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
  type Value,
} from "./rows.js";
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

/**
 * The ledger on PostgreSQL (`ledger_url: postgres://user@host:5432/db?schema=itb`), with the
 * SQLite ledger's behaviour: each candle all or nothing, committed before `record` returns
 * (`synchronous_commit = on` for the writer's session, whatever the server's default; a candle
 * is one statement, and the candles queued behind a busy connection share a commit), a candle
 * at or before the market's last refused, orders upserted through their states, a fill kept
 * once, the outbox's rules, and reads through the same queries and decoding (tables.ts), so
 * both ledgers return the same tables for the same records.
 *
 * The tables live in a Postgres schema of their own (`?schema=`, default `itb`), created and
 * migrated by the first writer. One writer per schema: the writer holds a session-level
 * advisory lock for as long as it is connected; the server drops it with the connection, so a
 * killed writer's lock goes when its socket closes. A second writer is refused, naming the
 * first from the `writer` row. Numbers are `double precision`: NaN is stored as NULL (as in
 * SQLite, so the same NOT NULL rules refuse it), ±Infinity and -0 as themselves.
 * docs/ledger.md.
 */

export interface PostgresLedgerOptions {
  /** Open for reading only (export, status): the schema must exist; `record` is refused. */
  readonly?: boolean;
  /** The command line recorded as the writer's (default: this process's arguments). */
  command?: string;
}

/** A reader's ledger that does not exist yet (no schema): `itb serve` has not written it. */
export class MissingLedgerError extends LedgerError {}

/** The advisory lock's first key ("itb"); the second is the schema name's hash. */
const LOCK_CLASS = 0x697462;
const CONNECT_TIMEOUT_MS = 10_000;

/** Reads a `ledger_url`; a LedgerError says what is wrong (never echoing a password). */
function parseLedgerUrl(url: string): LedgerUrl {
  const u = readLedgerUrl(url);
  if (typeof u === "string") throw new LedgerError(`ledger_url ${maskUrl(url)}: ${u}`);
  return u;
}

/** A parameter as Postgres should read it: NaN as NULL, -0 as "-0" (pg would send "0"). */
function param(v: Value | undefined): Value {
  if (v === undefined) return null;
  if (typeof v !== "number") return v;
  if (Number.isNaN(v)) return null;
  return Object.is(v, -0) ? "-0" : v;
}

const params = (vs: readonly (Value | undefined)[]): Value[] => vs.map(param);

/** `?` placeholders (tables.ts's SQL) as `$1, $2, …`. */
function numbered(sql: string): string {
  let i = 0;
  return sql.replace(/\?/g, () => `$${++i}`);
}

/** bigint columns (times, ids, counts) as numbers: epoch ms and ids are safe integers. */
const TYPES = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === pg.types.builtins.INT8
      ? (v: string) => Number(v)
      : pg.types.getTypeParser(oid, format as "text")) as typeof pg.types.getTypeParser,
};

const T = 'text COLLATE "C"';
const N = "double precision";

/** `MIGRATIONS[i]` takes a schema from version i to i + 1. Append; never edit a released one. */
const MIGRATIONS: readonly string[] = [
  `
CREATE TABLE markets (
  id     serial PRIMARY KEY,
  symbol ${T} NOT NULL,
  freq   ${T} NOT NULL,
  UNIQUE (symbol, freq)
);
CREATE TABLE candles (
  market       integer NOT NULL REFERENCES markets (id),
  time         bigint NOT NULL,
  open         ${N},
  high         ${N},
  low          ${N},
  close        ${N},
  volume       ${N},
  scores       text NOT NULL,
  signals      text NOT NULL,
  buy          smallint NOT NULL,
  sell         smallint NOT NULL,
  catch_up     smallint NOT NULL,
  processed_at ${N} NOT NULL,
  latency_ms   ${N} NOT NULL,
  PRIMARY KEY (market, time)
);
CREATE TABLE decisions (
  market            integer NOT NULL,
  time              bigint NOT NULL,
  seq               integer NOT NULL,
  kind              ${T} NOT NULL,
  client_order_id   ${T} NOT NULL,
  symbol            ${T} NOT NULL,
  side              ${T},
  type              ${T},
  quantity          ${N},
  quote_quantity    ${N},
  price             ${N},
  trailing_fraction ${N},
  reduce_only       smallint,
  oco_group         ${T},
  purpose           ${T},
  decided_at        ${N},
  PRIMARY KEY (market, time, seq),
  FOREIGN KEY (market, time) REFERENCES candles (market, time)
);
CREATE TABLE orders (
  market            integer NOT NULL,
  client_order_id   ${T} NOT NULL,
  candle            bigint NOT NULL,
  symbol            ${T} NOT NULL,
  side              ${T} NOT NULL,
  type              ${T} NOT NULL,
  quantity          ${N},
  quote_quantity    ${N},
  price             ${N},
  trailing_fraction ${N},
  reduce_only       smallint NOT NULL,
  oco_group         ${T},
  purpose           ${T} NOT NULL,
  decided_at        ${N},
  status            ${T} NOT NULL,
  exchange_order_id ${T},
  filled_quantity   ${N},
  average_price     ${N},
  fees              ${N},
  reason            ${T},
  created_at        ${N},
  updated_at        ${N},
  PRIMARY KEY (market, client_order_id),
  FOREIGN KEY (market, candle) REFERENCES candles (market, time)
);
CREATE TABLE fills (
  market          integer NOT NULL,
  trade_id        ${T} NOT NULL,
  candle          bigint NOT NULL,
  client_order_id ${T} NOT NULL,
  symbol          ${T} NOT NULL,
  side            ${T} NOT NULL,
  price           ${N},
  quantity        ${N},
  fee             ${N},
  liquidity       ${T} NOT NULL,
  time            ${N},
  final           smallint NOT NULL,
  PRIMARY KEY (market, trade_id),
  FOREIGN KEY (market, candle) REFERENCES candles (market, time)
);
CREATE TABLE trades (
  market      integer NOT NULL,
  candle      bigint NOT NULL,
  seq         integer NOT NULL,
  side        ${T} NOT NULL,
  entry_index ${N},
  entry_time  ${N},
  entry_price ${N},
  exit_index  ${N},
  exit_time   ${N},
  exit_price  ${N},
  qty         ${N},
  fees        ${N},
  pnl         ${N},
  ret         ${N},
  exit_reason ${T} NOT NULL,
  PRIMARY KEY (market, candle, seq),
  FOREIGN KEY (market, candle) REFERENCES candles (market, time)
);
CREATE TABLE equity (
  market      integer NOT NULL,
  time        bigint NOT NULL,
  equity      ${N},
  cash        ${N},
  position    ${N} NOT NULL,
  quantity    ${N},
  entry_price ${N},
  PRIMARY KEY (market, time),
  FOREIGN KEY (market, time) REFERENCES candles (market, time)
);
CREATE TABLE state (
  market integer PRIMARY KEY REFERENCES markets (id),
  time   bigint NOT NULL,
  state  text NOT NULL,
  FOREIGN KEY (market, time) REFERENCES candles (market, time)
);
CREATE TABLE outbox (
  id         bigserial PRIMARY KEY,
  market     integer NOT NULL,
  candle     bigint NOT NULL,
  channel    ${T} NOT NULL,
  target     ${T} NOT NULL,
  kind       ${T} NOT NULL,
  keep       smallint NOT NULL,
  payload    text NOT NULL,
  created_at ${N} NOT NULL,
  status     ${T} NOT NULL DEFAULT 'pending',
  attempts   integer NOT NULL DEFAULT 0,
  settled_at ${N},
  message_id bigint,
  error      text,
  FOREIGN KEY (market, candle) REFERENCES candles (market, time)
);
CREATE INDEX outbox_pending ON outbox (status, id);
CREATE TABLE writer (
  id          integer PRIMARY KEY CHECK (id = 1),
  pid         integer NOT NULL,
  hostname    text NOT NULL,
  command     text NOT NULL,
  started     text NOT NULL,
  backend_pid integer NOT NULL
);
`,
];

/** The schema version this itb writes and reads. */
export const POSTGRES_SCHEMA_VERSION = MIGRATIONS.length;

const q = (n: number, from = 1) => Array.from({ length: n }, (_, i) => `$${i + from}`).join(", ");

const CANDLE_COLUMNS =
  "market, time, open, high, low, close, volume, scores, signals, buy, sell, catch_up, processed_at, latency_ms";
const DECISION_COLUMNS =
  "market, time, seq, kind, client_order_id, symbol, side, type, quantity, quote_quantity, price, " +
  "trailing_fraction, reduce_only, oco_group, purpose, decided_at";
const FILL_COLUMNS =
  "market, candle, trade_id, client_order_id, symbol, side, price, quantity, fee, liquidity, time, final";
const TRADE_COLUMNS =
  "market, candle, seq, side, entry_index, entry_time, entry_price, exit_index, exit_time, exit_price, " +
  "qty, fees, pnl, ret, exit_reason";

const SQL = {
  marketId: "SELECT id FROM markets WHERE symbol = $1 AND freq = $2",
  addMarket: "INSERT INTO markets (symbol, freq) VALUES ($1, $2) RETURNING id",
  lastTime: "SELECT max(time) FROM candles WHERE market = $1",
  last:
    "SELECT s.time, s.state, e.equity, e.cash, e.position, e.quantity, e.entry_price, " +
    "c.open, c.high, c.low, c.close, c.volume, c.scores, c.signals, c.buy, c.sell, c.catch_up, " +
    "c.processed_at, c.latency_ms FROM state s " +
    "JOIN equity e ON e.market = s.market AND e.time = s.time " +
    "JOIN candles c ON c.market = s.market AND c.time = s.time WHERE s.market = $1",
  pendingOutbox:
    "SELECT o.id, m.symbol, m.freq, o.candle, o.channel, o.target, o.kind, o.keep, o.payload, " +
    "o.created_at, o.attempts FROM outbox o JOIN markets m ON m.id = o.market " +
    "WHERE o.status = 'pending' AND o.channel = $1 ORDER BY o.id LIMIT $2",
  settleOutbox:
    "UPDATE outbox SET status = $1, settled_at = $2, message_id = $3, error = coalesce($4, error) " +
    "WHERE id = $5 AND status = 'pending'",
  retryOutbox: "UPDATE outbox SET attempts = attempts + 1, error = $1 WHERE id = $2 AND status = 'pending'",
  countPending: "SELECT count(*) FROM outbox WHERE status = 'pending' AND channel = $1",
  dropOldest:
    "UPDATE outbox SET status = 'dropped', settled_at = $1, error = 'queue full' WHERE id IN " +
    "(SELECT id FROM outbox WHERE status = 'pending' AND channel = $2 AND keep = 0 ORDER BY id LIMIT $3)",
  markets:
    "SELECT symbol, freq FROM markets m WHERE EXISTS (SELECT 1 FROM candles c WHERE c.market = m.id) " +
    "ORDER BY symbol, freq",
} as const;

type SqlName = keyof typeof SQL;

/** A record waiting for its commit. */
interface Queued {
  rec: CandleRecord;
  market: MarketKey;
  resolve: () => void;
  reject: (err: unknown) => void;
}

const marketKey = (m: MarketKey) => `${m.symbol}\u0000${m.freq}`;

/**
 * The orders of a record as the upserts one by one would leave them: per client order id the
 * last state not older than the one before it (`updated_at`; a missing one never replaces).
 */
function lastStates(orders: readonly Order[]): Order[] {
  const by = new Map<string, Order>();
  for (const o of orders) {
    const held = by.get(o.clientOrderId);
    const newer = held === undefined || Number.isNaN(held.updatedAt) || o.updatedAt >= held.updatedAt;
    if (newer) by.set(o.clientOrderId, o);
  }
  return [...by.values()];
}

/** The first delivery of each fill of a record (by trade id). */
function firstFills(fills: readonly Fill[]): Fill[] {
  const by = new Map<string, Fill>();
  for (const f of fills) if (!by.has(f.tradeId)) by.set(f.tradeId, f);
  return [...by.values()];
}

/**
 * One candle's rows as data-modifying CTEs of one statement (named `<prefix><table>`), its
 * parameters appended to `values`. Foreign keys are checked at the end of the statement, when
 * the candle's row is there.
 */
function candleParts(id: number, rec: CandleRecord, prefix: string, values: (Value | undefined)[]): string[] {
  const row = (vs: readonly (Value | undefined)[]) => {
    const from = values.length + 1;
    values.push(...vs);
    return `(${q(vs.length, from)})`;
  };
  const c = rec.candle;
  const parts: string[] = [];
  const insert = (
    table: string,
    columns: string,
    rows: readonly (readonly (Value | undefined)[])[],
    tail = "",
  ) => {
    if (rows.length === 0) return;
    parts.push(
      `${prefix}${table} AS (INSERT INTO ${table} (${columns}) VALUES ${rows.map(row).join(", ")}${tail})`,
    );
  };
  insert("candles", CANDLE_COLUMNS, [
    [
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
    ],
  ]);
  insert(
    "decisions",
    DECISION_COLUMNS,
    rec.actions.map((a, seq) => [id, c.time, seq, ...actionValues(a)]),
  );
  insert(
    "orders",
    `market, candle, ${ORDER_COLUMNS}`,
    lastStates(rec.orders).map((o) => [id, c.time, ...orderValues(o)]),
    ` ON CONFLICT (market, client_order_id) DO UPDATE SET candle = excluded.candle, ${ORDER_UPDATES} ` +
      "WHERE orders.updated_at IS NULL OR excluded.updated_at >= orders.updated_at",
  );
  insert(
    "fills",
    FILL_COLUMNS,
    firstFills(rec.fills).map((f) => [id, c.time, ...fillValues(f)]),
    " ON CONFLICT (market, trade_id) DO NOTHING",
  );
  insert(
    "trades",
    TRADE_COLUMNS,
    rec.trades.map((t, seq) => [id, c.time, seq, ...tradeValues(t)]),
  );
  const e = rec.equity;
  insert("equity", "market, time, equity, cash, position, quantity, entry_price", [
    [id, c.time, e.equity, e.cash, e.position, e.quantity, e.entryPrice],
  ]);
  insert(
    "outbox",
    "market, candle, channel, target, kind, keep, payload, created_at",
    (rec.outbox ?? []).map((o) => [
      id,
      c.time,
      o.channel,
      o.target,
      o.kind,
      flag(o.keep),
      encodeJson(o.payload),
      rec.processedAt,
    ]),
  );
  insert(
    "state",
    "market, time, state",
    [[id, c.time, encodeJson(rec.state)]],
    " ON CONFLICT (market) DO UPDATE SET time = excluded.time, state = excluded.state",
  );
  return parts;
}

/**
 * Candles of different markets as one statement (one round trip; all or nothing): each
 * candle's rows in data-modifying CTEs of their own.
 */
function candlesStatement(items: readonly { id: number; rec: CandleRecord }[]): {
  text: string;
  values: (Value | undefined)[];
} {
  const values: (Value | undefined)[] = [];
  const parts = items.flatMap((it, k) => candleParts(it.id, it.rec, `r${k}_`, values));
  return { text: `WITH ${parts.join(", ")} SELECT 1`, values };
}

/** Candles in one statement at most (Postgres takes 65535 parameters; a candle has 30 or more). */
const MAX_STATEMENT_CANDLES = 100;

export class PostgresLedger implements Ledger {
  /** The ledger's URL (password masked) with its schema: safe to log. */
  readonly location: string;
  readonly schema: string;
  readonly readonly: boolean;
  private readonly client: pg.Client;
  private readonly ids = new Map<string, number>();
  /** Each market's last recorded candle time, by market id (the writer's; -Infinity: none). */
  private readonly lastTimes = new Map<number, number>();
  /** Records waiting for the next flush. */
  private queue: Queued[] = [];
  /** Every call runs alone, in order: a candle's transaction never interleaves with another query. */
  private chain: Promise<unknown> = Promise.resolve();
  /** The connection's failure: the ledger is unusable after it (the writer's lock went with it). */
  private lost: Error | undefined;
  private closed = false;

  /** Use openPostgresLedger. */
  constructor(url: LedgerUrl, client: pg.Client, readonly: boolean) {
    this.location = url.display;
    this.schema = url.schema;
    this.client = client;
    this.readonly = readonly;
    client.on("error", (err) => {
      this.lost ??= err;
    });
  }

  private run<T>(what: () => Promise<T>): Promise<T> {
    const next = this.chain.then(() => {
      const unusable = this.unusable();
      if (unusable !== undefined) throw unusable;
      return what();
    });
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async query(name: SqlName, values: readonly (Value | undefined)[]): Promise<unknown[][]> {
    const r = await this.client.query({ name, text: SQL[name], values: params(values), rowMode: "array" });
    return r.rows as unknown[][];
  }

  private async exec(name: SqlName, values: readonly (Value | undefined)[]): Promise<number> {
    const r = await this.client.query({ name, text: SQL[name], values: params(values) });
    return r.rowCount ?? 0;
  }

  /**
   * Records one candle, whole, and settles once its commit is durable. The candle is one SQL
   * statement (every table's rows in one `WITH ... INSERT`), so a candle alone costs one round
   * trip and one commit. Candles recorded while the connection is busy (markets whose candles
   * closed together) are committed together, in one transaction: one commit for all of them;
   * should one of them fail, the transaction is rolled back and each is recorded alone, so a
   * refused candle fails alone. `rec` must not change until the promise settles.
   */
  async record(rec: CandleRecord): Promise<void> {
    if (this.readonly) throw new LedgerError(`${this.location}: opened read-only, cannot record`);
    const market = ledgerMarket(rec.market);
    const time = rec.candle?.time;
    if (!Number.isSafeInteger(time)) {
      throw new LedgerError(
        `${marketName(market)}: a candle's time must be an integer of epoch ms, got ${time}`,
      );
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ rec, market, resolve, reject });
      if (this.queue.length > 1) return; // a flush is scheduled and has not started
      this.chain = this.chain.then(() => this.flush());
    });
  }

  /** Records the queued candles (in the chain: no other query runs meanwhile). */
  private async flush(): Promise<void> {
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    const unusable = this.unusable();
    if (unusable !== undefined) {
      for (const q of batch) q.reject(unusable);
      return;
    }
    if (batch.length > 1) {
      try {
        await this.client.query("BEGIN");
        await this.write(batch);
        await this.client.query("COMMIT");
        for (const q of batch) q.resolve();
        return;
      } catch {
        await this.client.query("ROLLBACK").catch(() => undefined);
        this.forget();
        // one at a time below: each candle commits or fails alone
      }
    }
    for (const q of batch) {
      try {
        const unusable = this.unusable();
        if (unusable !== undefined) throw unusable;
        await this.writeAlone(q);
        q.resolve();
      } catch (err) {
        q.reject(this.recordError(err, q));
      }
    }
  }

  /** One candle in a transaction of its own (one statement; with a new market, two). */
  private async writeAlone(q: Queued): Promise<void> {
    const known = this.ids.has(marketKey(q.market));
    try {
      if (!known) await this.client.query("BEGIN");
      await this.write([q]);
      if (!known) await this.client.query("COMMIT");
    } catch (err) {
      if (!known) await this.client.query("ROLLBACK").catch(() => undefined);
      // A rolled-back record may have added its market: forget what was cached since.
      this.forget();
      throw err;
    }
  }

  private recordError(err: unknown, q: Queued): LedgerError {
    if (err instanceof LedgerError) return err;
    return new LedgerError(
      `${this.location}: cannot record the ${marketName(q.market)} candle of ${iso(q.rec.candle.time)}: ${errorMessage(err)}`,
      { cause: err },
    );
  }

  private forget(): void {
    this.ids.clear();
    this.lastTimes.clear();
  }

  /** Why the ledger cannot be used any more (closed, or its connection lost); undefined if it can. */
  private unusable(): LedgerError | undefined {
    if (this.closed) return new LedgerError(`${this.location}: the ledger is closed`);
    if (this.lost === undefined) return undefined;
    return new LedgerError(
      `${this.location}: the connection to the ledger was lost (${errorMessage(this.lost)})${this.readonly ? "" : "; the writer's lock went with it: restart to resume"}`,
    );
  }

  /**
   * Writes candles: each refused when at or before its market's last (known to this writer, the
   * only one, after one look per market), then their rows in as few statements as can hold them
   * (one candle per market in a statement). Inside a transaction when there is more than one
   * statement or a new market; the caller forgets the cached ids and times should it fail.
   */
  private async write(batch: readonly Queued[]): Promise<void> {
    const items: { id: number; rec: CandleRecord }[] = [];
    for (const q of batch) {
      const id = (await this.marketId(q.market, true)) as number;
      let last = this.lastTimes.get(id);
      if (last === undefined) {
        const [[max] = []] = await this.query("lastTime", [id]);
        last = typeof max === "number" ? max : Number.NEGATIVE_INFINITY;
      }
      const refused = olderCandle(q.market, q.rec.candle.time, Number.isFinite(last) ? last : null);
      if (refused !== undefined) throw refused;
      this.lastTimes.set(id, q.rec.candle.time);
      items.push({ id, rec: q.rec });
    }
    let round: { id: number; rec: CandleRecord }[] = [];
    const flushRound = async () => {
      if (round.length === 0) return;
      const st = candlesStatement(round);
      round = [];
      await this.client.query({ text: st.text, values: params(st.values) });
    };
    for (const it of items) {
      if (round.length >= MAX_STATEMENT_CANDLES || round.some((r) => r.id === it.id)) await flushRound();
      round.push(it);
    }
    await flushRound();
  }

  private async marketId(m: MarketKey, create: boolean): Promise<number | undefined> {
    const key = marketKey(m);
    const known = this.ids.get(key);
    if (known !== undefined) return known;
    let id = (await this.query("marketId", [m.symbol, m.freq]))[0]?.[0];
    if (id === undefined && create) id = (await this.query("addMarket", [m.symbol, m.freq]))[0]?.[0];
    // A reader does not cache: the writer may add the market later.
    if (typeof id === "number" && !this.readonly) this.ids.set(key, id);
    return id as number | undefined;
  }

  /** A read's failure as a LedgerError naming the ledger. */
  private reading<T>(read: () => Promise<T>): Promise<T> {
    return this.run(async () => {
      try {
        return await read();
      } catch (err) {
        if (err instanceof LedgerError) throw err;
        throw new LedgerError(`${this.location}: cannot read the ledger: ${errorMessage(err)}`, {
          cause: err,
        });
      }
    });
  }

  async last(market: MarketKey): Promise<LastProcessed | undefined> {
    const m = ledgerMarket(market);
    return this.reading(async () => {
      const id = await this.marketId(m, false);
      if (id === undefined) return undefined;
      const [row] = await this.query("last", [id]);
      if (row === undefined) return undefined;
      return lastFromRow(row);
    });
  }

  async markets(): Promise<MarketKey[]> {
    return this.reading(async () =>
      (await this.query("markets", [])).map(([symbol, freq]) => ({
        symbol: symbol as string,
        freq: freq as string,
      })),
    );
  }

  async read(what: LedgerTableName, query: LedgerQuery = {}): Promise<TypedLedgerTable> {
    const m = query.market;
    const market =
      m === undefined
        ? {}
        : {
            ...(m.symbol === undefined ? {} : { symbol: m.symbol }),
            ...(m.freq === undefined ? {} : { freq: ledgerFreq(m.freq) }),
          };
    const t = tableQuery(what, { ...query, market });
    return this.reading(async () => {
      const r = await this.client.query({ text: numbered(t.sql), values: t.params, rowMode: "array" });
      return t.decode(r.rows as unknown[][]);
    });
  }

  async pendingOutbox(channel: OutboxMessage["channel"], limit: number): Promise<OutboxEntry[]> {
    return this.reading(async () => (await this.query("pendingOutbox", [channel, limit])).map(outboxFromRow));
  }

  async settleOutbox(id: number, outcome: OutboxOutcome | { status: "retry"; error: string }): Promise<void> {
    await this.writing(async () => {
      if (outcome.status === "retry") await this.exec("retryOutbox", [outcome.error, id]);
      else
        await this.exec("settleOutbox", [
          outcome.status,
          outcome.at,
          outcome.messageId ?? null,
          outcome.error ?? null,
          id,
        ]);
    });
  }

  async trimOutbox(channel: OutboxMessage["channel"], limit: number, at: number): Promise<number> {
    return this.writing(async () => {
      const [[count] = []] = await this.query("countPending", [channel]);
      const over = (count as number) - limit;
      return over > 0 ? this.exec("dropOldest", [at, channel, over]) : 0;
    });
  }

  /** A write outside a candle's record (the outbox's bookkeeping), after the records before it. */
  private writing<T>(write: () => Promise<T>): Promise<T> {
    if (this.readonly)
      return Promise.reject(new LedgerError(`${this.location}: opened read-only, cannot write`));
    return this.run(async () => {
      try {
        return await write();
      } catch (err) {
        throw new LedgerError(`${this.location}: cannot update the outbox: ${errorMessage(err)}`, {
          cause: err,
        });
      }
    });
  }

  /** Waits for the calls before it and ends the connection (a writer's lock with it). */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.chain;
    this.closed = true;
    await this.client.end().catch(() => undefined);
  }
}

/**
 * Opens the ledger of `url` for writing (creating its schema and tables, or upgrading them,
 * under the writer's lock), or with `readonly` for reading. A second writer of the same schema
 * on the same server, in this process or another, is refused with a LedgerError naming the one
 * at work; an unreachable server or a malformed URL is a LedgerError saying which.
 */
export async function openPostgresLedger(
  url: string,
  opts: PostgresLedgerOptions = {},
): Promise<PostgresLedger> {
  const u = parseLedgerUrl(url);
  const readonly = opts.readonly === true;
  const client = new pg.Client({
    connectionString: u.connectionString,
    types: TYPES,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    // a silent network (a dead server, a partition) is found by TCP keepalive, not never
    keepAlive: true,
    keepAliveInitialDelayMillis: 30_000,
    application_name: readonly ? "itb ledger reader" : "itb ledger writer",
  });
  // errors after the connect are the ledger's (it listens); before it, they reject connect()
  client.on("error", () => undefined);
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => undefined);
    throw new LedgerError(`cannot connect to the ledger at ${u.display}: ${connectError(err)}`, {
      cause: err,
    });
  }
  try {
    // the schema's name is checked (a plain identifier), so quoting it is enough
    await client.query(`SET search_path TO "${u.schema}"`);
    if (readonly) {
      await client.query("SET default_transaction_read_only = on");
      await checkReadable(client, u);
      return new PostgresLedger(u, client, true);
    }
    // Every commit is durable before record() returns, whatever the server's default.
    await client.query("SET synchronous_commit = on");
    const locked = await client.query("SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok", [
      LOCK_CLASS,
      u.schema,
    ]);
    if (locked.rows[0]?.ok !== true) {
      throw new LedgerError(
        `${u.display} is being written by ${await writerOf(client)}; one writer per ledger`,
      );
    }
    await migrate(client, u);
    await client.query(
      "INSERT INTO writer (id, pid, hostname, command, started, backend_pid) " +
        "VALUES (1, $1, $2, $3, $4, pg_backend_pid()) ON CONFLICT (id) DO UPDATE SET pid = excluded.pid, " +
        "hostname = excluded.hostname, command = excluded.command, started = excluded.started, " +
        "backend_pid = excluded.backend_pid",
      [process.pid, hostname(), opts.command ?? processCommand(), new Date().toISOString()],
    );
    return new PostgresLedger(u, client, false);
  } catch (err) {
    await client.end().catch(() => undefined);
    if (err instanceof LedgerError) throw err;
    throw new LedgerError(`${u.display}: cannot open the ledger: ${errorMessage(err)}`, { cause: err });
  }
}

/** A connection failure in words: the code when the message is empty (an AggregateError). */
function connectError(err: unknown): string {
  const e = err as { message?: string; code?: string; errors?: { message?: string }[] };
  const message = e?.message || e?.errors?.map((x) => x.message).join("; ") || e?.code;
  return message || errorMessage(err);
}

async function schemaVersion(client: pg.Client, u: LedgerUrl): Promise<number | undefined> {
  const exists = await client.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [u.schema]);
  if (exists.rowCount === 0) return undefined;
  const table = await client.query(
    "SELECT 1 FROM pg_tables WHERE schemaname = $1 AND tablename = 'schema_version'",
    [u.schema],
  );
  if (table.rowCount === 0) return 0;
  const row = await client.query("SELECT version FROM schema_version");
  return (row.rows[0]?.version as number | undefined) ?? 0;
}

async function hasTables(client: pg.Client, u: LedgerUrl): Promise<boolean> {
  const r = await client.query("SELECT 1 FROM pg_tables WHERE schemaname = $1 LIMIT 1", [u.schema]);
  return (r.rowCount ?? 0) > 0;
}

function newer(u: LedgerUrl, version: number): LedgerError {
  return new LedgerError(
    `${u.display}: ledger schema version ${version} is newer than this itb's (${POSTGRES_SCHEMA_VERSION}); use a newer itb`,
  );
}

async function checkReadable(client: pg.Client, u: LedgerUrl): Promise<void> {
  const version = await schemaVersion(client, u);
  if (version === undefined)
    throw new MissingLedgerError(`no ledger at ${u.display} (no schema "${u.schema}")`);
  if (version === POSTGRES_SCHEMA_VERSION) return;
  if (version === 0) throw new LedgerError(`${u.display}: not an itb ledger (no schema_version table)`);
  throw version > POSTGRES_SCHEMA_VERSION
    ? newer(u, version)
    : new LedgerError(
        `${u.display}: ledger schema version ${version} is older than this itb's (${POSTGRES_SCHEMA_VERSION}); itb serve upgrades it`,
      );
}

/** Brings the schema to POSTGRES_SCHEMA_VERSION, one transaction per step (under the writer's lock). */
async function migrate(client: pg.Client, u: LedgerUrl): Promise<void> {
  const from = (await schemaVersion(client, u)) ?? 0;
  if (from > MIGRATIONS.length) throw newer(u, from);
  if (from === 0 && (await hasTables(client, u))) {
    throw new LedgerError(
      `${u.display}: schema "${u.schema}" holds tables but is not an itb ledger (no schema_version table); name another schema`,
    );
  }
  for (let v = from; v < MIGRATIONS.length; v++) {
    await client.query("BEGIN");
    try {
      if (v === 0) {
        await client.query(`CREATE SCHEMA IF NOT EXISTS "${u.schema}"`);
        await client.query("CREATE TABLE schema_version (version integer NOT NULL)");
      }
      await client.query(MIGRATIONS[v] as string);
      await client.query("DELETE FROM schema_version");
      await client.query("INSERT INTO schema_version (version) VALUES ($1)", [v + 1]);
      await client.query("COMMIT");
    } catch (err) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw err;
    }
  }
}

/** The process holding the ledger, as its `writer` row names it. */
async function writerOf(client: pg.Client): Promise<string> {
  try {
    const r = await client.query(
      "SELECT pid, hostname, command, started FROM writer WHERE id = 1 AND EXISTS " +
        "(SELECT 1 FROM pg_stat_activity a WHERE a.pid = writer.backend_pid)",
    );
    const w = r.rows[0] as { pid: number; hostname: string; command: string; started: string } | undefined;
    if (w !== undefined) {
      const host = w.hostname === hostname() ? "" : ` on ${w.hostname}`;
      return `another process (pid ${w.pid}${host}, ${JSON.stringify(w.command)}, since ${w.started})`;
    }
  } catch {
    // The holder may be creating the schema: name it without details.
  }
  return "another process";
}

function processCommand(): string {
  return ["itb", ...process.argv.slice(2)].join(" ");
}
