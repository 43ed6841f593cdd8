import { Bot, GrammyError, InputFile } from "grammy";
import type { Message, MessageEntity, ParseMode } from "grammy/types";
import { PNG } from "pngjs";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startTelegramSim, type TelegramSim } from "../../src/simulator/telegram/index.js";

/** Telegram's checks of what a bot sends, with its error texts, and its parse modes' entities. */

const TOKEN = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11";

let sim: TelegramSim;
let bot: Bot;

beforeAll(async () => {
  sim = await startTelegramSim({ tokens: [TOKEN], chats: [42], floodLimit: false });
  bot = new Bot(TOKEN, { client: { apiRoot: sim.url } });
});
afterAll(async () => {
  await sim.close();
});
beforeEach(() => {
  sim.reset();
});

/** The description of the error sendMessage fails with, or "ok". */
async function failure(text: string, parseMode?: ParseMode, chat = 42): Promise<string> {
  try {
    await bot.api.sendMessage(chat, text, parseMode === undefined ? {} : { parse_mode: parseMode });
    return "ok";
  } catch (err) {
    if (err instanceof GrammyError) return `${err.error_code} ${err.description}`;
    throw err;
  }
}

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

async function parsed(
  text: string,
  parseMode: ParseMode,
): Promise<{ text: string; entities?: MessageEntity[] }> {
  const m: Message.TextMessage = await bot.api.sendMessage(42, text, { parse_mode: parseMode });
  return m.entities === undefined ? { text: m.text } : { text: m.text, entities: m.entities };
}

describe("text", () => {
  it("empty, blank, or empty after parsing", async () => {
    expect(await failure("")).toBe("400 Bad Request: message text is empty");
    expect(await failure("  \n ")).toBe("400 Bad Request: text must be non-empty");
    expect(await failure("<b></b>", "HTML")).toBe("400 Bad Request: text must be non-empty");
  });

  it("at most 4096 characters after entity parsing (code points, as Telegram counts)", async () => {
    expect(await failure("x".repeat(4096))).toBe("ok");
    expect(await failure("x".repeat(4097))).toBe("400 Bad Request: message is too long");
    expect(await failure(`<b>${"x".repeat(4096)}</b>`, "HTML")).toBe("ok");
    expect(await failure(`<b>${"x".repeat(4097)}</b>`, "HTML")).toBe("400 Bad Request: message is too long");
    expect(await failure("😀".repeat(4096))).toBe("ok");
    expect(await failure("😀".repeat(4097))).toBe("400 Bad Request: message is too long");
    expect(await failure("я".repeat(16385))).toBe("400 Bad Request: text is too long");
  });

  it("the text is checked before the chat", async () => {
    expect(await failure("", undefined, 7)).toBe("400 Bad Request: message text is empty");
    expect(await failure("hi", undefined, 7)).toBe("400 Bad Request: chat not found");
    const r = await fetch(`${sim.url}/bot${TOKEN}/sendMessage?text=hi`);
    expect(await r.json()).toEqual({
      ok: false,
      error_code: 400,
      description: "Bad Request: chat_id is empty",
    });
  });

  it("an unknown parse_mode", async () => {
    expect(await failure("x", "Markdown3" as ParseMode)).toBe("400 Bad Request: unsupported parse_mode");
  });
});

describe("caption", () => {
  const img = (() => {
    const p = new PNG({ width: 4, height: 4 });
    return PNG.sync.write(p);
  })();

  it("at most 1024 characters", async () => {
    const ok = await bot.api.sendPhoto(42, new InputFile(img), { caption: "c".repeat(1024) });
    expect(ok.caption?.length).toBe(1024);
    const err = await desc(bot.api.sendPhoto(42, new InputFile(img), { caption: "c".repeat(1025) }));
    expect(err).toBe("Bad Request: message caption is too long");
    const markup = await desc(
      bot.api.sendPhoto(42, new InputFile(img), { caption: "*c", parse_mode: "Markdown" }),
    );
    expect(markup).toBe(
      "Bad Request: can't parse entities: Can't find end of the entity starting at byte offset 0",
    );
  });
});

