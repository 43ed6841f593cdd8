import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SystemClock } from "../../src/core/clock.js";
import { silentLogger } from "../../src/core/log.js";
import { ledgerFile } from "../../src/live/ledger/file.js";
import { openSqliteLedger } from "../../src/live/ledger/sqlite.js";
import { runService } from "../../src/live/service.js";
import { type Simulator, startSimulator, VirtualClock } from "../../src/simulator/index.js";
import { type CliProcess, itb, spawnItb } from "../helpers/cli.js";
import { SAMPLE } from "../helpers/paths.js";
import { LOOPBACK_BUDGET } from "../helpers/simBudget.js";
import { until } from "../helpers/until.js";
import { buildLiveFixture, type LiveFixture, lastRecorded, ledgerContents } from "./liveFixture.js";

/**
 * `itb serve` as a real process against the Binance simulator on loopback: its operations
 * endpoints answer; SIGTERM finishes the candle in flight and exits 0 within 5 s; killed with SIGKILL at random moments and restarted,
 * it ends with the same ledger as an uninterrupted run; a bad start (no models, models for other
 * features, an unknown market, an unreachable exchange) is a clear error with nothing written.
 */
const MIN = 60_000;
const T0 = Date.UTC(2023, 2, 20);

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

const serve = (config: string) => spawnItb(["serve", "--config", config, "--log-format", "json"]);

async function waitServing(p: CliProcess): Promise<void> {
  await p.waitFor(/"msg":"serving"/, { timeoutMs: 120_000 });
}

