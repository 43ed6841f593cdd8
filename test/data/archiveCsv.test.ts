import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DataError } from "../../src/core/errors.js";
import type { Frame } from "../../src/core/frame.js";
import { KLINE_COLUMNS } from "../../src/core/klines.js";
import { KlineTable, parseKlineCsv, parseKlineCsvInto } from "../../src/data/archive/klinesCsv.js";
import { readSingleEntry } from "../../src/data/archive/zip.js";
import { frameDiff, referenceRows, SAMPLE, spotZip, umZip, unzipText } from "./archiveHelpers.js";

function parseText(csv: string, file = "t.csv"): Frame {
  return parseKlineCsv(Buffer.from(csv, "latin1"), file);
}

/** Row for row, value for value (Object.is: -0 and NaN count too). */
function expectSameRows(frame: Frame, rows: number[][]): void {
  expect(frame.length).toBe(rows.length);
  expect(frame.columnNames).toEqual([...KLINE_COLUMNS]);
  const cols = [frame.time, ...KLINE_COLUMNS.map((c) => frame.get(c))];
  let mismatches = 0;
  rows.forEach((row, i) => {
    expect(row.length).toBe(12);
    for (let j = 0; j < 12; j++) if (!Object.is(cols[j]?.[i], row[j])) mismatches++;
  });
  expect(mismatches).toBe(0);
}

const row = (t: number, rest = "1.5,2,0.5,1,10,0,100,3,5,50,0") => {
  const f = rest.split(",");
  f.splice(5, 1, String(t + 59_999));
  return `${t},${f.join(",")}`;
};

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected an error");
}

