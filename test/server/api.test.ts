import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { loadConfig, maskSecrets, parseConfigText } from "../../src/config/index.js";
import { loadMarketConfigs } from "../../src/config/markets.js";
import { UsageError } from "../../src/core/errors.js";
import { silentLogger } from "../../src/core/log.js";
import { type ApiServer, apiTokensOf, startApiServer } from "../../src/server/api/app.js";
import { EventHub } from "../../src/server/api/events.js";
import { createSource } from "../../src/server/api/source.js";
import type { ApiToken } from "../../src/server/auth.js";
import { lintOpenApi, oracle, parseEvents } from "../helpers/openapi.js";

/**
 * The HTTP server in-process over a config without a service (research mode): who may call
 * what (401 with WWW-Authenticate, 403, 429 after repeated failures, the tokenless loopback
 * mode and its Host check), where it may listen, CORS only for the configured origins, the
 * operations endpoints beside the API, the OpenAPI document, the event stream's bounded
 * buffers, and the tokens taken from the config, the environment or the secrets file.
 */

const READ = "read-token-0123456789abcdef";
const CONTROL = "control-token-0123456789abcdef";
const TOKENS: ApiToken[] = [
  { token: READ, scope: "read" },
  { token: CONTROL, scope: "control" },
];

let dir = "";
let config = "";

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "itb-api-"));
  config = join(dir, "config.json");
  writeFileSync(
    config,
    JSON.stringify({
      symbol: "BTCUSDT",
      freq: "1m",
      data_folder: join(dir, "data"),
      feature_sets: [
        { generator: "talib", config: { columns: ["close"], functions: ["SMA"], windows: [5] } },
      ],
      signal_sets: [
        {
          generator: "threshold_rule",
          config: {
            columns: "trade_score",
            names: ["buy", "sell"],
            parameters: { buy_signal_threshold: 0.3, sell_signal_threshold: -0.25 },
          },
        },
      ],
    }),
  );
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function researchSource() {
  const loaded = loadConfig(config);
  return createSource({
    mode: "ui",
    version: "test",
    now: () => 1_700_000_000_000,
    markets: loadMarketConfigs(config).map((m) => ({ config: m.config, file: m.file })),
    configs: [{ config: loaded.config, file: loaded.file }],
    ledgerOf: async () => undefined,
  });
}

async function start(o: Partial<Parameters<typeof startApiServer>[0]> = {}): Promise<ApiServer> {
  return startApiServer({
    address: "127.0.0.1:0",
    source: researchSource(),
    tokens: TOKENS,
    log: silentLogger,
    ...o,
  });
}

async function call(
  server: ApiServer,
  method: string,
  path: string,
  o: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: {
      ...(o.token === undefined ? {} : { authorization: `Bearer ${o.token}` }),
      ...(o.body === undefined ? {} : { "content-type": "application/json" }),
      ...o.headers,
    },
    ...(o.body === undefined ? {} : { body: JSON.stringify(o.body) }),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, headers: res.headers, body };
}

