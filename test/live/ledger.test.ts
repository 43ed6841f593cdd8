import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LedgerError } from "../../src/core/errors.js";
import { decodeJson, encodeJson } from "../../src/core/json.js";
import type { Fill, Order } from "../../src/core/trading.js";
import {
  MissingLedgerError,
  openPostgresLedger,
  POSTGRES_SCHEMA_VERSION,
  type PostgresLedger,
} from "../../src/live/ledger/postgres.js";
import { MIGRATIONS, migrate, SCHEMA_VERSION } from "../../src/live/ledger/schema.js";
import { openSqliteLedger } from "../../src/live/ledger/sqlite.js";
import { marketStatus } from "../../src/live/ledger/status.js";
import { type CandleRecord, LEDGER_TABLES, type Ledger } from "../../src/live/ledger/types.js";
import { type AnyLedger, BACKENDS, type LedgerBackend, pgQuery } from "../helpers/ledgerBackends.js";
import { expectedTables, MARKET, rowObjects, sampleRecords } from "../helpers/ledgerRecords.js";
import { SAMPLE } from "../helpers/paths.js";

/**
 * Both ledgers (SQLite on real files, Postgres on a fresh schema of a real server), fed the records of real sample candles through the Trader
 * and the simulated venue: every table reads back exactly what was recorded (NaN prices of a
 * halt included), orders are upserted through their states, a fill delivered twice is kept
 * once, a candle is recorded once and in order (refused otherwise, nothing changed), a failed
 * record leaves nothing behind, one writer per ledger, readers beside it; and the two return
 * the same tables for the same records.
 */

let dir = "";
let n = 0;
/** A new SQLite file, for the SQLite ledger's own tests. */
const fresh = () => join(dir, `l${++n}`, "ledger.sqlite");
let records: CandleRecord[] = [];
const HALTS = [40, 41, 42];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "itb-ledger-"));
  records = await sampleRecords(SAMPLE, { count: 1500, halts: HALTS, catchUpUntil: 30 });
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function everything(ledger: Ledger) {
  const out: Record<string, ReturnType<typeof rowObjects>> = {};
  for (const what of LEDGER_TABLES) out[what] = rowObjects(await ledger.read(what));
  return out;
}

/** A small record of a candle after the sample's, for the rules below. */
function later(i: number, extra: Partial<CandleRecord> = {}): CandleRecord {
  const base = records.at(-1) as CandleRecord;
  const time = base.candle.time + (i + 1) * 60_000;
  return {
    ...base,
    candle: { ...base.candle, time },
    actions: [],
    orders: [],
    fills: [],
    trades: [],
    state: { i },
    processedAt: time + 60_100,
    ...extra,
  };
}

const order = (status: Order["status"], updatedAt: number, filled: number): Order => ({
  clientOrderId: "itb-BTCUSDT-x-en",
  symbol: "BTCUSDT",
  side: "buy",
  type: "limit",
  quantity: 0.5,
  price: 20_000,
  reduceOnly: false,
  purpose: "entry",
  decidedAt: 0,
  status,
  filledQuantity: filled,
  averagePrice: filled > 0 ? 20_000 : Number.NaN,
  fees: filled * 20,
  createdAt: 1000,
  updatedAt,
});

const fill = (tradeId: string, quantity: number): Fill => ({
  clientOrderId: "itb-BTCUSDT-x-en",
  symbol: "BTCUSDT",
  side: "buy",
  price: 20_000,
  quantity,
  fee: quantity * 20,
  liquidity: "maker",
  time: 2000,
  final: false,
  tradeId,
});

