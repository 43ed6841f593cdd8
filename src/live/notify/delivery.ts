import { resolve } from "node:path";
import type { WebhookConfig } from "../../config/outputConfigs.js";
import { ConfigError, errorMessage } from "../../core/errors.js";
import type { Logger } from "../../core/log.js";
import { renderDiagramPng } from "../../outputs/diagram.js";
import type { Ledger, LedgerTable, MarketKey } from "../ledger/types.js";
import type { ChartHistory } from "./chartHistory.js";
import { type ChartRequest, chartRequest } from "./notifier.js";
import type { NotifyPlan } from "./plan.js";
import { OutboxPump, type PumpOptions } from "./pump.js";
import { TelegramClient } from "./telegram.js";
import { TelegramSender } from "./telegramSender.js";
import { WebhookSender } from "./webhookSender.js";

/**
 * The notifications of `itb serve`: per data folder (one ledger, one outbox), a Telegram pump
 * and a webhook pump, started once the ledgers are open and stopped with the service. The bot
 * token is checked before anything is written: a refused token ends the start-up.
 */

export interface FolderNotify {
  dataFolder: string;
  plans: readonly NotifyPlan[];
}

export interface Notifications {
  /** A candle with notifications was recorded in this data folder. */
  poke(dataFolder: string): void;
  /** The Telegram clients (the commands use them), by data folder. */
  telegram(dataFolder: string): { client: TelegramClient; chats: string[] } | undefined;
  /** Ends the pumps (the send in flight gets a short grace). */
  stop(): Promise<void>;
}

export type PumpHooks = Pick<
  PumpOptions,
  "onSettled" | "onRetry" | "onDropped" | "backoffBaseMs" | "backoffCapMs"
>;

/** Checks each bot token once (getMe): a refused one is a ConfigError; an unreachable API a warning. */
export async function checkTelegram(
  folders: readonly FolderNotify[],
  log: Logger,
  signal: AbortSignal,
): Promise<void> {
  const seen = new Set<string>();
  for (const f of folders) {
    const tokens = new Set(
      f.plans.flatMap((p) =>
        p.telegram === undefined ? [] : [`${p.telegram.apiUrl ?? ""} ${p.telegram.token}`],
      ),
    );
    if (tokens.size > 1) {
      const text = `the configs of data folder ${f.dataFolder} use different Telegram bots (telegram_bot_token or telegram_api_url); one bot per data folder`;
      throw new ConfigError(text, [text]);
    }
    const t = f.plans.find((p) => p.telegram !== undefined)?.telegram;
    if (t === undefined || seen.has(`${t.apiUrl ?? ""} ${t.token}`)) continue;
    seen.add(`${t.apiUrl ?? ""} ${t.token}`);
    const result = await new TelegramClient(t).check(signal);
    if (result.ok) log.info({ bot: result.username }, "telegram bot ready");
    else
      log.warn(
        { err: result.why },
        "Telegram cannot be reached; notifications wait in the outbox until it can",
      );
  }
}

