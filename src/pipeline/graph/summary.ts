import { plural } from "../../backtest/report/format.js";
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
  interrupted: boolean;
  ran: string[];
  skipped: string[];
  /** The stage stopped part-way by an interrupt, and the stages an interrupt kept from starting. */
  interrupted_stage: string | null;
  not_run: string[];
  rows: number | null;
  auc: Record<string, number | null> | null;
  auc_kind: string | null;
  best: Record<string, number> | null;
  profit_pct: number | null;
  holdout_profit_pct: number | null;
  /** The search ran on in-sample predictions (allowed by allow_in_sample): its numbers are marked. */
  in_sample: boolean;
  seconds: number;
  error: { stage: string; message: string; exit_code?: number } | null;
  /** The predictor's stage and why the plan chose it. */
  predictor: { stage: string; reason: string } | null;
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
    interrupted: m.interrupted,
    ran: m.stages.filter((s) => s.status === "ran").map((s) => s.name),
    skipped: m.stages.filter((s) => s.status === "skipped").map((s) => s.name),
    interrupted_stage: m.stages.find((s) => s.status === "interrupted")?.name ?? null,
    not_run: m.stages.filter((s) => s.status === "not-run").map((s) => s.name),
    rows: rowsFrom ?? null,
    auc: typeof auc === "object" && auc !== null ? (auc as Record<string, number | null>) : null,
    auc_kind: typeof predict?.summary?.kind === "string" ? predict.summary.kind : null,
    best: typeof best === "object" && best !== null ? (best as Record<string, number>) : null,
    profit_pct: num(simulate?.summary?.profit_pct),
    holdout_profit_pct: num(simulate?.summary?.holdout_profit_pct),
    in_sample: simulate?.summary?.in_sample === true,
    seconds: Math.round(m.seconds * 10) / 10,
    error: m.error ?? null,
    predictor: m.predictor ?? null,
  };
}

/**
 * Says when the predictions came from `predict` (the models on their own training rows), and
 * why the plan chose it over walk-forward predict-rolling: a config without rolling_predict
 * (say, misspelt) otherwise gives in-sample results without a word.
 */
function predictorNote(m: MarketRun, s: MarketSummary): string | undefined {
  if (s.predictor?.stage !== "predict" || !m.stages.some((x) => x.name === "predict")) return undefined;
  const advice =
    s.predictor.reason === "the config has no rolling_predict section"
      ? "add a rolling_predict section for walk-forward (out-of-sample) predictions"
      : "--predict rolling makes walk-forward (out-of-sample) predictions";
  return `${s.market}: the predictions come from predict (the models scored on the rows they were trained on: IN-SAMPLE) because ${s.predictor.reason}; ${advice}`;
}

function status(s: MarketSummary): string {
  if (s.ok) return "ok";
  if (s.interrupted)
    return s.interrupted_stage === null ? "INTERRUPTED" : `INTERRUPTED (${s.interrupted_stage})`;
  return `FAILED (${s.error?.stage ?? "?"})`;
}

/**
 * What an interrupted run finished, per interrupted market: "BTCUSDT 1m: finished import,
 * merge; interrupted: train; not run: predict-rolling, ...".
 */
export function describeInterrupted(run: PipelineRun): string {
  const parts = run.markets
    .filter((m) => m.interrupted)
    .map((m) => {
      const s = summarizeMarket(m);
      const finished = [...s.ran, ...s.skipped];
      return [
        `${s.market}: finished ${finished.length > 0 ? finished.join(", ") : "no stage"}`,
        ...(s.interrupted_stage === null ? [] : [`interrupted: ${s.interrupted_stage}`]),
        ...(s.not_run.length > 0 ? [`not run: ${s.not_run.join(", ")}`] : []),
      ].join("; ");
    });
  return parts.length > 0 ? parts.join(" | ") : "every market had finished";
}

function fmtAuc(s: MarketSummary): string {
  if (s.auc === null) return "-";
  const parts = Object.entries(s.auc).map(([k, v]) => `${k} ${v === null ? "n/a" : v.toFixed(3)}`);
  return `${parts.join(", ")}${s.auc_kind === "in-sample" ? " (IN-SAMPLE)" : ""}`;
}

/** The search's numbers carry the mark when they come from in-sample predictions. */
const mark = (s: MarketSummary): string => (s.in_sample ? " (IN-SAMPLE)" : "");

