import { createHash } from "node:crypto";
import type { Config } from "../../config/index.js";
import {
  type DiagramNotificationConfig,
  DiagramNotificationConfigSchema,
  type ScoreNotificationConfig,
  ScoreNotificationConfigSchema,
  type WebhookConfig,
  WebhookConfigSchema,
} from "../../config/outputConfigs.js";
import { ConfigError } from "../../core/errors.js";
import { parseFreq } from "../../core/freq.js";

/**
 * What a config's `output_sets` ask of the notifications: the original's score and diagram
 * notifiers and the trade messages (to Telegram), itb's webhooks. Telegram needs a bot token
 * and a chat id; a config that asks for a Telegram output without them is refused, naming the
 * key. Trade messages go to Telegram when the config trades on paper and has the credentials.
 */
export interface NotifyPlan {
  telegram?: {
    token: string;
    apiUrl?: string;
    chats: string[];
    parseMode?: "Markdown";
    tradeMessages: boolean;
    commands: boolean;
    queueLimit: number;
    minIntervalMs: number;
    timeoutMs: number;
  };
  scores: ScoreNotificationConfig[];
  diagrams: (DiagramNotificationConfig & { notificationMs?: number; resamplingMs: number })[];
  /** By a digest of their URL (their outbox target; the URL itself may hold a secret). */
  webhooks: Map<string, WebhookConfig & { label: string }>;
  /** Minutes after midnight UTC of the daily summary; undefined: none. */
  dailyAtMinute?: number;
  description?: string;
}

export function planNotifications(config: Config, paper: boolean): NotifyPlan {
  const scores: NotifyPlan["scores"] = [];
  const diagrams: NotifyPlan["diagrams"] = [];
  const webhooks: NotifyPlan["webhooks"] = new Map();
  let telegramOutput: string | undefined;
  config.output_sets.forEach((o, i) => {
    if (o.generator === "score_notification_model") {
      scores.push(ScoreNotificationConfigSchema.parse(o.config));
      telegramOutput ??= `output_sets[${i}] (${o.generator})`;
    } else if (o.generator === "diagram_notification_model") {
      const d = DiagramNotificationConfigSchema.parse(o.config);
      diagrams.push({
        ...d,
        resamplingMs: parseFreq(d.resampling_freq).ms,
        ...(d.notification_freq === undefined ? {} : { notificationMs: parseFreq(d.notification_freq).ms }),
      });
      telegramOutput ??= `output_sets[${i}] (${o.generator})`;
    } else if (o.generator === "webhook") {
      const hook = WebhookConfigSchema.parse(o.config);
      webhooks.set(createHash("sha256").update(hook.url).digest("hex").slice(0, 16), {
        ...hook,
        label: `output_sets[${i}] (webhook)`,
      });
    }
  });
  const token = config.telegram_bot_token;
  const chats = (config.telegram_chat_id ?? "")
    .split(",")
    .map((c) => c.trim())
    .filter((c) => c !== "");
  if (telegramOutput !== undefined) {
    const missing =
      token === undefined
        ? "telegram_bot_token: expected the bot's token (or ITB_TELEGRAM_BOT_TOKEN, or a secrets file)"
        : chats.length === 0
          ? "telegram_chat_id: expected a chat id or a list of them (or ITB_TELEGRAM_CHAT_ID, or a secrets file)"
          : undefined;
    if (missing !== undefined) throw new ConfigError(`${missing}, for ${telegramOutput}`, [missing]);
  }
  const t = config.telegram;
  const wanted = telegramOutput !== undefined || (paper && t.trade_messages);
  const plan: NotifyPlan = { scores, diagrams, webhooks };
  if (wanted && token !== undefined && chats.length > 0) {
    plan.telegram = {
      token,
      ...(config.telegram_api_url === undefined ? {} : { apiUrl: config.telegram_api_url }),
      chats,
      ...(t.parse_mode === "Markdown" ? { parseMode: "Markdown" as const } : {}),
      tradeMessages: paper && t.trade_messages,
      commands: t.commands,
      queueLimit: t.queue_limit,
      minIntervalMs: t.min_interval_ms,
      timeoutMs: t.timeout_ms,
    };
  }
  if (paper && t.daily_summary !== null && (plan.telegram !== undefined || webhooks.size > 0)) {
    const [h, m] = t.daily_summary.split(":").map(Number);
    plan.dailyAtMinute = (h as number) * 60 + (m as number);
  }
  if (config.description !== undefined) plan.description = config.description;
  return plan;
}

/** Anything to deliver at all. */
export function notifies(plan: NotifyPlan): boolean {
  return plan.telegram !== undefined || plan.webhooks.size > 0;
}
