import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/index.js";
import { silentLogger } from "../../src/core/log.js";
import { ModelStore, modelRoot } from "../../src/pipeline/modelStore.js";
import { runTrain } from "../../src/pipeline/trainStage.js";
import { type Simulator, startSimulator, VirtualClock } from "../../src/simulator/index.js";
import { spawnItb } from "../helpers/cli.js";
import { freePort } from "../helpers/freePort.js";
import { lintOpenApi, type OpenApiOracle, oracle, parseEvents } from "../helpers/openapi.js";
import { SAMPLE } from "../helpers/paths.js";
import { LOOPBACK_BUDGET } from "../helpers/simBudget.js";
import { tail, until } from "../helpers/until.js";
import { buildLiveFixture, type LiveFixture, lastRecorded, ledgerContents } from "../live/liveFixture.js";

/**
 * The HTTP API of a real `itb serve` process on the simulator's candles (virtual clock): every
 * endpoint's answer matches the OpenAPI document the server publishes (ajv), the event stream
 * delivers each new candle, pause and resume through the API stop and allow entries (the
 * ledger's decisions), a force-exit and a promotion reach the markets, no secret shows in any
 * answer or log line, and Ctrl-C with an event-stream client connected exits 0 at once. A
 * non-loopback address without a token is refused at start.
 */
const MIN = 60_000;
const T0 = Date.UTC(2023, 2, 20);
const READ = "api-read-token-5b0f9a7c1e";
const CONTROL = "api-control-token-9d27c4e1aa";
const API_KEY = "sim-api-key-7f3e2b1c0d";
const API_SECRET = "sim-api-secret-4a9b8c7d6e";
const TELEGRAM = "123456:telegram-token-c0ffee";
const SECRETS = [READ, CONTROL, API_KEY, API_SECRET, TELEGRAM];

let fixture: LiveFixture;
let sim: Simulator;

beforeAll(async () => {
  fixture = await buildLiveFixture("2023-03-20");
  sim = await startSimulator({
    weightLimits: LOOPBACK_BUDGET,
    archive: SAMPLE,
    clock: new VirtualClock({ start: T0 + 30_000, speed: 0 }),
    streams: { formingEveryMs: 0 },
  });
}, 300_000);

afterAll(async () => {
  await sim?.close();
  if (fixture) rmSync(fixture.root, { recursive: true, force: true });
});

/** Every answer's text, to look for secrets in. */
const seen: string[] = [];

async function api(base: string, method: string, path: string, token?: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  seen.push(text);
  let parsed: unknown = text;
  if ((res.headers.get("content-type") ?? "").startsWith("application/json")) parsed = JSON.parse(text);
  return { status: res.status, body: parsed as Record<string, unknown> & unknown[] };
}

