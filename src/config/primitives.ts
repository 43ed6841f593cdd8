import { z } from "zod";
import { parseFreq } from "../core/freq.js";
import { dayKey, parseTime } from "../core/time.js";
import { isStoreName } from "./fileNames.js";
import { didYouMean } from "./suggest.js";

/**
 * The building blocks of the config schema. Each one carries its own "expected …" phrase, so
 * an issue reads `label_horizon: expected a non-negative integer, found "120"` whichever check
 * (type, integer, minimum) failed.
 */

/** For refinements that must run even when another key already failed, so one pass reports all. */
export const ALWAYS = { when: () => true };

export function expected(what: string): { error: string } {
  return { error: `expected ${what}` };
}

const NON_NEGATIVE_INT = "a non-negative integer";
const POSITIVE_INT = "a positive integer";

export const nonNegativeInt = (): z.ZodNumber =>
  z.number(expected(NON_NEGATIVE_INT)).int(expected(NON_NEGATIVE_INT)).min(0, expected(NON_NEGATIVE_INT));

export const positiveInt = (): z.ZodNumber =>
  z.number(expected(POSITIVE_INT)).int(expected(POSITIVE_INT)).min(1, expected(POSITIVE_INT));

export const finiteNumber = (): z.ZodNumber => z.number(expected("a number"));

export const text = (): z.ZodString => z.string(expected("a string"));

export const nonEmptyText = (): z.ZodString =>
  z.string(expected("a non-empty string")).trim().min(1, expected("a non-empty string"));

export const flag = (): z.ZodBoolean => z.boolean(expected("true or false"));

export const stringList = (what = "an array of strings"): z.ZodArray<z.ZodString> =>
  z.array(text(), expected(what));

/**
 * Objects come in two kinds. `known` objects have a fixed set of keys: an unknown key is an
 * error, since a misspelt key would otherwise silently do nothing (`slipage_bps` leaves the
 * slippage at 0). `open` objects belong to a custom generator or a trader whose keys itb does
 * not own: not checked. The catch-all schema instance is the marker the unknown-key walker
 * (unknownKeys.ts) looks for; zod itself keeps every key, so the walker reports them all at
 * once with their paths and the closest known key.
 */
export const KEEP_UNKNOWN_KEYS = z.unknown();
export const OPEN_UNKNOWN_KEYS = z.unknown();

export function known<S extends z.ZodRawShape>(shape: S, what = "an object") {
  return z.object(shape, expected(what)).catchall(KEEP_UNKNOWN_KEYS);
}

export function open<S extends z.ZodRawShape>(shape: S, what = "an object") {
  return z.object(shape, expected(what)).catchall(OPEN_UNKNOWN_KEYS);
}

/**
 * One of `values`; a near miss names the closest one (`"diference" is not one of "relative",
 * "difference", "no_combine"; did you mean "difference"?`). `unset` lists the other values that
 * mean "not set" (the original's generators test many options with `if config.get(key):`).
 */
export function choice<const T extends readonly [string, ...string[]]>(
  values: T,
  unset: readonly ("" | false | null)[] = [],
) {
  const error = (issue: { input?: unknown }) => choiceMessage(values, issue.input);
  const literals = unset.map((u) => (u === null ? z.null() : z.literal(u)));
  // A union of one option reports that option's issue, so the message goes on the enum too.
  return z.union([z.enum(values, { error }), ...literals], { error });
}

/** The message of a value that is not one of `values` (see `choice`). */
export function choiceMessage(values: readonly string[], input: unknown): string {
  const list = `one of ${values.map((v) => JSON.stringify(v)).join(", ")}`;
  if (typeof input !== "string") return `expected ${list}`;
  return `${JSON.stringify(input)} is not ${list}${didYouMean(input, values)}`;
}

export const anyObject = (what = "an object") => z.record(z.string(), z.unknown(), expected(what));

const STORE_NAME = "a file name without extension (Parquet) or ending in .parquet or .csv";

export const storeName = (): z.ZodString => text().refine((name) => isStoreName(name), expected(STORE_NAME));

export const FREQ_EXPECTED = "a frequency such as 1m, 5min, 15m, 1h, 4h, 1d or 1D";

export function isValidFreq(value: string): boolean {
  try {
    parseFreq(value);
    return true;
  } catch {
    return false;
  }
}

export const freqText = (): z.ZodString =>
  z.string(expected(FREQ_EXPECTED)).refine((v) => isValidFreq(v), {
    // pandas and Binance both spell a month `1M`; say why it is refused.
    error: (issue) =>
      typeof issue.input === "string" && /^\s*\d*M\s*$/.test(issue.input)
        ? `expected ${FREQ_EXPECTED} (a month has no fixed length)`
        : `expected ${FREQ_EXPECTED}`,
  });

export const TIME_EXPECTED = 'a date such as "2023-02-01" (YYYY-MM, YYYY-MM-DD, an ISO time or epoch ms)';

const ZONELESS_DATE = /^(\d{4}-\d{2}-\d{2})(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$/;

/**
 * A time `parseTime` accepts and that names a real calendar day: JavaScript's Date rolls
 * `2023-02-30` over to March 2 without complaint.
 */
export function parseConfigTime(value: string): number | undefined {
  let ms: number;
  try {
    ms = parseTime(value);
  } catch {
    return undefined;
  }
  const day = ZONELESS_DATE.exec(value.trim())?.[1];
  if (day !== undefined && dayKey(ms) !== day) return undefined;
  return ms;
}

export const timeText = (): z.ZodString =>
  z.string(expected(TIME_EXPECTED)).refine((v) => parseConfigTime(v) !== undefined, expected(TIME_EXPECTED));

export const httpUrl = (): z.ZodString =>
  z.string(expected("an http(s) URL")).refine((v) => {
    if (!URL.canParse(v)) return false;
    const protocol = new URL(v).protocol;
    return protocol === "http:" || protocol === "https:";
  }, expected("an http(s) URL"));
