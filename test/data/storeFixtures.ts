import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inflateRawSync } from "node:zlib";
import { expect } from "vitest";
import { DataError } from "../../src/core/errors.js";
import { Frame } from "../../src/core/frame.js";
import { KLINE_COLUMNS } from "../../src/core/klines.js";

/**
 * Fixtures for the store tests: real Binance candles from the bundled sample archives, read
 * by a path independent of the code under test (zip central directory + raw inflate, then
 * `Number()` on each field), and a bit-level frame comparison.
 */

const SAMPLE = join(import.meta.dirname, "..", "..", "sample", "binance-vision", "data");

export const BTC_2023_03 = join(SAMPLE, "spot/monthly/klines/BTCUSDT/1m/BTCUSDT-1m-2023-03.zip");
export const ETH_2023_03 = join(SAMPLE, "futures/um/monthly/klines/ETHUSDT/1m/ETHUSDT-1m-2023-03.zip");

/** The text of the single file inside a zip archive (stored or deflated). */
export function unzipSingle(zipPath: string): string {
  const zip = readFileSync(zipPath);
  let eocd = -1;
  for (let i = zip.length - 22; i >= 0; i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error(`${zipPath}: no end of central directory`);
  const central = zip.readUInt32LE(eocd + 16);
  if (zip.readUInt32LE(central) !== 0x02014b50) throw new Error(`${zipPath}: bad central directory`);
  const method = zip.readUInt16LE(central + 10);
  const compressed = zip.readUInt32LE(central + 20);
  const local = zip.readUInt32LE(central + 42);
  if (zip.readUInt32LE(local) !== 0x04034b50) throw new Error(`${zipPath}: bad local header`);
  const dataStart = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
  const data = zip.subarray(dataStart, dataStart + compressed);
  if (method === 0) return data.toString("utf8");
  if (method === 8) return inflateRawSync(data).toString("utf8");
  throw new Error(`${zipPath}: compression method ${method} not supported`);
}

/** A month of klines as a frame: open time as the time column, the other fields as columns. */
export function klinesFrame(zipPath: string): Frame {
  const lines = unzipSingle(zipPath)
    .split("\n")
    .filter((l) => l.trim() !== "" && /^\d/.test(l));
  const n = lines.length;
  const time = new Float64Array(n);
  const cols = KLINE_COLUMNS.map(() => new Float64Array(n));
  lines.forEach((line, i) => {
    const fields = line.trim().split(",");
    time[i] = Number(fields[0]);
    cols.forEach((c, j) => {
      c[i] = Number(fields[j + 1]);
    });
  });
  return new Frame(
    time,
    KLINE_COLUMNS.map((name, j) => [name, cols[j] as Float64Array] as const),
  );
}

/** Values that break naive float handling. */
export const EDGE_VALUES = [
  Number.NaN,
  -0,
  0,
  5e-324,
  -5e-324,
  2.2250738585072014e-308,
  1.7976931348623157e308,
  -1.7976931348623157e308,
  0.1 + 0.2,
  1 / 3,
  123456789.12345679,
  2 ** 53 + 2,
  1e21,
  1e-7,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
];

/** A frame holding every edge value in every column (shifted per column), times a minute apart. */
export function edgeFrame(columns = ["a", "b", "c"]): Frame {
  const n = EDGE_VALUES.length;
  const time = new Float64Array(n);
  for (let i = 0; i < n; i++) time[i] = Date.UTC(2023, 2, 1) + i * 60_000;
  return new Frame(
    time,
    columns.map((name, j) => {
      const values = new Float64Array(n);
      for (let i = 0; i < n; i++) values[i] = EDGE_VALUES[(i + j) % n] as number;
      return [name, values] as const;
    }),
  );
}

function bytesOf(a: Float64Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** Same length, same columns in the same order, and every time and value bit-identical. */
export function expectSameFrame(actual: Frame, expected: Frame): void {
  expect(actual.length).toBe(expected.length);
  expect(actual.columnNames).toEqual(expected.columnNames);
  expect(Buffer.from(bytesOf(actual.time)).equals(bytesOf(expected.time))).toBe(true);
  for (const name of expected.columnNames) {
    const same = Buffer.from(bytesOf(actual.get(name))).equals(bytesOf(expected.get(name)));
    if (!same) {
      // Name the first difference rather than a bare `false`.
      const a = actual.get(name);
      const e = expected.get(name);
      const i = a.findIndex((v, k) => !Object.is(v, e[k]));
      expect({ column: name, row: i, value: a[i] }).toEqual({ column: name, row: i, value: e[i] });
    }
    expect(same).toBe(true);
  }
}

/** A fresh temporary folder, removed by the returned function. */
export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `itb-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The DataError a promise rejects with (the test fails if it resolves or rejects otherwise). */
export async function errorOf(p: Promise<unknown>): Promise<DataError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DataError);
  return err as DataError;
}