/** An event-stream client reading in the background. */
function listen(url: string) {
  const controller = new AbortController();
  let text = "";
  let ended = false;
  const done = (async () => {
    const res = await fetch(`${url}/api/v1/events`, {
      headers: { authorization: `Bearer ${READ}` },
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    ended = true;
  })().catch(() => {
    ended = true;
  });
  return {
    text: () => text,
    ended: () => ended,
    events: () => parseEvents(text),
    done,
    stop: () => controller.abort(),
  };
}

describe("the HTTP API of itb serve", () => {
  it("answers as its OpenAPI document says, streams candles, pauses, resumes, exits, promotes, keeps secrets, stops on Ctrl-C", async () => {
    const port = await freePort();
    sim.clock.set(T0 + 30_000);
    const { dir, config } = fixture.copy("api", sim.url, (c) => {
      c.serve = { address: `127.0.0.1:${port}`, delay_ms: 0, poll_ms: 50 };
      c.api_key = API_KEY;
    });
    const secretsFile = join(dir, "secrets.json");
    writeFileSync(secretsFile, JSON.stringify({ api_secret: API_SECRET }));
    // a version 2 of high_10_lc, not promoted (trained on the last 3000 rows)
    const loaded = loadConfig(config);
    const v2 = await runTrain(
      { ...loaded, config: { ...loaded.config, train_length: 3000, labels: ["high_10"] } },
      { log: silentLogger, clock: { now: () => Date.now() }, itbVersion: "test" },
      { promote: false },
    );
    expect(v2.models.map((m) => `${m.name}@${m.version}`)).toEqual(["high_10_lc@2", "high_10_gb@2"]);
    const data = join(dir, "data");
    const base = `http://127.0.0.1:${port}`;

    const serve = spawnItb(["serve", "--config", config, "--log-format", "json"], {
      env: {
        ITB_SERVE_READ_TOKEN: READ,
        ITB_SERVE_CONTROL_TOKEN: CONTROL,
        ITB_SECRETS_FILE: secretsFile,
        ITB_TELEGRAM_BOT_TOKEN: TELEGRAM,
      },
    });
    try {
      await serve.waitFor(/"msg":"serving"/, { timeoutMs: 120_000 });
      const doc = await api(base, "GET", "/api/v1/openapi.json");
      await lintOpenApi(doc.body);
      const o: OpenApiOracle = oracle(doc.body);
      const get = async (path: string, template = path) => {
        const r = await api(base, "GET", path, READ);
        o.check("GET", template, r.status, r.body);
        return r;
      };
      const events = listen(base);
      await until(() => events.text().includes(": connected"), 10_000, "the event stream");

      const step = async (i: number) => {
        sim.clock.set(T0 + i * MIN + 30_000);
        await until(
          async () => (await lastRecorded(data)) === T0 + (i - 1) * MIN,
          30_000,
          `candle ${i}`,
          10,
          async () => `the service's log:\n${tail(serve.stderr())}`,
        );
      };
      await step(2);
      await until(
        () =>
          events.events().some((e) => e.name === "candle" && (e.data as { time: number }).time === T0 + MIN),
        10_000,
        "the candle event",
      );
      const candle = events
        .events()
        .find((e) => e.name === "candle" && (e.data as { time: number }).time === T0 + MIN);
      o.checkEvent("candle", candle?.data);
      expect(candle?.data).toMatchObject({ market: "BTCUSDT-1m", time: T0 + MIN, catch_up: false });

      // every read endpoint, validated against the document
      const session = await get("/api/v1/session");
      expect(session.body).toEqual({ scopes: ["read"], mode: "serve" });
      const status = await get("/api/v1/status");
      // the simulator's candles are years old by this machine's clock: warm, but stale
      expect(status.body).toMatchObject({ mode: "serve", ready: false });
      const markets = await get("/api/v1/markets");
      expect(markets.body.markets).toHaveLength(1);
      const market = await get("/api/v1/markets/BTCUSDT-1m", "/api/v1/markets/{id}");
      expect(market.body).toMatchObject({
        id: "BTCUSDT-1m",
        symbol: "BTCUSDT",
        freq: "1m",
        trading: "paper",
        paused: false,
        health: { status: "stale", detail: expect.stringMatching(/^last candle closed \d+ s ago$/) },
        initial_capital: loaded.config.backtest.initial_capital,
        thresholds: { score: "trade_score", buy: 0.2, sell: -0.2 },
      });
      expect((market.body.last as { time: number }).time).toBe(T0 + MIN);
      const candles = await get("/api/v1/markets/BTCUSDT-1m/candles", "/api/v1/markets/{id}/candles");
      const columns = candles.body.columns as string[];
      expect(columns.slice(0, 6)).toEqual(["time", "open", "high", "low", "close", "volume"]);
      expect(columns).toEqual(expect.arrayContaining(["trade_score", "high_10_lc", "buy", "sell"]));
      const rows = candles.body.rows as number[][];
      expect(rows.at(-1)?.[0]).toBe(T0 + MIN);
      // ascending, the latest 1000 processed (the ledger holds the catch-up candles too)
      expect(rows.length).toBeLessThanOrEqual(1000);
      expect(rows.map((r) => r[0])).toEqual(
        [...rows.map((r) => r[0])].sort((a, b) => (a as number) - (b as number)),
      );
      const two = await get(
        `/api/v1/markets/BTCUSDT-1m/candles?from=${T0}&to=${T0 + 2 * MIN}&limit=5`,
        "/api/v1/markets/{id}/candles",
      );
      expect((two.body.rows as number[][]).map((r) => r[0])).toEqual([T0, T0 + MIN]);
      for (const table of ["signals", "decisions", "orders", "fills", "trades", "equity"]) {
        const t = await get(`/api/v1/markets/BTCUSDT-1m/${table}?limit=50`, "/api/v1/markets/{id}/{table}");
        expect((t.body.columns as string[]).slice(0, 3)).toEqual(["timestamp", "symbol", "freq"]);
        expect((t.body.rows as unknown[]).length).toBeLessThanOrEqual(50);
      }
      const position = await get("/api/v1/markets/BTCUSDT-1m/position", "/api/v1/markets/{id}/position");
      expect(Object.keys(position.body).sort()).toEqual([
        "cash",
        "entry_price",
        "equity",
        "quantity",
        "side",
      ]);
      const models = await get("/api/v1/models");
      const lc = (
        models.body.models as { name: string; current: number; versions: { version: number }[] }[]
      ).find((m) => m.name === "high_10_lc");
      expect(lc?.current).toBe(1);
      expect(lc?.versions.map((v) => v.version)).toEqual([1, 2]);
      const results = await get("/api/v1/results");
      expect(results.body).toEqual({ results: [] });
      const none = await get(
        "/api/v1/results/BTCUSDT-1m/report/report",
        "/api/v1/results/{market}/{kind}/{name}",
      );
      expect(none.status).toBe(404);
      const configs = await get("/api/v1/config");
      const shown = (configs.body.configs as { file: string; config: Record<string, unknown> }[])[0];
      expect(shown?.file).toBe(config);
      expect(shown?.config).toMatchObject({
        symbol: "BTCUSDT",
        api_key: "***",
        api_secret: "***",
        telegram_bot_token: "***",
        serve_read_token: "***",
        serve_control_token: "***",
      });

      // pause through the API: no entry decided over six hours; resume: entries again
      const denied = await api(base, "POST", "/api/v1/control/pause", READ, {});
      o.check("POST", "/api/v1/control/pause", 403, denied.body);
      const paused = await api(base, "POST", "/api/v1/control/pause", CONTROL, {});
      o.check("POST", "/api/v1/control/pause", 200, paused.body);
      expect(paused.body).toEqual({ action: "pause", markets: ["BTCUSDT-1m"] });
      await until(() => events.events().some((e) => e.name === "control"), 5000, "the control event");
      const control = events.events().find((e) => e.name === "control");
      o.checkEvent("control", control?.data);
      expect(control?.data).toEqual({ market: "BTCUSDT-1m", action: "pause" });
      const wrong = await api(base, "POST", "/api/v1/control/flatten", CONTROL, { symbol: "ETHUSDT" });
      o.check("POST", "/api/v1/control/flatten", 409, wrong.body);
      const entriesBefore = (await purposes(data)).filter((p) => p === "entry").length;
      for (let i = 4; i <= 360; i += 2) await step(i);
      expect((await purposes(data)).filter((p) => p === "entry").length).toBe(entriesBefore);
      expect(serve.stderr()).toContain('"request":"pause","msg":"operator request applied"');
      expect((await get("/api/v1/markets/BTCUSDT-1m", "/api/v1/markets/{id}")).body.paused).toBe(true);

      const resumed = await api(base, "POST", "/api/v1/control/resume", CONTROL, { symbol: "btcusdt" });
      o.check("POST", "/api/v1/control/resume", 200, resumed.body);
      for (let i = 362; i <= 720; i += 2) await step(i);
      expect((await purposes(data)).filter((p) => p === "entry").length).toBeGreaterThan(entriesBefore);

      // force-exit: a position open, then closed at market (a trade with exit reason "manual")
      let i = 721;
      const side = async () =>
        (await get("/api/v1/markets/BTCUSDT-1m/position", "/api/v1/markets/{id}/position")).body.side;
      while ((await side()) === 0 && i < 1100) await step(i++);
      expect(await side()).not.toBe(0);
      const exit = await api(base, "POST", "/api/v1/markets/BTCUSDT-1m/exit", CONTROL);
      o.check("POST", "/api/v1/markets/{id}/exit", 200, exit.body);
      expect(exit.body).toEqual({ action: "exit", markets: ["BTCUSDT-1m"] });
      await step(i++);
      await step(i++);
      const trades = await get("/api/v1/markets/BTCUSDT-1m/trades", "/api/v1/markets/{id}/{table}");
      const reason = (trades.body.columns as string[]).indexOf("exit_reason");
      expect((trades.body.rows as unknown[][]).map((r) => r[reason])).toContain("manual");
      expect(serve.stderr()).toContain('"request":"exit","msg":"operator request applied"');
      expect(await purposes(data)).toContain("manual");

      // promote: the store's current version changes, and the market picks it up at its next candle
      const bad = await api(base, "POST", "/api/v1/models/BTCUSDT-1m/high_10_lc/promote", CONTROL, {
        version: 9,
      });
      o.check("POST", "/api/v1/models/{market}/{name}/promote", 404, bad.body);
      expect(bad.body).toEqual({ error: "model high_10_lc has no version 9 (versions: 1, 2)" });
      const promoted = await api(base, "POST", "/api/v1/models/BTCUSDT-1m/high_10_lc/promote", CONTROL, {
        version: 2,
      });
      o.check("POST", "/api/v1/models/{market}/{name}/promote", 200, promoted.body);
      expect(promoted.body).toEqual({ name: "high_10_lc", version: 2 });
      const store = new ModelStore(modelRoot(loaded.config), { now: Date.now });
      expect((await store.current("high_10_lc"))?.version).toBe(2);
      const after = await get("/api/v1/models");
      expect(
        (after.body.models as { name: string; current: number }[]).find((m) => m.name === "high_10_lc")
          ?.current,
      ).toBe(2);
      await step(i++);
      await until(
        () => /"now":"[^"]*high_10_lc@2[^"]*"[^\n]*"msg":"new current models picked up"/.test(serve.stderr()),
        10_000,
        "the pick-up",
      );
      const kinds = new Set(events.events().map((e) => e.name));
      for (const e of events.events()) if (e.name !== "candle") o.checkEvent(e.name, e.data);
      expect([...kinds].sort()).toEqual(["candle", "control", "fill", "order", "trade"]);

      // itb resume sends the config's control token (here from the environment)
      const anonymous = await spawnItb(["resume", "--config", config]).done;
      expect(anonymous.status).toBe(1);
      expect(anonymous.stderr).toContain("resume: a bearer token is required");
      const resumedByCli = await spawnItb(["resume", "--config", config], {
        env: { ITB_SERVE_CONTROL_TOKEN: CONTROL },
      }).done;
      expect(resumedByCli.status, resumedByCli.stderr).toBe(0);
      expect(resumedByCli.stdout).toBe("resume: BTCUSDT 1m: allow new entries again from the next candle\n");

      // Ctrl-C with the event stream open: the stream ends, the process exits 0 promptly
      const t0 = Date.now();
      serve.child.kill("SIGINT");
      const exited = await serve.done;
      expect(exited.status, tail(exited.stderr)).toBe(0);
      expect(Date.now() - t0).toBeLessThan(10_000);
      await until(() => events.ended(), 5000, "the end of the event stream");

      // no secret in any answer, event or log line
      const everything = [...seen, events.text(), exited.stdout, exited.stderr].join("\n");
      for (const s of SECRETS)
        expect(everything.includes(s), `a secret shows: ${s.slice(0, 6)}…`).toBe(false);
      expect(readFileSync(config, "utf8")).toContain(API_KEY); // (the test did put one in the config)
    } finally {
      serve.child.kill("SIGKILL");
    }
  }, 600_000);

  it("refuses a non-loopback address without a token, saying how to set one", async () => {
    const { config } = fixture.copy("open", sim.url, (c) => {
      c.serve = { address: "0.0.0.0:0" };
    });
    const r = await spawnItb(["serve", "--config", config]).done;
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(
      "error: refusing to listen on 0.0.0.0:0 without an API token: anyone who reaches it could read and steer the service.",
    );
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);
});

async function purposes(data: string): Promise<unknown[]> {
  const t = (await ledgerContents(data)).decisions;
  const p = t?.columns.indexOf("purpose") ?? -1;
  return t?.rows.map((r) => r[p]) ?? [];
}
