import { existsSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openSqliteLedger } from "../../src/live/ledger/sqlite.js";
import type { LedgerTable } from "../../src/live/ledger/types.js";
import { type Simulator, startSimulator, VirtualClock } from "../../src/simulator/index.js";
import { type CliProcess, spawnItb } from "../helpers/cli.js";
import { freePort } from "../helpers/freePort.js";
import { SAMPLE } from "../helpers/paths.js";
import { LOOPBACK_BUDGET } from "../helpers/simBudget.js";
import { tail, until } from "../helpers/until.js";
import { BTC_1M, buildLiveFixture, type LiveFixture } from "../live/liveFixture.js";

/**
 * The dashboard in a real browser (Debian's chromium driven by playwright-core) against a real
 * `itb serve` trading on paper over the simulator, whose virtual clock the test moves: the login,
 * the market page's candles and their live updates, a paper fill's marker, the pause button,
 * and no data without a token. With ITB_SCREENSHOTS set to a folder, the overview and the market
 * page are saved there as PNGs (docs/img/ holds the ones the docs show).
 */
const CHROMIUM = "/usr/bin/chromium";
const MIN = 60_000;
const T0 = Date.UTC(2023, 2, 20);
const MARKET = "BTCUSDT-1m";
const READ_TOKEN = "read-token-for-the-browser-test";
const CONTROL_TOKEN = "control-token-for-the-browser-test";

let fixture: LiveFixture;
let sim: Simulator;
let serve: CliProcess;
let data: string;
let configFile: string;
let base: string;
let browser: Browser;
let minute = 0;
const problems: string[] = [];

async function ledgerTable(what: "signals" | "decisions" | "fills"): Promise<Record<string, unknown>[]> {
  const ledger = openSqliteLedger(join(data, "ledger.sqlite"), { readonly: true });
  try {
    const t: LedgerTable = await ledger.read(what, { market: BTC_1M });
    return t.rows.map((r) => Object.fromEntries(t.columns.map((c, i) => [c, r[i]])));
  } finally {
    await ledger.close();
  }
}

async function lastRecorded(): Promise<number> {
  const ledger = openSqliteLedger(join(data, "ledger.sqlite"), { readonly: true });
  try {
    return (await ledger.last(BTC_1M))?.time ?? Number.NaN;
  } finally {
    await ledger.close();
  }
}

/** Moves the exchange's clock on by `n` minutes and waits until the service recorded the last closed candle. */
async function advance(n: number): Promise<number> {
  minute += n;
  sim.clock.set(T0 + minute * MIN + 30_000);
  const expected = T0 + (minute - 1) * MIN;
  await until(
    async () => (await lastRecorded().catch(() => Number.NaN)) === expected,
    30_000,
    `the candle of ${new Date(expected).toISOString()}`,
    20,
    () => `the service's log:\n${tail(serve.stderr())}`,
  );
  return expected;
}

async function api<T>(path: string, token = READ_TOKEN): Promise<T> {
  const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
  expect(res.status, path).toBe(200);
  return (await res.json()) as T;
}

async function newPage(): Promise<{ page: Page; apiRequests: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const apiRequests: string[] = [];
  page.on("request", (r) => {
    const url = new URL(r.url());
    if (url.origin !== base) problems.push(`request to another origin: ${r.url()}`);
    if (url.pathname.startsWith("/api/")) apiRequests.push(`${r.method()} ${url.pathname}${url.search}`);
  });
  page.on("console", (m) => {
    if (m.type() === "error" && !/status of 401/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("dialog", (d) => void d.accept());
  return { page, apiRequests };
}

/**
 * Waits until `expression` is true in the page. Evaluated through the protocol, as the page's
 * Content-Security-Policy forbids the eval that page.waitForFunction uses.
 */
async function waitForTrue(page: Page, expression: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await page.evaluate(expression)) !== true) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${expression}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function logIn(page: Page, token: string): Promise<void> {
  await page.waitForSelector('body[data-state="login"]');
  await page.fill("#login-token", token);
  await page.click("#login-submit");
  await page.waitForSelector('body[data-state="ready"]', { timeout: 15_000 });
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `chromium not found at ${CHROMIUM}: the dashboard test needs Debian's chromium; install it with \`apt-get install -y chromium\` (.ci/run does this)`,
    );
  }
  fixture = await buildLiveFixture("2023-03-20");
  sim = await startSimulator({
    weightLimits: LOOPBACK_BUDGET,
    archive: SAMPLE,
    clock: new VirtualClock({ start: T0 + 30_000, speed: 0 }),
    streams: { formingEveryMs: 0 },
  });
  const port = await freePort();
  const { dir, config } = fixture.copy("dashboard", sim.url, (c) => {
    c.serve = { address: `127.0.0.1:${port}`, delay_ms: 0, poll_ms: 50 };
    c.serve_read_token = READ_TOKEN;
    c.serve_control_token = CONTROL_TOKEN;
    // narrow thresholds: signals, and so paper trades, within minutes
    const rule = (
      c.signal_sets as { generator: string; config: { parameters: Record<string, number> } }[]
    ).find((s) => s.generator === "threshold_rule");
    if (rule === undefined) throw new Error("the live config has no threshold_rule");
    rule.config.parameters = { buy_signal_threshold: 0.02, sell_signal_threshold: -0.02 };
  });
  data = join(dir, "data");
  configFile = config;
  base = `http://127.0.0.1:${port}`;
  serve = spawnItb(["serve", "--config", config, "--log-format", "json"]);
  await serve.waitFor(/"msg":"serving"/, { timeoutMs: 120_000 });
  // half an hour of candles before the first page opens
  await advance(30);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  if (serve !== undefined) {
    serve.child.kill("SIGTERM");
    await serve.done;
  }
  await sim?.close();
  if (fixture) rmSync(fixture.root, { recursive: true, force: true });
});

