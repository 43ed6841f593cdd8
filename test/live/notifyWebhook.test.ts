import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { WebhookConfig } from "../../src/config/outputConfigs.js";
import { silentLogger } from "../../src/core/log.js";
import { openSqliteLedger } from "../../src/live/ledger/sqlite.js";
import type { CandleRecord, OutboxMessage } from "../../src/live/ledger/types.js";
import { OutboxPump } from "../../src/live/notify/pump.js";
import { WebhookSender } from "../../src/live/notify/webhookSender.js";
import { sampleRecords } from "../helpers/ledgerRecords.js";
import { SAMPLE } from "../helpers/paths.js";

/**
 * Webhook delivery to a real HTTP server on loopback: the body in each format, a 429 waits its
 * Retry-After, a 5xx is retried, a 4xx fails the event for good, events arrive in order once.
 */

let dir = "";
let records: CandleRecord[] = [];
let server: Server;
let url = "";
const got: { path: string; body: unknown; at: number }[] = [];
/** Per path, the answers to give in turn before answering 204. */
const answers = new Map<string, { status: number; headers?: Record<string, string> }[]>();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "itb-webhook-"));
  records = await sampleRecords(SAMPLE, { count: 5 });
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (b: Buffer) => {
      body += b.toString();
    });
    req.on("end", () => {
      const a = answers.get(req.url ?? "")?.shift() ?? { status: 204 };
      got.push({ path: req.url ?? "", body: JSON.parse(body), at: Date.now() });
      res.writeHead(a.status, a.headers ?? {});
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

const hook = (path: string, format: WebhookConfig["format"]): WebhookConfig & { label: string } => ({
  url: `${url}${path}`,
  events: ["trade", "score"],
  format,
  timeout_ms: 2000,
  label: `output_sets[${path}]`,
});

const event = (target: string, text: string): OutboxMessage => ({
  channel: "webhook",
  target,
  kind: "trade",
  keep: true,
  payload: { event: { type: "trade", market: "BTCUSDT", pnl: 1.5 }, text },
});

describe("webhook delivery", () => {
  it("posts each format's body in its webhook's order, waits Retry-After, retries 5xx, drops a 4xx event", async () => {
    const ledger = openSqliteLedger(join(dir, "ledger.sqlite"));
    await ledger.record({
      ...(records[0] as CandleRecord),
      outbox: [event("a", "first"), event("b", "second"), event("c", "third"), event("a", "fourth")],
    });
    answers.set("/itb", [{ status: 429, headers: { "retry-after": "1" } }]);
    answers.set("/slack", [{ status: 503 }]);
    answers.set("/discord", [{ status: 400 }]);
    const hooks = new Map([
      ["a", hook("/itb", "itb")],
      ["b", hook("/slack", "slack")],
      ["c", hook("/discord", "discord")],
    ]);
    const stop = new AbortController();
    const settled: string[] = [];
    const pump = new OutboxPump({
      ledger,
      sender: new WebhookSender(hooks),
      log: silentLogger,
      signal: stop.signal,
      queueLimit: 100,
      minIntervalMs: 0,
      backoffBaseMs: 50,
      backoffCapMs: 100,
      idleMs: 50,
      onSettled: (e, status) => settled.push(`${status} ${(e.payload as { text: string }).text}`),
    });
    const run = pump.run();
    const deadline = Date.now() + 15_000;
    while ((await ledger.pendingOutbox("webhook", 1)).length > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    stop.abort();
    await run;
    // each webhook is a queue of its own: the one waiting out its Retry-After holds no other
    expect(settled).toEqual(["failed third", "sent second", "sent first", "sent fourth"]);
    const at = (path: string) => got.filter((g) => g.path === path);
    expect(at("/itb").map((g) => g.body)).toEqual([
      { type: "trade", market: "BTCUSDT", pnl: 1.5, text: "first" },
      { type: "trade", market: "BTCUSDT", pnl: 1.5, text: "first" },
      { type: "trade", market: "BTCUSDT", pnl: 1.5, text: "fourth" },
    ]);
    expect(at("/slack").map((g) => g.body)).toEqual([{ text: "second" }, { text: "second" }]);
    expect(at("/discord").map((g) => g.body)).toEqual([{ content: "third" }]);
    // Retry-After: 1 s between the 429 and the next try
    const itb = at("/itb");
    expect((itb[1]?.at ?? 0) - (itb[0]?.at ?? 0)).toBeGreaterThanOrEqual(1000);
    await ledger.close();
  });
});
