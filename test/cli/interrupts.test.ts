import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFrame } from "../../src/data/store/index.js";
import { frameDiff, serveArchive } from "../data/archiveHelpers.js";
import { itb, spawnItb } from "../helpers/cli.js";
import { writeGate } from "../helpers/gate.js";
import { ROOT, SAMPLE } from "../helpers/paths.js";
import { IMPORT_ROLLING_STAGES, smallPipelineConfig } from "../helpers/pipelineConfig.js";

/**
 * Ctrl-C and SIGTERM on real `itb` processes: the pipeline stops after the stage in flight and
 * exits 130 (143), import keeps the files completed before the one in flight, a second signal
 * quits at once, and a progress bar on a real terminal (a pty from `script`) gives the cursor
 * back.
 */

let dir = "";
const made: string[] = [];

function fresh(label: string): string {
  const d = mkdtempSync(join(dir, `${label}-`));
  made.push(d);
  return d;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "itb-cli-interrupts-"));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Every file below `root`, relative. */
function tree(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(root.length + 1))
    .sort();
}

/** A pipeline config whose features stage waits at a gate. */
function gatedPipeline(label: string) {
  const d = fresh(label);
  const gate = writeGate(d);
  const config = join(d, "config.jsonc");
  writeFileSync(config, JSON.stringify(smallPipelineConfig(join(d, "data"), [gate.set]), null, 2));
  return { d, gate, config, data: join(d, "data", "BTCUSDT") };
}

interface JsonSummary {
  failed: number;
  interrupted: number;
  markets: {
    market: string;
    ok: boolean;
    interrupted: boolean;
    ran: string[];
    skipped: string[];
    not_run: string[];
  }[];
}

describe("itb pipeline interrupted", () => {
  it("SIGINT: the stage in flight finishes, no later stage starts, exit 130; a rerun continues", async () => {
    const { gate, config, data } = gatedPipeline("sigint");
    const p = spawnItb(["pipeline", "--config", config, "--archive", SAMPLE, "--json"]);
    const pid = await gate.waitReady();
    expect(pid).toBe(p.child.pid);
    p.child.kill("SIGINT");
    await p.waitFor(/interrupted: stopping after the stages in flight \(again to quit at once\)/);
    gate.open();
    const r = await p.done;
    expect(r.status, r.stderr).toBe(130);
    const j = JSON.parse(r.stdout) as JsonSummary;
    expect(j).toMatchObject({ failed: 0, interrupted: 1 });
    expect(j.markets[0]).toMatchObject({
      market: "BTCUSDT 1m",
      ok: false,
      interrupted: true,
      ran: ["import", "merge", "features"],
      skipped: [],
      not_run: ["labels", "train", "predict-rolling", "signals", "simulate", "report"],
    });
    expect(r.stderr.trim().split("\n").at(-1)).toBe(
      "interrupted by SIGINT: BTCUSDT 1m: finished import, merge, features; not run: labels, train, predict-rolling, signals, simulate, report; run the same command again to continue (finished stages are skipped)",
    );
    // The finished stages have manifests, the others none; no lock or temporary file is left.
    expect(tree(join(data, ".itb"))).toEqual(
      ["features", "import", "merge"].map((s) => join("manifests", `${s}.json`)),
    );
    expect(tree(data).filter((f) => f.endsWith(".tmp") || f.endsWith(".lock"))).toEqual([]);

    const again = itb(["pipeline", "--config", config, "--archive", SAMPLE, "--json"]);
    expect(again.status, again.stderr).toBe(0);
    const k = (JSON.parse(again.stdout) as JsonSummary).markets[0];
    expect(k?.skipped).toEqual(["import", "merge", "features"]);
    expect(k?.ran).toEqual(IMPORT_ROLLING_STAGES.slice(3));
  });

  it("SIGTERM exits 143 the same way", async () => {
    const { gate, config } = gatedPipeline("sigterm");
    const p = spawnItb(["pipeline", "--config", config, "--archive", SAMPLE]);
    await gate.waitReady();
    p.child.kill("SIGTERM");
    await p.waitFor(/"signal":"SIGTERM".*interrupted: stopping after the stages in flight/);
    gate.open();
    const r = await p.done;
    expect(r.status, r.stderr).toBe(143);
    expect(r.stdout).toMatch(/^BTCUSDT 1m\s+INTERRUPTED\s+3\s+0\s+44,640\s+-\s+-\s+-\s+[\d.]+ s$/m);
    expect(r.stdout).toContain(
      "BTCUSDT 1m interrupted: not run: labels, train, predict-rolling, signals, simulate, report",
    );
    expect(r.stdout).toContain("1 market(s), 0 failed, 1 interrupted");
    expect(r.stderr).toContain("interrupted by SIGTERM: BTCUSDT 1m: finished import, merge, features;");
  });

  it("a second signal quits at once, removing the write lock and leaving no half-written file", async () => {
    const { gate, config, data } = gatedPipeline("twice");
    const p = spawnItb(["pipeline", "--config", config, "--archive", SAMPLE]);
    await gate.waitReady();
    expect(existsSync(join(data, ".itb", "write.lock"))).toBe(true);
    const before = tree(data);
    p.child.kill("SIGINT");
    await p.waitFor(/interrupted: stopping after the stages in flight/);
    const t0 = Date.now();
    p.child.kill("SIGINT");
    const r = await p.done;
    // The gate is still closed: the features stage never finished.
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(r.status, r.stderr).toBe(130);
    expect(r.stderr.trim().split("\n").at(-1)).toBe("interrupted again by SIGINT: quitting at once");
    expect(tree(data)).toEqual(before.filter((f) => f !== join(".itb", "write.lock")));
    expect(tree(data).some((f) => f.startsWith("features"))).toBe(false);
    gate.open();
  });
});

