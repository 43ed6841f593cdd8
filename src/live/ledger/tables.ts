import { decodeJson } from "../../core/json.js";
import type { LedgerColumnType, LedgerQuery, LedgerTableName, TypedLedgerTable } from "./types.js";

/**
 * The ledger's rows as export and status read them. Every table starts with `timestamp` (the
 * open time of the candle whose record wrote the row), `symbol` and `freq`; rows are ordered
 * by symbol, freq, candle time and their order within the candle. SQL NULL (how both ledgers
 * store NaN) reads as NaN in number and time columns. The SQL is the same for SQLite and
 * Postgres (`?` placeholders; the Postgres ledger numbers them): one query, one decoding, so
 * both return the same table for the same records.
 */

type Column = readonly [name: string, sql: string, type: LedgerColumnType];

const MARKET: readonly Column[] = [
  ["symbol", "m.symbol", "string"],
  ["freq", "m.freq", "string"],
];

const INTENT: readonly Column[] = [
  ["side", "side", "string"],
  ["type", "type", "string"],
  ["quantity", "quantity", "number"],
  ["quote_quantity", "quote_quantity", "number"],
  ["price", "price", "number"],
  ["trailing_fraction", "trailing_fraction", "number"],
  ["reduce_only", "reduce_only", "number"],
  ["oco_group", "oco_group", "string"],
  ["purpose", "purpose", "string"],
  ["decided_at", "decided_at", "time"],
];

interface Spec {
  table: string;
  /** The column holding the candle's time. */
  candle: string;
  columns: readonly Column[];
  /** Order within a candle. */
  order?: string;
}

const SPECS: Record<Exclude<LedgerTableName, "signals">, Spec> = {
  decisions: {
    table: "decisions",
    candle: "time",
    order: "t.seq",
    columns: [
      ["seq", "seq", "number"],
      ["kind", "kind", "string"],
      ["client_order_id", "client_order_id", "string"],
      ...INTENT,
    ],
  },
  orders: {
    table: "orders",
    candle: "candle",
    order: "t.created_at, t.client_order_id",
    columns: [
      ["client_order_id", "client_order_id", "string"],
      ...INTENT,
      ["status", "status", "string"],
      ["exchange_order_id", "exchange_order_id", "string"],
      ["filled_quantity", "filled_quantity", "number"],
      ["average_price", "average_price", "number"],
      ["fees", "fees", "number"],
      ["reason", "reason", "string"],
      ["created_at", "created_at", "time"],
      ["updated_at", "updated_at", "time"],
    ],
  },
  fills: {
    table: "fills",
    candle: "candle",
    order: "t.time, t.trade_id",
    columns: [
      ["trade_id", "trade_id", "string"],
      ["client_order_id", "client_order_id", "string"],
      ["side", "side", "string"],
      ["price", "price", "number"],
      ["quantity", "quantity", "number"],
      ["fee", "fee", "number"],
      ["liquidity", "liquidity", "string"],
      ["time", "t.time", "time"],
      ["final", "final", "number"],
    ],
  },
  trades: {
    table: "trades",
    candle: "candle",
    order: "t.seq",
    columns: [
      ["side", "side", "string"],
      ["entry_index", "entry_index", "number"],
      ["entry_time", "entry_time", "time"],
      ["entry_price", "entry_price", "number"],
      ["exit_index", "exit_index", "number"],
      ["exit_time", "exit_time", "time"],
      ["exit_price", "exit_price", "number"],
      ["qty", "qty", "number"],
      ["fees", "fees", "number"],
      ["pnl", "pnl", "number"],
      ["ret", "ret", "number"],
      ["exit_reason", "exit_reason", "string"],
    ],
  },
  equity: {
    table: "equity",
    candle: "time",
    columns: [
      ["equity", "equity", "number"],
      ["cash", "cash", "number"],
      ["position", "position", "number"],
      ["quantity", "quantity", "number"],
      ["entry_price", "entry_price", "number"],
    ],
  },
};

const CANDLE: readonly Column[] = [
  ["open", "open", "number"],
  ["high", "high", "number"],
  ["low", "low", "number"],
  ["close", "close", "number"],
  ["volume", "volume", "number"],
];

const CANDLE_TAIL: readonly Column[] = [
  ["buy", "buy", "number"],
  ["sell", "sell", "number"],
  ["catch_up", "catch_up", "number"],
  ["processed_at", "processed_at", "time"],
  ["latency_ms", "latency_ms", "number"],
];

/** The WHERE clause and its parameters for a query on a table whose candle time is `t.<candle>`. */
function where(q: LedgerQuery, candle: string): { sql: string; params: (number | string)[] } {
  const parts: string[] = [];
  const params: (number | string)[] = [];
  if (q.market?.symbol !== undefined) {
    parts.push("m.symbol = ?");
    params.push(q.market.symbol);
  }
  if (q.market?.freq !== undefined) {
    parts.push("m.freq = ?");
    params.push(q.market.freq);
  }
  if (q.from !== undefined) {
    parts.push(`t.${candle} >= ?`);
    params.push(q.from);
  }
  if (q.to !== undefined) {
    parts.push(`t.${candle} < ?`);
    params.push(q.to);
  }
  return { sql: parts.length === 0 ? "" : `WHERE ${parts.join(" AND ")}`, params };
}

