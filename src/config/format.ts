/**
 * How config paths and values appear in messages: `feature_sets[1].config.windows[2]` and
 * `"120"`, `-5`, `[1, 2, 3, …]`. Values are abbreviated so one issue stays one readable line.
 */

export type ConfigPath = readonly PropertyKey[];

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

export function formatPath(path: ConfigPath): string {
  if (path.length === 0) return "(top level)";
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else {
      const name = String(key);
      if (IDENTIFIER.test(name)) out += out === "" ? name : `.${name}`;
      else out += `[${JSON.stringify(name)}]`;
    }
  }
  return out;
}

const MAX_STRING = 60;
const MAX_ITEMS = 3;

/** A JSON value for a message: strings quoted, numbers and booleans as JSON, containers abbreviated. */
export function formatValue(value: unknown, depth = 0): string {
  if (value === undefined) return "nothing";
  if (value === null || typeof value === "number" || typeof value === "boolean") return JSON.stringify(value);
  if (typeof value === "string") {
    const s = value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}…` : value;
    return JSON.stringify(s);
  }
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    if (depth > 0) return "[…]";
    const items = value.slice(0, MAX_ITEMS).map((v) => formatValue(v, depth + 1));
    if (value.length > MAX_ITEMS) items.push(`… (${value.length} items)`);
    return `[${items.join(", ")}]`;
  }
  if (typeof value === "object") {
    const keys = Object.keys(value);
    if (keys.length === 0) return "{}";
    if (depth > 0) return "{…}";
    const record = value as Record<string, unknown>;
    const items = keys
      .slice(0, MAX_ITEMS)
      .map((k) => `${JSON.stringify(k)}: ${formatValue(record[k], depth + 1)}`);
    if (keys.length > MAX_ITEMS) items.push(`… (${keys.length} keys)`);
    return `{${items.join(", ")}}`;
  }
  return String(value);
}

/** The kind of a value without the value itself, for places that must not echo it (secrets). */
export function describeKind(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  if (typeof value === "string") return value === "" ? "an empty string" : "a string";
  return `a ${typeof value}`;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
