import { Command, CommanderError, Option } from "commander";
import { ConfigError, InterruptedError, ItbError } from "../core/errors.js";
import { registerBacktestCommands } from "./commands/backtest.js";
import { registerConfigCommands } from "./commands/config.js";
import { registerControlCommands } from "./commands/control.js";
import { registerDataCommands } from "./commands/data.js";
import { registerDemoCommand } from "./commands/demo.js";
import { registerDownloadCommand } from "./commands/download.js";
import { registerExperimentsCommands } from "./commands/experiments.js";
import { registerFeatureCommands } from "./commands/features.js";
import { registerLedgerCommands } from "./commands/ledger.js";
import { registerModelCommands } from "./commands/models.js";
import { registerPipelineCommand } from "./commands/pipeline.js";
import { registerServeCommand } from "./commands/serve.js";
import { registerSignalCommands } from "./commands/signals.js";
import { registerSimCommand } from "./commands/sim.js";
import { registerTelegramSimCommand } from "./commands/telegramSim.js";
import { registerTuneCommand } from "./commands/tune.js";
import { registerUiCommand } from "./commands/ui.js";
import { registerWorkerCommand } from "./commands/worker.js";
import { stderrLine } from "./terminalLine.js";
import { VERSION } from "./version.js";

export function buildProgram(): Command {
  const program = new Command("itb")
    .description("Intelligent trading bot: candles to ML signals, honest backtests and live trading")
    .version(VERSION)
    .addOption(
      new Option("--log-level <level>", "log level")
        .choices(["debug", "info", "warn", "error"])
        .default("info"),
    )
    .addOption(
      new Option("--log-format <format>", "log format on stderr (auto: pretty on a terminal, JSON otherwise)")
        .choices(["auto", "json", "pretty"])
        .default("auto"),
    )
    .showHelpAfterError()
    .exitOverride();
  registerDemoCommand(program);
  registerDataCommands(program);
  registerDownloadCommand(program);
  registerFeatureCommands(program);
  registerSimCommand(program);
  registerTelegramSimCommand(program);
  registerConfigCommands(program);
  registerModelCommands(program);
  registerSignalCommands(program);
  registerBacktestCommands(program);
  registerTuneCommand(program);
  registerServeCommand(program);
  registerUiCommand(program);
  registerPipelineCommand(program);
  registerWorkerCommand(program);
  registerLedgerCommands(program);
  registerControlCommands(program);
  registerExperimentsCommands(program);
  for (const cmd of program.commands) {
    cmd.exitOverride();
    for (const sub of cmd.commands) sub.exitOverride();
  }
  return program;
}

/**
 * Runs the CLI; user mistakes end as one clear message and status 2 (or the error's own code).
 * A command may also report failure by setting process.exitCode (a status the caller then
 * writes back into it, so it must not be lost here).
 */
export async function main(argv: readonly string[]): Promise<number> {
  const stderr = stderrLine();
  try {
    await buildProgram().parseAsync(argv as string[]);
    const set = Number(process.exitCode ?? 0);
    return Number.isInteger(set) ? set : 1;
  } catch (err) {
    // A bar or stage line still drawn would end up in front of the message (and the prompt).
    stderr.show("");
    if (err instanceof CommanderError) {
      // Help and version output are successful exits; usage errors were already printed.
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof InterruptedError) {
      process.stderr.write(`${err.message}\n`);
      return err.exitCode;
    }
    if (err instanceof ItbError) {
      stderr.print(`error: ${err.message}`);
      if (err instanceof ConfigError && err.issues.length > 0 && !err.message.includes(err.issues[0] ?? "")) {
        for (const i of err.issues) stderr.print(`  ${i}`);
      }
      return err.exitCode;
    }
    // Anything else is a bug in itb, so the stack is worth showing.
    stderr.print(`internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return 1;
  } finally {
    stderr.show("");
  }
}
