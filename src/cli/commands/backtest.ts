import type { Command } from "commander";
import { UsageError } from "../../core/errors.js";
import { formatSimulateRun, runSimulate } from "../../pipeline/backtestStages.js";
import { formatReportRun, runReport } from "../../pipeline/reportStage.js";
import { type ConfigOptions, configOf, contextOf, withConfigOptions } from "../context.js";

function workersOf(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`--workers must be a positive integer, got "${value}"`);
  return n;
}

export function registerBacktestCommands(program: Command): void {
  withConfigOptions(
    program
      .command("simulate")
      .summary("search the signal thresholds: backtest every cell of simulate_model.grid and rank them")
      .description(
        "Runs signal_sets up to the searched threshold rule on the predictions table, then backtests every " +
          "combination of simulate_model.grid with the config's backtest costs (fees, slippage, stops) on " +
          "worker threads, ranks the cells (rank_by, default profit % per month) and writes " +
          "<data_folder>/<symbol>/simulation.json and simulation.csv. Use walk-forward predictions " +
          "(itb predict-rolling): thresholds chosen on in-sample predictions are optimistic, and itb warns. " +
          "--holdout DATE optimises before DATE and reports the chosen thresholds' result after it.",
      ),
  )
    .option("--input <file>", "predictions table to read (default: the config's predict_file_name)")
    .option("--holdout <date>", "optimise before this UTC date and report the best cell after it")
    .option("--workers <n>", "worker threads (default: one per core; small grids run in one thread)")
    .addHelpText(
      "after",
      "\nExamples:\n  itb simulate --config configs/btcusdt-1m.jsonc\n  itb simulate --config configs/btcusdt-1m.jsonc --holdout 2023-10-01",
    )
    .action(
      async (opts: ConfigOptions & { input?: string; holdout?: string; workers?: string }, cmd: Command) => {
        const ctx = contextOf(cmd);
        const { config, file } = configOf(opts, ctx.log);
        const workers = workersOf(opts.workers);
        const run = await runSimulate(config, file, {
          log: ctx.log,
          ...(opts.input !== undefined ? { input: opts.input } : {}),
          ...(opts.holdout !== undefined ? { holdout: opts.holdout } : {}),
          ...(workers !== undefined ? { workers } : {}),
        });
        process.stdout.write(`${formatSimulateRun(run)}\n`);
      },
    );

  withConfigOptions(
    program
      .command("report")
      .summary("backtest the chosen thresholds and write an HTML report, a PNG equity curve and a JSON")
      .description(
        "Runs signal_sets on the predictions table with the best thresholds of the last `itb simulate` " +
          "(simulation.json), or the config's own with --params config, backtests them with trades kept and " +
          "writes <data_folder>/<symbol>/report.html (candles with trades, score and thresholds, equity " +
          "against buy and hold, drawdown, metrics, monthly table, threshold heatmap; self-contained), " +
          "report.png (equity curve, for messages) and report.json (the same numbers).",
      ),
  )
    .option("--input <file>", "predictions table to read (default: the config's predict_file_name)")
    .option("--params <from>", 'thresholds from "best" (simulation.json, default when present) or "config"')
    .addHelpText("after", "\nExample:\n  itb report --config configs/btcusdt-1m.jsonc")
    .action(async (opts: ConfigOptions & { input?: string; params?: string }, cmd: Command) => {
      const ctx = contextOf(cmd);
      if (opts.params !== undefined && opts.params !== "best" && opts.params !== "config") {
        throw new UsageError(`--params must be "best" or "config", got "${opts.params}"`);
      }
      const { config, file } = configOf(opts, ctx.log);
      const run = await runReport(config, file, {
        log: ctx.log,
        now: Date.now(),
        ...(opts.input !== undefined ? { input: opts.input } : {}),
        ...(opts.params !== undefined ? { params: opts.params as "best" | "config" } : {}),
      });
      process.stdout.write(`${formatReportRun(run)}\n`);
    });
}
