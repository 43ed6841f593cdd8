import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Logger } from "../../src/core/log.js";
import { startSimulator, VirtualClock } from "../../src/simulator/index.js";
import { SAMPLE } from "../helpers/paths.js";
import { buildLiveFixture, type LiveFixture, ledgerContents } from "./liveFixture.js";
import { serveInLockstep } from "./lockstep.js";

/**
 * risk_management in itb serve: an entry the limits refuse does not go out (it is logged with
 * its rule), exits and the rest of the market go on; the same market without limits trades.
 */
const T0 = Date.UTC(2023, 2, 20);
const MINUTES = 60;

let fixture: LiveFixture;

beforeAll(async () => {
  fixture = await buildLiveFixture("2023-03-20");
}, 300_000);

afterAll(() => {
  if (fixture) rmSync(fixture.root, { recursive: true, force: true });
});

describe("itb serve with risk limits", () => {
  it("refuses the entries above max_notional and logs why; without limits the same market trades", async () => {
    const clock = new VirtualClock({ start: T0 + 30_000, speed: 0 });
    const sim = await startSimulator({ archive: SAMPLE, clock, streams: { formingEveryMs: 0 } });
    try {
      const free = fixture.copy("free", sim.url);
      const limited = fixture.copy("limited", sim.url, (c) => {
        // (candles are judged fresh by the exchange's time when fetched, not this machine's)
        c.risk_management = { max_notional: 100 };
      });
      const refusals: Record<string, unknown>[] = [];
      const log: Logger = {
        debug: () => {},
        info: () => {},
        warn: (o, m) => {
          if (m === "entry refused by risk_management") refusals.push(o as Record<string, unknown>);
        },
        error: () => {},
      };
      const run = await serveInLockstep({
        configs: [free.config, limited.config],
        clock,
        start: T0,
        minutes: MINUTES,
        log,
      });
      expect(run.failed).toEqual([]);
      const entries = async (dir: string) => {
        const t = (await ledgerContents(join(dir, "data"))).decisions;
        const purpose = t?.columns.indexOf("purpose") ?? -1;
        return t?.rows.filter((r) => r[purpose] === "entry").length ?? 0;
      };
      expect(await entries(free.dir)).toBeGreaterThan(0);
      expect(await entries(limited.dir)).toBe(0);
      expect(refusals.length).toBeGreaterThan(0);
      expect(refusals[0]).toMatchObject({ market: "BTCUSDT 1m", rule: "max_notional" });
      expect(String(refusals[0]?.reason)).toMatch(/^notional [\d.]+ is above 100$/);
    } finally {
      await sim.close();
    }
  }, 300_000);
});
