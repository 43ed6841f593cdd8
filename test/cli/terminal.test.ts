import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Simulator, startSimulator, VirtualClock } from "../../src/simulator/index.js";
import { SAMPLE } from "../helpers/paths.js";
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
});
