import type { Command } from "commander";
import { type ConfigOptions, type WriterOptions, withConfigOptions, withWaitOption } from "../options.js";

export function registerSignalCommands(program: Command): void {
  withWaitOption(
    withConfigOptions(
      program
        .command("signals")
        .summary("apply every signal_sets entry to the predictions and write the signals table")
        .description(
          "Runs the config's signal generators (smoothen, combine, threshold_rule, threshold_rule2, custom) " +
            "in order on the predictions table and writes the signals table: time, the candle columns, " +
            "the model scores and the generated columns (buy/sell signals are 0/1). Prints how many rows " +
            "each buy and sell column fires on. See docs/signals.md.",
        ),
    ),
  )
    .addHelpText("after", "\nExample:\n  itb signals --config configs/btcusdt-1m.jsonc")
    .action(async (opts: ConfigOptions & WriterOptions, cmd: Command) => {
      const { signalsAction } = await import("../actions/signals.js");
      await signalsAction(opts, cmd);
    });
}