describe("itb predict-rolling interrupted", () => {
  it("terminates its worker threads at once, removes the unfinished run and leaves the predictions alone", async () => {
    const d = fresh("rolling");
    const config = join(d, "config.jsonc");
    // gb with many rounds: each walk-forward step takes far longer than the test waits.
    const c = {
      ...smallPipelineConfig(join(d, "data")),
      algorithms: [
        { name: "gb", algo: "gb", params: { max_depth: 3, num_boost_round: 5000, learning_rate: 0.01 } },
      ],
    };
    writeFileSync(config, JSON.stringify(c, null, 2));
    const setup = itb(["pipeline", "--config", config, "--archive", SAMPLE, "--to", "labels"]);
    expect(setup.status, setup.stderr).toBe(0);
    const models = join(d, "data", "BTCUSDT", "MODELS");
    const p = spawnItb(["predict-rolling", "--config", config, "--workers", "2", "--log-format", "json"]);
    await p.waitFor(/"mode":"worker threads","msg":"walk-forward started"/);
    expect(existsSync(join(models, "rolling", "run-0001"))).toBe(true);
    const t0 = Date.now();
    p.child.kill("SIGINT");
    const r = await p.done;
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(r.status, r.stderr).toBe(130);
    expect(r.stderr.trim().split("\n").at(-1)).toBe(
      "interrupted by SIGINT: predict-rolling stopped after 0 of 3 step(s); the unfinished run 1 is removed and predictions are unchanged",
    );
    expect(r.stdout).toBe("");
    expect(existsSync(join(models, "rolling", "run-0001"))).toBe(false);
    expect(existsSync(join(d, "data", "BTCUSDT", "predictions.parquet"))).toBe(false);
  }, 180_000);
});

describe("itb import interrupted", () => {
  let server: Awaited<ReturnType<typeof serveArchive>>;
  beforeAll(async () => {
    // April's zip is held: February and March arrive, April stays in flight.
    server = await serveArchive(SAMPLE, { hold: /BTCUSDT-1m-2023-04\.zip$/ });
  });
  afterAll(async () => {
    server.release();
    await server.close();
  });

  function importConfig(label: string) {
    const d = fresh(label);
    const config = join(d, "config.jsonc");
    writeFileSync(config, JSON.stringify({ symbol: "BTCUSDT", freq: "1m", data_folder: join(d, "data") }));
    return { config, store: join(d, "data", "BTCUSDT", "klines.parquet") };
  }
  const args = (config: string, source: string) => [
    "import",
    "--config",
    config,
    "--source",
    source,
    "--from",
    "2023-02",
    "--to",
    "2023-05",
    "--log-format",
    "json",
  ];

  for (const [sig, status] of [
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ] as const) {
    it(`${sig} keeps the files completed before the one in flight, exits ${status}; a rerun resumes`, async () => {
      const { config, store } = importConfig(sig);
      const p = spawnItb(args(config, server.url));
      await p.waitFor(/"file":"BTCUSDT-1m-2023-03\.zip","rows":44560,"msg":"archive file"/);
      p.child.kill(sig);
      const r = await p.done;
      expect(r.status, r.stderr).toBe(status);
      expect(r.stdout).toMatch(
        /^BTCUSDT: 84,880 rows added from 2 file\(s\) \(0 already stored\); 84,880 rows in .*klines\.parquet \(2023-02-01T00:00:00\.000Z \.\. 2023-03-31T23:59:00\.000Z\) \[interrupted after 2 of 3 file\(s\)\]$/m,
      );
      expect(r.stderr.trim().split("\n").at(-1)).toBe(
        `interrupted by ${sig}: import stopped; BTCUSDT: 2 of 3 file(s) stored; run the same command again to resume`,
      );
      const kept = await readFrame(store);
      expect(kept.length).toBe(84_880);
      expect(tree(join(store, ".."))).toEqual(["klines.parquet"]);

      // The rerun reads only April, from the local copy of the archive, and ends where a whole import ends.
      const again = itb(args(config, SAMPLE));
      expect(again.status, again.stderr).toBe(0);
      expect(again.stdout).toMatch(
        /^BTCUSDT: 43,200 rows added from 1 file\(s\) \(2 already stored\); 128,080 rows/m,
      );
      const whole = importConfig(`${sig}-whole`);
      expect(itb(args(whole.config, SAMPLE)).status).toBe(0);
      expect(frameDiff(await readFrame(store), await readFrame(whole.store))).toBe(0);
    });
  }

  it("on a terminal, the progress bar leaves the cursor shown and its line ended (Ctrl-C typed into a pty)", async () => {
    const { config } = importConfig("tty");
    const command = [process.execPath, resolve(ROOT, "bin/itb"), ...args(config, server.url).slice(0, -2)]
      .map((a) => `'${a}'`)
      .join(" ");
    // util-linux `script` runs the command on a new pseudo-terminal and copies our input to it.
    const child = spawn("script", ["-qefc", `exec ${command}`, "/dev/null"], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (b: Buffer) => {
      out += b.toString("latin1");
    });
    const closed = new Promise<number | null>((ok) => child.on("close", (code) => ok(code)));
    const deadline = Date.now() + 60_000;
    while (!/2\/3 files/.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(out).toMatch(/2\/3 files/);
    child.stdin.write("\x03");
    const code = await closed;
    expect(code, out).toBe(130);
    // The bar never hides the cursor (nothing to give back), and the interruption's lines start
    // on a line of their own: the bar's line is erased before them.
    expect(out).not.toContain("\x1b[?25l");
    expect(out).toContain("interrupted by SIGINT: import stopped; BTCUSDT: 2 of 3 file(s) stored");
    expect(out.endsWith("\r\n")).toBe(true);
  });
});
