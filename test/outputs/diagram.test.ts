import { PNG } from "pngjs";
import { beforeAll, describe, expect, it } from "vitest";
import { ConfigError, DataError } from "../../src/core/errors.js";
import type { Frame } from "../../src/core/frame.js";
import {
  type DiagramInput,
  diagramDue,
  renderDiagramPng,
  renderDiagramSvg,
  resampleForDiagram,
} from "../../src/outputs/diagram.js";
import { sampleCandles } from "../helpers/candles.js";

const MIN = 60_000;
const FIVE_MIN = 300_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const utc = (d: number, h = 0, m = 0): number => Date.UTC(2023, 2, d, h, m);

/** A candle input from a literal slice: 1m candles from `start`, price columns all equal to `close`. */
function literal(
  start: number,
  close: number[],
  score: number[],
  extra: Partial<DiagramInput> = {},
): DiagramInput {
  const n = close.length;
  const c = Float64Array.from(close);
  return {
    symbol: "TEST",
    time: Float64Array.from({ length: n }, (_, i) => start + i * MIN),
    open: c,
    high: c,
    low: c,
    close: c,
    score: Float64Array.from(score),
    buys: [],
    sells: [],
    resamplingMs: FIVE_MIN,
    nrows: 1000,
    ...extra,
  };
}

/** Real BTCUSDT 1m candles in [from, to) with a smooth deterministic score in about ±0.12. */
function realInput(f: Frame, from: number, to: number, extra: Partial<DiagramInput> = {}): DiagramInput {
  const a = f.lowerBound(from);
  const d = f.slice(a, f.lowerBound(to));
  const score = Float64Array.from(
    d.time,
    (t) => 0.1 * Math.sin(t / (50 * MIN)) + 0.02 * Math.sin(t / (7 * MIN)),
  );
  return {
    symbol: "BTCUSDT",
    description: "1m candles, 5 min buckets",
    time: d.time,
    open: d.get("open"),
    high: d.get("high"),
    low: d.get("low"),
    close: d.get("close"),
    score,
    buys: [],
    sells: [],
    resamplingMs: FIVE_MIN,
    nrows: 288,
    ...extra,
  };
}

let march: Frame;
beforeAll(async () => {
  march = await sampleCandles(["2023-03"]);
});

