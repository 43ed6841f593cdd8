import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigSchema, configJsonSchema } from "../../src/config/index.js";
import { FingerprintCache, sha256File } from "../../src/pipeline/graph/fingerprint.js";
import { sectionHashes } from "../../src/pipeline/graph/manifest.js";
import { defaultJobs, planMarket } from "../../src/pipeline/graph/matrix.js";
import { KeyedLock } from "../../src/pipeline/graph/runner.js";
import { STAGES, selectGraph } from "../../src/pipeline/graph/stages.js";
import type { PipelineOptions } from "../../src/pipeline/graph/types.js";

const dir = mkdtempSync(join(tmpdir(), "itb-graph-units-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const config = ConfigSchema.parse({ symbol: "BTCUSDT", data_folder: dir });
const loaded = { config, file: join(dir, "c.json"), hash: "x", warnings: [] };

describe("the stage definitions", () => {
  it("are in a running order: every dependency comes earlier; every key read is a config key", () => {
    const seen = new Set<string>();
    const keys = new Set(Object.keys((configJsonSchema() as { properties: object }).properties));
    for (const s of STAGES) {
      for (const a of s.after) expect(seen.has(a), `${s.name} after ${a}`).toBe(true);
      for (const k of s.reads) expect(keys.has(k), `${s.name} reads ${k}`).toBe(true);
      seen.add(s.name);
    }
    expect(STAGES.map((s) => s.name)).toEqual([
      "import",
      "download",
      "merge",
      "features",
      "labels",
      "train",
      "predict-rolling",
      "predict",
      "signals",
      "simulate",
      "report",
    ]);
  });

  it("a graph has one source and one predictor", () => {
    expect(selectGraph(STAGES, { source: "download", predict: "current" }).map((s) => s.name)).toEqual([
      "download",
      "merge",
      "features",
      "labels",
      "train",
      "predict",
      "signals",
      "simulate",
      "report",
    ]);
  });

  it("the source defaults to download when exchange_url is set, the predictor to rolling when rolling_predict is", () => {
    const plan = (extra: object) =>
      planMarket(
        { configFile: "c.json" },
        { ...loaded, config: ConfigSchema.parse({ symbol: "B", ...extra }) },
      );
    expect(plan({}).options).toMatchObject({ source: "import", predict: "current" });
    expect(plan({ exchange_url: "http://127.0.0.1:9900", rolling_predict: {} }).options).toMatchObject({
      source: "download",
      predict: "rolling",
    });
    expect(planMarket({ configFile: "c", from: "features", to: "train" }, loaded).selected).toEqual([
      "features",
      "labels",
      "train",
    ]);
  });

  it("the plan says which predictor it chose and why (predict scores the training rows)", () => {
    const plan = (request: object, extra: object = {}) =>
      planMarket(
        { configFile: "c.json", ...request },
        { ...loaded, config: ConfigSchema.parse({ symbol: "B", ...extra }) },
      ).predictor;
    expect(plan({})).toEqual({ stage: "predict", reason: "the config has no rolling_predict section" });
    expect(plan({}, { rolling_predict: {} })).toEqual({
      stage: "predict-rolling",
      reason: "the config has a rolling_predict section",
    });
    expect(plan({ predict: "current" }, { rolling_predict: {} })).toEqual({
      stage: "predict",
      reason: "--predict current was given",
    });
    expect(plan({ only: ["predict"] }, { rolling_predict: {} })).toEqual({
      stage: "predict",
      reason: "the stage was named",
    });
  });

  it("hashes exactly the config keys a stage reads", () => {
    const features = STAGES.find((s) => s.name === "features");
    if (features === undefined) throw new Error("no features stage");
    const options: PipelineOptions = { source: "import", predict: "rolling" };
    const a = sectionHashes(features, { config, configFile: "c", options });
    const b = sectionHashes(features, {
      config: {
        ...config,
        label_sets: [{ generator: "x", column_prefix: "", feature_prefix: "", config: {} }],
      },
      configFile: "c",
      options,
    });
    const c = sectionHashes(features, { config: { ...config, time_column: "t" }, configFile: "c", options });
    expect(b).toEqual(a);
    expect(c.time_column).not.toBe(a.time_column);
    expect(c.feature_sets).toBe(a.feature_sets);
  });
});

describe("fingerprints", () => {
  it("are size, mtime and SHA-256; a missing file is marked absent", async () => {
    const f = join(dir, "a.txt");
    writeFileSync(f, "hello");
    const cache = new FingerprintCache();
    const fp = await cache.of(f);
    expect(fp).toMatchObject({ exists: true, size: 5 });
    expect(fp.sha256).toBe("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
    expect(await sha256File(f)).toBe(fp.sha256);
    expect(await cache.of(join(dir, "missing"))).toEqual({ path: join(dir, "missing"), exists: false });
    writeFileSync(f, "hello, world");
    expect((await cache.of(f)).size).toBe(12);
  });
});

describe("the market pool", () => {
  it("runs half as many markets as cores at once, at least one", () => {
    expect(defaultJobs(10, 2)).toBe(1);
    expect(defaultJobs(10, 16)).toBe(8);
    expect(defaultJobs(3, 16)).toBe(3);
    expect(defaultJobs(1, 1)).toBe(1);
  });

  it("a keyed lock serialises work on the same file and lets other files through", async () => {
    const lock = new KeyedLock();
    const order: string[] = [];
    const task = (name: string, keys: string[], ms: number) =>
      lock.with(keys, async () => {
        order.push(`${name}+`);
        await new Promise((r) => setTimeout(r, ms));
        order.push(`${name}-`);
      });
    await Promise.all([task("a", ["x", "y"], 30), task("b", ["y"], 1), task("c", ["z"], 1)]);
    expect(order.indexOf("b+")).toBeGreaterThan(order.indexOf("a-"));
    expect(order.indexOf("c-")).toBeLessThan(order.indexOf("a-"));
  });
});
