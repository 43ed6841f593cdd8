import type { Command } from "commander";
import { type ConfigOverrides, type LoadedConfig, loadConfig } from "../config/index.js";
import { UsageError } from "../core/errors.js";
import type { Logger, ProgressFactory } from "../core/log.js";
import { createLogger, type LogFormat } from "./logging.js";
import type { ConfigOptions } from "./options.js";
import { createProgress } from "./progress.js";

export interface Context {
  log: Logger;
  progress: ProgressFactory;
}

/** The logger and progress factory for a command, from the global `--log-level`/`--log-format`. */
export function contextOf(cmd: Command): Context {
  const g = cmd.optsWithGlobals<{ logLevel: string; logFormat: LogFormat }>();
  const log = createLogger(g.logLevel, g.logFormat);
  return { log, progress: createProgress(log) };
}

/** Loads `--config` with the `--symbol`/`--freq` overrides and logs unknown-key warnings. */
export function configOf(opts: ConfigOptions, log: Logger): LoadedConfig {
  if (!opts.config) throw new UsageError("missing --config FILE");
  const overrides: ConfigOverrides = {};
  if (opts.symbol) overrides.symbol = opts.symbol;
  if (opts.freq) overrides.freq = opts.freq;
  const loaded = loadConfig(opts.config, overrides);
  for (const w of loaded.warnings) log.warn({ config: loaded.file }, w);
  return loaded;
}
