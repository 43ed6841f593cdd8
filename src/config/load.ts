import { readFileSync } from "node:fs";
import type { z } from "zod";
import { ConfigError } from "../core/errors.js";
import { describeKind, isPlainObject } from "./format.js";
import { configHash } from "./hash.js";
import { expectedErrorMap, issueLine } from "./issues.js";
import { parseJsonc } from "./jsonc.js";
import { substitutePlaceholders } from "./placeholders.js";
import { type Config, ConfigSchema } from "./schema.js";
import { resolveSecrets, SECRET_KEYS } from "./secrets.js";
import { configSettings, type Settings } from "./settings.js";
import { type UnknownKey, unknownKeys } from "./unknownKeys.js";

export interface LoadedConfig {
  /** Resolved: defaults filled, placeholders substituted, credentials resolved. */
  config: Config;
  /** The config's sections as typed values (times as epoch ms), made once here: what the layers below take. */
  settings: Settings;
  /** The file (or source name) as given. */
  file: string;
  /** SHA-256 hex of the canonical resolved config without credentials. */
  hash: string;
  /** Keys of the original's configs that itb does not use, duplicate keys, ignored placeholders: worth showing, not fatal. */
  warnings: string[];
}

/** Command-line overrides, applied before `{symbol}`/`{freq}` substitution. */
export interface ConfigOverrides {
  symbol?: string;
  freq?: string;
  /** `download_start`/`download_end` (the pipeline's --download-start/--download-end). */
  download_start?: string;
  download_end?: string;
}

/**
 * Reads, validates and resolves a JSONC config file. Throws a ConfigError (exit status 2)
 * listing every issue: schema violations, unknown keys (with the closest known key) and a symbol
 * override that does not reach a literal data-source folder. Relative paths inside (data_folder, secrets_file) are kept as written;
 * they are resolved against the current directory where they are used, as in the original.
 */
export function loadConfig(
  file: string,
  overrides: ConfigOverrides = {},
  env: NodeJS.ProcessEnv = process.env,
): LoadedConfig {
  let textContent: string;
  try {
    textContent = readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") {
      throw new ConfigError(`config file not found: ${file}`, [], { cause: err });
    }
    throw new ConfigError(`cannot read config file ${file}: ${code ?? String(err)}`, [], { cause: err });
  }
  return parseConfigText(textContent, file, overrides, env);
}

/** `loadConfig` for text already in memory; `source` names it in messages. */
export function parseConfigText(
  textContent: string,
  source: string,
  overrides: ConfigOverrides = {},
  env: NodeJS.ProcessEnv = process.env,
): LoadedConfig {
  const { value, warnings } = parseJsonc(textContent, source);
  if (!isPlainObject(value)) {
    const issue = `(top level): expected an object, found ${describeKind(value)}`;
    throw invalid(source, [issue]);
  }

  const raw: Record<string, unknown> = { ...value };
  for (const key of ["symbol", "freq", "download_start", "download_end"] as const) {
    const v = overrides[key];
    if (v !== undefined) raw[key] = v;
  }
  const symbol = typeof raw.symbol === "string" ? raw.symbol : undefined;
  const freq = typeof raw.freq === "string" ? raw.freq : raw.freq === undefined ? "1min" : undefined;
  const substituted = substitutePlaceholders(raw, { symbol, freq });

  const result = ConfigSchema.safeParse(substituted, { reportInput: true, error: expectedErrorMap });
  const unknown = unknownKeys(ConfigSchema, substituted);
  warnings.push(...unknown.filter((u) => u.severity === "warning").map((u) => u.message));
  const issues = [
    ...(result.success
      ? []
      : result.error.issues.map((issue) => issueLine(issue) + misspeltHint(issue, unknown))),
    ...unknown.filter((u) => u.severity === "error").map((u) => u.message),
    ...literalSourceIssues(value, overrides.symbol),
  ];
  if (!result.success || issues.length > 0) throw invalid(source, issues);

  const config = result.data;
  const secrets = resolveSecrets(config, env);
  warnings.push(...secrets.warnings);
  if (secrets.issues.length > 0) throw invalid(source, secrets.issues);
  for (const key of SECRET_KEYS) {
    // A template placeholder left in the config is dropped here when nothing replaces it.
    const value = secrets.values[key];
    if (value === undefined) delete config[key];
    else config[key] = value;
  }

  return { config, settings: configSettings(config), file: source, hash: configHash(config), warnings };
}

/**
 * With a symbol override (`--symbol`, `--symbols`, the config's `symbols`), the market's candles
 * come from the data sources whose folder follows it (`"folder": "{symbol}"`, or the default
 * source). When none does, the override would silently merge the literal folder's candles
 * under the new symbol (ETHUSDT's candles as ETHUSDX's): an error at the source that holds the
 * config's own symbol (else the unprefixed one).
 */
function literalSourceIssues(file: Record<string, unknown>, symbol: string | undefined): string[] {
  const sources = file.data_sources;
  if (symbol === undefined || symbol === file.symbol || !Array.isArray(sources) || sources.length === 0) {
    return [];
  }
  const folders = sources.map((s) =>
    isPlainObject(s) && typeof s.folder === "string" ? s.folder : undefined,
  );
  if (folders.some((f) => f === undefined || f.includes("{symbol}"))) return [];
  let main = folders.indexOf(typeof file.symbol === "string" ? file.symbol : "");
  if (main < 0) main = sources.findIndex((s) => isPlainObject(s) && (s.column_prefix ?? "") === "");
  if (main < 0) main = 0;
  const folder = folders[main] as string;
  return [
    `data_sources[${main}].folder: ${JSON.stringify(folder)} is written literally, so the symbol ${symbol} does not reach it ` +
      `and ${folder}'s candles would be merged as ${symbol}'s; write "folder": "{symbol}" to follow --symbol`,
  ];
}

/**
 * A required key reported missing while a near-miss of its name sits next to it: say so in the
 * error itself, since warnings are not shown when loading fails.
 */
function misspeltHint(issue: z.core.$ZodIssue, unknown: readonly UnknownKey[]): string {
  if (issue.input !== undefined || issue.path.length === 0) return "";
  const parent = issue.path.slice(0, -1);
  const name = issue.path[issue.path.length - 1];
  const typo = unknown.find(
    (u) =>
      u.suggestion === name && u.path.length === issue.path.length && parent.every((k, i) => u.path[i] === k),
  );
  const typoKey = typo?.path[typo.path.length - 1];
  return typoKey === undefined ? "" : ` (is ${JSON.stringify(typoKey)} a misspelling of it?)`;
}

function invalid(source: string, issues: string[]): ConfigError {
  return new ConfigError(`config ${source} is invalid:\n${issues.map((l) => `  ${l}`).join("\n")}`, issues);
}
