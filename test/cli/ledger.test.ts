import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFrame } from "../../src/data/store/index.js";
import { writeLedgerTable } from "../../src/live/ledger/export.js";
import { ledgerFile } from "../../src/live/ledger/file.js";
import { openSqliteLedger, type SqliteLedger } from "../../src/live/ledger/sqlite.js";
import type { CandleRecord } from "../../src/live/ledger/types.js";
import { itb, spawnItb } from "../helpers/cli.js";
import { sampleRecords } from "../helpers/ledgerRecords.js";
import { SAMPLE } from "../helpers/paths.js";

/**
 * `itb ledger export` and `itb status` as real processes on a ledger this test writes from the
 * sample's real candles: the files they write, their tables, their usage errors (status 2, one
 * line, no stack trace), and reading while a writer holds the ledger.
 */

let dir = "";
let config = "";
let data = "";
let records: CandleRecord[] = [];
const COUNT = 1500;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "itb-cli-ledger-"));
  data = join(dir, "data");
  config = join(dir, "config.jsonc");
  writeFileSync(
    config,
    JSON.stringify({ symbol: "BTCUSDT", freq: "1m", data_folder: data, symbols: ["BTCUSDT", "ETHUSDT"] }),
  );
  records = await sampleRecords(SAMPLE, { count: COUNT, halts: [40, 41, 42], catchUpUntil: 30 });
  const ledger = openSqliteLedger(ledgerFile({ data_folder: data }));
  for (const r of records) await ledger.record(r);
  await ledger.close();
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function expectUsageError(r: { status: number | null; stderr: string; stdout: string }, message: string) {
  expect(r.status, r.stderr).toBe(2);
  expect(r.stderr.trim()).toBe(`error: ${message}`);
  expect(r.stdout).toBe("");
}

const exportArgs = (...more: string[]) => ["ledger", "export", "--config", config, ...more];

