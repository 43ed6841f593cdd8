import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { configHashesIn, differingOutputs, outputHashes, readOutputs } from "../../src/bench/outputs.js";
import { acquireWriteLock } from "../../src/data/lock.js";
import { type CliProcess, itb, spawnItb } from "../helpers/cli.js";
import { freePort } from "../helpers/freePort.js";
import { SAMPLE } from "../helpers/paths.js";
import { smallPipelineConfig } from "../helpers/pipelineConfig.js";
import { tail, until } from "../helpers/until.js";

/**
 * `itb pipeline --queue` and `itb worker` against the real Redis on 127.0.0.1:6379, with real
 * processes: the distributed run gives the local run's outputs, a killed worker's job goes to
 * another worker, the same run enqueued twice runs nothing twice, and a failing stage fails the
 * run as locally; grids and walk-forward steps fanned out as task jobs give the local run's
 * outputs, and a Redis outage (on a Redis of the test's own) is waited out. Each test has its
 * own key prefix, removed afterwards.
 */

const REDIS = "redis://127.0.0.1:6379";
let dir = "";
const prefixes: string[] = [];
const workers: CliProcess[] = [];
const redisServers: ChildProcess[] = [];

function newPrefix(): string {
  const p = `itbtest-${process.pid}-${randomBytes(4).toString("hex")}`;
  prefixes.push(p);
  return p;
}

/** Two markets (1m, and 5m aggregated from the 1m archive), each in its own folder. */
function writeConfig(
  name: string,
  dataFolder: string,
  patch: (c: Record<string, unknown>) => void = () => {},
) {
  const c = smallPipelineConfig(join(dataFolder, "{freq}")) as Record<string, unknown>;
  c.freqs = ["1m", "5m"];
  c.data_sources = [{ folder: "BTCUSDT", interval: "1m" }];
  c.rolling_predict = { prediction_start: "2023-03-22", prediction_size: 1000, prediction_steps: 2 };
  patch(c);
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(c, null, 2));
  return file;
}

function startWorker(prefix: string, extra: string[] = [], redis = REDIS): CliProcess {
  const w = spawnItb([
    "worker",
    "--queue",
    redis,
    "--queue-prefix",
    prefix,
    "--log-format",
    "json",
    ...extra,
  ]);
  workers.push(w);
  return w;
}

async function stop(w: CliProcess): Promise<number | null> {
  if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill("SIGTERM");
  return (await w.done).status;
}

function manifestTimes(root: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const freq of ["1m", "5m"]) {
    const d = join(root, freq, "BTCUSDT", ".itb", "manifests");
    for (const f of readdirSync(d)) out[`${freq}/${f}`] = statSync(join(d, f)).mtimeMs;
  }
  return out;
}

let local = "";
let since = 0;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "itb-queue-"));
  since = Date.now();
  local = join(dir, "local");
  const r = itb([
    "pipeline",
    "--config",
    writeConfig("local.json", local),
    "--archive",
    SAMPLE,
    "--jobs",
    "1",
  ]);
  expect(r.stderr.slice(-2000)).not.toMatch(/error/);
  expect(r.status).toBe(0);
}, 120_000);

afterEach(async () => {
  await Promise.all(workers.splice(0).map(stop));
  for (const s of redisServers.splice(0)) if (s.exitCode === null && s.signalCode === null) s.kill("SIGKILL");
});

afterAll(async () => {
  const redis = new Redis(REDIS);
  try {
    for (const prefix of prefixes) {
      const q = new Queue("pipeline", { connection: { url: REDIS }, prefix });
      await q.obliterate({ force: true });
      await q.close();
      const left = await redis.keys(`${prefix}:*`);
      if (left.length > 0) await redis.del(...left);
    }
  } finally {
    redis.disconnect();
  }
  rmSync(dir, { recursive: true, force: true });
});

/** `itb pipeline --queue … --wait` run to its end (async: the workers are children of this process too). */
async function enqueue(config: string, prefix: string, extra: string[] = [], redis = REDIS) {
  return follower(config, prefix, extra, redis).done;
}

function follower(config: string, prefix: string, extra: string[] = [], redis = REDIS): CliProcess {
  return spawnItb([
    "pipeline",
    "--config",
    config,
    "--archive",
    SAMPLE,
    "--queue",
    redis,
    "--queue-prefix",
    prefix,
    "--log-format",
    "json",
    ...extra,
  ]);
}

