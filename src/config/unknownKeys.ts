import { z } from "zod";
import { type ConfigPath, formatPath, isPlainObject } from "./format.js";
import { generatorConfigSchema } from "./generatorConfigs.js";
import { ORIGINAL_UNUSED_KEYS, PRIVATE_KEY_PREFIX } from "./originalKeys.js";
import { KEEP_UNKNOWN_KEYS } from "./primitives.js";
import { GENERATOR_SETS } from "./sets.js";
import { closestKey } from "./suggest.js";

export { closestKey, editDistance } from "./suggest.js";

/**
 * Keys no schema knows. A misspelt key silently does nothing (`"slipage_bps": 20` leaves the
 * slippage at 0, `"windws": [14]` computes the default window), so inside every section and
 * every built-in generator's config an unknown key is an error, reported with its path and the
 * closest known key. At the top level, the keys the original's configs carry and itb does not
 * use are warnings (originalKeys.ts), keys starting with "_" are the user's own, and every
 * other key is an error. The walk follows the schema itself, so the known keys cannot drift
 * from it.
 */

export interface UnknownKey {
  /** Path of the unknown key itself. */
  path: readonly PropertyKey[];
  /** The closest known key of the same object, when it is close enough to be a typo. */
  suggestion: string | undefined;
  /** `warning` only for a top-level key of the original's configs that itb does not use. */
  severity: "error" | "warning";
  /** One line: `<path>: <what is wrong>`. */
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
    const checked = inner.def.catchall === KEEP_UNKNOWN_KEYS;
    const kind = GENERATOR_SETS.get(inner);
    for (const [key, v] of Object.entries(value)) {
      let child = shape[key];
      // A generator set's config follows its generator; a custom generator's is its own business.
      if (kind !== undefined && key === "config") child = generatorConfigSchema(kind, value.generator);
      if (child !== undefined) walk(child, v, [...path, key], found);
      else if (checked && !(kind !== undefined && key === "config")) {
        const u = describeUnknownKey(key, [...path, key], Object.keys(shape));
        if (u !== undefined) found.push(u);
      }
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
    if (
      s instanceof z.ZodOptional ||
      s instanceof z.ZodNullable ||
      s instanceof z.ZodDefault ||
      s instanceof z.ZodPrefault
    ) {
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

function describeUnknownKey(
  key: string,
  path: ConfigPath,
  knownKeys: readonly string[],
): UnknownKey | undefined {
  const where = formatPath(path);
  const topLevel = path.length === 1;
  if (topLevel && key.startsWith(PRIVATE_KEY_PREFIX)) return undefined;
  const original =
    topLevel && Object.hasOwn(ORIGINAL_UNUSED_KEYS, key) ? ORIGINAL_UNUSED_KEYS[key] : undefined;
  if (original !== undefined) {
    return {
      path,
      suggestion: undefined,
      severity: "warning",
      message: `${where}: not used by itb (${original})`,
    };
  }
  const suggestion = closestKey(key, knownKeys);
  let message: string;
  if (suggestion !== undefined)
    message = `${where}: unknown key; did you mean ${JSON.stringify(suggestion)}?`;
  else if (topLevel) {
    message = `${where}: unknown key; itb does not read it (a top-level key starting with "${PRIVATE_KEY_PREFIX}" is not checked)`;
  } else {
    message = `${where}: unknown key; ${formatPath(path.slice(0, -1))} reads ${knownKeys.join(", ")}`;
  }
  return { path, suggestion, severity: "error", message };
}
