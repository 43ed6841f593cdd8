import { setTimeout as sleep } from "node:timers/promises";
import { Bot, type Context, InlineKeyboard } from "grammy";
import { errorMessage } from "../../core/errors.js";
import { parseFreq } from "../../core/freq.js";
import type { Logger } from "../../core/log.js";
import {
  balanceAnswer,
  COMMANDS,
  dailyAnswer,
  helpAnswer,
  type MarketTrade,
  positionsAnswer,
  profitAnswer,
  signalsAnswer,
  statusAnswer,
  tradesAnswer,
} from "../../outputs/telegram/commands.js";
import { escapeText } from "../../outputs/telegram/escape.js";
import { positionOf, tradesOf } from "../ledger/tradeRows.js";
import type { Ledger } from "../ledger/types.js";
import type { MarketRunner } from "../market.js";
import { maskToken, TELEGRAM_API } from "./telegram.js";

/**
 * The bot's commands, answered by long polling (getUpdates) in the chats of telegram_chat_id
 * only: a message from any other chat gets no answer and is logged (without its chat id).
 * /pause, /resume and /forceexit act on the markets at their next candle; /forceexit asks for
 * a confirmation button first.
 */

export const OPERATOR_COMMANDS: readonly { command: string; description: string }[] = [
  { command: "chart", description: "The score chart of a market: /chart SYMBOL" },
  { command: "pause", description: "No new entries (exits still go out)" },
  { command: "resume", description: "Allow new entries again" },
  { command: "forceexit", description: "Close a market's position: /forceexit SYMBOL" },
];

export interface CommandOptions {
  token: string;
  apiUrl?: string;
  chats: readonly string[];
  markets: readonly MarketRunner[];
  ledgers: () => Promise<Ledger[]>;
  log: Logger;
  signal: AbortSignal;
  now: () => number;
  /** Sends the chart of a market to a chat (the diagram notifier's, drawn now). */
  chart?: (market: MarketRunner, chat: string) => Promise<boolean>;
}

const md = (t: string) => escapeText(t, "Markdown");

