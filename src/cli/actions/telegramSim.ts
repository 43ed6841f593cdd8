import { SECRET_ENV } from "../../config/secretEnv.js";
import { UsageError } from "../../core/errors.js";
import { maskToken, startTelegramSim, tokenBotId } from "../../simulator/telegram/index.js";
import type { TelegramSimCliOptions } from "../commands/telegramSim.js";
import { untilStopped } from "../interrupts.js";

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

/** `itb telegram-sim`. */
export async function telegramSimAction(opts: TelegramSimCliOptions): Promise<void> {
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
  await untilStopped();
  await sim.close();
  process.stdout.write("telegram-sim: stopped\n");
}