describe("parseKlineCsv", () => {
  it("spot (no header): equals unzip + Number() for every value of March 2023", () => {
    const zip = spotZip(SAMPLE, "2023-03");
    const csv = unzipText(zip);
    expect(csv.startsWith("1677628800000,")).toBe(true);
    const frame = parseKlineCsv(readSingleEntry(readFileSync(zip), zip).data, zip);
    expectSameRows(frame, referenceRows(csv));
  });

  it("futures (with header): equals unzip + Number() for every value", () => {
    const zip = umZip(SAMPLE, "2023-04");
    const csv = unzipText(zip);
    expect(csv.startsWith("open_time,open,high,low,close,volume,close_time,")).toBe(true);
    const frame = parseKlineCsv(readSingleEntry(readFileSync(zip), zip).data, zip);
    expectSameRows(frame, referenceRows(csv));
    expect(frame.time[0]).toBe(Date.UTC(2023, 3, 1));
  });

  it("microsecond timestamps (spot from 2025) give the same ms times, close time included", () => {
    const zip = spotZip(SAMPLE, "2023-02");
    const csv = unzipText(zip);
    const micros = csv.replace(/^(\d+),((?:[^,]*,){5})(\d+),/gm, "$1000,$2$3000,");
    expect(micros.slice(0, 17)).toBe("1675209600000000,");
    const ms = parseText(csv);
    const us = parseText(micros);
    expect(frameDiff(us, ms)).toBe(0);
    // Binance's real µs close times end in 999999: floored to the usual ...59999 ms.
    const real = parseText("1735689600000000,1,1,1,1,1,1735689659999999,1,1,1,1,0\n");
    expect([real.time[0], real.get("close_time")[0]]).toEqual([1735689600000, 1735689659999]);
  });

  it("CRLF line ends, a BOM, blank lines and a missing final newline are fine", () => {
    const text = `\ufeff${row(60_000)}\r\n\r\n${row(120_000)}\r\n${row(180_000)}`;
    const f = parseKlineCsv(Buffer.from(text, "utf8"), "t.csv");
    expect([...f.time]).toEqual([60_000, 120_000, 180_000]);
    expect(f.get("close_time")[2]).toBe(239_999);
    expect(parseText("").length).toBe(0);
    expect(parseText("open_time,open,high,low,close,volume,close_time,qv,n,tbv,tqv,ignore\n").length).toBe(0);
  });

  it("a bad field: file, 1-based line and column name in the message", () => {
    const text = `${row(60_000)}\n${row(120_000)}\n${row(180_000).replace(",1.5,2,", ",1.5,2x,")}\n`;
    const err = errorOf(() => parseText(text, "BTCUSDT-1m-2023-03.zip"));
    expect(err).toBeInstanceOf(DataError);
    expect(err.message).toBe('BTCUSDT-1m-2023-03.zip: line 3, column high: not a number: "2x"');
    // With a header, the header is line 1.
    const header = "open_time,open,high,low,close,volume,close_time,quote_volume,count,tbv,tqv,ignore\n";
    expect(() => parseText(`${header}${row(60_000).replace(/,0$/, ",")}\n`, "f.zip")).toThrow(
      'f.zip: line 2, column ignore: not a number: ""',
    );
    expect(() => parseText(`${row(60_000).replace(/^60000,1\.5/, "60000,abc")}\n`, "f.zip")).toThrow(
      'f.zip: line 1, column open: not a number: "abc"',
    );
  });

  it("wrong column counts, a bad header and disorder are refused with the line", () => {
    expect(() => parseText(`${row(60_000)}\n1,2,3\n`, "f")).toThrow(
      "f: line 2, expected 12 columns, found 3",
    );
    expect(() => parseText(`${row(60_000)},7\n`, "f")).toThrow("f: line 1, expected 12 columns, found more");
    expect(() => parseText("time,open\n1,2\n", "f")).toThrow(
      'f: line 1, unexpected header "time,open": expected none or Binance\'s 12 kline columns starting with open_time',
    );
    expect(() => parseText(`${row(120_000)}\n${row(60_000)}\n`, "f")).toThrow(
      "f: line 2, open time 60000 is not after the previous row's 120000; rows must be strictly ascending",
    );
    expect(() => parseText(`${row(60_000)}\n${row(60_000)}\n`, "f")).toThrow(
      /^f: line 2, open time 60000 is not after/,
    );
  });

  it("every number equals parseFloat of its text (Clinger fast path and fallbacks)", () => {
    const digits = (min: number, max: number) =>
      fc.string({ unit: fc.constantFrom(..."0123456789"), minLength: min, maxLength: max });
    const decimal = fc
      .tuple(
        fc.boolean(),
        digits(1, 20),
        fc.option(digits(0, 25)),
        fc.option(fc.integer({ min: -330, max: 310 })),
      )
      .map(
        ([neg, int, frac, exp]) =>
          `${neg ? "-" : ""}${int}${frac === null ? "" : `.${frac}`}${exp === null ? "" : `e${exp}`}`,
      );
    fc.assert(
      fc.property(fc.array(decimal, { minLength: 11, maxLength: 11 }), (fields) => {
        const f = parseText(`60000,${fields.join(",")}\n`);
        KLINE_COLUMNS.forEach((c, j) => {
          expect(Object.is(f.get(c)[0], Number.parseFloat(fields[j] as string))).toBe(true);
        });
      }),
      { numRuns: 3000 },
    );
    const edge = [
      "9007199254740993",
      "9007199254740992.0000000",
      "0.1000000000000000055511151231257827",
      "123456789012345678.9",
      "0.0000000000000000000000001",
      "1.7976931348623157e308",
      "5e-324",
      "-0.0",
      "+12.5",
      ".5",
      "7.",
      "00000000000000000000000000000001.5",
      "4287862.12804110",
    ];
    const f = parseText(`60000,${edge.slice(0, 11).join(",")}\n120000,${edge.slice(2).join(",")}\n`);
    KLINE_COLUMNS.forEach((c, j) => {
      expect(Object.is(f.get(c)[0], Number.parseFloat(edge[j] as string))).toBe(true);
      expect(Object.is(f.get(c)[1], Number.parseFloat(edge[j + 2] as string))).toBe(true);
    });
  });

  it("parses several files into one growing table, converting µs per file", () => {
    const t0 = Date.UTC(2025, 0, 1);
    const table = new KlineTable(1);
    expect(parseKlineCsvInto(Buffer.from(`${row(t0)}\n${row(t0 + 60_000)}\n`), "a", table)).toBe(2);
    const micros = `${row(t0 + 120_000).replace(/^(\d+),((?:[^,]*,){5})(\d+),/, "$1000,$2$3000,")}\n`;
    expect(micros.startsWith(`${t0 + 120_000}000,`)).toBe(true);
    expect(parseKlineCsvInto(Buffer.from(micros), "b", table)).toBe(1);
    expect(table.capacity).toBeGreaterThanOrEqual(3);
    const f = table.toFrame();
    expect([...f.time]).toEqual([t0, t0 + 60_000, t0 + 120_000]);
    expect([...f.get("close_time")]).toEqual([t0 + 59_999, t0 + 119_999, t0 + 179_999]);
    // A failed file leaves the table's rows as they were.
    expect(() => parseKlineCsvInto(Buffer.from(`${row(t0 + 180_000)}\nx\n`), "c", table)).toThrow(DataError);
    expect(table.length).toBe(3);
  });
});
