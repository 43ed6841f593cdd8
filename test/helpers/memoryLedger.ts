import { LedgerError } from "../../src/core/errors.js";
import type { CandleRecord, Ledger, LedgerTable, MarketKey } from "../../src/live/ledger/types.js";

/** A ledger in memory, for tests of the service loop that do not need the SQLite one. */
export class MemoryLedger implements Ledger {
  readonly records: CandleRecord[] = [];

  async record(rec: CandleRecord): Promise<void> {
    const last = await this.last(rec.market);
    if (last !== undefined && rec.candle.time <= last.time) {
      throw new LedgerError(
        `${rec.market.symbol} ${rec.market.freq}: candle ${rec.candle.time} recorded already`,
      );
    }
    this.records.push(structuredClone(rec));
  }

  async last(market: MarketKey) {
    for (let i = this.records.length - 1; i >= 0; i--) {
      const r = this.records[i] as CandleRecord;
      if (r.market.symbol === market.symbol && r.market.freq === market.freq) {
        return { time: r.candle.time, state: r.state, equity: r.equity };
      }
    }
    return undefined;
  }

  async markets(): Promise<MarketKey[]> {
    const seen = new Map<string, MarketKey>();
    for (const r of this.records) seen.set(`${r.market.symbol} ${r.market.freq}`, r.market);
    return [...seen.values()];
  }

  async read(): Promise<LedgerTable> {
    return { columns: [], rows: [] };
  }

  async close(): Promise<void> {}
}
