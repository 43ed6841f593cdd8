import { describe, expect, it } from "vitest";
import { LiveTable } from "../../src/cli/liveTable.js";
import type { StatusLine } from "../../src/cli/terminalLine.js";
import { isoTime } from "../../src/core/time.js";
import type { CandleRecord } from "../../src/live/ledger/types.js";
import { sampleRecords } from "../helpers/ledgerRecords.js";
import { SAMPLE } from "../helpers/paths.js";

/** A terminal of `width` columns that keeps what was shown. */
function terminal(width: number): StatusLine & { shown: string[] } {
  const shown: string[] = [];
  return {
    shown,
    print() {},
    show(text: string) {
      shown.push(text);
    },
    get current() {
      return shown.at(-1) ?? "";
    },
    interactive: true,
    width,
  };
}

describe("itb serve's live table on a terminal", () => {
  it("one line per market that fits 80 columns, with the candle, close, score, signal, position, equity, P&L and lag", async () => {
    const records = await sampleRecords(SAMPLE, { count: 400 });
    // a candle where the paper trader holds a position
    const held = records.find((r) => r.equity.position === 1) as CandleRecord;
    expect(held).toBeDefined();
    const now = held.candle.time + 60_000 + 42_000;
    const term = terminal(80);
    const table = new LiveTable(term, () => now, 0);
    table.add("BTCUSDT 1m", 60_000, 1000);
    table.add("ETHUSDT 15m", 900_000, 1000);
    expect(table.text().split("\n")[2]).toMatch(/^ETHUSDT 15m +warming up/);
    table.update("BTCUSDT 1m", held);
    const lines = table.text().split("\n");
    expect(lines).toHaveLength(3);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(80);
    expect(lines[0]?.split(/ {2,}/)).toEqual([
      "MARKET",
      "CANDLE UTC",
      "CLOSE",
      "SCORE",
      "SIGNAL",
      "POS",
      "EQUITY",
      "P&L",
      "LAG",
    ]);
    const cells = lines[1]?.split(/ {2,}/) ?? [];
    expect(cells[0]).toBe("BTCUSDT 1m");
    expect(cells[1]).toBe(isoTime(held.candle.time).slice(5, 16).replace("T", " "));
    expect(cells[2]).toBe(held.candle.close.toLocaleString("en-US", { minimumFractionDigits: 2 }));
    expect(cells[5]).toBe("long");
    const pnl = ((held.equity.equity / 1000 - 1) * 100).toFixed(2);
    expect(cells[7]).toBe(`${pnl}%`);
    expect(cells[8]).toBe("42s");
    // what the terminal was last shown is the table
    expect(term.current).toBe(table.text());
    table.close();
    expect(term.current).toBe("");
  });

  it("shows nothing off a terminal", () => {
    const term = { ...terminal(80), interactive: false };
    const table = new LiveTable(term, () => 0, 0);
    table.add("BTCUSDT 1m", 60_000, 1000);
    expect(term.shown).toEqual([]);
  });
});