function cell(v: unknown, type: LedgerColumnType): number | string | null {
  if (type === "string") return v === null || v === undefined ? null : String(v);
  return typeof v === "number" ? v : Number.NaN;
}

/** A read: its SQL (`?` placeholders), parameters, and the decoding of its raw rows. */
export interface TableQuery {
  sql: string;
  params: (number | string)[];
  decode(rows: unknown[][]): TypedLedgerTable;
}

function select(
  spec: Spec,
  columns: readonly Column[],
  q: LedgerQuery,
): { sql: string; params: (number | string)[] } {
  const w = where(q, spec.candle);
  const exprs = columns.map(([, sql]) => (sql.includes(".") ? sql : `t.${sql}`));
  const order = ["m.symbol", "m.freq", `t.${spec.candle}`, ...(spec.order ? [spec.order] : [])].join(", ");
  const sql =
    `SELECT ${exprs.join(", ")} FROM ${spec.table} t JOIN markets m ON m.id = t.market ` +
    `${w.sql} ORDER BY ${order}`;
  return { sql, params: w.params };
}

/** `what`'s query (a table of the right columns and no rows when nothing matches). */
export function tableQuery(what: LedgerTableName, q: LedgerQuery): TableQuery {
  if (what === "signals") return signalsQuery(q);
  const spec = SPECS[what];
  const columns: readonly Column[] = [["timestamp", `t.${spec.candle}`, "time"], ...MARKET, ...spec.columns];
  const types = columns.map(([, , type]) => type);
  return {
    ...select(spec, columns, q),
    decode: (raw) => ({
      columns: columns.map(([name]) => name),
      types,
      rows: raw.map((r) => r.map((v, j) => cell(v, types[j] as LedgerColumnType))),
    }),
  };
}

/**
 * Signals: the candle, one column per score and per signal name (every name seen in the rows
 * read, in the order first seen; NaN where a row lacks it), the flags and the latency. A name
 * that clashes with another column (case-insensitively, as Parquet and DuckDB compare names)
 * is prefixed with `score.` or `signal.`.
 */
function signalsQuery(q: LedgerQuery): TableQuery {
  const spec: Spec = { table: "candles", candle: "time", columns: [] };
  const head: readonly Column[] = [["timestamp", "t.time", "time"], ...MARKET, ...CANDLE];
  const json: readonly Column[] = [
    ["scores", "scores", "string"],
    ["signals", "signals", "string"],
  ];
  return {
    ...select(spec, [...head, ...json, ...CANDLE_TAIL], q),
    decode: (raw) => decodeSignals(raw, head, json),
  };
}

function decodeSignals(raw: unknown[][], head: readonly Column[], json: readonly Column[]): TypedLedgerTable {
  const taken = new Set([...head, ...CANDLE_TAIL].map(([name]) => name.toLowerCase()));
  const extra: { kind: "score" | "signal"; key: string; name: string }[] = [];
  const index = { score: new Map<string, number>(), signal: new Map<string, number>() };
  const decoded = raw.map((r) => {
    const pair = [r[head.length], r[head.length + 1]].map((text) =>
      typeof text === "string" ? (decodeJson(text) as Record<string, number>) : {},
    ) as [Record<string, number>, Record<string, number>];
    pair.forEach((values, k) => {
      const kind = k === 0 ? "score" : "signal";
      for (const key of Object.keys(values)) {
        if (index[kind].has(key)) continue;
        const name = taken.has(key.toLowerCase()) ? `${kind}.${key}` : key;
        taken.add(name.toLowerCase());
        index[kind].set(key, extra.length);
        extra.push({ kind, key, name });
      }
    });
    return pair;
  });
  const columns = [...head.map(([n]) => n), ...extra.map((e) => e.name), ...CANDLE_TAIL.map(([n]) => n)];
  const types: LedgerColumnType[] = [
    ...head.map(([, , t]) => t),
    ...extra.map((): LedgerColumnType => "number"),
    ...CANDLE_TAIL.map(([, , t]) => t),
  ];
  const rows = raw.map((r, i) => {
    const [scores, signals] = decoded[i] as [Record<string, number>, Record<string, number>];
    const values: (number | string | null)[] = head.map(([, , t], j) => cell(r[j], t));
    for (const e of extra) {
      const v = (e.kind === "score" ? scores : signals)[e.key];
      values.push(typeof v === "number" ? v : Number.NaN);
    }
    CANDLE_TAIL.forEach(([, , t], j) => {
      values.push(cell(r[head.length + json.length + j], t));
    });
    return values;
  });
  return { columns, types, rows };
}
