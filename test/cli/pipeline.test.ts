import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { itb } from "../helpers/cli.js";
import { SAMPLE } from "../helpers/paths.js";
import { IMPORT_ROLLING_STAGES, smallPipelineConfig } from "../helpers/pipelineConfig.js";

/**
 * `itb pipeline` through the compiled CLI on the bundled sample: two markets, one of which has
 * no archive files (XRPUSDT is not in the sample), then a no-op run with the JSON summary.
 */

let dir = "";
let config = "";

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "itb-cli-pipeline-"));
  config = join(dir, "config.jsonc");
  writeFileSync(
    config,
    `// data_sources defaults to one source named after the symbol, so each market imports its own
${JSON.stringify(smallPipelineConfig(join(dir, "data")), null, 2)}
`,
  );
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

interface JsonSummary {
  failed: number;
  markets: {
    market: string;
    ok: boolean;
    ran: string[];
    skipped: string[];
    rows: number | null;
    auc: Record<string, number> | null;
    best: Record<string, number> | null;
    profit_pct: number | null;
    error: { stage: string; message: string } | null;
  }[];
}

/** A summary table's row and its continuation lines (a wrapped cell goes on below, indented). */
function rowBlock(stdout: string, start: string): string {
  const lines = stdout.split("\n");
  const i = lines.findIndex((l) => l.startsWith(start));
  if (i < 0) return "";
  let j = i + 1;
  while (j < lines.length && /^\s/.test(lines[j] as string) && (lines[j] as string).trim() !== "") j++;
  return lines.slice(i, j).join("\n");
}

/** The summary's note lines with their wrapped continuations joined again. */
function notes(stdout: string): string {
  return stdout.replace(/\n {2}(?=\S)/g, " ");
}

describe("itb pipeline", () => {
  it("runs two markets; the one without data fails, the other completes, and the exit status is 1", () => {
    const r = itb([
      "pipeline",
      "--config",
      config,
      "--archive",
      SAMPLE,
      "--symbols",
      "BTCUSDT,XRPUSDT",
      "--jobs",
      "2",
    ]);
    expect(r.stderr).toContain("error: 1 of 2 market(s) failed");
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(
      /^MARKET\s+STATUS\s+RAN\s+SKIPPED\s+ROWS\s+AUC\s+BEST THRESHOLDS\s+PROFIT\s+TIME$/m,
    );
    // The AUC list continues on the next line when the row would be wider than 120 columns.
    expect(r.stdout).toMatch(
      /^BTCUSDT 1m\s+ok\s+9\s+0\s+44,640\s+high_10_lc 0\.\d{3},( low_10_lc 0\.\d{3})?\s+buy -?[\d.]+, sell -?[\d.]+\s+-?\d+\.\d\d %\s+[\d.]+ s$/m,
    );
    expect(r.stdout).toMatch(/\blow_10_lc 0\.\d{3}\b/);
    for (const l of r.stdout.split("\n")) expect(l.length, l).toBeLessThanOrEqual(120);
    expect(r.stdout).toMatch(/^XRPUSDT 1m\s+FAILED \(import\)\s+0\s+0\s+-/m);
    expect(r.stdout).toMatch(/^XRPUSDT 1m failed at import: nothing published for XRPUSDT spot 1m/m);
    expect(r.stdout).toContain("2 market(s), 1 failed");
    // Not a terminal: structured log lines, one per stage, with the market's fields.
    const stageLines = r.stderr
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.msg === "stage done" || l.msg === "stage failed");
    expect(stageLines.filter((l) => l.symbol === "BTCUSDT").map((l) => l.stage)).toEqual(
      IMPORT_ROLLING_STAGES,
    );
    expect(stageLines.find((l) => l.symbol === "XRPUSDT")).toMatchObject({
      stage: "import",
      status: "failed",
      freq: "1m",
    });
  });

  it("a second run skips every stage; --json prints the summary; --progress lines prints a line per stage", () => {
    const r = itb(["pipeline", "--config", config, "--archive", SAMPLE, "--json", "--progress", "lines"]);
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout) as JsonSummary;
    expect(j.failed).toBe(0);
    const m = j.markets[0];
    expect(m?.market).toBe("BTCUSDT 1m");
    expect(m?.ran).toEqual([]);
    expect(m?.skipped).toHaveLength(9);
    expect(m?.rows).toBe(44_640);
    expect(Object.keys(m?.auc ?? {}).sort()).toEqual(["high_10_lc", "low_10_lc"]);
    expect(typeof m?.profit_pct).toBe("number");
    expect(r.stderr).toContain("[BTCUSDT 1m] features ... skipped (up to date)");
    expect(r.stderr.split("\n").filter((l) => l.startsWith("[BTCUSDT 1m]"))).toHaveLength(9);
  });

  it("without rolling_predict, predict's in-sample predictions stop simulate (status 2) unless allowed, then are marked", () => {
    const { rolling_predict: _, ...noRolling } = smallPipelineConfig(join(dir, "in-sample")) as Record<
      string,
      unknown
    >;
    const file = join(dir, "in-sample.json");
    writeFileSync(file, JSON.stringify(noRolling, null, 2));
    const r = itb(["pipeline", "--config", file, "--archive", SAMPLE]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("error: 1 of 1 market(s) failed");
    const failedRow = rowBlock(r.stdout, "BTCUSDT 1m  ");
    expect(failedRow).toMatch(/^BTCUSDT 1m\s+FAILED \(simulate\)\s+7\s+0\s+44,640\s+high_10_lc/);
    expect(failedRow).toContain("(IN-SAMPLE)");
    expect(notes(r.stdout)).toContain(
      "BTCUSDT 1m: the predictions come from predict (the models scored on the rows they were trained on: IN-SAMPLE) because the config has no rolling_predict section; add a rolling_predict section for walk-forward (out-of-sample) predictions",
    );
    expect(notes(r.stdout)).toMatch(
      /^BTCUSDT 1m failed at simulate: .*predictions\.parquet: the predictions are IN-SAMPLE: .* or accept results marked IN-SAMPLE with "simulate_model": \{ "allow_in_sample": true \} in the config\.$/m,
    );
    expect(existsSync(join(dir, "in-sample", "BTCUSDT", "simulation.json"))).toBe(false);

    const sm = noRolling.simulate_model as object;
    writeFileSync(file, JSON.stringify({ ...noRolling, simulate_model: { ...sm, allow_in_sample: true } }));
    const allowed = itb(["pipeline", "--config", file, "--archive", SAMPLE]);
    expect(allowed.status).toBe(0);
    // every number the search gave is marked: AUC, thresholds and profit (their cells may wrap)
    const okRow = rowBlock(allowed.stdout, "BTCUSDT 1m  ");
    expect(okRow).toMatch(/^BTCUSDT 1m\s+ok\s+2\s+7\s+44,640\s+high_10_lc 0\.\d{3},/);
    expect(okRow.match(/\(IN-SAMPLE\)/g)).toHaveLength(3);
    expect(allowed.stdout).toContain("BTCUSDT 1m: the predictions come from predict");
    const report = JSON.parse(readFileSync(join(dir, "in-sample", "BTCUSDT", "report.json"), "utf8")) as {
      in_sample: boolean;
    };
    expect(report.in_sample).toBe(true);
  });

  it("names a bad stage as a usage error (status 2)", () => {
    const r = itb(["pipeline", "--config", config, "--from", "featurez"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--from: unknown stage "featurez"');
  });
});
