import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { loadConfig } from "../../src/config/index.js";
import type { Frame } from "../../src/core/frame.js";
import { noProgress, silentLogger } from "../../src/core/log.js";
import { symbolFile } from "../../src/data/paths.js";
import { runDownload } from "../../src/data/runDownload.js";
import { readFrame } from "../../src/data/store/index.js";
import type { CandleRecord } from "../../src/live/ledger/types.js";
import { predictModel } from "../../src/models/predict.js";
import { modelSpecs } from "../../src/models/train.js";
import { runPipeline } from "../../src/pipeline/graph/matrix.js";
import { runTrain } from "../../src/pipeline/modelStages.js";
import { ModelStore, modelRoot } from "../../src/pipeline/modelStore.js";
import { type Simulator, startSimulator, VirtualClock } from "../../src/simulator/index.js";
import { spawnItb } from "../helpers/cli.js";
import { SAMPLE } from "../helpers/paths.js";
import { LOOPBACK_BUDGET } from "../helpers/simBudget.js";
import { buildFixture, type Fixture, MIN, serve, T0 } from "./reloadFixture.js";

/**
 * Models change under a running service: the real service (runService in-process, on the
 * simulator's virtual clock) picks up a model promoted with `itb models promote` at its next
 * candle, logs it, and scores with it from that candle on (the new model's batch predictions,
 * bit for bit); a promoted model whose contract fails (trained on other features) is refused,
 * logged, and the model in use stays (its scores go on unchanged).
 */
let sim: Simulator;
let fixture: Fixture;

beforeAll(async () => {
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

/** Stores new versions of the config's models, trained with `patch` applied, without promoting them. */
async function trainVersions(
  configFile: string,
  patch: Record<string, unknown>,
): Promise<Map<string, number>> {
  const loaded = loadConfig(configFile);
  const patched = { ...loaded, config: { ...loaded.config, ...patch } };
  const run = await runTrain(
    patched,
    { log: silentLogger, clock: { now: () => Date.now() }, itbVersion: "test" },
    { promote: false },
  );
  expect(run.skipped).toEqual([]);
  return new Map(run.models.map((m) => [m.name, m.version]));
}

async function promote(configFile: string, name: string, version: number): Promise<void> {
  const p = spawnItb(["models", "promote", name, String(version), "--config", configFile]);
  const r = await p.done;
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
}

const same = (a: number, b: number) => Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));

describe("itb serve picks up promoted models between candles", () => {
  test("a newly promoted model scores from the next candle on; one for other features is refused", async () => {
    const { config } = fixture.copy("reload");
    const c = loadConfig(config).config;
    const names = modelSpecs(c).map((s) => s.name);
    // v2 of every model: trained on the last 3000 rows only (other weights, the same features)
    const v2 = await trainVersions(config, { train_length: 3000 });
    // v3 of high_10_gb: trained without one of the features its contract names
    const bad = await trainVersions(config, {
      train_features: c.train_features.filter((f) => f !== "eth_close_SMA_5"),
      labels: ["high_10"],
      algorithms: c.algorithms.filter((a) => a.name === "gb"),
    });
    expect([...v2.values()]).toEqual([2, 2, 2, 2]);
    expect(bad).toEqual(new Map([["high_10_gb", 3]]));

    const run = await serve(sim, config);
    const recs: CandleRecord[] = [];
    for (let i = 0; i < 5; i++) recs.push(await run.step());
    for (const [name, version] of v2) await promote(config, name, version);
    for (let i = 0; i < 5; i++) recs.push(await run.step());
    await promote(config, "high_10_gb", 3);
    for (let i = 0; i < 5; i++) recs.push(await run.step());
    const result = await run.stop();
    expect(result.failed).toEqual([]);
    expect(recs.map((r) => r.candle.time)).toEqual(Array.from({ length: 15 }, (_, i) => T0 + i * MIN));

    // logged: picked up while processing candle 5, refused while processing candle 10
    const picked = run.log.lines.filter((l) => l.msg === "new current models picked up");
    expect(picked).toHaveLength(1);
    expect(picked[0]?.at).toBe(T0 + 5 * MIN + MIN + 30_000);
    expect(picked[0]?.obj.now).toBe(names.map((n) => `${n}@2`).join(","));
    const refused = run.log.lines.filter((l) => l.msg.startsWith("new current models refused"));
    expect(refused).toHaveLength(1);
    expect(refused[0]?.level).toBe("error");
    expect(refused[0]?.at).toBe(T0 + 10 * MIN + MIN + 30_000);
    expect(String(refused[0]?.obj.err)).toMatch(/high_10_gb/);
    expect(String(refused[0]?.obj.err)).toMatch(/eth_close_SMA_5/);
    // the store says v3 is current; the service kept v2
    const store = new ModelStore(modelRoot(c), { now: Date.now });
    expect((await store.current("high_10_gb"))?.version).toBe(3);

    // the batch predictions of v1 and v2 over the served candles
    await runDownload(
      { ...c, download_end: undefined },
      { to: String(T0 + 15 * MIN) },
      { log: silentLogger, progress: noProgress },
    );
    const batch = await runPipeline(
      { configFile: config, predict: "current", only: ["merge", "features"] },
      { log: silentLogger, progress: noProgress, clock: { now: () => Date.now() }, itbVersion: "test" },
    );
    expect(batch.failed).toBe(0);
    const features: Frame = await readFrame(symbolFile(c, c.feature_file_name));
    const predictions = async (version: number) => {
      const out = new Map<string, Float64Array>();
      for (const n of names) out.set(n, predictModel((await store.read(n, version)).artifact, features));
      return out;
    };
    const p1 = await predictions(1);
    const p2 = await predictions(2);
    const scoredBy = (rec: CandleRecord, p: Map<string, Float64Array>) => {
      const i = features.lowerBound(rec.candle.time);
      expect(features.time[i]).toBe(rec.candle.time);
      return names.every((n) => same(rec.scores[n] as number, (p.get(n) as Float64Array)[i] as number));
    };
    // candles 0-4 with v1, 5-14 with v2 (the refused v3 changed nothing), and v1 ≠ v2 on each
    expect(recs.map((r) => (scoredBy(r, p1) ? 1 : scoredBy(r, p2) ? 2 : 0))).toEqual([
      1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    ]);
    expect(recs.every((r) => !(scoredBy(r, p1) && scoredBy(r, p2)))).toBe(true);
    // the ledger has every candle once
    expect(run.records.map((r) => r.candle.time)).toEqual(recs.map((r) => r.candle.time));
  }, 300_000);
});
