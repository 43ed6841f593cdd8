import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ExperimentView,
  experimentView,
  openExperimentStore,
} from "../../src/research/experiments/read.js";
import {
  ExperimentStore,
  experimentStoreFile,
  experimentsFolder,
} from "../../src/research/experiments/store.js";
import { itb } from "../helpers/cli.js";
import { writeToyExperiment } from "../helpers/experiments.js";

/**
 * The experiments page in a real browser (Debian's chromium driven by playwright-core), as
 * `itb experiments compare --html` and `show --html` write it for toy tuning runs recorded
 * through the store's API: every chart drawn (an SVG with its points, boxes and bars), the
 * tables holding every trial, the odds' reading, no console error and no network request.
 */
const CHROMIUM = "/usr/bin/chromium";

let dir = "";
let folder = "";
let views: ExperimentView[] = [];
let browser: Browser | undefined;
const problems: string[] = [];
const external: string[] = [];

async function open(file: string): Promise<Page> {
  const page = await (browser as Browser).newPage({ viewport: { width: 1280, height: 1000 } });
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") problems.push(`console.${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("request", (r) => {
    if (!r.url().startsWith("file:") && !r.url().startsWith("data:")) external.push(r.url());
  });
  await page.goto(pathToFileURL(file).href, { waitUntil: "load" });
  const ready = await page
    .waitForSelector('body[data-charts="ready"]', { timeout: 30_000 })
    .then(() => true)
    .catch(() => false);
  expect(ready, `the page script did not finish: ${problems.join("; ") || "no error reported"}`).toBe(true);
  return page;
}

/** For each chart container: its SVG's size and how many shapes (paths) it drew. */
const CHARTS = `(() => Object.fromEntries([...document.querySelectorAll("div.chart")].map((d) => {
  const svg = d.querySelector("svg");
  return [d.id, svg ? { width: svg.clientWidth, height: svg.clientHeight, paths: svg.querySelectorAll("path").length } : null];
})))()`;

type Charts = Record<string, { width: number; height: number; paths: number } | null>;

beforeAll(() => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `chromium not found at ${CHROMIUM}: the experiments page test needs Debian's chromium; install it with \`apt-get install -y chromium\``,
    );
  }
  dir = mkdtempSync(join(tmpdir(), "itb-exp-browser-"));
  folder = experimentsFolder(join(dir, "data"), "BTCUSDT");
  const store = ExperimentStore.open(experimentStoreFile(folder));
  writeToyExperiment(store, { name: "wide <C>", trials: 60, seed: 1 });
  writeToyExperiment(store, { objective: "profit", trials: 40, seed: 2 });
  writeToyExperiment(store, { objective: "profit", trials: 25, seed: 3, end: "running" });
  // just started: not one trial yet
  writeToyExperiment(store, { trials: 0, seed: 4, end: "running" });
  store.close();
  const r = openExperimentStore(folder);
  views = r.experiments().map((e) => experimentView(r, folder, e));
  r.close();
  for (const args of [
    ["compare", "exp-0001", "exp-0002", "exp-0003", "exp-0004", "--html", join(dir, "compare.html")],
    ["show", "exp-0001", "--html"],
  ]) {
    const run = itb(["experiments", ...args, "--store", folder]);
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
  }
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("experiments page in chromium", () => {
  it("draws every chart of every experiment, with its points, boxes and bars", async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    });
    const page = await open(join(dir, "compare.html"));
    const charts = (await page.evaluate(CHARTS)) as Charts;
    const ids = views.flatMap((v) => [
      `objective-${v.experiment.id}`,
      `folds-${v.experiment.id}`,
      `importance-${v.experiment.id}`,
      ...(v.trials.length === 0 ? [] : [0, 1, 2, 3]).map((i) => `param-${v.experiment.id}-${i}`),
    ]);
    expect(Object.keys(charts).sort()).toEqual([...ids, "compare-best"].sort());
    for (const [id, c] of Object.entries(charts)) {
      expect(c, id).not.toBeNull();
      expect(c?.width, id).toBeGreaterThan(300);
      expect(c?.height, id).toBeGreaterThan(200);
    }
    for (const v of views) {
      const id = v.experiment.id;
      // a symbol per trial (and the axes, the running best, the legend)
      expect(charts[`objective-${id}`]?.paths, id).toBeGreaterThan(v.trials.length);
      // a box per trial with folds
      expect(charts[`folds-${id}`]?.paths, id).toBeGreaterThan(
        v.trials.filter((t) => t.folds.length > 0).length,
      );
      // a point per complete trial against each parameter
      if (v.trials.length > 0) {
        for (const i of [0, 1, 2, 3]) {
          expect(charts[`param-${id}-${i}`]?.paths, id).toBeGreaterThan(v.counts.complete);
        }
      }
    }
    expect(await page.textContent("#report-error")).toBe("");
    expect(problems).toEqual([]);
    expect(external).toEqual([]);
    await page.close();
  });

  it("lists every trial in the tables, the best one marked, and the odds with their reading", async () => {
    const page = await open(join(dir, "compare.html"));
    expect(await page.$$eval("#compare-table thead th", (ths) => ths.map((t) => t.textContent))).toEqual([
      "",
      "exp-0001",
      "exp-0002",
      "exp-0003",
      "exp-0004",
    ]);
    expect(await page.textContent("#exp-exp-0001 h2")).toBe("exp-0001 “wide <C>”");
    for (const v of views) {
      const id = v.experiment.id;
      const rows = await page.$$eval(`#trials-${id} tr[data-trial]`, (trs) =>
        trs.map((tr) => ({ n: Number(tr.getAttribute("data-trial")), best: tr.classList.contains("best") })),
      );
      expect(rows.map((r) => r.n).sort((a, b) => a - b)).toEqual(v.trials.map((t) => t.number));
      // the chosen trial, or the best so far of a run that has not chosen yet
      expect(rows.filter((r) => r.best).map((r) => r.n)).toEqual(v.best === null ? [] : [v.best.number]);
      // complete trials come first, best first
      if (v.best !== null) expect(rows[0]?.n).toBe(v.best.number);
      expect(
        await page.$$eval(`#odds-${id} .odds-reading li`, (lis) => lis.map((l) => l.textContent)),
      ).toEqual(v.odds.reading);
    }
    // the running experiment's odds were computed from its trials, and the page says so
    expect(await page.textContent("#odds-exp-0003 p.note")).toMatch(
      /^Computed now from the complete trials' series \(the experiment is running\)\. /,
    );
    expect(await page.textContent("#odds-exp-0004 p.note")).toBe(
      "None recorded (the experiment is running), and too few complete trials with comparable series to compute them.",
    );
    expect(problems).toEqual([]);
    await page.close();
  });

  it("shows one experiment on its own page in the experiment's folder", async () => {
    const page = await open(join(folder, "exp-0001", "report.html"));
    const charts = (await page.evaluate(CHARTS)) as Charts;
    expect(Object.keys(charts)).toHaveLength(7);
    expect(await page.$("#compare-table")).toBeNull();
    expect(await page.textContent("h1")).toBe("Experiment exp-0001");
    expect(await page.$$eval("#trials-exp-0001 tr[data-trial]", (trs) => trs.length)).toBe(60);
    expect(problems).toEqual([]);
    expect(external).toEqual([]);
    await page.close();
  });
});
