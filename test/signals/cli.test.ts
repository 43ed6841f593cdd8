import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { Frame } from "../../src/core/frame.js";
import { readFrame, writeFrame } from "../../src/data/store/index.js";
import { runSignalSets } from "../../src/signals/index.js";
import { sampleCandles } from "../helpers/candles.js";
import { itb } from "../helpers/cli.js";

/**
 * `itb signals` end to end through the compiled CLI: a predictions table (real BTCUSDT 1m
 * candles of the bundled sample with two model-like scores, as `itb predict` writes it) in a
 * temporary data folder → the signals table, compared with the in-process batch.
 */

const SIGNAL_SETS = [
  { generator: "smoothen", config: { columns: "high_20_lc", names: "high_20_s", window: 3 } },
  { generator: "smoothen", config: { columns: "low_20_lc", names: "low_20_s", window: 3 } },
  {
    generator: "combine",
    config: {
      columns: ["high_20_s", "low_20_s"],
      names: "trade_score",
      combine: "difference",
      coefficient: 1.0,
      constant: 0.0,
    },
  },
  {
    generator: "threshold_rule",
    config: {
      columns: "trade_score",
      names: ["buy_signal_column", "sell_signal_column"],
      parameters: { buy_signal_threshold: 0.05, sell_signal_threshold: -0.05 },
    },
  },
];

function config(dataFolder: string, signal_sets: unknown = SIGNAL_SETS): string {
  return JSON.stringify({ symbol: "BTCUSDT", freq: "1m", data_folder: dataFolder, signal_sets }, null, 2);
}

describe("itb signals", () => {
  let dir: string;
  let data: string;
  let predictions: Frame;
  const write = (name: string, signal_sets?: unknown) => {
    const file = join(dir, name);
    writeFileSync(file, config(data, signal_sets));
    return file;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "itb-cli-signals-"));
    data = join(dir, "data");
    const candles = (await sampleCandles(["2023-03"])).slice(0, 5000);
    const close = candles.get("close");
    const n = candles.length;
    // Model-like scores in [0, 1] from the next-to-last 10-bar move (a real, noisy series).
    const high = new Float64Array(n).fill(Number.NaN);
    const low = new Float64Array(n).fill(Number.NaN);
    for (let i = 10; i < n; i++) {
      const r = ((close[i] as number) / (close[i - 10] as number) - 1) * 100;
      high[i] = 1 / (1 + Math.exp(-4 * r)) - 0.4;
      low[i] = 1 / (1 + Math.exp(4 * r)) - 0.4;
    }
    predictions = new Frame(candles.time);
    for (const c of ["open", "high", "low", "close", "volume"]) predictions.set(c, candles.get(c));
    predictions.set("high_20", new Float64Array(n).fill(0));
    predictions.set("high_20_lc", high);
    predictions.set("low_20_lc", low);
    await writeFrame(join(data, "BTCUSDT", "predictions.parquet"), predictions);
  });

  it("writes time, candles, predictions and the signal columns, equal to the batch", async () => {
    const r = itb(["signals", "--log-format", "json", "--config", write("ok.json")]);
    expect(r.stderr).not.toContain("internal error");
    expect(r.status, r.stderr).toBe(0);

    const expected = predictions.slice(0);
    runSignalSets(expected, SIGNAL_SETS);
    const ones = (c: string) => expected.get(c).reduce((a, v) => a + (v === 1 ? 1 : 0), 0);
    const buys = ones("buy_signal_column");
    const sells = ones("sell_signal_column");
    expect(buys).toBeGreaterThan(0);
    expect(sells).toBeGreaterThan(0);
    expect(r.stdout).toContain("4 signal set(s) on 5,000 rows of");
    expect(r.stdout).toContain("[2] combine: trade_score");
    expect(r.stdout).toContain(`buy buy_signal_column: ${buys.toLocaleString("en-US")} of 5,000 rows`);
    expect(r.stdout).toContain(`sell sell_signal_column: ${sells.toLocaleString("en-US")} of 5,000 rows`);
    expect(r.stdout).toContain(`wrote ${join(data, "BTCUSDT", "signals.parquet")}`);

    const written = await readFrame(join(data, "BTCUSDT", "signals.parquet"));
    expect(written.columnNames).toEqual([
      "open",
      "high",
      "low",
      "close",
      "volume",
      "high_20",
      "high_20_lc",
      "low_20_lc",
      "high_20_s",
      "low_20_s",
      "trade_score",
      "buy_signal_column",
      "sell_signal_column",
    ]);
    expect([...written.time]).toEqual([...expected.time]);
    for (const c of written.columnNames) expect(written.get(c), c).toEqual(expected.get(c));
  });

  it("a config mistake exits 2 with the JSON path, before reading data", () => {
    const bad = [SIGNAL_SETS[0], { generator: "combine", config: { columns: ["high_20_s"], names: "s" } }];
    // The data folder has no predictions: the config is checked first.
    writeFileSync(join(dir, "bad.json"), config(join(dir, "no-data"), bad));
    const r = itb(["signals", "--config", join(dir, "bad.json")]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(
      "error: signal_sets[1].config.columns: expected a list of exactly 2 column names",
    );
    expect(r.stderr).not.toContain("    at ");
  });

  it("a column missing from the predictions exits 1 naming it and the columns present", () => {
    const missing = [{ ...SIGNAL_SETS[3], config: { ...SIGNAL_SETS[3]?.config, columns: "trade_score" } }];
    const r = itb(["signals", "--config", write("missing.json", missing)]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(
      'error: signal_sets[0] (threshold_rule): column "trade_score" not found; columns are: open, high, low, close, volume, high_20, high_20_lc, low_20_lc',
    );
  });

  it("without predictions it says which command to run; empty signal_sets is a config error", () => {
    const other = JSON.parse(config(join(dir, "empty-data")));
    writeFileSync(join(dir, "nodata.json"), JSON.stringify(other));
    const r = itb(["signals", "--config", join(dir, "nodata.json")]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(
      "predictions.parquet: file not found: run itb predict or itb predict-rolling first",
    );

    const e = itb(["signals", "--config", write("empty.json", [])]);
    expect(e.status).toBe(2);
    expect(e.stderr).toContain("error: signal_sets: empty, nothing to compute");
  });

  it('runs a custom "<module>:<export>" generator, loaded relative to the config file', async () => {
    writeFileSync(
      join(dir, "half.mjs"),
      `export const half = {
  inputs: (c) => [c.column],
  outputs: (c) => [c.column + "_half"],
  warmup: () => 0,
  batch: (frame, c) => [frame.get(c.column).map((v) => v / 2)],
  stream: () => ({ next: (v, out) => { out[0] = v[0] / 2; } }),
};\n`,
    );
    const sets = [{ generator: "./half.mjs:half", config: { column: "high_20_lc" } }];
    const r = itb(["signals", "--config", write("custom.json", sets)]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("[0] ./half.mjs:half: high_20_lc_half");
    const written = await readFrame(join(data, "BTCUSDT", "signals.parquet"));
    expect(written.get("high_20_lc_half")).toEqual(predictions.get("high_20_lc").map((v) => v / 2));
  });

  it("--help shows an example", () => {
    const r = itb(["signals", "--help"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("Example:\n  itb signals --config configs/btcusdt-1m.jsonc");
  });
});
