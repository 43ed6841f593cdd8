import { createHash } from "node:crypto";
import { Bot, GrammyError, InputFile } from "grammy";
import { PNG } from "pngjs";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  type RequestRecord,
  type SentMessage,
  startTelegramSim,
  type TelegramSim,
} from "../../src/simulator/telegram/index.js";

/** The Bot API's envelopes, methods and record, seen through grammy and plain HTTP. */

const TOKEN = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11";
const OTHER = "654321:ZYX-wvu9876";
const NOW = Date.UTC(2024, 4, 1, 12, 0, 0);
const DATE = NOW / 1000;

function png(width: number, height: number): Buffer {
  const img = new PNG({ width, height });
  for (let i = 0; i < img.data.length; i++) img.data[i] = (i * 37) % 256;
  return PNG.sync.write(img);
}

let sim: TelegramSim;
let bot: Bot;
const lines: string[] = [];

beforeAll(async () => {
  sim = await startTelegramSim({
    tokens: [TOKEN, OTHER],
    chats: [42, 43, -100200300],
    log: (l) => lines.push(l),
    floodLimit: false,
    now: () => NOW,
  });
  bot = new Bot(TOKEN, { client: { apiRoot: sim.url } });
});
afterAll(async () => {
  await sim.close();
});
beforeEach(() => {
  sim.reset();
  lines.length = 0;
});

/** The description of the API error a call fails with, or "ok". */
async function desc(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "ok";
  } catch (err) {
    if (err instanceof GrammyError) return err.description;
    throw err;
  }
}

