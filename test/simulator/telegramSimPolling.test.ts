import { Bot, type GrammyError } from "grammy";
import type { Update } from "grammy/types";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startTelegramSim, type TelegramSim, type UserUpdate } from "../../src/simulator/telegram/index.js";

/** Users' updates and getUpdates long polling, with grammy's bot.start() and plain HTTP. */

const TOKEN = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11";
const NOW = Date.UTC(2024, 4, 1, 12, 0, 0);

let sim: TelegramSim;

beforeAll(async () => {
  sim = await startTelegramSim({ tokens: [TOKEN], chats: [42], floodLimit: false, now: () => NOW });
});
afterAll(async () => {
  await sim.close();
});
beforeEach(() => {
  sim.reset();
});

interface Polled {
  ok: boolean;
  result?: Update[];
  error_code?: number;
  description?: string;
}

const getUpdates = async (query: string): Promise<Polled> =>
  (await (await fetch(`${sim.url}/bot${TOKEN}/getUpdates?${query}`)).json()) as Polled;

/** Resolves once the simulator has received `n` getUpdates calls. */
async function polls(n: number): Promise<void> {
  while (sim.requests().filter((r) => r.method === "getUpdates").length < n) {
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("grammy's bot.start()", () => {
  it("receives a pushed command and a button press, replies and answers the callback query", async () => {
    const bot = new Bot(TOKEN, { client: { apiRoot: sim.url } });
    const seen: Update[] = [];
    let answered: () => void = () => {};
    const done = new Promise<void>((ok) => {
      answered = ok;
    });
    bot.command("status", async (ctx) => {
      seen.push(ctx.update);
      await ctx.reply("equity 1000 USDT", {
        reply_markup: { inline_keyboard: [[{ text: "Refresh", callback_data: "refresh" }]] },
      });
    });
    bot.on("callback_query:data", async (ctx) => {
      seen.push(ctx.update);
      await ctx.answerCallbackQuery({ text: "refreshed" });
      await ctx.editMessageText("equity 1001 USDT");
      answered();
    });
    let started: () => void = () => {};
    const ready = new Promise<void>((ok) => {
      started = ok;
    });
    const running = bot.start({ timeout: 30, onStart: () => started() });
    await ready;

    const first = sim.pushUpdate({ kind: "message", chatId: 42, text: "/status", username: "ann" });
    while (sim.messages().length === 0) await new Promise((r) => setTimeout(r, 5));
    const second = sim.pushUpdate({ kind: "callback_query", chatId: 42, data: "refresh", messageId: 2 });
    await done;
    await bot.stop();
    await running;

    expect([first, second]).toEqual([1, 2]);
    expect(seen[0]).toEqual({
      update_id: 1,
      message: {
        message_id: 1,
        from: { id: 42, is_bot: false, first_name: "ann", username: "ann", language_code: "en" },
        chat: { id: 42, first_name: "ann", username: "ann", type: "private" },
        date: NOW / 1000,
        text: "/status",
        entities: [{ type: "bot_command", offset: 0, length: 7 }],
      },
    });
    const cb = seen[1]?.callback_query;
    expect(cb?.data).toBe("refresh");
    expect(cb?.from.id).toBe(42);
    expect(cb?.message?.message_id).toBe(2);
    expect(sim.callbackAnswers()).toEqual([
      {
        callback_query_id: cb?.id,
        chat_id: 42,
        message_id: 2,
        data: "refresh",
        text: "refreshed",
        show_alert: false,
      },
    ]);
    expect(sim.messages()).toMatchObject([
      { message_id: 2, text: "equity 1001 USDT", edit_date: NOW / 1000 },
    ]);
    expect(
      sim
        .requests()
        .map((r) => r.method)
        .slice(0, 3),
    ).toEqual(["getMe", "deleteWebhook", "getUpdates"]);
    // The stop confirmed both updates: nothing is delivered again.
    expect((await getUpdates("")).result).toEqual([]);
    const again = await bot.api.answerCallbackQuery(cb?.id ?? "").catch((e: GrammyError) => e.description);
    expect(again).toBe("Bad Request: query is too old and response timeout expired or query ID is invalid");
  });
});

describe("getUpdates", () => {
  it("a long poll is held until an update arrives", async () => {
    let answered = false;
    const poll = getUpdates("timeout=30").then((r) => {
      answered = true;
      return r;
    });
    await polls(1);
    expect(await (await fetch(`${sim.url}/bot${TOKEN}/getMe`)).status).toBe(200);
    expect(answered).toBe(false);
    const id = sim.pushUpdate({ kind: "message", chatId: 42, text: "hi" });
    const r = await poll;
    expect(r.result?.map((u) => [u.update_id, u.message?.text])).toEqual([[id, "hi"]]);
  });

  it("a long poll with nothing to deliver ends empty at its timeout", async () => {
    expect(await getUpdates("timeout=1")).toEqual({ ok: true, result: [] });
  });

  it("a second long poll ends the first with 409 Conflict", async () => {
    const a = getUpdates("timeout=30");
    await polls(1);
    const b = getUpdates("timeout=30");
    expect(await a).toEqual({
      ok: false,
      error_code: 409,
      description:
        "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
    });
    sim.pushUpdate({ kind: "message", chatId: 42, text: "to b" });
    expect((await b).result?.[0]?.message?.text).toBe("to b");
  });

  it("offset confirms earlier updates; limit; a negative offset keeps the last ones", async () => {
    const ids = ["a", "b", "c", "d"].map((text) => sim.pushUpdate({ kind: "message", chatId: 42, text }));
    const texts = (r: Polled) => r.result?.map((u) => u.message?.text);
    expect(texts(await getUpdates(""))).toEqual(["a", "b", "c", "d"]);
    expect(texts(await getUpdates("limit=2"))).toEqual(["a", "b"]);
    expect(texts(await getUpdates(`offset=${ids[1]}`))).toEqual(["b", "c", "d"]);
    expect(texts(await getUpdates("offset=0"))).toEqual(["b", "c", "d"]);
    expect(texts(await getUpdates("offset=-1"))).toEqual(["d"]);
    expect(texts(await getUpdates(`offset=${(ids[3] ?? 0) + 1}`))).toEqual([]);
    expect(texts(await getUpdates(""))).toEqual([]);
  });

  it("allowed_updates filters the updates created after it; [] restores the default", async () => {
    expect((await getUpdates(`allowed_updates=${encodeURIComponent('["callback_query"]')}`)).result).toEqual(
      [],
    );
    const skipped = sim.pushUpdate({ kind: "message", chatId: 42, text: "not delivered" });
    expect((await getUpdates("")).result).toEqual([]);
    await getUpdates("allowed_updates=[]");
    const kept = sim.pushUpdate({ kind: "message", chatId: 42, text: "delivered" });
    expect(kept).toBe(skipped + 1);
    expect((await getUpdates("")).result?.map((u) => u.message?.text)).toEqual(["delivered"]);
  });

  it("update ids keep increasing across a reset, so a poller's offset stays valid", async () => {
    const before = sim.pushUpdate({ kind: "message", chatId: 42, text: "a" });
    sim.reset();
    expect(sim.pushUpdate({ kind: "message", chatId: 42, text: "b" })).toBe(before + 1);
  });
});

describe("pushing updates", () => {
  it("POST /admin/updates mirrors pushUpdate; mistakes are 400 with the reason", async () => {
    const post = async (body: unknown) => {
      const r = await fetch(`${sim.url}/admin/updates`, { method: "POST", body: JSON.stringify(body) });
      return { status: r.status, body: await r.json() };
    };
    const update: UserUpdate = { kind: "message", chatId: 42, text: "/chart BTCUSDT" };
    const r = await post(update);
    expect(r.status).toBe(200);
    const polled = await getUpdates("");
    expect(polled.result?.[0]?.update_id).toBe((r.body as { update_id: number }).update_id);
    expect(polled.result?.[0]?.message?.entities).toEqual([{ type: "bot_command", offset: 0, length: 6 }]);
    expect(await post({ kind: "callback_query", chatId: 42, data: "x", messageId: 9 })).toEqual({
      status: 400,
      body: { error: "pushUpdate: chat 42 has no message 9 from bot 123456" },
    });
    expect(await post({ kind: "message", chatId: 42 })).toEqual({
      status: 400,
      body: { error: "pushUpdate: a message needs a text" },
    });
  });

  it("a button press must name a button of the bot's message", async () => {
    const bot = new Bot(TOKEN, { client: { apiRoot: sim.url } });
    await bot.api.sendMessage(42, "pick", {
      reply_markup: { inline_keyboard: [[{ text: "A", callback_data: "a" }]] },
    });
    expect(() => sim.pushUpdate({ kind: "callback_query", chatId: 42, data: "b", messageId: 1 })).toThrow(
      'pushUpdate: message 1 in chat 42 has no button with callback_data "b"',
    );
  });

  it("a user writing to the bot makes the chat exist", async () => {
    const bot = new Bot(TOKEN, { client: { apiRoot: sim.url } });
    const before = await bot.api.sendMessage(7, "x").catch((e: GrammyError) => e.description);
    expect(before).toBe("Bad Request: chat not found");
    sim.pushUpdate({ kind: "message", chatId: 7, text: "/start" });
    expect((await bot.api.sendMessage(7, "welcome")).message_id).toBe(2);
  });
});
