import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { itb } from "../helpers/cli.js";
import { SAMPLE } from "../helpers/paths.js";
import { smallPipelineConfig } from "../helpers/pipelineConfig.js";

/**
 * The model store stays bounded: train and predict-rolling keep the newest `models_keep`
 * versions and walk-forward runs (a model's current version always), and `itb models prune`
 * does the same by hand, or lists it with --dry-run.
 */

let dir = "";
let config = "";
let models = "";

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "itb-cli-prune-"));
  config = join(dir, "config.jsonc");
  writeFileSync(
    config,
    JSON.stringify({ ...smallPipelineConfig(join(dir, "data")), models_keep: 2 }, null, 2),
  );
  models = join(dir, "data", "BTCUSDT", "MODELS");
  const r = itb(["pipeline", "--config", config, "--archive", SAMPLE, "--to", "labels"]);
  expect(r.status, r.stderr).toBe(0);
}, 120_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

interface List {
  models: { name: string; versions: number[]; current: number | null }[];
  rolling_runs: number[];
}

function list(): List {
  const r = itb(["models", "list", "--config", config, "--json"]);
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as List;
}

const versions = (l: List) => Object.fromEntries(l.models.map((m) => [m.name, [m.versions, m.current]]));

describe("models_keep and itb models prune", () => {
  it("train keeps the newest models_keep versions and the current one; prune by hand, dry run first", () => {
    for (let i = 0; i < 3; i++) {
      const r = itb(["train", "--config", config, "--log-format", "json"]);
      expect(r.status, r.stderr).toBe(0);
      if (i === 2)
        expect(r.stderr).toContain('"msg":"removed 2 old model version(s) and 0 old walk-forward run(s)"');
    }
    expect(versions(list())).toEqual({ high_10_lc: [[2, 3], 3], low_10_lc: [[2, 3], 3] });
    expect(existsSync(join(models, "high_10_lc", "v0001.json"))).toBe(false);

    // An older current version survives pruning.
    expect(itb(["models", "promote", "high_10_lc", "2", "--config", config]).status).toBe(0);
    expect(itb(["train", "--config", config, "--no-promote"]).status).toBe(0);
    expect(versions(list())).toEqual({ high_10_lc: [[2, 3, 4], 2], low_10_lc: [[3, 4], 3] });

    const dry = itb(["models", "prune", "--config", config, "--keep", "1", "--dry-run"]);
    expect(dry.status, dry.stderr).toBe(0);
    const lines = dry.stdout.trim().split("\n");
    expect(lines[0]).toMatch(
      new RegExp(
        `^would remove 1 model version\\(s\\) and 0 walk-forward run\\(s\\) \\([\\d.]+ MB\\), keeping the newest 1 and the current versions, in ${models}$`,
      ),
    );
    expect(lines.slice(1)).toEqual([`  high_10_lc v3  ${join(models, "high_10_lc", "v0003.json")}`]);
    expect(versions(list())).toEqual({ high_10_lc: [[2, 3, 4], 2], low_10_lc: [[3, 4], 3] });

    const real = itb(["models", "prune", "--config", config, "--keep", "1"]);
    expect(real.stdout).toMatch(/^removed 1 model version\(s\) and 0 walk-forward run\(s\)/);
    expect(versions(list())).toEqual({ high_10_lc: [[2, 4], 2], low_10_lc: [[3, 4], 3] });
  }, 240_000);

  it("predict-rolling keeps the newest models_keep runs", () => {
    for (let i = 0; i < 3; i++) expect(itb(["predict-rolling", "--config", config]).status).toBe(0);
    expect(list().rolling_runs).toEqual([2, 3]);
    expect(existsSync(join(models, "rolling", "run-0001"))).toBe(false);
  }, 180_000);

  it("--keep must be a positive integer", () => {
    const r = itb(["models", "prune", "--config", config, "--keep", "0"]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe('error: --keep must be a positive integer, got "0"');
  });
});

describe("itb train", () => {
  it("exits 1 when a model cannot be trained (a label with one class only)", () => {
    // Same data folder, its own matrix and models: 50 % moves in an hour never happen.
    const flat = join(dir, "flat.jsonc");
    const c = smallPipelineConfig(join(dir, "data")) as { label_sets: { config: object }[] };
    for (const s of c.label_sets) Object.assign(s.config, { thresholds: [50.0] });
    writeFileSync(
      flat,
      JSON.stringify({ ...c, matrix_file_name: "matrix_flat", model_folder: "MODELS_flat" }),
    );
    expect(itb(["labels", "--config", flat]).status).toBe(0);
    const r = itb(["train", "--config", flat]);
    expect(r.stdout).toMatch(/^ {2}high_10_lc: NOT TRAINED: /m);
    expect(r.stderr.trim().split("\n").at(-1)).toBe("error: 2 of 2 model(s) not trained");
    expect(r.status).toBe(1);
  }, 120_000);
});
