import { Resvg } from "@resvg/resvg-js";
import { beforeAll, describe, expect, it } from "vitest";
import { runBacktest } from "../../src/backtest/engine.js";
import { aggregateOhlc, chooseBuckets } from "../../src/backtest/report/data.js";
import { fmt } from "../../src/backtest/report/format.js";
import { metricDecimals, type ReportData, renderReportHtml } from "../../src/backtest/report/html.js";
import { renderEquityPng, renderEquitySvg } from "../../src/backtest/report/png.js";
import type { GridCell, Metrics } from "../../src/backtest/types.js";
import {
  type BacktestFixture,
  backtestFixture,
  holdoutOf,
  reportInput,
  thresholdSignals,
} from "../helpers/backtestFixture.js";

/** The page's embedded JSON, with the non-finite numbers ("Infinity", "NaN") restored. */
function embeddedData(html: string): ReportData {
  const m = /<script id="report-data" type="application\/json">([\s\S]*?)<\/script>/.exec(html);
  if (!m?.[1]) throw new Error("no #report-data script in the page");
  return JSON.parse(m[1], (_k, v: unknown) =>
    v === "Infinity" || v === "-Infinity" || v === "NaN" ? Number(v) : v,
  ) as ReportData;
}

/** data-metric cells: name → [exact value, shown text]. */
function metricCells(html: string): Map<string, [string, string]> {
  const out = new Map<string, [string, string]>();
  for (const m of html.matchAll(/<td[^>]*data-metric="([^"]+)" data-value="([^"]*)"[^>]*>([^<]*)<\/td>/g)) {
    out.set(m[1] as string, [m[2] as string, m[3] as string]);
  }
  return out;
}

/** The page without the contents of its script elements (the inlined library holds URL strings). */
function markupOnly(html: string): string {
  return html.replace(/(<script\b[^>]*>)[\s\S]*?<\/script>/g, "$1</script>");
}

