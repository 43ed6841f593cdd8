import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { PNG } from "pngjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openSqliteLedger } from "../../src/live/ledger/sqlite.js";
import { tradesOf } from "../../src/live/ledger/tradeRows.js";
import { tradeProfitMessage } from "../../src/outputs/telegram/trades.js";
import { type Simulator, startSimulator, VirtualClock } from "../../src/simulator/index.js";
import { startTelegramSim, type TelegramSim } from "../../src/simulator/telegram/index.js";
import { type CliProcess, spawnItb } from "../helpers/cli.js";
import { SAMPLE } from "../helpers/paths.js";
import { LOOPBACK_BUDGET } from "../helpers/simBudget.js";
import { until as waitUntil } from "../helpers/until.js";
import { BTC_1M, buildLiveFixture, type LiveFixture, lastRecorded } from "./liveFixture.js";

/**
 * `itb serve` with Telegram, real processes against the Binance simulator and the Telegram
 * Bot API simulator on loopback: score, order and trade messages arrive; commands are answered
 * in the configured chat and not in others; an outage of Telegram does not hold the candles,
 * and what waited is delivered afterwards once, in order, also across a kill -9; a refused
 * token or a missing chat id stops the start with a clear message and nothing written.
 */
const MIN = 60_000;
const T0 = Date.UTC(2023, 2, 20);
const TOKEN = "987654:AAE-telegram-test-token-xyz";
const CHAT = 5151;
const STRANGER = 6262;

let fixture: LiveFixture;
let sim: Simulator;
let tg: TelegramSim;

beforeAll(async () => {
  fixture = await buildLiveFixture("2023-03-20");
  sim = await startSimulator({
    weightLimits: LOOPBACK_BUDGET,
    archive: SAMPLE,
    clock: new VirtualClock({ start: T0 + 30_000, speed: 0 }),
    streams: { formingEveryMs: 0 },
  });
  tg = await startTelegramSim({ tokens: [TOKEN], chats: [CHAT, STRANGER], floodLimit: false });
}, 300_000);

afterAll(async () => {
  await sim?.close();
  await tg?.close();
  if (fixture) rmSync(fixture.root, { recursive: true, force: true });
});

const until = (done: () => Promise<boolean> | boolean, ms: number, what: string) =>
  waitUntil(done, ms, what, 10);

const BANDS = {
  generator: "score_notification_model",
  config: {
    score_column_names: ["trade_score"],
    notify_band_up: true,
    notify_band_dn: false,
    positive_bands: [{ edge: 0.2, sign: "〉〉", text: "BUY ZONE", bold: true }],
    negative_bands: [{ edge: -0.2, sign: "〈〈", text: "SELL ZONE", bold: true }],
  },
};

const CHART = {
  generator: "diagram_notification_model",
  config: {
    score_column_names: "trade_score",
    notification_freq: "1h",
    resampling_freq: "5min",
    nrows: 12,
    score_thresholds: [0.2, -0.2],
    score_ma: [3],
  },
};

function setup(label: string, extra: Record<string, unknown> = {}, outputs: object[] = []) {
  return fixture.copy(label, sim.url, (c) => {
    c.output_sets = [{ generator: "trader_simulation", config: {} }, BANDS, ...outputs];
    c.telegram_api_url = tg.url;
    c.telegram = { min_interval_ms: 0, daily_summary: null };
    c.serve = { address: "127.0.0.1:0", delay_ms: 0, poll_ms: 50 };
    Object.assign(c, extra);
  });
}

/** The credentials in the environment; a null chat: none. */
const env = (token = TOKEN, chat: string | null = String(CHAT)) => ({
  ITB_TELEGRAM_BOT_TOKEN: token,
  ...(chat === null ? {} : { ITB_TELEGRAM_CHAT_ID: chat }),
});

const serve = (config: string, e = env()) =>
  spawnItb(["serve", "--config", config, "--log-format", "json"], { env: { ...process.env, ...e } });

