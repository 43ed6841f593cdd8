import type { Command } from "commander";
import { configJsonSchema, loadConfig, maskSecrets } from "../../config/index.js";
import { writeFileAtomic } from "../../data/atomic.js";
import { configuredStages, preflight } from "../../pipeline/preflight.js";
import { contextOf } from "../context.js";

/** `itb config check`. */
export async function configCheckAction(
  file: string,
  opts: { symbol?: string; freq?: string },
  cmd: Command,
): Promise<void> {
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
}

/** `itb config schema`. */
export async function configSchemaAction(opts: { out?: string }): Promise<void> {
  const text = `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
  if (opts.out) await writeFileAtomic(opts.out, text);
  else process.stdout.write(text);
}
