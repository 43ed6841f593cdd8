import { existsSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { loadConfig, parseConfigText } from "../../src/config/index.js";
import { ManualClock } from "../../src/core/clock.js";
import { silentLogger } from "../../src/core/log.js";
import { LOCK_FILE } from "../../src/data/lock.js";
import type { CandleRecord } from "../../src/live/ledger/types.js";
import {
  decidePromotion,
  EVALUATIONS_FILE,
  type EvaluationRecord,
  type ModelEvaluation,
  type RetrainEvent,
  startRetraining,
} from "../../src/live/retrain.js";
import { modelSpecs } from "../../src/models/train.js";
import { ModelStore, modelRoot } from "../../src/pipeline/modelStore.js";
import { type Simulator, startSimulator, VirtualClock } from "../../src/simulator/index.js";
import { ROOT, SAMPLE } from "../helpers/paths.js";
import { LOOPBACK_BUDGET } from "../helpers/simBudget.js";
import { buildFixture, type Fixture, MIN, type ServedRun, serve, T0 } from "./reloadFixture.js";

/**
 * Scheduled retraining in `itb serve`: the config's cron fires on the service's (virtual)
 * clock, the pipeline's stages run in a worker thread while the markets go on processing
 * candles, and the new models are promoted, and picked up at the next candle, only when their
 * walk-forward AUC is not worse than the current ones' by more than the tolerance.
 */

/** The compiled worker (vitest runs the TypeScript sources; the suite's global setup builds dist/). */
const WORKER = pathToFileURL(resolve(ROOT, "dist/live/retrainWorker.js"));
/** Daily at 01:00 UTC: the first fire is an hour after the service starts at T0 (2023-03-20 00:00). */
const CRON = "0 1 * * *";
const FIRE = T0 + 60 * MIN;

describe("decidePromotion", () => {
  const m = (auc: number | null, current: number | null): ModelEvaluation => ({
    name: "high_10_lc",
    version: 2,
    auc,
    current_version: 1,
    current_auc: current,
    baseline: "walk-forward run 1",
  });

  test("promotes when no model is worse than its current version by more than the tolerance", () => {
    expect(decidePromotion([m(0.6, 0.6)], 0).promote).toBe(true);
    expect(decidePromotion([m(0.61, 0.6)], 0).promote).toBe(true);
    expect(decidePromotion([m(0.596, 0.6)], 0.005).promote).toBe(true);
    expect(decidePromotion([m(0.594, 0.6)], 0.005)).toEqual({
      promote: false,
      reason: "high_10_lc v2's walk-forward AUC 0.5940 is below the current v1's 0.6000 by more than 0.005",
    });
    // all or nothing
    expect(decidePromotion([m(0.7, 0.6), { ...m(0.5, 0.6), name: "low_10_gb" }], 0.005).promote).toBe(false);
  });

  test("a negative tolerance asks for an improvement; a missing AUC is no promotion, a missing baseline no bar", () => {
    expect(decidePromotion([m(0.6, 0.6)], -0.01).promote).toBe(false);
    expect(decidePromotion([m(0.611, 0.6)], -0.01).promote).toBe(true);
    expect(decidePromotion([m(1, 0.5)], -1).promote).toBe(false);
    expect(decidePromotion([m(null, 0.6)], 1)).toEqual({
      promote: false,
      reason: "high_10_lc v2 has no walk-forward AUC",
    });
    expect(decidePromotion([m(0.52, null)], 0)).toEqual({
      promote: true,
      reason: "no walk-forward AUC is recorded for the current models",
    });
    expect(decidePromotion([], 0).promote).toBe(false);
  });
});

describe("startRetraining", () => {
  test("refuses to start without the compiled worker", () => {
    const loaded = parseConfigText(
      JSON.stringify({
        symbol: "BTCUSDT",
        rolling_predict: { prediction_size: 1440, prediction_steps: 2 },
        schedule: { retrain: CRON },
      }),
      "live.json",
    );
    const start = (workerUrl: URL) =>
      startRetraining({
        markets: [loaded],
        clock: new ManualClock(T0),
        signal: new AbortController().signal,
        log: silentLogger,
        itbVersion: "test",
        workerUrl,
      });
    expect(() => start(pathToFileURL("/nonexistent/retrainWorker.js"))).toThrow(
      "scheduled retraining needs the compiled worker /nonexistent/retrainWorker.js: build itb (npm run build)",
    );
  });

  test("announces each schedule's next fire on the service's clock, in the schedule's time zone", async () => {
    const at = (schedule: object) => {
      const loaded = parseConfigText(
        JSON.stringify({
          symbol: "BTCUSDT",
          rolling_predict: { prediction_size: 1440, prediction_steps: 2 },
          schedule,
        }),
        "live.json",
      );
      return startRetraining({
        markets: [loaded],
        clock: new ManualClock(T0 + 30_000),
        signal: AbortSignal.abort(),
        log: silentLogger,
        itbVersion: "test",
        workerUrl: WORKER,
      });
    };
    const utc = at({ retrain: CRON });
    expect(utc.schedules).toEqual([{ config: "live.json", cron: CRON, timezone: "UTC", next: FIRE }]);
    await utc.stop();
    // 01:00 in Berlin is 00:00 UTC (CET, before the switch to summer time on 2023-03-26): tomorrow's
    const berlin = at({ retrain: CRON, timezone: "Europe/Berlin" });
    expect(berlin.schedules[0]?.next).toBe(T0 + 1440 * MIN);
    await berlin.stop();
  });
});

let sim: Simulator;
let fixture: Fixture;

beforeAll(async () => {
  expect(existsSync(WORKER), "dist/ is built by the test suite's global setup").toBe(true);
  sim = await startSimulator({
    weightLimits: LOOPBACK_BUDGET,
    archive: SAMPLE,
    clock: new VirtualClock({ start: T0 + 30_000, speed: 0 }),
    streams: { formingEveryMs: 0 },
  });
  fixture = await buildFixture(sim);
}, 300_000);

afterAll(async () => {
  await sim?.close();
  if (fixture) rmSync(fixture.root, { recursive: true, force: true });
});

interface Retrained {
  events: RetrainEvent[];
  run: ServedRun;
  /** Candles processed before the fire, and while the retraining ran. */
  before: CandleRecord[];
  during: CandleRecord[];
  config: string;
}

/** Serves a copy of the fixture with `schedule` until the first retraining has ended. */
async function serveUntilRetrained(label: string, schedule: object): Promise<Retrained> {
  const { config } = fixture.copy(label, (c) => {
    c.schedule = schedule;
  });
  const events: RetrainEvent[] = [];
  const run = await serve(sim, config, { retrain: { workerUrl: WORKER, onEvent: (e) => events.push(e) } });
  const before: CandleRecord[] = [];
  while (events.length === 0) {
    expect(before.length, "the schedule fires within 61 candles").toBeLessThan(61);
    before.push(await run.step());
  }
  const during: CandleRecord[] = [];
  while (events.length < 2) {
    expect(during.length, "the retraining ends within 3000 candles").toBeLessThan(3000);
    during.push(await run.step());
    await new Promise((r) => setTimeout(r, 5)); // a candle every few ms: the worker gets its turn
  }
  return { events, run, before, during, config };
}

function evaluations(config: string): EvaluationRecord[] {
  const c = loadConfig(config).config;
  const text = readFileSync(join(modelRoot(c), EVALUATIONS_FILE), "utf8");
  return (JSON.parse(text) as { evaluations: EvaluationRecord[] }).evaluations;
}

/** The walk-forward AUC a run of the store recorded for a model. */
function runAuc(config: string, run: number, name: string): number {
  const c = loadConfig(config).config;
  const store = new ModelStore(modelRoot(c), { now: Date.now });
  const summary = JSON.parse(readFileSync(join(store.runFolder(run), "run.json"), "utf8")) as {
    models: Record<string, { metrics: { auc: number } }>;
  };
  return summary.models[name]?.metrics.auc as number;
}

describe("itb serve retrains on its schedule", () => {
  test("fires at the cron's virtual time, retrains while candles go on, promotes a model that is not worse, picks it up", async () => {
    const tolerance = 0.5;
    const r = await serveUntilRetrained("promote", { retrain: CRON, auc_tolerance: tolerance });
    const c = loadConfig(r.config).config;
    const names = modelSpecs(c).map((s) => s.name);

    // fired once the clock passed 01:00, not before
    const [started, finished] = r.events;
    expect(started?.phase).toBe("started");
    expect(started?.scheduledAt).toBe(FIRE);
    expect(started?.at).toBeGreaterThanOrEqual(FIRE);
    expect(started?.at).toBeLessThan(FIRE + MIN);
    expect(r.before.at(-1)?.candle.time).toBe(FIRE - MIN); // the candle that closed at 01:00
    expect(
      r.run.log.lines.find((l) => l.msg === "scheduled retraining")?.obj.next,
      "the first fire announced at the start",
    ).toBe("2023-03-20T01:00:00.000Z");

    // the candle loop went on while the worker retrained
    expect(finished?.phase, finished?.error).toBe("finished");
    // (how many depends on how fast the worker trains beside the candles: several, not a number)
    expect(r.during.length).toBeGreaterThanOrEqual(3);
    expect(r.during.map((x) => x.candle.time)).toEqual(r.during.map((_, i) => FIRE + i * MIN));

    // the decision: the new walk-forward run's AUCs against run 1's (the fixture pipeline's)
    const outcome = finished?.outcome;
    expect(outcome?.stages).toEqual(["download", "merge", "features", "labels"]);
    expect(outcome?.run).toBe(2);
    expect(outcome?.promoted).toBe(true);
    for (const m of outcome?.models ?? []) {
      expect(m.version).toBe(2);
      expect(m.current_version).toBe(1);
      expect(m.current_auc).toBe(runAuc(r.config, 1, m.name));
      expect(m.baseline).toBe("walk-forward run 1");
      expect(m.auc).toBe(runAuc(r.config, 2, m.name));
      expect(m.auc as number).toBeGreaterThanOrEqual((m.current_auc as number) - tolerance);
    }
    expect(outcome?.models.map((m) => m.name)).toEqual(names);
    const store = new ModelStore(modelRoot(c), { now: Date.now });
    for (const n of names) {
      expect((await store.current(n))?.version).toBe(2);
      // trained on the candles served since the start too
      const v1 = (await store.read(n, 1)).artifact.training;
      const v2 = (await store.read(n, 2)).artifact.training;
      expect(v2.rows).toBeGreaterThan(v1.rows);
    }
    expect(evaluations(r.config).map((e) => [e.run, e.promoted])).toEqual([[2, true]]);
    const promoted = r.run.log.lines.find((l) => l.msg.startsWith("retrained models promoted"));
    expect(promoted?.level).toBe("info");

    // picked up at the first candle after the promotion, all models at once: the set is promoted
    // as one (a candle between two pointer writes keeps the old models). The worker promotes
    // before it reports, and on a loaded machine the service may process more than one candle
    // between the two: the pickup is at a candle served while the retrain ran, or at the first
    // one after its report, never later.
    const next = await r.run.step();
    const picked = r.run.log.lines.filter((l) => l.msg === "new current models picked up");
    expect(picked).toHaveLength(1);
    expect([...r.during.map((x) => x.candle.time), next.candle.time].map((t) => t + MIN + 30_000)).toContain(
      picked[0]?.at,
    );
    expect(picked[0]?.obj.now).toBe(names.map((n) => `${n}@2`).join(","));
    const result = await r.run.stop();
    expect(result.failed).toEqual([]);
  }, 300_000);

  test("a model worse than the current one by more than the tolerance is kept unpromoted", async () => {
    // a tolerance of -1 asks for an AUC above the current one's by 1: no model can pass
    const r = await serveUntilRetrained("refuse", { retrain: CRON, auc_tolerance: -1 });
    const c = loadConfig(r.config).config;
    const names = modelSpecs(c).map((s) => s.name);
    const outcome = r.events[1]?.outcome;
    expect(r.events[1]?.phase, r.events[1]?.error).toBe("finished");
    expect(outcome?.promoted).toBe(false);
    expect(outcome?.reason).toMatch(
      /^high_10_lc v2's walk-forward AUC 0\.\d{4} is below the current v1's 0\.\d{4} by more than -1;/,
    );
    const warned = r.run.log.lines.find((l) => l.msg.startsWith("retrained models NOT promoted"));
    expect(warned?.level).toBe("warn");
    expect(warned?.obj.reason).toBe(outcome?.reason);

    const store = new ModelStore(modelRoot(c), { now: Date.now });
    for (const n of names) {
      expect((await store.current(n))?.version).toBe(1);
      expect(await store.versions(n)).toEqual([1, 2]);
    }
    expect(evaluations(r.config).map((e) => [e.run, e.promoted])).toEqual([[2, false]]);

    // the service goes on with the models in use
    const after = [await r.run.step(), await r.run.step()];
    expect(r.run.log.lines.filter((l) => l.msg === "new current models picked up")).toEqual([]);
    const last = r.during.at(-1) as CandleRecord;
    expect(after.map((x) => x.candle.time)).toEqual([last.candle.time + MIN, last.candle.time + 2 * MIN]);
    const result = await r.run.stop();
    expect(result.failed).toEqual([]);
  }, 300_000);

  test("stopping the service while it retrains ends the retraining within seconds and leaves no lock", async () => {
    const { config } = fixture.copy("stop", (c) => {
      c.schedule = { retrain: CRON };
    });
    const events: RetrainEvent[] = [];
    const run = await serve(sim, config, { retrain: { workerUrl: WORKER, onEvent: (e) => events.push(e) } });
    while (events.length === 0) await run.step();
    const t0 = performance.now();
    const result = await run.stop();
    const ms = performance.now() - t0;
    expect(result.failed).toEqual([]);
    expect(ms).toBeLessThan(5000);
    expect(events.map((e) => e.phase)).toEqual(["started"]);
    expect(run.log.lines.some((l) => l.msg === "retraining stopped: the service is stopping")).toBe(true);
    const c = loadConfig(config).config;
    expect(existsSync(join(c.data_folder, c.symbol, LOCK_FILE))).toBe(false);
    for (const ds of c.data_sources)
      expect(existsSync(join(c.data_folder, ds.folder, LOCK_FILE))).toBe(false);
  }, 300_000);
});
