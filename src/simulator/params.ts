import { type ApiError, illegalChars, mandatoryParam } from "./errors.js";

/**
 * Request parameters as Binance reads them (spot and USD-M alike): decimals, integers, the
 * `limit` of list endpoints and enumerations, each refused with Binance's code and text.
 */

const NUMBER = /^([0-9]{1,20})(\.[0-9]{1,20})?$/;
const NUMBER_RANGE = "^([0-9]{1,20})(\\.[0-9]{1,20})?$";

/** A decimal parameter; undefined when absent or empty; -1100 when malformed. */
export function num(p: URLSearchParams, name: string): number | undefined {
  const v = p.get(name);
  if (v === null || v === "") return undefined;
  if (!NUMBER.test(v)) throw illegalChars(name, NUMBER_RANGE);
  return Number(v);
}

/** The value, or -1102 "Mandatory parameter ... was not sent". */
export function need<T>(v: T | undefined | null, name: string): T {
  if (v === undefined || v === null || v === "") throw mandatoryParam(name);
  return v;
}

/** An integer parameter; undefined when absent or empty; -1100 when malformed. */
export function intParam(p: URLSearchParams, name: string): number | undefined {
  const v = p.get(name);
  if (v === null || v === "") return undefined;
  if (!/^-?\d{1,20}$/.test(v)) throw illegalChars(name, "^[0-9]{1,20}$");
  return Number(v);
}

/** A list endpoint's `limit`, clamped to [1, max]. */
export function limitParam(p: URLSearchParams, max = 1000, dflt = 500): number {
  const n = intParam(p, "limit") ?? dflt;
  return Math.min(Math.max(n, 1), max);
}

/** `v` when it is one of `allowed`, else `error()`. */
export function oneOf<T extends string>(v: string, allowed: readonly T[], error: () => ApiError): T {
  if (!(allowed as readonly string[]).includes(v)) throw error();
  return v as T;
}
