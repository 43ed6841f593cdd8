import { describe, expect, it } from "vitest";
import {
  type Band,
  bandOf,
  freqLabel,
  type ScoreNotificationConfig,
  type ScoreNotificationInput,
  scoreNotification,
} from "../../src/outputs/telegram/scores.js";

// The original's configs/config-sample-1min.jsonc.
const POSITIVE: Band[] = [
  { edge: 0.015, frequency: 2, sign: "〉〉〉📈", bold: true, text: "BUY ZONE" },
  { edge: 0.01, frequency: 5, sign: "〉〉", bold: false, text: "strong" },
  { edge: 0.005, frequency: 10, sign: "〉", text: "weak" },
];
const NEGATIVE: Band[] = [
  { edge: -0.005, frequency: 10, sign: "〈", text: "weak" },
  { edge: -0.01, frequency: 5, sign: "〈〈", bold: false, text: "strong" },
  { edge: -0.015, frequency: 2, sign: "〈〈〈📉", bold: true, text: "SELL ZONE" },
];
const SAMPLE: ScoreNotificationConfig = {
  score_column_names: ["trade_score"],
  notify_band_up: true,
  notify_band_dn: true,
  positive_bands: POSITIVE,
  negative_bands: NEGATIVE,
};

const MIN = 60_000;
const HOUR = 3_600_000;
/** A close at 12:mm on 2024-05-01 (1m candles). */
const at = (minute: number) => Date.UTC(2024, 4, 1, 12, minute);

function input(over: Partial<ScoreNotificationInput>): ScoreNotificationInput {
  return {
    config: SAMPLE,
    prevBand: 0,
    score: 0,
    close: 74_896.9,
    symbol: "BTCUSDT",
    freqLabel: "1min",
    closeTime: at(7), // 7: a multiple of no sample frequency
    freqMs: MIN,
    ...over,
  };
}

describe("bandOf", () => {
  it("numbers the bands from the neutral zone out, the strongest highest", () => {
    expect(bandOf(0.02, POSITIVE, NEGATIVE)).toEqual({ no: 3, band: POSITIVE[0] });
    expect(bandOf(0.015, POSITIVE, NEGATIVE)).toEqual({ no: 3, band: POSITIVE[0] });
    expect(bandOf(0.0149, POSITIVE, NEGATIVE)).toEqual({ no: 2, band: POSITIVE[1] });
    expect(bandOf(0.01, POSITIVE, NEGATIVE)).toEqual({ no: 2, band: POSITIVE[1] });
    expect(bandOf(0.005, POSITIVE, NEGATIVE)).toEqual({ no: 1, band: POSITIVE[2] });
    expect(bandOf(0.0049, POSITIVE, NEGATIVE)).toEqual({ no: 0 });
    expect(bandOf(0, POSITIVE, NEGATIVE)).toEqual({ no: 0 });
    expect(bandOf(-0.0049, POSITIVE, NEGATIVE)).toEqual({ no: 0 });
    expect(bandOf(-0.02, POSITIVE, NEGATIVE)).toEqual({ no: -3, band: NEGATIVE[2] });
  });

  it("matches negative edges inclusively, mirroring the positive side (the original: strict)", () => {
    // The original gave −0.005 neutral and −0.015 "strong" (−2).
    expect(bandOf(-0.005, POSITIVE, NEGATIVE)).toEqual({ no: -1, band: NEGATIVE[0] });
    expect(bandOf(-0.01, POSITIVE, NEGATIVE)).toEqual({ no: -2, band: NEGATIVE[1] });
    expect(bandOf(-0.015, POSITIVE, NEGATIVE)).toEqual({ no: -3, band: NEGATIVE[2] });
  });

  it("sorts bands given in any order", () => {
    const shuffled = [POSITIVE[2], POSITIVE[0], POSITIVE[1]] as Band[];
    expect(bandOf(0.012, shuffled, [])).toEqual({ no: 2, band: POSITIVE[1] });
  });

  it("puts NaN and scores outside every band in the neutral zone (0, never −0)", () => {
    expect(bandOf(Number.NaN, POSITIVE, NEGATIVE)).toEqual({ no: 0 });
    const none = bandOf(-1);
    expect(Object.is(none.no, 0)).toBe(true);
    expect(none.band).toBeUndefined();
  });
});