function expectSameOutputs(a: string, b: string): void {
  const ha = outputHashes(a, since);
  expect(ha.size).toBeGreaterThan(40);
  expect(configHashesIn(readOutputs(a)).length).toBe(2); // each market's config hash
  expect(differingOutputs(ha, outputHashes(b, since))).toEqual([]);
}

describe("itb pipeline --queue with itb worker", () => {
  it("two workers give the local run's outputs; enqueueing the same run again runs nothing twice", async () => {
    const prefix = newPrefix();
    const data = join(dir, "dist");
    const config = writeConfig("dist.json", data);
    const w1 = startWorker(prefix);
    const w2 = startWorker(prefix);
    await Promise.all([w1.waitFor(/worker ready/), w2.waitFor(/worker ready/)]);

    const r = await enqueue(config, prefix, ["--wait"]);
    expect(r.stderr).not.toMatch(/"level":50/);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^BTCUSDT 1m\s+ok\s+9\s+0\s+44,640\s/m);
    expect(r.stdout).toMatch(/^BTCUSDT 5m\s+ok\s+9\s+0\s+8,928\s/m);
    expect(r.stdout).toMatch(/^2 market\(s\), 0 failed/m);
    expect(r.stdout).toContain(`report: ${join(data, "1m", "BTCUSDT", "report.html")}`);
    // Every one of the 18 stage jobs ran once, in one of the two workers.
    const ran = (w1.stderr() + w2.stderr()).match(/"msg":"stage ran"/g) ?? [];
    expect(ran.length).toBe(18);
    expectSameOutputs(local, data);

    // The same run again: nothing is added, nothing runs, the summary is the same.
    const before = manifestTimes(data);
    const again = await enqueue(config, prefix, ["--wait"]);
    expect(again.status).toBe(0);
    expect(again.stderr).toContain("the run was already queued: nothing added");
    expect(again.stdout).toMatch(/^BTCUSDT 1m\s+ok\s+9\s+0\s+44,640\s/m);
    expect((w1.stderr() + w2.stderr()).match(/"msg":"stage job started"/g)?.length).toBe(18);
    expect(manifestTimes(data)).toEqual(before);

    // SIGTERM: a worker with nothing in flight exits 0.
    expect(await stop(w1)).toBe(0);
    expect(w1.stderr()).toContain("worker stopped");
  }, 120_000);

  it("three workers, one killed mid-job: its job stalls, another worker runs it, and the outputs are the local run's", async () => {
    const prefix = newPrefix();
    const data = join(dir, "killed");
    const config = writeConfig("killed.json", data);
    // This process writes both markets' folders: the first worker takes both first jobs, and
    // both wait in flight, so nothing of a stage has been written when it is killed.
    const held = [
      await acquireWriteLock(join(data, "1m", "BTCUSDT"), { command: "test" }),
      await acquireWriteLock(join(data, "5m", "BTCUSDT"), { command: "test" }),
    ];
    const w1 = startWorker(prefix, ["--lock-seconds", "2", "--concurrency", "2"]);
    await w1.waitFor(/worker ready/);
    const follow = enqueue(config, prefix, ["--wait"]);
    for (const freq of ["1m", "5m"]) {
      await w1.waitFor(new RegExp(`waiting: .* is writing .*${freq}/BTCUSDT`), { timeoutMs: 30_000 });
    }
    // Two more workers join while the first one holds both jobs; then it is killed.
    const others = [
      startWorker(prefix, ["--lock-seconds", "2"]),
      startWorker(prefix, ["--lock-seconds", "2"]),
    ];
    await Promise.all(others.map((w) => w.waitFor(/worker ready/)));
    w1.child.kill("SIGKILL");
    await w1.done;
    expect(existsSync(join(data, "5m", "BTCUSDT", ".itb", "manifests", "import.json"))).toBe(false);
    for (const h of held) await h.release();

    const r = await follow;
    expect(r.status).toBe(0);
    // Every stage ran once; on a loaded machine a live worker may miss a 2 s lock renewal too,
    // and the stage's second delivery then finds it done (skipped): both count.
    const row = /^BTCUSDT 5m\s+ok\s+(\d+)\s+(\d+)\s+8,928\s/m.exec(r.stdout);
    expect(row, r.stdout).not.toBeNull();
    expect(Number(row?.[1]) + Number(row?.[2])).toBe(9);
    // The killed jobs came back to the other workers as stalled.
    for (const freq of ["1m", "5m"]) {
      expect(others.map((w) => w.stderr()).join("\n")).toMatch(
        new RegExp(
          `"freq":"${freq}","stage":"import","job":"[^"]+","attempt":\\d,"stalled":1,"msg":"stage job started"`,
        ),
      );
    }
    for (const w of others) expect(await stop(w)).toBe(0);
    expectSameOutputs(local, data);
  }, 120_000);

  it("SIGTERM: the worker finishes the job in flight, takes no other and exits 0", async () => {
    const prefix = newPrefix();
    const data = join(dir, "term");
    const config = writeConfig("term.json", data);
    const held = await acquireWriteLock(join(data, "1m", "BTCUSDT"), { command: "test" });
    const w = startWorker(prefix);
    await w.waitFor(/worker ready/);
    const r = await enqueue(config, prefix, ["--freqs", "1m"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(
      /^run [0-9a-f]{16}: 9 stage job\(s\) of 1 market\(s\) enqueued; follow it with the same command and --wait$/m,
    );
    await w.waitFor(/waiting: .* is writing .*1m\/BTCUSDT/, { timeoutMs: 30_000 });
    w.child.kill("SIGTERM");
    await w.waitFor(/finishing the jobs in flight/);
    await new Promise((ok) => setTimeout(ok, 500));
    expect(w.child.exitCode).toBe(null); // still in its job
    await held.release();
    const exit = await w.done;
    expect(exit.status).toBe(0);
    expect(exit.stderr.match(/"msg":"stage job started"/g)?.length).toBe(1);
    expect(exit.stderr).toMatch(/"stage":"import".*"status":"ran".*"msg":"stage ran"/);
    expect(existsSync(join(data, "1m", "BTCUSDT", ".itb", "manifests", "import.json"))).toBe(true);
  }, 60_000);

  it("a stage that fails is reported in the summary, the stages after it are not run, and the exit status is 1", async () => {
    const prefix = newPrefix();
    // No 50 % move within 60 bars: every label is 0, and a classifier cannot be trained.
    const config = writeConfig("fail.json", join(dir, "fail"), (c) => {
      for (const ls of c.label_sets as { config: { thresholds: number[] } }[]) ls.config.thresholds = [50.0];
    });
    const w = startWorker(prefix);
    await w.waitFor(/worker ready/);
    const r = await enqueue(config, prefix, ["--wait", "--freqs", "1m"]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^BTCUSDT 1m\s+FAILED \(train\)\s+4\s+0\s/m);
    expect(r.stdout).toMatch(/BTCUSDT 1m failed at train: .*the label has one class only/);
    expect(r.stderr).toContain("error: 1 of 1 market(s) failed");
    const json = itb([
      "pipeline",
      "--config",
      config,
      "--archive",
      SAMPLE,
      "--freqs",
      "1m",
      "--queue",
      REDIS,
      "--queue-prefix",
      prefix,
      "--wait",
      "--json",
    ]);
    // Enqueued again: the failed market's jobs are replaced and run again, with the same outcome.
    expect(json.status).toBe(1);
    const summary = JSON.parse(json.stdout) as { markets: { not_run: string[]; skipped: string[] }[] };
    expect(summary.markets[0]?.not_run).toEqual(["predict-rolling", "signals", "simulate", "report"]);
    expect(summary.markets[0]?.skipped).toEqual(["import", "merge", "features", "labels"]);
  }, 120_000);

  it("a large grid fans out as task jobs that the workers share; the outputs are the local run's", async () => {
    const prefix = newPrefix();
    const data = join(dir, "fanout");
    const config = writeConfig("fanout.json", data);
    // Each market's grid: 4 cells x 2,000 predicted rows = 8,000 steps, in tasks of ~1,000: a task per cell.
    // and each walk-forward step its own task
    const w1 = startWorker(prefix, ["--fan-out", "1000", "--fan-out-rows", "1"]);
    const w2 = startWorker(prefix, ["--fan-out", "1000", "--fan-out-rows", "1", "--task-concurrency", "2"]);
    await Promise.all([w1.waitFor(/worker ready/), w2.waitFor(/worker ready/)]);
    const r = await enqueue(config, prefix, ["--wait"]);
    expect(r.stderr).not.toMatch(/"level":50/);
    expect(r.status).toBe(0);
    const logs = w1.stderr() + w2.stderr();
    expect(
      logs.match(/"stage":"simulate".*"kind":"grid","tasks":4,.*"msg":"fanned out as task jobs"/g)?.length,
    ).toBe(2);
    expect(
      logs.match(/"stage":"predict-rolling".*"kind":"rolling","tasks":2,.*"msg":"fanned out as task jobs"/g)
        ?.length,
    ).toBe(2);
    expect(logs.match(/"msg":"task job done"/g)?.length).toBe(12);
    expect(logs.match(/"msg":"stage ran"/g)?.length).toBe(18);
    expectSameOutputs(local, data);
    // The stage removed its task jobs once it had their results.
    const tasks = new Queue("tasks", { connection: { url: REDIS }, prefix });
    try {
      const counts = await tasks.getJobCounts();
      expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(0);
    } finally {
      await tasks.close();
    }
  }, 120_000);

  it("a worker killed while its grid's tasks run: the stage's rerun takes the same task ids, and no task runs twice", async () => {
    const prefix = newPrefix();
    const data = join(dir, "tasks-killed");
    const config = writeConfig("tasks-killed.json", data);
    const opts = ["--fan-out", "1000", "--lock-seconds", "2"];
    const a = startWorker(prefix, opts);
    await a.waitFor(/worker ready/);
    const follow = enqueue(config, prefix, ["--wait"]);
    await a.waitFor(/"stage":"simulate".*"msg":"fanned out as task jobs"/, { timeoutMs: 60_000 });
    a.child.kill("SIGKILL");
    await a.done;
    const b = startWorker(prefix, opts);
    const r = await follow;
    expect(r.status, tail(r.stdout + r.stderr)).toBe(0);
    const keyOf = (log: string) =>
      /"stage":"simulate".*"key":"([0-9a-f]+)","msg":"fanned out as task jobs"/.exec(log)?.[1];
    const key = keyOf(a.stderr()) as string;
    // The stalled stage ran again in b, fanning out to the same task ids.
    expect(b.stderr()).toMatch(
      /"stage":"simulate","job":"[^"]+","attempt":\d,"stalled":1,"msg":"stage job started"/,
    );
    expect(b.stderr()).toContain(`"key":"${key}","msg":"fanned out as task jobs"`);
    // Each of the 4 tasks ran to its end once, in a or in b.
    const done = (a.stderr() + b.stderr()).match(
      new RegExp(`"task":"[^"]+\\.${key}\\.\\d+".*"msg":"task job done"`, "g"),
    );
    expect(done?.length).toBe(4);
    expectSameOutputs(local, data);
  }, 120_000);

  it("a Redis outage mid-run: workers and follower wait and resume, nothing runs twice, the outputs are the local run's", async () => {
    // Its own Redis, persisting every write (appendfsync always): killed and started again on
    // the same port, it comes back with the queue as it was, as after a network outage.
    const port = await freePort();
    const url = `redis://127.0.0.1:${port}`;
    const redisDir = mkdtempSync(join(dir, "redis-"));
    const startRedis = async () => {
      const server = spawn(
        "redis-server",
        ["--port", String(port), "--bind", "127.0.0.1", "--dir", redisDir, "--save", ""].concat([
          "--appendonly",
          "yes",
          "--appendfsync",
          "always",
        ]),
        { stdio: ["ignore", "pipe", "pipe"] },
      );
      redisServers.push(server);
      let out = "";
      server.stdout?.on("data", (b: Buffer) => {
        out += b.toString();
      });
      await until(
        () => /Ready to accept connections/.test(out),
        10_000,
        "redis-server ready",
        20,
        () => out,
      );
      return server;
    };
    let server = await startRedis();
    const prefix = `itbtest-outage-${randomBytes(4).toString("hex")}`;
    const data = join(dir, "outage");
    const config = writeConfig("outage.json", data);
    // --lock-seconds 10: a job orphaned by the outage (see docs/pipeline.md) is taken again within 10 s.
    const fanOut = ["--fan-out", "1000", "--fan-out-rows", "1", "--lock-seconds", "10"];
    const w1 = startWorker(prefix, fanOut, url);
    const w2 = startWorker(prefix, fanOut, url);
    await Promise.all([w1.waitFor(/worker ready/), w2.waitFor(/worker ready/)]);
    const f = follower(config, prefix, ["--wait"], url);
    // Mid-run: while a walk-forward waits for its step tasks, Redis goes away for a few seconds.
    await until(
      () => /"stage":"predict-rolling".*"msg":"fanned out as task jobs"/.test(w1.stderr() + w2.stderr()),
      60_000,
      "a walk-forward fanned out",
    );
    server.kill("SIGKILL");
    await new Promise<void>((ok) => server.once("exit", () => ok()));
    const down = f.stderr().length;
    await until(
      () => /queue connection error/.test(w1.stderr()) && /queue connection error/.test(w2.stderr()),
      10_000,
      "the workers to notice",
    );
    await new Promise((ok) => setTimeout(ok, 3000)); // the outage
    const duringOutage = f.stderr().slice(down);
    server = await startRedis();
    const r = await f.done;
    expect(r.status, tail(r.stdout + r.stderr)).toBe(0);
    expect(r.stdout).toMatch(/^BTCUSDT 1m\s+ok\s+9\s+0\s+44,640\s/m);
    expect(r.stdout).toMatch(/^BTCUSDT 5m\s+ok\s+9\s+0\s+8,928\s/m);
    // The follower said once that Redis was gone, and when it was back.
    expect(duringOutage).toMatch(
      /"error":"connect ECONNREFUSED 127\.0\.0\.1:\d+","msg":"queue connection error"/,
    );
    for (const log of [r.stderr, w1.stderr(), w2.stderr()]) {
      const errors = [...log.matchAll(/"error":"([^"]*)","msg":"queue connection error"/g)].map((m) => m[1]);
      expect(errors.length).toBeGreaterThan(0);
      expect(errors.length).toBeLessThan(5);
      expect(new Set(errors).size).toBe(errors.length); // one line per kind of error, not per retry
      expect(log).toMatch(/"msg":"queue connection back"/);
    }
    const logs = w1.stderr() + w2.stderr();
    // Every stage's outputs and manifest written by one run; a job taken again after the outage
    // (its lock expired, or its completion was lost) found its stage up to date.
    expect(logs.match(/"msg":"stage ran"/g)?.length).toBe(18);
    const started = logs.match(/"msg":"stage job started"/g)?.length ?? 0;
    expect(started - 18).toBe(logs.match(/"msg":"stage skipped"/g)?.length ?? 0);
    expect(logs.match(/"msg":"fanned out as task jobs"/g)?.length).toBe(4);
    expectSameOutputs(local, data);
  }, 120_000);

  it("a mistaken or unreachable queue is a clear error, not a hang or a stack trace", () => {
    const config = writeConfig("mistakes.json", join(dir, "mistakes"));
    const scheme = itb(["pipeline", "--config", config, "--queue", "http://127.0.0.1:6379"]);
    expect(scheme.status).toBe(2);
    expect(scheme.stderr.trim()).toBe(
      'error: --queue: expected a redis:// or rediss:// URL such as redis://127.0.0.1:6379, found the scheme "http:"',
    );
    // port 1: nothing listens there
    const closed = itb([
      "pipeline",
      "--config",
      config,
      "--archive",
      SAMPLE,
      "--queue",
      "redis://127.0.0.1:1",
    ]);
    expect(closed.status).toBe(1);
    expect(closed.stderr.trim()).toBe(
      "error: cannot reach the queue's Redis at redis://127.0.0.1:1 (prefix itb): connect ECONNREFUSED 127.0.0.1:1",
    );
    const worker = itb(["worker"]);
    expect(worker.status).toBe(2);
    expect(worker.stderr.trim()).toBe("error: missing --queue URL (e.g. redis://127.0.0.1:6379)");
  });

  it("a worker that cannot reach Redis keeps trying, saying so once, and SIGTERM still ends it with status 0", async () => {
    const w = spawnItb(["worker", "--queue", "redis://127.0.0.1:1", "--log-format", "json"]);
    workers.push(w);
    await w.waitFor(/"error":"connect ECONNREFUSED 127.0.0.1:1","msg":"queue connection error"/);
    await new Promise((ok) => setTimeout(ok, 2500)); // a few retries
    w.child.kill("SIGTERM");
    const exit = await w.done;
    expect(exit.status).toBe(0);
    expect(exit.stderr.match(/queue connection error/g)?.length).toBe(1);
    expect(exit.stderr).toContain("stopped before the queue's Redis could be reached");
  });
});
