import type { Command } from "commander";
import { formatSignalsRun, runSignals } from "../../pipeline/signalStages.js";
import { configOf, contextOf } from "../context.js";
import type { ConfigOptions, WriterOptions } from "../options.js";
import { marketWriter, runWriter } from "../writer.js";

/** `itb signals`. */
export async function signalsAction(opts: ConfigOptions & WriterOptions, cmd: Command): Promise<void> {
  const ctx = contextOf(cmd);
  const { config, file } = configOf(opts, ctx.log);
  await runWriter(ctx, config, opts, marketWriter("signals"), async () => {
    const run = await runSignals(config, file, ctx.log);
    process.stdout.write(`${formatSignalsRun(run)}\n`);
  });
}
