import { describe, expect, it, vi } from "vitest";
import { createProgress } from "../../src/cli/progress.js";
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
