import { type ChildProcess, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { parse as parseJsonc } from "jsonc-parser";
import { PACKAGE_ROOT } from "../cli/version.js";
import { type Azurite, startAzurite } from "./azurite.js";
import { differingOutputs, outputHashes } from "./outputs.js";

/**
 * The distributed pipeline through 1, 2, 3 … `itb worker` processes (issue 17, Performance):
 * the demo's market (configs/demo.jsonc: BTCUSDT 1m with ETHUSDT perpetual, every stage) copied
 * `copies` times as independent markets, run once locally (`itb pipeline`: the baseline and the
 * reference outputs), then through N worker processes for each N, each run on a fresh data
 * folder and its own key prefix. Per run: wall time (the first job enqueued to the last job
 * done, from the jobs' own timestamps), the stages' own seconds, what the jobs spent outside
 * their stage, the queue's pickup latency, the stages' storage seconds, and whether the outputs
 * hash to the local run's.
 *
 * Each worker count runs on local storage (one plain data folder shared by the processes), on
 * Azure Blob Storage through Azurite (`az://` data folders; the bench starts Azurite itself), or
 * both, one after the other. On Azurite every market has its own `az://queue-w<N>/<symbol>`
 * data folder and every worker its own cache folder (ITB_CACHE_DIR), as separate machines
 * would: each pulls what its stage reads and publishes what it writes (the jobs' storage
 * seconds). The outputs compared with the local run's are the published blobs, downloaded
 * after the run.
 *
 * The copies are symbols BTC1USDT … BTC<n>USDT: the sample's BTCUSDT zips linked under those
 * names in a temporary archive (with CHECKSUM files naming them), each market with its own data
 * folder (`<run>/data/{symbol}`) holding its own BTC and ETHUSDT stores: no file is shared, so
 * the markets are independent work, as four different symbols would be.
 */

const SAMPLE = join(PACKAGE_ROOT, "sample", "binance-vision");
const SPOT = "data/spot/monthly/klines";
const UM = "data/futures/um/monthly/klines";
const ITB = join(PACKAGE_ROOT, "bin", "itb");
/** A run that takes longer than this is stuck (the full workload takes about a minute). */
const RUN_TIMEOUT_MS = 15 * 60_000;

/** Where the queued runs keep their data folders. */
export type QueueStorage = "local" | "azurite";

export interface QueueBenchOptions {
  url: string;
  /** The storages to run each worker count on, in this order. */
  storage: QueueStorage[];
  /** Worker process counts, one run each. */
  workers: number[];
  /** Copies of the demo market. */
  copies: number;
  /** Last stage (`--to`); undefined: every stage. */
  to?: string;
}

/** One stage job as recorded in Redis (times in ms since the epoch) and in the worker that ran it. */
export interface JobTiming {
  id: string;
  /** The job whose completion made this one ready (the market's previous stage); none for the first stage. */
  child?: string;
  /** When it was added to the queue. */
  timestamp: number;
  processedOn: number;
  finishedOn: number;
  /** The stage's own `result.seconds`. */
  stageSeconds: number;
  /** `storageSeconds` of the job's result, when the worker reports it. */
  storageSeconds?: number;
  /** Its publishing part (`storagePublishSeconds`); the rest are pulls, inside stageSeconds. */
  storagePublishSeconds?: number;
  /** Which worker process ran it (its index). */
  worker: number;
  /** The worker's log times of "stage job started" and "stage ran", when it logged both. */
  logged?: { started: number; ran: number };
}

export interface QueueAccounting {
  jobs: number;
  /** First job enqueued to the last job finished. */
  wall_s: number;
  /** Σ the stages' own seconds. */
  stage_s: number;
  /** Σ storage seconds reported by the stages; absent when no job reported any. */
  storage_s?: number;
  /** The pulls of storage_s (part of stage_s); with storage_publish_s, when every job reporting storage splits it. */
  storage_pull_s?: number;
  /** The publishing of storage_s (after the stage: part of in_job_overhead_s). */
  storage_publish_s?: number;
  /** Σ processedOn..finishedOn: the workers' busy time. */
  busy_s: number;
  /** busy_s − stage_s: config load, planning, locks, fingerprints, BullMQ calls inside the job. */
  in_job_overhead_s: number;
  /**
   * The part of in_job_overhead_s between the worker's "stage job started" and "stage ran" log
   * lines (itb's own: the child's result, config load, plan, write locks, the outputs'
   * fingerprints and the manifest); the rest is BullMQ's, around the processor. Only when every
   * job has both lines.
   */
  in_job_itb_s?: number;
  /**
   * Σ per job: its start minus the moment it was both ready (its child finished, or it was
   * enqueued) and its worker free (that worker's previous job finished): the queue's latency.
   */
  pickup_s: number;
  /** Σ per job: start minus ready, including the wait for a busy worker. */
  queued_s: number;
  /** (in-job overhead + pickup) / (stage + in-job overhead + pickup). */
  overhead_share: number;
  /** storage / (stage + in-job overhead + pickup); absent with storage_s. */
  storage_share?: number;
  /** busy / (workers × wall): the rest is workers idle with nothing ready. */
  utilisation: number;
}

const r3 = (x: number) => Math.round(x * 1000) / 1000;
const rounded = (o: Record<string, number>) =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [k, r3(v)]));

