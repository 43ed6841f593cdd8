import { LedgerError } from "../../src/core/errors.js";
import type {
  CandleRecord,
  Ledger,
  LedgerTable,
  MarketKey,
  OutboxEntry,
  OutboxMessage,
  OutboxOutcome,
} from "../../src/live/ledger/types.js";

/** A ledger in memory, for tests of the service loop that do not need the SQLite one. */
export class MemoryLedger implements Ledger {
  readonly records: CandleRecord[] = [];
  readonly outbox: (OutboxEntry & { status: string })[] = [];

  async record(rec: CandleRecord): Promise<void> {
    const last = await this.last(rec.market);
    if (last !== undefined && rec.candle.time <= last.time) {
      throw new LedgerError(
        `${rec.market.symbol} ${rec.market.freq}: candle ${rec.candle.time} recorded already`,
      );
    }
    this.records.push(structuredClone(rec));
    for (const o of rec.outbox ?? []) {
      this.outbox.push({
        ...structuredClone(o),
        id: this.outbox.length + 1,
        market: rec.market,
        candle: rec.candle.time,
        createdAt: rec.processedAt,
        attempts: 0,
        status: "pending",
      });
    }
  }

  async pendingOutbox(channel: OutboxMessage["channel"], limit: number): Promise<OutboxEntry[]> {
    return this.outbox.filter((o) => o.status === "pending" && o.channel === channel).slice(0, limit);
  }

  async settleOutbox(id: number, outcome: OutboxOutcome | { status: "retry"; error: string }): Promise<void> {
    const o = this.outbox.find((x) => x.id === id);
    if (o === undefined || o.status !== "pending") return;
    if (outcome.status === "retry") o.attempts++;
    else o.status = outcome.status;
  }

  async trimOutbox(channel: OutboxMessage["channel"], limit: number): Promise<number> {
    const pending = this.outbox.filter((o) => o.status === "pending" && o.channel === channel);
    let over = pending.length - limit;
    let dropped = 0;
    for (const o of pending) {
      if (over <= 0) break;
      if (!o.keep) {
        o.status = "dropped";
        over--;
        dropped++;
      }
    }
    return dropped;
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
