import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { benchFeatures, benchLabels } from "../../src/bench/workload.js";
import { type LoadedConfig, parseConfigText } from "../../src/config/index.js";
import { Frame } from "../../src/core/frame.js";
import { type Logger, silentLogger } from "../../src/core/log.js";
import { mergeSources } from "../../src/data/merge.js";
import { writeFrame } from "../../src/data/store/index.js";
import { loadCurrentModels, watchCurrentModels } from "../../src/live/models.js";
import type { ModelArtifact } from "../../src/models/artifact.js";
import { runTrain } from "../../src/pipeline/modelStages.js";
import { ModelStore, modelRoot } from "../../src/pipeline/modelStore.js";
import { sampleCandles } from "../helpers/candles.js";

/**
 * The live service's model watch on lc models trained on the sample: nothing is picked up while
 * the current versions stay, a promotion is picked up at the next poll (once), a model for
 * other features is refused (logged, once) and the models in use stay.
 */
let dir = "";
let loaded: LoadedConfig;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "itb-live-models-"));
  const merged = mergeSources([{ name: "BTCUSDT", prefix: "", frame: await sampleCandles(["2023-03"]) }], {
    freqMs: 60_000,
    interpolate: false,
    maxGap: 0,
  });
  const matrix = merged.frame;
  const features = benchFeatures(matrix);
  benchLabels(matrix);
  loaded = parseConfigText(
    JSON.stringify({
      symbol: "BTCUSDT",
      data_folder: join(dir, "data"),
      label_horizon: 120,
      train_features: features,
      labels: ["high_20", "low_20"],
      algorithms: [{ name: "lc", algo: "lc", params: { C: 1.0 }, train: { is_scale: true } }],
      train_length: 20_000,
    }),
    join(dir, "cfg.jsonc"),
  );
  await writeFrame(join(dir, "data/BTCUSDT/matrix.parquet"), matrix);
  const f = new Frame(matrix.time);
  for (const c of ["open", "high", "low", "close", "volume", ...features]) f.set(c, matrix.get(c));
  await writeFrame(join(dir, "data/BTCUSDT/features.parquet"), f);
  await runTrain(loaded, { log: silentLogger, clock: { now: () => Date.now() }, itbVersion: "test" });
}, 120_000);
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function capture(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const put = (_: object, msg?: string) => lines.push(msg ?? "");
  return { lines, debug: put, info: put, warn: put, error: put };
}

describe("the live model watch", () => {
  it("picks up a promotion once, refuses a model for other features once, keeps the models in use", async () => {
    const config = loaded.config;
    const inUse = await loadCurrentModels(config);
    expect(inUse.map((a) => a.name)).toEqual(["high_20_lc", "low_20_lc"]);
    const watch = watchCurrentModels(config, inUse);
    const log = capture();
    expect(await watch.poll(log)).toBeUndefined();
    expect(await watch.poll(log)).toBeUndefined();

    const store = new ModelStore(modelRoot(config), { now: () => Date.now() });
    const high = (await store.read("high_20_lc")).artifact;
    const v2 = await store.save({ ...high, created_at: "2030-01-01T00:00:00.000Z" });
    expect(v2.version).toBe(2);
    const next = await watch.poll(log);
    expect(next?.map((a) => a.name)).toEqual(["high_20_lc", "low_20_lc"]);
    expect(next?.[0]?.created_at).toBe("2030-01-01T00:00:00.000Z");
    expect(log.lines).toEqual(["new current models picked up"]);
    expect(await watch.poll(log)).toBeUndefined();

    // a version trained on other features: refused, logged once, nothing replaced
    const other: ModelArtifact = { ...high, features: [...high.features].reverse() };
    await store.save(other);
    expect(await watch.poll(log)).toBeUndefined();
    expect(await watch.poll(log)).toBeUndefined();
    expect(log.lines).toEqual([
      "new current models picked up",
      "new current models refused (their contract does not match); the models in use stay",
    ]);

    // promoting a good version again is picked up
    await store.promote("high_20_lc", 1);
    expect((await watch.poll(log))?.[0]?.created_at).toBe(high.created_at);
  }, 60_000);

  it("a set promotion is picked up whole: a candle between two of its pointer writes keeps the models in use", async () => {
    const config = loaded.config;
    const store = new ModelStore(modelRoot(config), { now: () => Date.now() });
    const watch = watchCurrentModels(config, await loadCurrentModels(config));
    const log = capture();
    expect(await watch.poll(log)).toBeUndefined();
    const was = await store.currentSet(["high_20_lc", "low_20_lc"]);
    const lowBefore = readFileSync(store.currentFile("low_20_lc"), "utf8");
    const high = (await store.read("high_20_lc")).artifact;
    const low = (await store.read("low_20_lc")).artifact;
    const h = await store.save({ ...high, created_at: "2031-01-01T00:00:00.000Z" }, { promote: false });
    const l = await store.save({ ...low, created_at: "2031-01-01T00:00:00.000Z" }, { promote: false });
    await store.promoteSet([h, l]);
    // as a reader sees the set between its two pointer writes: low still at its old version
    writeFileSync(store.currentFile("low_20_lc"), lowBefore);
    const half = await store.currentSet(["high_20_lc", "low_20_lc"]);
    expect(half.unfinished).toMatch(
      new RegExp(
        `^high_20_lc v${h.version} was promoted with low_20_lc \\(set .+\\), which still points at v${was.pointers.get("low_20_lc")?.version}$`,
      ),
    );
    expect(await watch.poll(log)).toBeUndefined();
    expect(await watch.poll(log)).toBeUndefined();
    expect(log.lines).toEqual([
      "a promotion of the model set is unfinished (under way, or cut short); the models in use stay until it is whole",
    ]);
    // the rest of the set lands (or an operator promotes the missing model): all of it is picked up
    await store.promote("low_20_lc", l.version);
    expect((await store.currentSet(["high_20_lc", "low_20_lc"])).unfinished).toBeUndefined();
    const next = await watch.poll(log);
    expect(next?.map((a) => a.created_at)).toEqual(["2031-01-01T00:00:00.000Z", "2031-01-01T00:00:00.000Z"]);
    expect(log.lines.at(-1)).toBe("new current models picked up");
  }, 60_000);
});
