import { describe, expect, it } from "vitest";
import { Frame } from "../../src/core/frame.js";
import { loadArchiveMonths } from "../../src/data/archive/import.js";
import { mergeSources } from "../../src/data/merge.js";
import { SAMPLE } from "../helpers/paths.js";

const M = 60_000;
const T0 = Date.UTC(2023, 2, 24, 12, 0);

function frame(times: number[], cols: Record<string, number[]>): Frame {
  return new Frame(
    Float64Array.from(times),
    Object.entries(cols).map(([k, v]) => [k, Float64Array.from(v)] as const),
  );
}

describe("mergeSources on hand-built frames", () => {
  it("builds the grid from the earliest start to the earliest end and prefixes columns", () => {
    const a = frame([T0, T0 + M, T0 + 2 * M, T0 + 3 * M], { close: [1, 2, 3, 4] });
    const b = frame([T0 + 2 * M, T0 + 3 * M, T0 + 4 * M, T0 + 5 * M], { close: [10, 20, 30, 40] });
    const { frame: out, report } = mergeSources(
      [
        { name: "A", prefix: "", frame: a },
        { name: "B", prefix: "eth", frame: b },
      ],
      { freqMs: M, interpolate: false, maxGap: 5 },
    );
    expect(Array.from(out.time)).toEqual([T0, T0 + M, T0 + 2 * M, T0 + 3 * M]);
    expect(out.columnNames).toEqual(["close", "eth_close"]);
    expect(Array.from(out.get("close"))).toEqual([1, 2, 3, 4]);
    expect(Array.from(out.get("eth_close"))).toEqual([Number.NaN, Number.NaN, 10, 20]);
    expect(report.sources[1]?.outsideBars).toBe(2);
    expect(report.sources[1]?.droppedRows).toBe(2);
    expect(report.sources[1]?.gaps).toEqual([]);
  });

  it("reports gaps and leaves them NaN without interpolation", () => {
    const a = frame([T0, T0 + M, T0 + 4 * M, T0 + 5 * M], { close: [1, 2, 5, 6] });
    const { frame: out, report } = mergeSources([{ name: "A", prefix: "", frame: a }], {
      freqMs: M,
      interpolate: false,
      maxGap: 5,
    });
    expect(out.length).toBe(6);
    expect(Array.from(out.get("close"))).toEqual([1, 2, Number.NaN, Number.NaN, 5, 6]);
    expect(report.sources[0]?.gaps).toEqual([
      { start: T0 + 2 * M, end: T0 + 3 * M, bars: 2, interpolated: false },
    ]);
    expect(report.sources[0]?.missingBars).toBe(2);
  });

  it("interpolates linearly only gaps no longer than maxGap", () => {
    const a = frame([T0, T0 + 3 * M, T0 + 4 * M, T0 + 9 * M], { close: [1, 4, 10, 0] });
    const { frame: out, report } = mergeSources([{ name: "A", prefix: "", frame: a }], {
      freqMs: M,
      interpolate: true,
      maxGap: 2,
    });
    const c = Array.from(out.get("close"));
    expect(c.slice(0, 5)).toEqual([1, 2, 3, 4, 10]);
    expect(c.slice(5, 9).every(Number.isNaN)).toBe(true);
    expect(c[9]).toBe(0);
    expect(report.sources[0]?.gaps.map((g) => [g.bars, g.interpolated])).toEqual([
      [2, true],
      [4, false],
    ]);
  });

  it("drops rows whose time is off the grid and counts them", () => {
    const a = frame([T0, T0 + M + 30_000, T0 + 2 * M], { close: [1, 2, 3] });
    const { frame: out, report } = mergeSources([{ name: "A", prefix: "", frame: a }], {
      freqMs: M,
      interpolate: false,
      maxGap: 0,
    });
    expect(Array.from(out.get("close"))).toEqual([1, Number.NaN, 3]);
    expect(report.sources[0]?.droppedRows).toBe(1);
  });

  it("refuses when no source has data", () => {
    expect(() =>
      mergeSources([{ name: "BTCUSDT", prefix: "", frame: Frame.empty(["close"]) }], {
        freqMs: M,
        interpolate: false,
        maxGap: 0,
      }),
    ).toThrow("merge: no data in any source (BTCUSDT); import or download first");
  });
});

describe("mergeSources on real candles (bundled sample, 2023-02..2023-04)", () => {
  it("merges BTCUSDT spot with ETHUSDT futures (prefix eth) and finds the 2023-03-24 halt", async () => {
    const months = ["2023-02", "2023-03", "2023-04"];
    const btc = await loadArchiveMonths(SAMPLE, "BTCUSDT", "spot", "1m", months);
    const eth = await loadArchiveMonths(SAMPLE, "ETHUSDT", "um", "1m", months);
    // Counts from the archives' CSV lines, computed outside itb (Python zipfile): 128,080 BTC
    // candles, 128,160 ETH candles, one 80-minute BTC gap after 2023-03-24 12:39.
    expect(btc.length).toBe(128_080);
    expect(eth.length).toBe(128_160);
    const { frame: out, report } = mergeSources(
      [
        { name: "BTCUSDT", prefix: "", frame: btc },
        { name: "ETHUSDT", prefix: "eth", frame: eth },
      ],
      { freqMs: M, interpolate: false, maxGap: 5 },
    );
    expect(out.length).toBe(128_160);
    expect(new Date(out.time[0] as number).toISOString()).toBe("2023-02-01T00:00:00.000Z");
    expect(new Date(out.time[out.length - 1] as number).toISOString()).toBe("2023-04-30T23:59:00.000Z");
    expect(out.has("close") && out.has("eth_close")).toBe(true);
    const [b, e] = report.sources;
    expect(b?.gaps).toEqual([
      {
        start: Date.UTC(2023, 2, 24, 12, 40),
        end: Date.UTC(2023, 2, 24, 13, 59),
        bars: 80,
        interpolated: false,
      },
    ]);
    expect(e?.gaps).toEqual([]);
    const i = out.lowerBound(Date.UTC(2023, 2, 24, 13, 0));
    expect(Number.isNaN(out.get("close")[i] as number)).toBe(true);
    expect(Number.isNaN(out.get("eth_close")[i] as number)).toBe(false);
  });

  it("never interpolates across the 80-minute halt, whatever merge_interpolate says", async () => {
    const btc = await loadArchiveMonths(SAMPLE, "BTCUSDT", "spot", "1m", ["2023-03"]);
    const { frame: out, report } = mergeSources([{ name: "BTCUSDT", prefix: "", frame: btc }], {
      freqMs: M,
      interpolate: true,
      maxGap: 60,
    });
    expect(report.sources[0]?.gaps[0]?.interpolated).toBe(false);
    const i = out.lowerBound(Date.UTC(2023, 2, 24, 12, 40));
    expect(Number.isNaN(out.get("close")[i] as number)).toBe(true);
  });
});