describe("resampleForDiagram", () => {
  it("buckets real candles as open first, high max, low min, close last, and keeps the last nrows", () => {
    // 36 hours of history: 432 buckets, of which the last 288 are exactly 2023-03-14
    const rows = resampleForDiagram(realInput(march, utc(13, 12), utc(15)));
    expect(rows.time.length).toBe(288);
    expect(rows.time[0]).toBe(utc(14));
    expect(rows.time[1]).toBe(utc(14, 0, 5));
    expect(rows.time[287]).toBe(utc(14, 23, 55));
    // 00:00–00:04: open 24112.27; highs 24145.86 24155.98 24135.72 24109.03 24097.27;
    // lows 24109.13 24100 24093.52 24070.64 24062.7; close 24065.16
    expect([rows.open[0], rows.high[0], rows.low[0], rows.close[0]]).toEqual([
      24112.27, 24155.98, 24062.7, 24065.16,
    ]);
    // 00:05–00:09: open 24063.89; highs 24097 24074.55 24054.56 24056.01 24097.74;
    // lows 24060.63 24032.39 24010.57 24039.83 24044.18; close 24047.64
    expect([rows.open[1], rows.high[1], rows.low[1], rows.close[1]]).toEqual([
      24063.89, 24097.74, 24010.57, 24047.64,
    ]);
    // 23:55–23:59: open 24694.28; highs 24696.87 24706.35 24714 24685.63 24699.97;
    // lows 24674.89 24674.19 24670 24655.89 24670.39; close 24670.41
    expect([rows.open[287], rows.high[287], rows.low[287], rows.close[287]]).toEqual([
      24694.28, 24714, 24655.89, 24670.41,
    ]);
  });

  it("keeps every bucket when nrows exceeds them, and a halt's empty buckets as NaN rows", () => {
    // BTCUSDT spot has no candles from 2023-03-24 12:40 to 13:59
    const rows = resampleForDiagram(realInput(march, utc(24, 12), utc(24, 15), { nrows: 1000 }));
    expect(rows.time.length).toBe(36);
    expect(Array.from(rows.time, (t, k) => t - utc(24, 12) - k * FIVE_MIN).every((d) => d === 0)).toBe(true);
    expect(rows.close[7]).toBe(28080); // 12:35–12:39, the last bucket before the halt
    for (let k = 8; k < 24; k++) {
      expect([rows.open[k], rows.high[k], rows.low[k], rows.close[k], rows.score[k]]).toEqual([
        Number.NaN,
        Number.NaN,
        Number.NaN,
        Number.NaN,
        Number.NaN,
      ]);
    }
    expect(rows.open[24]).toBe(28079.99); // 14:00, trading again
  });

  it("aligns buckets to multiples of the bucket length since the epoch", () => {
    // candles from 10:32 to 11:31 in 1 h buckets: the buckets start at 10:00 and 11:00
    const close = Array.from({ length: 60 }, (_, i) => 100 + i);
    const rows = resampleForDiagram(
      literal(
        utc(1, 10, 32),
        close,
        close.map(() => Number.NaN),
        { resamplingMs: HOUR },
      ),
    );
    expect(Array.from(rows.time)).toEqual([utc(1, 10), utc(1, 11)]);
    expect(Array.from(rows.open)).toEqual([100, 128]);
    expect(Array.from(rows.close)).toEqual([127, 159]);
  });

  it("takes the score's max when all are > 0, min when all are < 0, else the mean, ignoring NaN", () => {
    const nan = Number.NaN;
    const score = [
      ...[0.1, 0.3, 0.2, nan, 0.05], // all positive: max 0.3
      ...[-0.1, -0.4, -0.2, -0.3, -0.05], // all negative: min -0.4
      ...[0.2, -0.1, 0.5, nan, -0.3], // mixed: mean of 0.2 -0.1 0.5 -0.3 = 0.075
      ...[nan, nan, nan, nan, nan], // no score: NaN
      ...[0, 0.1, 0.2, 0.1, 0.1], // a zero is not > 0: mean 0.1
      ...[nan, nan, -0.25, nan, nan], // one value: itself
    ];
    const rows = resampleForDiagram(
      literal(
        utc(1),
        score.map(() => 1),
        score,
      ),
    );
    expect(rows.time.length).toBe(6);
    expect(rows.score[0]).toBe(0.3);
    expect(rows.score[1]).toBe(-0.4);
    expect(rows.score[2]).toBeCloseTo(0.075, 15);
    expect(rows.score[3]).toBeNaN();
    expect(rows.score[4]).toBeCloseTo(0.1, 15);
    expect(rows.score[5]).toBe(-0.25);
  });

  it("takes rolling means of the bucketed score as pandas rolling(w).mean(), before keeping nrows", () => {
    const nan = Number.NaN;
    const score = [1, 2, 4, nan, 3, 5, 7]; // one candle per bucket
    const input = literal(utc(1), [1, 1, 1, 1, 1, 1, 1], score, { resamplingMs: MIN, scoreMa: [2, 3] });
    const all = resampleForDiagram(input);
    expect(Array.from(all.ma[0] ?? [])).toEqual([nan, 1.5, 3, nan, nan, 4, 6]);
    expect(Array.from(all.ma[1] ?? [])).toEqual([nan, nan, 7 / 3, nan, nan, nan, 5]);
    const last5 = resampleForDiagram({ ...input, nrows: 5 });
    expect(Array.from(last5.score)).toEqual([4, nan, 3, 5, 7]);
    // the first kept mean comes from buckets that were cut off
    expect(Array.from(last5.ma[0] ?? [])).toEqual([3, nan, nan, 4, 6]);
    expect(Array.from(last5.ma[1] ?? [])).toEqual([7 / 3, nan, nan, nan, 5]);
  });

  it("marks the buckets holding a buy or a sell event; events outside the buckets are dropped", () => {
    const input = literal(
      utc(1),
      Array.from({ length: 20 }, () => 1),
      Array.from({ length: 20 }, () => 0),
      {
        // 00:00–00:19 in four buckets
        buys: [utc(1, 0, 5), utc(1, 0, 7) + 30_000, utc(1, 0, 9) + 59_999, utc(1, 0, 20), utc(1) - 1],
        sells: [utc(1, 0, 19) + 59_999, utc(1)],
      },
    );
    const rows = resampleForDiagram(input);
    expect(Array.from(rows.buy)).toEqual([0, 1, 0, 0]);
    expect(Array.from(rows.sell)).toEqual([1, 0, 0, 1]);
    const last2 = resampleForDiagram({ ...input, nrows: 2 });
    expect(Array.from(last2.time)).toEqual([utc(1, 0, 10), utc(1, 0, 15)]);
    expect(Array.from(last2.sell)).toEqual([0, 1]);
  });

  it("rejects mismatched columns, descending times and a non-positive nrows, naming them", () => {
    const ok = literal(utc(1), [1, 2, 3], [0, 0, 0]);
    expect(() => resampleForDiagram({ ...ok, score: new Float64Array(2) })).toThrow(
      new DataError('diagram for TEST: column "score" has 2 values, time has 3'),
    );
    expect(() => resampleForDiagram({ ...ok, time: Float64Array.from([0, 2 * MIN, MIN]) })).toThrow(
      new DataError("diagram for TEST: candle times must ascend; row 2 (60000) follows 120000"),
    );
    expect(() => resampleForDiagram({ ...ok, nrows: 0 })).toThrow(
      new ConfigError("diagram: nrows must be a positive whole number, got 0"),
    );
    expect(() => resampleForDiagram({ ...ok, scoreMa: [2.5] })).toThrow(ConfigError);
    expect(() => resampleForDiagram({ ...ok, resamplingMs: -1 })).toThrow(ConfigError);
  });
});

