import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFrame } from "../../src/data/store/index.js";
import { itb } from "../helpers/cli.js";
import { ROOT, SAMPLE } from "../helpers/paths.js";

/**
 * The original Intelligent Trading Bot's own 1-minute sample (test/fixtures/original, unchanged)
 * runs through `itb pipeline` with no edit but its data folder: its example Python generator
 * is built in, its rolling_predict.data_start (a date before the bundled sample) resolves to the
 * first row, and a Python generator itb cannot load fails at `itb config check`.
 */

const FIXTURE = resolve(ROOT, "test/fixtures/original/config-sample-1min.jsonc");
const ORIGINAL = readFileSync(FIXTURE, "utf8");
const DATA_FOLDER_LINE = '    "data_folder": "C:/DATA_ITB",';

let dir = "";

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "itb-cli-original-"));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** The fixture with one line replaced, written to `<dir>/<name>`. */
function copy(name: string, from: string, to: string): string {
  expect(ORIGINAL.split(from)).toHaveLength(2);
  const file = join(dir, name);
  writeFileSync(file, ORIGINAL.replace(from, to));
  return file;
}

const PLACEHOLDER_WARNINGS = [
  'api_key is the template placeholder "<binance-key>"; it is treated as unset',
  'api_secret is the template placeholder "<binance-secret>"; it is treated as unset',
  'telegram_bot_token is the template placeholder "<token>"; it is treated as unset',
  'telegram_chat_id is the template placeholder "<chat-id-to-publish-messages>"; it is treated as unset',
];

const messages = (stderr: string) =>
  stderr
    .trim()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as { level: number; msg: string });

describe("the original's config-sample-1min", () => {
  it("passes config check as it is, with a warning for each template credential only", () => {
    const r = itb(["config", "check", FIXTURE, "--log-format", "json"]);
    expect(r.status).toBe(0);
    expect(messages(r.stderr).map((m) => m.msg)).toEqual(PLACEHOLDER_WARNINGS);
    const config = JSON.parse(r.stdout) as {
      feature_sets: { generator: string }[];
      rolling_predict: { data_start: string };
    };
    expect(config.feature_sets.map((s) => s.generator)).toEqual([
      "talib",
      "talib",
      "talib",
      "common.my_feature_example:my_feature_example",
    ]);
    expect(config.rolling_predict.data_start).toBe("2020-02-01 00:00:00");
  });

  it("a Python generator itb cannot load fails at config check, naming the set", () => {
    const file = copy(
      "python-generator.jsonc",
      '"generator": "common.my_feature_example:my_feature_example"',
      '"generator": "common.my_features:my_feature"',
    );
    const r = itb(["config", "check", file]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(
      /\n {2}feature_sets\[3\]\.generator: cannot load generator module "common\.my_features": .*; "common\.my_features" looks like a Python module of the original: itb loads JavaScript generators/,
    );
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it("runs every stage with only its data folder changed", async () => {
    const data = join(dir, "data");
    const file = copy("config.jsonc", DATA_FOLDER_LINE, `    "data_folder": ${JSON.stringify(data)},`);
    const r = itb([
      "pipeline",
      "--config",
      file,
      "--archive",
      SAMPLE,
      "--download-start",
      "2023-02-01",
      "--download-end",
      "2023-05-01",
      "--json",
      "--log-format",
      "json",
    ]);
    expect(messages(r.stderr).filter((m) => m.level >= 50)).toEqual([]);
    expect(r.status).toBe(0);
    const summary = JSON.parse(r.stdout) as {
      failed: number;
      markets: { market: string; ran: string[]; rows: number }[];
    };
    expect(summary.failed).toBe(0);
    expect(summary.markets[0]).toMatchObject({
      market: "BTCUSDT 1min",
      ran: [
        "import",
        "merge",
        "features",
        "labels",
        "train",
        "predict-rolling",
        "signals",
        "simulate",
        "report",
      ],
      rows: 128_160,
    });

    // The original's example feature: close + 2.0, named by the config (NaN in the 80-minute halt).
    const features = await readFrame(join(data, "BTCUSDT", "features.parquet"));
    const close = features.get("close");
    const added = features.get("close_add");
    let mismatches = 0;
    let gaps = 0;
    for (let i = 0; i < close.length; i++) {
      const c = close[i] as number;
      if (Number.isNaN(c)) gaps += Number.isNaN(added[i] as number) ? 1 : 0;
      else if (added[i] !== c + 2.0) mismatches++;
    }
    expect([close.length, gaps, mismatches]).toEqual([128_160, 80, 0]);

    // "data_start": "2020-02-01 00:00:00" lies before the sample: every row is used, as in the original.
    const metrics = JSON.parse(readFileSync(join(data, "BTCUSDT", "predictions.metrics.json"), "utf8")) as {
      plan: Record<string, unknown>;
    };
    expect(metrics.plan).toMatchObject({
      data_start: "2023-02-01T00:00:00.000Z",
      prediction_start: "2023-04-03T00:00:00.000Z",
      prediction_size: 10080,
      prediction_steps: 4,
    });
  }, 180_000);
});
