import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { itb, spawnItb } from "../helpers/cli.js";
import { type Gate, writeGate } from "../helpers/gate.js";
import { SAMPLE } from "../helpers/paths.js";
import { smallPipelineConfig } from "../helpers/pipelineConfig.js";

/**
 * One writer per market, with real processes: a second pipeline on the same data folder is
 * refused with the holder's pid and command (exit 75), or waits with --wait and then reports
 * its own results; every writing command takes the lock and readers do not; a lock left by a
 * killed pipeline is recognised as stale and what the killed run left is removed.
 */

let dir = "";
let gate: Gate;
let configA = "";
let configB = "";
let data = "";

/** The same market and data folder; B labels 2 % moves instead of 1 %. */
function config(thresholds: number[]): object {
  const c = smallPipelineConfig(join(dir, "data"), [gate.set]) as { label_sets: { config: object }[] };
  for (const s of c.label_sets) Object.assign(s.config, { thresholds });
  return c;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "itb-cli-lock-"));
  gate = writeGate(dir);
  configA = join(dir, "a.jsonc");
  configB = join(dir, "b.jsonc");
  writeFileSync(configA, JSON.stringify(config([1.0]), null, 2));
  writeFileSync(configB, JSON.stringify(config([2.0]), null, 2));
  data = join(dir, "data", "BTCUSDT");
});

afterAll(() => {
  gate.open();
  rmSync(dir, { recursive: true, force: true });
});

interface JsonSummary {
  markets: { ran: string[]; skipped: string[]; auc: Record<string, number> }[];
}

const pipeline = (config: string, ...more: string[]) => [
  "pipeline",
  "--config",
  config,
  "--archive",
  SAMPLE,
  "--json",
  ...more,
];

describe("two pipelines on one data folder", () => {
  it("the second is refused while the first writes (exit 75, naming it); every writer is, readers are not", async () => {
    gate.reset();
    const a = spawnItb(pipeline(configA));
    const pid = await gate.waitReady();
    expect(pid).toBe(a.child.pid);
    const lock = JSON.parse(readFileSync(join(data, ".itb", "write.lock"), "utf8")) as Record<string, string>;
    expect(lock.command).toBe(`itb pipeline --config ${configA} --archive ${SAMPLE} --json`);
    const refusal = `error: another itb process (pid ${pid}, ${JSON.stringify(lock.command)}, since ${lock.started}) is writing ${data}; wait for it, or pass --wait`;

    const b = itb(pipeline(configB));
    expect(b.status, b.stderr).toBe(75);
    expect(b.stderr.trim().split("\n").at(-1)).toBe(refusal);
    expect(b.stdout).toBe("");

    const writers = [
      ["import", "--source", SAMPLE],
      ["merge"],
      ["features"],
      ["labels"],
      ["train"],
      ["predict"],
      ["predict-rolling"],
      ["signals"],
      ["simulate"],
      ["report"],
      ["models", "promote", "high_10_lc", "1"],
      ["models", "prune"],
    ];
    // At once: each only starts, finds the lock taken and stops.
    const runs = await Promise.all(writers.map((w) => spawnItb([...w, "--config", configB]).done));
    expect(runs.map((r, i) => [writers[i]?.join(" "), r.status, r.stderr.trim().split("\n").at(-1)])).toEqual(
      writers.map((w) => [w.join(" "), 75, refusal]),
    );
    const reader = itb(["models", "list", "--config", configB]);
    expect(reader.status, reader.stderr).toBe(0);

    gate.open();
    const ra = await a.done;
    expect(ra.status, ra.stderr).toBe(0);
    expect(existsSync(join(data, ".itb", "write.lock"))).toBe(false);
  }, 300_000);

  it("with --wait the second waits for the first, then runs with its own config and reports its own results", async () => {
    gate.reset();
    const a = spawnItb(pipeline(configA, "--force", "features"));
    const pid = await gate.waitReady();
    const b = spawnItb(pipeline(configB, "--wait"));
    await b.waitFor(new RegExp(`"msg":"waiting: another itb process \\(pid ${pid}, `));
    // B waits before any stage: nothing of it has run yet.
    expect(b.stderr()).not.toMatch(/"stage":/);
    gate.open();
    const [ra, rb] = await Promise.all([a.done, b.done]);
    expect(ra.status, ra.stderr).toBe(0);
    expect(rb.status, rb.stderr).toBe(0);
    const ma = (JSON.parse(ra.stdout) as JsonSummary).markets[0];
    const mb = (JSON.parse(rb.stdout) as JsonSummary).markets[0];
    expect(mb?.ran).toEqual(["labels", "train", "predict-rolling", "signals", "simulate", "report"]);
    expect(rb.stderr).toMatch(/"stage":"labels","reason":"config changed: label_sets"/);
    expect(Object.keys(mb?.auc ?? {})).toEqual(["high_10_lc", "low_10_lc"]);
    expect(mb?.auc).not.toEqual(ma?.auc);
    // B started its labels only after A had finished its report.
    const at = (text: string, re: RegExp) => Number(re.exec(text)?.[1]);
    expect(
      at(rb.stderr, /"time":(\d+),[^\n]*"stage":"labels"[^\n]*"msg":"stage started"/),
    ).toBeGreaterThanOrEqual(at(ra.stderr, /"time":(\d+),[^\n]*"stage":"report"[^\n]*"msg":"stage done"/));
  }, 180_000);

  it("a lock left by a killed pipeline is stale: the next run removes it and what the killed run left", async () => {
    gate.reset();
    const a = spawnItb(pipeline(configA, "--force", "features"));
    const pid = await gate.waitReady();
    a.child.kill("SIGKILL");
    await a.done;
    expect(existsSync(join(data, ".itb", "write.lock"))).toBe(true);
    // What a kill in the middle of a write and of a walk-forward run leaves.
    const tmp = join(data, `.features.parquet.${pid}.0123456789ab.tmp`);
    writeFileSync(tmp, "half");
    const run = join(data, "MODELS", "rolling", "run-0099");
    mkdirSync(join(run, "step-0001"), { recursive: true });
    writeFileSync(join(run, "step-0001", "high_10_lc.json"), "{}");
    gate.open();

    const b = itb(pipeline(configA, "--log-format", "json"));
    expect(b.status, b.stderr).toBe(0);
    const logs = b.stderr
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(logs.find((l) => String(l.msg).startsWith("removed a stale write lock"))?.msg).toBe(
      `removed a stale write lock: pid ${pid} ("itb pipeline --config ${configA} --archive ${SAMPLE} --json --force features") is not running`,
    );
    expect(logs.find((l) => String(l.msg).startsWith("removed what interrupted runs left"))).toMatchObject({
      removed: 2,
      files: [tmp, run],
    });
    expect(existsSync(tmp)).toBe(false);
    expect(existsSync(run)).toBe(false);
  }, 180_000);
});
