import type { Side, Trade } from "../../core/trading.js";
import { diagramDue } from "../../outputs/diagram.js";
import { escapeText } from "../../outputs/telegram/escape.js";
import { orderMessage } from "../../outputs/telegram/orders.js";
import { freqLabel, scoreNotification } from "../../outputs/telegram/scores.js";
import { dailySummary } from "../../outputs/telegram/summary.js";
import { tradeProfitMessage, tradeStatsMessage } from "../../outputs/telegram/trades.js";
import { positionOf } from "../ledger/tradeRows.js";
import type { CandleRecord, MarketKey, OutboxMessage } from "../ledger/types.js";
import type { NotifyPlan } from "./plan.js";
import type { TelegramPayload } from "./telegramSender.js";
import type { WebhookPayload } from "./webhookSender.js";

/**
 * One market's notifications: from each processed candle's record, the messages of the
 * config's outputs, put in the outbox with the candle (so a restart neither loses nor repeats
 * them). Its state (each score notifier's band, each chart's last period, the last daily
 * summary) goes into the candle's state snapshot, so the previous band survives a restart.
 *
 * Catch-up candles (processed after a restart or an outage) move the bands on without
 * announcing them, and draw no chart: only their trades and orders are told.
 */

export interface NotifyState {
  bands: (number | null)[];
  charts: (number | null)[];
  day?: number;
}

const DAY = 86_400_000;
/** The original's trade statistics cover four weeks. */
export const STATS_MS = 28 * DAY;

/** What a chart entry asks the renderer to draw (from the ledger's rows of the market). */
export interface ChartRequest {
  output: number;
  /** The candle's open time: the chart ends with it. */
  until: number;
  resamplingMs: number;
  nrows: number;
  scoreColumn: string;
  scoreThresholds: number[];
  scoreMa: number[];
  description?: string;
}

/** The chart of a plan's diagram output `k` that ends with the candle of `until`. */
export function chartRequest(plan: NotifyPlan, k: number, until: number): ChartRequest {
  const cfg = plan.diagrams[k] as NotifyPlan["diagrams"][number];
  return {
    output: k,
    until,
    resamplingMs: cfg.resamplingMs,
    nrows: cfg.nrows,
    scoreColumn: cfg.score_column_names[0] as string,
    scoreThresholds: cfg.score_thresholds,
    scoreMa: cfg.score_ma,
    ...(plan.description === undefined ? {} : { description: plan.description }),
  };
}

export class MarketNotifier {
  private state: NotifyState;
  /** Closed trades of the last four weeks (the statistics' window), oldest first. */
  private trades: Trade[];
  /** How orders are labelled: "paper" and "shadow" say so; live orders are real. */
  private readonly tag: string | undefined;

  constructor(
    private readonly plan: NotifyPlan,
    private readonly market: MarketKey,
    private readonly name: string,
    private readonly freqMs: number,
    o: { saved?: unknown; trades?: readonly Trade[]; mode?: "paper" | "shadow" | "live" } = {},
  ) {
    this.tag = o.mode === "live" ? undefined : (o.mode ?? "paper");
    const s = o.saved as Partial<NotifyState> | undefined;
    this.state = {
      bands: plan.scores.map((_, k) => s?.bands?.[k] ?? null),
      charts: plan.diagrams.map((_, k) => s?.charts?.[k] ?? null),
      ...(s?.day === undefined ? {} : { day: s.day }),
    };
    this.trades = [...(o.trades ?? [])];
  }

  /** The state to save with the candle (after onCandle). */
  snapshot(): NotifyState {
    return {
      bands: [...this.state.bands],
      charts: [...this.state.charts],
      ...(this.state.day === undefined ? {} : { day: this.state.day }),
    };
  }

