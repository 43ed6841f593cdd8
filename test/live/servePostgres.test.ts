import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SystemClock } from "../../src/core/clock.js";
import { ConfigError } from "../../src/core/errors.js";
import { silentLogger } from "../../src/core/log.js";
import { writeLedgerTable } from "../../src/live/ledger/export.js";
import { openPostgresLedger } from "../../src/live/ledger/postgres.js";
import { runService } from "../../src/live/service.js";
import { type Simulator, startSimulator, VirtualClock } from "../../src/simulator/index.js";
import { spawnItb } from "../helpers/cli.js";
import { dropSchemas, freshSchemaName, testPostgresUrl, withSchema } from "../helpers/ledgerBackends.js";
import { SAMPLE } from "../helpers/paths.js";
import { LOOPBACK_BUDGET } from "../helpers/simBudget.js";
import { tail, until } from "../helpers/until.js";
import { BTC_1M, buildLiveFixture, type LiveFixture } from "./liveFixture.js";

/**
 * `itb serve` with `ledger_url` (a real PostgreSQL server, a schema of its own) over the
 * simulator, as real processes: the service records its candles in Postgres (no SQLite file in
 * the data folder), logs where without the URL's password, and `itb ledger export` and
 * `itb status` read the same rows back from the same URL. An unreachable server and a ledger
 * not written yet are clear errors.
 */
const MIN = 60_000;
const T0 = Date.UTC(2023, 2, 20);
const PASSWORD = "hunter2-not-logged";

let fixture: LiveFixture;
let sim: Simulator;
let server = "";
const schemas: string[] = [];

/** The test server's URL with a password (trust auth ignores it) and a new schema. */
function ledgerUrl(): string {
  const u = new URL(server);
  u.password = PASSWORD;
  const schema = freshSchemaName();
  schemas.push(schema);
  return withSchema(u.toString(), schema);
}

const masked = (url: string) => url.replace(`:${PASSWORD}@`, ":***@");

beforeAll(async () => {
  server = await testPostgresUrl();
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
  if (server !== "") await dropSchemas(server, schemas);
});

async function lastRecorded(url: string): Promise<number> {
  try {
    const ledger = await openPostgresLedger(url, { readonly: true });
    try {
      return (await ledger.last(BTC_1M))?.time ?? Number.NaN;
    } finally {
      await ledger.close();
    }
  } catch {
    return Number.NaN;
  }
}

