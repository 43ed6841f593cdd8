import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { itb } from "../helpers/cli.js";
import { SAMPLE } from "../helpers/paths.js";
import { smallPipelineConfig } from "../helpers/pipelineConfig.js";

/**
 * Config mistakes that used to pass with exit status 0 or fail late, through the real CLI: each
 * is now an error before anything runs (exit 2, the JSON path where it is written, the closest
 * key), and nothing is written.
 */

let dir = "";

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "itb-cli-config-errors-"));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** The pipeline tests' small config (data under `<dir>/<name>/data`), edited, written to `<dir>/<name>.json`. */
function write(name: string, edit: (c: Record<string, unknown>) => void): { file: string; data: string } {
  const data = join(dir, name, "data");
  const c = smallPipelineConfig(data) as Record<string, unknown>;
  edit(c);
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(c, null, 2));
  return { file, data };
}

/** The indented issue lines of an "is invalid" error on stderr. */
const issueLines = (stderr: string) =>
  stderr
    .split("\n")
    .filter((l) => l.startsWith("  "))
    .map((l) => l.trim());

const signalSets = (c: Record<string, unknown>) => c.signal_sets as Record<string, unknown>[];

describe("misspelt keys are errors, not silently ignored", () => {
  it("config check and simulate exit 2 naming each one where it is written", () => {
    const { file } = write("typos", (c) => {
      c.backtest = { slipage_bps: 20, taker_fees: 0.0005 };
      (c.feature_sets as object[]).push({
        generator: "talib",
        config: { columns: "close", functions: ["RSI"], windws: [14] },
      });
      const labels = c.label_sets as Record<string, Record<string, unknown>>[];
      const high = labels[0]?.config as Record<string, unknown>;
      high.horizn = high.horizon;
      delete high.horizon;
      ((signalSets(c)[0] as Record<string, unknown>).config as Record<string, unknown>).combine = "diference";
      c.rolling_predikt = c.rolling_predict;
    });
    const expected = [
      `config ${file} is invalid:`,
      'label_sets[0].config.horizon: expected a positive integer, found nothing (is "horizn" a misspelling of it?)',
      'signal_sets[0].config.combine: "diference" is not one of "relative", "difference", "no_combine"; did you mean "difference"?',
      'feature_sets[2].config.windws: unknown key; did you mean "windows"?',
      'label_sets[0].config.horizn: unknown key; did you mean "horizon"?',
      'backtest.slipage_bps: unknown key; did you mean "slippage_bps"?',
      'backtest.taker_fees: unknown key; did you mean "taker_fee"?',
      'rolling_predikt: unknown key; did you mean "rolling_predict"?',
    ];
    for (const args of [
      ["config", "check", file],
      ["simulate", "--config", file],
    ]) {
      const r = itb(args);
      expect(r.status).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr.startsWith(`error: ${expected[0]}\n`)).toBe(true);
      expect(issueLines(r.stderr)).toEqual(expected.slice(1));
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it("a top-level key of the original's configs is a warning; a private key is fine", () => {
    const { file } = write("original-keys", (c) => {
      c.base_asset = "BTC";
      c._tuned_on = "2023-03";
    });
    const r = itb(["config", "check", file, "--log-format", "json"]);
    expect(r.status).toBe(0);
    const warnings = r.stderr
      .trim()
      .split("\n")
      .map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(warnings).toEqual([
      "base_asset: not used by itb (the original's live trader's base asset; itb does not trade live yet)",
    ]);
    expect((JSON.parse(r.stdout) as Record<string, unknown>)._tuned_on).toBe("2023-03");
  });
});

describe("itb pipeline validates every selected stage's section before the first stage runs", () => {
  it("a grid typo is named where it is written, and nothing runs", () => {
    const { file, data } = write("grid-typo", (c) => {
      c.simulate_model = {
        signal_generator: "threshold_rule",
        grid: { buy_signal_treshold: [0.02, 0.05], sell_signal_threshold: [-0.02, -0.05] },
      };
    });
    const r = itb(["pipeline", "--config", file, "--archive", SAMPLE]);
    expect(r.status).toBe(2);
    expect(issueLines(r.stderr)).toEqual([
      'simulate_model.grid.buy_signal_treshold: unknown parameter of threshold_rule (signal_sets[1]); did you mean "buy_signal_threshold"?',
    ]);
    expect(r.stderr).not.toContain("stage");
    expect(r.stdout).toBe("");
    expect(existsSync(data)).toBe(false);
  });

  it("a late stage's mistake the schema cannot see (a TA-Lib name, a signal set) fails before the import", () => {
    const { file, data } = write("late-mistakes", (c) => {
      (c.feature_sets as object[]).push({
        generator: "talib",
        config: { columns: ["close"], functions: ["RSII"] },
      });
      signalSets(c)[0] = { generator: "combine", config: { columns: ["high_10_lc"], names: "trade_score" } };
    });
    const r = itb(["pipeline", "--config", file, "--archive", SAMPLE, "--log-format", "json"]);
    expect(r.status).toBe(2);
    const issues = issueLines(r.stderr);
    expect(issues).toHaveLength(2);
    expect(issues[0]).toMatch(
      /^feature_sets\[2\]\.config\.functions\[0\]: unknown or unsupported TA-Lib function "RSII"; did you mean "RSI"\?/,
    );
    expect(issues[1]).toBe(
      'signal_sets[0].config.columns: expected a list of exactly 2 column names, got 1 name(s): ["high_10_lc"]',
    );
    expect(r.stderr).not.toContain('"msg":"stage started"');
    expect(existsSync(data)).toBe(false);
  });

  it("the selected stages only: --to merge does not need the model sections", () => {
    const { file } = write("merge-only", (c) => {
      c.algorithms = [];
      c.download_end = "2023-03-02";
    });
    const r = itb(["pipeline", "--config", file, "--archive", SAMPLE, "--to", "merge", "--json"]);
    expect(r.stderr).not.toMatch(/"level":50|^error:/m);
    expect(r.status).toBe(0);
    const summary = JSON.parse(r.stdout) as { markets: { ran: string[]; rows: number }[] };
    expect(summary.markets[0]).toMatchObject({ ran: ["import", "merge"], rows: 1440 });
  });
});

describe("--symbol and a literal data-source folder", () => {
  const literal = () =>
    write("literal-folder", (c) => {
      c.symbol = "ETHUSDT";
      c.data_sources = [{ folder: "ETHUSDT", market: "um" }];
    });
  const message =
    'data_sources[0].folder: "ETHUSDT" is written literally, so the symbol ETHUSDX does not reach it and ETHUSDT\'s candles would be merged as ETHUSDX\'s; write "folder": "{symbol}" to follow --symbol';

  it("is an error naming the source for pipeline, import and config check; nothing is imported", () => {
    const { file, data } = literal();
    const pipeline = itb(["pipeline", "--config", file, "--archive", SAMPLE, "--symbol", "ETHUSDX"]);
    expect(pipeline.status).toBe(2);
    expect(pipeline.stderr).toContain(`error: ETHUSDX 1m: config ${file} is invalid:\n  ${message}\n`);
    expect(pipeline.stdout).toBe("");
    for (const args of [
      ["import", "--config", file, "--source", SAMPLE, "--symbol", "ETHUSDX"],
      ["config", "check", file, "--symbol", "ETHUSDX"],
    ]) {
      const r = itb(args);
      expect(r.status).toBe(2);
      expect(issueLines(r.stderr)).toEqual([message]);
    }
    expect(existsSync(data)).toBe(false);
  });

  it('with "folder": "{symbol}" the override reaches the source', () => {
    const { file } = write("following-folder", (c) => {
      c.symbol = "ETHUSDT";
      c.data_sources = [{ folder: "{symbol}", market: "um" }];
    });
    const r = itb(["config", "check", file, "--symbol", "ETHUSDX"]);
    expect(r.status).toBe(0);
    expect((JSON.parse(r.stdout) as { data_sources: { folder: string }[] }).data_sources[0]?.folder).toBe(
      "ETHUSDX",
    );
  });
});

describe("dates and intervals of the pipeline's import", () => {
  it("a missing download_start names the config key and --download-start, not the stage option --from", () => {
    const { file, data } = write("no-start", (c) => {
      delete c.download_start;
    });
    const r = itb(["pipeline", "--config", file, "--archive", SAMPLE]);
    expect(r.status).toBe(2);
    expect(issueLines(r.stderr)).toEqual([
      'download_start: not set, and the import stage needs the first day to import: set "download_start" in the config (e.g. "2023-01-01") or pass --download-start YYYY-MM[-DD]',
    ]);
    expect(r.stderr).not.toContain("--from");
    expect(existsSync(data)).toBe(false);
    const bad = itb(["pipeline", "--config", file, "--download-start", "2023-02-30"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain(
      'error: --download-start: expected a date such as "2023-02-01" (YYYY-MM, YYYY-MM-DD, an ISO time or epoch ms), found "2023-02-30"',
    );
  });

  it('an hourly config imports the archive\'s 1m klines with "interval": "1m" and merge aggregates them', () => {
    const { file } = write("hourly", (c) => {
      delete c.download_start;
      delete c.download_end;
      c.freq = "1h";
      c.data_sources = [{ folder: "{symbol}", interval: "1m" }];
    });
    const args = ["pipeline", "--config", file, "--archive", SAMPLE, "--to", "merge", "--json"];
    const r = itb([...args, "--download-start", "2023-03-01", "--download-end", "2023-03-03"]);
    expect(r.stderr).not.toMatch(/"level":50|^error:/m);
    expect(r.status).toBe(0);
    const summary = JSON.parse(r.stdout) as { markets: { ran: string[]; rows: number }[] };
    expect(summary.markets[0]).toMatchObject({ ran: ["import", "merge"], rows: 48 });
  });

  it('without "interval" the archive has nothing at 1h, and the error suggests the key', () => {
    const { file } = write("hourly-no-interval", (c) => {
      c.freq = "1h";
    });
    const r = itb(["pipeline", "--config", file, "--archive", SAMPLE, "--to", "merge", "--json"]);
    expect(r.status).toBe(1);
    const summary = JSON.parse(r.stdout) as { markets: { error: { stage: string; message: string } }[] };
    expect(summary.markets[0]?.error.stage).toBe("import");
    expect(summary.markets[0]?.error.message).toMatch(
      /^nothing published for BTCUSDT spot 1h in \[.*\) at .*; check the symbol, market and interval \(to import finer candles and let merge aggregate them to freq, set "interval" on data_sources\[0\], e.g\. "interval": "1m"\)$/,
    );
  });
});