async function waitServing(p: CliProcess): Promise<void> {
  await p.waitFor(/"msg":"serving"/, { timeoutMs: 120_000 });
}

async function pending(data: string): Promise<number> {
  const l = openSqliteLedger(join(data, "ledger.sqlite"), { readonly: true });
  try {
    return (await l.pendingOutbox("telegram", 100_000)).length;
  } finally {
    await l.close();
  }
}

async function closedTrades(data: string) {
  const l = openSqliteLedger(join(data, "ledger.sqlite"), { readonly: true });
  try {
    return tradesOf(await l.read("trades", { market: BTC_1M }));
  } finally {
    await l.close();
  }
}

const chatTexts = (chat: number) =>
  tg
    .messages()
    .filter((m) => m.chat_id === chat)
    .map((m) => m.text ?? "");

describe("itb serve with Telegram", () => {
  it("posts score, order and trade messages, and answers commands in its chat only", async () => {
    tg.reset();
    sim.clock.set(T0 + 30_000);
    const { dir, config } = setup("messages", {}, [CHART]);
    const data = join(dir, "data");
    const p = serve(config);
    await waitServing(p);
    // six hours, two candles at a time: the later one of each pair is live (announced), the
    // earlier one is processed more than a candle late (catch-up: bands move on silently)
    const HOURS = 6;
    for (let i = 2; i <= HOURS * 60; i += 2) {
      sim.clock.set(T0 + i * MIN + 30_000);
      await until(async () => (await lastRecorded(data)) === T0 + (i - 1) * MIN, 30_000, `candle ${i}`);
    }
    await until(async () => (await pending(data)) === 0, 60_000, "the outbox to empty");

    // a chart per hour: at the first live candle (its hour not sent yet), then in each later
    // hour (01:00 ... 06:00), each a real 1200 × 600 PNG
    const photos = tg.messages().filter((m) => m.kind === "photo");
    expect(photos.map((m) => m.chat_id)).toEqual(new Array(HOURS + 1).fill(CHAT));
    for (const ph of photos) {
      const png = PNG.sync.read(ph.photo?.bytes as Buffer);
      expect([png.width, png.height]).toEqual([1200, 600]);
    }

    const trades = await closedTrades(data);
    expect(trades.length).toBeGreaterThan(0);
    const texts = chatTexts(CHAT);
    // one BOUGHT/SOLD message per closed trade, in the trades' order
    const profit = texts.filter((t) => t.startsWith("⚡💰"));
    expect(profit).toEqual(trades.map((t) => tradeProfitMessage(t)));
    expect(texts.filter((t) => /transactions stats \(4 weeks\)/.test(t))).toHaveLength(trades.length);
    expect(texts.some((t) => /^\*〉〉 ₿ [\d,]+ Indicator: \+\d\.\d\d ↑ {3}BUY ZONE 1min\*$/.test(t))).toBe(
      true,
    );
    expect(texts.some((t) => / filled/.test(t))).toBe(true);

    // commands: the configured chat gets answers, a stranger nothing
    const before = tg.messages().length;
    tg.pushUpdate({ kind: "message", chatId: STRANGER, text: "/status" });
    tg.pushUpdate({ kind: "message", chatId: CHAT, text: "/status" });
    await until(() => chatTexts(CHAT).some((t) => t.startsWith("*Status*")), 20_000, "the /status answer");
    expect(chatTexts(CHAT).find((t) => t.startsWith("*Status*"))).toMatch(
      /^\*Status\*\nBTCUSDT 1m: running, last candle /,
    );
    tg.pushUpdate({ kind: "message", chatId: CHAT, text: "/trades 2" });
    await until(
      () => chatTexts(CHAT).some((t) => /^\*Last (2 closed trades|closed trade)\*/.test(t)),
      20_000,
      "/trades",
    );
    tg.pushUpdate({ kind: "message", chatId: CHAT, text: "/pause" });
    await until(() => chatTexts(CHAT).some((t) => t.startsWith("Paused 1 market")), 20_000, "/pause");
    // /forceexit asks with buttons; the press is answered and the question edited
    tg.pushUpdate({ kind: "message", chatId: CHAT, text: "/forceexit BTCUSDT" });
    await until(
      () => chatTexts(CHAT).some((t) => t.startsWith("Close the position of BTCUSDT 1m")),
      20_000,
      "/forceexit",
    );
    const question = tg.messages().find((m) => (m.text ?? "").startsWith("Close the position of"));
    expect(JSON.stringify(question?.reply_markup)).toContain("forceexit:BTCUSDT");
    tg.pushUpdate({
      kind: "callback_query",
      chatId: CHAT,
      data: "forceexit:BTCUSDT",
      messageId: question?.message_id as number,
    });
    await until(() => tg.callbackAnswers().length === 1, 20_000, "the button's answer");
    await until(
      () =>
        tg.messages().find((m) => m.message_id === question?.message_id)?.text ===
        "Closing BTCUSDT 1m at the next candle.",
      20_000,
      "the edited question",
    );
    expect(chatTexts(STRANGER)).toEqual([]);
    expect(tg.messages().length).toBeGreaterThan(before);
    expect(p.stderr()).toContain("a message from a chat not in telegram_chat_id: not answered");
    // the command list was registered
    expect(tg.requests().some((r) => r.method === "setMyCommands" && r.status === 200)).toBe(true);

    p.child.kill("SIGTERM");
    const r = await p.done;
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toContain(TOKEN.split(":")[1]);
    expect(r.stderr).not.toContain(String(CHAT));
  }, 300_000);

  it("an outage of Telegram holds no candle; after it, and after a kill -9, each trade message arrives once, in order", async () => {
    tg.reset();
    sim.clock.set(T0 + 30_000);
    const { dir, config } = setup("outage");
    const data = join(dir, "data");
    tg.faults.outage({ until: "cleared" });
    let p = serve(config);
    await waitServing(p);
    const END = T0 + 8 * 60 * MIN;
    sim.clock.set(END + 30_000);
    // candles go on while Telegram is down
    await until(
      async () => (await lastRecorded(data)) === END - MIN,
      120_000,
      "the candles during the outage",
    );
    expect(await pending(data)).toBeGreaterThan(0);
    expect(tg.messages()).toEqual([]);
    // killed between the trades and their messages
    p.child.kill("SIGKILL");
    await p.done;
    tg.faults.clear();
    p = serve(config);
    await waitServing(p);
    await until(async () => (await pending(data)) === 0, 120_000, "the outbox to empty");
    const trades = await closedTrades(data);
    expect(trades.length).toBeGreaterThan(0);
    const profit = chatTexts(CHAT).filter((t) => t.startsWith("⚡💰"));
    expect(profit).toEqual(trades.map((t) => tradeProfitMessage(t)));
    p.child.kill("SIGTERM");
    expect((await p.done).status).toBe(0);
  }, 300_000);

  it("a refused bot token stops the start, naming the key and not the token; nothing is written", async () => {
    const { dir, config } = setup("token");
    const r = await serve(config, env("111111:AAwrong-token-value")).done;
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("telegram_bot_token");
    expect(r.stderr).toContain("401");
    expect(r.stderr).not.toContain("AAwrong-token-value");
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(join(dir, "data", "ledger.sqlite"))).toBe(false);
  }, 120_000);

  it("a Telegram output without a chat id is a config error naming telegram_chat_id", async () => {
    const { dir, config } = setup("nochat");
    const r = await serve(config, env(TOKEN, null)).done;
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("telegram_chat_id: expected a chat id");
    expect(r.stderr).toContain("output_sets[1] (score_notification_model)");
    expect(existsSync(join(dir, "data", "ledger.sqlite"))).toBe(false);
  }, 120_000);
});