describe("diagramDue", () => {
  const last = utc(14);
  it("is due on time: the candle closing at 00:00 opens a new day", () => {
    expect(diagramDue(utc(15), last, DAY)).toEqual({ due: true, periodStart: utc(15) });
  });
  it("is due on a late candle, the first of the day that closes at 00:07", () => {
    expect(diagramDue(utc(15, 0, 7), last, DAY)).toEqual({ due: true, periodStart: utc(15) });
  });
  it("is not due twice in one period", () => {
    expect(diagramDue(utc(15, 0, 1), utc(15), DAY)).toEqual({ due: false, periodStart: utc(15) });
    expect(diagramDue(utc(15, 23, 59), utc(15), DAY)).toEqual({ due: false, periodStart: utc(15) });
    expect(diagramDue(utc(14, 23, 59), last, DAY)).toEqual({ due: false, periodStart: utc(14) });
  });
  it("sends once after missed periods, for the current one", () => {
    expect(diagramDue(utc(15, 3), utc(11), DAY)).toEqual({ due: true, periodStart: utc(15) });
  });
  it("is due when nothing was sent yet, and works for hourly periods", () => {
    expect(diagramDue(utc(15, 9, 30), undefined, DAY)).toEqual({ due: true, periodStart: utc(15) });
    expect(diagramDue(utc(15, 9, 30), utc(15, 8), HOUR)).toEqual({ due: true, periodStart: utc(15, 9) });
    expect(diagramDue(utc(15, 9, 30), utc(15, 9), HOUR)).toEqual({ due: false, periodStart: utc(15, 9) });
  });
  it("rejects a period that is not a positive whole number of ms", () => {
    expect(() => diagramDue(utc(15), undefined, 0)).toThrow(
      new ConfigError("diagram: notificationMs must be a positive whole number, got 0"),
    );
  });
});

type Rgb = [number, number, number];
const isBlue = ([r, g, b]: Rgb): boolean => b >= 150 && r <= 90 && g <= 130;
const isBand = ([r, g, b]: Rgb): boolean =>
  Math.abs(r - 207) <= 8 && Math.abs(g - 235) <= 8 && Math.abs(b - 247) <= 8;
const isRed = ([r, g, b]: Rgb): boolean => r >= 180 && g <= 90 && b <= 90;
const isGreen = ([r, g, b]: Rgb): boolean => g >= 120 && g - r >= 50 && g - b >= 50;
const isDark = ([r, g, b]: Rgb): boolean => r <= 110 && g <= 110 && b <= 110;

function decode(png: Buffer): PNG {
  return PNG.sync.read(png);
}
function pixel(img: PNG, x: number, y: number): Rgb {
  const i = (y * img.width + x) * 4;
  return [img.data[i] as number, img.data[i + 1] as number, img.data[i + 2] as number];
}
function pixels(img: PNG, test: (p: Rgb) => boolean): { x: number; y: number }[] {
  const out: { x: number; y: number }[] = [];
  for (let y = 0; y < img.height; y++)
    for (let x = 0; x < img.width; x++) if (test(pixel(img, x, y))) out.push({ x, y });
  return out;
}
/** The plot's left and right edges: the columns that are dark over the whole middle of the image (the y axes). */
function yAxes(img: PNG): { left: number; right: number } {
  const cols: number[] = [];
  const y0 = Math.round(img.height * 0.25);
  const y1 = Math.round(img.height * 0.75);
  for (let x = 0; x < img.width; x++) {
    let dark = 0;
    for (let y = y0; y < y1; y++) if (isDark(pixel(img, x, y))) dark++;
    if (dark >= 0.95 * (y1 - y0)) cols.push(x);
  }
  expect(cols.length).toBeGreaterThanOrEqual(2);
  return { left: cols[0] as number, right: cols[cols.length - 1] as number };
}