function pngSize(png: Buffer): { width: number; height: number } {
  expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  // the first chunk is IHDR: length (4), type (4), width (4), height (4)
  expect(png.subarray(12, 16).toString("latin1")).toBe("IHDR");
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

/** Decodes a PNG to RGBA by rendering it as the only content of an SVG of the same size. */
function decodePng(png: Buffer, width: number, height: number): Uint8Array {
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="${width}" height="${height}">` +
    `<image width="${width}" height="${height}" xlink:href="data:image/png;base64,${png.toString("base64")}"/></svg>`;
  const r = new Resvg(svg).render();
  expect([r.width, r.height]).toEqual([width, height]);
  return r.pixels;
}

let f: BacktestFixture;

beforeAll(async () => {
  f = await backtestFixture(["2023-03"]);
  // the fixture must exercise the report: real trades on real candles
  expect(f.result.trades.length).toBeGreaterThan(10);
  expect(f.result.equity.length).toBe(f.bars.time.length);
});

describe("report HTML", () => {
  it("embeds the result's own numbers, and the tables show them", () => {
    const html = renderReportHtml(reportInput(f), { maxCandles: 100_000, maxTrades: 100_000 });
    const data = embeddedData(html);
    expect(data.metrics).toEqual(f.result.metrics);
    expect(data.monthly).toEqual(f.result.monthly);
    expect(data.trades).toEqual(f.result.trades);
    // without aggregation the candles are the bars themselves
    expect(data.meta.bucketMs).toBe(0);
    expect(data.candles.time).toEqual(Array.from(f.bars.time, (t) => t / 1000));
    expect(data.candles.close).toEqual(Array.from(f.bars.close));
    expect(data.candles.high).toEqual(Array.from(f.bars.high));
    data.equity.forEach((v, i) => {
      expect(v).toBeCloseTo(f.result.equity[i] as number, 4);
    });

    const cells = metricCells(html);
    const metrics = f.result.metrics as unknown as Record<string, number>;
    expect([...cells.keys()].sort()).toEqual(Object.keys(metrics).sort());
    for (const [name, [value, text]] of cells) {
      const expected = metrics[name] as number;
      expect(Object.is(Number(value), expected), `${name}: ${value} vs ${expected}`).toBe(true);
      if (name !== "firstTime" && name !== "lastTime") expect(text).toBe(fmt(expected, metricDecimals(name)));
    }
    expect(cells.get("profitPct")?.[1]).toBe(f.result.metrics.profitPct.toFixed(2));
    // each month row and each trade row carries its exact numbers
    for (const r of f.result.monthly) {
      expect(html).toContain(`data-field="endEquity" data-value="${r.endEquity}"`);
    }
    const pnl = [...html.matchAll(/<td[^>]*data-field="pnl" data-value="([^"]+)"/g)].map((m) => Number(m[1]));
    expect(pnl).toEqual(f.result.trades.map((t) => t.pnl));
  });

  it("escapes every user string and embeds no way out of the data script", () => {
    const evil = "<script>alert(1)</script>";
    const input = { ...reportInput(f, evil), symbol: `"><img src=x onerror=alert(2)>`, configHash: "a&b" };
    const html = renderReportHtml(input);
    expect(html).not.toContain(evil);
    expect(html).not.toContain("<img");
    expect(html).toContain("<title>&lt;script&gt;alert(1)&lt;/script&gt;</title>");
    expect(html).toContain("&quot;&gt;&lt;img src=x onerror=alert(2)&gt;");
    expect(html).toContain("a&amp;b");
    // only the page's own three script elements; the title inside the JSON is \u003c-escaped
    expect(html.match(/<script/gi)).toHaveLength(3);
    expect(html.match(/<\/script/gi)).toHaveLength(3);
    expect(embeddedData(html).meta.title).toBe(evil);
  });

  it("references no external resource", () => {
    const html = renderReportHtml(reportInput(f));
    // the chart library's attribution is the one link: followed when clicked, never loaded
    const attribution = '<a href="https://www.tradingview.com/">TradingView</a>';
    expect(html.split(attribution)).toHaveLength(2);
    const markup = markupOnly(html).replace(attribution, "");
    expect(markup).not.toMatch(/\b(src|href|action|poster)\s*=\s*["']?\s*(https?:)?\/\//i);
    expect(markup).not.toMatch(/<(link|iframe|img|object|embed)\b/i);
    expect(markup).not.toMatch(/url\(\s*["']?(https?:)?\/\//i);
    // every script is inline
    expect(markup.match(/<script\b[^>]*>/g)?.every((t) => !/\bsrc\s*=/.test(t))).toBe(true);
    // the inlined library is the standalone build, which defines window.LightweightCharts
    expect(html).toContain("window.LightweightCharts=");
  });

  it("downsamples candles to the bound with honest OHLC, drawdown and markers", async () => {
    const big = await backtestFixture(["2023-02", "2023-03", "2023-04"]);
    const n = big.bars.time.length;
    expect(n).toBeGreaterThan(120_000);
    const html = renderReportHtml(reportInput(big), { maxCandles: 1000, maxMarkers: 40, maxTrades: 25 });
    const data = embeddedData(html);
    const { meta, candles } = data;
    expect(meta.sourceBars).toBe(n);
    expect(meta.displayCandles).toBeLessThanOrEqual(1000);
    expect(meta.displayCandles).toBe(candles.time.length);
    expect(meta.bucketMs).toBe(4 * 3_600_000); // 89 days of 1m bars: 2h would be 1068 buckets
    for (const s of [candles.open, candles.high, candles.low, candles.close, data.equity, data.drawdown]) {
      expect(s).toHaveLength(candles.time.length);
    }
    // OHLC of each bucket recomputed independently from the bars
    const first = new Map<number, number>();
    const high = new Map<number, number>();
    const low = new Map<number, number>();
    const last = new Map<number, number>();
    for (let i = 0; i < n; i++) {
      const k = Math.floor((big.bars.time[i] as number) / meta.bucketMs) * (meta.bucketMs / 1000);
      if (!first.has(k)) first.set(k, big.bars.open[i] as number);
      high.set(k, Math.max(high.get(k) ?? -Infinity, big.bars.high[i] as number));
      low.set(k, Math.min(low.get(k) ?? Infinity, big.bars.low[i] as number));
      last.set(k, big.bars.close[i] as number);
    }
    expect(candles.time).toEqual([...first.keys()]);
    expect(candles.open).toEqual([...first.values()]);
    expect(candles.high).toEqual([...high.values()]);
    expect(candles.low).toEqual([...low.values()]);
    expect(candles.close).toEqual([...last.values()]);
    // drawdown keeps each bucket's worst bar, so the chart's deepest point is the metric
    const deepest = Math.min(...data.drawdown.map((v) => v ?? 0));
    expect(-deepest).toBeCloseTo(big.result.metrics.maxDrawdownPct, 6);
    // final equity is the last bucket's last bar
    expect(data.equity.at(-1)).toBeCloseTo(big.result.equity.at(-1) as number, 4);
    // markers capped, trades truncated, both with a note
    expect(meta.markersTotal).toBe(2 * big.result.trades.length);
    expect(data.markers).toHaveLength(40);
    expect(meta.markersShown).toBe(40);
    expect(html).toContain(`Markers shown for the first 40 of ${meta.markersTotal} fills.`);
    expect(data.trades).toEqual(big.result.trades.slice(0, 25));
    expect(html.match(/<tr data-trade=/g)).toHaveLength(25);
    expect(html).toContain(`Showing the first 25 of ${big.result.trades.length} trades.`);
    const times = data.markers.map((m) => m.time);
    expect(times).toEqual([...times].sort((a, z) => a - z));
    const candleTimes = new Set(candles.time);
    expect(times.every((t) => candleTimes.has(t))).toBe(true);
    // the page's size is set by the candle bound, not by the number of bars
    expect(html.length).toBeLessThan(600_000);
    const full = renderReportHtml(reportInput(big));
    expect(embeddedData(full).meta.displayCandles).toBeLessThanOrEqual(15_000);
    expect(full.length).toBeLessThan(5_000_000);
  });

  it("draws the threshold grid as a heatmap with every number and the best cell marked", () => {
    const html = renderReportHtml(reportInput(f));
    const cells = [
      ...html.matchAll(/<td([^>]*) data-x="([^"]+)" data-y="([^"]+)" data-value="([^"]+)">([^<]*)</g),
    ];
    expect(cells).toHaveLength(f.grid.length);
    for (const c of f.grid) {
      const shown = cells.find(
        (m) =>
          Number(m[2]) === c.params.buy_signal_threshold && Number(m[3]) === c.params.sell_signal_threshold,
      );
      expect(shown?.[4]).toBe(String(c.metrics.profitPct));
      expect(shown?.[5]).toBe(fmt(c.metrics.profitPct, 2));
    }
    const best = cells.filter((m) => m[1]?.includes('data-best="true"'));
    expect(best).toHaveLength(1);
    expect(Number(best[0]?.[4])).toBe(Math.max(...f.grid.map((c) => c.metrics.profitPct)));
  });

  it("gives the holdout its own headline and section; the selection's line says it is in-sample", () => {
    const holdout = holdoutOf(f, Date.UTC(2023, 2, 20));
    const html = renderReportHtml({ ...reportInput(f), thresholds: "search", holdout });
    const h = holdout.result.metrics;
    // the holdout is a run of its own: not the whole run's tail
    expect(h.firstTime).toBe(Date.UTC(2023, 2, 20));
    expect(h.bars).toBe(f.bars.time.length - f.bars.time.indexOf(Date.UTC(2023, 2, 20)));
    const lines = [...html.matchAll(/<p class="headline" id="([^"]+)">([\s\S]*?)<\/p>/g)];
    expect(lines.map((l) => l[1])).toEqual(["headline-holdout", "headline-selection", "headline-whole"]);
    const value = (line: string, field: string) =>
      Number(new RegExp(`data-field="${field}" data-value="([^"]+)"`).exec(line)?.[1]);
    const [hold, sel, whole] = lines.map((l) => l[2] as string);
    expect(hold).toMatch(
      /^<b>Holdout<\/b> 2023-03-20 00:00 – 2023-03-31 23:59 UTC, thresholds chosen before it: /,
    );
    expect(value(hold as string, "profitPct")).toBe(h.profitPct);
    expect(value(hold as string, "buyHoldPct")).toBe(h.buyHoldPct);
    expect(hold).toContain(`${fmt(h.profitPct, 2)} %`);
    expect(sel).toMatch(
      /^Selection period 2023-03-01 00:00 – 2023-03-19 23:59 UTC, <b>in-sample for the thresholds<\/b> \(chosen on these rows\): /,
    );
    expect(value(sel as string, "profitPct")).toBe(holdout.selection.profitPct);
    expect(value(whole as string, "profitPct")).toBe(f.result.metrics.profitPct);

    // the holdout section: its own metrics and months; the whole run's table says what it is
    expect(html).toContain('<section id="holdout"><h2>Holdout from 2023-03-20 00:00 UTC</h2>');
    const table = /<table id="holdout-metrics">([\s\S]*?)<\/table>/.exec(html)?.[1] ?? "";
    const cells = metricCells(table);
    expect(cells.size).toBe(Object.keys(h).length);
    for (const [name, [v]] of cells) expect(Number(v)).toBe((h as unknown as Record<string, number>)[name]);
    expect(html).toMatch(/<table id="holdout-monthly">[\s\S]*?data-month="2023-03"/);
    expect(html).toContain("<h2>Metrics: whole range</h2>");

    // the charts get the holdout's time: the bucket (3m candles here) holding its first bar
    const data = embeddedData(html);
    expect(data.meta.bucketMs).toBe(3 * 60_000);
    expect(data.holdout).toEqual({ start: Date.UTC(2023, 2, 20), time: Date.UTC(2023, 2, 20) / 1000 });
    expect(embeddedData(renderReportHtml(reportInput(f))).holdout).toBeNull();
  });

  it("without a holdout, says whether the thresholds were chosen on the rows it shows", () => {
    const searched = renderReportHtml({ ...reportInput(f), thresholds: "search" });
    expect(searched).toMatch(
      /<p class="headline" id="headline-main">Thresholds chosen on these rows, <b>in-sample for the thresholds<\/b> \(check them with a holdout\): /,
    );
    expect(renderReportHtml(reportInput(f))).toMatch(
      /<p class="headline" id="headline-main">The config's thresholds: <b>profit /,
    );
    expect(searched).not.toContain('id="holdout"');
  });

  it("heatmap: the search's best cell outlined, cells with too few trades pale, cells without trades empty", () => {
    const options = f.result.options;
    const cell = (buy: number, sell: number): GridCell => ({
      params: { buy_signal_threshold: buy, sell_signal_threshold: sell },
      metrics: runBacktest(f.bars, thresholdSignals(f.score, buy, sell), options, { collectTrades: false })
        .metrics,
    });
    // the close is never 8 % above its 2-hour mean in March 2023: those cells cannot trade;
    // 3 % above it happens a few times
    const cells = [0.4, 3, 8].flatMap((buy) => [-0.4, -1.2].map((sell) => cell(buy, sell)));
    const trades = cells.map((c) => c.metrics.trades);
    expect(trades.filter((n) => n === 0)).toHaveLength(2);
    expect(trades.filter((n) => n > 0 && n < 10).length).toBeGreaterThan(0);
    expect(trades.filter((n) => n >= 10).length).toBeGreaterThan(0);
    const chosen = cells.find((c) => c.metrics.trades >= 10) as GridCell;
    const grid = {
      xParam: "buy_signal_threshold",
      yParam: "sell_signal_threshold",
      cells,
      metric: "profitPct" as keyof Metrics,
      best: chosen.params,
      minTrades: 10,
    };
    const html = renderReportHtml({ ...reportInput(f), grid });
    const tds = [
      ...html.matchAll(
        /<td([^>]*) data-trades="(\d+)" data-x="([^"]+)" data-y="([^"]+)" data-value="([^"]+)">([^<]*)</g,
      ),
    ];
    expect(tds).toHaveLength(6);
    for (const td of tds) {
      const [, attrs, n, x, y, value, text] = td as unknown as string[];
      const c = cells.find(
        (k) => k.params.buy_signal_threshold === Number(x) && k.params.sell_signal_threshold === Number(y),
      ) as GridCell;
      expect(Number(n)).toBe(c.metrics.trades);
      expect(Number(value)).toBe(c.metrics.profitPct);
      if (c.metrics.trades === 0) {
        // no result: empty, not a 0.00 that reads as one
        expect(attrs).toBe(' class="empty" title="no trades"');
        expect(text).toBe("");
      } else {
        expect(text).toBe(fmt(c.metrics.profitPct, 2));
        expect(attrs?.includes("few")).toBe(c.metrics.trades < 10);
        expect(attrs?.includes('data-best="true"')).toBe(c === chosen);
      }
    }
    const few = cells.find((c) => c.metrics.trades > 0 && c.metrics.trades < 10) as GridCell;
    expect(html).toContain(
      `title="${few.metrics.trades} trade${few.metrics.trades === 1 ? "" : "s"}: fewer than min_trades (10), not ranked best"`,
    );
    expect(html).toContain(
      '<p class="note" id="heatmap-key">Empty: no trades. Pale: fewer than min_trades (10) trades, ranked after the others.</p>',
    );
    expect(html).toContain(`(${chosen.metrics.trades} trades).</p>`);
  });

  it("the headline says when a result trails buy and hold or rests on too few trades", () => {
    const m = f.result.metrics;
    // March 2023: BTC rose 23 %, the momentum rule far less
    expect(m.profitPct).toBeLessThan(m.buyHoldPct);
    const html = renderReportHtml({ ...reportInput(f), minTrades: 1000 });
    const line = /<p class="headline" id="headline-main">(.*?)<\/p>/.exec(html)?.[1] ?? "";
    expect(line).toContain(
      `<span class="warn" data-warn="trails-buy-hold">trails buy &amp; hold by ${fmt(m.buyHoldPct - m.profitPct, 2)} points</span>`,
    );
    expect(line).toContain(
      `<span class="warn" data-warn="few-trades">only ${m.trades} trades: too few to tell an edge from luck (min_trades 1000)</span>`,
    );
    expect(renderReportHtml(reportInput(f))).not.toContain('data-warn="few-trades"');

    // one trade is "1 trade", on the page and in the PNG
    const n = f.bars.time.length;
    const buy = new Uint8Array(n);
    const sell = new Uint8Array(n);
    buy[1000] = 1;
    sell[2000] = 1;
    const one = runBacktest(f.bars, { buy, sell }, f.result.options);
    expect(one.metrics.trades).toBe(1);
    const page = renderReportHtml({ ...reportInput(f), result: one });
    expect(page).toMatch(/<\/span>, 1 trade; buy &amp; hold /);
    expect(page).not.toMatch(/\b1 trades\b/);
    expect(renderEquitySvg({ title: "t", bars: f.bars, result: one })).toMatch(/ {3}1 trade</);
  });

  it("the monthly table labels its return (marked to market) and its realised profit", async () => {
    // three months: a position open across a month's end makes the two disagree
    const big = await backtestFixture(["2023-02", "2023-03", "2023-04"]);
    const differ = big.result.monthly.filter(
      (r) => Math.abs((r.startEquity * r.returnPct) / 100 - r.profit) > 0.01,
    );
    expect(differ.length).toBeGreaterThan(0);
    const html = renderReportHtml(reportInput(big));
    const head = /<table id="monthly"><thead>(.*?)<\/thead>/.exec(html)?.[1];
    expect(head).toBe(
      "<tr><th>Month</th><th>Start equity</th><th>End equity</th><th>Return % (marked to market)</th><th>Trades closed</th><th>Realised profit</th><th>Buy & hold %</th></tr>",
    );
    expect(html).toContain(
      "Realised profit: the trades closed in the month, after fees. They differ when a position is open across a month's end.</p>",
    );
  });

  it("marks the lowest value best for a lower-is-better metric", () => {
    const input = reportInput(f);
    const html = renderReportHtml({
      ...input,
      grid: { ...(input.grid as NonNullable<typeof input.grid>), metric: "maxDrawdownPct" as keyof Metrics },
    });
    const best = /<td class="best" data-best="true"[^>]*data-value="([^"]+)"/.exec(html);
    expect(Number(best?.[1])).toBe(Math.min(...f.grid.map((c) => c.metrics.maxDrawdownPct)));
  });
});

