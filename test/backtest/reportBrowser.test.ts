import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fmt } from "../../src/backtest/report/format.js";
import { metricDecimals, renderReportHtml } from "../../src/backtest/report/html.js";
import { type BacktestFixture, backtestFixture, holdoutOf, reportInput } from "../helpers/backtestFixture.js";

/**
 * The report page in a real browser: Debian's chromium driven by playwright-core. Not skipped
 * when chromium is missing: CI installs it, and a missing browser must be visible.
 */
const CHROMIUM = "/usr/bin/chromium";
const EVIL_TITLE = "<script>window.__pwned = 1</script> BTCUSDT momentum";
const HOLDOUT = Date.UTC(2023, 2, 20);

/** Browser-side: where each chart's holdout line is, and where the chart puts the holdout's time. */
const HOLDOUT_LINES = `(() => {
  const r = window.itbReport;
  return ["price", "equity"].map((k) => {
    const box = document.getElementById("chart-" + k);
    const el = box.querySelector(".holdout-line");
    if (!el) return null;
    const ts = r[k].timeScale();
    const rect = el.getBoundingClientRect();
    return {
      left: parseFloat(el.style.left),
      x: ts.timeToCoordinate(r.data.holdout.time),
      width: ts.width(),
      display: getComputedStyle(el).display,
      top: rect.top - box.getBoundingClientRect().top - box.clientTop,
      height: rect.height,
      panes: box.clientHeight - ts.height(),
      label: el.textContent,
    };
  });
})()`;

/**
 * Browser-side: per chart container, the painted pixels (neither transparent nor white) of each
 * pane's main canvas (the wide, tall ones; axis canvases are narrow or short). Empty panes give
 * 0, drawn ones thousands. A string, as the test files are compiled without the DOM types.
 */
const PANE_INK = `(() => {
  const out = {};
  for (const id of ["chart-price", "chart-equity"]) {
    out[id] = [];
    for (const c of document.querySelectorAll("#" + id + " canvas")) {
      if (c.width < 400 || c.height < 100) continue;
      const px = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 0; i < px.length; i += 4) {
        const white = px[i] > 245 && px[i + 1] > 245 && px[i + 2] > 245;
        if (px[i + 3] > 0 && !white) n++;
      }
      out[id].push(n);
    }
  }
  return out;
})()`;

