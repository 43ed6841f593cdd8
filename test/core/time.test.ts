import { describe, expect, it } from "vitest";
import { freqFromMs, parseFreq } from "../../src/core/freq.js";
import { parseTime } from "../../src/core/time.js";

describe("parseTime", () => {
  it("reads dates and times as UTC", () => {
    expect(parseTime("2023-03")).toBe(Date.UTC(2023, 2, 1));
    expect(parseTime("2023-03-24")).toBe(Date.UTC(2023, 2, 24));
    expect(parseTime("2023-03-24 12:39")).toBe(Date.UTC(2023, 2, 24, 12, 39));
    expect(parseTime("2023-03-24T12:39:00.000Z")).toBe(Date.UTC(2023, 2, 24, 12, 39));
    expect(parseTime("1679661540000")).toBe(1679661540000);
  });

  it("refuses impossible days instead of rolling them over", () => {
    expect(() => parseTime("2023-02-30", "--from")).toThrow(
      'invalid --from "2023-02-30": expected YYYY-MM, YYYY-MM-DD, an ISO time or epoch ms',
    );
    expect(() => parseTime("March")).toThrow('invalid time "March"');
  });
});

describe("parseFreq", () => {
  it("accepts pandas and Binance spellings", () => {
    for (const [text, ms, binance] of [
      ["1min", 60_000, "1m"],
      ["1m", 60_000, "1m"],
      ["5min", 300_000, "5m"],
      ["1T", 60_000, "1m"],
      ["1h", 3_600_000, "1h"],
      ["1H", 3_600_000, "1h"],
      ["4h", 14_400_000, "4h"],
      ["1D", 86_400_000, "1d"],
      ["1d", 86_400_000, "1d"],
      ["1w", 604_800_000, "1w"],
    ] as const) {
      const f = parseFreq(text);
      expect([f.ms, f.binance], text).toEqual([ms, binance]);
    }
    expect(freqFromMs(60_000).pandas).toBe("1min");
  });

  it("refuses months and nonsense with the accepted forms", () => {
    expect(() => parseFreq("1M")).toThrow('unsupported frequency "1M": use a number and a unit');
    expect(() => parseFreq("3x")).toThrow('unsupported frequency "3x"');
    expect(() => parseFreq("0m")).toThrow("the count must be a positive integer");
  });
});
