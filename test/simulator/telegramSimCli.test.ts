import { type ChildProcess, spawn } from "node:child_process";
import { resolve } from "node:path";
import { PNG } from "pngjs";
import { afterEach, describe, expect, it } from "vitest";
import { ROOT } from "../helpers/paths.js";

/** `itb telegram-sim` as a real process: start, a line per message the bot sends, stop on a signal. */

const TOKEN = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11";
const SECRET = "ABC-DEF1234ghIkl";

interface Run {
  child: ChildProcess;
  out(): string;
  err(): string;
  waitFor(pattern: RegExp): Promise<RegExpExecArray>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running = new Set<ChildProcess>();
afterEach(() => {
  for (const c of running) c.kill("SIGKILL");
  running.clear();
});

function start(args: string[], env: Record<string, string | undefined> = {}): Run {
  const { ITB_TELEGRAM_BOT_TOKEN: _drop, ...base } = process.env;
  const child = spawn(process.execPath, [resolve(ROOT, "dist/cli/run.js"), "telegram-sim", ...args], {
    cwd: ROOT,
    env: { ...base, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  let out = "";
  let err = "";
  const waiters = new Set<() => void>();
  child.stdout?.on("data", (b: Buffer) => {
    out += b.toString();
    for (const w of [...waiters]) w();
  });
  child.stderr?.on("data", (b: Buffer) => {
    err += b.toString();
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((ok) => {
    child.on("close", (code, signal) => {
      running.delete(child);
      for (const w of [...waiters]) w();
      ok({ code, signal });
    });
  });
  return {
    child,
    out: () => out,
    err: () => err,
    exit,
    waitFor: (pattern) =>
      new Promise((ok, fail) => {
        const check = () => {
          const m = pattern.exec(out);
          if (m !== null) {
            waiters.delete(check);
            ok(m);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            waiters.delete(check);
            fail(new Error(`exited before ${pattern}; stdout:\n${out}\nstderr:\n${err}`));
          }
        };
        waiters.add(check);
        check();
      }),
  };
}

describe("itb telegram-sim", () => {
  it("prints its URL, a line per message the bot sends, and exits 0 on SIGTERM", async () => {
    const run = start(["--port", "0", "--token", TOKEN, "--chat", "42"]);
    const url = (await run.waitFor(/telegram bot api on (http:\/\/127\.0\.0\.1:\d+)\n/))[1];
    const api = `${url}/bot${TOKEN}`;

    const r = await fetch(`${api}/sendMessage`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ chat_id: 42, text: "BTCUSDT buy\nscore 0.71" }),
    });
    expect(((await r.json()) as { ok: boolean }).ok).toBe(true);
    await run.waitFor(/^chat 42 text: BTCUSDT buy ⏎ score 0\.71$/m);

    const png = PNG.sync.write(new PNG({ width: 300, height: 200 }));
    const form = new FormData();
    form.set("chat_id", "42");
    form.set("caption", "equity");
    form.set("photo", new Blob([png]), "equity.png");
    expect((await fetch(`${api}/sendPhoto`, { method: "POST", body: form })).status).toBe(200);
    await run.waitFor(
      new RegExp(`^chat 42 photo: \\[photo ${(png.length / 1024).toFixed(1)} KB\\] equity$`, "m"),
    );

    const missing = await fetch(`${api}/sendMessage?chat_id=7&text=x`);
    expect(await missing.json()).toEqual({
      ok: false,
      error_code: 400,
      description: "Bad Request: chat not found",
    });

    run.child.kill("SIGTERM");
    expect(await run.exit).toEqual({ code: 0, signal: null });
    expect(run.out()).toMatch(/telegram-sim: stopped\n$/);
    expect(run.out()).toContain("bots: 123456:***");
    expect(run.out() + run.err()).not.toContain(SECRET);
  });

  it("takes the token from ITB_TELEGRAM_BOT_TOKEN and stops on SIGINT too", async () => {
    const run = start(["--port", "0", "--no-flood-limit"], { ITB_TELEGRAM_BOT_TOKEN: TOKEN });
    const url = (await run.waitFor(/telegram bot api on (http:\/\/\S+)\n/))[1];
    const me = (await (await fetch(`${url}/bot${TOKEN}/getMe`)).json()) as { result: { id: number } };
    expect(me.result.id).toBe(123456);
    expect(run.out()).toContain("flood limit: off");
    run.child.kill("SIGINT");
    expect((await run.exit).code).toBe(0);
  });

  it("without a token, or with a malformed one, exits 2 with a clear message and no secret", async () => {
    const none = start(["--port", "0"]);
    expect((await none.exit).code).toBe(2);
    expect(none.err()).toBe(
      "error: no bot token: give --token 123456:ABC-DEF... (repeatable) or set ITB_TELEGRAM_BOT_TOKEN\n",
    );
    const bad = start(["--port", "0", "--token", "12:has space"]);
    expect((await bad.exit).code).toBe(2);
    expect(bad.err()).toBe(
      "error: invalid --token 12:***: expected a bot token like 123456:ABC-DEF... (the bot's number, a colon, then letters, digits, _ or -)\n",
    );
    const chat = start(["--port", "0", "--token", TOKEN, "--chat", "abc"]);
    expect((await chat.exit).code).toBe(2);
    expect(chat.err()).toContain('invalid --chat "abc"');
  });
});
