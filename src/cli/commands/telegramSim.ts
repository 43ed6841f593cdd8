import type { Command } from "commander";
import { SECRET_ENV } from "../../config/secretEnv.js";

export interface TelegramSimCliOptions {
  port: string;
  host: string;
  token: string[];
  chat: string[];
  floodLimit: boolean;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
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
      const { telegramSimAction } = await import("../actions/telegramSim.js");
      await telegramSimAction(opts);
    });
}
