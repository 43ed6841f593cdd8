import { describe, expect, it } from "vitest";
import { escapeText, markdownBold } from "../../src/outputs/telegram/escape.js";
import {
  formatDuration,
  formatPct,
  formatPrice,
  formatQty,
  formatQuote,
  formatTime,
  pyFixed,
  pyIntGrouped,
} from "../../src/outputs/telegram/format.js";
import { splitMessage } from "../../src/outputs/telegram/split.js";

describe("Python number formats", () => {
  it("rounds exact ties to even like Python's format, not away from zero like toFixed", () => {
    // Python: f"{0.125:.2f}" == "0.12", f"{0.375:.2f}" == "0.38"; (0.125).toFixed(2) == "0.13".
    expect(pyFixed(0.125, 2)).toBe("0.12");
    expect(pyFixed(0.375, 2)).toBe("0.38");
    expect(pyFixed(0.5, 0)).toBe("0");
    expect(pyFixed(1.5, 0)).toBe("2");
    expect(pyFixed(2.5, 0)).toBe("2");
    // Not ties: the binary values lie below/above the decimal ones.
    expect(pyFixed(2.675, 2)).toBe("2.67");
    expect(pyFixed(1.005, 2)).toBe("1.00");
    expect(pyFixed(12.345, 2, true)).toBe("+12.35");
  });

  it("prints signs, zero, NaN and infinities as Python does", () => {
    expect(pyFixed(-0.004, 2, true)).toBe("-0.00");
    expect(pyFixed(-0, 2)).toBe("-0.00");
    expect(pyFixed(0, 2, true)).toBe("+0.00");
    expect(pyFixed(0.12, 2, true)).toBe("+0.12");
    expect(pyFixed(-1.5, 4)).toBe("-1.5000");
    expect(pyFixed(Number.NaN, 4)).toBe("nan");
    expect(pyFixed(Number.NaN, 2, true)).toBe("+nan");
    expect(pyFixed(Number.POSITIVE_INFINITY, 2)).toBe("inf");
    expect(pyFixed(Number.NEGATIVE_INFINITY, 2)).toBe("-inf");
    expect(pyFixed(1e21, 2)).toBe("1000000000000000000000.00");
    expect(pyFixed(5e-324, 2)).toBe("0.00");
  });

  it("truncates and groups integers like f'{int(x):,}'", () => {
    expect(pyIntGrouped(74_896.9)).toBe("74,896");
    expect(pyIntGrouped(999.99)).toBe("999");
    expect(pyIntGrouped(1000)).toBe("1,000");
    expect(pyIntGrouped(1_234_567.8)).toBe("1,234,567");
    expect(pyIntGrouped(-1234.9)).toBe("-1,234");
    expect(pyIntGrouped(Number.NaN)).toBe("nan");
  });
});

describe("itb's number formats", () => {
  it("prints prices with six significant digits, two to eight decimals", () => {
    expect(formatPrice(30_123.45)).toBe("30,123.45");
    expect(formatPrice(30_000)).toBe("30,000.00");
    expect(formatPrice(123_456_789.123)).toBe("123,456,789.12");
    expect(formatPrice(1.2345)).toBe("1.2345");
    expect(formatPrice(0.5)).toBe("0.50");
    expect(formatPrice(0.07231)).toBe("0.07231");
    expect(formatPrice(0)).toBe("0.00");
    expect(formatPrice(Number.NaN)).toBe("n/a");
  });

  it("prints quantities, quote amounts, percentages, durations and times", () => {
    expect(formatQty(0.0015)).toBe("0.0015");
    expect(formatQty(1500)).toBe("1,500");
    expect(formatQty(0.123456789)).toBe("0.12345679");
    expect(formatQuote(1234.5)).toBe("1,234.50");
    expect(formatQuote(-1234.5, true)).toBe("-1,234.50");
    expect(formatQuote(0.66, true)).toBe("+0.66");
    expect(formatPct(0.0125)).toBe("+1.25%");
    expect(formatPct(-0.004)).toBe("-0.40%");
    expect(formatPct(Number.NaN)).toBe("n/a");
    expect(formatDuration(2.54)).toBe("2.5 s");
    expect(formatDuration(45)).toBe("45 s");
    expect(formatDuration(720)).toBe("12 min");
    expect(formatDuration(12_600)).toBe("3.5 h");
    expect(formatDuration(259_200)).toBe("3.0 d");
    expect(formatTime(Date.UTC(2024, 4, 1, 12, 34, 56))).toBe("2024-05-01 12:34 UTC");
  });
});

