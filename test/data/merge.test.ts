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

describe("mergeSources with reuseSources", () => {
  /** A frame whose columns are views at the start of buffers of `capacity` rows, as a parsed archive's. */
  function roomy(times: number[], cols: Record<string, number[]>, capacity: number): Frame {
    return new Frame(
      Float64Array.from(times),
      Object.entries(cols).map(([k, v]) => {
        const buf = new Float64Array(capacity).fill(-1);
        buf.set(v);
        return [k, buf.subarray(0, v.length)] as const;
      }),
    );
  }
  const opts = { freqMs: M, interpolate: true, maxGap: 1 };

  it("moves a roomy source onto the grid in place: the same frame and report as a copy", () => {
    // Holes of 1 bar (interpolated) and 2 bars (NaN), a row off the grid (dropped).
    const times = [T0, T0 + M, T0 + 3 * M, T0 + 3.5 * M, T0 + 6 * M, T0 + 7 * M, T0 + 8 * M];
    const cols = { close: [1, 2, 4, 99, 7, 8, 9], volume: [10, 20, 40, 990, 70, 80, 90] };
    const copied = mergeSources([{ name: "A", prefix: "", frame: roomy(times, cols, 9) }], opts);
    const source = roomy(times, cols, 9);
    const closeBuffer = source.get("close").buffer;
    const moved = mergeSources([{ name: "A", prefix: "", frame: source }], { ...opts, reuseSources: true });
    expect(moved.report).toEqual(copied.report);
    expect(Array.from(moved.frame.time)).toEqual(Array.from(copied.frame.time));
    for (const c of ["close", "volume"]) {
      expect(Array.from(moved.frame.get(c))).toEqual(Array.from(copied.frame.get(c)));
    }
    expect(Array.from(moved.frame.get("close"))).toEqual([1, 2, 3, 4, Number.NaN, Number.NaN, 7, 8, 9]);
    expect(moved.frame.get("close").buffer).toBe(closeBuffer);
    expect(copied.frame.get("close").buffer).not.toBe(closeBuffer);
  });

  it("copies a source with two rows on one bar (the later row wins, as without reuse)", () => {
    const times = [T0, T0 + M, T0 + M, T0 + 2 * M];
    const source = roomy(times, { close: [1, 2, 20, 3] }, 8);
    const out = mergeSources([{ name: "A", prefix: "", frame: source }], { ...opts, reuseSources: true });
    expect(Array.from(out.frame.get("close"))).toEqual([1, 20, 3]);
    expect(out.frame.get("close").buffer).not.toBe(source.get("close").buffer);
  });

  it("copies when the source's memory cannot hold the grid, or rows would move left", () => {
    const small = roomy([T0, T0 + 2 * M], { close: [1, 3] }, 2);
    const out = mergeSources([{ name: "A", prefix: "", frame: small }], {
      freqMs: M,
      interpolate: false,
      maxGap: 0,
      reuseSources: true,
    });
    expect(Array.from(out.frame.get("close"))).toEqual([1, Number.NaN, 3]);
    expect(out.frame.get("close").buffer).not.toBe(small.get("close").buffer);
    // Rows off the grid first: the kept rows would move left.
    const early = roomy([T0 + 0.5 * M, T0 + 0.7 * M, T0 + M, T0 + 2 * M], { close: [9, 9, 1, 2] }, 8);
    const out2 = mergeSources([{ name: "A", prefix: "", frame: early }], {
      freqMs: M,
      interpolate: false,
      maxGap: 0,
      reuseSources: true,
    });
    expect(Array.from(out2.frame.get("close"))).toEqual([1, 2]);
    expect(out2.frame.get("close").buffer).not.toBe(early.get("close").buffer);
  });

  it("gives the same frame as a copy on real candles (the 80-minute halt of 2023-03-24), in the archive's memory", async () => {
    const load = () => loadArchiveMonths(SAMPLE, "BTCUSDT", "spot", "1m", ["2023-02", "2023-03", "2023-04"]);
    const o = { freqMs: M, interpolate: false, maxGap: 0 };
    const a = mergeSources([{ name: "B", prefix: "", frame: await load() }], o).frame;
    const archive = await load();
    const closeBuffer = archive.get("close").buffer;
    const b = mergeSources([{ name: "B", prefix: "", frame: archive }], { ...o, reuseSources: true }).frame;
    expect(b.length).toBe(128_160);
    expect(b.get("close").buffer).toBe(closeBuffer);
    expect(b.columnNames).toEqual(a.columnNames);
    for (const c of a.columnNames) expect(b.get(c)).toEqual(a.get(c));
  });
});
