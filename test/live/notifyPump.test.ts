import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Logger } from "../../src/core/log.js";
import { openSqliteLedger, type SqliteLedger } from "../../src/live/ledger/sqlite.js";
import type { CandleRecord, OutboxMessage } from "../../src/live/ledger/types.js";
import { OutboxPump } from "../../src/live/notify/pump.js";
import { TelegramClient } from "../../src/live/notify/telegram.js";
import { TelegramSender } from "../../src/live/notify/telegramSender.js";
import { startTelegramSim, type TelegramSim } from "../../src/simulator/telegram/index.js";
import { sampleRecords } from "../helpers/ledgerRecords.js";
import { SAMPLE } from "../helpers/paths.js";

/**
 * The outbox pump delivering to the Telegram Bot API simulator with grammy: in order, each
 * once, through 429 (waiting its retry_after), 5xx, timeouts and an outage; a blocked chat fails
 * its message for good and the next goes on; a text Telegram cannot parse goes out as plain
 * text; a long one in parts; a full queue drops score messages and keeps trade messages; the
 * token appears in no log line.
 */

const TOKEN = "123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw";
const CHAT = 4242;
const OTHER = 777;

let dir = "";
let n = 0;
let records: CandleRecord[] = [];
let sim: TelegramSim;
const lines: string[] = [];
const log: Logger = {
  debug: (o, m) => lines.push(JSON.stringify({ ...o, m })),
  info: (o, m) => lines.push(JSON.stringify({ ...o, m })),
  warn: (o, m) => lines.push(JSON.stringify({ ...o, m })),
  error: (o, m) => lines.push(JSON.stringify({ ...o, m })),
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "itb-pump-"));
  records = await sampleRecords(SAMPLE, { count: 20 });
  sim = await startTelegramSim({ tokens: [TOKEN], chats: [CHAT, OTHER], floodLimit: false });
});
afterAll(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => {
  sim.reset();
  expect(lines.join("\n")).not.toContain(TOKEN.split(":")[1]);
  lines.length = 0;
});

const msg = (text: string, kind: OutboxMessage["kind"] = "trade", chat = CHAT): OutboxMessage => ({
  channel: "telegram",
  target: String(chat),
  kind,
  keep: kind !== "score",
  payload: { type: "text", text, parse_mode: "Markdown" },
});

async function ledgerWith(outboxes: OutboxMessage[][]): Promise<SqliteLedger> {
  const ledger = openSqliteLedger(join(dir, `p${++n}`, "ledger.sqlite"));
  for (const [i, outbox] of outboxes.entries())
    await ledger.record({ ...(records[i] as CandleRecord), outbox });
  return ledger;
}

/** Runs a pump until the outbox is empty (or `ms` pass), then stops it. */
async function deliver(
  ledger: SqliteLedger,
  o: { queueLimit?: number; timeoutMs?: number; ms?: number } = {},
) {
  const stop = new AbortController();
  const client = new TelegramClient({ token: TOKEN, apiUrl: sim.url, timeoutMs: o.timeoutMs ?? 5000 });
  const settled: string[] = [];
  const pump = new OutboxPump({
    ledger,
    sender: new TelegramSender(client, [String(CHAT), String(OTHER)], async () => new Uint8Array()),
    log,
    signal: stop.signal,
    queueLimit: o.queueLimit ?? 1000,
    minIntervalMs: 0,
    backoffBaseMs: 100,
    backoffCapMs: 400,
    idleMs: 50,
    stopGraceMs: 100,
    onSettled: (e, status) => settled.push(`${status} ${(e.payload as { text: string }).text.slice(0, 20)}`),
  });
  const run = pump.run();
  const until = Date.now() + (o.ms ?? 20_000);
  while (Date.now() < until && (await ledger.pendingOutbox("telegram", 1)).length > 0) {
    await new Promise((r) => setTimeout(r, 50));
  }
  stop.abort();
  await run;
  return settled;
}

const texts = () => sim.messages().map((m) => m.text);