describe.each(BACKENDS)("the $name ledger", ({ make }) => {
  let b: LedgerBackend;
  beforeAll(() => {
    b = make();
  });
  afterAll(async () => {
    await b.cleanup();
  });
  const open = async () => b.open(await b.fresh());
  const where = (l: AnyLedger) => b.name_(l);

  describe("record and read", () => {
    let ledger: AnyLedger;
    beforeAll(async () => {
      ledger = await open();
      for (const r of records) await ledger.record(r);
    });
    afterAll(() => ledger.close());

    it("the records hold what the test needs: trades, fills, cancels, stops, halts", () => {
      const count = (f: (r: CandleRecord) => number) => records.reduce((a, r) => a + f(r), 0);
      expect(count((r) => r.trades.length)).toBeGreaterThan(50);
      expect(count((r) => r.fills.length)).toBeGreaterThan(100);
      expect(count((r) => r.actions.filter((a) => a.kind === "cancel").length)).toBeGreaterThan(10);
      expect(new Set(records.flatMap((r) => r.trades.map((t) => t.exitReason)))).toEqual(
        new Set(["signal", "take_profit", "stop_loss"]),
      );
      expect(records[41]?.candle).toEqual({
        time: Date.UTC(2023, 2, 1, 0, 41),
        open: Number.NaN,
        high: Number.NaN,
        low: Number.NaN,
        close: Number.NaN,
        volume: Number.NaN,
      });
    });

    it("every table reads back exactly what was recorded", async () => {
      const want = expectedTables(records);
      const got = await everything(ledger);
      for (const what of LEDGER_TABLES) expect(got[what], what).toEqual(want[what]);
      expect(got.signals?.length).toBe(1500);
      expect(got.signals?.[41]).toMatchObject({ open: Number.NaN, close: Number.NaN, volume: Number.NaN });
      expect(got.signals?.[29]?.catch_up).toBe(1);
      expect(got.signals?.[30]?.catch_up).toBe(0);
    });

    it("signals have one column per score and signal name, in order, between the candle and the flags", async () => {
      const t = await ledger.read("signals", {
        from: records[100]?.candle.time,
        to: records[103]?.candle.time,
      });
      expect(t.columns).toEqual([
        "timestamp",
        "symbol",
        "freq",
        "open",
        "high",
        "low",
        "close",
        "volume",
        "mom_5",
        "mom_10",
        "mom_20",
        "mom_60",
        "trade_score",
        "trade_score_smooth",
        "buy_score",
        "sell_score",
        "buy_signal_column",
        "sell_signal_column",
        "buy",
        "sell",
        "catch_up",
        "processed_at",
        "latency_ms",
      ]);
      expect(t.types.filter((x) => x === "time")).toHaveLength(2);
      expect(t.rows.map((r) => r[0])).toEqual([100, 101, 102].map((i) => records[i]?.candle.time));
    });

    it("last() is the last candle with its state (NaN kept), equity and record", async () => {
      const r = records.at(-1) as CandleRecord;
      const last = await ledger.last(MARKET);
      expect(last).toEqual({
        time: r.candle.time,
        state: r.state,
        equity: r.equity,
        candle: r.candle,
        scores: r.scores,
        signals: r.signals,
        buy: r.buy,
        sell: r.sell,
        catchUp: r.catchUp,
        processedAt: r.processedAt,
        latencyMs: r.latencyMs,
      });
      const flat = records.findLast((x) => x.equity.position === 0) as CandleRecord;
      expect((flat.state as { trader: { entryPrice: number } }).trader.entryPrice).toBeNaN();
      expect(await ledger.last({ symbol: "ETHUSDT", freq: "1m" })).toBeUndefined();
      expect(await ledger.markets()).toEqual([{ symbol: "BTCUSDT", freq: "1m" }]);
    });

    it("from/to select candle open times (to exclusive) and a market filter reads one market", async () => {
      const from = records[200]?.candle.time as number;
      const to = records[400]?.candle.time as number;
      const want = expectedTables(records);
      const inRange = (r: Record<string, unknown>) =>
        (r.timestamp as number) >= from && (r.timestamp as number) < to;
      for (const what of LEDGER_TABLES) {
        const got = rowObjects(await ledger.read(what, { market: MARKET, from, to }));
        expect(got, what).toEqual(want[what].filter(inRange));
      }
      expect((await ledger.read("equity", { market: { symbol: "ETHUSDT" } })).rows).toEqual([]);
      expect((await ledger.read("equity", { market: { freq: "1min" } })).rows).toHaveLength(1500);
    });
  });

  describe("the ledger's rules", () => {
    it("an order is upserted through its states; an older state does not replace a newer one", async () => {
      const ledger = await open();
      await ledger.record(later(0, { orders: [order("new", 1000, 0)] }));
      await ledger.record(
        later(1, { orders: [order("partially_filled", 2000, 0.2), order("filled", 3000, 0.5)] }),
      );
      await ledger.record(later(2, { orders: [order("partially_filled", 2500, 0.2)] }));
      const rows = rowObjects(await ledger.read("orders"));
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({
        timestamp: later(1).candle.time,
        client_order_id: "itb-BTCUSDT-x-en",
        status: "filled",
        filled_quantity: 0.5,
        average_price: 20_000,
        fees: 10,
        updated_at: 3000,
        reason: null,
        exchange_order_id: null,
        quote_quantity: Number.NaN,
      });
      await ledger.close();
    });

    it("a fill delivered twice (in one record or a later one) is kept once, with its first candle", async () => {
      const ledger = await open();
      await ledger.record(later(0, { fills: [fill("t1", 0.2), fill("t1", 0.2)] }));
      await ledger.record(later(1, { fills: [fill("t1", 0.2), fill("t2", 0.3)] }));
      const rows = rowObjects(await ledger.read("fills"));
      expect(rows.map((r) => [r.trade_id, r.timestamp, r.quantity])).toEqual([
        ["t1", later(0).candle.time, 0.2],
        ["t2", later(1).candle.time, 0.3],
      ]);
      await ledger.close();
    });

    it("a candle recorded twice, or one before the last, is refused and nothing changes", async () => {
      const ledger = await open();
      for (const r of records.slice(0, 300)) await ledger.record(r);
      const before = await everything(ledger);
      const again = records[299] as CandleRecord;
      await expect(ledger.record(again)).rejects.toThrow(
        new LedgerError(
          "BTCUSDT 1m: the candle of 2023-03-01T04:59:00.000Z is already recorded; a candle is recorded once, in order",
        ),
      );
      await expect(ledger.record({ ...(records[10] as CandleRecord), state: "changed" })).rejects.toThrow(
        "BTCUSDT 1m: the candle of 2023-03-01T00:10:00.000Z is before the last recorded one (2023-03-01T04:59:00.000Z); a candle is recorded once, in order",
      );
      expect(await everything(ledger)).toEqual(before);
      expect((await ledger.last(MARKET))?.state).toEqual(again.state);
      await ledger.close();
    });

    it("a record that fails part-way leaves nothing of itself, a new market included", async () => {
      const ledger = await open();
      await ledger.record(records[0] as CandleRecord);
      const before = await everything(ledger);
      // the trade is the last table written before equity: a NaN latency fails the candle row
      // first, a NaN equity position fails after the candle, its decisions, orders and fills
      const bad = {
        ...(records[1] as CandleRecord),
        equity: { ...records[1]?.equity, position: Number.NaN },
      };
      const err = await ledger.record(bad as CandleRecord).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LedgerError);
      expect((err as Error).message).toBe(
        `${b.name_(ledger)}: cannot record the BTCUSDT 1m candle of 2023-03-01T00:01:00.000Z: ${b.notNull("equity", "position")}`,
      );
      const eth = {
        ...(records[1] as CandleRecord),
        market: { symbol: "ETHUSDT", freq: "1m" },
        latencyMs: Number.NaN,
      };
      await expect(ledger.record(eth)).rejects.toThrow(b.notNull("candles", "latency_ms"));
      expect(await everything(ledger)).toEqual(before);
      expect(await ledger.markets()).toEqual([MARKET]);
      // and the market can be recorded afterwards
      await ledger.record({ ...eth, latencyMs: 1 });
      expect(await ledger.markets()).toEqual([MARKET, { symbol: "ETHUSDT", freq: "1m" }]);
      await ledger.close();
    });

    it("a candle is committed before record returns: another connection sees it", async () => {
      const ledger = await open();
      const reader = await b.open(where(ledger), { readonly: true });
      await ledger.record(records[0] as CandleRecord);
      await ledger.record(records[1] as CandleRecord);
      const seen = await reader.read("signals");
      expect(seen.rows.map((r) => r[seen.columns.indexOf("timestamp")])).toEqual([
        records[0]?.candle.time,
        records[1]?.candle.time,
      ]);
      await reader.close();
      await ledger.close();
    });
    it("a score or signal named like another column is exported with a score./signal. prefix", async () => {
      const ledger = await open();
      await ledger.record(later(0, { scores: { close: 0.25, Buy: 0.5, x: 1 }, signals: { x: 2, close: 3 } }));
      const t = await ledger.read("signals");
      expect(t.columns.slice(8, 13)).toEqual(["score.close", "score.Buy", "x", "signal.x", "signal.close"]);
      expect(t.rows[0]?.slice(8, 13)).toEqual([0.25, 0.5, 1, 2, 3]);
      expect(t.rows[0]?.[3]).toBe(later(0).candle.open);
      await expect(ledger.read("equity", { market: { freq: "1M" } })).rejects.toThrow(
        new LedgerError('ledger: unsupported frequency "1M"'),
      );
      await ledger.close();
    });

    it("a market's freq is kept in Binance's spelling: 1min and 1m are one market", async () => {
      const ledger = await open();
      await ledger.record({ ...(records[0] as CandleRecord), market: { symbol: "BTCUSDT", freq: "1min" } });
      await expect(ledger.record(records[0] as CandleRecord)).rejects.toThrow("is already recorded");
      expect(await ledger.markets()).toEqual([MARKET]);
      expect((await ledger.last({ symbol: "BTCUSDT", freq: "1T" }))?.time).toBe(records[0]?.candle.time);
      await expect(
        ledger.record({ ...(records[1] as CandleRecord), market: { symbol: "BTCUSDT", freq: "1M" } }),
      ).rejects.toThrow('market BTCUSDT: unsupported frequency "1M"');
      await expect(
        ledger.record({
          ...(records[1] as CandleRecord),
          candle: { ...records[1]?.candle, time: 1.5 } as CandleRecord["candle"],
        }),
      ).rejects.toThrow("BTCUSDT 1m: a candle's time must be an integer of epoch ms, got 1.5");
      await ledger.close();
    });
  });

  describe("writers and readers", () => {
    it("a second writer is refused, naming the first; a reader reads beside the writer and cannot record", async () => {
      const place = await b.fresh();
      const writer = await b.open(place, { command: "itb serve --config c.jsonc" });
      const [{ started }] = (await b.sql(place, "SELECT started FROM writer")) as [{ started: string }];
      await expect(b.open(place)).rejects.toThrow(
        new LedgerError(
          `${where(writer)} is being written by another process (pid ${process.pid}, "itb serve --config c.jsonc", since ${started}); one writer per ledger`,
        ),
      );
      const reader = await b.open(place, { readonly: true });
      expect(await reader.last(MARKET)).toBeUndefined();
      await writer.record(records[0] as CandleRecord);
      expect((await reader.last(MARKET))?.time).toBe(records[0]?.candle.time);
      await expect(reader.record(records[1] as CandleRecord)).rejects.toThrow(
        `${where(writer)}: opened read-only, cannot record`,
      );
      await writer.close();
      const next = await b.open(place);
      await next.record(records[1] as CandleRecord);
      expect((await reader.read("signals")).rows).toHaveLength(2);
      await reader.close();
      await next.close();
    });
  });

  describe("a market's status", () => {
    it("from the ledger's last(): every field, NaN as null; from a sparser ledger's: what it has", async () => {
      const ledger = await open();
      for (const r of records.slice(0, 42)) await ledger.record(r);
      const halt = records[41] as CandleRecord;
      expect(halt.scores.mom_60).toBeNaN();
      const now = halt.candle.time + 60_000 + 90_500;
      const s = marketStatus(MARKET, where(ledger), await ledger.last(MARKET), now);
      expect(s).toEqual({
        symbol: "BTCUSDT",
        freq: "1m",
        ledger: where(ledger),
        recorded: true,
        last_candle: "2023-03-01T00:41:00.000Z",
        close_time: "2023-03-01T00:42:00.000Z",
        lag_seconds: 90.5,
        catch_up: false,
        processed_at: new Date(halt.processedAt).toISOString(),
        latency_ms: halt.latencyMs,
        close: null,
        scores: { ...halt.scores, mom_60: null },
        signals: halt.signals,
        buy: false,
        sell: false,
        position: halt.equity.position === 0 ? "flat" : halt.equity.position === 1 ? "long" : "short",
        quantity: halt.equity.quantity,
        entry_price: Number.isNaN(halt.equity.entryPrice) ? null : halt.equity.entryPrice,
        equity: halt.equity.equity,
        cash: halt.equity.cash,
      });
      await ledger.close();
      const sparse = marketStatus(
        MARKET,
        "memory",
        { time: halt.candle.time, state: {}, equity: halt.equity },
        now,
      );
      expect(sparse).toMatchObject({
        recorded: true,
        lag_seconds: 90.5,
        close: null,
        scores: {},
        buy: null,
        catch_up: null,
      });
      expect(marketStatus(MARKET, "memory", undefined, now)).toMatchObject({
        recorded: false,
        last_candle: null,
        equity: null,
      });
    });
  });
});

