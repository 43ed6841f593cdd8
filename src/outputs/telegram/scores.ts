/**
 * The original's `score_notification_model`: a message when the score enters a stronger or a
 * weaker band, or on the band's schedule. Pure: the caller keeps the previous band between
 * candles and sends the message. See docs/notifications.md.
 */
import { parseFreq } from "../../core/freq.js";
import { escapeText, markdownBold } from "./escape.js";
import { pyFixed, pyIntGrouped } from "./format.js";

/** One band of scores, as the original's config writes it. */
export interface Band {
  edge: number;
  /** Also send every `frequency` candles while in this band (null/0/absent: only on changes). */
  frequency?: number | null;
  sign?: string;
  bold?: boolean;
  text?: string;
}

/** The `config` of a `score_notification_model` output set (the original's keys). */
export interface ScoreNotificationConfig {
  /** [primary] or [primary, secondary] score column. */
  score_column_names: string[];
  notify_band_up?: boolean;
  notify_band_dn?: boolean;
  positive_bands?: Band[];
  negative_bands?: Band[];
}

/**
 * The band of a score: `no` is +1, +2, … for the positive bands (the highest edge is the highest
 * number), −1, −2, … for the negative ones (the lowest edge is the most negative), 0 neutral.
 *
 * DECISION: the edges are symmetric. A positive band holds scores `>= edge` (as the original);
 * a negative band holds scores `<= edge`, where the original has a strict `<`: with the mirrored
 * sample bands (±0.005, ±0.01, ±0.015) it put −0.015 in "strong" while +0.015 was BUY ZONE.
 * A NaN score is neutral (no band).
 */
export function bandOf(
  score: number,
  positive: readonly Band[] = [],
  negative: readonly Band[] = [],
): { no: number; band?: Band } {
  if (Number.isNaN(score)) return { no: 0 };
  const up = [...positive].sort((a, b) => b.edge - a.edge);
  for (let i = 0; i < up.length; i++) {
    const band = up[i];
    if (band !== undefined && score >= band.edge) return { no: up.length - i, band };
  }
  const down = [...negative].sort((a, b) => a.edge - b.edge);
  for (let i = 0; i < down.length; i++) {
    const band = down[i];
    if (band !== undefined && score <= band.edge) return { no: -(down.length - i), band };
  }
  return { no: 0 };
}

export interface ScoreNotificationInput {
  config: ScoreNotificationConfig;
  /** The band the previous call returned; undefined on the first call after start. */
  prevBand: number | undefined;
  /** The primary score (config.score_column_names[0]). */
  score: number;
  /** The secondary score, when the config names two columns. */
  score2?: number;
  close: number;
  symbol: string;
  /** The frequency as the original printed it (`1min`, `1h`, `1D`): see freqLabel. */
  freqLabel: string;
  /** The candle's close time, epoch ms (its open time + freqMs). */
  closeTime: number;
  freqMs: number;
}

/**
 * The message for a closed candle, if one is due, and the band to pass as `prevBand` next time.
 *
 * Send rule, as the original's: the band went up (|band| grew) with `notify_band_up`, or down
 * (|band| shrank) with `notify_band_dn`, or the band's `frequency` is due. On the first call
 * after start both "up" and "down" hold. +1 → −1 is no change (equal absolute values). The
 * neutral zone has no frequency, so it is announced only on a change. A NaN score sends nothing.
 *
 * DECISION: `frequency` counts candles of the market's frequency since the epoch: due when
 * `(closeTime / freqMs) % frequency === 0`. The original tests the minute of the close time,
 * which is the same for 1m candles and a frequency dividing 60, and is never/always true at 1h
 * and above. (`closeTime / freqMs` is rounded, so Binance's close time, 1 ms short, counts
 * the same.)
 *
 * The text is the original's, legacy Markdown; without its `+` → `%2B` replacement (it pasted
 * the text into a URL; itb sends a JSON body).
 */
export function scoreNotification(input: ScoreNotificationInput): { message?: string; band: number } {
  const { config, prevBand, score } = input;
  const { no, band } = bandOf(score, config.positive_bands, config.negative_bands);
  if (Number.isNaN(score)) return { band: no };
  const bandUp = prevBand === undefined || Math.abs(no) > Math.abs(prevBand);
  const bandDn = prevBand === undefined || Math.abs(no) < Math.abs(prevBand);
  const frequency = band?.frequency;
  const timeDue =
    typeof frequency === "number" &&
    frequency !== 0 &&
    Math.round(input.closeTime / input.freqMs) % frequency === 0;
  const due =
    (config.notify_band_up === true && bandUp) || (config.notify_band_dn === true && bandDn) || timeDue;
  if (!due) return { band: no };

  const symbolChar = input.symbol === "BTCUSDT" ? "₿" : input.symbol === "ETHUSDT" ? "Ξ" : input.symbol;
  const arrow = bandUp ? "↑" : bandDn ? "↓" : "";
  const primary = `${pyFixed(score, 2, true)} ${arrow} `;
  const secondary = input.score2 === undefined ? "" : pyFixed(input.score2, 2, true);
  const price = pyIntGrouped(input.close);
  const text =
    band === undefined
      ? `${symbolChar} ${price} Indicator: ${primary} ${secondary} ${input.freqLabel}`
      : `${band.sign ?? ""} ${symbolChar} ${price} Indicator: ${primary} ${secondary} ${band.text ?? ""} ${input.freqLabel}`;
  const message = band?.bold === true ? markdownBold(text) : escapeText(text, "Markdown");
  return { message, band: no };
}

/**
 * The original's label of a frequency, the pandas spelling its configs use: `1m` → `1min`,
 * `5m` → `5min`, `1h` → `1h`, `4h` → `4h`, `1d` → `1D`, `1w` → `1W` (either spelling in).
 */
export function freqLabel(freq: string): string {
  return parseFreq(freq).pandas;
}