describe("scoreNotification: the original's texts", () => {
  it("reproduces the examples of the original's messages", () => {
    expect(scoreNotification(input({ prevBand: 2, score: 0.12 }))).toEqual({
      message: "*〉〉〉📈 ₿ 74,896 Indicator: +0.12 ↑   BUY ZONE 1min*",
      band: 3,
    });
    expect(scoreNotification(input({ prevBand: 3, score: 0.0123 }))).toEqual({
      message: "〉〉 ₿ 74,896 Indicator: +0.01 ↓   strong 1min",
      band: 2,
    });
    expect(scoreNotification(input({ prevBand: 1, score: 0.004 }))).toEqual({
      message: "₿ 74,896 Indicator: +0.00 ↓   1min",
      band: 0,
    });
    // Issue #86 quotes the message as Telegram shows it: the bold band's asterisks are markup.
    const sell = scoreNotification(input({ prevBand: -2, score: -0.02, close: 76_512.3 }));
    expect(sell).toEqual({ message: "*〈〈〈📉 ₿ 76,512 Indicator: -0.02 ↑   SELL ZONE 1min*", band: -3 });
    expect(sell.message?.slice(1, -1)).toBe("〈〈〈📉 ₿ 76,512 Indicator: -0.02 ↑   SELL ZONE 1min");
  });

  it("prints a secondary score between the primary and the band text", () => {
    expect(scoreNotification(input({ prevBand: 2, score: 0.12, score2: 0.05 })).message).toBe(
      "*〉〉〉📈 ₿ 74,896 Indicator: +0.12 ↑  +0.05 BUY ZONE 1min*",
    );
    const eth = scoreNotification(
      input({
        prevBand: undefined,
        score: 0.007,
        score2: -0.3,
        symbol: "ETHUSDT",
        close: 3012.5,
        freqLabel: "1h",
      }),
    );
    expect(eth.message).toBe("〉 Ξ 3,012 Indicator: +0.01 ↑  -0.30 weak 1h");
  });

  it("keeps other symbols as they are and truncates the close", () => {
    const r = scoreNotification(input({ prevBand: 0, score: 0.006, symbol: "SOLUSDT", close: 1_234_567.99 }));
    expect(r.message).toBe("〉 SOLUSDT 1,234,567 Indicator: +0.01 ↑   weak 1min");
    expect(scoreNotification(input({ prevBand: 0, score: 0.006, close: 999.99 })).message).toBe(
      "〉 ₿ 999 Indicator: +0.01 ↑   weak 1min",
    );
  });

  it("keeps a literal + (no %2B) and escapes Markdown characters of the data", () => {
    const r = scoreNotification(input({ prevBand: 0, score: 0.006, symbol: "BTC_USDT" }));
    expect(r.message).toBe("〉 BTC\\_USDT 74,896 Indicator: +0.01 ↑   weak 1min");
    // Inside a bold message a backslash would show: a * closes the entity, is escaped, reopens it.
    const bold: ScoreNotificationConfig = {
      ...SAMPLE,
      positive_bands: [{ edge: 0.015, sign: "*", bold: true, text: "BUY_ZONE" }],
    };
    expect(scoreNotification(input({ config: bold, prevBand: 0, score: 0.02 })).message).toBe(
      "**\\** ₿ 74,896 Indicator: +0.02 ↑   BUY_ZONE 1min*",
    );
  });
});

