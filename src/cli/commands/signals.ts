import type { Command } from "commander";
import { formatSignalsRun, runSignals } from "../../pipeline/signalStages.js";
import { type ConfigOptions, configOf, contextOf, withConfigOptions } from "../context.js";
import { marketWriter, runWriter, type WriterOptions, withWaitOption } from "../writer.js";

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
      const ctx = contextOf(cmd);
      const { config, file } = configOf(opts, ctx.log);
      await runWriter(ctx, config, opts, marketWriter("signals"), async () => {
        const run = await runSignals(config, file, ctx.log);
        process.stdout.write(`${formatSignalsRun(run)}\n`);
      });
    });
}