describe("Markdown (legacy)", () => {
  it("an unclosed *, _, ` or [ names its byte offset", async () => {
    const e = "400 Bad Request: can't parse entities: Can't find end of the entity starting at byte offset";
    expect(await failure("*bold", "Markdown")).toBe(`${e} 0`);
    expect(await failure("a _b", "Markdown")).toBe(`${e} 2`);
    expect(await failure("x `code", "Markdown")).toBe(`${e} 2`);
    expect(await failure("see [link", "Markdown")).toBe(`${e} 4`);
    expect(await failure("héllo *x", "Markdown")).toBe(`${e} 7`);
    expect(await failure("BTC_USDT up", "Markdown")).toBe(`${e} 3`);
  });

  it("entities, escapes, links and mentions", async () => {
    expect(await parsed("_it_ *b* `c` [x](http://a.b/p) \\*", "Markdown")).toEqual({
      text: "it b c x *",
      entities: [
        { type: "italic", offset: 0, length: 2 },
        { type: "bold", offset: 3, length: 1 },
        { type: "code", offset: 5, length: 1 },
        { type: "text_link", offset: 7, length: 1, url: "http://a.b/p" },
      ],
    });
    expect(await parsed("[Ann](tg://user?id=5)", "Markdown")).toEqual({
      text: "Ann",
      entities: [
        { type: "text_mention", offset: 0, length: 3, user: { id: 5, is_bot: false, first_name: "" } },
      ],
    });
  });
});

describe("MarkdownV2", () => {
  it("an unescaped reserved character is refused", async () => {
    const e = (c: string) =>
      `400 Bad Request: can't parse entities: Character '${c}' is reserved and must be escaped with the preceding '\\'`;
    for (const c of ["]", "(", ")", "#", "+", "-", "=", "{", "}", ".", "!", "|"]) {
      expect(await failure(`a ${c} b`, "MarkdownV2"), c).toBe(e(c));
    }
    expect(await failure("a > b", "MarkdownV2")).toBe(e(">"));
    expect(await failure("price 1.5", "MarkdownV2")).toBe(e("."));
  });

  it("an unclosed entity names its kind and byte offset", async () => {
    const e = "400 Bad Request: can't parse entities: Can't find end of";
    expect(await failure("_x", "MarkdownV2")).toBe(`${e} Italic entity at byte offset 0`);
    expect(await failure("ab *x", "MarkdownV2")).toBe(`${e} Bold entity at byte offset 3`);
    expect(await failure("__u", "MarkdownV2")).toBe(`${e} Underline entity at byte offset 0`);
    expect(await failure("~s", "MarkdownV2")).toBe(`${e} Strikethrough entity at byte offset 0`);
    expect(await failure("||s", "MarkdownV2")).toBe(`${e} Spoiler entity at byte offset 0`);
    expect(await failure("`c", "MarkdownV2")).toBe(`${e} Code entity at byte offset 0`);
    expect(await failure("[a", "MarkdownV2")).toBe(`${e} TextUrl entity at byte offset 0`);
    expect(await failure("[a](http://x.y", "MarkdownV2")).toBe(
      "400 Bad Request: can't parse entities: Can't find end of a URL at byte offset 4",
    );
  });

  it("entities, nesting, escapes, pre with a language, surrogate pairs", async () => {
    expect(await parsed("*a _b_* __u__ ~s~ ||p|| 1\\.5 \\- ok", "MarkdownV2")).toEqual({
      text: "a b u s p 1.5 - ok",
      entities: [
        { type: "bold", offset: 0, length: 3 },
        { type: "italic", offset: 2, length: 1 },
        { type: "underline", offset: 4, length: 1 },
        { type: "strikethrough", offset: 6, length: 1 },
        { type: "spoiler", offset: 8, length: 1 },
      ],
    });
    expect(await parsed("```python\nprint(1)\n```", "MarkdownV2")).toEqual({
      text: "print(1)",
      entities: [{ type: "pre", offset: 0, length: 8, language: "python" }],
    });
    expect(await parsed("😀 *x* [s](https://example.com/a\\)b)", "MarkdownV2")).toEqual({
      text: "😀 x s",
      entities: [
        { type: "bold", offset: 3, length: 1 },
        { type: "text_link", offset: 5, length: 1, url: "https://example.com/a)b" },
      ],
    });
    expect(await parsed(">quoted\nplain", "MarkdownV2")).toEqual({
      text: "quoted\nplain",
      entities: [{ type: "blockquote", offset: 0, length: 7 }],
    });
  });
});

