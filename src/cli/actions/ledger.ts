import type { Command } from "commander";
import { loadConfig } from "../../config/index.js";
import { parseConfigTime, TIME_EXPECTED } from "../../config/primitives.js";
import { UsageError } from "../../core/errors.js";
import { formatDuration, isoTime } from "../../core/time.js";
import { tableFormatOf, writeLedgerTable } from "../../live/ledger/export.js";
import { ledgerMarket } from "../../live/ledger/market.js";
import { type LedgerPlace, ledgerLocation, openLedgerForReading } from "../../live/ledger/open.js";
import { type MarketStatus, marketStatus } from "../../live/ledger/status.js";
import type { Ledger, LedgerQuery } from "../../live/ledger/types.js";
import { configMarkets } from "../../pipeline/graph/matrix.js";
import { formatTable, wrapText } from "../../pipeline/graph/table.js";
import type { ExportOptions } from "../commands/ledger.js";
import { configOf, contextOf } from "../context.js";

const TABLE_WIDTH = 120;

function timeOption(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseConfigTime(value);
  if (ms === undefined) throw new UsageError(`${flag}: expected ${TIME_EXPECTED}, found "${value}"`);
  return ms;
}

/** The config's ledger for reading; none yet is a usage mistake (the service has not run). */
async function openForReading(place: LedgerPlace): Promise<Ledger> {
  const ledger = await openLedgerForReading(place);
  if (ledger === undefined)
    throw new UsageError(`no ledger at ${ledgerLocation(place)}: run itb serve first`);
  return ledger;
}

/** `itb ledger export`. */
export async function ledgerExportAction(opts: ExportOptions, cmd: Command): Promise<void> {
  const ctx = contextOf(cmd);
  const from = timeOption(opts.from, "--from");
  const to = timeOption(opts.to, "--to");
  if (tableFormatOf(opts.out) === undefined) {
    throw new UsageError(`--out ${opts.out}: the file name must end in .csv or .parquet`);
  }
  const { config } = configOf(opts, ctx.log);
  const market = {
    ...(opts.symbol === undefined ? {} : { symbol: opts.symbol }),
    ...(opts.freq === undefined ? {} : { freq: opts.freq }),
  };
  const query: LedgerQuery = {
    ...(opts.symbol === undefined && opts.freq === undefined ? {} : { market }),
    ...(from === undefined ? {} : { from }),
    ...(to === undefined ? {} : { to }),
  };
  const ledger = await openForReading(config);
  try {
    const table = await ledger.read(opts.what, query);
    await writeLedgerTable(opts.out, table);
    const symbol = table.columns.indexOf("symbol");
    const freq = table.columns.indexOf("freq");
    const markets = [...new Set(table.rows.map((r) => `${r[symbol]} ${r[freq]}`))];
    process.stdout.write(
      `wrote ${table.rows.length} ${opts.what} row(s)${markets.length > 0 ? ` of ${markets.join(", ")}` : ""} to ${opts.out}\n`,
    );
  } finally {
    await ledger.close();
  }
}

function short(x: number | null, digits = 4): string {
  if (x === null) return "NaN";
  return Number.isInteger(x) ? String(x) : String(Number(x.toPrecision(digits)));
}

/** The market's line of the table (no cell holds a list or a parenthesis, so formatTable never wraps a row). */
function statusRow(s: MarketStatus): string[] {
  const market = `${s.symbol} ${s.freq}`;
  if (!s.recorded) return [market, "nothing recorded"];
  const signal = s.buy && s.sell ? "buy+sell" : s.buy ? "buy" : s.sell ? "sell" : "-";
  const position =
    s.position === "flat" || s.position === null
      ? "flat"
      : `${s.position} ${short(s.quantity, 6)} @ ${short(s.entry_price, 8)}`;
  return [
    market,
    (s.last_candle ?? "").slice(0, 16).replace("T", " "),
    formatDuration(s.lag_seconds ?? 0),
    short(s.close, 8),
    signal,
    position,
    s.equity === null ? "NaN" : s.equity.toFixed(2),
  ];
}

/** The lines under a market's row: its scores and signals, and whether it was a catch-up candle. */
function statusDetails(s: MarketStatus): string[] {
  if (!s.recorded) return [];
  const list = (values: Record<string, number | null>) =>
    Object.entries(values)
      .map(([k, v]) => `${k}=${short(v)}`)
      .join(", ");
  const lines: string[] = [];
  if (s.catch_up) lines.push("  processed while catching up (after a restart or an outage)");
  for (const [label, values] of [
    ["scores", s.scores],
    ["signals", s.signals],
  ] as const) {
    if (Object.keys(values).length > 0)
      lines.push(...wrapText(`  ${label}: ${list(values)}`, TABLE_WIDTH, "    "));
  }
  return lines;
}

/** The status table (each market's row, then its scores and signals), and a note per missing ledger. */
export function formatStatus(rows: readonly MarketStatus[], missing: readonly string[]): string {
  const header = ["market", "last candle UTC", "lag", "close", "signal", "position", "equity"];
  const table = formatTable([header, ...rows.map(statusRow)], TABLE_WIDTH);
  const lines = [table[0] as string];
  rows.forEach((s, i) => {
    lines.push(table[i + 1] as string, ...statusDetails(s));
  });
  for (const file of missing) lines.push(`no ledger at ${file}: run itb serve first`);
  return lines.join("\n");
}

/** `itb status`. */
export async function statusAction(opts: { config: string; json?: boolean }, cmd: Command): Promise<void> {
  const ctx = contextOf(cmd);
  const base = configOf({ config: opts.config }, ctx.log);
  const ledgers = new Map<string, Ledger | undefined>();
  const rows: MarketStatus[] = [];
  const now = Date.now();
  try {
    for (const { id, overrides } of configMarkets(base.config)) {
      const config =
        Object.keys(overrides).length === 0 ? base.config : loadConfig(base.file, overrides).config;
      const file = ledgerLocation(config);
      if (!ledgers.has(file)) ledgers.set(file, await openLedgerForReading(config));
      const ledger = ledgers.get(file);
      const market = ledgerMarket(id);
      rows.push(marketStatus(market, file, await ledger?.last(market), now));
    }
  } finally {
    for (const l of ledgers.values()) await l?.close();
  }
  const missing = [...ledgers].filter(([, l]) => l === undefined).map(([f]) => f);
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ now: isoTime(now), markets: rows, missing }, null, 2)}\n`);
  } else {
    process.stdout.write(`${formatStatus(rows, missing)}\n`);
  }
}