/** Where the time of a queued run went, from its jobs' timestamps (see QueueAccounting). */
export function accountQueueRun(jobs: readonly JobTiming[], workers: number): QueueAccounting {
  if (jobs.length === 0) throw new Error("no jobs to account for");
  const byId = new Map(jobs.map((j) => [j.id, j]));
  const readyAt = (j: JobTiming): number => {
    if (j.child === undefined) return j.timestamp;
    const c = byId.get(j.child);
    if (c === undefined) throw new Error(`job ${j.id}: its child ${j.child} is not among the jobs`);
    return c.finishedOn;
  };
  const freeAt = new Map<string, number>();
  const perWorker = new Map<number, JobTiming[]>();
  for (const j of jobs) perWorker.set(j.worker, [...(perWorker.get(j.worker) ?? []), j]);
  for (const list of perWorker.values()) {
    list.sort((a, b) => a.processedOn - b.processedOn);
    list.forEach((j, i) => {
      const prev = list[i - 1];
      if (prev !== undefined) freeAt.set(j.id, prev.finishedOn);
    });
  }
  let stage = 0;
  let storage = 0;
  let publish = 0;
  let busy = 0;
  let pickup = 0;
  let queued = 0;
  let itb = 0;
  for (const j of jobs) {
    if (j.logged !== undefined) itb += (j.logged.ran - j.logged.started) / 1000 - j.stageSeconds;
    const ready = readyAt(j);
    stage += j.stageSeconds;
    storage += j.storageSeconds ?? 0;
    publish += j.storagePublishSeconds ?? 0;
    busy += (j.finishedOn - j.processedOn) / 1000;
    queued += Math.max(0, j.processedOn - ready) / 1000;
    pickup += Math.max(0, j.processedOn - Math.max(ready, freeAt.get(j.id) ?? ready)) / 1000;
  }
  const wall =
    (Math.max(...jobs.map((j) => j.finishedOn)) - Math.min(...jobs.map((j) => j.timestamp))) / 1000;
  const inJob = busy - stage;
  const reported = jobs.some((j) => j.storageSeconds !== undefined);
  const split =
    reported && jobs.every((j) => j.storageSeconds === undefined || j.storagePublishSeconds !== undefined);
  const accounted = stage + inJob + pickup;
  return {
    jobs: jobs.length,
    wall_s: r3(wall),
    stage_s: r3(stage),
    ...(reported ? { storage_s: r3(storage) } : {}),
    ...(split ? { storage_pull_s: r3(storage - publish), storage_publish_s: r3(publish) } : {}),
    busy_s: r3(busy),
    in_job_overhead_s: r3(inJob),
    ...(jobs.every((j) => j.logged !== undefined) ? { in_job_itb_s: r3(itb) } : {}),
    pickup_s: r3(pickup),
    queued_s: r3(queued),
    overhead_share: r3((inJob + pickup) / accounted),
    ...(reported ? { storage_share: r3(storage / accounted) } : {}),
    utilisation: r3(busy / (workers * wall)),
  };
}

