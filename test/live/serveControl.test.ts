import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Simulator, startSimulator, VirtualClock } from "../../src/simulator/index.js";
import { spawnItb } from "../helpers/cli.js";
import { freePort } from "../helpers/freePort.js";
import { SAMPLE } from "../helpers/paths.js";
import { LOOPBACK_BUDGET } from "../helpers/simBudget.js";
import { tail, until } from "../helpers/until.js";
import { buildLiveFixture, type LiveFixture, lastRecorded, ledgerContents } from "./liveFixture.js";

/**
 * The kill switch of a running `itb serve`, as real processes: `itb pause` stops new entries
 * from the next candle (exits go on), `itb resume` allows them again, `itb flatten --symbol`
 * names what it could not do, and without a service the command says so.
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

describe("itb pause, resume and flatten", () => {
  it("pause stops new entries of a running service; resume allows them; a wrong symbol is named", async () => {
    const port = await freePort();
    sim.clock.set(T0 + 30_000);
    const { dir, config } = fixture.copy("control", sim.url, (c) => {
      c.serve = { address: `127.0.0.1:${port}`, delay_ms: 0, poll_ms: 50 };
    });
    const data = join(dir, "data");
    const none = await spawnItb(["pause", "--config", config]).done;
    expect(none.status).not.toBe(0);
    expect(none.stderr).toContain(`no itb serve answers at http://127.0.0.1:${port}/control`);

    const serve = spawnItb(["serve", "--config", config, "--log-format", "json"]);
    await serve.waitFor(/"msg":"serving"/, { timeoutMs: 120_000 });
    const paused = await spawnItb(["pause", "--config", config]).done;
    expect(paused.status, paused.stderr).toBe(0);
    expect(paused.stdout).toBe(
      "pause: BTCUSDT 1m: no new entries from the next candle (exits still go out)\n",
    );
    const wrong = await spawnItb(["flatten", "--config", config, "--symbol", "ETHUSDT"]).done;
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toContain("no market took it");

    const step = (i: number) =>
      until(
        async () => (await lastRecorded(data)) === T0 + (i - 1) * MIN,
        30_000,
        `candle ${i}`,
        10,
        async () =>
          `last recorded ${new Date(await lastRecorded(data)).toISOString()}; the service's log:\n${tail(serve.stderr())}`,
      );
    // six paused hours: no entry decided
    for (let i = 2; i <= 360; i += 2) {
      sim.clock.set(T0 + i * MIN + 30_000);
      await step(i);
    }
    const purposes = async () => {
      const t = (await ledgerContents(data)).decisions;
      const p = t?.columns.indexOf("purpose") ?? -1;
      return t?.rows.map((r) => r[p]) ?? [];
    };
    expect((await purposes()).filter((p) => p === "entry")).toEqual([]);
    expect(serve.stderr()).toContain('"request":"pause","msg":"operator request applied"');

    const resumed = await spawnItb(["resume", "--config", config]).done;
    expect(resumed.status).toBe(0);
    for (let i = 362; i <= 720; i += 2) {
      sim.clock.set(T0 + i * MIN + 30_000);
      await step(i);
    }
    expect((await purposes()).filter((p) => p === "entry").length).toBeGreaterThan(0);
    serve.child.kill("SIGTERM");
    expect((await serve.done).status).toBe(0);
  }, 300_000);
});