describe("scoreNotification: when to send", () => {
  it("sends on the first call after start, with the up arrow", () => {
    expect(scoreNotification(input({ prevBand: undefined, score: 0.012 }))).toEqual({
      message: "〉〉 ₿ 74,896 Indicator: +0.01 ↑   strong 1min",
      band: 2,
    });
    expect(scoreNotification(input({ prevBand: undefined, score: 0.001 }))).toEqual({
      message: "₿ 74,896 Indicator: +0.00 ↑   1min",
      band: 0,
    });
    const quiet = { ...SAMPLE, notify_band_up: false, notify_band_dn: false };
    expect(scoreNotification(input({ config: quiet, prevBand: undefined, score: 0.012 }))).toEqual({
      band: 2,
    });
  });

  it("sends on a change of |band| only for the directions asked", () => {
    expect(scoreNotification(input({ prevBand: 1, score: 0.012 })).message).toBe(
      "〉〉 ₿ 74,896 Indicator: +0.01 ↑   strong 1min",
    );
    expect(scoreNotification(input({ prevBand: -1, score: 0.012 })).band).toBe(2);
    expect(scoreNotification(input({ prevBand: -1, score: 0.012 })).message).toBeDefined();
    const upOnly = { ...SAMPLE, notify_band_dn: false };
    expect(scoreNotification(input({ config: upOnly, prevBand: 3, score: 0.012 }))).toEqual({ band: 2 });
    expect(scoreNotification(input({ config: upOnly, prevBand: 1, score: 0.012 })).message).toBeDefined();
    const dnOnly = { ...SAMPLE, notify_band_up: false };
    expect(scoreNotification(input({ config: dnOnly, prevBand: 1, score: 0.012 }))).toEqual({ band: 2 });
    expect(scoreNotification(input({ config: dnOnly, prevBand: 3, score: 0.012 })).message).toBe(
      "〉〉 ₿ 74,896 Indicator: +0.01 ↓   strong 1min",
    );
  });

  it("does not count +1 → −1 (or −2 → +2) as a change", () => {
    expect(scoreNotification(input({ prevBand: 1, score: -0.007 }))).toEqual({ band: -1 });
    expect(scoreNotification(input({ prevBand: -2, score: 0.012 }))).toEqual({ band: 2 });
  });

  it("stays silent within a band until its frequency is due", () => {
    expect(scoreNotification(input({ prevBand: 2, score: 0.012, closeTime: at(7) }))).toEqual({ band: 2 });
    expect(scoreNotification(input({ prevBand: 2, score: 0.012, closeTime: at(15) }))).toEqual({
      message: "〉〉 ₿ 74,896 Indicator: +0.01    strong 1min",
      band: 2,
    });
    // weak: every 10 minutes; 12:15 is not due, 12:20 is.
    expect(scoreNotification(input({ prevBand: 1, score: 0.007, closeTime: at(15) }))).toEqual({ band: 1 });
    expect(scoreNotification(input({ prevBand: 1, score: 0.007, closeTime: at(20) })).message).toBe(
      "〉 ₿ 74,896 Indicator: +0.01    weak 1min",
    );
    // Binance's close time (1 ms before the next open) counts the same candle.
    expect(
      scoreNotification(input({ prevBand: 1, score: 0.007, closeTime: at(20) - 1 })).message,
    ).toBeDefined();
  });

  it("announces the neutral zone only on a change", () => {
    expect(scoreNotification(input({ prevBand: 0, score: 0.001, closeTime: at(0) }))).toEqual({ band: 0 });
    expect(scoreNotification(input({ prevBand: -1, score: -0.001 })).message).toBe(
      "₿ 74,896 Indicator: -0.00 ↓   1min",
    );
  });

  it("counts the frequency in candles of the market at 1h (the original: every hour)", () => {
    const hourly: ScoreNotificationConfig = {
      score_column_names: ["trade_score"],
      positive_bands: [{ edge: 0.02, frequency: 2, sign: "〉", text: "weak" }],
    };
    // 2024-05-01 12:00 UTC is hour 476268 since the epoch (even), 13:00 odd.
    const h = (hour: number) => Date.UTC(2024, 4, 1, hour);
    const base = { config: hourly, prevBand: 1, score: 0.03, freqMs: HOUR, freqLabel: "1h" };
    expect(scoreNotification(input({ ...base, closeTime: h(12) })).message).toBe(
      "〉 ₿ 74,896 Indicator: +0.03    weak 1h",
    );
    expect(scoreNotification(input({ ...base, closeTime: h(13) }))).toEqual({ band: 1 });
    expect(scoreNotification(input({ ...base, closeTime: h(14) })).message).toBeDefined();
    // No frequency (the 1h sample's null): only changes.
    const none = { ...hourly, positive_bands: [{ edge: 0.02, frequency: null, text: "weak" }] };
    expect(scoreNotification(input({ ...base, config: none, closeTime: h(12) }))).toEqual({ band: 1 });
  });

  it("sends nothing for a NaN score, even on the first call", () => {
    expect(scoreNotification(input({ prevBand: undefined, score: Number.NaN }))).toEqual({ band: 0 });
    expect(scoreNotification(input({ prevBand: 3, score: Number.NaN, closeTime: at(0) }))).toEqual({
      band: 0,
    });
  });
});

describe("freqLabel", () => {
  it("prints itb's frequencies as the original's pandas labels", () => {
    const labels = ["1m", "5m", "15m", "30m", "1h", "2h", "4h", "1d", "1w", "1min", "1D"].map(freqLabel);
    expect(labels).toEqual(["1min", "5min", "15min", "30min", "1h", "2h", "4h", "1D", "1W", "1min", "1D"]);
  });
});