describe("escapeText", () => {
  it("escapes what opens an entity in legacy Markdown", () => {
    expect(escapeText("a_b*c`d[e]f\\g (h)", "Markdown")).toBe("a\\_b\\*c\\`d\\[e]f\\g (h)");
    expect(escapeText("〉〉〉📈 BUY ZONE", "Markdown")).toBe("〉〉〉📈 BUY ZONE");
  });

  it("escapes MarkdownV2's 18 reserved characters and the backslash", () => {
    expect(escapeText("_*[]()~`>#+-=|{}.!", "MarkdownV2")).toBe(
      "\\_\\*\\[\\]\\(\\)\\~\\`\\>\\#\\+\\-\\=\\|\\{\\}\\.\\!",
    );
    expect(escapeText("C:\\x 1.5%", "MarkdownV2")).toBe("C:\\\\x 1\\.5%");
  });

  it("escapes &, < and > in HTML", () => {
    expect(escapeText('<b>&"x"</b>', "HTML")).toBe('&lt;b&gt;&amp;"x"&lt;/b&gt;');
  });

  it("writes bold legacy Markdown, a * inside closing and reopening the entity", () => {
    expect(markdownBold("BUY ZONE")).toBe("*BUY ZONE*");
    expect(markdownBold("2*2_4")).toBe("*2*\\**2_4*");
  });
});

describe("splitMessage", () => {
  it("keeps a text within the limit whole, and gives nothing for an empty text", () => {
    expect(splitMessage("hello\nworld")).toEqual(["hello\nworld"]);
    expect(splitMessage("x".repeat(4096))).toEqual(["x".repeat(4096)]);
    expect(splitMessage("")).toEqual([]);
  });

  it("packs whole lines and cuts at line breaks", () => {
    expect(splitMessage("aaa\nbbb\nccc\nddd", 10)).toEqual(["aaa\nbbb", "ccc\nddd"]);
    expect(splitMessage("aaaaaaaaaa\nb", 10)).toEqual(["aaaaaaaaaa", "b"]);
    const lines = Array.from({ length: 500 }, (_, i) => `line ${i} ${"=".repeat(i % 37)}`);
    const text = lines.join("\n");
    const parts = splitMessage(text);
    expect(parts.length).toBeGreaterThan(1);
    for (const p of parts) expect(p.length).toBeLessThanOrEqual(4096);
    expect(parts.join("\n")).toBe(text);
    // Greedy: the first line of each next part would not have fitted.
    for (let i = 0; i + 1 < parts.length; i++) {
      const next = parts[i + 1]?.split("\n")[0] ?? "";
      expect((parts[i]?.length ?? 0) + 1 + next.length).toBeGreaterThan(4096);
    }
  });

  it("cuts a line longer than the limit at a space, else hard", () => {
    expect(splitMessage("one two three four", 10)).toEqual(["one two", "three four"]);
    expect(splitMessage("abcdefghijklmnopqrstuvwxy", 10)).toEqual(["abcdefghij", "klmnopqrst", "uvwxy"]);
    expect(splitMessage(`ab\n${"x".repeat(15)}`, 10)).toEqual(["ab", "xxxxxxxxxx", "xxxxx"]);
    expect(splitMessage(`${"x".repeat(15)}\ncd`, 10)).toEqual(["xxxxxxxxxx", "xxxxx\ncd"]);
  });

  it("counts UTF-16 code units and never cuts a surrogate pair", () => {
    expect(splitMessage("😀".repeat(5), 10)).toEqual(["😀".repeat(5)]);
    expect(splitMessage("😀".repeat(6), 10)).toEqual(["😀".repeat(5), "😀"]);
    expect(splitMessage("aaaaaaaaa😀b", 10)).toEqual(["aaaaaaaaa", "😀b"]);
  });

  it("drops a message of blank lines at a cut", () => {
    expect(splitMessage(`${"a".repeat(10)}\n\n${"b".repeat(10)}`, 10)).toEqual([
      "a".repeat(10),
      "b".repeat(10),
    ]);
  });

  it("refuses a limit below 2", () => {
    expect(() => splitMessage("abc", 1)).toThrow(
      "splitMessage: the limit must be an integer of at least 2, got 1",
    );
  });
});