describe("itb ledger export", () => {
  it("writes a table as CSV, byte for byte what the ledger's table gives", async () => {
    const out = join(dir, "out", "trades.csv");
    const r = itb(exportArgs("--what", "trades", "--out", out));
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const ledger = openSqliteLedger(ledgerFile({ data_folder: data }), { readonly: true });
    const table = await ledger.read("trades");
    await ledger.close();
    const trades = records.reduce((a, x) => a + x.trades.length, 0);
    expect(table.rows).toHaveLength(trades);
    expect(r.stdout).toBe(`wrote ${trades} trades row(s) of BTCUSDT 1m to ${out}\n`);
    const want = join(dir, "want.csv");
    await writeLedgerTable(want, table);
    expect(readFileSync(out, "utf8")).toBe(readFileSync(want, "utf8"));
    expect(readFileSync(out, "utf8").split("\n")[0]).toBe(
      "timestamp,symbol,freq,side,entry_index,entry_time,entry_price,exit_index,exit_time,exit_price,qty,fees,pnl,ret,exit_reason",
    );
    expect(readdirSync(join(dir, "out"))).toEqual(["trades.csv"]);
  });

  it("writes one market's candles of an hour as Parquet (--symbol, --freq, --from, --to)", async () => {
    const out = join(dir, "signals.parquet");
    const r = itb(
      exportArgs(
        "--what",
        "signals",
        "--symbol",
        "BTCUSDT",
        "--freq",
        "1min",
        "--from",
        "2023-03-01T02:00",
        "--to",
        "2023-03-01T03:00",
        "--out",
        out,
      ),
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(`wrote 60 signals row(s) of BTCUSDT 1m to ${out}\n`);
    const frame = await readFrame(out, { columns: ["close", "mom_10", "trade_score", "buy", "latency_ms"] });
    const hour = records.slice(120, 180);
    expect(Array.from(frame.time)).toEqual(hour.map((x) => x.candle.time));
    expect(Array.from(frame.get("close"))).toEqual(hour.map((x) => x.candle.close));
    expect(Array.from(frame.get("mom_10"))).toEqual(hour.map((x) => x.scores.mom_10));
    expect(Array.from(frame.get("trade_score"))).toEqual(hour.map((x) => x.signals.trade_score));
    expect(Array.from(frame.get("buy"))).toEqual(hour.map((x) => (x.buy ? 1 : 0)));
    expect(Array.from(frame.get("latency_ms"))).toEqual(hour.map((x) => x.latencyMs));

    const none = itb(exportArgs("--what", "equity", "--symbol", "ETHUSDT", "--out", join(dir, "eth.csv")));
    expect(none.status, none.stderr).toBe(0);
    expect(none.stdout).toBe(`wrote 0 equity row(s) to ${join(dir, "eth.csv")}\n`);
    expect(readFileSync(join(dir, "eth.csv"), "utf8")).toBe(
      "timestamp,symbol,freq,equity,cash,position,quantity,entry_price\n",
    );
  });

  it("usage mistakes exit 2 with one line and write nothing", () => {
    const out = join(dir, "never.csv");
    let r = itb(exportArgs("--what", "candles", "--out", out));
    expect(r.status).toBe(2);
    expect(r.stderr.split("\n")[0]).toBe(
      "error: option '--what <table>' argument 'candles' is invalid. Allowed choices are signals, decisions, orders, fills, trades, equity.",
    );
    r = itb(exportArgs("--what", "trades", "--out", join(dir, "never.xlsx")));
    expectUsageError(r, `--out ${join(dir, "never.xlsx")}: the file name must end in .csv or .parquet`);
    r = itb(exportArgs("--what", "trades", "--from", "yesterday", "--out", out));
    expectUsageError(
      r,
      '--from: expected a date such as "2023-02-01" (YYYY-MM, YYYY-MM-DD, an ISO time or epoch ms), found "yesterday"',
    );
    const empty = join(dir, "empty.jsonc");
    writeFileSync(
      empty,
      JSON.stringify({ symbol: "BTCUSDT", freq: "1m", data_folder: join(dir, "nothing") }),
    );
    r = itb(["ledger", "export", "--config", empty, "--what", "trades", "--out", out]);
    expectUsageError(r, `no ledger at ${join(dir, "nothing", "ledger.sqlite")}: run itb serve first`);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(join(dir, "nothing"))).toBe(false);
  });

  it("a file that is not a ledger is a data error (exit 1), named", () => {
    const folder = join(dir, "garbage");
    mkdirSync(folder);
    writeFileSync(join(folder, "ledger.sqlite"), "not a database\n".repeat(200));
    const cfg = join(dir, "garbage.jsonc");
    writeFileSync(cfg, JSON.stringify({ symbol: "BTCUSDT", freq: "1m", data_folder: folder }));
    const r = itb(["ledger", "export", "--config", cfg, "--what", "fills", "--out", join(dir, "g.csv")]);
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe(
      `error: ${join(folder, "ledger.sqlite")}: not an itb ledger (not an SQLite database)`,
    );
    const s = itb(["status", "--config", cfg]);
    expect(s.status).toBe(1);
    expect(s.stderr.trim()).toBe(
      `error: ${join(folder, "ledger.sqlite")}: not an itb ledger (not an SQLite database)`,
    );
  });
});

