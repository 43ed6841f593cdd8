import { readFileSync, rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/index.js";
import { noProgress, silentLogger } from "../../src/core/log.js";
import { symbolOutputFile } from "../../src/data/paths.js";
import { ledgerFile } from "../../src/live/ledger/file.js";
import { openSqliteLedger } from "../../src/live/ledger/sqlite.js";
import type { CandleRecord } from "../../src/live/ledger/types.js";
import { runPipeline } from "../../src/pipeline/graph/matrix.js";
import { spawnItb } from "../helpers/cli.js";
import { sampleRecords } from "../helpers/ledgerRecords.js";
import { lintOpenApi, oracle } from "../helpers/openapi.js";
import { SAMPLE } from "../helpers/paths.js";
import { tail, until } from "../helpers/until.js";
import { buildLiveFixture, type LiveFixture } from "../live/liveFixture.js";

/**
 * `itb ui` over stored results, no service: a data folder with the models of a pipeline run,
 * its simulation and report (itb simulate, itb report, in-sample allowed) and a ledger of real
 * records. Every endpoint answers as the OpenAPI document says; the markets, candles and
 * position are the ledger's, the results the files'; the control endpoints answer 409, the
 * event stream stays quiet; Ctrl-C exits 0.
 */
const READ = "ui-read-token-1234567890ab";
const CONTROL = "ui-control-token-1234567890ab";

let fixture: LiveFixture;
let config = "";
let records: CandleRecord[] = [];

beforeAll(async () => {
  fixture = await buildLiveFixture("2023-03-20", (c) => {
    c.simulate_model = {
      allow_in_sample: true,
      topn_to_store: 3,
      grid: { buy_signal_threshold: [0.1, 0.2], sell_signal_threshold: [-0.1, -0.2] },
    };
  });
  config = fixture.copy("ui", "http://127.0.0.1:9").config;
  const run = await runPipeline(
    { configFile: config, predict: "current", from: "predict", to: "report" },
    { log: silentLogger, progress: noProgress, clock: { now: () => Date.now() }, itbVersion: "test" },
  );
  expect(run.failed, JSON.stringify(run).slice(0, 3000)).toBe(0);
  // the ledger of a service that ran over the first 1200 candles of March
  records = await sampleRecords(SAMPLE, { count: 1200 });
  const ledger = openSqliteLedger(ledgerFile(loadConfig(config).config));
  for (const r of records) await ledger.record(r);
  await ledger.close();
}, 600_000);

afterAll(() => {
  if (fixture) rmSync(fixture.root, { recursive: true, force: true });
});

describe("itb ui", () => {
  it("serves the stored markets, models, results and config; control answers 409; Ctrl-C exits 0", async () => {
    const c = loadConfig(config).config;
    const ui = spawnItb(["ui", "--config", config, "--address", "127.0.0.1:0", "--log-format", "json"], {
      env: { ITB_SERVE_READ_TOKEN: READ, ITB_SERVE_CONTROL_TOKEN: CONTROL },
    });
    try {
      await ui.waitFor(/^http:\/\/127\.0\.0\.1:\d+\n/, { stream: "stdout", timeoutMs: 60_000 });
      const base = ui.stdout().trim();
      const call = async (method: string, path: string, token = READ, body?: unknown) => {
        const res = await fetch(`${base}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${token}`,
            ...(body === undefined ? {} : { "content-type": "application/json" }),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        const type = res.headers.get("content-type") ?? "";
        const text = await res.text();
        return {
          status: res.status,
          type,
          text,
          body: type.startsWith("application/json") ? JSON.parse(text) : text,
        };
      };
      const doc = (await call("GET", "/api/v1/openapi.json")).body;
      await lintOpenApi(doc);
      const o = oracle(doc);
      const get = async (path: string, template = path) => {
        const r = await call("GET", path);
        o.check("GET", template, r.status, r.body);
        return r.body;
      };

      expect(await get("/api/v1/session")).toEqual({ scopes: ["read"], mode: "ui" });
      const status = await get("/api/v1/status");
      expect(status).toMatchObject({ mode: "ui", ready: true });
      const last = records.at(-1) as CandleRecord;
      const market = await get("/api/v1/markets/BTCUSDT-1m", "/api/v1/markets/{id}");
      expect(market).toMatchObject({
        id: "BTCUSDT-1m",
        trading: null,
        paused: null,
        health: { status: "stored", detail: null },
        last: { time: last.candle.time, close: last.candle.close, buy: last.buy, sell: last.sell },
        equity: last.equity.equity,
        cash: last.equity.cash,
        pnl: last.equity.equity - c.backtest.initial_capital,
        thresholds: { score: "trade_score", buy: 0.2, sell: -0.2 },
      });
      const { thresholds: _, ...summary } = market;
      expect(await get("/api/v1/markets")).toEqual({ markets: [summary] });

      // the candles: the ledger's last 1000, ascending, with their scores and signals
      const candles = await get("/api/v1/markets/BTCUSDT-1m/candles", "/api/v1/markets/{id}/candles");
      const times = candles.rows.map((r: number[]) => r[0]);
      expect(times).toEqual(records.slice(-1000).map((r) => r.candle.time));
      const closeAt = candles.columns.indexOf("close");
      expect(candles.rows.at(-1)[closeAt]).toBe(last.candle.close);
      expect(candles.columns.slice(-2)).toEqual(["buy", "sell"]);
      const limited = await get(
        `/api/v1/markets/BTCUSDT-1m/candles?limit=3&to=${records[10]?.candle.time}`,
        "/api/v1/markets/{id}/candles",
      );
      expect(limited.rows.map((r: number[]) => r[0])).toEqual(records.slice(7, 10).map((r) => r.candle.time));
      for (const table of ["signals", "decisions", "orders", "fills", "trades", "equity"]) {
        const t = await get(`/api/v1/markets/BTCUSDT-1m/${table}`, "/api/v1/markets/{id}/{table}");
        expect(t.rows.length, table).toBeGreaterThan(0);
      }
      const trades = await get("/api/v1/markets/BTCUSDT-1m/trades", "/api/v1/markets/{id}/{table}");
      expect(trades.rows.length).toBe(records.reduce((n, r) => n + r.trades.length, 0));
      const position = await get("/api/v1/markets/BTCUSDT-1m/position", "/api/v1/markets/{id}/position");
      expect(position).toEqual({
        side: last.equity.position,
        quantity: last.equity.quantity,
        entry_price: Number.isFinite(last.equity.entryPrice) ? last.equity.entryPrice : null,
        equity: last.equity.equity,
        cash: last.equity.cash,
      });

      const models = await get("/api/v1/models");
      expect(models.models.map((m: { name: string }) => m.name).sort()).toEqual([
        "high_10_gb",
        "high_10_lc",
        "low_10_gb",
        "low_10_lc",
      ]);
      for (const m of models.models) {
        expect(m).toMatchObject({ market: "BTCUSDT-1m", current: 1 });
        expect(m.versions[0]).toMatchObject({ version: 1, features: 10 });
      }

      const results = await get("/api/v1/results");
      expect(results.results.map((r: { kind: string; name: string }) => `${r.kind}/${r.name}`)).toEqual([
        "simulation/simulation",
        "report/report",
      ]);
      const simFile = JSON.parse(readFileSync(symbolOutputFile(c, "simulation", "json"), "utf8"));
      expect(results.results[0].summary.best).toEqual(simFile.best);
      expect(results.results[1].summary.html).toBe(true);
      const sim = await get(
        "/api/v1/results/BTCUSDT-1m/simulation/simulation",
        "/api/v1/results/{market}/{kind}/{name}",
      );
      expect(sim).toEqual(simFile);
      const page = await call("GET", "/api/v1/results/BTCUSDT-1m/report/html");
      expect(page.type).toBe("text/html; charset=utf-8");
      expect(page.text).toBe(readFileSync(symbolOutputFile(c, "report", "html"), "utf8"));
      const report = await get(
        "/api/v1/results/BTCUSDT-1m/report/report",
        "/api/v1/results/{market}/{kind}/{name}",
      );
      expect(report).toEqual(JSON.parse(readFileSync(symbolOutputFile(c, "report", "json"), "utf8")));

      const configs = await get("/api/v1/config");
      expect(configs.configs).toHaveLength(1);
      expect(configs.configs[0].config).toMatchObject({ symbol: "BTCUSDT", serve_read_token: "***" });
      expect(JSON.stringify(configs)).not.toContain(READ);

      // nothing to control
      for (const [path, body] of [
        ["/api/v1/control/pause", {}],
        ["/api/v1/control/resume", {}],
        ["/api/v1/control/flatten", { symbol: "BTCUSDT" }],
        ["/api/v1/markets/BTCUSDT-1m/exit", undefined],
        ["/api/v1/models/BTCUSDT-1m/high_10_lc/promote", { version: 1 }],
      ] as const) {
        const r = await call("POST", path, CONTROL, body);
        expect(r.status, path).toBe(409);
        expect(r.body).toEqual({ error: "no service runs: start itb serve" });
      }

      // the event stream: open, quiet
      const events = await fetch(`${base}/api/v1/events`, { headers: { authorization: `Bearer ${READ}` } });
      expect(events.status).toBe(200);
      const reader = (events.body as ReadableStream<Uint8Array>).getReader();
      const first = new TextDecoder().decode((await reader.read()).value);
      expect(first).toBe(": connected\n\n");
      const more = await Promise.race([
        reader.read(),
        new Promise((r) => setTimeout(() => r("quiet"), 1000)),
      ]);
      expect(more).toBe("quiet");

      ui.child.kill("SIGINT");
      const exited = await ui.done;
      expect(exited.status, tail(exited.stderr)).toBe(0);
      expect(exited.stderr).not.toContain(READ);
      expect(exited.stderr).not.toContain(CONTROL);
      await until(async () => (await reader.read()).done, 5000, "the stream's end");
    } finally {
      ui.child.kill("SIGKILL");
    }
  }, 300_000);

  it("--help shows an example; a bad address is a usage error saying what is wrong", async () => {
    const help = await spawnItb(["ui", "--help"]).done;
    expect(help.status).toBe(0);
    expect(help.stdout).toContain(
      "Example:\n  itb ui --config configs/demo.jsonc --address 127.0.0.1:8080\n",
    );
    const r = await spawnItb(["ui", "--config", config, "--address", "nowhere"]).done;
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('invalid address "nowhere": expected host:port, e.g. 127.0.0.1:9464');
  });
});
