import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfigText } from "../../src/config/index.js";
import { ConfigError } from "../../src/core/errors.js";
import { configuredStages, preflight } from "../../src/pipeline/preflight.js";
import { smallPipelineConfig } from "../helpers/pipelineConfig.js";

/**
 * The checks the pipeline makes before its first stage (and `itb config check` makes for every
 * section): they need the generators, not the data. The config is the pipeline tests' small
 * config with one thing changed per case.
 */

let dir = "";
let configFile = "";

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "itb-preflight-"));
  configFile = join(dir, "config.jsonc");
  // A custom generator next to the config whose config check throws for a bad window.
  writeFileSync(
    join(dir, "gen.mjs"),
    `export const range = {
  inputs: () => ["high", "low"],
  outputs: (c) => { if (!(c.window > 0)) throw new Error("window must be positive, got " + c.window); return ["range"]; },
  batch: () => [],
  warmup: () => 0,
};
`,
  );
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const ALL = new Set([
  "import",
  "features",
  "labels",
  "train",
  "predict-rolling",
  "signals",
  "simulate",
  "report",
]);

function configOf(edit: (c: Record<string, unknown>) => void) {
  const c = smallPipelineConfig(join(dir, "data")) as Record<string, unknown>;
  edit(c);
  return parseConfigText(JSON.stringify(c), configFile, {}, {}).config;
}

async function issuesOf(
  edit: (c: Record<string, unknown>) => void,
  stages: ReadonlySet<string> = ALL,
): Promise<readonly string[]> {
  try {
    await preflight(configOf(edit), configFile, stages, { startOption: "--download-start" });
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  return [];
}

const featureSets = (c: Record<string, unknown>) => c.feature_sets as Record<string, unknown>[];

describe("preflight", () => {
  it("passes the pipeline tests' config", async () => {
    expect(await issuesOf(() => {})).toEqual([]);
  });

  it("names a TA-Lib function itb does not have at its index, with the closest one", async () => {
    const issues = await issuesOf((c) => {
      featureSets(c)[1] = {
        generator: "talib",
        config: { columns: ["close"], functions: ["SMA", "LINEARREG_SLOP"] },
      };
    });
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(
      /^feature_sets\[1\]\.config\.functions\[1\]: unknown or unsupported TA-Lib function "LINEARREG_SLOP"; did you mean "LINEARREG_SLOPE"\? \(/,
    );
  });

  it("loads custom generators and asks them about their config; a Python module of the original is named as such", async () => {
    const issues = await issuesOf((c) => {
      featureSets(c).push(
        { generator: "./gen.mjs:range", config: { window: 0 } },
        { generator: "./missing.mjs:range", config: {} },
        { generator: "common.gen_features_rolling_agg:generate_features_rolling_agg", config: {} },
      );
    });
    expect(issues).toHaveLength(3);
    expect(issues[0]).toBe("feature_sets[2].config: window must be positive, got 0");
    expect(issues[1]).toMatch(
      /^feature_sets\[3\]\.generator: cannot load generator module "\.\/missing\.mjs" \(/,
    );
    expect(issues[2]).toMatch(
      /^feature_sets\[4\]\.generator: cannot load generator module "common\.gen_features_rolling_agg": .*; "common\.gen_features_rolling_agg" looks like a Python module of the original: itb loads JavaScript generators, a path relative to the config file \("\.\/my-generator\.mjs:generate_features_rolling_agg"\) or a package \(see examples\/custom-generator\.mjs\)$/,
    );
  });

  it("refuses a generator name itb accepts but has not ported, at config time", async () => {
    const issues = await issuesOf((c) => {
      (c.label_sets as object[]).push({ generator: "topbot", config: {} });
    });
    expect(issues).toEqual([
      'label_sets[2].generator: label generator "topbot" is not available; available: highlow, highlow2, topbot2 or "<module>:<export>"',
    ]);
  });

  it("compiles the label and signal sets, the model specs and the walk-forward settings, collecting every issue", async () => {
    const issues = await issuesOf((c) => {
      (c.label_sets as Record<string, unknown>[])[1] = {
        generator: "topbot2",
        config: { columns: "close", function: "top", level: 0.02, tolerances: [2] },
      };
      c.algorithms = [{ name: "lc", algo: "svc" }];
      c.rolling_predict = { prediction_size: 100 };
      (c.signal_sets as Record<string, unknown>[])[0] = {
        generator: "combine",
        config: { columns: ["high_10_lc"], names: "trade_score" },
      };
    });
    expect(issues).toEqual([
      "label_sets[1].config: topbot2: config.tolerances must be fractions of level between 0 and 1, found [2]",
      'algorithms[0].algo: algo "svc" (support vector classifier) is not supported yet; supported: lc, gb, nn',
      "rolling_predict: only one of prediction_start, prediction_size and prediction_steps may be null; the others define it",
      'signal_sets[0].config.columns: expected a list of exactly 2 column names, got 1 name(s): ["high_10_lc"]',
    ]);
  });

  it("checks the searched rule with the grid's thresholds: what neither the grid nor the parameters give is missing", async () => {
    const issues = await issuesOf((c) => {
      (c.signal_sets as Record<string, unknown>[])[1] = {
        generator: "threshold_rule",
        config: { columns: "trade_score", names: ["buy", "sell"], parameters: {} },
      };
      c.simulate_model = { grid: { buy_signal_threshold: [0.02, 0.05] } };
    });
    expect(issues).toEqual([
      "signal_sets[1].config.parameters.sell_signal_threshold: expected a number, got nothing (the key is missing)",
    ]);
  });

  it("checks only the stages it is given", async () => {
    const broken = (c: Record<string, unknown>) => {
      c.algorithms = [];
      delete c.download_start;
    };
    expect(await issuesOf(broken, new Set(["features", "labels"]))).toEqual([]);
    expect(await issuesOf(broken, new Set(["import", "train"]))).toEqual([
      'download_start: not set, and the import stage needs the first day to import: set "download_start" in the config (e.g. "2023-01-01") or pass --download-start YYYY-MM[-DD]',
      "config: no algorithms to train: set algorithms",
    ]);
  });

  it("config check's stages are the sections the config has", () => {
    expect([...configuredStages(configOf(() => {}))]).toEqual([
      "features",
      "labels",
      "train",
      "predict-rolling",
      "signals",
      "simulate",
    ]);
    const bare = parseConfigText('{"symbol": "BTCUSDT"}', configFile, {}, {}).config;
    expect([...configuredStages(bare)]).toEqual([]);
  });
});