describe("itb serve with ledger_url", () => {
  it("records every candle in Postgres; itb ledger export and itb status read the same rows", async () => {
    const url = ledgerUrl();
    sim.clock.set(T0 + 30_000);
    const { dir, config } = fixture.copy("pg", sim.url, (c) => {
      c.ledger_url = url;
      c.serve = { address: "127.0.0.1:0", delay_ms: 0, poll_ms: 50 };
    });
    const data = join(dir, "data");

    // nothing written yet: a usage mistake, as for a missing SQLite file
    const early = await spawnItb([
      "ledger",
      "export",
      "--config",
      config,
      "--what",
      "signals",
      "--out",
      join(dir, "x.csv"),
    ]).done;
    expect(early.status).toBe(2);
    expect(early.stderr).toContain(`no ledger at ${masked(url)}: run itb serve first`);

    const serve = spawnItb(["serve", "--config", config, "--log-format", "json"]);
    await serve.waitFor(/"msg":"serving"/, { timeoutMs: 120_000 });
    for (let i = 1; i <= 5; i++) {
      sim.clock.set(T0 + i * MIN + 30_000);
      await until(
        async () => (await lastRecorded(url)) === T0 + (i - 1) * MIN,
        30_000,
        `candle ${i}`,
        20,
        async () => `last recorded ${await lastRecorded(url)}; the service's log:\n${tail(serve.stderr())}`,
      );
    }
    serve.child.kill("SIGTERM");
    const exit = await serve.done;
    expect(exit.status, tail(exit.stderr)).toBe(0);
    expect(exit.stderr).toContain(`"ledger":${JSON.stringify(masked(url))},"msg":"ledger open"`);
    expect(exit.stderr + exit.stdout).not.toContain(PASSWORD);
    expect(existsSync(join(data, "ledger.sqlite"))).toBe(false);

    // the export reads the rows the service wrote: the same file as the ledger's own rows make
    const ledger = await openPostgresLedger(url, { readonly: true });
    const ours = join(dir, "ours.csv");
    const signals = await ledger.read("signals");
    await writeLedgerTable(ours, signals);
    const equity = await ledger.read("equity");
    await ledger.close();
    const times = signals.rows.map((r) => r[0]);
    expect(times.slice(-5)).toEqual([0, 1, 2, 3, 4].map((i) => T0 + i * MIN));
    expect(equity.rows.length).toBe(signals.rows.length);
    const out = join(dir, "signals.csv");
    const run = await spawnItb(["ledger", "export", "--config", config, "--what", "signals", "--out", out])
      .done;
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toBe(`wrote ${signals.rows.length} signals row(s) of BTCUSDT 1m to ${out}\n`);
    expect(readFileSync(out, "utf8")).toBe(readFileSync(ours, "utf8"));
    expect(run.stderr).not.toContain(PASSWORD);

    const status = await spawnItb(["status", "--config", config, "--json"]).done;
    expect(status.status, status.stderr).toBe(0);
    const s = JSON.parse(status.stdout) as { markets: Record<string, unknown>[]; missing: string[] };
    expect(s.missing).toEqual([]);
    expect(s.markets[0]).toMatchObject({
      symbol: "BTCUSDT",
      freq: "1m",
      ledger: masked(url),
      recorded: true,
      last_candle: new Date(T0 + 4 * MIN).toISOString(),
    });
    expect(status.stdout).not.toContain(PASSWORD);
  }, 300_000);

  it("refuses configs of one data folder with different ledgers, and data folders sharing one schema", async () => {
    const serve = (configFiles: string[]) =>
      runService({
        configFiles,
        log: silentLogger,
        clock: new SystemClock(),
        signal: new AbortController().signal,
        openLedger: () => Promise.reject(new Error("no ledger is opened before the checks")),
      });
    const url = `postgres://root:${PASSWORD}@127.0.0.1:1/test?schema=shared`;
    const a = fixture.copy("pg-a", "http://127.0.0.1:1", (c) => {
      c.ledger_url = url;
    });
    const b = fixture.copy("pg-b", "http://127.0.0.1:1", (c) => {
      c.ledger_url = url;
    });
    const shared = serve([a.config, b.config]);
    await expect(shared).rejects.toThrow(ConfigError);
    await expect(shared).rejects.toThrow(
      `${b.config}: data folders ${join(a.dir, "data")} and ${join(b.dir, "data")} would share the ledger ${masked(url)}: give each data folder its own schema (?schema=)`,
    );
    const c = fixture.copy("pg-c", "http://127.0.0.1:1", (cfg) => {
      cfg.symbol = "ETHUSDT";
      cfg.data_folder = join(a.dir, "data");
    });
    const mixed = serve([a.config, c.config]);
    await expect(mixed).rejects.toThrow(
      `${c.config} and ${a.config} share the data folder ${join(a.dir, "data")} but not its ledger (ledger_url): give them the same ledger_url, or another data_folder`,
    );
  });

  it("an unreachable server stops itb serve with a clear error naming the ledger, not a stack trace", async () => {
    const { config } = fixture.copy("pg-down", sim.url, (c) => {
      c.ledger_url = `postgres://root:${PASSWORD}@127.0.0.1:1/test?schema=itb`;
    });
    const run = await spawnItb(["serve", "--config", config, "--log-format", "json"]).done;
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(
      "cannot connect to the ledger at postgres://root:***@127.0.0.1:1/test?schema=itb: connect ECONNREFUSED 127.0.0.1:1",
    );
    expect(run.stderr).not.toContain(PASSWORD);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  }, 120_000);
});
