import { type Command, InvalidArgumentError } from "commander";
import { errorMessage, UsageError } from "../core/errors.js";
import { parseFreq } from "../core/freq.js";

/**
 * The options several commands share, and their parsers. Every command registers with these
 * and commander alone: what its action needs loads when it runs (src/cli/actions/), so that
 * `itb --help` and every command's start do not pay for the rest of itb.
 */

export interface ConfigOptions {
  config?: string;
  symbol?: string;
  freq?: string;
}

/**
 * Commander's parser for `--freq`: a frequency the config would refuse is a usage error of the
 * command line (status 2, before any work), not a failure of the config file.
 */
export function freqArgument(value: string): string {
  try {
    parseFreq(value);
  } catch (err) {
    throw new InvalidArgumentError(errorMessage(err));
  }
  return value;
}

/** Adds the options every batch command takes. */
export function withConfigOptions(cmd: Command): Command {
  return cmd
    .requiredOption("-c, --config <file>", "JSONC config file")
    .option("--symbol <symbol>", "override the config's symbol (e.g. ETHUSDT)")
    .option("--freq <freq>", "override the config's frequency (1m, 5min, 1h, 1d, ...)", freqArgument);
}

export interface WriterOptions {
  wait?: boolean;
}

export function withWaitOption(cmd: Command): Command {
  return cmd.option(
    "--wait",
    "when another itb process is writing the same folders, wait for it (default: stop with exit status 75)",
  );
}

/** An option's value that must be one of `allowed`. */
export function oneOf<T extends string>(
  v: string | undefined,
  allowed: readonly T[],
  what: string,
): T | undefined {
  if (v === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(v)) {
    throw new UsageError(`${what} must be one of ${allowed.join(", ")}, got "${v}"`);
  }
  return v as T;
}

/** A comma-separated option's items (blanks dropped); undefined when the option is not given. */
export function list(v: string | undefined): string[] | undefined {
  return v === undefined
    ? undefined
    : v
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s.length > 0);
}