describe("the SQLite ledger's own", () => {
  it("a candle is committed at once, before record returns to its caller", async () => {
    const ledger = openSqliteLedger(fresh());
    const reader = openSqliteLedger(ledger.file, { readonly: true });
    const first = ledger.record(records[0] as CandleRecord);
    const second = ledger.record(records[1] as CandleRecord);
    // no await yet: another connection already sees both, each in a transaction of its own
    const seen = await reader.read("signals");
    expect(seen.rows.map((r) => r[seen.columns.indexOf("timestamp")])).toEqual([
      records[0]?.candle.time,
      records[1]?.candle.time,
    ]);
    await Promise.all([first, second]);
    await reader.close();
    await ledger.close();
  });

  it("on a slow disk, candles recorded in one turn (markets closing together) are committed together, a failing one alone", async () => {
    // every commit counts as slow: after the first, the records of a turn wait for its end
    const ledger = openSqliteLedger(fresh(), { groupAboveMs: 0 });
    await ledger.record(records[0] as CandleRecord);
    const markets = ["ETHUSDT", "SOLUSDT", "XRPUSDT"].map((symbol) => ({ symbol, freq: "1m" }));
    // one turn: the next BTCUSDT candle, the same candle again (refused), and three new markets
    const turn = [
      records[1] as CandleRecord,
      records[1] as CandleRecord,
      ...markets.map((market) => ({ ...(records[1] as CandleRecord), market })),
    ];
    const pending = turn.map((r) => ledger.record(r));
    const early = openSqliteLedger(ledger.file, { readonly: true });
    expect(await early.markets()).toEqual([MARKET]); // nothing of the turn is committed before its end
    expect((await early.last(MARKET))?.time).toBe(records[0]?.candle.time);
    await early.close();
    const settled = await Promise.allSettled(pending);
    expect(settled.map((s) => s.status)).toEqual([
      "fulfilled",
      "rejected",
      "fulfilled",
      "fulfilled",
      "fulfilled",
    ]);
    expect((settled[1] as PromiseRejectedResult).reason).toBeInstanceOf(LedgerError);
    expect(String((settled[1] as PromiseRejectedResult).reason)).toContain("is already recorded");
    // committed before record returned: another connection sees every market's candle
    const reader = openSqliteLedger(ledger.file, { readonly: true });
    expect(await reader.markets()).toEqual([MARKET, ...markets]);
    for (const m of [MARKET, ...markets]) expect((await reader.last(m))?.time).toBe(records[1]?.candle.time);
    await reader.close();
    await ledger.close();
  });

  it("a reader of a missing file, a file that is not a ledger, or a newer schema gets a clear error", () => {
    const missing = fresh();
    expect(() => openSqliteLedger(missing, { readonly: true })).toThrow(
      new LedgerError(`no ledger at ${missing}`),
    );
    const text = fresh();
    rmSync(join(text, ".."), { recursive: true, force: true });
    openSqliteLedger(join(text, "..", "x.sqlite")).close();
    writeFileSync(text, "timestamp,open\n".repeat(100));
    for (const readonly of [true, false]) {
      expect(() => openSqliteLedger(text, { readonly })).toThrow(
        new LedgerError(`${text}: not an itb ledger (not an SQLite database)`),
      );
    }
    const other = fresh();
    openSqliteLedger(join(other, "..", "x.sqlite")).close();
    const db = new Database(other);
    db.exec("CREATE TABLE t (x)");
    db.close();
    expect(() => openSqliteLedger(other)).toThrow(
      `${other}: an SQLite database, but not an itb ledger (no schema_version table)`,
    );
    expect(() => openSqliteLedger(other, { readonly: true })).toThrow(
      `${other}: not an itb ledger (no schema_version table)`,
    );
    const newer = fresh();
    openSqliteLedger(newer).close();
    const db2 = new Database(newer);
    db2.prepare("UPDATE schema_version SET version = ?").run(SCHEMA_VERSION + 1);
    db2.close();
    const msg = `${newer}: ledger schema version ${SCHEMA_VERSION + 1} is newer than this itb's (${SCHEMA_VERSION}); use a newer itb`;
    expect(() => openSqliteLedger(newer)).toThrow(msg);
    expect(() => openSqliteLedger(newer, { readonly: true })).toThrow(msg);
  });

  it("a damaged ledger's reads fail with a LedgerError naming the file, not SQLite's own error", async () => {
    const file = fresh();
    const writer = openSqliteLedger(file);
    await writer.record(records[0] as CandleRecord);
    await writer.close();
    const reader = openSqliteLedger(file, { readonly: true });
    const db = new Database(file);
    db.exec("DROP TABLE equity");
    db.close();
    const err = await reader.read("equity").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LedgerError);
    expect((err as Error).message).toBe(`${file}: cannot read the ledger: no such table: equity`);
    await expect(reader.last(MARKET)).rejects.toThrow(
      `${file}: cannot read the ledger: no such table: equity`,
    );
    expect(await reader.markets()).toEqual([MARKET]);
    await reader.close();
    expect(() => openSqliteLedger(file, { readonly: true })).toThrow(
      new LedgerError(`${file}: cannot open the ledger: no such table: equity`),
    );
  });

  it("the file is in WAL mode with synchronous FULL and foreign keys on; migrations run once, in order", async () => {
    const file = fresh();
    const ledger = openSqliteLedger(file);
    const raw = (ledger as unknown as { db: Database.Database }).db;
    expect(raw.pragma("journal_mode", { simple: true })).toBe("wal");
    expect(raw.pragma("synchronous", { simple: true })).toBe(2);
    expect(raw.pragma("foreign_keys", { simple: true })).toBe(1);
    await ledger.close();
    const db = new Database(file);
    expect(db.prepare("SELECT version FROM schema_version").all()).toEqual([{ version: SCHEMA_VERSION }]);
    const steps = [
      ...MIGRATIONS,
      (d: Database.Database) => d.exec("ALTER TABLE candles ADD COLUMN note TEXT"),
    ];
    migrate(db, file, steps);
    migrate(db, file, steps);
    expect(db.prepare("SELECT version FROM schema_version").all()).toEqual([{ version: SCHEMA_VERSION + 1 }]);
    expect(db.prepare("SELECT name FROM pragma_table_info('candles') WHERE name = 'note'").all()).toEqual([
      { name: "note" },
    ]);
    db.close();
  });
});

