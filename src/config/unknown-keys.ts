import { z } from "zod";
import { type ConfigPath, formatPath, isPlainObject } from "./format.js";
import { KEEP_UNKNOWN_KEYS } from "./primitives.js";

/**
 * Unknown keys are not errors (custom generators may read keys itb does not know), but a
 * misspelt key silently does nothing, so each one is reported with the closest known key.
 * The walk follows the schema itself, so the list of known keys cannot drift from it.
 */

/** The original's older names, for a more useful message than "unknown key". */
const RENAMED: Readonly<Record<string, string>> = {
  train_signal_model: "simulate_model",
  signal_model: "signal_sets",
  score_notification_model: "output_sets",
  diagram_notification_model: "output_sets",
};

export interface UnknownKey {
  /** Path of the unknown key itself. */
  path: readonly PropertyKey[];
  /** The closest known key of the same object, when it is close enough to be a typo. */
  suggestion: string | undefined;
  message: string;
}

export function unknownKeys(schema: z.ZodType, value: unknown): UnknownKey[] {
  const found: UnknownKey[] = [];
  walk(schema, value, [], found);
  return found;
}

function walk(schema: z.ZodType, value: unknown, path: PropertyKey[], found: UnknownKey[]): void {
  const inner = unwrap(schema, value);
  if (inner instanceof z.ZodObject) {
    if (!isPlainObject(value)) return;
    const shape: Record<string, z.ZodType> = inner.shape;
    const warnUnknown = inner.def.catchall === KEEP_UNKNOWN_KEYS;
    for (const [key, v] of Object.entries(value)) {
      const child = shape[key];
      if (child !== undefined) walk(child, v, [...path, key], found);
      else if (warnUnknown) found.push(describeUnknownKey(key, [...path, key], Object.keys(shape)));
    }
  } else if (inner instanceof z.ZodArray) {
    if (!Array.isArray(value)) return;
    const element = inner.element as z.ZodType;
    value.forEach((item, i) => {
      walk(element, item, [...path, i], found);
    });
  }
}

/** Looks through wrappers (optional, default, pipes, unions) to the schema that applies to `value`. */
function unwrap(schema: z.ZodType, value: unknown): z.ZodType {
  let s: z.ZodType = schema;
  for (let guard = 0; guard < 32; guard++) {
    if (s instanceof z.ZodOptional || s instanceof z.ZodNullable || s instanceof z.ZodDefault) {
      s = s.def.innerType as z.ZodType;
    } else if (s instanceof z.ZodPipe) {
      s = s.def.in as z.ZodType;
    } else if (s instanceof z.ZodUnion) {
      const options = s.def.options as readonly z.ZodType[];
      const match = options.find((o) => o.safeParse(value).success);
      if (match === undefined) return s;
      s = match;
    } else {
      return s;
    }
  }
  return s;
}

function describeUnknownKey(key: string, path: ConfigPath, knownKeys: readonly string[]): UnknownKey {
  const base = `unknown key ${JSON.stringify(key)} at ${formatPath(path)}`;
  const renamed = path.length === 1 ? RENAMED[key] : undefined;
  if (renamed !== undefined) {
    return {
      path,
      suggestion: undefined,
      message: `${base}; the original's older name, itb reads ${JSON.stringify(renamed)}`,
    };
  }
  const suggestion = closestKey(key, knownKeys);
  const message = suggestion === undefined ? base : `${base}; did you mean ${JSON.stringify(suggestion)}?`;
  return { path, suggestion, message };
}

/** The known key within a small edit distance (a typo, a swapped pair of letters), if any. */
export function closestKey(key: string, candidates: readonly string[]): string | undefined {
  const limit = Math.min(3, Math.max(1, Math.floor(key.length / 4)));
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const d = editDistance(key.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return bestDistance <= limit ? best : undefined;
}

/** Optimal string alignment distance: Levenshtein plus transposition of neighbours. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d = new Array<number>(rows * cols).fill(0);
  const at = (i: number, j: number): number => d[i * cols + j] ?? 0;
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, at(i - 2, j - 2) + 1);
      d[i * cols + j] = v;
    }
  }
  return at(a.length, b.length);
}
