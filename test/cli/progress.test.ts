import { describe, expect, it, vi } from "vitest";
import { barProgress, barText, createProgress, formatDuration } from "../../src/cli/progress.js";
import { fitWidth, type StatusLine, TerminalLine } from "../../src/cli/terminalLine.js";
import type { Logger } from "../../src/core/log.js";

function recorder(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const push = (o: object) => void lines.push(o as Record<string, unknown>);
  return { log: { debug: push, info: push, warn: push, error: push }, lines };
}

describe("progress off a terminal (log lines)", () => {
  it("writes a line at most every 5 s and one at the end, never the same value twice", () => {
    vi.useFakeTimers({ now: 0 });
    try {
      const { log, lines } = recorder();
      const p = createProgress(log, false)("rolling", "steps");
      p.start(3);
      p.update(1);
      vi.setSystemTime(6000);
      p.update(2); // 6 s after the start: a line
      vi.setSystemTime(12_000);
      p.update(3); // another 6 s: a line with the final value
      p.stop(); // nothing new to say
      expect(lines.map((l) => l.done)).toEqual([2, 3]);
      expect(lines[1]).toMatchObject({ stage: "rolling", done: 3, total: 3, unit: "steps", seconds: 12 });

      const q = recorder();
      const r = createProgress(q.log, false)("train", "models");
      r.start(2);
      r.update(1);
      r.update(2);
      r.stop(); // the end is always reported
      expect(q.lines.map((l) => l.done)).toEqual([2]);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("bars on a terminal", () => {
  /** A stream that records what is written, as wide as a terminal of `columns`. */
  function tty(columns = 60): { stream: NodeJS.WriteStream; bytes: string[] } {
    const bytes: string[] = [];
    const stream = { columns, write: (s: string) => bytes.push(s) > 0 } as unknown as NodeJS.WriteStream;
    return { stream, bytes };
  }

  it("the status line: permanent text goes above the transient line, which is redrawn below it", () => {
    const { stream, bytes } = tty(30);
    const line = new TerminalLine(stream);
    line.print("first");
    line.show("[BTCUSDT 1m] download ...");
    line.show("[BTCUSDT 1m] download ..."); // unchanged: nothing written
    line.print("[12:00:00.000] WARN: x\n");
    // Cut one column short of the terminal, so it never wraps.
    line.show("[BTCUSDT 1m] download ... BTCUSDT spot [░░░]");
    line.show("");
    line.print("done");
    expect(bytes).toEqual([
      "first\n",
      "[BTCUSDT 1m] download ...",
      "\r\x1b[2K[12:00:00.000] WARN: x\n[BTCUSDT 1m] download ...",
      "\r\x1b[2K[BTCUSDT 1m] download ... BTC",
      "\r\x1b[2K",
      "done\n",
    ]);
    expect(fitWidth("██░░", 3)).toBe("██░");
  });

  it("a bar extends the line it starts on; when it stops its final line stays above and the line is restored", () => {
    const shown: string[] = [];
    const printed: string[] = [];
    let current = "";
    const line: StatusLine = {
      interactive: true,
      width: 119,
      get current() {
        return current;
      },
      show: (l) => {
        current = l;
        shown.push(l);
      },
      print: (t) => void printed.push(t),
    };
    let now = 1_000;
    line.show("[BTCUSDT 1m] download ...");
    const bar = barProgress(line, "download", "1m bars", () => now);
    bar.start(44_640, { rows: 0, source: "BTCUSDT spot" });
    now += 50;
    bar.update(1_000, { rows: 1_000 }); // within 100 ms of the last redraw: not drawn
    now += 950;
    bar.update(22_320, { rows: 22_320 });
    now += 1_000;
    bar.update(44_640, { rows: 44_640 });
    bar.stop();
    bar.stop(); // once only
    expect(shown).toEqual([
      "[BTCUSDT 1m] download ...",
      "[BTCUSDT 1m] download ... BTCUSDT spot [░░░░░░░░░░░░░░░░░░░░] 0% | 0/44,640 1m bars | ETA -",
      "[BTCUSDT 1m] download ... BTCUSDT spot [██████████░░░░░░░░░░] 50% | 22,320/44,640 1m bars | 22,320 rows/s | ETA 1 s",
      "[BTCUSDT 1m] download ... BTCUSDT spot [████████████████████] 100% | 44,640/44,640 1m bars | 22,320 rows/s | ETA 0 s",
      "[BTCUSDT 1m] download ...",
    ]);
    expect(printed).toEqual([
      "[BTCUSDT 1m] download ... BTCUSDT spot [████████████████████] 100% | 44,640/44,640 1m bars | 2 s",
    ]);
  });

  it("the bar narrows to fit the terminal; durations read as s, min, h", () => {
    const state = { name: "ETHUSDT um", unit: "files", value: 1, total: 3, seconds: 2, rows: 0, done: false };
    expect(barText(state)).toBe("ETHUSDT um [███████░░░░░░░░░░░░░] 33% | 1/3 files | ETA 4 s");
    expect(barText(state, 50)).toBe("ETHUSDT um [████░░░░░░░] 33% | 1/3 files | ETA 4 s");
    expect(barText({ ...state, value: 3, done: true, seconds: 125 }, 10)).toBe(
      "ETHUSDT um [█████] 100% | 3/3 files | 2 min 05 s",
    );
    expect(formatDuration(3_725)).toBe("1 h 02 min");
  });
});
