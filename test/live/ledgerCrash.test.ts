import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CandleRecord, LEDGER_TABLES } from "../../src/live/ledger/types.js";
import { BACKENDS, type LedgerBackend } from "../helpers/ledgerBackends.js";
import { expectedTables, MARKET, rowObjects, sampleRecords } from "../helpers/ledgerRecords.js";
import { ROOT, SAMPLE } from "../helpers/paths.js";

/**
 * Crash safety with real processes: a child records the sample's candles into the ledger as
 * fast as it can and is killed with SIGKILL at random moments, again and again. After every
 * kill the ledger's last candle is one whose whole record is there (candle, decisions, orders,
 * fills, trades, equity, state) and nothing of any later candle is; the next child resumes at
 * the candle after it with the state saved with it; the ledger at the end equals an
 * uninterrupted run's. Against both ledgers: an SQLite file, and a Postgres schema (where the
 * server rolls back the transaction of the killed connection and drops its writer's lock).
 */

/** The child is compiled on its own (with what it imports) so it runs under plain node. */
const BUILD = join(ROOT, "node_modules", ".cache", "itb-ledger-test");
const CHILD = join(BUILD, "test", "live", "ledgerWriterChild.js");
const COUNT = 1500;
const KILLS = 6;
/** The pause after each record and the longest wait before a kill: KILLS * DELAY_MS / PACE_MS < COUNT. */
const PACE_MS = 1;
const DELAY_MS = 200;

let records: CandleRecord[] = [];

beforeAll(async () => {
  mkdirSync(BUILD, { recursive: true });
  // Outside the repo's package scope (node_modules), so say that these files are ES modules.
  writeFileSync(join(BUILD, "package.json"), '{ "type": "module" }\n');
  const config = {
    extends: join(ROOT, "tsconfig.json"),
    compilerOptions: { noEmit: false, rootDir: ROOT, outDir: BUILD, sourceMap: false },
    include: [],
    files: [join(ROOT, "test", "live", "ledgerWriterChild.ts")],
  };
  writeFileSync(join(BUILD, "tsconfig.json"), JSON.stringify(config));
  execFileSync(
    process.execPath,
    [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", join(BUILD, "tsconfig.json")],
    {
      stdio: "pipe",
    },
  );
  records = await sampleRecords(SAMPLE, { count: COUNT, halts: [40, 41, 42], catchUpUntil: 30 });
}, 120_000);

interface Child {
  child: ChildProcess;
  ready: Promise<number>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string; err: string }>;
}

function writer(file: string, paceMs = 0): Child {
  const child = spawn(process.execPath, [CHILD, file, SAMPLE, String(COUNT), String(paceMs)], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  const ready = new Promise<number>((ok, fail) => {
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /^ready (\d+)$/m.exec(out);
      if (m) ok(Number(m[1]));
    });
    child.on("exit", () => fail(new Error(`the writer ended before it was ready: ${err}`)));
  });
  ready.catch(() => undefined);
  child.stderr?.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    out: string;
    err: string;
  }>((ok) => child.on("close", (code, signal) => ok({ code, signal, out, err })));
  return { child, ready, exited };
}

/** The ledger holds records[0..n) exactly: every table, and last() with its state. */
async function expectHolds(b: LedgerBackend, file: string, n: number, context: string): Promise<void> {
  const ledger = await b.open(file, { readonly: true });
  try {
    const want = expectedTables(records.slice(0, n));
    for (const what of LEDGER_TABLES) {
      expect(rowObjects(await ledger.read(what)), `${context}: ${what}`).toEqual(want[what]);
    }
    const r = records[n - 1] as CandleRecord;
    const last = await ledger.last(MARKET);
    expect(last?.time, context).toBe(r.candle.time);
    expect(last?.state, context).toEqual(r.state);
    expect(last?.equity, context).toEqual(r.equity);
  } finally {
    await ledger.close();
  }
}

/** Resolves once the ledger holds a candle after the first `recorded` ones. */
async function untilAdvanced(b: LedgerBackend, file: string, recorded: number, w: Child): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    // the first writer may still be creating the ledger
    const ledger = await b.open(file, { readonly: true }).catch(() => undefined);
    const last = await ledger?.last(MARKET).catch(() => undefined);
    await ledger?.close();
    const n = records.findIndex((r) => r.candle.time === last?.time) + 1;
    if (n > recorded) return;
    if (w.child.exitCode !== null) throw new Error(`the writer ended early: ${w.child.exitCode}`);
    if (Date.now() > deadline) throw new Error("the writer recorded nothing in 60 s");
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe.each(BACKENDS)("a writer of the $name ledger killed with SIGKILL at random moments", ({ make }) => {
  const b = make();
  afterAll(async () => {
    await b.cleanup();
  });

  it(`leaves whole candles only, and the next resumes after the last (${KILLS} kills)`, async () => {
    const file = await b.fresh();
    const seed = Date.now() % 100_000;
    let rng = seed;
    const random = () => {
      rng = (rng * 48_271) % 2_147_483_647;
      return rng / 2_147_483_647;
    };
    let recorded = 0;
    for (let k = 0; k < KILLS; k++) {
      const w = writer(file, PACE_MS);
      const start = await w.ready;
      const context = `seed ${seed}, kill ${k + 1}`;
      expect(start, context).toBe(recorded);
      // kill at a random moment once the child has recorded something (on a loaded machine it
      // may take a while to start); paced, it records at most DELAY_MS / PACE_MS candles more
      await untilAdvanced(b, file, recorded, w);
      const delay = Math.floor(random() * DELAY_MS);
      await new Promise((r) => setTimeout(r, delay));
      w.child.kill("SIGKILL");
      const exit = await w.exited;
      expect(exit.signal, `${context}: ${exit.err}`).toBe("SIGKILL");
      expect(exit.out, context).toBe(`ready ${start}\n`);
      const ledger = await b.open(file, { readonly: true });
      const last = await ledger.last(MARKET);
      await ledger.close();
      const n = records.findIndex((r) => r.candle.time === last?.time) + 1;
      // the child wrote between the kills, and never reached the end
      expect(n, context).toBeGreaterThan(recorded);
      expect(n, context).toBeLessThan(COUNT);
      await expectHolds(b, file, n, `${context}, ${n} candles`);
      recorded = n;
    }
    const w = writer(file);
    expect(await w.ready).toBe(recorded);
    const exit = await w.exited;
    expect(exit.code, exit.err).toBe(0);
    expect(exit.out).toBe(`ready ${recorded}\ndone\n`);
    await expectHolds(b, file, COUNT, `seed ${seed}, after the last run`);

    // an uninterrupted run gives the same ledger
    const straight = await b.open(await b.fresh());
    for (const r of records) await straight.record(r);
    const killed = await b.open(file, { readonly: true });
    for (const what of LEDGER_TABLES) expect(await killed.read(what)).toEqual(await straight.read(what));
    await Promise.all([killed.close(), straight.close()]);
  }, 180_000);
});
