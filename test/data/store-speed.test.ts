import { statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Frame } from "../../src/core/frame.js";
import { readFrame, writeFrame } from "../../src/data/store/index.js";
import { expectSameFrame, tempDir } from "./store-fixtures.js";

/**
 * Guards the bulk paths: a million rows of twenty columns must move in seconds. A per-value
 * path (appender calls, `getItem`, a string per field) takes minutes and fails here. The
 * timings are printed; the limits are loose so a busy machine does not fail the suite.
 */

const ROWS = 1_000_000;
const COLS = 20;

let tmp: { dir: string; remove: () => void };
let frame: Frame;
beforeAll(() => {
  tmp = tempDir("speed");
  const time = new Float64Array(ROWS);
  for (let i = 0; i < ROWS; i++) time[i] = Date.UTC(2020, 0, 1) + i * 60_000;
  frame = new Frame(time);
  // Feature-like values: full-precision doubles that neither repeat nor compress.
  let seed = 1;
  for (let j = 0; j < COLS; j++) {
    const values = new Float64Array(ROWS);
    for (let i = 0; i < ROWS; i++) {
      seed = (seed * 48271) % 2147483647;
      values[i] = (seed / 2147483647) * 1000 - 500;
    }
    frame.set(`f${j}`, values);
  }
});
afterAll(() => tmp.remove());

async function timed<T>(run: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const result = await run();
  return [result, (performance.now() - start) / 1000];
}

describe(`${ROWS} rows × ${COLS} columns`, () => {
  // CSV is bounded by V8's own number formatting and parsing of 17-digit text (~150 ns a
  // value), so it is checked on a quarter of the rows to keep the suite quick.
  it.each([
    ["Parquet snappy", "speed.parquet", { compression: "snappy" as const }, ROWS, 8],
    ["Parquet zstd", "speed-zstd.parquet", { compression: "zstd" as const }, ROWS, 8],
    ["CSV", "speed.csv", {}, ROWS / 4, 15],
  ])("%s writes and reads back in seconds", async (label, name, opts, rows, limit) => {
    const file = join(tmp.dir, name);
    const input = rows === ROWS ? frame : frame.slice(0, rows);
    const [, write] = await timed(() => writeFrame(file, input, opts));
    const [back, read] = await timed(() => readFrame(file));
    const mb = statSync(file).size / 1e6;
    console.log(
      `${label}, ${rows} rows: write ${write.toFixed(2)} s, read ${read.toFixed(2)} s, ${mb.toFixed(0)} MB`,
    );
    expectSameFrame(back, input);
    expect(write).toBeLessThan(limit);
    expect(read).toBeLessThan(limit);
  });
});
