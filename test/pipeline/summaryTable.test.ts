import { describe, expect, it } from "vitest";
import type { PipelineRun } from "../../src/pipeline/graph/matrix.js";
import type { MarketRun, StageResult } from "../../src/pipeline/graph/runner.js";
import { formatSummary, reportFiles, SUMMARY_WIDTH } from "../../src/pipeline/graph/summary.js";
import { formatTable, wrapText } from "../../src/pipeline/graph/table.js";

/** The end-of-run table fits a 120-column terminal whatever the markets' models and errors. */

const ran = (name: string, summary: Record<string, unknown> = {}, outputs?: string[]): StageResult => ({
  name,
  status: "ran",
  reason: "no manifest: first run, or the last one did not finish",
  seconds: 1,
  summary,
  ...(outputs === undefined ? {} : { outputs }),
});

function market(symbol: string, freq: string, stages: StageResult[], error?: MarketRun["error"]): MarketRun {
  return {
    symbol,
    freq,
    ok: error === undefined,
    interrupted: false,
    stages,
    seconds: 41.8,
    ...(error === undefined ? {} : { error }),
  };
}

/** Three models per label, predictions in-sample, a holdout: the widest cells the table has. */
const wide = market("BTCUSDT", "15m", [
  ran("merge", { rows: 128_160 }),
  ran("predict", {
    kind: "in-sample",
    auc: {
      high_20_lc: 0.7363,
      low_20_lc: 0.597,
      high_20_gb: 0.7012,
      low_20_gb: 0.6123,
      high_20_nn: 0.69,
      low_20_nn: 0.6,
    },
  }),
  ran("simulate", {
    best: { buy_signal_threshold: 0.02, sell_signal_threshold: -0.05 },
    profit_pct: 10.206,
    holdout_profit_pct: -3.2,
  }),
  ran("report", {}, ["/data/BTCUSDT/report.html", "/data/BTCUSDT/report.png", "/data/BTCUSDT/report.json"]),
]);

const failed = market("ETHUSDT", "15m", [ran("merge", { rows: 128_160 })], {
  stage: "predict-rolling",
  message:
    "/home/someone/itb/data/ETHUSDT/matrix.parquet: file not found; run `itb labels` first (the feature and label stages write it before any model is trained)",
});

const run: PipelineRun = {
  markets: [wide, failed],
  jobs: 1,
  workers: 2,
  seconds: 83.6,
  failed: 1,
  interrupted: 0,
};

describe("the summary table", () => {
  it("wraps long cells between list items and before remarks so that every line fits 120 columns", () => {
    const lines = formatSummary(run).split("\n");
    for (const l of lines) expect(l.length, l).toBeLessThanOrEqual(SUMMARY_WIDTH);
    expect(lines).toEqual([
      "MARKET       STATUS             RAN  SKIPPED  ROWS     AUC                BEST THRESHOLDS  PROFIT             TIME",
      "BTCUSDT 15m  ok                 4    0        128,160  high_20_lc 0.736,  buy 0.02,        10.21 %            41.8 s",
      "                                                       low_20_lc 0.597,   sell -0.05       (holdout -3.20 %)",
      "                                                       high_20_gb 0.701,",
      "                                                       low_20_gb 0.612,",
      "                                                       high_20_nn 0.690,",
      "                                                       low_20_nn 0.600",
      "                                                       (IN-SAMPLE)",
      "ETHUSDT 15m  FAILED             1    0        128,160  -                  -                -                  41.8 s",
      "             (predict-rolling)",
      "AUC: out-of-sample (walk-forward) unless marked IN-SAMPLE; PROFIT: the best cell of the threshold search, after fees;",
      "  BEST THRESHOLDS and PROFIT are marked IN-SAMPLE when the predictions were in-sample",
      "ETHUSDT 15m failed at predict-rolling: /home/someone/itb/data/ETHUSDT/matrix.parquet: file not found; run `itb labels`",
      "  first (the feature and label stages write it before any model is trained)",
      "2 market(s), 1 failed, in 83.6 s (1 at a time, 2 worker thread(s) each)",
    ]);
  });

  it("a table that fits is laid out as before: columns padded to their widest cell, two spaces apart", () => {
    expect(
      formatTable(
        [
          ["MARKET", "AUC", "TIME"],
          ["BTCUSDT 1m", "high_10_lc 0.712, low_10_lc 0.655", "2.1 s"],
        ],
        120,
      ),
    ).toEqual([
      "MARKET      AUC                                TIME",
      "BTCUSDT 1m  high_10_lc 0.712, low_10_lc 0.655  2.1 s",
    ]);
    // Nothing to break: the line stays whole rather than splitting a word.
    expect(formatTable([["a-very-long-cell", "another-one"]], 10)).toEqual(["a-very-long-cell  another-one"]);
    expect(wrapText("error: x\n  detail one two three", 12)).toEqual([
      "error: x",
      "  detail one",
      "    two",
      "    three",
    ]);
  });

  it("names the report of every market whose report stage ran or is up to date", () => {
    expect(reportFiles(run)).toEqual(["/data/BTCUSDT/report.html"]);
  });
});
