/**
 * itb's one-line order messages (legacy Markdown, no entities: the market name and the reason
 * are escaped), from an order as the execution adapter reports it.
 */
import type { Order, OrderPurpose } from "../../core/trading.js";
import { escapeText } from "./escape.js";
import { formatPrice, formatQty, formatQuote, pyFixed } from "./format.js";

const PURPOSES: Record<OrderPurpose, string> = {
  entry: "entry",
  signal: "exit on signal",
  stop_loss: "stop loss",
  take_profit: "take profit",
  trailing_stop: "trailing stop",
  end: "close-out",
  manual: "exit asked by the operator",
};

/** What was asked: `0.0015 limit @ 31,000.00`, `0.0015 at market`, `for 100.00 at market`. */
function requested(order: Order): string {
  const amount =
    order.quantity !== undefined
      ? formatQty(order.quantity)
      : `for ${formatQuote(order.quoteQuantity ?? Number.NaN)}`;
  const price = order.price === undefined ? "" : formatPrice(order.price);
  switch (order.type) {
    case "market":
      return `${amount} at market`;
    case "limit":
      return `${amount} limit @ ${price}`;
    case "stop":
      return `${amount} stop @ ${price}`;
    case "trailing_stop":
      return `${amount} trailing stop ${pyFixed(100 * (order.trailingFraction ?? Number.NaN), 2)}% from ${price}`;
  }
}

/**
 * The order's state in one line, by its status:
 * - `new`: `📝 BTCUSDT 1m: buy 0.0015 limit @ 29,000.00 placed (entry)`
 * - `partially_filled`: `🟡 BTCUSDT 1m: sell 0.001 of 0.0015 @ 30,500.00 partially filled (take profit)`
 * - `filled`: `🟢 BTCUSDT 1m: buy 0.0015 @ 30,123.45 filled (entry)`
 * - `canceled`: `⚪ BTCUSDT 1m: sell 0.0015 stop @ 29,000.00 cancelled: oco (stop loss)`
 * - `rejected`: `🔴 BTCUSDT 1m: buy for 100.00 at market rejected: insufficient funds (entry)`
 *
 * Fills show the quantity filled and its average price (and fees when any), as does a
 * cancellation after a partial fill; `tag` (paper, shadow) is added to the parenthesis: `(entry, paper)`.
 */
export function orderMessage(order: Order, market: string, opts: { tag?: string } = {}): string {
  const head = `${escapeText(market, "Markdown")}: ${order.side}`;
  const tail = ` (${PURPOSES[order.purpose] ?? order.purpose}${opts.tag === undefined ? "" : `, ${opts.tag}`})`;
  const reason = order.reason === undefined || order.reason === "" ? "" : `: ${order.reason}`;
  const fees = order.fees > 0 ? `, fees ${formatQuote(order.fees)}` : "";
  switch (order.status) {
    case "new":
      return `📝 ${head} ${requested(order)} placed${tail}`;
    case "partially_filled": {
      const of = order.quantity === undefined ? "" : ` of ${formatQty(order.quantity)}`;
      return `🟡 ${head} ${formatQty(order.filledQuantity)}${of} @ ${formatPrice(order.averagePrice)} partially filled${fees}${tail}`;
    }
    case "filled":
      return `🟢 ${head} ${formatQty(order.filledQuantity)} @ ${formatPrice(order.averagePrice)} filled${fees}${tail}`;
    case "canceled": {
      const part =
        order.filledQuantity > 0
          ? ` after ${formatQty(order.filledQuantity)} filled @ ${formatPrice(order.averagePrice)}`
          : "";
      return `⚪ ${head} ${requested(order)} cancelled${part}${escapeText(reason, "Markdown")}${tail}`;
    }
    case "rejected":
      return `🔴 ${head} ${requested(order)} rejected${escapeText(reason, "Markdown")}${tail}`;
  }
}
