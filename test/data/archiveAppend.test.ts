import { describe, expect, it } from "vitest";
import { Frame } from "../../src/core/frame.js";
import { appendRows, COVERED_MAX_GAP_MS, covers } from "../../src/data/archive/append.js";

const MIN = 60_000;
const f = (times: number[], cols: Record<string, number[]>) =>
  new Frame(
    Float64Array.from(times),
    Object.entries(cols).map(([k, v]) => [k, Float64Array.from(v)] as const),
  );
const values = (frame: Frame, c: string) => [...frame.get(c)];

describe("appendRows", () => {
  it("adds only new times, keeps ascending order, and lets the archive win on differences", () => {
    const stored = f([1, 3, 5], { close: [10, 30, 50], extra: [7, 7, 7] });
    const archive = f([2, 3, 5, 6], { close: [20, 31, 50, 60] });
    const r = appendRows(stored, archive);
    expect([r.added, r.changed]).toEqual([2, 1]);
    expect([...r.frame.time]).toEqual([1, 2, 3, 5, 6]);
    expect(values(r.frame, "close")).toEqual([10, 20, 31, 50, 60]);
    // A column only the store has keeps its values; new rows have none.
    expect(values(r.frame, "extra")).toEqual([7, Number.NaN, 7, 7, Number.NaN]);
  });

  it("returns the stored frame itself when the archive adds and changes nothing", () => {
    const stored = f([1, 2, 3], { close: [1, Number.NaN, 3] });
    const r = appendRows(stored, f([2, 3], { close: [Number.NaN, 3] }));
    expect(r).toEqual({ frame: stored, added: 0, changed: 0 });
    expect(r.frame).toBe(stored);
  });

  it("rows after the store's last are appended whole; columns either side lacks are NaN there", () => {
    const stored = f([1, 2], { close: [10, 20], extra: [7, 8] });
    const r = appendRows(stored, f([3, 4], { close: [30, 40], open: [3, 4] }));
    expect([r.added, r.changed]).toEqual([2, 0]);
    expect([...r.frame.time]).toEqual([1, 2, 3, 4]);
    expect(r.frame.columnNames).toEqual(["close", "extra", "open"]);
    expect(values(r.frame, "close")).toEqual([10, 20, 30, 40]);
    expect(values(r.frame, "extra")).toEqual([7, 8, Number.NaN, Number.NaN]);
    expect(values(r.frame, "open")).toEqual([Number.NaN, Number.NaN, 3, 4]);
    // The store is not changed in place.
    expect([...stored.time]).toEqual([1, 2]);
  });

  it("with no store, the archive is the table; columns only the archive has come last", () => {
    const archive = f([1, 2], { open: [1, 2], close: [3, 4] });
    expect(appendRows(undefined, archive)).toEqual({ frame: archive, added: 2, changed: 0 });
    const r = appendRows(f([0], { close: [9] }), archive);
    expect(r.frame.columnNames).toEqual(["close", "open"]);
    expect(values(r.frame, "open")).toEqual([Number.NaN, 1, 2]);
  });
});

describe("covers", () => {
  const minutes = (from: number, to: number) =>
    Array.from({ length: (to - from) / MIN }, (_, i) => from + i * MIN);
  const day = 86_400_000;

  it("needs the first and the last bar of the range", () => {
    const full = f(minutes(0, day), {});
    expect(covers(full, 0, day, MIN)).toBe(true);
    expect(covers(f(minutes(MIN, day), {}), 0, day, MIN)).toBe(false);
    expect(covers(f(minutes(0, day - MIN), {}), 0, day, MIN)).toBe(false);
    expect(covers(undefined, 0, day, MIN)).toBe(false);
    expect(covers(full, day, 2 * day, MIN)).toBe(false);
    // A range starting or ending inside a bar.
    expect(covers(full, 30_000, day - 30_000, MIN)).toBe(true);
  });

  it("tolerates a halt-sized hole, not a longer one", () => {
    const halt = [...minutes(0, 600 * MIN), ...minutes(681 * MIN, day)];
    expect(covers(f(halt, {}), 0, day, MIN)).toBe(true);
    const hole = [...minutes(0, 600 * MIN), ...minutes(600 * MIN + COVERED_MAX_GAP_MS + MIN, day)];
    expect(covers(f(hole, {}), 0, day, MIN)).toBe(false);
    // Daily bars: no missing bar is tolerated.
    expect(covers(f([0, 2 * day, 3 * day], {}), 0, 4 * day, day)).toBe(false);
  });
});