/** True when a Redis answers at `url` within two seconds. */
export async function redisReachable(url: string): Promise<boolean> {
  const redis = new Redis(url, {
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    connectTimeout: 2000,
  });
  redis.on("error", () => {});
  try {
    await redis.connect();
    await redis.ping();
    return true;
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

const symbolOf = (k: number) => `BTC${k}USDT`;

/** The sample's BTCUSDT zips under `copies` symbol names, and its ETHUSDT perpetual, in a new archive. */
function aliasArchive(root: string, copies: number): string {
  const archive = join(root, "archive");
  const btc = join(SAMPLE, SPOT, "BTCUSDT", "1m");
  const zips = readdirSync(btc).filter((f) => f.endsWith(".zip"));
  for (let k = 1; k <= copies; k++) {
    const s = symbolOf(k);
    const dir = join(archive, SPOT, s, "1m");
    mkdirSync(dir, { recursive: true });
    for (const z of zips) {
      const name = z.replace("BTCUSDT", s);
      symlinkSync(join(btc, z), join(dir, name));
      const sha = readFileSync(join(btc, `${z}.CHECKSUM`), "utf8")
        .trim()
        .split(/\s+/)[0];
      writeFileSync(join(dir, `${name}.CHECKSUM`), `${sha}  ${name}\n`);
    }
  }
  mkdirSync(join(archive, UM), { recursive: true });
  symlinkSync(join(SAMPLE, UM, "ETHUSDT"), join(archive, UM, "ETHUSDT"));
  return archive;
}

/** configs/demo.jsonc for the copies, each market in `<dataRoot>/<symbol>` (a folder or `az://container`). */
function writeConfig(file: string, dataRoot: string, copies: number): void {
  const demo = parseJsonc(readFileSync(join(PACKAGE_ROOT, "configs", "demo.jsonc"), "utf8")) as Record<
    string,
    unknown
  >;
  const sources = demo.data_sources as Record<string, unknown>[];
  const config = {
    ...demo,
    description: `configs/demo.jsonc x ${copies} (bench: the queue through 1, 2, 3 workers)`,
    symbols: Array.from({ length: copies }, (_, i) => symbolOf(i + 1)),
    data_folder: dataRoot.startsWith("az://") ? `${dataRoot}/{symbol}` : join(dataRoot, "{symbol}"),
    data_sources: sources.map((s) => (s.folder === "BTCUSDT" ? { ...s, folder: "{symbol}" } : s)),
  };
  writeFileSync(file, JSON.stringify(config, null, 2));
}

interface Exit {
  status: number | null;
  stdout: string;
  stderr: string;
}

interface Proc {
  child: ChildProcess;
  stderr(): string;
  done: Promise<Exit>;
}

function spawnItb(args: readonly string[], env: NodeJS.ProcessEnv = {}): Proc {
  const child = spawn(process.execPath, [ITB, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  let out = "";
  let err = "";
  child.stdout?.on("data", (b: Buffer) => {
    out += b.toString();
  });
  child.stderr?.on("data", (b: Buffer) => {
    err += b.toString();
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), RUN_TIMEOUT_MS);
  const done = new Promise<Exit>((ok) =>
    child.on("close", (status) => {
      clearTimeout(timer);
      ok({ status, stdout: out, stderr: err });
    }),
  );
  return { child, stderr: () => err, done };
}

async function waitForText(p: Proc, text: string, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!p.stderr().includes(text)) {
    if (p.child.exitCode !== null || Date.now() > until) {
      throw new Error(
        `an itb worker did not say "${text}": ${p.stderr().trim().split("\n").slice(-3).join(" | ")}`,
      );
    }
    await new Promise((ok) => setTimeout(ok, 50));
  }
}

interface StageSummary {
  name: string;
  status: string;
  seconds: number;
}
interface PipelineSummary {
  markets: { market: string; ok: boolean; stages: StageSummary[] }[];
  seconds: number;
  failed: number;
}

/** The `--json` summary of an `itb pipeline` run; a failed run is an error with its last lines. */
function summaryOf(what: string, r: Exit): PipelineSummary {
  const tail = () => r.stderr.trim().split("\n").slice(-5).join("\n");
  if (r.status !== 0) throw new Error(`${what} exited with status ${r.status}:\n${tail()}`);
  const s = JSON.parse(r.stdout) as PipelineSummary;
  const bad = s.markets.filter((m) => !m.ok);
  if (bad.length > 0) throw new Error(`${what}: ${bad.map((m) => m.market).join(", ")} not ok:\n${tail()}`);
  return s;
}

/** One digest over every file's path and hash, to print. */
function digestOf(hashes: Map<string, string>): string {
  const h = createHash("sha256");
  for (const [f, x] of hashes) h.update(`${f}\0${x}\n`);
  return h.digest("hex").slice(0, 16);
}

/** The jobs of a finished run from Redis, each with the worker that logged starting it. */
async function jobTimings(
  url: string,
  prefix: string,
  workerLogs: readonly string[],
): Promise<{ timings: JobTiming[]; byStage: Record<string, number> }> {
  const ran = new Map<string, number>();
  const started = new Map<string, number>();
  const ended = new Map<string, number>();
  workerLogs.forEach((log, w) => {
    for (const line of log.split("\n")) {
      const start = line.includes('"msg":"stage job started"');
      if (!start && !line.includes('"msg":"stage ')) continue;
      const o = JSON.parse(line) as { job?: string; time?: number };
      if (o.job === undefined || o.time === undefined) continue;
      if (start) {
        ran.set(o.job, w);
        started.set(o.job, o.time);
      } else ended.set(o.job, o.time);
    }
  });
  const queue = new Queue("pipeline", { connection: { url }, prefix });
  try {
    const jobs = await queue.getJobs(["completed", "failed"], 0, -1);
    const childOf = new Map<string, string>();
    for (const j of jobs) if (j.parent?.id !== undefined) childOf.set(j.parent.id, j.id as string);
    const byStage: Record<string, number> = {};
    const timings = jobs.map((j) => {
      const id = j.id as string;
      const value = (j.returnvalue ?? {}) as {
        result?: { seconds?: number };
        storageSeconds?: number;
        storagePublishSeconds?: number;
      };
      const worker = ran.get(id);
      if (j.processedOn === undefined || j.finishedOn === undefined || worker === undefined) {
        throw new Error(`job ${id} has no start or end, or no worker logged it`);
      }
      const child = childOf.get(id);
      const t0 = started.get(id);
      const t1 = ended.get(id);
      byStage[j.name] = (byStage[j.name] ?? 0) + (value.result?.seconds ?? 0);
      return {
        id,
        ...(child === undefined ? {} : { child }),
        timestamp: j.timestamp,
        processedOn: j.processedOn,
        finishedOn: j.finishedOn,
        stageSeconds: value.result?.seconds ?? 0,
        ...(value.storageSeconds === undefined ? {} : { storageSeconds: value.storageSeconds }),
        ...(value.storagePublishSeconds === undefined
          ? {}
          : { storagePublishSeconds: value.storagePublishSeconds }),
        worker,
        ...(t0 === undefined || t1 === undefined ? {} : { logged: { started: t0, ran: t1 } }),
      };
    });
    return { timings, byStage };
  } finally {
    await queue.close();
  }
}

async function dropPrefix(url: string, prefix: string): Promise<void> {
  const queue = new Queue("pipeline", { connection: { url }, prefix });
  await queue.obliterate({ force: true }).catch(() => undefined);
  await queue.close();
  const redis = new Redis(url);
  try {
    const left = await redis.keys(`${prefix}:*`);
    if (left.length > 0) await redis.del(...left);
  } finally {
    redis.disconnect();
  }
}

async function stopWorkers(ws: readonly Proc[]): Promise<void> {
  for (const w of ws) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill("SIGTERM");
  await Promise.all(
    ws.map((w) =>
      Promise.race([
        w.done,
        new Promise((ok) => setTimeout(ok, 10_000)).then(() => {
          w.child.kill("SIGKILL");
          return w.done;
        }),
      ]),
    ),
  );
}

/** A JSON line per run (stdout), as the other benches print. */
export interface QueueBenchLine {
  bench: "queue";
  run: string;
  /** Where the data folders were: "local" (a plain folder) or "azurite" (az://, a cache per worker). */
  storage: QueueStorage;
  workers: number;
  markets: number;
  jobs: number;
  wall_s: number;
  speedup_vs_1_worker?: number;
  stage_s: number;
  /** Σ the stages' own seconds per stage, over the markets. */
  stage_s_by_stage: Record<string, number>;
  storage_s?: number;
  storage_pull_s?: number;
  storage_publish_s?: number;
  in_job_overhead_s?: number;
  in_job_itb_s?: number;
  pickup_s?: number;
  queued_s?: number;
  overhead_share?: number;
  storage_share?: number;
  utilisation?: number;
  process_s: number;
  /** The machine's 1-minute load average at the end of the run (2 means both cores busy on a 2-core machine). */
  loadavg_1m: number;
  /** azurite: the size of every blob the run left in its container (outputs and manifests), MB. */
  published_mb?: number;
  outputs_sha256: string;
  outputs_equal_local: boolean;
  differing?: string[];
}

/**
 * Runs the benchmark (see the top of this file); `print` gets each JSON line as it is made.
 * Returns the lines; a run whose outputs differ from the local run's is reported, not thrown.
 */
export async function benchQueue(
  opts: QueueBenchOptions,
  print: (line: QueueBenchLine) => void,
  progress: (msg: string) => void,
): Promise<QueueBenchLine[]> {
  const root = mkdtempSync(join(tmpdir(), "itb-bench-queue-"));
  const since = Date.now();
  const lines: QueueBenchLine[] = [];
  // Ctrl-C or SIGTERM: the processes, the queue's keys, Azurite and the data folders go too.
  const live: { procs: Proc[]; prefix?: string; azurite?: Azurite } = { procs: [] };
  let interrupted = false;
  const started = (p: Proc) => {
    live.procs.push(p);
    // Spawned while the interruption's cleanup runs: it is stopped too.
    if (interrupted) p.child.kill("SIGTERM");
    return p;
  };
  const onSignal = (sig: NodeJS.Signals) => {
    interrupted = true;
    progress(`interrupted by ${sig}: stopping its processes, removing its queue keys and ${root}`);
    void (async () => {
      await stopWorkers(live.procs).catch(() => undefined);
      if (live.prefix !== undefined) await dropPrefix(opts.url, live.prefix).catch(() => undefined);
      await live.azurite?.stop().catch(() => undefined);
      for (const p of live.procs) if (p.child.exitCode === null) p.child.kill("SIGKILL");
      rmSync(root, { recursive: true, force: true });
      process.exit(sig === "SIGINT" ? 130 : 143);
    })();
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const archive = aliasArchive(root, opts.copies);
    const common = (name: string, dataRoot?: string) => {
      const dir = join(root, name);
      mkdirSync(dir);
      const config = join(dir, "config.json");
      const data = join(dir, "data");
      writeConfig(config, dataRoot ?? data, opts.copies);
      return {
        dir,
        data,
        args: [
          "pipeline",
          "--config",
          config,
          "--archive",
          archive,
          "--json",
          ...(opts.to === undefined ? [] : ["--to", opts.to]),
        ],
      };
    };

    progress(`local: itb pipeline --jobs 1 --workers 1 on ${opts.copies} market(s)`);
    const local = common("local");
    const t0 = performance.now();
    const localRun = summaryOf(
      "the local itb pipeline",
      await started(spawnItb([...local.args, "--jobs", "1", "--workers", "1"])).done,
    );
    const processS = (performance.now() - t0) / 1000;
    const reference = outputHashes(local.data, since);
    const localLine: QueueBenchLine = {
      bench: "queue",
      run: "local",
      storage: "local",
      workers: 1,
      markets: localRun.markets.length,
      jobs: localRun.markets.reduce((n, m) => n + m.stages.length, 0),
      wall_s: r3(localRun.seconds),
      stage_s: r3(localRun.markets.reduce((s, m) => s + m.stages.reduce((t, x) => t + x.seconds, 0), 0)),
      stage_s_by_stage: rounded(
        localRun.markets
          .flatMap((m) => m.stages)
          .reduce<Record<string, number>>((acc, x) => {
            acc[x.name] = (acc[x.name] ?? 0) + x.seconds;
            return acc;
          }, {}),
      ),
      process_s: r3(processS),
      loadavg_1m: r3(loadavg()[0] as number),
      outputs_sha256: digestOf(reference),
      outputs_equal_local: true,
    };
    print(localLine);
    lines.push(localLine);
    rmSync(local.data, { recursive: true, force: true });

    if (opts.storage.includes("azurite")) {
      progress("starting Azurite (in memory, on a free port)");
      live.azurite = await startAzurite();
    }
    const azurite = live.azurite;
    const oneWorkerWall = new Map<QueueStorage, number>();
    for (const n of opts.workers) {
      for (const storage of opts.storage) {
        const az = storage === "azurite" ? azurite : undefined;
        const name = az === undefined ? `workers-${n}` : `workers-${n}-azurite`;
        const container = `queue-w${n}`;
        const prefix = `itbbench-${process.pid}-${randomBytes(3).toString("hex")}-w${n}${az === undefined ? "" : "az"}`;
        const run = common(name, az === undefined ? undefined : `az://${container}`);
        // Each worker its own cache (its mirror of the az:// folders), as on its own machine.
        const caches = Array.from({ length: n }, (_, i) => join(run.dir, `cache-w${i + 1}`));
        const workerEnv = (i: number): NodeJS.ProcessEnv =>
          az === undefined
            ? {}
            : {
                ITB_CACHE_DIR: caches[i] as string,
                AZURE_STORAGE_CONNECTION_STRING: az.connectionString,
                AZURE_STORAGE_ACCOUNT: "",
                AZURE_STORAGE_KEY: "",
              };
        if (az !== undefined) await az.container(container);
        live.prefix = prefix;
        progress(
          `${n} worker(s)${az === undefined ? "" : ` on az://${container} (Azurite), a cache each`}: ` +
            `itb worker --concurrency 1 --workers 1, prefix ${prefix}`,
        );
        const workers = Array.from({ length: n }, (_, i) =>
          started(
            spawnItb(
              [
                "worker",
                "--queue",
                opts.url,
                "--queue-prefix",
                prefix,
                "--concurrency",
                "1",
                "--workers",
                "1",
                "--log-format",
                "json",
              ],
              workerEnv(i),
            ),
          ),
        );
        try {
          await Promise.all(workers.map((w) => waitForText(w, '"msg":"worker ready"', 60_000)));
          const t1 = performance.now();
          // The enqueuer runs no stage: on az:// it needs no credentials.
          summaryOf(
            `itb pipeline --queue with ${n} worker(s)${az === undefined ? "" : " on Azurite"}`,
            await started(
              spawnItb(
                [...run.args, "--queue", opts.url, "--queue-prefix", prefix, "--wait"],
                az === undefined
                  ? {}
                  : { ITB_CACHE_DIR: join(run.dir, "cache-enqueuer"), AZURE_STORAGE_CONNECTION_STRING: "" },
              ),
            ).done,
          );
          const processS = (performance.now() - t1) / 1000;
          const { timings, byStage } = await jobTimings(
            opts.url,
            prefix,
            workers.map((w) => w.stderr()),
          );
          const acc = accountQueueRun(timings, n);
          let hashes: Map<string, string>;
          let publishedMb: number | undefined;
          if (az === undefined) hashes = outputHashes(run.data, since);
          else {
            // The published blobs, as another machine would pull them; the files name the
            // worker's mirror that wrote them.
            publishedMb = (await az.download(container, run.data)) / 1e6;
            hashes = outputHashes(
              run.data,
              since,
              caches.map((c) => join(c, "az", az.account, container)),
            );
          }
          const diff = differingOutputs(reference, hashes);
          if (n === 1) oneWorkerWall.set(storage, acc.wall_s);
          const one = oneWorkerWall.get(storage);
          const line: QueueBenchLine = {
            bench: "queue",
            run: `${n} worker(s)${az === undefined ? "" : ", azurite"}`,
            storage,
            workers: n,
            markets: localLine.markets,
            ...acc,
            // in the local run's order of stages
            stage_s_by_stage: rounded(
              Object.fromEntries(
                Object.keys(localLine.stage_s_by_stage).map((k) => [k, byStage[k] ?? 0] as [string, number]),
              ),
            ),
            ...(one === undefined ? {} : { speedup_vs_1_worker: r3(one / acc.wall_s) }),
            process_s: r3(processS),
            loadavg_1m: r3(loadavg()[0] as number),
            ...(publishedMb === undefined ? {} : { published_mb: r3(publishedMb) }),
            outputs_sha256: digestOf(hashes),
            outputs_equal_local: diff.length === 0,
            ...(diff.length === 0 ? {} : { differing: diff.slice(0, 10) }),
          };
          print(line);
          lines.push(line);
        } finally {
          await stopWorkers(workers);
          await dropPrefix(opts.url, prefix);
          if (az !== undefined) await az.dropContainer(container).catch(() => undefined);
          rmSync(run.dir, { recursive: true, force: true });
          live.procs = [];
          delete live.prefix;
        }
      }
    }
    return lines;
  } catch (err) {
    // A child ended by the interruption: the signal handler cleans up and exits.
    if (interrupted) await new Promise(() => {});
    throw err;
  } finally {
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
    if (!interrupted) await live.azurite?.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

/** The readable table of the lines (for stderr). */
export function queueTable(lines: readonly QueueBenchLine[]): string {
  const head = [
    "run",
    "wall s",
    "speed-up",
    "stage s",
    "storage s: pull + publish (share)",
    "in-job overhead s (itb's)",
    "pickup s",
    "overhead share",
    "utilisation",
    "outputs",
  ];
  const pct = (x: number | undefined) => (x === undefined ? "-" : `${(x * 100).toFixed(1)} %`);
  const num = (x: number | undefined, d = 2) => (x === undefined ? "-" : x.toFixed(d));
  const rows = lines.map((l) => [
    l.run,
    num(l.wall_s),
    l.speedup_vs_1_worker === undefined ? "-" : `${l.speedup_vs_1_worker.toFixed(2)}x`,
    num(l.stage_s),
    l.run === "local"
      ? "-"
      : l.storage_s === undefined
        ? "not reported"
        : `${num(l.storage_s)}${
            l.storage_publish_s === undefined
              ? ""
              : `: ${num(l.storage_pull_s)} + ${num(l.storage_publish_s)}`
          } (${pct(l.storage_share)})`,
    l.in_job_overhead_s === undefined
      ? "-"
      : `${num(l.in_job_overhead_s)}${l.in_job_itb_s === undefined ? "" : ` (${num(l.in_job_itb_s)})`}`,
    num(l.pickup_s, 3),
    pct(l.overhead_share),
    pct(l.utilisation),
    l.run === "local"
      ? `${l.outputs_sha256} (reference)`
      : `${l.outputs_sha256} ${l.outputs_equal_local ? "= local" : "DIFFERENT"}`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const fmt = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i] as number))
      .join("  ")
      .trimEnd();
  return [fmt(head), ...rows.map(fmt)].join("\n");
}
