/**
 * JSON for state snapshots that hold numbers JSON cannot write (NaN, ±Infinity: a flat
 * position's entry price, a trailing stop's unset level). `toJsonSafe` replaces each with
 * `{"$number": "NaN" | "Infinity" | "-Infinity"}`; `fromJsonSafe` restores them. Everything else
 * must already be plain JSON (objects, arrays, strings, finite numbers, booleans, null).
 */
export function toJsonSafe(value: unknown): unknown {
  if (typeof value === "number") return Number.isFinite(value) ? value : { $number: String(value) };
  if (Array.isArray(value)) return value.map(toJsonSafe);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toJsonSafe(v);
    return out;
  }
  return value;
}

export function fromJsonSafe(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(fromJsonSafe);
  if (value !== null && typeof value === "object") {
    const o = value as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1 && keys[0] === "$number" && typeof o.$number === "string") return Number(o.$number);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(o)) out[k] = fromJsonSafe(v);
    return out;
  }
  return value;
}