function fmtBest(s: MarketSummary): string {
  if (s.best === null) return "-";
  const best = Object.entries(s.best)
    .map(([k, v]) => `${k.replace(/_signal_threshold$/, "")} ${v}`)
    .join(", ");
  return `${best}${mark(s)}`;
}

function fmtProfit(s: MarketSummary): string {
  if (s.profit_pct === null) return "-";
  const main = `${s.profit_pct.toFixed(2)} %`;
  const holdout = s.holdout_profit_pct === null ? "" : ` (holdout ${s.holdout_profit_pct.toFixed(2)} %)`;
  return `${main}${holdout}${mark(s)}`;
}

/**
 * What the search's numbers call for: a profit that trails buy and hold (the holdout's, when
 * there is one), and a best cell resting on fewer trades than min_trades.
 */
function searchNotes(m: MarketRun, s: MarketSummary): string[] {
  const sim = done(m, "simulate")?.summary;
  if (sim === undefined) return [];
  const out: string[] = [];
  const holdout = s.holdout_profit_pct !== null;
  const profit = holdout ? s.holdout_profit_pct : s.profit_pct;
  const buyHold = num(holdout ? sim.holdout_buy_hold_pct : sim.buy_hold_pct);
  if (profit !== null && buyHold !== null && profit < buyHold) {
    out.push(
      `${s.market}: the ${holdout ? "holdout's" : "best cell's"} profit (${profit.toFixed(2)} %) trails buy and hold (${buyHold.toFixed(2)} %)`,
    );
  }
  const minTrades = num(sim.min_trades) ?? 0;
  const few = [
    ["the best cell", num(sim.trades)],
    ["the holdout", num(sim.holdout_trades)],
  ] as const;
  for (const [what, n] of few) {
    if (n !== null && n < minTrades) {
      out.push(
        `${s.market}: ${what} rests on only ${plural(n, "trade")} (fewer than min_trades ${minTrades}): too few to tell an edge from luck`,
      );
    }
  }
  return out;
}

/** The table's lines fit a terminal this wide: long cells wrap onto continuation lines. */
export const SUMMARY_WIDTH = 120;

export function formatSummary(run: PipelineRun): string {
  const rows = run.markets.map(summarizeMarket);
  const notes = run.markets.flatMap((m, i) => [
    predictorNote(m, rows[i] as MarketSummary),
    ...searchNotes(m, rows[i] as MarketSummary),
  ]);
  const table = [["MARKET", "STATUS", "RAN", "SKIPPED", "ROWS", "AUC", "BEST THRESHOLDS", "PROFIT", "TIME"]];
  for (const s of rows) {
    table.push([
      s.market,
      status(s),
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
    ...wrapText(
      "AUC: out-of-sample (walk-forward) unless marked IN-SAMPLE; PROFIT: the best cell of the threshold search, after fees; BEST THRESHOLDS and PROFIT are marked IN-SAMPLE when the predictions were in-sample",
      SUMMARY_WIDTH,
    ),
  );
  for (const note of notes) if (note !== undefined) lines.push(...wrapText(note, SUMMARY_WIDTH));
  for (const s of rows) {
    if (s.error !== null) {
      lines.push(...wrapText(`${s.market} failed at ${s.error.stage}: ${s.error.message}`, SUMMARY_WIDTH));
    }
    if (s.interrupted) {
      const stopped = s.interrupted_stage === null ? "" : `${s.interrupted_stage} stopped part-way; `;
      lines.push(
        ...wrapText(
          `${s.market} interrupted: ${stopped}not run: ${s.not_run.length > 0 ? s.not_run.join(", ") : "-"}`,
          SUMMARY_WIDTH,
        ),
      );
    }
  }
  lines.push(
    `${rows.length} market(s), ${run.failed} failed${run.interrupted > 0 ? `, ${run.interrupted} interrupted` : ""}, in ${run.seconds.toFixed(1)} s (${run.jobs} at a time, ${run.workers} worker thread(s) each)`,
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
    interrupted: run.interrupted,
  };
}

/** The HTML report of every market whose report stage ran or is up to date. */
export function reportFiles(run: PipelineRun): string[] {
  return run.markets.flatMap((m) => {
    const report = done(m, "report");
    return report?.outputs?.filter((f) => f.endsWith(".html")) ?? [];
  });
}