export function startNotifications(o: {
  folders: readonly FolderNotify[];
  ledgerOf: (dataFolder: string) => Promise<Ledger>;
  log: Logger;
  signal: AbortSignal;
  hooks?: PumpHooks;
  /** A market's recent candles and chart scores, warm-up included (else the ledger's rows). */
  charts?: (dataFolder: string, market: MarketKey) => ChartHistory | undefined;
}): Notifications {
  const stop = new AbortController();
  const signal = AbortSignal.any([o.signal, stop.signal]);
  const pumps = new Map<string, OutboxPump[]>();
  const clients = new Map<string, { client: TelegramClient; chats: string[] }>();
  const runs: Promise<void>[] = [];
  for (const f of o.folders) {
    const key = resolve(f.dataFolder);
    const t = f.plans.find((p) => p.telegram !== undefined)?.telegram;
    const hooks = new Map<string, WebhookConfig & { label: string }>();
    for (const p of f.plans) for (const [k, h] of p.webhooks) hooks.set(k, h);
    if (t === undefined && hooks.size === 0) continue;
    const list: OutboxPump[] = [];
    pumps.set(key, list);
    const start = async () => {
      const ledger = await o.ledgerOf(f.dataFolder);
      const base = { ledger, log: o.log, signal, ...o.hooks };
      if (t !== undefined) {
        const client = new TelegramClient(t);
        const chats = [...new Set(f.plans.flatMap((p) => p.telegram?.chats ?? []))];
        clients.set(key, { client, chats });
        const sender = new TelegramSender(client, chats, (entry, chart) =>
          renderChart(ledger, entry.market, chart as ChartRequest, o.charts?.(f.dataFolder, entry.market)),
        );
        list.push(
          new OutboxPump({ ...base, sender, queueLimit: t.queueLimit, minIntervalMs: t.minIntervalMs }),
        );
      }
      if (hooks.size > 0) {
        list.push(
          new OutboxPump({ ...base, sender: new WebhookSender(hooks), queueLimit: 10_000, minIntervalMs: 0 }),
        );
      }
      await Promise.all(list.map((p) => p.run()));
    };
    runs.push(
      start().catch((err: unknown) => {
        if (!signal.aborted) o.log.error({ err: errorMessage(err) }, "notifications stopped");
      }),
    );
  }
  return {
    poke(dataFolder) {
      for (const p of pumps.get(resolve(dataFolder)) ?? []) p.poke();
    },
    telegram(dataFolder) {
      return clients.get(resolve(dataFolder));
    },
    async stop() {
      stop.abort(new Error("the service is stopping"));
      await Promise.all(runs);
    },
  };
}

/** A market's chart drawn now (/chart): its first diagram output, up to its last candle. */
export async function sendChartNow(o: {
  ledger: Ledger;
  history?: ChartHistory;
  client: TelegramClient;
  chat: string;
  market: { symbol: string; freq: string };
  plan: NotifyPlan;
  lastTime: number;
}): Promise<boolean> {
  if (o.plan.diagrams.length === 0 || !Number.isFinite(o.lastTime)) return false;
  const png = await renderChart(o.ledger, o.market, chartRequest(o.plan, 0, o.lastTime), o.history);
  await o.client.sendPhoto(o.chat, png, "", undefined);
  return true;
}

/** The chart of a diagram entry, from the ledger's rows of its market (the rows served). */
async function renderChart(
  ledger: Ledger,
  market: MarketKey,
  chart: ChartRequest,
  history?: ChartHistory,
): Promise<Uint8Array> {
  const from = chart.until - chart.nrows * chart.resamplingMs;
  const q = { market, from, to: chart.until + 1 };
  const rows = history?.columns.includes(chart.scoreColumn)
    ? history.window(from, chart.until, chart.scoreColumn)
    : ledgerRows(await ledger.read("signals", q), chart.scoreColumn);
  const fills = await ledger.read("fills", q);
  const side = fills.columns.indexOf("side");
  const time = fills.columns.indexOf("time");
  const at = (s: string) => fills.rows.filter((r) => r[side] === s).map((r) => r[time] as number);
  return renderDiagramPng({
    symbol: market.symbol,
    ...(chart.description === undefined ? {} : { description: chart.description }),
    ...rows,
    buys: at("buy"),
    sells: at("sell"),
    resamplingMs: chart.resamplingMs,
    nrows: chart.nrows,
    scoreThresholds: chart.scoreThresholds,
    scoreMa: chart.scoreMa,
  });
}

/** The chart's columns from the ledger's signals table (a score may be prefixed there). */
function ledgerRows(t: LedgerTable, scoreColumn: string) {
  const pick = (...names: string[]) => {
    const i = names.map((n) => t.columns.indexOf(n)).find((k) => k >= 0) ?? -1;
    return Float64Array.from(t.rows, (r) => (i < 0 ? Number.NaN : ((r[i] as number | null) ?? Number.NaN)));
  };
  return {
    time: pick("timestamp"),
    open: pick("open"),
    high: pick("high"),
    low: pick("low"),
    close: pick("close"),
    score: pick(scoreColumn, `signal.${scoreColumn}`, `score.${scoreColumn}`),
  };
}
