import { z } from "zod";
import {
  choice,
  expected,
  finiteNumber,
  flag,
  freqText,
  httpUrl,
  known,
  nonEmptyText,
  positiveInt,
  text,
} from "./primitives.js";

/**
 * The `config` of the live outputs that read one (`output_sets[i].config`): the original's
 * Telegram notifiers with their keys, and itb's webhook. Unknown keys are errors with the
 * closest known key, as for the other generators (sets.ts). `console` and `trader_simulation`
 * take the original's free-form configs and are not listed here.
 */

const scoreColumns = () =>
  z
    .union(
      [nonEmptyText(), z.array(nonEmptyText()).min(1).max(2)],
      expected("a column name or a list of one or two"),
    )
    .transform((v) => (typeof v === "string" ? [v] : v));

export const BandSchema = known({
  edge: finiteNumber().describe(
    "The band's edge: positive bands take scores >= edge, negative bands scores <= edge.",
  ),
  frequency: positiveInt()
    .nullable()
    .optional()
    .describe(
      "While the score stays in the band, send again every this many candles of freq (null: only on a band change).",
    ),
  sign: text().optional().describe('Text put first in the message, e.g. "〉〉〉📈".'),
  bold: flag().optional().describe("The whole message in bold (Markdown)."),
  text: text().optional().describe('The band\'s name in the message, e.g. "BUY ZONE".'),
}).describe("A score band of score_notification_model.");

export const ScoreNotificationConfigSchema = known({
  score_column_names: scoreColumns().describe(
    "The primary score column and an optional secondary one shown beside it.",
  ),
  notify_band_up: flag().default(false).describe("Send when the score moves to a stronger band."),
  notify_band_dn: flag().default(false).describe("Send when the score moves to a weaker band."),
  positive_bands: z.array(BandSchema, expected("an array of bands")).default([]),
  negative_bands: z.array(BandSchema, expected("an array of bands")).default([]),
  score_notification: z
    .unknown()
    .optional()
    .describe("Accepted for compatibility; not read (as in the original)."),
}).describe("The original's score notification: a message when the score enters a band.");

export const DiagramNotificationConfigSchema = known({
  score_column_names: scoreColumns().describe("The score drawn (only the first is used)."),
  notification_freq: freqText()
    .optional()
    .describe('Send once per this period, e.g. "1D" (default: every candle).'),
  resampling_freq: freqText().default("1h").describe('The chart\'s bar size, e.g. "5min" or "1h".'),
  nrows: positiveInt().default(24).describe("Resampled bars shown (the last ones)."),
  score_thresholds: z.array(finiteNumber(), expected("an array of numbers")).default([]),
  score_ma: z
    .union([positiveInt(), z.array(positiveInt())], expected("a window or a list of windows"))
    .optional()
    .transform((v) => (v === undefined ? [] : typeof v === "number" ? [v] : v))
    .describe("Rolling means of the score drawn as extra lines (windows in resampled bars)."),
  diagram_notification: z
    .unknown()
    .optional()
    .describe("Accepted for compatibility; not read (as in the original)."),
}).describe("The original's diagram notification: a chart of prices and the score.");

export const WEBHOOK_EVENTS = ["score", "diagram", "order", "trade", "daily"] as const;

export const WebhookConfigSchema = known({
  url: httpUrl().describe("Where the events are POSTed as JSON (e.g. a Discord or Slack incoming webhook)."),
  events: z
    .array(choice(WEBHOOK_EVENTS), expected("an array of event kinds"))
    .default(["score", "order", "trade", "daily"])
    .describe(`The events sent: ${WEBHOOK_EVENTS.join(", ")}.`),
  format: choice(["itb", "slack", "discord"] as const)
    .default("itb")
    .describe(
      'The body: itb\'s event JSON, or {"text"} (Slack) / {"content"} (Discord) with the message text.',
    ),
  timeout_ms: positiveInt().default(10_000).describe("Per request."),
}).describe("A JSON POST per notification event (itb's addition).");

export const OUTPUT_CONFIG_SCHEMAS: Readonly<Record<string, z.ZodType>> = {
  score_notification_model: ScoreNotificationConfigSchema,
  diagram_notification_model: DiagramNotificationConfigSchema,
  webhook: WebhookConfigSchema,
};

export type ScoreNotificationConfig = z.output<typeof ScoreNotificationConfigSchema>;
export type DiagramNotificationConfig = z.output<typeof DiagramNotificationConfigSchema>;
export type WebhookConfig = z.output<typeof WebhookConfigSchema>;