describe("the Postgres ledger's own", () => {
  const b = BACKENDS[1].make();
  afterAll(async () => {
    await b.cleanup();
  });

  it("creates its schema at the current version; the writer's session commits synchronously", async () => {
    const place = await b.fresh();
    const ledger = (await b.open(place)) as PostgresLedger;
    expect(ledger.location).toBe(place);
    const raw = (ledger as unknown as { client: { query(t: string): Promise<{ rows: unknown[] }> } }).client;
    expect((await raw.query("SHOW synchronous_commit")).rows).toEqual([{ synchronous_commit: "on" }]);
    await ledger.close();
    expect(await pgQuery(place, "SELECT version FROM schema_version")).toEqual([
      { version: POSTGRES_SCHEMA_VERSION },
    ]);
    // a second open migrates nothing and keeps the rows
    const again = await b.open(place);
    await again.record(records[0] as CandleRecord);
    await again.close();
    expect(await pgQuery(place, "SELECT count(*)::int AS n FROM candles")).toEqual([{ n: 1 }]);
  });

  it("a reader of a missing schema, a schema that is not a ledger, or a newer version gets a clear error", async () => {
    const missing = await b.fresh();
    await expect(b.open(missing, { readonly: true })).rejects.toBeInstanceOf(LedgerError);
    await expect(b.open(missing, { readonly: true })).rejects.toThrow(
      new MissingLedgerError(
        `no ledger at ${missing} (no schema "${new URL(missing).searchParams.get("schema")}")`,
      ),
    );
    const other = await b.fresh();
    const schema = new URL(other).searchParams.get("schema") as string;
    await pgQuery(other, `CREATE SCHEMA "${schema}"; CREATE TABLE "${schema}".t (x int)`);
    await expect(b.open(other)).rejects.toThrow(
      `${other}: schema "${schema}" holds tables but is not an itb ledger (no schema_version table); name another schema`,
    );
    await expect(b.open(other, { readonly: true })).rejects.toThrow(
      `${other}: not an itb ledger (no schema_version table)`,
    );
    const newer = await b.fresh();
    await (await b.open(newer)).close();
    await pgQuery(newer, `UPDATE schema_version SET version = ${POSTGRES_SCHEMA_VERSION + 1}`);
    const msg = `${newer}: ledger schema version ${POSTGRES_SCHEMA_VERSION + 1} is newer than this itb's (${POSTGRES_SCHEMA_VERSION}); use a newer itb`;
    await expect(b.open(newer)).rejects.toThrow(msg);
    await expect(b.open(newer, { readonly: true })).rejects.toThrow(msg);
  });

  it("a damaged ledger's reads fail with a LedgerError naming the ledger", async () => {
    const place = await b.fresh();
    const writer = await b.open(place);
    await writer.record(records[0] as CandleRecord);
    await writer.close();
    const reader = await b.open(place, { readonly: true });
    await pgQuery(place, "DROP TABLE equity");
    const err = await reader.read("equity").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LedgerError);
    expect((err as Error).message).toBe(`${place}: cannot read the ledger: relation "equity" does not exist`);
    expect(await reader.markets()).toEqual([MARKET]);
    await reader.close();
  });

  it("keeps -0 and ±Infinity in number columns as recorded (NaN as NULL)", async () => {
    const ledger = await b.open(await b.fresh());
    const base = records[0] as CandleRecord;
    const rec: CandleRecord = {
      ...base,
      candle: { ...base.candle, open: -0, high: Number.POSITIVE_INFINITY, volume: Number.NaN },
      equity: {
        equity: Number.NEGATIVE_INFINITY,
        cash: -0,
        position: 0,
        quantity: -0,
        entryPrice: Number.NaN,
      },
      latencyMs: -0,
    };
    await ledger.record(rec);
    const [row] = rowObjects(await ledger.read("equity"));
    expect(Object.is(row?.cash, -0)).toBe(true);
    expect(Object.is(row?.quantity, -0)).toBe(true);
    expect(row?.equity).toBe(Number.NEGATIVE_INFINITY);
    expect(row?.entry_price).toBeNaN();
    const last = await ledger.last(MARKET);
    expect(last?.candle).toEqual(rec.candle);
    expect(Object.is(last?.candle?.open, -0)).toBe(true);
    expect(Object.is(last?.latencyMs, -0)).toBe(true);
    expect(last?.equity).toEqual(rec.equity);
    await ledger.close();
  });

  it("candles recorded while the connection is busy are committed together; a failing one fails alone", async () => {
    const place = await b.fresh();
    const ledger = await b.open(place);
    await ledger.record(records[0] as CandleRecord);
    const markets = ["ETHUSDT", "SOLUSDT", "XRPUSDT"].map((symbol) => ({ symbol, freq: "1m" }));
    // one turn: the next BTCUSDT candle, the same candle again (refused), three new markets, one
    // of them with a NaN latency (refused by the database: the batch is redone one by one)
    const turn = [
      records[1] as CandleRecord,
      records[1] as CandleRecord,
      ...markets.map((market) => ({ ...(records[1] as CandleRecord), market })),
      { ...(records[1] as CandleRecord), market: { symbol: "ADAUSDT", freq: "1m" }, latencyMs: Number.NaN },
    ];
    const settled = await Promise.allSettled(turn.map((r) => ledger.record(r)));
    expect(settled.map((x) => x.status)).toEqual([
      "fulfilled",
      "rejected",
      "fulfilled",
      "fulfilled",
      "fulfilled",
      "rejected",
    ]);
    expect(String((settled[1] as PromiseRejectedResult).reason)).toContain("is already recorded");
    expect(String((settled[5] as PromiseRejectedResult).reason)).toContain(
      b.notNull("candles", "latency_ms"),
    );
    const reader = await b.open(place, { readonly: true });
    expect(await reader.markets()).toEqual([MARKET, ...markets]);
    for (const m of [MARKET, ...markets]) expect((await reader.last(m))?.time).toBe(records[1]?.candle.time);
    await reader.close();
    // a turn without a failure: one transaction for all
    await Promise.all(
      [MARKET, ...markets].map((market) => ledger.record({ ...(records[2] as CandleRecord), market })),
    );
    for (const m of [MARKET, ...markets]) expect((await ledger.last(m))?.time).toBe(records[2]?.candle.time);
    const [t0, t1, t2] = [0, 1, 2].map((i) => records[i]?.candle.time);
    expect(rowObjects(await ledger.read("equity")).map((r) => [r.symbol, r.timestamp])).toEqual([
      ["BTCUSDT", t0],
      ["BTCUSDT", t1],
      ["BTCUSDT", t2],
      ...["ETHUSDT", "SOLUSDT", "XRPUSDT"].flatMap((symbol) => [
        [symbol, t1],
        [symbol, t2],
      ]),
    ]);
    await ledger.close();
  });

  it("a writer's lock goes with its connection: once its session ends another writer opens", async () => {
    const place = await b.fresh();
    const first = await b.open(place);
    await first.record(records[0] as CandleRecord);
    await pgQuery(place, "SELECT pg_terminate_backend(backend_pid) FROM writer");
    const second = await b.open(place, { command: "the second" });
    await second.record(records[1] as CandleRecord);
    await expect(first.record(records[2] as CandleRecord)).rejects.toThrow(
      `${place}: the connection to the ledger was lost`,
    );
    await first.close();
    expect((await second.last(MARKET))?.time).toBe(records[1]?.candle.time);
    await second.close();
  });

  it("a malformed URL or an unreachable server is a clear error that never shows the password", async () => {
    await expect(openPostgresLedger("mysql://root@127.0.0.1:5432/test")).rejects.toThrow(
      new LedgerError(
        'ledger_url mysql://root@127.0.0.1:5432/test: a postgres:// or postgresql:// URL is expected, found "mysql:"',
      ),
    );
    await expect(openPostgresLedger("127.0.0.1:5432/test")).rejects.toThrow(
      "ledger_url ***: not a URL; a postgres://user[:password]@host[:port]/database[?schema=name] URL is expected",
    );
    await expect(
      openPostgresLedger("postgres://root:hunter2@127.0.0.1:5432/test?schema=a-b"),
    ).rejects.toThrow(
      'ledger_url postgres://root:***@127.0.0.1:5432/test?schema=a-b: schema "a-b" is not a plain name (letters, digits and _, at most 63, not starting with a digit)',
    );
    const err = await openPostgresLedger("postgres://root:hunter2@127.0.0.1:1/test").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LedgerError);
    expect((err as Error).message).toBe(
      "cannot connect to the ledger at postgres://root:***@127.0.0.1:1/test?schema=itb: connect ECONNREFUSED 127.0.0.1:1",
    );
  });
});

