/**
 * JSON that keeps every double, for the ledger's text columns (scores, signals, the Trader's
 * and the venue's state snapshots): plain JSON turns NaN and ±Infinity into null and -0 into 0, so those are written as
 * `{"$n":"NaN"}`, `{"$n":"Infinity"}`, `{"$n":"-Infinity"}`, `{"$n":"-0"}` and read back as
 * the numbers. (An object of exactly that shape in a state snapshot would read back as the
 * number; the Trader's and the venue's state hold none.)
 */

const TAG = "$n";
const SPECIAL = new Map<string, number>([
  ["NaN", Number.NaN],
  ["Infinity", Number.POSITIVE_INFINITY],
  ["-Infinity", Number.NEGATIVE_INFINITY],
  ["-0", -0],
]);

function replacer(_key: string, value: unknown): unknown {
  if (typeof value !== "number") return value;
  if (Number.isFinite(value)) return Object.is(value, -0) ? { [TAG]: "-0" } : value;
  return { [TAG]: String(value) };
}

function reviver(_key: string, value: unknown): unknown {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return value;
  const keys = Object.keys(value);
  if (keys.length !== 1 || keys[0] !== TAG) return value;
  const special = SPECIAL.get((value as Record<string, unknown>)[TAG] as string);
  return special ?? value;
}

export function encodeJson(value: unknown): string {
  return JSON.stringify(value, replacer) ?? "null";
}

export function decodeJson(text: string): unknown {
  return JSON.parse(text, reviver);
}