describe("itb status", () => {
  it("shows each market of the config: the last candle, lag, close, position, equity, scores and signals", () => {
    const before = Date.now();
    const r = itb(["status", "--config", config]);
    const after = Date.now();
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const last = records.at(-1) as CandleRecord;
    expect(last.equity.position).toBe(-1);
    const lines = r.stdout.trimEnd().split("\n");
    for (const line of lines) expect(line.length, line).toBeLessThanOrEqual(120);
    const lagDays = (t: number) => Math.floor((t - (last.candle.time + 60_000)) / 86_400_000);
    const lag = (d: number) => new RegExp(`^${d}d \\d+h$`);
    expect(lines[0]).toMatch(/^market +last candle UTC +lag +close +signal +position +equity$/);
    const cells = (lines[1] as string).split(/ {2,}/);
    expect(cells[0]).toBe("BTCUSDT 1m");
    expect(cells[1]).toBe("2023-03-02 00:59");
    expect(
      lag(lagDays(before)).test(cells[2] as string) || lag(lagDays(after)).test(cells[2] as string),
    ).toBe(true);
    expect(cells.slice(3)).toEqual(["23606.95", "-", "short 0.0369792 @ 23702.05", "880.00"]);
    expect(lines.slice(2, 5)).toEqual([
      "  scores: mom_5=-0.0008955, mom_10=-0.001283, mom_20=-0.00302, mom_60=-0.0009319",
      "  signals: trade_score=-0.1283, trade_score_smooth=-0.2151, buy_score=0, sell_score=0.1283, buy_signal_column=0,",
      "      sell_signal_column=0",
    ]);
    expect(lines[5]).toBe("ETHUSDT 1m  nothing recorded");
    expect(lines).toHaveLength(6);
  });

  it("--json gives the same as numbers, null for NaN and for a market with nothing recorded", () => {
    const before = Date.now();
    const r = itb(["status", "--config", config, "--json"]);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as {
      now: string;
      missing: string[];
      markets: Record<string, unknown>[];
    };
    const now = Date.parse(out.now);
    expect(now).toBeGreaterThanOrEqual(before);
    const last = records.at(-1) as CandleRecord;
    const file = ledgerFile({ data_folder: data });
    expect(out.missing).toEqual([]);
    expect(out.markets[0]).toEqual({
      symbol: "BTCUSDT",
      freq: "1m",
      ledger: file,
      recorded: true,
      last_candle: "2023-03-02T00:59:00.000Z",
      close_time: "2023-03-02T01:00:00.000Z",
      lag_seconds: Math.round((now - Date.UTC(2023, 2, 2, 1)) / 100) / 10,
      catch_up: false,
      processed_at: new Date(last.processedAt).toISOString(),
      latency_ms: last.latencyMs,
      close: last.candle.close,
      scores: last.scores,
      signals: last.signals,
      buy: false,
      sell: false,
      position: "short",
      quantity: last.equity.quantity,
      entry_price: last.equity.entryPrice,
      equity: last.equity.equity,
      cash: last.equity.cash,
    });
    expect(out.markets[1]).toMatchObject({
      symbol: "ETHUSDT",
      freq: "1m",
      ledger: file,
      recorded: false,
      equity: null,
    });
  });

  it("says when there is no ledger yet, per market and once per file", () => {
    const cfg = join(dir, "none.jsonc");
    writeFileSync(cfg, JSON.stringify({ symbol: "ETHUSDT", freq: "1h", data_folder: join(dir, "none") }));
    const r = itb(["status", "--config", cfg]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(
      "market      last candle UTC   lag  close  signal  position  equity\n" +
        "ETHUSDT 1h  nothing recorded\n" +
        `no ledger at ${join(dir, "none", "ledger.sqlite")}: run itb serve first\n`,
    );
    expect(existsSync(join(dir, "none"))).toBe(false);
  });
});

describe("reading beside the writer", () => {
  it("export and status read while a writer holds the ledger and records; the writer is not held up", async () => {
    const folder = join(dir, "busy");
    const cfg = join(dir, "busy.jsonc");
    writeFileSync(cfg, JSON.stringify({ symbol: "BTCUSDT", freq: "1m", data_folder: folder }));
    const writer: SqliteLedger = openSqliteLedger(ledgerFile({ data_folder: folder }));
    for (const rec of records.slice(0, 100)) await writer.record(rec);
    const exporting = spawnItb([
      "ledger",
      "export",
      "--config",
      cfg,
      "--what",
      "signals",
      "--out",
      join(dir, "busy.csv"),
    ]);
    // the writer goes on while the export runs
    for (const rec of records.slice(100, 200)) await writer.record(rec);
    const done = await exporting.done;
    expect(done.status, done.stderr).toBe(0);
    const rows = Number(/^wrote (\d+) signals/.exec(done.stdout)?.[1]);
    expect(rows).toBeGreaterThanOrEqual(100);
    expect(rows).toBeLessThanOrEqual(200);
    const status = itb(["status", "--config", cfg, "--json"]);
    expect(status.status, status.stderr).toBe(0);
    expect(
      (JSON.parse(status.stdout) as { markets: { last_candle: string }[] }).markets[0]?.last_candle,
    ).toBe("2023-03-01T03:19:00.000Z");
    await writer.record(records[200] as CandleRecord);
    await writer.close();
  });
});