describe("the outbox pump on the Telegram Bot API", () => {
  it("sends in order, each once, and records Telegram's message ids", async () => {
    const ledger = await ledgerWith([[msg("*one*"), msg("two")], [msg("three", "score")]]);
    expect(await deliver(ledger)).toEqual(["sent *one*", "sent two", "sent three"]);
    expect(texts()).toEqual(["*one*", "two", "three"]);
    expect(sim.messages().map((m) => [m.chat_id, m.parse_mode])).toEqual([
      [CHAT, "Markdown"],
      [CHAT, "Markdown"],
      [CHAT, "Markdown"],
    ]);
    await ledger.close();
  });

  it("waits retry_after on 429, retries 5xx and timeouts, and keeps the order", async () => {
    const ledger = await ledgerWith([[msg("a"), msg("b"), msg("c")]]);
    sim.faults.rateLimit({ retryAfter: 1, count: 1, methods: ["sendMessage"] });
    sim.faults.serverError({ status: 502, count: 2, methods: ["sendMessage"] });
    sim.faults.timeout({ count: 1, methods: ["sendMessage"] });
    await deliver(ledger, { timeoutMs: 1000 });
    expect(texts()).toEqual(["a", "b", "c"]);
    const calls = sim.requests().filter((r) => r.method === "sendMessage");
    const limited = calls.find((r) => r.status === 429);
    const next = calls[calls.indexOf(limited as (typeof calls)[number]) + 1];
    // the next call came only after retry_after
    expect((next?.at ?? 0) - (limited?.at ?? 0)).toBeGreaterThanOrEqual(1000);
    expect(calls.filter((r) => r.status === 502)).toHaveLength(2);
    expect(lines.some((l) => l.includes("rate limited"))).toBe(true);
    await ledger.close();
  });

  it("delivers what waited through an outage, once each", async () => {
    const ledger = await ledgerWith([[msg("t1"), msg("t2")], [msg("t3")]]);
    sim.faults.outage({ until: Date.now() + 1500 });
    await deliver(ledger);
    expect(texts()).toEqual(["t1", "t2", "t3"]);
    await ledger.close();
  });

  it("a blocked chat fails its message for good; the others go on", async () => {
    const ledger = await ledgerWith([[msg("to other", "trade", OTHER), msg("to chat")]]);
    sim.faults.block(OTHER);
    expect(await deliver(ledger)).toEqual(["failed to other", "sent to chat"]);
    expect(texts()).toEqual(["to chat"]);
    expect(lines.some((l) => l.includes("chat 2 of telegram_chat_id") && l.includes("403"))).toBe(true);
    // chat ids are not logged
    expect(lines.join("\n")).not.toContain(String(OTHER));
    await ledger.close();
  });

  it("a text Telegram cannot parse goes out as plain text; a long one in parts", async () => {
    const long = Array.from({ length: 300 }, (_, i) => `line ${i} ${"x".repeat(20)}`).join("\n");
    const ledger = await ledgerWith([[msg("BTC_USDT *bold"), msg(long)]]);
    await deliver(ledger);
    const got = sim.messages();
    expect(got[0]).toMatchObject({ text: "BTC_USDT *bold" });
    expect(got[0]?.parse_mode).toBeUndefined();
    expect(got.length).toBeGreaterThan(2);
    expect(got.slice(1).every((m) => (m.text ?? "").length <= 4096)).toBe(true);
    expect(
      got
        .slice(1)
        .map((m) => m.text)
        .join("\n"),
    ).toBe(long);
    await ledger.close();
  });

  it("each chat is a queue of its own: a rate-limited chat holds no other", async () => {
    const flooded = await startTelegramSim({
      tokens: [TOKEN],
      chats: [CHAT, OTHER],
      floodLimit: { perSecond: 1, burst: 2 },
    });
    try {
      const ledger = await ledgerWith([
        [msg("a1"), msg("a2"), msg("a3"), msg("a4"), msg("b1", "trade", OTHER)],
      ]);
      const stop = new AbortController();
      const client = new TelegramClient({ token: TOKEN, apiUrl: flooded.url, timeoutMs: 5000 });
      const run = new OutboxPump({
        ledger,
        sender: new TelegramSender(client, [String(CHAT), String(OTHER)], async () => new Uint8Array()),
        log,
        signal: stop.signal,
        queueLimit: 100,
        minIntervalMs: 0,
        idleMs: 50,
      }).run();
      while ((await ledger.pendingOutbox("telegram", 1)).length > 0)
        await new Promise((r) => setTimeout(r, 50));
      stop.abort();
      await run;
      const got = flooded.messages().map((m) => m.text);
      // chat 1 hits the flood limit after two; chat 2's message does not wait for its retry_after
      expect(got.indexOf("b1")).toBeLessThan(got.indexOf("a3"));
      expect(got.filter((t) => t?.startsWith("a"))).toEqual(["a1", "a2", "a3", "a4"]);
      expect(flooded.requests().some((r) => r.status === 429)).toBe(true);
      await ledger.close();
    } finally {
      await flooded.close();
    }
  });

  it("a full queue drops the oldest score messages and keeps the trade messages", async () => {
    const ledger = await ledgerWith([
      [msg("s1", "score"), msg("t1"), msg("s2", "score")],
      [msg("s3", "score"), msg("t2")],
    ]);
    await deliver(ledger, { queueLimit: 3 });
    expect(texts()).toEqual(["t1", "s3", "t2"]);
    expect(lines.some((l) => l.includes("queue full"))).toBe(true);
    await ledger.close();
  });
});
