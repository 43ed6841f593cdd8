import { LedgerError } from "../../src/core/errors.js";
import { openPostgresLedger } from "../../src/live/ledger/postgres.js";
import { openSqliteLedger } from "../../src/live/ledger/sqlite.js";
import type { Ledger } from "../../src/live/ledger/types.js";
import { MARKET, sampleRecords } from "../helpers/ledgerRecords.js";

/**
 * Child process of the crash test: records the sample's records into the ledger from the first
 * one it lacks, as fast as it can, until the parent kills it (SIGKILL) or it has them all.
 * Before it starts it checks that the ledger's last candle and state are those of the record
 * before (the resume point) and prints `ready <index>`; at the end it prints `done`.
 * It waits `paceMs` after each record (a live service records one candle a minute), so that a
 * kill a few hundred milliseconds after the start lands before the end on any machine.
 * The ledger is an SQLite file, or a Postgres ledger when it is given as a postgres:// URL;
 * a Postgres server may take a moment to see that a killed writer's connection is gone (and
 * drop its lock), so the child tries for up to 10 s while the ledger is "being written".
 * Usage: node ledgerWriterChild.js <ledger file or URL> <sample folder> <count> [paceMs]
 */
const [file, sample, countText, paceText] = process.argv.slice(2);
const paceMs = Number(paceText ?? 0);
if (file === undefined || sample === undefined)
  throw new Error("usage: ledger-writer-child <file> <sample> <count>");
const records = await sampleRecords(sample, {
  count: Number(countText),
  halts: [40, 41, 42],
  catchUpUntil: 30,
});
async function open(): Promise<Ledger> {
  const command = "ledger-writer-child";
  if (!file?.startsWith("postgres://")) return openSqliteLedger(file as string, { command });
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return await openPostgresLedger(file, { command });
    } catch (err) {
      const busy = err instanceof LedgerError && err.message.includes("is being written by");
      if (!busy || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
const ledger = await open();
const last = await ledger.last(MARKET);
const start = last === undefined ? 0 : records.findIndex((r) => r.candle.time === last.time) + 1;
if (last !== undefined && JSON.stringify(last.state) !== JSON.stringify(records[start - 1]?.state)) {
  throw new Error(`the state saved with ${last.time} is not that of record ${start - 1}`);
}
process.stdout.write(`ready ${start}\n`);
for (let i = start; i < records.length; i++) {
  await ledger.record(records[i] as (typeof records)[number]);
  if (paceMs > 0) await new Promise((r) => setTimeout(r, paceMs));
}
await ledger.close();
process.stdout.write("done\n");