let dir: string;
let browser: Browser | undefined;
let page: Page;
let f: BacktestFixture;
const problems: string[] = [];
const external: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `chromium not found at ${CHROMIUM}: the report page test needs Debian's chromium; install it with \`apt-get install -y chromium\` (.ci/run does this)`,
    );
  }
  f = await backtestFixture(["2023-03"]);
  dir = mkdtempSync(join(tmpdir(), "itb-report-"));
  const file = join(dir, "report.html");
  // 44,560 bars with the default 15,000-candle bound: aggregated to 3m candles; thresholds
  // chosen before a holdout from 2023-03-20
  // chosen before a holdout from 2023-03-20. The score's lines are drawn at the score's own
  // extremes, where a searched threshold often lands, to check that they stay inside the pane.
  const input = reportInput(f, EVIL_TITLE);
  const finite = Array.from(f.score).filter(Number.isFinite);
  writeFileSync(
    file,
    renderReportHtml({
      ...input,
      score: {
        ...(input.score as NonNullable<typeof input.score>),
        buyThreshold: Math.max(...finite),
        sellThreshold: Math.min(...finite),
      },
      thresholds: "search",
      holdout: holdoutOf(f, HOLDOUT),
    }),
  );
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") problems.push(`console.${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("request", (r) => {
    if (!r.url().startsWith("file:") && !r.url().startsWith("data:")) external.push(r.url());
  });
  await page.goto(pathToFileURL(file).href, { waitUntil: "load" });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("report page in chromium", () => {
  it("draws both charts with no error and no network request", async () => {
    const ready = await page
      .waitForSelector('body[data-charts="ready"]', { timeout: 20_000 })
      .then(() => true)
      .catch(() => false);
    expect(ready, `the page script did not finish: ${problems.join("; ") || "no error reported"}`).toBe(true);
    for (const id of ["chart-price", "chart-equity"]) {
      // canvases of non-zero size inside the container
      await page.waitForFunction(
        `[...document.querySelectorAll("#${id} canvas")].some((c) => c.width > 100 && c.height > 100)`,
        undefined,
        { timeout: 30_000 },
      );
    }
    // let two frames pass so that the series are painted
    await page.evaluate("new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))");
    // lightweight-charts stacks two canvases per pane (series, crosshair); the first of each
    // pair holds the series: candles, score, equity and buy and hold, drawdown
    const ink = (await page.evaluate(PANE_INK)) as Record<string, number[]>;
    const panes = (id: string): number[] => (ink[id] ?? []).filter((_, i) => i % 2 === 0);
    expect(panes("chart-price")).toHaveLength(2);
    expect(panes("chart-equity")).toHaveLength(2);
    for (const n of [...panes("chart-price"), ...panes("chart-equity")]) expect(n).toBeGreaterThan(2_000);
    expect(await page.textContent("#report-error")).toBe("");
    expect(problems).toEqual([]);
    expect(external).toEqual([]);
  });

  it("marks the holdout's start with a line over every pane of both charts, and gives it a section", async () => {
    const lines = (await page.evaluate(HOLDOUT_LINES)) as ({
      left: number;
      x: number | null;
      width: number;
      display: string;
      top: number;
      height: number;
      panes: number;
      label: string;
    } | null)[];
    expect(lines).toHaveLength(2);
    for (const l of lines) {
      if (l === null) throw new Error("no holdout line in a chart");
      expect(l.display).toBe("block");
      expect(l.x).not.toBeNull();
      expect(l.left).toBe(Math.round(l.x as number));
      // 2023-03-20 is 19 of the 31 days: the line is well inside the time axis
      expect(l.left / l.width).toBeGreaterThan(0.55);
      expect(l.left / l.width).toBeLessThan(0.66);
      // from the top of the first pane to the bottom of the last
      expect(l.top).toBe(0);
      expect(l.height).toBe(l.panes);
      expect(l.label).toBe("holdout →");
    }
    expect(await page.textContent("#headline-holdout")).toMatch(
      /^Holdout 2023-03-20 00:00 – 2023-03-31 23:59 UTC, thresholds chosen before it: profit /,
    );
    expect(await page.textContent("#holdout h2")).toBe("Holdout from 2023-03-20 00:00 UTC");
    expect(await page.$$eval("#holdout-metrics td[data-metric]", (tds) => tds.length)).toBeGreaterThan(20);
  });

  it("keeps the lower panes clear, the last marker whole and the threshold lines inside their pane", async () => {
    const got = (await page.evaluate(`(() => {
      const r = window.itbReport;
      // what is on top at the lower-left of each lower pane, where the library's logo used to sit
      const corner = (id) => {
        const panes = [...document.querySelectorAll("#" + id + " canvas")].filter((c) => c.width >= 400 && c.height >= 100);
        panes[2].scrollIntoView({ block: "center" });
        const rect = panes[2].getBoundingClientRect();
        return document.elementFromPoint(rect.left + 27, rect.bottom - 20).tagName;
      };
      const ts = r.price.timeScale();
      const last = r.data.markers[r.data.markers.length - 1];
      const pane = r.price.panes()[1];
      return {
        logos: document.querySelectorAll("#tv-attr-logo").length,
        attribution: document.querySelector("#attribution a").getAttribute("href"),
        corners: [corner("chart-price"), corner("chart-equity")],
        lastMarker: ts.timeToCoordinate(last.time),
        lastCandle: ts.timeToCoordinate(r.data.candles.time[r.data.candles.time.length - 1]),
        width: ts.width(),
        paneHeight: pane.getHeight(),
        buy: r.score.priceToCoordinate(r.data.score.buyThreshold),
        sell: r.score.priceToCoordinate(r.data.score.sellThreshold),
      };
    })()`)) as {
      logos: number;
      attribution: string;
      corners: string[];
      lastMarker: number;
      lastCandle: number;
      width: number;
      paneHeight: number;
      buy: number;
      sell: number;
    };
    // no logo over the score and drawdown panes; the page credits the library instead
    expect(got.logos).toBe(0);
    expect(got.corners).toEqual(["CANVAS", "CANVAS"]);
    expect(got.attribution).toBe("https://www.tradingview.com/");
    // the last trade is closed at the end: its marker sits on the last candle and, 13 px wide
    // at this zoom, fits inside the pane
    expect(f.result.trades.at(-1)?.exitReason).toBe("end");
    expect(got.lastMarker).toBe(got.lastCandle);
    expect(got.lastMarker + 7).toBeLessThanOrEqual(got.width);
    // the thresholds at the score's extremes: inside the pane, clear of its borders
    expect(got.buy).toBeGreaterThanOrEqual(10);
    expect(got.sell).toBeLessThanOrEqual(got.paneHeight - 10);
    expect(got.buy).toBeLessThan(got.sell);
  });

  it("shows the title as text, without running it", async () => {
    expect(await page.textContent("#report-title")).toBe(EVIL_TITLE);
    expect(await page.title()).toBe(EVIL_TITLE);
    expect(await page.evaluate("typeof window.__pwned")).toBe("undefined");
  });

  it("shows the result's metrics, the same numbers as the embedded JSON", async () => {
    const cells = await page.$$eval("#metrics td[data-metric]", (tds) =>
      tds.map((td) => ({
        name: td.getAttribute("data-metric") ?? "",
        value: td.getAttribute("data-value") ?? "",
        text: td.textContent ?? "",
      })),
    );
    const json = (await page.evaluate(
      'JSON.parse(document.getElementById("report-data").textContent).metrics',
    )) as Record<string, number | string>;
    const metrics = f.result.metrics as unknown as Record<string, number>;
    expect(cells.map((c) => c.name).sort()).toEqual(Object.keys(metrics).sort());
    for (const { name, value, text } of cells) {
      const expected = metrics[name] as number;
      const inJson = json[name];
      // JSON carries non-finite numbers as strings
      expect(Object.is(Number(inJson), expected), `${name} in JSON`).toBe(true);
      expect(Object.is(Number(value), expected), `${name} in data-value`).toBe(true);
      if (name === "firstTime" || name === "lastTime") {
        expect(text).toBe(new Date(expected).toISOString().slice(0, 16).replace("T", " "));
      } else {
        expect(text).toBe(fmt(expected, metricDecimals(name)));
        if (Number.isFinite(expected)) {
          expect(Math.abs(Number(text) - expected)).toBeLessThanOrEqual(
            0.5 * 10 ** -metricDecimals(name) + 1e-12,
          );
        }
      }
    }
    const trades = await page.$$eval("#trades tbody tr", (rows) => rows.length);
    expect(trades).toBe(Math.min(500, f.result.trades.length));
    const best = await page.getAttribute('#heatmap td[data-best="true"]', "data-value");
    expect(Number(best)).toBe(Math.max(...f.grid.map((c) => c.metrics.profitPct)));
  });
});