describe("itb serve, a real process", () => {
  it("SIGTERM finishes the candle in flight and exits 0 within 5 s; a restart continues after the last candle", async () => {
    sim.clock.set(T0 + 30_000);
    const { dir, config } = fixture.copy("sigterm", sim.url);
    const data = join(dir, "data");
    const p = serve(config);
    await waitServing(p);
    sim.clock.set(T0 + 10 * MIN + 30_000);
    await until(async () => (await lastRecorded(data)) === T0 + 9 * MIN, 60_000, "ten candles");
    // the operations endpoints of the running process
    const url = /"url":"(http:\/\/[^"]+)","msg":"operations endpoints/.exec(p.stderr())?.[1];
    expect(url, p.stderr()).toBeDefined();
    const health = await fetch(`${url}/healthz`);
    expect([health.status, await health.json()]).toEqual([200, { status: "ok" }]);
    // the simulator's candles are years old by this machine's clock: warm, but not fresh
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({
      status: "not ready",
      markets: { "BTCUSDT 1m": expect.stringMatching(/^last candle closed \d+ s ago$/) },
    });
    const metrics = await (await fetch(`${url}/metrics`)).text();
    const processed = [
      ...metrics.matchAll(/^itb_candles_processed_total\{[^}]*market="BTCUSDT 1m"[^}]*\} (\d+)$/gm),
    ];
    expect(processed.reduce((n, m) => n + Number(m[1]), 0)).toBe(10);
    expect(metrics).toMatch(/^itb_market_ready\{market="BTCUSDT 1m"\} 1$/m);
    expect(metrics).toMatch(/^# TYPE itb_tick_latency_seconds histogram$/m);
    expect((await fetch(`${url}/nope`)).status).toBe(404);
    const t0 = Date.now();
    p.child.kill("SIGTERM");
    const r = await p.done;
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('"msg":"stopped: the ledger is complete up to the last candle processed"');
    // nothing half-written: no temporary files, the ledger opens for writing again
    expect(readdirSync(data, { recursive: true }).filter((f) => String(f).endsWith(".tmp"))).toEqual([]);
    const again = serve(config);
    await waitServing(again);
    sim.clock.set(T0 + 12 * MIN + 30_000);
    await until(async () => (await lastRecorded(data)) === T0 + 11 * MIN, 60_000, "two more candles");
    again.child.kill("SIGINT");
    expect((await again.done).status).toBe(0);
    const signals = (await ledgerContents(data)).signals;
    expect(signals?.rows.map((r) => r[0])).toEqual(Array.from({ length: 12 }, (_, i) => T0 + i * MIN));
  }, 300_000);

  it("killed with SIGKILL at random moments and restarted, it ends with an uninterrupted run's ledger", async () => {
    const END = T0 + 6 * 60 * MIN; // six hours served
    sim.clock.set(T0 + 30_000);
    const { dir, config } = fixture.copy("kill", sim.url);
    const data = join(dir, "data");
    let seed = 12345;
    const random = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    let p = serve(config);
    await waitServing(p);
    let t = T0 + 30_000;
    let kills = 0;
    while (t < END + 30_000) {
      t = Math.min(END + 30_000, t + 20 * MIN);
      sim.clock.set(t);
      // wait a random part of the time the service needs to catch up, then kill it
      if (kills < 4 && random() < 0.6) {
        await new Promise((r) => setTimeout(r, 50 + random() * 400));
        p.child.kill("SIGKILL");
        await p.done;
        kills++;
        p = serve(config);
        await waitServing(p);
      }
    }
    await until(async () => (await lastRecorded(data)) === END - MIN, 120_000, "the last candle");
    p.child.kill("SIGTERM");
    expect((await p.done).status).toBe(0);
    expect(kills).toBeGreaterThanOrEqual(2);

    // an uninterrupted run over the same candles (in this process, against its own simulator)
    // it starts where the killed one started (an empty ledger begins at the exchange's present)
    // and the exchange then jumps to the end
    const cleanClock = new VirtualClock({ start: T0 + 30_000, speed: 0 });
    const clean = await startSimulator({
      weightLimits: LOOPBACK_BUDGET,
      archive: SAMPLE,
      clock: cleanClock,
      streams: { formingEveryMs: 0 },
    });
    try {
      const ref = fixture.copy("clean", clean.url);
      const controller = new AbortController();
      await runService({
        configFiles: [ref.config],
        log: silentLogger,
        clock: new SystemClock(),
        signal: controller.signal,
        openLedger: async (folder) => openSqliteLedger(ledgerFile({ data_folder: folder })),
        pollMs: 5,
        delayMs: 0,
        onReady: () => cleanClock.set(END + 30_000),
        onProcessed: (_m, rec) => {
          if (rec.candle.time >= END - MIN) controller.abort();
        },
      });
      const expected = await ledgerContents(join(ref.dir, "data"));
      const actual = await ledgerContents(data);
      expect(expected.signals?.rows).toHaveLength(6 * 60);
      expect(actual).toEqual(expected);
      expect(expected.trades?.rows.length).toBeGreaterThan(0);
    } finally {
      await clean.close();
    }
  }, 600_000);

  // The simulator answers from this process, so these children are awaited, not run with spawnSync.
  describe("a bad start is a clear error, and nothing is written", () => {
    const ledgerOf = (dir: string) => existsSync(join(dir, "data", "ledger.sqlite"));

    it("without models", async () => {
      const { dir, config } = fixture.copy("no-models", sim.url, (c) => {
        c.model_folder = "NO_MODELS_HERE";
      });
      const r = await spawnItb(["serve", "--config", config]).done;
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/error: .*no model high_10_lc in the store: train it first \(itb train\)/);
      expect(ledgerOf(dir)).toBe(false);
    });

    it("with models trained on other features", async () => {
      const { dir, config } = fixture.copy("other-features", sim.url, (c) => {
        c.train_features = [...(c.train_features as string[]).slice(1), "close_SMA_1"];
      });
      const r = await spawnItb(["serve", "--config", config]).done;
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/error: .*high_10_lc/);
      expect(r.stderr).toMatch(/feature/);
      expect(ledgerOf(dir)).toBe(false);
    });

    it("for a market the exchange does not list", async () => {
      const { dir, config } = fixture.copy("unknown", sim.url, (c) => {
        (c.data_sources as { folder: string }[])[1] = {
          ...(c.data_sources as object[])[1],
          folder: "NOPEUSDT",
        } as never;
      });
      const r = await spawnItb(["serve", "--config", config]).done;
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/error: .*NOPEUSDT/);
      expect(ledgerOf(dir)).toBe(false);
    });

    it("when the exchange cannot be reached", () => {
      const { dir, config } = fixture.copy("unreachable", "http://127.0.0.1:1");
      const t0 = Date.now();
      const r = itb(["serve", "--config", config]);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/error: .*(127\.0\.0\.1:1|ECONNREFUSED|unreachable|connect)/i);
      expect(Date.now() - t0).toBeLessThan(30_000);
      expect(ledgerOf(dir)).toBe(false);
    });
  });
});
