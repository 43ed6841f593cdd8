/**
 * The positions of all markets of one `itb serve`, for the risk limits that span markets (total
 * exposure, open markets): each market reports its position's notional after every candle.
 */
export class Portfolio {
  private readonly notional = new Map<string, number>();

  set(market: string, notional: number): void {
    if (Number.isFinite(notional) && notional > 0) this.notional.set(market, notional);
    else this.notional.delete(market);
  }

  /** The other markets' positions together, quote. */
  exposureBesides(market: string): number {
    let sum = 0;
    for (const [m, n] of this.notional) if (m !== market) sum += n;
    return sum;
  }

  /** How many other markets hold a position. */
  openBesides(market: string): number {
    let n = 0;
    for (const m of this.notional.keys()) if (m !== market) n++;
    return n;
  }
}
