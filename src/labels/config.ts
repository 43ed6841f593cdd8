import { ConfigError } from "../core/errors.js";
import type { GeneratorConfig } from "../features/generator.js";

/** Readers for label-set `config` values whose errors name the generator, the key and what it takes. */
export class LabelConfig {
  constructor(
    private readonly where: string,
    private readonly config: GeneratorConfig,
  ) {}

  fail(key: string, expected: string): never {
    throw new ConfigError(
      `${this.where}: config.${key} must be ${expected}, found ${JSON.stringify(this.config[key]) ?? "nothing"}`,
    );
  }

  string(key: string, fallback?: string): string {
    const v = this.config[key] ?? fallback;
    if (typeof v !== "string" || v.length === 0) this.fail(key, "a non-empty string");
    return v;
  }

  oneOf<T extends string>(key: string, values: readonly T[]): T {
    const v = this.config[key];
    if (typeof v !== "string" || !(values as readonly string[]).includes(v)) {
      this.fail(key, values.map((s) => `"${s}"`).join(" or "));
    }
    return v as T;
  }

  number(key: string, min = Number.NEGATIVE_INFINITY): number {
    const v = this.config[key];
    if (typeof v !== "number" || !Number.isFinite(v) || v < min) {
      this.fail(key, min === Number.NEGATIVE_INFINITY ? "a number" : `a number ≥ ${min}`);
    }
    return v;
  }

  positiveInt(key: string): number {
    const v = this.config[key];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1) this.fail(key, "a positive integer");
    return v;
  }

  /** A number or a list of numbers (the original accepts both), as a list. */
  numbers(key: string, min = Number.NEGATIVE_INFINITY): number[] {
    const raw = this.config[key];
    const list = Array.isArray(raw) ? raw : [raw];
    if (list.length === 0 || !list.every((v) => typeof v === "number" && Number.isFinite(v) && v >= min)) {
      this.fail(
        key,
        min === Number.NEGATIVE_INFINITY
          ? "a number or a list of numbers"
          : `a number ≥ ${min} or a list of them`,
      );
    }
    return list as number[];
  }

  /** A list of `count` non-empty names. */
  names(key: string, count: number, per: string): string[] {
    const raw = this.config[key];
    const list = typeof raw === "string" ? [raw] : raw;
    if (!Array.isArray(list) || !list.every((s) => typeof s === "string" && s.length > 0)) {
      this.fail(key, `a list of names, one per ${per}`);
    }
    if (list.length !== count) this.fail(key, `a list of ${count} name(s), one per ${per}`);
    return list as string[];
  }

  /** A list of exactly `count` column names, or `fallback` when the key is absent. */
  columns(key: string, count: number, what: string, fallback?: readonly string[]): string[] {
    const raw = this.config[key] ?? fallback;
    if (
      !Array.isArray(raw) ||
      raw.length !== count ||
      !raw.every((s) => typeof s === "string" && s.length > 0)
    ) {
      this.fail(key, `a list of ${count} column names: ${what}`);
    }
    return raw as string[];
  }
}