describe("the dashboard in chromium against itb serve", () => {
  it("without a token shows only the login and asks the API for nothing; a wrong token is refused", async () => {
    const { page, apiRequests } = await newPage();
    await page.goto(`${base}/market/${MARKET}`);
    await page.waitForSelector('body[data-state="login"]');
    expect(await page.isVisible("#login-form")).toBe(true);
    expect(await page.isVisible("#app")).toBe(false);
    expect(await page.$$eval("#app *", (els) => els.length)).toBe(0);
    await page.goto(`${base}/`);
    await page.waitForSelector('body[data-state="login"]');
    await page.waitForTimeout(300);
    expect(apiRequests).toEqual([]);

    await page.fill("#login-token", "not-a-token-of-this-service");
    await page.click("#login-submit");
    await waitForTrue(page, `document.getElementById("login-error").textContent !== ""`);
    expect(await page.textContent("#login-error")).toBe("This token was refused.");
    expect(apiRequests).toEqual(["GET /api/v1/session"]);
    expect(await page.evaluate("sessionStorage.getItem('itb.token')")).toBeNull();
    expect(await page.isVisible("#app")).toBe(false);
    await page.close();
  });

  it("logs in; the market page shows the candles, and a new candle within two seconds", async () => {
    const { page, apiRequests } = await newPage();
    await page.goto(`${base}/market/${MARKET}`);
    await logIn(page, READ_TOKEN);
    // every request carried the token in its header: none has one in its address
    expect(apiRequests.every((r) => !r.includes("token"))).toBe(true);
    expect(await page.textContent("#market-title")).toBe(MARKET);
    const candles = (await api<{ rows: unknown[][] }>(`/api/v1/markets/${MARKET}/candles`)).rows;
    expect(candles.length).toBeGreaterThanOrEqual(30);
    const shown = Number(await page.getAttribute("body", "data-candles"));
    expect(shown).toBe(candles.length);
    const lastShown = async () => (await page.evaluate("window.itbDashboard.lastTime()")) as number;
    expect(await lastShown()).toBe(T0 + (minute - 1) * MIN);
    expect(await page.evaluate("window.itbDashboard.candles.data().length")).toBe(candles.length);
    // a read token: no control buttons
    expect(await page.getAttribute("body", "data-control")).toBe("false");
    expect(await page.$$("#controls button")).toHaveLength(0);
    // the event stream is open; the next candle arrives without a reload
    await page.waitForSelector("#live.on");
    const started = Date.now();
    const next = T0 + minute * MIN;
    minute += 1;
    sim.clock.set(T0 + minute * MIN + 30_000);
    await waitForTrue(page, `window.itbDashboard.lastTime() === ${next}`, 2_000);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(await page.evaluate("window.itbDashboard.candles.data().length")).toBe(candles.length + 1);
    expect(await page.getAttribute("body", "data-last-candle")).toBe(String(next));
    await until(async () => (await lastRecorded()) === next, 10_000, "the candle in the ledger");
    expect(problems).toEqual([]);
    await page.close();
  });

  it("marks a paper fill on the chart when it happens", async () => {
    const { page } = await newPage();
    await page.goto(`${base}/market/${MARKET}`);
    await logIn(page, READ_TOKEN);
    const before = (await ledgerTable("fills")).length;
    for (let i = 0; i < 120 && (await ledgerTable("fills")).length === before; i++) await advance(1);
    const fills = await ledgerTable("fills");
    expect(fills.length).toBeGreaterThan(before);
    const fill = fills[fills.length - 1] as { timestamp: number; side: string; trade_id: string };
    const marker = `window.itbDashboard.markers().find((m) => m.id === ${JSON.stringify(`fill-${fill.trade_id}`)})`;
    await waitForTrue(page, `${marker} !== undefined`, 5_000);
    const m = (await page.evaluate(marker)) as { time: number; shape: string; text: string };
    expect(m.time).toBe(fill.timestamp / 1000);
    expect(m.shape).toBe(fill.side === "buy" ? "arrowUp" : "arrowDown");
    expect(m.text).toMatch(fill.side === "buy" ? /^B / : /^S /);
    expect(Number(await page.getAttribute("body", "data-fills"))).toBe(fills.length);
    // the fills table lists it
    await waitForTrue(
      page,
      `document.querySelectorAll("#fills tbody tr").length === ${Math.min(50, fills.length)}`,
    );
    expect(problems).toEqual([]);
    await page.close();
  });

  it("with a control token, the pause button stops new entries; exit closes the position", async () => {
    const { page } = await newPage();
    await page.goto(`${base}/market/${MARKET}`);
    await logIn(page, CONTROL_TOKEN);
    expect(await page.getAttribute("body", "data-control")).toBe("true");
    const labels = await page.$$eval("#controls button", (bs) => bs.map((b) => b.textContent));
    expect(labels).toEqual(["Pause entries", "Resume", "Flatten", "Exit this market"]);
    await page.click('#controls button[data-action="pause"]');
    await page.waitForSelector(".notice.ok");
    expect(await page.textContent(".notice.ok")).toBe(`pause: ${MARKET} (from the next candle)`);
    const pausedFrom = await advance(1);
    expect((await api<{ paused: boolean }>(`/api/v1/markets/${MARKET}`)).paused).toBe(true);
    await waitForTrue(
      page,
      `[...document.querySelectorAll("#market-badges .badge")].some((b) => b.textContent === "paused")`,
    );
    await advance(30);
    const decisions = await ledgerTable("decisions");
    const signals = (await ledgerTable("signals")).filter((s) => (s.timestamp as number) >= pausedFrom);
    // signals kept coming, and not one entry was decided on them
    expect(signals.filter((s) => s.buy === 1 || s.sell === 1).length).toBeGreaterThan(0);
    const entries = decisions.filter((d) => d.purpose === "entry");
    expect(entries.filter((d) => (d.timestamp as number) < pausedFrom).length).toBeGreaterThan(0);
    expect(entries.filter((d) => (d.timestamp as number) >= pausedFrom)).toEqual([]);

    await page.click('#controls button[data-action="resume"]');
    await waitForTrue(
      page,
      `[...document.querySelectorAll(".notice.ok")].some((n) => n.textContent.startsWith("resume:"))`,
    );
    await advance(1);
    expect((await api<{ paused: boolean }>(`/api/v1/markets/${MARKET}`)).paused).toBe(false);

    // "Exit this market" (after a confirmation) closes the position at the next candle
    const side = async () => (await api<{ side: number }>(`/api/v1/markets/${MARKET}/position`)).side;
    for (let i = 0; i < 60 && (await side()) === 0; i++) await advance(1);
    expect(await side()).not.toBe(0);
    await page.click('#controls button[data-action="exit"]');
    await waitForTrue(
      page,
      `[...document.querySelectorAll(".notice.ok")].some((n) => n.textContent === "exit: ${MARKET} (from the next candle)")`,
    );
    const exitAt = await advance(1);
    const manual = (await ledgerTable("decisions")).filter(
      (d) => d.purpose === "manual" && (d.timestamp as number) >= exitAt,
    );
    expect(manual.length).toBeGreaterThan(0);
    expect(problems).toEqual([]);
    await page.close();
  });

  it("the models page shows each model's versions and which is current", async () => {
    const { page } = await newPage();
    await page.goto(`${base}/models`);
    await logIn(page, CONTROL_TOKEN);
    const { models } = await api<{ models: { market: string; name: string; current: number | null }[] }>(
      "/api/v1/models",
    );
    expect(models.length).toBeGreaterThan(0);
    const cards = await page.$$eval("#models section[data-model]", (els) =>
      els.map((el) => ({
        model: el.getAttribute("data-model"),
        current: el.querySelector(".badge.good")?.closest("td")?.textContent ?? null,
      })),
    );
    expect(cards).toEqual(
      models.map((m) => ({
        model: `${m.market}/${m.name}`,
        current: m.current === null ? null : `${m.current}current`,
      })),
    );
    // the scores of the training rows, as the API gives them
    const first = models[0] as unknown as { versions: { metrics: { in_sample: { auc: number } } }[] };
    const auc = first.versions[0]?.metrics.in_sample.auc as number;
    const aucCell = await page.$$eval("#models section[data-model]:first-child", (els) => {
      const card = els[0];
      if (card === undefined) return null;
      const heads = [...card.querySelectorAll("th")].map((th) => th.textContent);
      const i = heads.indexOf("AUC in sample");
      return i < 0 ? null : (card.querySelectorAll("tbody tr:first-child td")[i]?.textContent ?? null);
    });
    expect(aucCell).toBe(auc.toFixed(4));
    // one version each, the current one: nothing to promote
    expect(await page.$$('button[data-action="promote"]')).toHaveLength(0);
    // a market the service does not have: the page says so (the API's 404)
    await page.goto(`${base}/market/NOPE-1m`);
    await page.waitForSelector('body[data-state="error"]');
    expect(await page.textContent("#page-error")).toBe(
      "no market NOPE-1m; GET /api/v1/markets lists them (ids like BTCUSDT-1m)",
    );
    expect(problems.filter((p) => !/status of 404/.test(p))).toEqual([]);
    problems.length = 0;
    await page.close();
  });

  it("the overview lists the market; a 401 brings the login back", async () => {
    const { page, apiRequests } = await newPage();
    await page.goto(`${base}/`);
    await logIn(page, READ_TOKEN);
    const row = await page.$$eval("#markets tbody tr", (rows) =>
      rows.map((r) => [...r.querySelectorAll("td")].map((td) => td.textContent)),
    );
    expect(row).toHaveLength(1);
    expect(row[0]?.[0]).toBe(MARKET);
    expect(row[0]?.[1]).toBe("paper");
    expect(row[0]?.[3]).toBe(new Date(T0 + (minute - 1) * MIN).toISOString().slice(0, 16).replace("T", " "));
    await screenshots(page);
    // a token the service no longer knows: the next request answers 401 and the login shows
    await page.evaluate("sessionStorage.setItem('itb.token', 'a-token-that-was-revoked')");
    const count = apiRequests.length;
    await advance(1);
    await page.waitForSelector('body[data-state="login"]', { timeout: 5_000 });
    expect(await page.isVisible("#app")).toBe(false);
    expect(await page.evaluate("sessionStorage.getItem('itb.token')")).toBeNull();
    expect(apiRequests.length).toBeGreaterThan(count);
    expect(problems).toEqual([]);
    await page.close();
  });

  it("itb ui shows the stored markets without controls, even to a control token", async () => {
    const ui = spawnItb(["ui", "--config", configFile, "--address", "127.0.0.1:0", "--log-format", "json"]);
    try {
      await ui.waitFor(/^http:\/\/127\.0\.0\.1:\d+\n/, { stream: "stdout", timeoutMs: 60_000 });
      const uiBase = ui.stdout().trim();
      const { page } = await newPage();
      page.removeAllListeners("request");
      await page.goto(`${uiBase}/`);
      await logIn(page, CONTROL_TOKEN);
      expect(await page.getAttribute("body", "data-control")).toBe("false");
      expect(await page.$$("#controls button")).toHaveLength(0);
      expect(await page.textContent("#session-info")).toBe("researchread only");
      const health = await page.$$eval("#markets tbody tr td:nth-child(3)", (tds) =>
        tds.map((td) => td.textContent),
      );
      expect(health).toEqual(["stored"]);
      await page.goto(`${uiBase}/market/${MARKET}`);
      await page.waitForSelector('body[data-state="ready"]');
      const rows = (await api<{ rows: unknown[][] }>(`/api/v1/markets/${MARKET}/candles`)).rows.length;
      expect(Number(await page.getAttribute("body", "data-candles"))).toBe(rows);
      expect(await page.$$("#controls button")).toHaveLength(0);
      await page.goto(`${uiBase}/results`);
      await page.waitForSelector('body[data-state="ready"]');
      expect(await page.textContent("#results")).toBe(
        "No results yet: the pipeline's simulate and report stages make them.",
      );
      expect(problems).toEqual([]);
      await page.close();
    } finally {
      ui.child.kill("SIGINT");
      await ui.done;
    }
  });
});

/** With ITB_SCREENSHOTS set to a folder: the overview and the market page as PNGs (1280x800). */
async function screenshots(overview: Page): Promise<void> {
  const dir = process.env.ITB_SCREENSHOTS;
  if (dir === undefined || dir === "") return;
  mkdirSync(dir, { recursive: true });
  await overview.screenshot({ path: join(dir, "dashboard-overview.png") });
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(`${base}/market/${MARKET}`);
  await logIn(page, READ_TOKEN);
  // the pointer off the chart (no crosshair), the charts painted
  await page.mouse.move(0, 799);
  await page.waitForTimeout(500);
  await page.screenshot({ path: join(dir, "dashboard-market.png") });
  await page.close();
}
