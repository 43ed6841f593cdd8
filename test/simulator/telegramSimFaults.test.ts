import { Bot, GrammyError, HttpError } from "grammy";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  startTelegramSim,
  type TelegramSim,
  type TelegramSimOptions,
} from "../../src/simulator/telegram/index.js";

/** Injected faults and the flood limit, as grammy (and a plain HTTP client) meets them. */

const TOKEN = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11";
const START = Date.UTC(2024, 4, 1, 12, 0, 0);

let clock = START;
let sim: TelegramSim;
let bot: Bot;

beforeAll(async () => {
  sim = await startTelegramSim({ tokens: [TOKEN], now: () => clock });
  bot = new Bot(TOKEN, { client: { apiRoot: sim.url } });
});
afterAll(async () => {
  await sim.close();
});
afterEach(() => {
  sim.reset();
  clock += 60_000; // a fresh minute: every chat's flood allowance is full again
});

async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "ok";
  } catch (err) {
    if (err instanceof GrammyError) {
      return `${err.error_code} ${err.description}${err.parameters.retry_after === undefined ? "" : ` retry_after=${err.parameters.retry_after}`}`;
    }
    if (err instanceof HttpError) return "HttpError";
    throw err;
  }
}

const send = (chat: number, text = "x") => outcome(bot.api.sendMessage(chat, text));

describe("rateLimit", () => {
  it("the next `count` calls get 429 with retry_after, as grammy's GrammyError", async () => {
    sim.faults.rateLimit({ retryAfter: 7, count: 2 });
    expect(await send(1)).toBe("429 Too Many Requests: retry after 7 retry_after=7");
    const r = await fetch(`${sim.url}/bot${TOKEN}/getMe`);
    expect(r.status).toBe(429);
    expect(r.headers.get("retry-after")).toBe("7");
    expect(await r.json()).toEqual({
      ok: false,
      error_code: 429,
      description: "Too Many Requests: retry after 7",
      parameters: { retry_after: 7 },
    });
    expect(await send(1)).toBe("ok");
    expect(sim.requests().map((r) => [r.method, r.status, r.fault])).toEqual([
      ["sendMessage", 429, "rateLimit"],
      ["getMe", 429, "rateLimit"],
      ["sendMessage", 200, undefined],
    ]);
    expect(sim.messages()).toHaveLength(1);
  });

  it("only the named methods, until cleared", async () => {
    sim.faults.rateLimit({ retryAfter: 3, methods: ["sendPhoto", "SENDMESSAGE"] });
    expect(await outcome(bot.api.getMe())).toBe("ok");
    expect(await send(1)).toBe("429 Too Many Requests: retry after 3 retry_after=3");
    expect(await send(1)).toBe("429 Too Many Requests: retry after 3 retry_after=3");
    expect(sim.faults.list().rules).toEqual([
      { kind: "rateLimit", retryAfter: 3, methods: ["sendPhoto", "SENDMESSAGE"], left: null },
    ]);
    sim.faults.clear();
    expect(await send(1)).toBe("ok");
  });

  it("refuses a retryAfter that is not whole seconds", () => {
    expect(() => sim.faults.rateLimit({ retryAfter: 0.5 })).toThrow(
      "rateLimit: retryAfter must be a whole number of seconds >= 1, got 0.5",
    );
  });
});

describe("serverError", () => {
  it("Telegram's JSON 5xx, or nginx's HTML page (grammy: HttpError)", async () => {
    sim.faults.serverError({ status: 502, count: 1 });
    expect(await send(1)).toBe("502 Bad Gateway");
    sim.faults.serverError({ status: 500, count: 1 });
    expect(await send(1)).toBe("500 Internal Server Error");
    sim.faults.serverError({ status: 502, count: 2, html: true });
    expect(await send(1)).toBe("HttpError");
    const r = await fetch(`${sim.url}/bot${TOKEN}/getMe`);
    expect([r.status, r.headers.get("content-type"), r.headers.get("server")]).toEqual([
      502,
      "text/html",
      "nginx/1.18.0",
    ]);
    expect(await r.text()).toContain("<center><h1>502 Bad Gateway</h1></center>");
    expect(await send(1)).toBe("ok");
    expect(sim.messages()).toHaveLength(1);
  });
});

describe("timeout", () => {
  it("a call is never answered: the client's AbortSignal ends it as HttpError; the next call is answered", async () => {
    sim.faults.timeout({ count: 1 });
    // grammy types its signal as the abort-controller package's; the platform's is what it takes at run time.
    const signal = AbortSignal.timeout(300) as unknown as Parameters<typeof bot.api.sendMessage>[3];
    const err = await bot.api.sendMessage(1, "lost", undefined, signal).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpError);
    expect(await send(1, "kept")).toBe("ok");
    expect(sim.messages().map((m) => m.text)).toEqual(["kept"]);
    expect(sim.requests().map((r) => [r.status, r.fault])).toEqual([
      [0, "timeout"],
      [200, undefined],
    ]);
  });

  it("a held call ends when the server closes", async () => {
    const other = await startTelegramSim({ tokens: [TOKEN] });
    other.faults.timeout();
    const pending = fetch(`${other.url}/bot${TOKEN}/getMe`).then(
      () => "answered",
      () => "failed",
    );
    while (other.requests().length === 0) await new Promise((r) => setImmediate(r));
    await other.close();
    expect(await pending).toBe("failed");
  });
});