describe("renderDiagramPng and renderDiagramSvg", () => {
  const day = (extra: Partial<DiagramInput> = {}): DiagramInput =>
    realInput(march, utc(13, 12), utc(15), {
      buys: [utc(14, 6, 2)],
      scoreThresholds: [0.05, -0.05],
      scoreMa: [12],
      ...extra,
    });

  it("draws the close, the band, the score and a buy marker where its bucket is", () => {
    const input = day();
    const png = renderDiagramPng(input);
    expect(renderDiagramPng(input).equals(png)).toBe(true);
    const img = decode(png);
    expect([img.width, img.height]).toEqual([1200, 600]);
    expect(pixels(img, isBlue).length).toBeGreaterThan(500);
    expect(pixels(img, isBand).length).toBeGreaterThan(500);
    expect(pixels(img, isRed).length).toBeGreaterThan(500);

    // the x axis runs from half a bucket before 00:00 to half a bucket after 23:55
    const { left, right } = yAxes(img);
    const x0 = utc(14) - FIVE_MIN / 2;
    const x1 = utc(14, 23, 55) + FIVE_MIN / 2;
    const expectedX = left + ((utc(14, 6) - x0) / (x1 - x0)) * (right - left);
    const green = pixels(img, isGreen);
    expect(green.length).toBeGreaterThan(20);
    const meanX = green.reduce((s, p) => s + p.x, 0) / green.length;
    expect(Math.abs(meanX - expectedX)).toBeLessThan(1.2);
    expect(green.every((p) => Math.abs(p.x - expectedX) <= 8)).toBe(true);
  });

  it("renders at the asked size, and a different picture for different data", () => {
    const a = decode(renderDiagramPng(day({ width: 900, height: 450 })));
    expect([a.width, a.height]).toEqual([900, 450]);
    // a buy an hour later, and the score's sign flipped
    const input = day({ width: 900, height: 450, buys: [utc(14, 7, 2)] });
    const b = decode(renderDiagramPng({ ...input, score: input.score.map((s) => -s) }));
    let differing = 0;
    for (let i = 0; i < a.data.length; i += 4) {
      if (a.data[i] !== b.data[i] || a.data[i + 1] !== b.data[i + 1] || a.data[i + 2] !== b.data[i + 2])
        differing++;
    }
    expect(differing).toBeGreaterThan(1000);
    const greenA = pixels(a, isGreen).reduce((s, p) => s + p.x, 0) / pixels(a, isGreen).length;
    const greenB = pixels(b, isGreen).reduce((s, p) => s + p.x, 0) / pixels(b, isGreen).length;
    const { left, right } = yAxes(a);
    // the marker moved by an hour: 12 of the 288 buckets (the lines under it shift its centroid a little)
    const shift = ((right - left) * HOUR) / (288 * FIVE_MIN);
    expect(Math.abs(greenB - greenA - shift)).toBeLessThan(1.5);
  });

  it("has the title (bold symbol, description) and the axis names in the SVG", () => {
    const svg = renderDiagramSvg(day({ description: "Score {b|1m} <5 min> & more" }));
    // the bold symbol ends where ": description" starts, so they cannot overlap
    const symbol =
      /text-anchor="end" style="[^"]*font-weight:bold;"[^>]* transform="translate\(([\d.]+) 14\)"[^>]*>BTCUSDT<\/text>/.exec(
        svg,
      );
    const rest =
      /text-anchor="start"[^>]* transform="translate\(([\d.]+) 14\)"[^>]*>: Score \{b\|1m\} &lt;5 min&gt; &amp; more<\/text>/.exec(
        svg,
      );
    expect(symbol?.[1]).toBeDefined();
    expect(rest?.[1]).toBe(symbol?.[1]);
    expect(svg).toContain(">Close price</text>");
    expect(svg).toContain(">Intelligent Indicator</text>");
    // one day: times only; more than a day: the date too
    expect(svg).toContain(">04:00</text>");
    expect(svg).toContain(">22:00</text>");
    expect(svg).not.toContain("03-14");
    const longer = renderDiagramSvg(day({ nrows: 300 }));
    expect(longer).toContain(">03-14 04:00</text>");
  });

  it("draws a title without a description as the symbol alone", () => {
    const svg = renderDiagramSvg(day({ description: undefined }));
    expect(svg).toMatch(/font-weight:bold;"[^>]*>BTCUSDT<\/text>/);
    expect(svg).not.toMatch(/>: /);
  });

  it("refuses to draw without candles", () => {
    expect(() => renderDiagramSvg(literal(utc(1), [], []))).toThrow(
      new DataError("diagram for TEST: no candles to draw"),
    );
  });
});
