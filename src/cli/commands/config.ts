import type { Command } from "commander";
import { configJsonSchema, loadConfig, maskSecrets } from "../../config/index.js";
import { writeFileAtomic } from "../../data/atomic.js";
import { configuredStages, preflight } from "../../pipeline/preflight.js";
import { contextOf, freqArgument } from "../context.js";

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
      const ctx = contextOf(cmd);
      const loaded = loadConfig(file, {
        ...(opts.symbol ? { symbol: opts.symbol } : {}),
        ...(opts.freq ? { freq: opts.freq } : {}),
      });
      for (const w of loaded.warnings) ctx.log.warn({ config: loaded.file }, w);
      // Generators loaded and every set compiled, as the pipeline does before its first stage.
      await preflight(loaded.config, loaded.file, configuredStages(loaded.config));
      process.stdout.write(
        `${JSON.stringify({ ...maskSecrets(loaded.config), config_hash: loaded.hash }, null, 2)}\n`,
      );
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
      const text = `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
      if (opts.out) await writeFileAtomic(opts.out, text);
      else process.stdout.write(text);
    });
}