describe("equity PNG", () => {
  it("is a PNG of the requested size with the two lines drawn, the same bytes every time", () => {
    const input = { title: "BTCUSDT momentum", bars: f.bars, result: f.result, width: 800, height: 400 };
    const png = renderEquityPng(input);
    expect(pngSize(png)).toEqual({ width: 800, height: 400 });
    expect(png.length).toBeGreaterThan(10_000);
    expect(renderEquityPng(input).equals(png)).toBe(true);

    const px = decodePng(png, 800, 400);
    let white = 0;
    let blue = 0; // the strategy line, #1f6fd1
    let grey = 0; // buy and hold, #9aa3ad
    for (let i = 0; i < px.length; i += 4) {
      const r = px[i] as number;
      const g = px[i + 1] as number;
      const b = px[i + 2] as number;
      if (r > 250 && g > 250 && b > 250) white++;
      if (Math.abs(r - 0x1f) < 30 && Math.abs(g - 0x6f) < 30 && Math.abs(b - 0xd1) < 30) blue++;
      if (Math.abs(r - 0x9a) < 12 && Math.abs(g - 0xa3) < 12 && Math.abs(b - 0xad) < 12) grey++;
    }
    const total = 800 * 400;
    expect(white / total).toBeGreaterThan(0.5); // white background
    expect(white / total).toBeLessThan(0.99);
    expect(blue).toBeGreaterThan(800);
    expect(grey).toBeGreaterThan(400);
  });

  it("draws a dashed line at the holdout and puts its numbers first", () => {
    const holdout = holdoutOf(f, Date.UTC(2023, 2, 20));
    const svg = renderEquitySvg({
      title: "BTCUSDT 1m",
      bars: f.bars,
      result: f.result,
      holdout: { start: holdout.start, metrics: holdout.result.metrics },
    });
    const h = holdout.result.metrics;
    expect(svg).toContain(
      `>holdout from 2023-03-20 00:00 UTC: profit ${fmt(h.profitPct, 2)} %   buy &amp; hold ${fmt(h.buyHoldPct, 2)} %   ${h.trades} trades<`,
    );
    expect(svg).toContain(">whole range (thresholds chosen on its first part): profit ");
    expect(svg).toContain(">holdout<");
    // the mark line: dashed, in the holdout colour
    expect(svg).toMatch(/<path [^>]*stroke="#b26a00"[^>]*stroke-dasharray/);
  });

  it("says IN-SAMPLE in its title when the predictions were", () => {
    const input = { title: "BTCUSDT 1m", bars: f.bars, result: f.result };
    expect(renderEquitySvg({ ...input, inSample: true })).toContain(">BTCUSDT 1m — IN-SAMPLE<");
    expect(renderEquitySvg(input)).not.toContain("IN-SAMPLE");
  });

  it("renders the default size", () => {
    expect(pngSize(renderEquityPng({ title: "t", bars: f.bars, result: f.result }))).toEqual({
      width: 1200,
      height: 600,
    });
  });
});

describe("bucketing", () => {
  it("keeps short inputs as they are and aggregates long ones to nice, aligned buckets", () => {
    const time = Float64Array.from({ length: 10 }, (_, i) => 1_677_628_800_000 + i * 60_000);
    expect(chooseBuckets(time, 10).bucketMs).toBe(0);
    const b = chooseBuckets(time, 4);
    expect(b.bucketMs).toBe(3 * 60_000); // 2m would need 5 buckets
    expect(Array.from(b.starts)).toEqual([0, 3, 6, 9, 10]);
    const bars = {
      time,
      open: Float64Array.from(time, (_, i) => 100 + i),
      high: Float64Array.from(time, (_, i) => 110 + i),
      low: Float64Array.from(time, (_, i) => 90 - i),
      close: Float64Array.from(time, (_, i) => 101 + i),
    };
    const o = aggregateOhlc(bars, b);
    expect(Array.from(o.open)).toEqual([100, 103, 106, 109]);
    expect(Array.from(o.high)).toEqual([112, 115, 118, 119]);
    expect(Array.from(o.low)).toEqual([88, 85, 82, 81]);
    expect(Array.from(o.close)).toEqual([103, 106, 109, 110]);
  });
});