describe("HTML", () => {
  it("unknown, unclosed, unmatched and unexpected tags", async () => {
    const e = "400 Bad Request: can't parse entities:";
    expect(await failure("<foo>x</foo>", "HTML")).toBe(`${e} Unsupported start tag "foo" at byte offset 0`);
    expect(await failure("a < b", "HTML")).toBe(`${e} Unsupported start tag "" at byte offset 2`);
    expect(await failure("<b>x", "HTML")).toBe(`${e} Can't find end tag corresponding to start tag "b"`);
    expect(await failure("<b>x</i>", "HTML")).toBe(
      `${e} Unmatched end tag at byte offset 4, expected "</b>", found "</i>"`,
    );
    expect(await failure("x</b>", "HTML")).toBe(`${e} Unexpected end tag at byte offset 1`);
    expect(await failure("<b", "HTML")).toBe(`${e} Unclosed start tag at byte offset 0`);
    expect(await failure('<span class="x">y</span>', "HTML")).toBe(
      `${e} Tag "span" must have class "tg-spoiler" at byte offset 0`,
    );
  });

  it("entities and character references", async () => {
    expect(
      await parsed(
        '<a href="https://t.me/x">t</a> <code>c</code> <pre><code class="language-ts">x</code></pre> &lt;b&gt; &amp; <i>é</i> <tg-spoiler>s</tg-spoiler>',
        "HTML",
      ),
    ).toEqual({
      text: "t c x <b> & é s",
      entities: [
        { type: "text_link", offset: 0, length: 1, url: "https://t.me/x" },
        { type: "code", offset: 2, length: 1 },
        { type: "pre", offset: 4, length: 1, language: "ts" },
        { type: "italic", offset: 12, length: 1 },
        { type: "spoiler", offset: 14, length: 1 },
      ],
    });
    expect(await parsed("<blockquote expandable>q</blockquote>", "HTML")).toEqual({
      text: "q",
      entities: [{ type: "expandable_blockquote", offset: 0, length: 1 }],
    });
  });
});

describe("reply_markup", () => {
  const send = (markup: string) =>
    fetch(
      `${sim.url}/bot${TOKEN}/sendMessage?chat_id=42&text=x&reply_markup=${encodeURIComponent(markup)}`,
    ).then(async (r) => ((await r.json()) as { description?: string }).description ?? "ok");

  it("Telegram's errors for malformed keyboards and over-long callback data", async () => {
    expect(await send("{nope")).toBe("Bad Request: can't parse reply keyboard markup JSON object");
    expect(await send("[]")).toBe("Bad Request: object expected as reply markup");
    expect(await send(JSON.stringify({ inline_keyboard: [[{ text: "x" }]] }))).toBe(
      "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard",
    );
    expect(await send(JSON.stringify({ inline_keyboard: [{ text: "x" }] }))).toBe(
      'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays',
    );
    expect(
      await send(JSON.stringify({ inline_keyboard: [[{ text: "x", callback_data: "d".repeat(65) }]] })),
    ).toBe("Bad Request: BUTTON_DATA_INVALID");
    expect(await send(JSON.stringify({ inline_keyboard: [[{ text: "x", url: "localhost:3000" }]] }))).toBe(
      "Bad Request: inline keyboard button URL 'localhost:3000' is invalid: Wrong HTTP URL",
    );
    expect(
      await send(JSON.stringify({ inline_keyboard: [[{ text: "x", callback_data: "d".repeat(64) }]] })),
    ).toBe("ok");
    expect(await send(JSON.stringify({ remove_keyboard: true }))).toBe("ok");
  });
});
