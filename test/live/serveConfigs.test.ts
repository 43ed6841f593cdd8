import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SystemClock } from "../../src/core/clock.js";
import { ConfigError } from "../../src/core/errors.js";
import { silentLogger } from "../../src/core/log.js";
import { ledgerFile } from "../../src/live/ledger/file.js";
import { openSqliteLedger } from "../../src/live/ledger/sqlite.js";
import { runService } from "../../src/live/service.js";
import { startSimulator, VirtualClock } from "../../src/simulator/index.js";
import { SAMPLE } from "../helpers/paths.js";
import { buildLiveFixture, type LiveFixture, ledgerContents } from "./liveFixture.js";

/**
 * Several configs in one service: each market follows the exchange on its own, into its own
 * data folder's ledger, and gets the same numbers as it would alone; two configs that would
 * write one market of one data folder are refused before anything starts.
 */
const MIN = 60_000;
const T0 = Date.UTC(2023, 2, 20);
const MINUTES = 20;

let fixture: LiveFixture;

beforeAll(async () => {
  fixture = await buildLiveFixture("2023-03-20");
}, 300_000);

afterAll(() => {
  if (fixture) rmSync(fixture.root, { recursive: true, force: true });
});

describe("itb serve with several configs", () => {
  it("serves every config's markets at once, each as it would alone", async () => {
    const clock = new VirtualClock({ start: T0 + 30_000, speed: 0 });
    const sim = await startSimulator({ archive: SAMPLE, clock, streams: { formingEveryMs: 0 } });
    try {
      const a = fixture.copy("a", sim.url);
      // the second config trades on paper with another stake: its trades differ, its signals do not
      const b = fixture.copy("b", sim.url, (c) => {
        c.backtest = { ...(c.backtest as object), stake_fraction: 0.5 };
      });
      const controller = new AbortController();
      const done = new Map<string, number>();
      const run = await runService({
        configFiles: [a.config, b.config],
        log: silentLogger,
        clock: new SystemClock(),
        signal: controller.signal,
        openLedger: async (folder) => openSqliteLedger(ledgerFile({ data_folder: folder })),
        pollMs: 5,
        delayMs: 0,
        onReady: (markets) => {
          expect(markets.map((m) => m.config.data_folder).sort()).toEqual(
            [join(a.dir, "data"), join(b.dir, "data")].sort(),
          );
          clock.set(T0 + MINUTES * MIN + 30_000);
        },
        onProcessed: (m, rec) => {
          done.set(m.config.data_folder, (done.get(m.config.data_folder) ?? 0) + 1);
          if ([...done.values()].filter((n) => n >= MINUTES).length === 2) controller.abort();
          expect(rec.candle.time).toBeLessThan(T0 + MINUTES * MIN);
        },
      });
      expect(run.failed).toEqual([]);
      const [la, lb] = [await ledgerContents(join(a.dir, "data")), await ledgerContents(join(b.dir, "data"))];
      expect(la.signals?.rows.map((r) => r[0])).toEqual(
        Array.from({ length: MINUTES }, (_, i) => T0 + i * MIN),
      );
      expect(lb.signals).toEqual(la.signals);
      // the same decisions at half the stake
      expect(lb.decisions?.rows.length).toBe(la.decisions?.rows.length);
      expect(la.decisions?.rows.length).toBeGreaterThan(0);
      const qty = (t: typeof la) => t.equity?.rows.map((r) => r[t.equity?.columns.indexOf("quantity") ?? -1]);
      expect(qty(lb)).not.toEqual(qty(la));
    } finally {
      await sim.close();
    }
  }, 300_000);

  it("refuses two configs that write one market of one data folder", async () => {
    const a = fixture.copy("twice", "http://127.0.0.1:1");
    const controller = new AbortController();
    const run = runService({
      configFiles: [a.config, a.config],
      log: silentLogger,
      clock: new SystemClock(),
      signal: controller.signal,
      openLedger: async (folder) => openSqliteLedger(ledgerFile({ data_folder: folder })),
    });
    await expect(run).rejects.toThrow(ConfigError);
    await expect(run).rejects.toThrow(/both serve BTCUSDT 1m in .*: give one of them another data_folder/);
  });
});
