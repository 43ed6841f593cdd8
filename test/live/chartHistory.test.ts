import { describe, expect, it } from "vitest";
import { ChartHistory } from "../../src/live/notify/chartHistory.js";

/** The charts' recent candles: a ring of the last rows, read back in time order by window. */
describe("the chart history", () => {
  it("keeps the last rows across wrap-arounds and reads a window oldest first", () => {
    const h = new ChartHistory(4, ["trade_score", "lc_score"]);
    for (let t = 1; t <= 6; t++) h.push(t * 60, t, t + 0.5, t - 0.5, t + 0.25, [t / 10, -t / 10]);
    const w = h.window(0, 1e9, "lc_score");
    expect([...w.time]).toEqual([180, 240, 300, 360]);
    expect([...w.close]).toEqual([3.25, 4.25, 5.25, 6.25]);
    expect([...w.score]).toEqual([-0.3, -0.4, -0.5, -0.6]);
    const part = h.window(240, 300, "trade_score");
    expect([...part.time]).toEqual([240, 300]);
    expect([...part.open]).toEqual([4, 5]);
    expect([...part.high]).toEqual([4.5, 5.5]);
    expect([...part.low]).toEqual([3.5, 4.5]);
    expect([...part.score]).toEqual([0.4, 0.5]);
    // a column it does not keep reads as NaN
    expect([...h.window(240, 240, "other").score]).toEqual([Number.NaN]);
  });

  it("before it is full, holds only what was pushed", () => {
    const h = new ChartHistory(10, ["s"]);
    h.push(60, 1, 2, 0, 1.5, [0.1]);
    expect([...h.window(0, 1e9, "s").time]).toEqual([60]);
    expect([...new ChartHistory(3, ["s"]).window(0, 1e9, "s").time]).toEqual([]);
  });
});
