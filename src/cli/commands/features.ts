import type { Command } from "commander";
import { type ConfigOptions, type WriterOptions, withConfigOptions, withWaitOption } from "../options.js";

export function registerFeatureCommands(program: Command): void {
  withWaitOption(
    withConfigOptions(
      program
        .command("features")
        .summary("compute every feature_sets entry on the merged table and write features")
        .description(
          "Runs the config's feature generators (talib, itbstats, custom) over the merged table, in order, " +
            "and writes the features table and the list of feature names. Logs timing and NaN counts.",
        ),
    ),
  )
    .addHelpText("after", "\nExample:\n  itb features --config configs/btcusdt-1m.jsonc")
    .action(async (opts: ConfigOptions & WriterOptions, cmd: Command) => {
      const { featuresAction } = await import("../actions/features.js");
      await featuresAction(opts, cmd);
    });

  withWaitOption(
    withConfigOptions(
      program
        .command("labels")
        .summary("compute every label_sets entry on the features table and write matrix")
        .description(
          "Runs the config's label generators (highlow2, highlow, topbot2) on the features table and writes " +
            "the training matrix. Labels look into the future by definition: the last rows have none (NaN).",
        ),
    ),
  )
    .addHelpText("after", "\nExample:\n  itb labels --config configs/btcusdt-1m.jsonc")
    .action(async (opts: ConfigOptions & WriterOptions, cmd: Command) => {
      const { labelsAction } = await import("../actions/features.js");
      await labelsAction(opts, cmd);
    });

  withConfigOptions(
    program
      .command("lookahead")
      .summary("prove the config's features never peek ahead and that streaming equals batch")
      .description(
        "For every feature column of the config (custom generators included): recomputes it on the " +
          "table truncated at checkpoints and compares with the full run (prefix invariance), and feeds " +
          "the rows one by one through the streaming path (batch/stream parity). Exit 1 if any fails.",
      ),
  )
    .option("--rows <n>", "check the last N rows of the merged table (default: all)")
    .option("--checkpoints <n>", "evenly spaced truncation points (rows inside gaps are added)", "12")
    .addHelpText("after", "\nExample:\n  itb lookahead --config configs/btcusdt-1m.jsonc --rows 50000")
    .action(async (opts: ConfigOptions & { rows?: string; checkpoints: string }, cmd: Command) => {
      const { lookaheadAction } = await import("../actions/features.js");
      await lookaheadAction(opts, cmd);
    });
}