/** A raw request with a chosen Host header (fetch does not let one set it). */
function rawGet(url: string, path: string, host: string): Promise<{ status: number; body: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path, headers: { host } }, (res) => {
      let body = "";
      res.on("data", (b: Buffer) => {
        body += b.toString();
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

const CONTROL_ENDPOINTS: [string, unknown][] = [
  ["/api/v1/control/pause", {}],
  ["/api/v1/control/resume", { symbol: "BTCUSDT" }],
  ["/api/v1/control/flatten", {}],
  ["/api/v1/markets/BTCUSDT-1m/exit", undefined],
  ["/api/v1/models/BTCUSDT-1m/high_10_lc/promote", { version: 1 }],
];

describe("who may call the API", () => {
  test("no token: 401 with WWW-Authenticate; an unknown token: 401; a read token reads; the OpenAPI document is public", async () => {
    const s = await start();
    try {
      const none = await call(s, "GET", "/api/v1/status");
      expect(none.status).toBe(401);
      expect(none.headers.get("www-authenticate")).toBe('Bearer realm="itb"');
      expect(none.body).toEqual({ error: "a bearer token is required" });
      const wrong = await call(s, "GET", "/api/v1/markets", { token: "not-a-token-of-this-service" });
      expect(wrong.status).toBe(401);
      expect(wrong.body).toEqual({ error: "unknown token" });
      expect(wrong.headers.get("www-authenticate")).toBe('Bearer realm="itb"');

      const session = await call(s, "GET", "/api/v1/session", { token: READ });
      expect(session).toMatchObject({ status: 200, body: { scopes: ["read"], mode: "ui" } });
      const full = await call(s, "GET", "/api/v1/session", { token: CONTROL });
      expect(full.body).toEqual({ scopes: ["read", "control"], mode: "ui" });

      const doc = await call(s, "GET", "/api/v1/openapi.json");
      expect(doc.status).toBe(200);
      await lintOpenApi(doc.body);
      const o = oracle(doc.body);
      expect(o.operations()).toEqual(
        expect.arrayContaining([
          "GET /api/v1/status",
          "GET /api/v1/markets/{id}/candles",
          "GET /api/v1/markets/{id}/{table}",
          "POST /api/v1/models/{market}/{name}/promote",
          "GET /api/v1/events",
        ]),
      );
      o.check("GET", "/api/v1/status", 401, none.body);
      o.check("GET", "/api/v1/session", 200, session.body);

      // the market of a config without a ledger: stored, nothing processed, the rule's thresholds
      const market = await call(s, "GET", "/api/v1/markets/BTCUSDT-1m", { token: READ });
      o.check("GET", "/api/v1/markets/{id}", 200, market.body);
      expect(market.body).toMatchObject({
        id: "BTCUSDT-1m",
        health: { status: "stored", detail: null },
        last: null,
        position: { side: 0, quantity: 0, entry_price: null },
        equity: null,
        pnl: null,
        thresholds: { score: "trade_score", buy: 0.3, sell: -0.25 },
      });
      const missing = await call(s, "GET", "/api/v1/markets/ETHUSDT-1m", { token: READ });
      expect(missing.status).toBe(404);
      expect(missing.body).toEqual({
        error: "no market ETHUSDT-1m; GET /api/v1/markets lists them (ids like BTCUSDT-1m)",
      });
      const badTable = await call(s, "GET", "/api/v1/markets/BTCUSDT-1m/balances", { token: READ });
      expect(badTable.status).toBe(400);
      const badRange = await call(s, "GET", "/api/v1/markets/BTCUSDT-1m/candles?from=10&to=5", {
        token: READ,
      });
      expect(badRange).toMatchObject({ status: 400, body: { error: "from (10) must be before to (5)" } });
      const unknown = await call(s, "GET", "/api/v1/nothing", { token: READ });
      expect(unknown.body).toEqual({
        error: "no endpoint GET /api/v1/nothing; GET /api/v1/openapi.json lists them",
      });
    } finally {
      await s.close();
    }
  });

  test("a read token on every control endpoint: 403; a control token without a service: 409", async () => {
    const s = await start();
    try {
      const doc = oracle((await call(s, "GET", "/api/v1/openapi.json")).body);
      for (const [path, body] of CONTROL_ENDPOINTS) {
        const r = await call(s, "POST", path, { token: READ, body });
        expect(r, path).toMatchObject({ status: 403, body: { error: "this token may read, not control" } });
        const c = await call(s, "POST", path, { token: CONTROL, body });
        expect(c, path).toMatchObject({ status: 409, body: { error: "no service runs: start itb serve" } });
        const template = path.replace("BTCUSDT-1m", path.includes("/models/") ? "{market}" : "{id}");
        const documented = template.replace("high_10_lc", "{name}");
        doc.check("POST", documented, 403, r.body);
        doc.check("POST", documented, 409, c.body);
      }
      const none = await call(s, "POST", "/api/v1/control/pause", { body: {} });
      expect(none.status).toBe(401);
      const badBody = await call(s, "POST", "/api/v1/models/BTCUSDT-1m/x/promote", {
        token: CONTROL,
        body: { version: "two" },
      });
      expect(badBody.status).toBe(400);
      expect(badBody.body).toEqual({ error: "body/version must be integer" });
    } finally {
      await s.close();
    }
  });

  test("an address that keeps failing is refused (429, retryAfterSeconds), even with a valid token, until the window passes", async () => {
    const s = await start({ guard: { maxFailures: 3, windowMs: 3000 } });
    try {
      for (let i = 0; i < 3; i++) {
        expect(
          (await call(s, "GET", "/api/v1/markets", { token: `guess-${i}-0123456789abcdef` })).status,
        ).toBe(401);
      }
      const refused = await call(s, "GET", "/api/v1/markets", { token: READ });
      expect(refused.status).toBe(429);
      // the seconds left of the window (3 s) since the first failure: 3, less on a slow machine
      const retry = (refused.body as { retryAfterSeconds: number }).retryAfterSeconds;
      expect([1, 2, 3]).toContain(retry);
      expect(refused.body).toEqual({ error: "too many failed attempts", retryAfterSeconds: retry });
      expect(refused.headers.get("retry-after")).toBe(String(retry));
      const doc = oracle((await call(s, "GET", "/api/v1/openapi.json")).body);
      doc.check("GET", "/api/v1/markets", 429, refused.body);
      await new Promise((r) => setTimeout(r, 3100));
      expect((await call(s, "GET", "/api/v1/markets", { token: READ })).status).toBe(200);
    } finally {
      await s.close();
    }
  });

  test("without a token the server listens on loopback only and answers requests naming this machine", async () => {
    await expect(start({ tokens: [], address: "0.0.0.0:0" })).rejects.toThrow(UsageError);
    await expect(start({ tokens: [], address: "0.0.0.0:0" })).rejects.toThrow(
      /^refusing to listen on 0\.0\.0\.0:0 without an API token: .*Set serve_read_token and\/or serve_control_token/,
    );
    await expect(start({ tokens: [{ token: "short", scope: "read" }] })).rejects.toThrow(
      "serve_read_token / serve_control_token: an API token must have at least 16 characters (a read token has 5)",
    );
    const s = await start({ tokens: [] });
    try {
      const port = new URL(s.url).port;
      const local = await rawGet(s.url, "/api/v1/session", `127.0.0.1:${port}`);
      expect(local.status).toBe(200);
      expect(JSON.parse(local.body)).toEqual({ scopes: ["read", "control"], mode: "ui" });
      expect((await rawGet(s.url, "/api/v1/session", `localhost:${port}`)).status).toBe(200);
      // a page of another site resolving its name to 127.0.0.1 (DNS rebinding) is refused
      const rebound = await rawGet(s.url, "/api/v1/markets", `evil.example:${port}`);
      expect(rebound.status).toBe(401);
      expect(JSON.parse(rebound.body)).toEqual({
        error: "no API token is configured: the API answers on this machine only",
      });
    } finally {
      await s.close();
    }
    // with a token, another address is allowed
    const open = await start({ address: "0.0.0.0:0" });
    await open.close();
  });
});

describe("CORS, the operations endpoints, the pages' hook", () => {
  test("no CORS header unless the origin is listed; a listed origin gets its preflight", async () => {
    const plain = await start();
    try {
      const r = await call(plain, "GET", "/api/v1/markets", {
        token: READ,
        headers: { origin: "https://desk.example.com" },
      });
      expect(r.status).toBe(200);
      expect([...r.headers.keys()].filter((k) => k.startsWith("access-control-"))).toEqual([]);
    } finally {
      await plain.close();
    }
    const s = await start({ corsOrigins: ["https://desk.example.com"] });
    try {
      const ok = await call(s, "GET", "/api/v1/markets", {
        token: READ,
        headers: { origin: "https://desk.example.com" },
      });
      expect(ok.headers.get("access-control-allow-origin")).toBe("https://desk.example.com");
      const other = await call(s, "GET", "/api/v1/markets", {
        token: READ,
        headers: { origin: "https://other.example.com" },
      });
      expect(other.headers.get("access-control-allow-origin")).toBeNull();
      const pre = await call(s, "OPTIONS", "/api/v1/control/pause", {
        headers: { origin: "https://desk.example.com", "access-control-request-method": "POST" },
      });
      expect(pre.status).toBe(204);
      expect(pre.headers.get("access-control-allow-headers")).toBe("authorization, content-type");
    } finally {
      await s.close();
    }
  });

  test("a page of another site cannot steer the tokenless service through a browser; the same origin can", async () => {
    const asked: string[] = [];
    const s = await start({
      tokens: [],
      ops: {
        registry: new Registry(),
        readiness: () => ({ ready: true, reasons: {} }),
        control: (action) => {
          asked.push(action);
          return ["BTCUSDT 1m"];
        },
      },
    });
    try {
      const host = new URL(s.url).host;
      // what a form or fetch() on https://evil.example sends to 127.0.0.1: no token, its origin
      for (const [path, body] of [
        ["/control", { action: "flatten" }],
        ["/api/v1/control/flatten", {}],
        ["/api/v1/markets/BTCUSDT-1m/exit", {}],
      ] as const) {
        const evil = await call(s, "POST", path, { body, headers: { origin: "https://evil.example" } });
        expect(evil.status, path).toBe(403);
        expect(evil.body).toEqual({ error: "cross-origin request refused (origin https://evil.example)" });
        const blind = await call(s, "POST", path, { body, headers: { "sec-fetch-site": "cross-site" } });
        expect(blind.status, path).toBe(403);
      }
      expect(asked).toEqual([]);
      // the service's own pages (same origin) and the command line (no origin) still can
      const own = await call(s, "POST", "/control", {
        body: { action: "pause" },
        headers: { origin: `http://${host}` },
      });
      expect(own.status).toBe(200);
      const cli = await call(s, "POST", "/control", { body: { action: "resume" } });
      expect(cli.status).toBe(200);
      expect(asked).toEqual(["pause", "resume"]);
    } finally {
      await s.close();
    }
  });

  test("/healthz, /readyz and /metrics stay public and unchanged; POST /control needs a control token when tokens are set", async () => {
    const registry = new Registry();
    const asked: string[] = [];
    let pages = 0;
    const s = await start({
      ops: {
        registry,
        readiness: () => ({ ready: false, reasons: { "BTCUSDT 1m": "no candle processed yet" } }),
        control: (action, symbol) => {
          asked.push(`${action} ${symbol ?? "*"}`);
          return ["BTCUSDT 1m"];
        },
      },
      registerPages: async (app) => {
        app.get("/", async (_req, reply) => {
          pages++;
          return reply.type("text/html").send("<p>itb</p>");
        });
      },
    });
    try {
      expect(await call(s, "GET", "/healthz")).toMatchObject({ status: 200, body: { status: "ok" } });
      expect(await call(s, "GET", "/readyz")).toMatchObject({
        status: 503,
        body: { status: "not ready", markets: { "BTCUSDT 1m": "no candle processed yet" } },
      });
      const metrics = await call(s, "GET", "/metrics");
      expect(metrics.status).toBe(200);
      expect(metrics.headers.get("content-type")).toBe(registry.contentType);
      const post = await call(s, "POST", "/healthz");
      expect(post.status).toBe(405);
      expect(post.headers.get("allow")).toBe("GET, HEAD");
      expect(await call(s, "GET", "/nowhere")).toMatchObject({
        status: 404,
        body: { error: "no endpoint /nowhere; try /healthz, /readyz or /metrics" },
      });
      expect((await call(s, "GET", "/")).body).toBe("<p>itb</p>");
      expect(pages).toBe(1);

      expect((await call(s, "POST", "/control", { body: { action: "pause" } })).status).toBe(401);
      expect((await call(s, "POST", "/control", { token: READ, body: { action: "pause" } })).status).toBe(
        403,
      );
      expect(asked).toEqual([]);
      const ok = await call(s, "POST", "/control", {
        token: CONTROL,
        body: { action: "pause", symbol: "BTCUSDT" },
      });
      expect(ok).toMatchObject({ status: 200, body: { action: "pause", markets: ["BTCUSDT 1m"] } });
      expect(asked).toEqual(["pause BTCUSDT"]);
      const bad = await call(s, "POST", "/control", { token: CONTROL, body: { action: "sell" } });
      expect(bad).toMatchObject({
        status: 400,
        body: { error: 'unknown action "sell"; expected pause, resume or flatten' },
      });
    } finally {
      await s.close();
    }
  });
});

describe("the event stream", () => {
  test("a client gets its market's events; a client that stops reading is dropped without slowing the publisher; close ends every stream", async () => {
    const hub = new EventHub({ maxBufferedBytes: 64 * 1024 });
    const s = await start({ hub });
    try {
      const doc = oracle((await call(s, "GET", "/api/v1/openapi.json")).body);
      const unknown = await call(s, "GET", "/api/v1/events?market=ETHUSDT-1m", { token: READ });
      expect(unknown.status).toBe(404);
      const res = await fetch(`${s.url}/api/v1/events?market=BTCUSDT-1m`, {
        headers: { authorization: `Bearer ${READ}` },
      });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      let text = "";
      const readUntil = async (pred: () => boolean) => {
        while (!pred()) {
          const { value, done } = await reader.read();
          if (done) break;
          text += new TextDecoder().decode(value);
        }
      };
      await readUntil(() => text.includes(": connected"));
      // a slow client: connected, never reading
      const slow = await new Promise<import("node:http").IncomingMessage>((resolve) => {
        const u = new URL(s.url);
        request(
          {
            host: u.hostname,
            port: u.port,
            path: "/api/v1/events",
            headers: { authorization: `Bearer ${READ}` },
          },
          (r) => {
            r.pause();
            resolve(r);
          },
        ).end();
      });
      const closed = new Promise<void>((resolve) => slow.socket.on("close", () => resolve()));
      await new Promise((r) => setTimeout(r, 50));
      expect(hub.size).toBe(2);
      const candle = {
        time: 1,
        open: 1,
        high: 2,
        low: 0.5,
        close: Number.NaN,
        volume: 3,
        scores: { trade_score: 0.1 },
        signals: {},
        buy: false,
        sell: true,
        catch_up: false,
      };
      hub.publish({ name: "candle", market: "ETHUSDT-1m", data: candle });
      hub.publish({ name: "candle", market: "BTCUSDT-1m", data: candle });
      await readUntil(() => parseEvents(text).length >= 1);
      const events = parseEvents(text);
      expect(events).toEqual([{ name: "candle", data: { market: "BTCUSDT-1m", ...candle, close: null } }]);
      doc.checkEvent("candle", events[0]?.data);

      // 64 KiB of buffer: the slow client falls behind and is dropped; publishing never waits
      const big = { payload: "x".repeat(16 * 1024) };
      const t0 = performance.now();
      for (let i = 0; i < 2000 && hub.dropped === 0; i++) {
        hub.publish({ name: "order", market: "ETHUSDT-1m", data: big });
      }
      expect(performance.now() - t0).toBeLessThan(2000);
      expect(hub.dropped).toBe(1);
      await closed;
      expect(hub.size).toBe(1);

      hub.close();
      await readUntil(() => false);
      const end = await reader.read();
      expect(end.done).toBe(true);
      expect(hub.size).toBe(0);
    } finally {
      await s.close();
    }
  });
});

describe("the API's tokens in the config", () => {
  const base = { symbol: "BTCUSDT", freq: "1m", data_folder: "data" };

  test("from the config, the environment (comma-separated) or the secrets file; masked in a printed config", () => {
    const fromConfig = parseConfigText(
      JSON.stringify({ ...base, serve_read_token: [READ, `${READ}-2`], serve_control_token: CONTROL }),
      "a.json",
      {},
      {},
    ).config;
    expect(apiTokensOf([fromConfig])).toEqual([
      { token: READ, scope: "read" },
      { token: `${READ}-2`, scope: "read" },
      { token: CONTROL, scope: "control" },
    ]);
    const masked = maskSecrets(fromConfig);
    expect(masked.serve_read_token).toBe("***");
    expect(masked.serve_control_token).toBe("***");

    const fromEnv = parseConfigText(
      JSON.stringify(base),
      "b.json",
      {},
      {
        ITB_SERVE_READ_TOKEN: `${READ}, ${READ}-3`,
        ITB_SERVE_CONTROL_TOKEN: CONTROL,
      },
    ).config;
    expect(apiTokensOf([fromEnv]).map((t) => `${t.scope} ${t.token}`)).toEqual([
      `read ${READ}`,
      `read ${READ}-3`,
      `control ${CONTROL}`,
    ]);

    const secrets = join(dir, "secrets.json");
    writeFileSync(secrets, JSON.stringify({ serve_control_token: CONTROL, api_key: "k" }));
    const fromFile = parseConfigText(
      JSON.stringify({ ...base, secrets_file: secrets }),
      "c.json",
      {},
      {},
    ).config;
    expect(apiTokensOf([fromFile])).toEqual([{ token: CONTROL, scope: "control" }]);
    // a token of both scopes is a control token
    expect(apiTokensOf([fromConfig, { serve_read_token: CONTROL }])).toContainEqual({
      token: CONTROL,
      scope: "control",
    });
  });
});
