import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Frame } from "../../src/core/frame.js";
import { formatNumber, parseNumber } from "../../src/data/store/csvNumber.js";
import { parseTime } from "../../src/data/store/csvTime.js";
import { frameFileInfo, readFrame, writeFrame } from "../../src/data/store/index.js";
import {
  BTC_2023_03,
  EDGE_VALUES,
  ETH_2023_03,
  edgeFrame,
  errorOf,
  expectSameFrame,
  klinesFrame,
  tempDir,
} from "./storeFixtures.js";

let tmp: { dir: string; remove: () => void };
beforeAll(() => {
  tmp = tempDir("csv");
});
afterAll(() => tmp.remove());

const path = (name: string) => join(tmp.dir, name);

const bytes = (s: string) => new TextEncoder().encode(s);
const num = (s: string) => parseNumber(bytes(s), 0, bytes(s).length);
const time = (s: string) => parseTime(bytes(s), 0, bytes(s).length);

describe("CSV round trips", () => {
  it.each([
    ["BTCUSDT spot", BTC_2023_03],
    ["ETHUSDT futures", ETH_2023_03],
  ])("a real month of %s candles comes back bit-identical", async (_, zip) => {
    const frame = klinesFrame(zip);
    const file = path("klines.csv");
    await writeFrame(file, frame);
    expectSameFrame(await readFrame(file), frame);
  });

  it("writes the documented layout", async () => {
    const file = path("layout.csv");
    const frame = new Frame(new Float64Array([Date.UTC(2023, 2, 1), Date.UTC(2023, 2, 1, 0, 1)]), [
      ["close", new Float64Array([23141.57, Number.NaN])],
      ["volume", new Float64Array([-0, 0.1 + 0.2])],
    ]);
    await writeFrame(file, frame);
    expect(readFileSync(file, "utf8")).toBe(
      "timestamp,close,volume\n" +
        "2023-03-01T00:00:00.000Z,23141.57,-0\n" +
        "2023-03-01T00:01:00.000Z,,0.30000000000000004\n",
    );
  });

  it("keeps NaN, -0, subnormals, extremes, infinities and inexact sums exactly", async () => {
    const frame = edgeFrame(["z", "a", "m"]);
    const file = path("edge.csv");
    await writeFrame(file, frame);
    expectSameFrame(await readFrame(file), frame);
  });

  it("keeps column order, reads a subset in the requested order, and uses a custom time column", async () => {
    const frame = klinesFrame(ETH_2023_03);
    const file = path("subset.csv");
    await writeFrame(file, frame, { timeColumn: "open_time" });
    expect(readFileSync(file, "utf8").slice(0, 40)).toBe("open_time,open,high,low,close,volume,clo");
    const back = await readFrame(file, { timeColumn: "open_time", columns: ["volume", "open"] });
    expectSameFrame(back, frame.select(["volume", "open"]));
  });

  it("quotes column names that need it and reads them back", async () => {
    const frame = new Frame(new Float64Array([0, 1]), [
      ['a,"b"', new Float64Array([1, 2])],
      ["c", new Float64Array([3, 4])],
    ]);
    const file = path("quoted-names.csv");
    await writeFrame(file, frame);
    expect(readFileSync(file, "utf8").split("\n")[0]).toBe('timestamp,"a,""b""",c');
    expectSameFrame(await readFrame(file), frame);
  });

  it("writes and reads an empty frame", async () => {
    const file = path("empty-frame.csv");
    await writeFrame(file, Frame.empty(["a", "b"]));
    expect(readFileSync(file, "utf8")).toBe("timestamp,a,b\n");
    expectSameFrame(await readFrame(file), Frame.empty(["a", "b"]));
    expect(await frameFileInfo(file)).toEqual({ rows: 0, columns: ["a", "b"] });
  });

  it("replaces an existing file and leaves no temporary file behind", async () => {
    const file = path("replace.csv");
    await writeFrame(file, edgeFrame());
    await writeFrame(file, klinesFrame(BTC_2023_03));
    expectSameFrame(await readFrame(file), klinesFrame(BTC_2023_03));
    expect(readdirSync(tmp.dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it("refuses a time with a fraction of a millisecond", async () => {
    const file = path("fraction.csv");
    const frame = new Frame(new Float64Array([0, 0.5]), [["x", new Float64Array(2)]]);
    expect((await errorOf(writeFrame(file, frame))).message).toBe(
      `${file}: time 0.5 at row 2 is not a whole number of milliseconds; CSV holds milliseconds, use Parquet`,
    );
  });
});

describe("CSV reader input forms", () => {
  const march1 = Date.UTC(2023, 2, 1);

  it("accepts epoch milliseconds, pandas' `YYYY-MM-DD HH:MM:SS`, zones, fractions and dates", () => {
    expect(time("1677628800000")).toBe(march1);
    expect(time("2023-03-01 00:00:00")).toBe(march1);
    expect(time("2023-03-01T00:00:00")).toBe(march1);
    expect(time("2023-03-01T00:00:00Z")).toBe(march1);
    expect(time("2023-03-01T00:00:00.000Z")).toBe(march1);
    expect(time("2023-03-01 00:00:00+00:00")).toBe(march1);
    expect(time("2023-03-01T02:00:00+02:00")).toBe(march1);
    expect(time("2023-02-28T21:30:00-0230")).toBe(march1);
    expect(time("2023-03-01T00:00")).toBe(march1);
    expect(time("2023-03-01")).toBe(march1);
    expect(time("2023-03-01 00:00:00.5")).toBe(march1 + 500);
    expect(time("2023-03-01 00:00:00.123456")).toBe(march1 + 123.456);
    expect(time("2024-02-29T23:59:59.999Z")).toBe(Date.UTC(2024, 1, 29, 23, 59, 59, 999));
    expect(time("1969-12-31T23:59:59.999Z")).toBe(-1);
    expect(time("2000-01-01T00:00:00.000Z")).toBe(Date.UTC(2000, 0, 1));
  });

  it("agrees with Date across two centuries of days, hours and milliseconds", () => {
    const wrong: string[] = [];
    for (let d = Date.UTC(1899, 0, 1); d < Date.UTC(2101, 0, 1); d += 86_400_000 + 3_723_004) {
      const iso = new Date(d).toISOString();
      if (time(iso) !== d || time(iso.replace("T", " ").replace("Z", "")) !== d) wrong.push(iso);
    }
    expect(wrong).toEqual([]);
  });

  it("refuses malformed times", () => {
    for (const s of [
      "",
      "2023-02-29",
      "2023-13-01",
      "2023-03-01T24:00:00",
      "2023-03-01T00:60",
      "2023-03-01X00:00",
      "2023-03-01T00:00:00.Z",
      "2023-03-01T00:00:00+",
      "2023-03-01T00:00:00ZZ",
      "yesterday",
      "12a",
    ]) {
      expect(time(s), s).toBeUndefined();
    }
  });

  it("reads pandas-style files: epoch ms or space-separated times, quotes, CRLF, BOM, blank lines, missing markers", async () => {
    const file = path("pandas.csv");
    writeFileSync(
      file,
      '\uFEFFtimestamp,open,"close",note\r\n' +
        '2023-03-01 00:00:00,1.5,"2.5",x\r\n' +
        "\r\n" +
        "2023-03-01 00:01:00,,NaN,y\r\n" +
        '1677628920000,nan, 3.25 ,"a,b"\r\n' +
        "2023-03-01T00:03:00+00:00,-inf,Infinity,\r\n",
    );
    const frame = await readFrame(file, { columns: ["open", "close"] });
    expect([...frame.time]).toEqual([0, 1, 2, 3].map((i) => march1 + i * 60_000));
    expect([...frame.get("open")]).toEqual([1.5, Number.NaN, Number.NaN, Number.NEGATIVE_INFINITY]);
    expect([...frame.get("close")]).toEqual([2.5, Number.NaN, 3.25, Number.POSITIVE_INFINITY]);
    const err = await errorOf(readFrame(file));
    expect(err.message).toBe(`${file}, row 2: column "note": cannot parse "x" as a number`);
  });

  it("reads bare \\r line ends (old Mac files) without losing rows", async () => {
    const file = path("cr.csv");
    writeFileSync(file, "timestamp,x\r1,2\r3,4\r\r5,6\r");
    const frame = await readFrame(file);
    expect([...frame.time]).toEqual([1, 3, 5]);
    expect([...frame.get("x")]).toEqual([2, 4, 6]);
    expect(await frameFileInfo(file)).toEqual({ rows: 3, columns: ["x"], first: 1, last: 5 });
  });

  it("reads a file without a final line break", async () => {
    const file = path("no-final-newline.csv");
    writeFileSync(file, "timestamp,x\n1,2\n3,4");
    const frame = await readFrame(file);
    expect([...frame.time]).toEqual([1, 3]);
    expect([...frame.get("x")]).toEqual([2, 4]);
  });
});

describe("CSV number parsing", () => {
  it("gives exactly parseFloat's double for every double's shortest form", () => {
    fc.assert(
      fc.property(fc.double(), (x) => {
        const text = formatNumber(x);
        const back = num(text);
        expect(Object.is(back, x) || (Number.isNaN(x) && Number.isNaN(back))).toBe(true);
      }),
      { numRuns: 20_000 },
    );
  });

  it("gives exactly parseFloat's double for arbitrary decimal text", () => {
    const digits = fc.string({ unit: fc.constantFrom(..."0123456789"), minLength: 1, maxLength: 25 });
    const decimal = fc
      .tuple(
        fc.constantFrom("", "-", "+"),
        digits,
        fc.option(fc.string({ unit: fc.constantFrom(..."0123456789"), maxLength: 25 })),
        fc.option(
          fc.tuple(
            fc.constantFrom("e", "E"),
            fc.constantFrom("", "-", "+"),
            fc.integer({ min: 0, max: 400 }),
          ),
        ),
      )
      .map(
        ([sign, int, frac, exp]) =>
          `${sign}${int}${frac === null ? "" : `.${frac}`}${exp === null ? "" : `${exp[0]}${exp[1]}${exp[2]}`}`,
      );
    fc.assert(
      fc.property(decimal, (text) => {
        expect(Object.is(num(text), Number.parseFloat(text))).toBe(true);
      }),
      { numRuns: 20_000 },
    );
  });

  it("handles the classic hard cases", () => {
    for (const text of [
      "0.1",
      "9007199254740993",
      "9007199254740992.5",
      "1e23",
      "8.98846567431158e307",
      "2.2250738585072011e-308",
      "2.2250738585072012e-308",
      "4.9406564584124654e-324",
      "2.4703282292062327e-324",
      "1e-400",
      "1e400",
      "123456789012345678901234567890",
      "0.000000000000000000000000000001",
      "-0.0",
      ".5",
      "5.",
      "23141.57000000",
    ]) {
      expect(Object.is(num(text), Number.parseFloat(text)), text).toBe(true);
    }
    for (const value of EDGE_VALUES) {
      const back = num(formatNumber(value));
      expect(Object.is(back, value), String(value)).toBe(true);
    }
  });

  it("refuses text that is not a number", () => {
    for (const text of [
      "12a.5",
      "1.2.3",
      "1e",
      "e5",
      "-",
      ".",
      "0x10",
      "1_000",
      "1,5",
      "--1",
      "1e+",
      "abc",
    ]) {
      expect(num(text), text).toBeUndefined();
    }
  });
});

describe("CSV errors", () => {
  function klineCsv(rows: number): string {
    let text = "timestamp,open,close\n";
    for (let i = 0; i < rows; i++) text += `${new Date(Date.UTC(2023, 2, 1, 0, i)).toISOString()},1.5,2.5\n`;
    return text;
  }

  it("names file, line and column for a bad number", async () => {
    const file = path("bad-number.csv");
    const lines = klineCsv(20).split("\n");
    lines[16] = "2023-03-01T00:15:00.000Z,1.5,12a.5";
    writeFileSync(file, lines.join("\n"));
    const err = await errorOf(readFrame(file));
    expect(err.message).toBe(`${file}, row 17: column "close": cannot parse "12a.5" as a number`);
    expect(err.file).toBe(file);
    expect(err.row).toBe(17);
  });

  it("names file, line and column for a bad time", async () => {
    const file = path("bad-time.csv");
    const lines = klineCsv(5).split("\n");
    lines[3] = "2023-03-01T00:02:00.000Q,1.5,2.5";
    writeFileSync(file, lines.join("\n"));
    const err = await errorOf(readFrame(file));
    expect(err.message).toBe(
      `${file}, row 4: column "timestamp": cannot parse "2023-03-01T00:02:00.000Q" as a time`,
    );
  });

  it("counts lines across CRLF and blank lines", async () => {
    const file = path("bad-crlf.csv");
    writeFileSync(file, "timestamp,x\r\n1,1\r\n\r\n2,oops\r\n");
    const err = await errorOf(readFrame(file));
    expect(err.message).toBe(`${file}, row 4: column "x": cannot parse "oops" as a number`);
  });

  it("refuses rows with too few or too many fields", async () => {
    const few = path("few.csv");
    writeFileSync(few, "timestamp,a,b\n1,2,3\n2,3\n");
    expect((await errorOf(readFrame(few))).message).toBe(`${few}, row 3: expected 3 fields, found 2`);
    const many = path("many.csv");
    writeFileSync(many, "timestamp,a,b\n1,2,3,4\n");
    expect((await errorOf(readFrame(many))).message).toBe(`${many}, row 2: expected 3 fields, found more`);
  });

  it("refuses an empty file, a file without the time column, and a duplicated column", async () => {
    const empty = path("empty.csv");
    writeFileSync(empty, "");
    expect((await errorOf(readFrame(empty))).message).toBe(`${empty}: empty file: no header line`);
    writeFileSync(empty, "\n\r\n");
    expect((await errorOf(readFrame(empty))).message).toBe(`${empty}: empty file: no header line`);
    const noTime = path("no-time.csv");
    writeFileSync(noTime, "open_time,open\n1,2\n");
    expect((await errorOf(readFrame(noTime))).message).toBe(
      `${noTime}: no time column "timestamp" in the header; columns are: open_time, open`,
    );
    const twice = path("twice.csv");
    writeFileSync(twice, "timestamp,a,a\n1,2,3\n");
    expect((await errorOf(readFrame(twice))).message).toBe(
      `${twice}, row 1: column "a" appears twice in the header`,
    );
  });

  it("names a missing file", async () => {
    const file = path("missing.csv");
    expect((await errorOf(readFrame(file))).message).toBe(`${file}: file not found`);
    expect(await frameFileInfo(file)).toBeUndefined();
  });

  it("refuses an unclosed quote", async () => {
    const file = path("unclosed.csv");
    writeFileSync(file, 'timestamp,a\n1,"2\n');
    expect((await errorOf(readFrame(file))).message).toBe(`${file}, row 2: a quoted field is not closed`);
  });
});

describe("frameFileInfo on CSV", () => {
  it("gives rows, data columns and the time range", async () => {
    const frame = klinesFrame(BTC_2023_03);
    const file = path("info.csv");
    await writeFrame(file, frame);
    expect(await frameFileInfo(file)).toEqual({
      rows: frame.length,
      columns: frame.columnNames,
      first: Date.UTC(2023, 2, 1),
      last: Date.UTC(2023, 2, 31, 23, 59),
    });
  });

  it("skips blank lines and reads epoch-ms times", async () => {
    const file = path("info-ms.csv");
    writeFileSync(file, "a,timestamp\r\n1,1000\r\n\r\n2,2000\r\n\r\n");
    expect(await frameFileInfo(file)).toEqual({ rows: 2, columns: ["a"], first: 1000, last: 2000 });
  });
});
