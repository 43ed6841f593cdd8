import { ItbError } from "../core/errors.js";
import type { Logger } from "../core/log.js";
import type { BinanceExecution } from "../exchange/ccxt/execution.js";
import type { Trader } from "../trading/trader.js";
import type { TradingSession } from "./session.js";

/**
 * Start-up reconciliation of a live market: after the orders saved in the ledger were asked
 * about (fills while the service was down are in the Trader already), what remains on the
 * exchange that the ledger cannot explain is handled by `trade_model.reconcile`:
 *
 * - open orders the adapter does not know (placed by hand, by another program, or by an
 *   earlier run whose record was lost): `halt` stops with their ids, `cancel` cancels them,
 *   `adopt` leaves them working (they are not the Trader's to manage) and logs them;
 * - a position that differs from the Trader's: on futures the exchange's position, on spot a
 *   base balance below what the Trader holds (a balance above it is the account owner's and
 *   left alone). `halt` stops and says what to check, `adopt` makes the exchange's position the
 *   Trader's (with protective orders), `cancel` closes the exchange's position at market and
 *   leaves the Trader flat.
 */

export type ReconcilePolicy = "halt" | "adopt" | "cancel";

export interface ReconcileInput {
  market: string;
  symbol: string;
  /** The start of this market's client order ids (`itb1m-BTCUSDT-`). */
  idPrefix: string;
  /** The last candle the ledger recorded (the earliest an unrecorded order of ours can be from). */
  since: number;
  barMs: number;
  exchange: BinanceExecution;
  trader: Trader;
  session: TradingSession;
  policy: ReconcilePolicy;
  /** The candle time decisions taken now are attributed to (client order ids). */
  decidedAt: number;
  log: Logger;
}

/** What was found and done, for the log and tests. */
export interface ReconcileReport {
  /** This market's own orders that the ledger did not record, taken over. */
  adopted: string[];
  unknownOrders: string[];
  position: { exchange: number; trader: number } | undefined;
}

const POLICY_HELP =
  'trade_model.reconcile: "cancel" cancels such orders and closes such a position, "adopt" takes them over';

export async function reconcile(r: ReconcileInput): Promise<ReconcileReport> {
  const { exchange, trader, symbol, log } = r;
  const report: ReconcileReport = { adopted: [], unknownOrders: [], position: undefined };
  // less than half a lot is no position (dust, rounding)
  const step = await exchange.lotStep(symbol);
  // Orders with this market's own ids that the ledger never recorded: decided by a run that
  // died after sending them. The ids say they are ours, so they are always taken over and
  // their fills become the Trader's position, whatever the policy.
  const own = await exchange.adoptOwnOrders(symbol, r.idPrefix, r.since);
  report.adopted = own.ids;
  if (own.ids.length > 0) {
    const before = trader.position * trader.quantity;
    const after = before + own.net;
    log.warn(
      { market: r.market, orders: own.ids, position: { before, after } },
      "took over orders an earlier run sent but did not record",
    );
    if (Math.abs(own.net) >= step / 2) {
      const entryPrice =
        before === 0 || Math.sign(after) !== Math.sign(before) ? own.averagePrice : trader.state.entryPrice;
      const fillTime = Number.isFinite(own.lastFill) ? own.lastFill : r.decidedAt;
      await r.session.act(
        trader.adopt(
          Math.abs(after) < step / 2
            ? null
            : {
                side: after > 0 ? "long" : "short",
                quantity: Math.abs(after),
                entryPrice,
                entryTime: fillTime,
                entryIndex: Math.floor(fillTime / r.barMs),
              },
          r.decidedAt,
        ),
      );
    }
  }
  const unknown = await exchange.unknownOpenOrders(symbol);
  report.unknownOrders = unknown.map((o) => o.clientOrderId);
  const venue = await exchange.position(symbol);
  const held = venue.side === null ? 0 : venue.side === "long" ? venue.quantity : -venue.quantity;
  const mine = trader.position * trader.quantity;
  // spot: only a shortfall is unexplained (the account may hold more than the bot bought)
  const mismatch = exchange.isFutures
    ? Math.abs(held - mine) > step / 2
    : mine > 0 && held < mine - Math.max(step, mine * 1e-6);
  if (mismatch) report.position = { exchange: held, trader: mine };
  if (report.unknownOrders.length === 0 && report.position === undefined) {
    log.info(
      { market: r.market, position: mine, adopted: report.adopted.length },
      "reconciled with the exchange: nothing unexplained",
    );
    return report;
  }
  const what = [
    ...(unknown.length === 0
      ? []
      : [
          `${unknown.length} open order(s) the ledger does not know: ${unknown.map((o) => `${o.clientOrderId} (${o.side} ${o.type})`).join(", ")}`,
        ]),
    ...(report.position === undefined
      ? []
      : [`the exchange holds ${held} ${symbol} where the ledger expects ${mine}`]),
  ].join("; ");
  if (r.policy === "halt") {
    throw new ItbError(
      `${r.market}: ${what}. Check the account on the exchange (orders placed by hand or by another program, a position changed outside itb), then start again; or set ${POLICY_HELP}`,
    );
  }
  log.warn({ market: r.market, policy: r.policy, found: what }, "reconciling with the exchange");
  if (r.policy === "cancel") {
    for (const o of unknown) await exchange.cancelForeign(symbol, o.clientOrderId);
    if (report.position !== undefined) {
      // the Trader forgets what it thought it held; the exchange's position is closed
      await r.session.act(trader.adopt(null, r.decidedAt));
      if (held !== 0 && exchange.isFutures) {
        await exchange.closePosition(
          symbol,
          held,
          `${r.market.replace(/\s+/g, "")}-rc-${r.decidedAt.toString(36)}`,
        );
      }
    }
  } else if (report.position !== undefined) {
    const actions = trader.adopt(
      held === 0
        ? null
        : {
            side: held > 0 ? "long" : "short",
            quantity: Math.abs(held),
            entryPrice: Number.isFinite(venue.entryPrice) ? venue.entryPrice : trader.state.entryPrice,
            entryTime: r.decidedAt,
            entryIndex: -1,
          },
      r.decidedAt,
    );
    await r.session.act(actions);
  }
  return report;
}
