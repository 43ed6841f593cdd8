import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Simulator, startSimulator, VirtualClock } from "../../src/simulator/index.js";
import { SAMPLE } from "../helpers/paths.js";
import { smallPipelineConfig } from "../helpers/pipelineConfig.js";
import { itbInPty } from "../helpers/pty.js";
import { renderScreen } from "../helpers/screen.js";

/**
 * The CLI in a terminal: real processes on a pseudo-terminal (util-linux `script`), their bytes
 * replayed through a small terminal model to get what the user sees. Logs, progress bars and
 * stage lines must each keep a line of their own, nothing may be overwritten once the output
 * scrolls, and the shell prompt must come on a fresh line.
 */

let dir = "";
let sim: Simulator;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "itb-terminal-"));
  sim = await startSimulator({
    archive: SAMPLE,
    clock: new VirtualClock({ start: Date.UTC(2023, 4, 1, 0, 1), speed: 0 }),
    preload: true,
  });
});

afterAll(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

const BAR = /[█░]/;
/** pino-pretty's first line of an entry: `[23:01:12.492] INFO: message`. */
const LOG = /\[\d\d:\d\d:\d\d\.\d{3}\] (DEBUG|INFO|WARN|ERROR):/;

describe("itb on a terminal", () => {
  it("import: log lines never land in a bar, each bar's final line stays, the summary is not overwritten", async () => {
    const config = join(dir, "import.jsonc");
    writeFileSync(
      config,
      JSON.stringify({
        symbol: "BTCUSDT",
        freq: "1m",
        data_folder: join(dir, "import"),
        data_sources: [
          { folder: "BTCUSDT", market: "spot" },
          { folder: "ETHUSDT", market: "um", column_prefix: "eth" },
        ],
      }),
    );
    // A screen of 10 rows: the output scrolls several times while the bars are drawn.
    const r = await itbInPty(
      ["import", "--config", config, "--source", SAMPLE, "--from", "2023-02", "--to", "2023-05"],
      { cols: 220, rows: 10 },
    );
    expect(r.status).toBe(0);
    const { lines, cursor } = renderScreen(r.output, { cols: 220, rows: 10 });
    for (const line of lines) expect(BAR.test(line) && LOG.test(line), line).toBe(false);
    // One log entry per archive file, each starting on a line of its own.
    expect(lines.filter((l) => /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: archive file$/.test(l))).toHaveLength(6);
    const bars = lines.filter((l) => BAR.test(l));
    expect(bars).toHaveLength(2);
    expect(bars[0]).toMatch(/^BTCUSDT spot \[█{20}\] 100% \| 3\/3 files \| \d+ s$/);
    expect(bars[1]).toMatch(/^ETHUSDT um \[█{20}\] 100% \| 3\/3 files \| \d+ s$/);
    const summary = lines.slice(-2);
    expect(summary[0]).toMatch(
      /^BTCUSDT: 128,080 rows added from 3 file\(s\) \(0 already stored\); 128,080 rows in \S+klines\.parquet \(2023-02-01T00:00:00\.000Z \.\. 2023-04-30T23:59:00\.000Z\)$/,
    );
    expect(summary[1]).toMatch(/^ETHUSDT: 128,160 rows added from 3 file\(s\)/);
    expect(lines.indexOf(bars[1] as string)).toBeLessThan(lines.indexOf(summary[0] as string));
    expect(cursor).toEqual({ col: 0, line: "" });
  });

  it("pipeline: a bar per download source under its stage line, warnings on lines of their own, the reason said once, a table of at most 120 columns and the report's path", async () => {
    const config = join(dir, "pipeline.jsonc");
    const data = join(dir, "pipeline");
    writeFileSync(config, JSON.stringify({ ...smallPipelineConfig(data), exchange_url: sim.url }));
    const r = await itbInPty(["pipeline", "--config", config], { cols: 120, rows: 24 });
    expect(r.status).toBe(0);
    const { lines, cursor } = renderScreen(r.output, { cols: 120, rows: 24 });
    for (const line of lines) {
      expect(LOG.test(line) && (BAR.test(line) || line.includes("[BTCUSDT 1m]")), line).toBe(false);
    }
    // The download's bar, kept above the stage's line once done.
    expect(lines.filter((l) => BAR.test(l))).toEqual([
      expect.stringMatching(
        /^\[BTCUSDT 1m\] download \.\.\. BTCUSDT spot \[█{20}\] 100% \| 44,640\/44,640 1m bars \| \d+ s$/,
      ),
    ]);
    // The gap of 2023-03-24 is reported while merge runs: a warning of its own, then merge's line.
    const warning = lines.findIndex((l) => /\] WARN: gap in source data$/.test(l));
    expect(warning).toBeGreaterThan(0);
    const stageLines = lines.filter((l) => /^\[BTCUSDT 1m\] \S+ \.\.\. (done|skipped|FAILED)/.test(l));
    expect(stageLines.map((l) => l.split(" ")[2])).toEqual([
      "download",
      "merge",
      "features",
      "labels",
      "train",
      "predict-rolling",
      "signals",
      "simulate",
      "report",
    ]);
    expect(lines.indexOf(stageLines[1] as string)).toBeGreaterThan(warning);
    // Why a stage runs is said once: every stage of a first run runs for the same reason.
    expect(stageLines[0]).toMatch(
      /^\[BTCUSDT 1m\] download \.\.\. done in \d+\.\d s \(no manifest: first run/,
    );
    for (const l of stageLines.slice(1)) expect(l).toMatch(/^\[BTCUSDT 1m\] \S+ \.\.\. done in \d+\.\d s$/);
    const table = lines.slice(lines.findIndex((l) => l.startsWith("MARKET")));
    expect(table[1]).toMatch(/^BTCUSDT 1m\s+ok\s+9\s+0\s+44,640\s+high_10_lc/);
    for (const l of table) expect(l.length, l).toBeLessThanOrEqual(120);
    expect(table.at(-1)).toBe(`report: ${join(data, "BTCUSDT", "report.html")}`);
    expect(cursor).toEqual({ col: 0, line: "" });

    // Again: every stage up to date (the download too: download_end is in the past), no bar.
    const again = await itbInPty(["pipeline", "--config", config], { cols: 120, rows: 24 });
    expect(again.status).toBe(0);
    const second = renderScreen(again.output, { cols: 120, rows: 24 });
    expect(second.lines.filter((l) => l.startsWith("[BTCUSDT 1m]"))).toHaveLength(9);
    expect(
      second.lines
        .filter((l) => l.startsWith("[BTCUSDT 1m]"))
        .every((l) => l.endsWith("skipped (up to date)")),
    ).toBe(true);
    expect(second.lines.at(-1)).toBe(`report: ${join(data, "BTCUSDT", "report.html")}`);
    expect(second.cursor).toEqual({ col: 0, line: "" });
  });
});