  /** The messages of one processed candle (to record with it). */
  onCandle(rec: CandleRecord): OutboxMessage[] {
    const out: OutboxMessage[] = [];
    const closeTime = rec.candle.time + this.freqMs;
    const value = (c: string | undefined) =>
      c === undefined ? Number.NaN : (rec.scores[c] ?? rec.signals[c] ?? Number.NaN);
    const base = {
      market: this.market.symbol,
      freq: this.market.freq,
      time: rec.candle.time,
      close: rec.candle.close,
    };

    this.plan.scores.forEach((cfg, k) => {
      const [c1, c2] = cfg.score_column_names;
      const score = value(c1);
      const r = scoreNotification({
        config: cfg,
        prevBand: this.state.bands[k] ?? undefined,
        score,
        ...(c2 === undefined ? {} : { score2: value(c2) }),
        close: rec.candle.close,
        symbol: this.market.symbol,
        freqLabel: freqLabel(this.market.freq),
        closeTime,
        freqMs: this.freqMs,
      });
      this.state.bands[k] = r.band;
      if (r.message !== undefined && !rec.catchUp) {
        out.push(...this.telegram("score", false, r.message));
        out.push(...this.webhook("score", false, { type: "score", ...base, score, band: r.band }, r.message));
      }
    });

    this.plan.diagrams.forEach((cfg, k) => {
      const when =
        cfg.notificationMs === undefined
          ? { due: true, periodStart: closeTime }
          : diagramDue(closeTime, this.state.charts[k] ?? undefined, cfg.notificationMs);
      if (!when.due || rec.catchUp || this.plan.telegram === undefined) return;
      this.state.charts[k] = when.periodStart;
      const chart = chartRequest(this.plan, k, rec.candle.time);
      for (const chat of this.plan.telegram.chats) {
        out.push(
          this.entry("telegram", chat, "diagram", false, {
            type: "photo",
            caption: "",
            chart,
          } satisfies TelegramPayload),
        );
      }
    });

    const tradeMessages = this.plan.telegram?.tradeMessages === true;
    for (const order of rec.orders) {
      const text = orderMessage(order, this.name, this.tag === undefined ? {} : { tag: this.tag });
      if (tradeMessages) out.push(...this.telegram("order", true, text));
      out.push(...this.webhook("order", true, { type: "order", ...base, order }, text));
    }
    for (const trade of rec.trades) {
      this.trades.push(trade);
      const side: Side = trade.side;
      const profit = tradeProfitMessage(trade);
      this.trades = this.trades.filter((t) => t.exitTime >= trade.exitTime - STATS_MS);
      const stats = tradeStatsMessage(side, this.trades, trade.exitTime);
      if (tradeMessages) {
        out.push(...this.telegram("trade", true, profit));
        out.push(...this.telegram("stats", true, stats));
      }
      out.push(...this.webhook("trade", true, { type: "trade", ...base, trade }, profit));
    }

    const at = this.plan.dailyAtMinute;
    if (at !== undefined) {
      const slot = Math.floor((closeTime - at * 60_000) / DAY);
      if (this.state.day === undefined) this.state.day = slot;
      else if (slot > this.state.day) {
        this.state.day = slot;
        const end = slot * DAY + at * 60_000;
        const text = dailySummary(end - 1, [
          {
            market: this.name,
            trades: this.trades.filter((t) => t.exitTime >= end - DAY && t.exitTime < end),
            equity: rec.equity.equity,
            position: positionOf(rec.equity),
          },
        ]);
        if (this.plan.telegram !== undefined) out.push(...this.telegram("daily", true, text));
        out.push(...this.webhook("daily", true, { type: "daily", ...base, day_end: end }, text));
      }
    }
    return out;
  }

  /** An entry the risk limits refused on this candle: told like an order event. */
  refusal(rule: string, reason: string, time: number): OutboxMessage[] {
    const text = escapeText(
      `⛔ ${this.name}: entry refused by risk_management (${rule}): ${reason}`,
      "Markdown",
    );
    return [
      ...(this.plan.telegram?.tradeMessages === true ? this.telegram("order", true, text) : []),
      ...this.webhook(
        "order",
        true,
        { type: "refusal", market: this.market.symbol, freq: this.market.freq, time, rule, reason },
        text,
      ),
    ];
  }

  private telegram(kind: OutboxMessage["kind"], keep: boolean, text: string): OutboxMessage[] {
    const t = this.plan.telegram;
    if (t === undefined) return [];
    const payload: TelegramPayload = {
      type: "text",
      text,
      ...(t.parseMode === undefined ? {} : { parse_mode: t.parseMode }),
    };
    return t.chats.map((chat) => this.entry("telegram", chat, kind, keep, payload));
  }

  private webhook(
    kind: OutboxMessage["kind"],
    keep: boolean,
    event: Record<string, unknown>,
    text: string,
  ): OutboxMessage[] {
    const out: OutboxMessage[] = [];
    for (const [index, hook] of this.plan.webhooks) {
      if (!(hook.events as readonly string[]).includes(kind)) continue;
      out.push(this.entry("webhook", index, kind, keep, { event, text } satisfies WebhookPayload));
    }
    return out;
  }

  private entry(
    channel: OutboxMessage["channel"],
    target: string,
    kind: OutboxMessage["kind"],
    keep: boolean,
    payload: unknown,
  ): OutboxMessage {
    return { channel, target, kind, keep, payload };
  }
}