describe("block", () => {
  it("403 bot was blocked by the user, until unblocked", async () => {
    sim.faults.block(42);
    expect(await send(42)).toBe("403 Forbidden: bot was blocked by the user");
    expect(await outcome(bot.api.sendChatAction(42, "typing"))).toBe(
      "403 Forbidden: bot was blocked by the user",
    );
    expect(await send(43)).toBe("ok");
    sim.faults.unblock(42);
    expect(await send(42)).toBe("ok");
  });
});

describe("outage", () => {
  it("every call fails with 502 until the time given", async () => {
    sim.faults.outage({ until: clock + 5_000 });
    expect(await outcome(bot.api.getMe())).toBe("502 Bad Gateway");
    expect(await send(1)).toBe("502 Bad Gateway");
    clock += 5_000;
    expect(await send(1)).toBe("ok");
    expect(sim.faults.list().outage).toBeNull();
  });

  it("until cleared; with reset, connections are cut", async () => {
    sim.faults.outage({ until: "cleared", reset: true });
    expect(await send(1)).toBe("HttpError");
    const raw = await fetch(`${sim.url}/bot${TOKEN}/getMe`).then(
      (r) => r.status,
      (e: Error) => e.message,
    );
    expect(raw).toBe("fetch failed");
    expect(sim.requests().map((r) => [r.status, r.fault])).toEqual([
      [0, "outage"],
      [0, "outage"],
    ]);
    sim.faults.clear();
    expect(await send(1)).toBe("ok");
  });
});

describe("flood limit", () => {
  it("a burst of 3 per chat, then 1 a second: 429 with retry_after, nothing sent", async () => {
    expect([await send(42), await send(42), await send(42)]).toEqual(["ok", "ok", "ok"]);
    expect(await send(42)).toBe("429 Too Many Requests: retry after 1 retry_after=1");
    expect(await send(43)).toBe("ok");
    clock += 999;
    expect(await send(42)).toBe("429 Too Many Requests: retry after 1 retry_after=1");
    clock += 1;
    expect(await send(42)).toBe("ok");
    expect(await send(42)).toBe("429 Too Many Requests: retry after 1 retry_after=1");
    expect(sim.messages().map((m) => m.chat_id)).toEqual([42, 42, 42, 43, 42]);
  });

  it("configurable per chat and per bot, or off", async () => {
    const options: TelegramSimOptions = {
      tokens: [TOKEN],
      now: () => clock,
      floodLimit: { perSecond: 0.5, burst: 1, globalPerSecond: 2 },
    };
    const strict = await startTelegramSim(options);
    const off = await startTelegramSim({ tokens: [TOKEN], now: () => clock, floodLimit: false });
    try {
      const s = new Bot(TOKEN, { client: { apiRoot: strict.url } });
      const o = new Bot(TOKEN, { client: { apiRoot: off.url } });
      expect(await outcome(s.api.sendMessage(1, "a"))).toBe("ok");
      expect(await outcome(s.api.sendMessage(1, "b"))).toBe(
        "429 Too Many Requests: retry after 2 retry_after=2",
      );
      expect(await outcome(s.api.sendMessage(2, "c"))).toBe("ok");
      expect(await outcome(s.api.sendMessage(3, "d"))).toBe(
        "429 Too Many Requests: retry after 1 retry_after=1",
      );
      const results: string[] = [];
      for (let i = 0; i < 10; i++) results.push(await outcome(o.api.sendMessage(1, `m${i}`)));
      expect(results).toEqual(Array(10).fill("ok"));
    } finally {
      await strict.close();
      await off.close();
    }
  });
});

describe("POST /admin/faults", () => {
  const admin = async (method: string, body?: unknown) => {
    const r = await fetch(`${sim.url}/admin/faults`, {
      method,
      ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
    });
    return { status: r.status, body: await r.json() };
  };

  it("sets, lists and clears faults over HTTP", async () => {
    const set = await admin("POST", {
      rateLimit: { retryAfter: 2, count: 1 },
      serverError: { status: 503, methods: ["getMe"] },
      block: [43, 44],
      outage: { until: clock + 1_000 },
    });
    expect(set).toEqual({
      status: 200,
      body: {
        rules: [
          { kind: "rateLimit", retryAfter: 2, count: 1, left: 1 },
          { kind: "serverError", status: 503, methods: ["getMe"], left: null },
        ],
        blocked: [43, 44],
        outage: { until: clock + 1_000 },
      },
    });
    expect(await send(1)).toBe("502 Bad Gateway");
    clock += 1_000;
    expect(await send(1)).toBe("429 Too Many Requests: retry after 2 retry_after=2");
    expect(await outcome(bot.api.getMe())).toBe("503 Service Unavailable");
    expect(await send(43)).toBe("403 Forbidden: bot was blocked by the user");
    expect((await admin("DELETE")).body).toEqual({ rules: [], blocked: [], outage: null });
    expect(await send(43)).toBe("ok");
  });

  it("a mistake is 400 with the reason", async () => {
    expect(await admin("POST", "{nope")).toMatchObject({
      status: 400,
      body: { error: expect.stringMatching(/^the body is not JSON/) },
    });
    expect(await admin("POST", { flood: true })).toEqual({
      status: 400,
      body: {
        error:
          'unknown fault "flood": expected rateLimit, serverError, timeout, block, unblock, outage or clear',
      },
    });
    expect(await admin("POST", { serverError: { status: 404 } })).toEqual({
      status: 400,
      body: { error: "serverError: status must be 500, 502, 503 or 504, got 404" },
    });
  });
});
