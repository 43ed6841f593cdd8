import type { Trade } from "../../core/trading.js";
import type { LedgerEquity, LedgerTable } from "./types.js";

/** The ledger's trades table as Trades (the notifier's four weeks of statistics). */
export function tradesOf(t: LedgerTable): Trade[] {
  const col = (name: string) => t.columns.indexOf(name);
  const [side, et, ep, xt, xp, qty, fees, pnl, ret, reason, ei, xi] = [
    "side",
    "entry_time",
    "entry_price",
    "exit_time",
    "exit_price",
    "qty",
    "fees",
    "pnl",
    "ret",
    "exit_reason",
    "entry_index",
    "exit_index",
  ].map(col) as number[];
  return t.rows.map((r) => ({
    side: r[side as number] as Trade["side"],
    entryIndex: r[ei as number] as number,
    entryTime: r[et as number] as number,
    entryPrice: r[ep as number] as number,
    exitIndex: r[xi as number] as number,
    exitTime: r[xt as number] as number,
    exitPrice: r[xp as number] as number,
    qty: r[qty as number] as number,
    fees: r[fees as number] as number,
    pnl: r[pnl as number] as number,
    ret: r[ret as number] as number,
    exitReason: r[reason as number] as Trade["exitReason"],
  }));
}

/** The open position an equity row describes (side, quantity, entry), or null when flat. */
export function positionOf(
  e: LedgerEquity,
): { side: "long" | "short"; quantity: number; entryPrice: number } | null {
  if (e.position === 0) return null;
  return { side: e.position === 1 ? "long" : "short", quantity: e.quantity, entryPrice: e.entryPrice };
}