/** Starts answering; resolves once polling has started, `done` when it stops. */
export async function startCommands(o: CommandOptions): Promise<{ done: Promise<void> }> {
  const bot = new Bot(o.token, {
    client: { apiRoot: (o.apiUrl ?? TELEGRAM_API).replace(/\/+$/, ""), timeoutSeconds: 60 },
  });
  const allowed = new Set(o.chats);
  bot.use(async (ctx, next) => {
    const chat = ctx.chat?.id;
    if (chat !== undefined && allowed.has(String(chat))) return next();
    o.log.warn(
      { command: ctx.message?.text?.split(" ")[0] ?? ctx.callbackQuery?.data ?? "(update)" },
      "a message from a chat not in telegram_chat_id: not answered",
    );
  });
  const reply = (ctx: Context, text: string, extra: Parameters<Context["reply"]>[1] = {}) =>
    ctx.reply(text, { parse_mode: "Markdown", ...extra });
  const arg = (ctx: Context) => (typeof ctx.match === "string" ? ctx.match.trim() : "");
  const find = (symbol: string) =>
    o.markets.filter(
      (m) =>
        m.key.symbol.toUpperCase() === symbol.toUpperCase() || m.name.toUpperCase() === symbol.toUpperCase(),
    );
  const allTrades = async (): Promise<MarketTrade[]> => {
    const out: MarketTrade[] = [];
    for (const l of await o.ledgers()) {
      for (const m of await l.markets()) {
        const rows = await l.read("trades", { market: m });
        for (const trade of tradesOf(rows)) out.push({ market: `${m.symbol} ${m.freq}`, trade });
      }
    }
    return out;
  };

  bot.command("help", (ctx) =>
    reply(
      ctx,
      [helpAnswer(), ...OPERATOR_COMMANDS.map((c) => md(`/${c.command} - ${c.description}`))].join("\n"),
    ),
  );
  bot.command("start", (ctx) => reply(ctx, helpAnswer()));
  bot.command("status", (ctx) =>
    reply(
      ctx,
      statusAnswer(
        o.markets.map((m) => {
          const r = m.lastRecord;
          const step = parseFreq(m.config.freq).ms;
          return {
            market: m.name,
            paused: m.paused,
            ...(r === undefined
              ? {}
              : {
                  lastCandleTime: r.candle.time,
                  lagSeconds: Math.max(0, (o.now() - (r.candle.time + step)) / 1000),
                  position: positionOf(r.equity),
                  ...(m.tradesOnPaper ? { equity: r.equity.equity } : {}),
                }),
          };
        }),
      ),
    ),
  );
  bot.command("signals", (ctx) =>
    reply(
      ctx,
      signalsAnswer(
        o.markets.map((m) => {
          const r = m.lastRecord;
          return {
            market: m.name,
            ...(r === undefined ? {} : { time: r.candle.time }),
            scores: { ...(r?.scores ?? {}), ...(r?.signals ?? {}) },
            buy: r?.buy ?? false,
            sell: r?.sell ?? false,
          };
        }),
      ),
    ),
  );
  bot.command("trades", async (ctx) => {
    const n = Number.parseInt(arg(ctx) || "10", 10);
    await reply(ctx, tradesAnswer(await allTrades(), Number.isFinite(n) && n > 0 ? n : 10));
  });
  bot.command("profit", async (ctx) => {
    const d = Number.parseInt(arg(ctx), 10);
    await reply(
      ctx,
      profitAnswer({
        trades: await allTrades(),
        now: o.now(),
        markets: o.markets.filter((m) => m.tradesOnPaper).map((m) => m.name),
        ...(Number.isFinite(d) && d > 0 ? { days: d } : {}),
      }),
    );
  });
  bot.command("daily", async (ctx) => reply(ctx, dailyAnswer({ trades: await allTrades(), now: o.now() })));
  bot.command("balance", (ctx) =>
    reply(
      ctx,
      balanceAnswer(
        o.markets
          .filter((m) => m.tradesOnPaper && m.lastRecord !== undefined)
          .map((m) => {
            const e = (m.lastRecord as NonNullable<MarketRunner["lastRecord"]>).equity;
            return { market: m.name, cash: e.cash, positionValue: e.equity - e.cash, equity: e.equity };
          }),
      ),
    ),
  );
  bot.command("positions", (ctx) =>
    reply(
      ctx,
      positionsAnswer(
        o.markets.flatMap((m) => {
          const r = m.lastRecord;
          if (r === undefined) return [];
          const e = r.equity;
          return [
            {
              market: m.name,
              side: positionOf(e)?.side ?? null,
              quantity: e.quantity,
              entryPrice: e.entryPrice,
              price: r.candle.close,
            },
          ];
        }),
      ),
    ),
  );
  bot.command("pause", (ctx) => {
    const n = o.markets.filter((m) => m.control("pause")).length;
    return reply(
      ctx,
      n === 0
        ? "No market trades."
        : `Paused ${n} market${n === 1 ? "" : "s"}: no new entries from the next candle.`,
    );
  });
  bot.command("resume", (ctx) => {
    const n = o.markets.filter((m) => m.control("resume")).length;
    return reply(
      ctx,
      n === 0
        ? "No market trades."
        : `Resumed ${n} market${n === 1 ? "" : "s"}: entries allowed from the next candle.`,
    );
  });
  bot.command("forceexit", async (ctx) => {
    const symbol = arg(ctx);
    const ms = find(symbol).filter((m) => m.tradesOnPaper);
    if (symbol === "" || ms.length === 0) {
      await reply(
        ctx,
        md(`Usage: /forceexit SYMBOL (one of ${o.markets.map((m) => m.key.symbol).join(", ")})`),
      );
      return;
    }
    const keyboard = new InlineKeyboard()
      .text(`Close ${symbol.toUpperCase()}`, `forceexit:${symbol.toUpperCase()}`)
      .text("Cancel", "forceexit:cancel");
    await reply(ctx, md(`Close the position of ${ms.map((m) => m.name).join(", ")} at market?`), {
      reply_markup: keyboard,
    });
  });
  bot.callbackQuery(/^forceexit:(.+)$/, async (ctx) => {
    const what = ctx.match[1] as string;
    await ctx.answerCallbackQuery();
    if (what === "cancel") {
      await ctx.editMessageText("Cancelled.");
      return;
    }
    const ms = find(what).filter((m) => m.control("exit"));
    await ctx.editMessageText(
      ms.length === 0
        ? `No market ${what} trades.`
        : `Closing ${ms.map((m) => m.name).join(", ")} at the next candle.`,
    );
  });
  bot.command("chart", async (ctx) => {
    const symbol = arg(ctx);
    const m = find(symbol)[0];
    const chat = String(ctx.chat.id);
    if (m === undefined || o.chart === undefined || !(await o.chart(m, chat))) {
      await reply(
        ctx,
        md(
          `Usage: /chart SYMBOL, for a market with a diagram_notification_model output (${o.markets.map((x) => x.key.symbol).join(", ")})`,
        ),
      );
    }
  });
  bot.catch((err) => {
    o.log.warn({ err: maskToken(errorMessage(err.error), o.token) }, "a command failed");
  });

  void bot.api.setMyCommands([...COMMANDS, ...OPERATOR_COMMANDS]).catch((err: unknown) => {
    o.log.warn(
      { err: maskToken(errorMessage(err), o.token) },
      "cannot register the command list with Telegram",
    );
  });
  o.signal.addEventListener("abort", () => void bot.stop(), { once: true });
  // polling ends on an error (Telegram unreachable at its start, a 401 later): start again
  const done = (async () => {
    while (!o.signal.aborted) {
      try {
        await bot.start({
          allowed_updates: ["message", "callback_query"],
          onStart: () => o.log.info({}, "answering Telegram commands"),
        });
      } catch (err) {
        if (o.signal.aborted) break;
        o.log.warn(
          { err: maskToken(errorMessage(err), o.token), retry_ms: 30_000 },
          "Telegram commands stopped; starting again",
        );
        await sleep(30_000, undefined, { signal: o.signal }).catch(() => undefined);
      }
    }
  })();
  return { done };
}
