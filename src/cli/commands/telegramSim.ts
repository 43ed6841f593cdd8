import type { Command } from "commander";
import { SECRET_ENV } from "../../config/secrets.js";
import { UsageError } from "../../core/errors.js";
import { maskToken, startTelegramSim, tokenBotId } from "../../simulator/telegram/index.js";

interface TelegramSimCliOptions {
  port: string;
  host: string;
  token: string[];
  chat: string[];
  floodLimit: boolean;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function tokens(given: string[]): string[] {
  const env = SECRET_ENV.telegram_bot_token;
  const list = given.length > 0 ? given : [process.env[env] ?? ""].filter((t) => t.trim() !== "");
  if (list.length === 0) {
    throw new UsageError(`no bot token: give --token 123456:ABC-DEF... (repeatable) or set ${env}`);
  }
  const seen = new Set<number>();
  for (const t of list) {
    const where = given.length > 0 ? "--token" : env;
    const id = tokenBotId(t);
    if (id === undefined) {
      throw new UsageError(
        `invalid ${where} ${maskToken(t)}: expected a bot token like 123456:ABC-DEF... (the bot's number, a colon, then letters, digits, _ or -)`,
      );
    }
    if (seen.has(id)) throw new UsageError(`two tokens for bot ${id} in ${where}`);
    seen.add(id);
  }
  return list;
}

function chats(given: string[]): number[] | undefined {
  if (given.length === 0) return undefined;
  return given.map((c) => {
    const n = Number(c);
    if (!/^-?\d+$/.test(c.trim()) || !Number.isSafeInteger(n) || n === 0) {
      throw new UsageError(
        `invalid --chat "${c}": expected a chat id, a non-zero integer (negative for groups)`,
      );
    }
    return n;
  });
}

function port(text: string): number {
  const n = Number(text);
  if (text.trim() === "" || !Number.isInteger(n) || n < 0 || n > 65535) {
    throw new UsageError(`invalid --port "${text}": expected a number from 0 to 65535`);
  }
  return n;
}

export function registerTelegramSimCommand(program: Command): void {
  program
    .command("telegram-sim")
    .summary("run a Telegram Bot API server on loopback that shows what a bot sends")
    .description(
      "Answers the Bot API at http://HOST:PORT/bot<token>/<method> as api.telegram.org does (getMe, sendMessage, " +
        "sendPhoto, getUpdates long polling, editMessageText, answerCallbackQuery, commands, ...), with " +
        "Telegram's envelopes, error texts, parse modes and per-chat flood limit. Point a client's API root at it " +
        "(grammy: client.apiRoot). Prints one line per message the bot sends. Users' messages and button presses " +
        "are pushed at POST /admin/updates; faults (429, 5xx, timeouts, blocked chats, outages) at POST " +
        "/admin/faults; GET /admin/messages lists what was sent. Runs until Ctrl-C. See docs/simulator.md.",
    )
    .option("--port <port>", "port (0: any free port)", "8081")
    .option("--host <host>", "address to listen on", "127.0.0.1")
    .option(
      "--token <token>",
      `accepted bot token, repeatable (default: ${SECRET_ENV.telegram_bot_token} from the environment)`,
      collect,
      [],
    )
    .option("--chat <id>", "a chat that exists, repeatable (default: any chat id)", collect, [])
    .option("--no-flood-limit", "turn off the per-chat flood limit (1 message/s, burst 3; 30/s per bot)")
    .addHelpText(
      "after",
      "\nExample:\n  itb telegram-sim --port 8081 --token 123456:TEST --chat 42\n" +
        `  (or set ${SECRET_ENV.telegram_bot_token} instead of --token)\n` +
        "  then: curl 'http://127.0.0.1:8081/bot123456:TEST/sendMessage?chat_id=42&text=hello'\n" +
        `        curl -X POST http://127.0.0.1:8081/admin/updates -d '{"kind":"message","chatId":42,"text":"/status"}'`,
    )
    .action(async (opts: TelegramSimCliOptions) => {
      const list = tokens(opts.token);
      const chatList = chats(opts.chat);
      const sim = await startTelegramSim({
        tokens: list,
        chats: chatList,
        port: port(opts.port),
        host: opts.host,
        floodLimit: opts.floodLimit ? undefined : false,
        log: (line) => process.stdout.write(`${line}\n`),
      });
      process.stdout.write(
        `telegram bot api on ${sim.url}\n` +
          `  bots: ${list.map(maskToken).join(", ")}   chats: ${chatList?.join(", ") ?? "any"}   flood limit: ${opts.floodLimit ? "on" : "off"}\n` +
          `  admin: ${sim.url}/admin/messages, /admin/updates, /admin/faults   Ctrl-C to stop\n`,
      );
      await new Promise<void>((done) => {
        const stop = () => {
          process.off("SIGINT", stop);
          process.off("SIGTERM", stop);
          done();
        };
        process.on("SIGINT", stop);
        process.on("SIGTERM", stop);
      });
      await sim.close();
      process.stdout.write("telegram-sim: stopped\n");
    });
}
