import { ConfigError } from "../core/errors.js";

/**
 * Reading a signal generator's `config` object with errors that name the JSON path
 * (`signal_sets[1].config.columns: ...`). Parsed once, when the sets are compiled; the kernels
 * then work on typed values only.
 */
export class ConfigReader {
  constructor(
    readonly obj: Readonly<Record<string, unknown>>,
    /** e.g. `signal_sets[1].config` */
    readonly path: string,
  ) {}

  fail(key: string, message: string): never {
    const where = key ? `${this.path}.${key}` : this.path;
    const text = `${where}: ${message}`;
    throw new ConfigError(text, [text]);
  }

  /** Rejects keys the generator does not read: a typo would otherwise be silently ignored. */
  allowOnly(keys: readonly string[]): void {
    for (const k of Object.keys(this.obj)) {
      if (!keys.includes(k)) this.fail(k, `unknown key; the generator reads ${keys.join(", ")}`);
    }
  }

  private has(key: string): boolean {
    const v = this.obj[key];
    return v !== undefined && v !== null;
  }

  /** A column name or a list of them (at least `min`, at most `max`). */
  columns(key: string, opts: { min: number; max: number; allowString: boolean }): string[] {
    const v = this.obj[key];
    const expected = describeCount(opts);
    if (typeof v === "string" && opts.allowString) {
      if (v === "") this.fail(key, `expected ${expected}, got an empty string`);
      if (opts.min > 1) this.fail(key, `expected ${expected}, got one name ${JSON.stringify(v)}`);
      return [v];
    }
    if (!Array.isArray(v)) this.fail(key, `expected ${expected}, got ${show(v)}`);
    if (v.length < opts.min || v.length > opts.max) {
      this.fail(key, `expected ${expected}, got ${v.length} name(s): ${JSON.stringify(v)}`);
    }
    v.forEach((c, i) => {
      if (typeof c !== "string" || c === "")
        this.fail(`${key}[${i}]`, `expected a column name, got ${show(c)}`);
    });
    return v as string[];
  }

  /** A required non-empty string (a one-element list is accepted too). */
  name(key: string): string {
    const v = this.obj[key];
    if (typeof v === "string" && v !== "") return v;
    if (Array.isArray(v) && v.length === 1 && typeof v[0] === "string" && v[0] !== "") return v[0];
    return this.fail(key, `expected the output column name (a non-empty string), got ${show(v)}`);
  }

  /** A finite number, required. */
  number(key: string): number {
    const v = this.obj[key];
    if (typeof v === "number" && Number.isFinite(v)) return v;
    return this.fail(key, `expected a number, got ${show(v)}`);
  }

  /**
   * An optional number used only when truthy, as the original's `if config.get(key):` does:
   * absent, null, false and 0 mean "not set".
   */
  truthyNumber(key: string): number | undefined {
    const v = this.obj[key];
    if (v === undefined || v === null || v === false || v === 0) return undefined;
    if (typeof v === "number" && Number.isFinite(v)) return v;
    return this.fail(key, `expected a number (or null to leave it unset), got ${show(v)}`);
  }

  optionalString(key: string): string | undefined {
    if (!this.has(key)) return undefined;
    const v = this.obj[key];
    if (typeof v === "string") return v;
    return this.fail(key, `expected a string, got ${show(v)}`);
  }

  optionalBoolean(key: string): boolean | undefined {
    if (!this.has(key)) return undefined;
    const v = this.obj[key];
    if (typeof v === "boolean") return v;
    return this.fail(key, `expected true or false, got ${show(v)}`);
  }

  /** A nested object (e.g. `parameters`), as a reader with the nested path. */
  object(key: string): ConfigReader {
    const v = this.obj[key];
    if (typeof v === "object" && v !== null && !Array.isArray(v)) {
      return new ConfigReader(v as Record<string, unknown>, `${this.path}.${key}`);
    }
    return this.fail(key, `expected an object, got ${show(v)}`);
  }

  raw(key: string): unknown {
    return this.obj[key];
  }
}

function describeCount(o: { min: number; max: number; allowString: boolean }): string {
  const list =
    o.min === o.max
      ? `a list of exactly ${o.min} column name${o.min === 1 ? "" : "s"}`
      : o.max === Number.POSITIVE_INFINITY
        ? `a non-empty list of column names`
        : `a list of ${o.min} to ${o.max} column names`;
  return o.allowString ? `a column name or ${list}` : list;
}

export function show(v: unknown): string {
  if (v === undefined) return "nothing (the key is missing)";
  if (v === null) return "null";
  if (Array.isArray(v)) return `a list ${JSON.stringify(v)}`;
  if (typeof v === "object") return "an object";
  return `${typeof v} ${JSON.stringify(v)}`;
}
