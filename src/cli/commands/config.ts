import type { Command } from "commander";
import { expandGrid } from "../../backtest/grid.js";
import type { Config } from "../../config/index.js";
import { configJsonSchema, loadConfig, maskSecrets } from "../../config/index.js";
import { writeFileAtomic } from "../../data/atomic.js";
import { baseParameters, searchedSignalSet, withParameters } from "../../pipeline/backtestStages.js";
import { BUILTIN_SIGNAL_GENERATORS, compileSignalSets } from "../../signals/index.js";
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
    .action((file: string, opts: { symbol?: string; freq?: string }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const loaded = loadConfig(file, {
        ...(opts.symbol ? { symbol: opts.symbol } : {}),
        ...(opts.freq ? { freq: opts.freq } : {}),
      });
      for (const w of loaded.warnings) ctx.log.warn({ config: loaded.file }, w);
      checkSignalSets(loaded.config);
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

/**
 * The signal generators' own configs (columns, names, parameters) are checked when they are
 * compiled, which the schema cannot do for them; the searched rule's thresholds may come from
 * simulate_model.grid instead of its parameters. Custom generators are checked when they run.
 */
function checkSignalSets(config: Config): void {
  if (config.signal_sets.some((s) => !BUILTIN_SIGNAL_GENERATORS.includes(s.generator))) return;
  let checked = config;
  const grid = config.simulate_model?.grid;
  if (grid !== undefined && Object.keys(grid).length > 0) {
    const { index, set } = searchedSignalSet(config);
    const cells = expandGrid(grid, baseParameters(set), config.simulate_model?.buy_sell_equal === true);
    checked = withParameters(config, index, cells[0] ?? {});
  }
  compileSignalSets(checked.signal_sets);
}
