import type { Command } from "commander";
import { freqArgument } from "../options.js";

export function registerConfigCommands(program: Command): void {
  const config = program.command("config").summary("check a config or export its JSON Schema");

  config
    .command("check")
    .summary("validate a config and print it resolved (defaults filled, secrets masked)")
    .argument("<file>", "JSONC config file")
    .option("--symbol <symbol>", "override the config's symbol")
    .option("--freq <freq>", "override the config's frequency", freqArgument)
    .addHelpText("after", "\nExample:\n  itb config check configs/btcusdt-1m.jsonc")
    .action(async (file: string, opts: { symbol?: string; freq?: string }, cmd: Command) => {
      const { configCheckAction } = await import("../actions/config.js");
      await configCheckAction(file, opts, cmd);
    });

  config
    .command("schema")
    .summary("write the JSON Schema of configs, for editor completion and checking")
    .option("-o, --out <file>", "write to this file instead of stdout")
    .addHelpText(
      "after",
      '\nExample:\n  itb config schema --out itb.schema.json   # then add "$schema": "./itb.schema.json" to a config',
    )
    .action(async (opts: { out?: string }) => {
      const { configSchemaAction } = await import("../actions/config.js");
      await configSchemaAction(opts);
    });
}
