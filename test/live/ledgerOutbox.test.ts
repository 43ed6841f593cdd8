import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SCHEMA_VERSION } from "../../src/live/ledger/schema.js";
import { openSqliteLedger } from "../../src/live/ledger/sqlite.js";
import type { CandleRecord, OutboxEntry, OutboxMessage } from "../../src/live/ledger/types.js";
import { BACKENDS, type LedgerBackend } from "../helpers/ledgerBackends.js";
import { MARKET, sampleRecords } from "../helpers/ledgerRecords.js";
import { SAMPLE } from "../helpers/paths.js";

/**
 * The ledger's outbox: notifications are recorded in their candle's transaction (so they exist
 * exactly when the candle does), read back pending in order, settled once, trimmed with the
 * droppable ones first, on both ledgers (SQLite and Postgres); an SQLite ledger of schema
 * version 1 is upgraded with its rows kept.
 */

let dir = "";
let n = 0;
const fresh = () => join(dir, `o${++n}`, "ledger.sqlite");
let records: CandleRecord[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "itb-outbox-"));
  records = await sampleRecords(SAMPLE, { count: 6 });
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const text = (t: string, kind: OutboxMessage["kind"] = "score", keep = false): OutboxMessage => ({
  channel: "telegram",
  target: "42",
  kind,
  keep,
  payload: { text: t, parse_mode: "Markdown", n: Number.NaN },
});

const withOutbox = (i: number, outbox: OutboxMessage[]): CandleRecord => ({
  ...(records[i] as CandleRecord),
  outbox,
});

describe.each(BACKENDS)("the outbox of the $name ledger", ({ make }) => {
  let b: LedgerBackend;
  beforeAll(() => {
    b = make();
  });
  afterAll(async () => {
    await b.cleanup();
  });
  const open = async () => b.open(await b.fresh());

  it("holds a candle's notifications from its record on, pending in order, each settled once", async () => {
    const ledger = await open();
    await ledger.record(withOutbox(0, [text("a"), text("b", "trade", true)]));
    await ledger.record(
      withOutbox(1, [{ channel: "webhook", target: "0", kind: "trade", keep: true, payload: { e: 1 } }]),
    );
    await ledger.record(withOutbox(2, [text("c")]));
    const pending = await ledger.pendingOutbox("telegram", 10);
    expect(pending.map((p) => [p.kind, p.keep, (p.payload as { text: string }).text])).toEqual([
      ["score", false, "a"],
      ["trade", true, "b"],
      ["score", false, "c"],
    ]);
    const first = pending[0] as OutboxEntry;
    expect(first.market).toEqual(MARKET);
    expect(first.candle).toBe(records[0]?.candle.time);
    expect(first.createdAt).toBe(records[0]?.processedAt);
    // the payload comes back as recorded, NaN included
    expect((first.payload as { n: number }).n).toBeNaN();
    expect((await ledger.pendingOutbox("webhook", 10)).map((p) => p.payload)).toEqual([{ e: 1 }]);

    await ledger.settleOutbox(first.id, { status: "retry", error: "502 Bad Gateway" });
    await ledger.settleOutbox(first.id, { status: "sent", at: 123, messageId: 7 });
    // a second settlement of a settled entry changes nothing
    await ledger.settleOutbox(first.id, { status: "failed", at: 124, error: "x" });
    expect(
      (await ledger.pendingOutbox("telegram", 10)).map((p) => (p.payload as { text: string }).text),
    ).toEqual(["b", "c"]);
    const place = b.name_(ledger);
    await ledger.close();

    expect(
      await b.sql(
        place,
        `SELECT status, attempts, settled_at, message_id, error FROM outbox WHERE id = ${first.id}`,
      ),
    ).toEqual([
      {
        status: "sent",
        attempts: 1,
        settled_at: 123,
        message_id: 7,
        error: "502 Bad Gateway",
      },
    ]);
  });

  it("a refused candle leaves no notification behind", async () => {
    const ledger = await open();
    await ledger.record(withOutbox(0, [text("a")]));
    await expect(ledger.record(withOutbox(0, [text("again")]))).rejects.toThrow("already recorded");
    expect(
      (await ledger.pendingOutbox("telegram", 10)).map((p) => (p.payload as { text: string }).text),
    ).toEqual(["a"]);
    await ledger.close();
  });

  it("trimming drops the oldest droppable messages first and keeps trade messages", async () => {
    const ledger = await open();
    await ledger.record(withOutbox(0, [text("s1"), text("t1", "trade", true), text("s2")]));
    await ledger.record(withOutbox(1, [text("s3"), text("t2", "order", true), text("s4")]));
    expect(await ledger.trimOutbox("telegram", 4, 1000)).toBe(2);
    const texts = async () =>
      (await ledger.pendingOutbox("telegram", 100)).map((p) => (p.payload as { text: string }).text);
    expect(await texts()).toEqual(["t1", "s3", "t2", "s4"]);
    // over the limit with only trade messages left to drop: they stay
    expect(await ledger.trimOutbox("telegram", 1, 1001)).toBe(2);
    expect(await texts()).toEqual(["t1", "t2"]);
    expect(await ledger.trimOutbox("telegram", 5, 1002)).toBe(0);
    await ledger.close();
  });
});

describe("the SQLite ledger's outbox", () => {
  it("a ledger of schema version 1 is upgraded, its candles kept", async () => {
    const file = fresh();
    const old = openSqliteLedger(file);
    await old.record(records[0] as CandleRecord);
    await old.close();
    // take the file back to version 1, as an itb before the outbox left it
    const db = new Database(file);
    db.exec("DROP TABLE outbox");
    db.exec("UPDATE schema_version SET version = 1");
    db.close();
    const ledger = openSqliteLedger(file);
    expect((await ledger.last(MARKET))?.time).toBe(records[0]?.candle.time);
    await ledger.record(withOutbox(1, [text("after the upgrade")]));
    expect((await ledger.pendingOutbox("telegram", 10)).length).toBe(1);
    await ledger.close();
    const check = new Database(file, { readonly: true });
    expect(check.prepare("SELECT version FROM schema_version").get()).toEqual({ version: SCHEMA_VERSION });
    check.close();
  });
});
