import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { openSqliteLedger } from "../../src/live/ledger/sqlite.js";
import { type Simulator, startSimulator, VirtualClock } from "../../src/simulator/index.js";
import { type CliProcess, spawnItb } from "../helpers/cli.js";
import { freePort } from "../helpers/freePort.js";
import { ROOT, SAMPLE } from "../helpers/paths.js";
import { tail, until } from "../helpers/until.js";
import { BTC_1M, buildLiveFixture, type LiveFixture, lastRecorded } from "../live/liveFixture.js";
import { DASHBOARD, dashboardQueries, readDashboard } from "./deployFiles.js";

/**
 * The project's Prometheus configuration with a real Prometheus (Debian's, /usr/bin/prometheus;
 * .ci/run installs it): a temporary copy scraping a running `itb serve` over the simulator every
 * second, itb's metrics read back through Prometheus's query API, the alert rules loaded and
 * evaluated, and every PromQL expression of the Grafana dashboard accepted.
 */

const PROMETHEUS = "/usr/bin/prometheus";
const PROMTOOL = "/usr/bin/promtool";
const MIN = 60_000;
const T0 = Date.UTC(2023, 2, 20);
const MARKET = "BTCUSDT 1m";

let fixture: LiveFixture;
let sim: Simulator;
let serve: CliProcess | undefined;
let prometheus: ChildProcess | undefined;
let promLog = "";
let promUrl: string;
let data: string;
let work: string;

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}
async function query(q: string): Promise<{ status: string; error?: string; data?: { result: Sample[] } }> {
  const r = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(q)}`);
  return (await r.json()) as { status: string; error?: string; data?: { result: Sample[] } };
}
/** The values of an instant query, by their labels (as JSON text). */
async function values(q: string): Promise<number[]> {
  const r = await query(q);
  if (r.status !== "success") throw new Error(`${q}: ${r.error}`);
  return (r.data?.result ?? []).map((s) => Number(s.value[1]));
}

beforeAll(async () => {
  fixture = await buildLiveFixture("2023-03-20");
  sim = await startSimulator({
    archive: SAMPLE,
    clock: new VirtualClock({ start: T0 + 30_000, speed: 0 }),
    streams: { formingEveryMs: 0 },
  });
  const itbPort = await freePort();
  const copy = fixture.copy("prometheus", sim.url, (c) => {
    c.serve = { address: `127.0.0.1:${itbPort}`, delay_ms: 0, poll_ms: 50 };
  });
  data = join(copy.dir, "data");
  serve = spawnItb(["serve", "--config", copy.config, "--log-format", "json"]);
  await serve.waitFor(/"msg":"serving"/, { timeoutMs: 120_000 });

  // the project's configuration, its target rewritten to the running service, scraped every second
  work = mkdtempSync(join(tmpdir(), "itb-prometheus-"));
  const cfg = parse(readFileSync(resolve(ROOT, "deploy/prometheus/prometheus.yml"), "utf8")) as {
    global: Record<string, string>;
    rule_files: string[];
    scrape_configs: { static_configs: { targets: string[] }[] }[];
  };
  cfg.global.scrape_interval = "1s";
  cfg.global.evaluation_interval = "1s";
  const job = cfg.scrape_configs[0] as { static_configs: { targets: string[] }[] };
  job.static_configs = [{ targets: [`127.0.0.1:${itbPort}`] }];
  for (const r of cfg.rule_files) copyFileSync(resolve(ROOT, "deploy/prometheus", r), join(work, r));
  writeFileSync(join(work, "prometheus.yml"), stringify(cfg));
  mkdirSync(join(work, "tsdb"));
  const promPort = await freePort();
  promUrl = `http://127.0.0.1:${promPort}`;
  prometheus = spawn(
    PROMETHEUS,
    [
      `--config.file=${join(work, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(work, "tsdb")}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  prometheus.stdout?.on("data", (b: Buffer) => {
    promLog += b.toString();
  });
  prometheus.stderr?.on("data", (b: Buffer) => {
    promLog += b.toString();
  });
  await until(
    async () => (await fetch(`${promUrl}/-/ready`).catch(() => undefined))?.status === 200,
    30_000,
    "prometheus ready",
    100,
    () => tail(promLog),
  );

  // three candles after the start
  sim.clock.set(T0 + 3 * MIN + 30_000);
  await until(
    async () => (await lastRecorded(data)) === T0 + 2 * MIN,
    60_000,
    "three candles",
    20,
    () => tail(serve?.stderr() ?? ""),
  );
}, 300_000);

afterAll(async () => {
  if (prometheus !== undefined && prometheus.exitCode === null) {
    const exited = new Promise((r) => prometheus?.once("exit", r));
    prometheus.kill("SIGTERM");
    await exited;
  }
  if (serve !== undefined && serve.child.exitCode === null) {
    serve.child.kill("SIGTERM");
    await serve.done;
  }
  await sim?.close();
  if (fixture) rmSync(fixture.root, { recursive: true, force: true });
  if (work) rmSync(work, { recursive: true, force: true });
}, 60_000);

describe("Prometheus scraping itb serve", () => {
  it("promtool accepts the project's configuration and rules", () => {
    const r = spawnSync(PROMTOOL, ["check", "config", resolve(ROOT, "deploy/prometheus/prometheus.yml")], {
      encoding: "utf8",
    });
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    expect(r.stdout).toContain("SUCCESS: 5 rules found");
  });

  it("reads itb's candles, lag, readiness and books back through its query API", async () => {
    await until(
      async () => (await values(`sum(itb_candles_processed_total{market="${MARKET}"})`))[0] === 3,
      30_000,
      "3 processed candles in prometheus",
      200,
      async () => `${JSON.stringify(await query("itb_candles_processed_total"))}\n${tail(promLog)}`,
    );
    expect(await values('up{job="itb"}')).toEqual([1]);
    expect(await values(`itb_market_ready{market="${MARKET}"}`)).toEqual([1]);
    // the lag is measured against this machine's clock: the simulated candles are years old
    const [lag] = await values(`itb_candle_lag_seconds{market="${MARKET}"}`);
    const expected = (Date.now() - (T0 + 3 * MIN)) / 1000;
    expect(lag).toBeGreaterThan(expected - 60);
    expect(lag).toBeLessThanOrEqual(expected);
    // the books equal the ledger's record of the last candle
    const ledger = openSqliteLedger(join(data, "ledger.sqlite"), { readonly: true });
    const last = await ledger.last(BTC_1M);
    await ledger.close();
    expect(last?.time).toBe(T0 + 2 * MIN);
    expect(await values(`itb_equity{market="${MARKET}"}`)).toEqual([last?.equity.equity]);
    expect(await values(`itb_cash{market="${MARKET}"}`)).toEqual([last?.equity.cash]);
    expect(await values(`itb_position{market="${MARKET}"}`)).toEqual([last?.equity.position]);
    // one latency observation per candle and stage
    expect(await values('sum(itb_tick_latency_seconds_count{stage="total"})')).toEqual([3]);
  });

  it("loads the alert rules and evaluates them on itb's series", async () => {
    type Rules = {
      data: { groups: { name: string; rules: { name: string; health: string; lastError?: string }[] }[] };
    };
    let rules: Rules | undefined;
    await until(
      async () => {
        rules = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as Rules;
        return rules.data.groups[0]?.rules.every((r) => r.health === "ok") ?? false;
      },
      20_000,
      "rules evaluated",
      200,
      () => JSON.stringify(rules),
    );
    expect(rules?.data.groups.map((g) => [g.name, g.rules.map((r) => r.name)])).toEqual([
      ["itb", ["ItbDown", "ItbMarketNotReady", "ItbCandleLag", "ItbErrors", "ItbNotificationsFailing"]],
    ]);
    // the lag rule fires on the simulator's years-old candles (pending for its `for`), at the
    // first evaluation after the lag was scraped
    type Alerts = { data: { alerts: { labels: Record<string, string>; state: string }[] } };
    let alerts: Alerts | undefined;
    await until(
      async () => {
        alerts = (await (await fetch(`${promUrl}/api/v1/alerts`)).json()) as Alerts;
        return alerts.data.alerts.length > 0;
      },
      20_000,
      "an alert",
      200,
      () => JSON.stringify(alerts),
    );
    expect(alerts?.data.alerts.map((a) => [a.labels.alertname, a.labels.market, a.state])).toEqual([
      ["ItbCandleLag", MARKET, "pending"],
    ]);
  });

  it("accepts every query of the Grafana dashboard; its market variable lists the market", async () => {
    const queries = dashboardQueries(readDashboard(DASHBOARD)).map((q) =>
      q
        .replaceAll("$market", ".*")
        .replaceAll("$__rate_interval", "1m")
        .replaceAll("$__range", "5m")
        .replace(/^label_values\((\w+), (\w+)\)$/, "count by ($2) ($1)"),
    );
    const failed: string[] = [];
    for (const q of queries) {
      const r = await query(q);
      if (r.status !== "success") failed.push(`${q}: ${r.error}`);
    }
    expect(failed).toEqual([]);
    // the market variable lists the market
    const markets = await query("count by (market) (itb_candles_processed_total)");
    expect(markets.data?.result.map((s) => s.metric.market)).toEqual([MARKET]);
  });
});
