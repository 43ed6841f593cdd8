import type { PipelineRun } from "./matrix.js";
import type { MarketRun, StageResult } from "./runner.js";
import { formatTable, wrapText } from "./table.js";

/**
 * The end-of-run table: per market, stages run and skipped, rows of the merged table, the
 * predictions' AUC per model (out-of-sample from predict-rolling; predict's flagged in-sample),
 * the best thresholds of the search with their profit after fees, and the duration. The
 * numbers come from the stage summaries, which a skipped stage takes from its manifest.
 */

export interface MarketSummary {
  market: string;
  ok: boolean;
  ran: string[];
  skipped: string[];
  rows: number | null;
  auc: Record<string, number | null> | null;
  auc_kind: string | null;
  best: Record<string, number> | null;
  profit_pct: number | null;
  holdout_profit_pct: number | null;
  seconds: number;
  error: { stage: string; message: string } | null;
}

function done(m: MarketRun, name: string): StageResult | undefined {
  return m.stages.find((s) => s.name === name && (s.status === "ran" || s.status === "skipped"));
}

function num(v: unknown): number | null {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

export function summarizeMarket(m: MarketRun): MarketSummary {
  const rowsFrom = ["merge", "features", "labels", "import", "download"]
    .map((n) => num(done(m, n)?.summary?.rows))
    .find((r) => r !== null);
  const predict = done(m, "predict-rolling") ?? done(m, "predict");
  const simulate = done(m, "simulate");
  const auc = predict?.summary?.auc;
  const best = simulate?.summary?.best;
  return {
    market: `${m.symbol} ${m.freq}`,
    ok: m.ok,
    ran: m.stages.filter((s) => s.status === "ran").map((s) => s.name),
    skipped: m.stages.filter((s) => s.status === "skipped").map((s) => s.name),
    rows: rowsFrom ?? null,
    auc: typeof auc === "object" && auc !== null ? (auc as Record<string, number | null>) : null,
    auc_kind: typeof predict?.summary?.kind === "string" ? predict.summary.kind : null,
    best: typeof best === "object" && best !== null ? (best as Record<string, number>) : null,
    profit_pct: num(simulate?.summary?.profit_pct),
    holdout_profit_pct: num(simulate?.summary?.holdout_profit_pct),
    seconds: Math.round(m.seconds * 10) / 10,
    error: m.error ?? null,
  };
}

function fmtAuc(s: MarketSummary): string {
  if (s.auc === null) return "-";
  const parts = Object.entries(s.auc).map(([k, v]) => `${k} ${v === null ? "n/a" : v.toFixed(3)}`);
  return `${parts.join(", ")}${s.auc_kind === "in-sample" ? " (IN-SAMPLE)" : ""}`;
}

function fmtBest(s: MarketSummary): string {
  if (s.best === null) return "-";
  return Object.entries(s.best)
    .map(([k, v]) => `${k.replace(/_signal_threshold$/, "")} ${v}`)
    .join(", ");
}

function fmtProfit(s: MarketSummary): string {
  if (s.profit_pct === null) return "-";
  const main = `${s.profit_pct.toFixed(2)} %`;
  return s.holdout_profit_pct === null ? main : `${main} (holdout ${s.holdout_profit_pct.toFixed(2)} %)`;
}

/** The table's lines fit a terminal this wide: long cells wrap onto continuation lines. */
export const SUMMARY_WIDTH = 120;

export function formatSummary(run: PipelineRun): string {
  const rows = run.markets.map(summarizeMarket);
  const table = [["MARKET", "STATUS", "RAN", "SKIPPED", "ROWS", "AUC", "BEST THRESHOLDS", "PROFIT", "TIME"]];
  for (const s of rows) {
    table.push([
      s.market,
      s.ok ? "ok" : `FAILED (${s.error?.stage ?? "?"})`,
      String(s.ran.length),
      String(s.skipped.length),
      s.rows === null ? "-" : s.rows.toLocaleString("en-US"),
      fmtAuc(s),
      fmtBest(s),
      fmtProfit(s),
      `${s.seconds.toFixed(1)} s`,
    ]);
  }
  const lines = formatTable(table, SUMMARY_WIDTH);
  lines.push(
    "AUC: out-of-sample (walk-forward) unless marked IN-SAMPLE; PROFIT: the best cell of the threshold search, after fees",
  );
  for (const s of rows) {
    if (s.error !== null) {
      lines.push(...wrapText(`${s.market} failed at ${s.error.stage}: ${s.error.message}`, SUMMARY_WIDTH));
    }
  }
  const failed = rows.filter((s) => !s.ok).length;
  lines.push(
    `${rows.length} market(s), ${failed} failed, in ${run.seconds.toFixed(1)} s (${run.jobs} at a time, ${run.workers} worker thread(s) each)`,
  );
  return lines.join("\n");
}

export function summaryJson(run: PipelineRun): object {
  return {
    markets: run.markets.map((m) => ({ ...summarizeMarket(m), stages: m.stages })),
    jobs: run.jobs,
    workers: run.workers,
    seconds: Math.round(run.seconds * 1000) / 1000,
    failed: run.failed,
  };
}

/** The HTML report of every market whose report stage ran or is up to date. */
export function reportFiles(run: PipelineRun): string[] {
  return run.markets.flatMap((m) => {
    const report = done(m, "report");
    return report?.outputs?.filter((f) => f.endsWith(".html")) ?? [];
  });
}
