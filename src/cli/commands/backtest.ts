import type { Command } from "commander";
import { type ConfigOptions, type WriterOptions, withConfigOptions, withWaitOption } from "../options.js";

export function registerBacktestCommands(program: Command): void {
  withWaitOption(
    withConfigOptions(
      program
        .command("simulate")
        .summary("search the signal thresholds: backtest every cell of simulate_model.grid and rank them")
        .description(
          "Runs signal_sets up to the searched threshold rule on the predictions table, then backtests every " +
            "combination of simulate_model.grid with the config's backtest costs (fees, slippage, stops) on " +
            "worker threads, ranks the cells (rank_by, default profit % per month) and writes " +
            "<data_folder>/<symbol>/simulation.json and simulation.csv. Use walk-forward predictions " +
            "(itb predict-rolling): in-sample predictions (itb predict on the training rows) are refused unless " +
            "--allow-in-sample (or simulate_model.allow_in_sample) is given, and then every number is marked IN-SAMPLE. " +
            "--holdout DATE optimises before DATE and reports the chosen thresholds' result after it.",
        ),
    ),
  )
    .option("--input <file>", "predictions table to read (default: the config's predict_file_name)")
    .option("--holdout <date>", "optimise before this UTC date and report the best cell after it")
    .option("--workers <n>", "worker threads (default: one per core; small grids run in one thread)")
    .option("--allow-in-sample", "search in-sample predictions; every number is marked IN-SAMPLE")
    .addHelpText(
      "after",
      "\nExamples:\n  itb simulate --config configs/btcusdt-1m.jsonc\n  itb simulate --config configs/btcusdt-1m.jsonc --holdout 2023-10-01",
    )
    .action(
      async (
        opts: ConfigOptions &
          WriterOptions & { input?: string; holdout?: string; workers?: string; allowInSample?: boolean },
        cmd: Command,
      ) => {
        const { simulateAction } = await import("../actions/backtest.js");
        await simulateAction(opts, cmd);
      },
    );

  withWaitOption(
    withConfigOptions(
      program
        .command("report")
        .summary("backtest the chosen thresholds and write an HTML report, a PNG equity curve and a JSON")
        .description(
          "Runs signal_sets on the predictions table with the best thresholds of the last `itb simulate` " +
            "(simulation.json), or the config's own with --params config, backtests them with trades kept and " +
            "writes <data_folder>/<symbol>/report.html (candles with trades, score and thresholds, equity " +
            "against buy and hold, drawdown, metrics, monthly table, threshold heatmap; self-contained), " +
            "report.png (equity curve, for messages) and report.json (the same numbers). In-sample predictions " +
            "are refused unless --allow-in-sample (or simulate_model.allow_in_sample), which marks every number IN-SAMPLE.",
        ),
    ),
  )
    .option("--input <file>", "predictions table to read (default: the config's predict_file_name)")
    .option("--params <from>", 'thresholds from "best" (simulation.json, default when present) or "config"')
    .option("--allow-in-sample", "report on in-sample predictions; every number is marked IN-SAMPLE")
    .addHelpText("after", "\nExample:\n  itb report --config configs/btcusdt-1m.jsonc")
    .action(
      async (
        opts: ConfigOptions & WriterOptions & { input?: string; params?: string; allowInSample?: boolean },
        cmd: Command,
      ) => {
        const { reportAction } = await import("../actions/backtest.js");
        await reportAction(opts, cmd);
      },
    );
}
