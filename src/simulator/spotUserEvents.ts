import { type Account, type AccountEvent, dec8, isOpen } from "./account.js";

/**
 * Binance spot's user-data events for one account event: `executionReport` (an order placed,
 * traded, cancelled or expired), `listStatus` (an OCO list started or done) and
 * `outboundAccountPosition` (the assets whose balance changed, after each action).
 */

/** A converter with its own execution ids (`I`), one per simulator. */
export function spotUserEvents(): (account: Account, ev: AccountEvent) => Record<string, unknown> {
  let executionId = 1;
  return (account, ev) => spotUserEvent(account, ev, () => executionId++);
}

function spotUserEvent(account: Account, ev: AccountEvent, nextId: () => number): Record<string, unknown> {
  if (ev.kind === "balance") {
    return {
      e: "outboundAccountPosition",
      E: ev.time,
      u: ev.time,
      B: ev.assets.map((a) => {
        const b = account.balance(a);
        return { a, f: dec8(b.free), l: dec8(b.locked) };
      }),
    };
  }
  if (ev.kind === "list") {
    const l = ev.list;
    return {
      e: "listStatus",
      E: ev.time,
      s: l.symbol,
      g: l.orderListId,
      c: "OCO",
      l: l.listStatusType,
      L: l.listOrderStatus,
      r: "NONE",
      C: l.listClientOrderId,
      T: ev.time,
      O: l.orders.map((o) => ({ s: o.symbol, i: o.orderId, c: o.clientOrderId })),
    };
  }
  const o = ev.order;
  const t = ev.trade;
  const working = o.working && isOpen(o);
  return {
    e: "executionReport",
    E: ev.time,
    s: o.symbol,
    c: o.clientOrderId,
    S: o.side,
    o: o.type,
    f: o.timeInForce,
    q: dec8(o.origQty),
    p: dec8(o.price),
    P: dec8(o.stopPrice),
    F: dec8(0),
    g: o.orderListId,
    // The client id of the order a cancel acts on; "" otherwise.
    C: ev.exec === "CANCELED" ? o.clientOrderId : "",
    x: ev.exec,
    X: o.status,
    r: "NONE",
    i: o.orderId,
    l: dec8(t?.qty ?? 0),
    z: dec8(o.executedQty),
    L: dec8(t?.price ?? 0),
    n: t === undefined ? "0" : dec8(t.commission),
    N: t === undefined ? null : t.commissionAsset,
    T: ev.time,
    t: t?.id ?? -1,
    I: nextId(),
    w: working,
    m: t?.isMaker ?? false,
    M: false,
    O: o.time,
    Z: dec8(o.cummulativeQuoteQty),
    Y: dec8(t?.quoteQty ?? 0),
    Q: dec8(o.origQuoteOrderQty),
    ...(o.workingTime >= 0 ? { W: o.workingTime } : {}),
    V: "EXPIRE_MAKER",
  };
}