async function raw(path: string, init?: RequestInit): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${sim.url}${path}`, init);
  return { status: res.status, body: await res.json() };
}

describe("envelopes", () => {
  it("getMe answers {ok:true,result} with the bot's user", async () => {
    expect(await raw(`/bot${TOKEN}/getMe`)).toEqual({
      status: 200,
      body: {
        ok: true,
        result: {
          id: 123456,
          is_bot: true,
          first_name: "itb test bot",
          username: "itb_test_123456_bot",
          can_join_groups: true,
          can_read_all_group_messages: false,
          supports_inline_queries: false,
          can_connect_to_business: false,
          has_main_web_app: false,
          has_topics_enabled: false,
          allows_users_to_create_topics: false,
          can_manage_bots: false,
          supports_join_request_queries: false,
        },
      },
    });
    const me = await bot.api.getMe();
    expect(me.username).toBe("itb_test_123456_bot");
  });

  it("an unknown method is 404 Not Found; method names are case-insensitive", async () => {
    expect(await raw(`/bot${TOKEN}/sendTelepathy`)).toEqual({
      status: 404,
      body: { ok: false, error_code: 404, description: "Not Found" },
    });
    expect((await raw(`/bot${TOKEN}/GETME`)).status).toBe(200);
    expect((await raw(`/bot${TOKEN}/sendmessage?chat_id=42&text=hi`)).body).toMatchObject({
      ok: true,
      result: { message_id: 1, text: "hi" },
    });
    expect(await raw("/")).toEqual({
      status: 404,
      body: { ok: false, error_code: 404, description: "Not Found" },
    });
  });

  it("a well-formed unknown token is 401 Unauthorized, a malformed one 404; grammy throws GrammyError", async () => {
    expect(await raw("/bot999:nope/getMe")).toEqual({
      status: 401,
      body: { ok: false, error_code: 401, description: "Unauthorized" },
    });
    expect((await raw("/botnot-a-token/getMe")).status).toBe(404);
    const stranger = new Bot("999:nope", { client: { apiRoot: sim.url } });
    const err = await stranger.api.getMe().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GrammyError);
    expect((err as GrammyError).error_code).toBe(401);
    expect((err as GrammyError).description).toBe("Unauthorized");
  });

  it("deleteWebhook answers true with Telegram's description; getWebhookInfo shows no webhook", async () => {
    expect((await raw(`/bot${TOKEN}/deleteWebhook`, { method: "POST" })).body).toEqual({
      ok: true,
      result: true,
      description: "Webhook is already deleted",
    });
    sim.pushUpdate({ kind: "message", chatId: 42, text: "hello" });
    expect(await bot.api.getWebhookInfo()).toEqual({
      url: "",
      has_custom_certificate: false,
      pending_update_count: 1,
    });
    await bot.api.deleteWebhook({ drop_pending_updates: true });
    expect((await bot.api.getWebhookInfo()).pending_update_count).toBe(0);
  });
});

describe("parameters in every encoding", () => {
  const expected = { ok: true, result: { message_id: 1, chat: { id: 42 }, text: "a b" } };

  it("query string (GET)", async () => {
    expect((await raw(`/bot${TOKEN}/sendMessage?chat_id=42&text=a%20b`)).body).toMatchObject(expected);
  });

  it("application/x-www-form-urlencoded", async () => {
    const r = await raw(`/bot${TOKEN}/sendMessage`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "chat_id=42&text=a+b",
    });
    expect(r.body).toMatchObject(expected);
  });

  it("application/json, numbers and objects as Telegram reads them", async () => {
    const r = await raw(`/bot${TOKEN}/sendMessage`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        chat_id: 42,
        text: "a b",
        reply_markup: { inline_keyboard: [[{ text: "Go", callback_data: "go" }]] },
      }),
    });
    expect(r.body).toMatchObject({
      ...expected,
      result: {
        ...expected.result,
        reply_markup: { inline_keyboard: [[{ text: "Go", callback_data: "go" }]] },
      },
    });
  });

  it("multipart/form-data (fields, and reply_markup as JSON text)", async () => {
    const form = new FormData();
    form.set("chat_id", "42");
    form.set("text", "a b");
    form.set(
      "reply_markup",
      JSON.stringify({ inline_keyboard: [[{ text: "Site", url: "https://example.com" }]] }),
    );
    const r = await raw(`/bot${TOKEN}/sendMessage`, { method: "POST", body: form });
    expect(r.body).toMatchObject({
      ...expected,
      result: { reply_markup: { inline_keyboard: [[{ text: "Site", url: "https://example.com" }]] } },
    });
  });

  it("a JSON body that is not an object is refused", async () => {
    const r = await raw(`/bot${TOKEN}/sendMessage`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "[1,2]",
    });
    expect(r).toEqual({
      status: 400,
      body: { ok: false, error_code: 400, description: "Bad Request: JSON object expected" },
    });
  });
});

describe("sending", () => {
  it("sendMessage returns the Message with parsed text and entities; the record keeps what was sent", async () => {
    const msg = await bot.api.sendMessage(42, "<b>BTC</b> up 2%", {
      parse_mode: "HTML",
      disable_notification: true,
      link_preview_options: { is_disabled: true },
    });
    expect(msg).toEqual({
      message_id: 1,
      from: { id: 123456, is_bot: true, first_name: "itb test bot", username: "itb_test_123456_bot" },
      chat: { id: 42, first_name: "User", type: "private" },
      date: DATE,
      text: "BTC up 2%",
      entities: [{ type: "bold", offset: 0, length: 3 }],
      link_preview_options: { is_disabled: true },
    });
    const record: SentMessage = {
      message_id: 1,
      chat_id: 42,
      date: DATE,
      kind: "text",
      text: "<b>BTC</b> up 2%",
      parse_mode: "HTML",
      method: "sendMessage",
      bot_id: 123456,
      disable_notification: true,
      link_preview_options: { is_disabled: true },
    };
    expect(sim.messages()).toEqual([record]);
    expect(lines).toEqual(["bot 123456 chat 42 text: <b>BTC</b> up 2%"]);
  });

  it("message ids increase per chat and are shared with the user's messages", async () => {
    const a = await bot.api.sendMessage(42, "one");
    const b = await bot.api.sendMessage(43, "one");
    sim.pushUpdate({ kind: "message", chatId: 42, text: "hi" });
    const c = await bot.api.sendMessage(42, "two");
    expect([a.message_id, b.message_id, c.message_id]).toEqual([1, 1, 3]);
    expect(sim.messages().map((m) => [m.chat_id, m.message_id])).toEqual([
      [42, 1],
      [43, 1],
      [42, 3],
    ]);
  });

  it("sendPhoto keeps the exact bytes; the PhotoSize list is Telegram's scaled copies; the file_id can be sent again", async () => {
    const bytes = png(1000, 500);
    const msg = await bot.api.sendPhoto(42, new InputFile(bytes, "chart.png"), {
      caption: "*BTCUSDT* 1h",
      parse_mode: "MarkdownV2",
    });
    expect(msg.caption).toBe("BTCUSDT 1h");
    expect(msg.caption_entities).toEqual([{ type: "bold", offset: 0, length: 7 }]);
    expect(msg.photo?.map((p) => [p.width, p.height])).toEqual([
      [90, 45],
      [320, 160],
      [800, 400],
      [1000, 500],
    ]);
    const largest = msg.photo?.[3];
    expect(largest?.file_size).toBe(bytes.length);
    const rec = sim.messages()[0];
    expect(rec?.kind).toBe("photo");
    expect(rec?.caption).toBe("*BTCUSDT* 1h");
    expect(rec?.photo?.bytes.equals(bytes)).toBe(true);
    expect(rec?.photo?.size).toBe(bytes.length);
    expect(rec?.photo?.sha256).toBe(createHash("sha256").update(bytes).digest("hex"));
    expect(rec?.photo?.file_id).toBe(largest?.file_id);
    expect(lines).toEqual([
      `bot 123456 chat 42 photo: [photo ${(bytes.length / 1024).toFixed(1)} KB] *BTCUSDT* 1h`,
    ]);

    const again = await bot.api.sendPhoto(43, largest?.file_id ?? "");
    expect(again.photo?.[3]?.file_id).toBe(largest?.file_id);
    expect(sim.messages()[1]?.photo?.bytes.equals(bytes)).toBe(true);
  });

  it("sendPhoto takes a plain multipart `photo` file too (curl -F photo=@chart.png)", async () => {
    const bytes = png(64, 48);
    const form = new FormData();
    form.set("chat_id", "42");
    form.set("photo", new Blob([bytes]), "chart.png");
    const r = await raw(`/bot${TOKEN}/sendPhoto`, { method: "POST", body: form });
    expect(r.body).toMatchObject({
      ok: true,
      result: { photo: [{ width: 64, height: 48, file_size: bytes.length }] },
    });
    expect(sim.messages()[0]?.photo?.bytes.equals(bytes)).toBe(true);
  });

  it("sendPhoto reads the size of JPEG, GIF and WebP images from their headers", async () => {
    const jpeg = Buffer.from(
      "ffd8ffe000104a46494600010100000100010000ffc0001108025803200301220002110103110100",
      "hex",
    );
    const gif = Buffer.concat([
      Buffer.from("GIF89a"),
      Buffer.from([0x40, 0x01, 0xf0, 0x00]),
      Buffer.alloc(8),
    ]);
    const webp = Buffer.alloc(30);
    webp.write("RIFF", 0, "latin1");
    webp.write("WEBPVP8X", 8, "latin1");
    webp.writeUIntLE(1999, 24, 3);
    webp.writeUIntLE(99, 27, 3);
    const sizes: number[][][] = [];
    for (const bytes of [jpeg, gif, webp]) {
      const m = await bot.api.sendPhoto(42, new InputFile(bytes));
      sizes.push(m.photo.map((p) => [p.width, p.height]));
    }
    expect(sizes).toEqual([
      [
        [90, 68],
        [320, 240],
        [800, 600],
      ],
      [
        [90, 68],
        [320, 240],
      ],
      [
        [90, 5],
        [320, 16],
        [800, 40],
        [1280, 64],
        [2000, 100],
      ],
    ]);
  });

  it("sendPhoto without a photo, or with bytes that are no image, fails as Telegram does", async () => {
    const r = await raw(`/bot${TOKEN}/sendPhoto?chat_id=42`);
    expect(r.body).toEqual({
      ok: false,
      error_code: 400,
      description: "Bad Request: there is no photo in the request",
    });
    const err = await desc(bot.api.sendPhoto(42, new InputFile(Buffer.from("not an image"))));
    expect(err).toBe("Bad Request: IMAGE_PROCESS_FAILED");
    const unknown = await desc(bot.api.sendPhoto(42, "AgACAgIAAxkBAAIunknown"));
    expect(unknown).toBe("Bad Request: wrong file identifier/HTTP URL specified");
    expect(sim.messages()).toEqual([]);
  });

  it("sendChatAction answers true and checks the action", async () => {
    expect(await bot.api.sendChatAction(42, "upload_photo")).toBe(true);
    const err = await raw(`/bot${TOKEN}/sendChatAction?chat_id=42&action=dancing`);
    expect(err.body).toEqual({
      ok: false,
      error_code: 400,
      description: "Bad Request: wrong parameter action in request",
    });
  });
});

describe("editing", () => {
  it("editMessageText changes the text, adds edit_date, and refuses an edit that changes nothing", async () => {
    const sent = await bot.api.sendMessage(42, "price 100", {
      reply_markup: { inline_keyboard: [[{ text: "Refresh", callback_data: "refresh" }]] },
    });
    const edited = await bot.api.editMessageText(42, sent.message_id, "price *101*", {
      parse_mode: "Markdown",
      reply_markup: { inline_keyboard: [[{ text: "Refresh", callback_data: "refresh" }]] },
    });
    expect(edited).toMatchObject({
      message_id: 1,
      text: "price 101",
      entities: [{ type: "bold", offset: 6, length: 3 }],
      edit_date: DATE,
    });
    expect(sim.messages()).toMatchObject([
      { message_id: 1, text: "price *101*", parse_mode: "Markdown", edit_date: DATE },
    ]);
    expect(lines).toEqual(["bot 123456 chat 42 text: price 100", "bot 123456 chat 42 edit 1: price *101*"]);
    const same = await desc(
      bot.api.editMessageText(42, 1, "price *101*", {
        parse_mode: "Markdown",
        reply_markup: { inline_keyboard: [[{ text: "Refresh", callback_data: "refresh" }]] },
      }),
    );
    expect(same).toBe(
      "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message",
    );
  });

  it("editMessageReplyMarkup removes the keyboard; unknown or foreign messages cannot be edited", async () => {
    await bot.api.sendMessage(42, "pick", {
      reply_markup: { inline_keyboard: [[{ text: "A", callback_data: "a" }]] },
    });
    const m = await bot.api.editMessageReplyMarkup(42, 1);
    expect(m).toMatchObject({ message_id: 1, text: "pick", edit_date: DATE });
    expect("reply_markup" in (m as object)).toBe(false);
    const missing = await desc(bot.api.editMessageText(42, 99, "x"));
    expect(missing).toBe("Bad Request: message to edit not found");
    sim.pushUpdate({ kind: "message", chatId: 42, text: "mine" });
    const foreign = await desc(bot.api.editMessageText(42, 2, "x"));
    expect(foreign).toBe("Bad Request: message can't be edited");
    await bot.api.sendPhoto(42, new InputFile(png(10, 10)));
    const photo = await desc(bot.api.editMessageText(42, 3, "x"));
    expect(photo).toBe("Bad Request: there is no text in the message to edit");
  });
});

describe("commands", () => {
  it("setMyCommands / getMyCommands / deleteMyCommands per scope and language", async () => {
    expect(await bot.api.getMyCommands()).toEqual([]);
    await bot.api.setMyCommands([
      { command: "status", description: "positions and equity" },
      { command: "/chart", description: " the last day " },
    ]);
    await bot.api.setMyCommands([{ command: "stop", description: "stop trading" }], {
      scope: { type: "chat", chat_id: 42 },
    });
    expect(await bot.api.getMyCommands()).toEqual([
      { command: "status", description: "positions and equity" },
      { command: "chart", description: "the last day" },
    ]);
    expect(await bot.api.getMyCommands({ scope: { type: "chat", chat_id: 42 } })).toEqual([
      { command: "stop", description: "stop trading" },
    ]);
    expect(await bot.api.getMyCommands({ language_code: "de" })).toEqual([]);
    await bot.api.deleteMyCommands();
    expect(await bot.api.getMyCommands()).toEqual([]);
    const bad = await desc(bot.api.setMyCommands([{ command: "Status", description: "x" }]));
    expect(bad).toBe("Bad Request: BOT_COMMAND_INVALID");
    const empty = await desc(bot.api.setMyCommands([{ command: "x", description: " " }]));
    expect(empty).toBe("Bad Request: command description must be non-empty");
  });
});

describe("the record", () => {
  it("requests() lists every call with the token masked; no token appears anywhere", async () => {
    await bot.api.getMe();
    await bot.api.sendMessage(43, "x");
    await raw(`/bot${OTHER}/sendMessage?chat_id=1&text=y`);
    await raw("/bot999:secret-value/getMe");
    const reqs: RequestRecord[] = sim.requests();
    expect(reqs.map((r) => [r.method, r.path, r.httpMethod, r.status, r.at])).toEqual([
      ["getMe", "/bot123456:***/getMe", "POST", 200, NOW],
      ["sendMessage", "/bot123456:***/sendMessage", "POST", 200, NOW],
      ["sendMessage", "/bot654321:***/sendMessage", "GET", 400, NOW],
      ["getMe", "/bot999:***/getMe", "GET", 401, NOW],
    ]);
    expect(reqs[2]?.description).toBe("Bad Request: chat not found");
    const everything = JSON.stringify([reqs, sim.messages(), lines, (await raw("/admin/requests")).body]);
    for (const secret of ["ABC-DEF1234ghIkl", "ZYX-wvu9876", "secret-value"])
      expect(everything).not.toContain(secret);
  });

  it("GET /admin/messages lists the messages, photos without their bytes", async () => {
    await bot.api.sendMessage(42, "hello");
    await bot.api.sendPhoto(42, new InputFile(png(20, 10)), { caption: "c" });
    const r = await raw("/admin/messages");
    expect(r.status).toBe(200);
    const list = r.body as Array<Record<string, unknown>>;
    expect(list.map((m) => [m.message_id, m.kind, m.text ?? m.caption])).toEqual([
      [1, "text", "hello"],
      [2, "photo", "c"],
    ]);
    expect(Object.keys(list[1]?.photo as object).sort()).toEqual([
      "file_id",
      "height",
      "sha256",
      "size",
      "width",
    ]);
  });

  it("POST /admin/reset forgets messages and requests; message ids start again", async () => {
    await bot.api.sendMessage(42, "before");
    expect((await raw("/admin/reset", { method: "POST" })).body).toEqual({ reset: true });
    expect(sim.messages()).toEqual([]);
    expect(sim.requests()).toEqual([]);
    expect((await bot.api.sendMessage(42, "after")).message_id).toBe(1);
  });
});
