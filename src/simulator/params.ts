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

/**
 * A history endpoint's page (allOrders, myTrades, userTrades, allAlgoOrders): the rows of one
 * symbol from the id parameter `idParam` on and within startTime..endTime (inclusive), at most
 * `limit`: the oldest ones from a given id (or, with `startFirst`, from a given start time), else
 * the newest. `match` narrows further (a trade's orderId).
 */
export function historyPage<T extends { symbol: string }>(
  rows: readonly T[],
  q: URLSearchParams,
  symbol: string,
  o: {
    idParam: string;
    id: (r: T) => number;
    time: (r: T) => number;
    startFirst?: boolean;
    match?: (r: T) => boolean;
    limit?: { max: number; dflt: number };
  },
): T[] {
  const fromId = intParam(q, o.idParam);
  const start = intParam(q, "startTime");
  const end = intParam(q, "endTime");
  const list = rows.filter(
    (r) =>
      r.symbol === symbol &&
      (o.match === undefined || o.match(r)) &&
      (fromId === undefined || o.id(r) >= fromId) &&
      (start === undefined || o.time(r) >= start) &&
      (end === undefined || o.time(r) <= end),
  );
  const limit = o.limit === undefined ? limitParam(q) : limitParam(q, o.limit.max, o.limit.dflt);
  const oldest = fromId !== undefined || (o.startFirst === true && start !== undefined);
  return oldest ? list.slice(0, limit) : list.slice(-limit);
}