describe("both ledgers", () => {
  const [sqlite, postgres] = BACKENDS.map((x) => x.make());
  afterAll(async () => {
    await Promise.all([sqlite?.cleanup(), postgres?.cleanup()]);
  });

  it("return the same tables (columns, types, rows) for the same records", async () => {
    const ledgers = await Promise.all(
      [sqlite, postgres].map(async (x) => (x as LedgerBackend).open(await (x as LedgerBackend).fresh())),
    );
    const eth = { symbol: "ETHUSDT", freq: "1m" };
    for (const l of ledgers) {
      for (const r of records.slice(0, 600)) await l.record(r);
      for (const r of records.slice(0, 50)) await l.record({ ...r, market: eth });
    }
    const [a, c] = ledgers as [AnyLedger, AnyLedger];
    const from = records[100]?.candle.time as number;
    for (const what of LEDGER_TABLES) {
      const whole = await a.read(what);
      expect(whole.rows.length, what).toBeGreaterThan(0);
      expect(await c.read(what), what).toEqual(whole);
      expect(await c.read(what, { market: { symbol: "ETHUSDT" } }), what).toEqual(
        await a.read(what, { market: { symbol: "ETHUSDT" } }),
      );
      expect(await c.read(what, { from }), what).toEqual(await a.read(what, { from }));
    }
    expect(await c.markets()).toEqual(await a.markets());
    expect(await c.last(eth)).toEqual(await a.last(eth));
    await Promise.all(ledgers.map((l) => l.close()));
  });
});

describe("the ledger's JSON", () => {
  it("keeps NaN, infinities and -0 that plain JSON loses", () => {
    const value = {
      a: Number.NaN,
      b: [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 0, 1.5e-300],
      c: null,
      d: "x",
    };
    const text = encodeJson(value);
    expect(text).toBe(
      '{"a":{"$n":"NaN"},"b":[{"$n":"Infinity"},{"$n":"-Infinity"},{"$n":"-0"},0,1.5e-300],"c":null,"d":"x"}',
    );
    const back = decodeJson(text) as typeof value;
    expect(back).toEqual(value);
    expect(Object.is(back.b[2], -0)).toBe(true);
    expect(decodeJson(encodeJson(undefined))).toBeNull();
  });
});
