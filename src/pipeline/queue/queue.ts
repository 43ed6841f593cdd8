import { createHash } from "node:crypto";
import { isAbsolute, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { type FlowJob, FlowProducer, type Job, Queue } from "bullmq";
import { Redis } from "ioredis";
import { type ConfigOverrides, canonicalJson, configHash } from "../../config/index.js";
import { errorMessage, ItbError, UsageError } from "../../core/errors.js";
import type { Logger } from "../../core/log.js";
import { type PipelineDeps, type PipelineRequest, type PipelineRun, planPipeline } from "../graph/matrix.js";
import type { MarketId, MarketRun, StageEvent, StageResult } from "../graph/runner.js";

/**
 * The pipeline on a BullMQ queue (Redis): `itb pipeline --queue` enqueues every market's
 * selected stages as a flow, `itb worker` runs them (worker.ts) with the same runner as a local
 * run. A market's stages are a chain of parent and child jobs: BullMQ runs a parent once its
 * child has completed, so the first stage is the innermost child and the last stage the root;
 * markets are separate flows and run in parallel on however many workers there are.
 *
 * A job's id is `<run>.<symbol>.<freq>.<stage>`, where `<run>` hashes the markets' resolved
 * configs and the request: enqueueing the same run again adds nothing (BullMQ ignores a job
 * whose id exists) and following it reports the jobs already done. A market whose jobs failed
 * is enqueued afresh (its old jobs removed); `--force` makes a new run every time.
 *
 * A stage that fails completes its job with a failed result (no retry: stages are
 * deterministic); the stages after it find that in their child's result and complete as not
 * run. A job fails in BullMQ's sense only when the worker could not run the stage at all (the
 * config file not readable on the worker, a job stalled too often): the follower reports that
 * stage as failed with BullMQ's reason, and the ones after it as not run.
 */

export const QUEUE_NAME = "pipeline";
/** Finished jobs are kept this long: the same run enqueued within it reports them, later it runs anew. */
const KEEP_SECONDS = 24 * 3600;

export interface QueueTarget {
  /** redis://[user:password@]host:port[/db] or rediss://… */
  url: string;
  /** BullMQ's key prefix: one Redis serves several independent queues under different prefixes. */
  prefix: string;
}

/** Checks a `--queue` URL; the error names the option (no password echoed). */
export function parseQueueUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`--queue: expected a Redis URL such as redis://127.0.0.1:6379, found "${url}"`);
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") {
    throw new UsageError(
      `--queue: expected a redis:// or rediss:// URL such as redis://127.0.0.1:6379, found the scheme "${parsed.protocol}"`,
    );
  }
  if (parsed.hostname === "") throw new UsageError("--queue: the Redis URL has no host");
  return url;
}

/** Where the queue's Redis is, for log lines: the URL without credentials. */
export function describeTarget(target: QueueTarget): string {
  const u = new URL(target.url);
  return `${u.protocol}//${u.host}${u.pathname === "/" ? "" : u.pathname} (prefix ${target.prefix})`;
}

/** BullMQ's connection options: a worker blocks on Redis, so commands must not give up retrying. */
export function connectionOf(target: QueueTarget) {
  return { url: target.url, maxRetriesPerRequest: null, enableOfflineQueue: true };
}

/**
 * Connects once, without retrying: the enqueuer and the follower report an unreachable Redis at
 * once (a worker, a service, retries instead).
 */
async function reachable(target: QueueTarget): Promise<void> {
  const redis = new Redis(target.url, {
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    connectTimeout: 5000,
  });
  let cause: unknown;
  redis.on("error", (err: unknown) => {
    cause ??= err;
  });
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    throw new ItbError(
      `cannot reach the queue's Redis at ${describeTarget(target)}: ${errorMessage(cause ?? err)}`,
    );
  } finally {
    redis.disconnect();
  }
}

/**
 * Queue and flow clients report connection trouble to the log, once per kind until the
 * connection is back (`back`, which says so), not on stderr raw.
 */
function quietErrors(log: Logger): ((err: Error) => void) & { back(): void } {
  const seen = new Set<string>();
  const onError = (err: Error) => {
    const message = errorMessage(err);
    if (seen.has(message)) return;
    seen.add(message);
    log.warn({ error: message }, "queue connection error");
  };
  return Object.assign(onError, {
    back() {
      if (seen.size === 0) return;
      seen.clear();
      log.info({}, "queue connection back");
    },
  });
}

/** What a stage job carries: enough for a worker to load the market's config and plan it as the enqueuer did. */
export interface StageJobData {
  /** Absolute path: the config file must be reachable at the same path on every worker. */
  configFile: string;
  overrides: ConfigOverrides;
  request: PipelineRequest;
  market: MarketId;
  stage: string;
}

/** What a stage job returns. */
export interface StageJobResult {
  result: StageResult;
  /** The exit status the stage's error asks for (2: a config or usage mistake). */
  exit_code?: number;
  /** Seconds the worker spent pulling files from a shared data folder (az://) and publishing them. */
  storageSeconds?: number;
  /**
   * The publishing part of storageSeconds. Pulls come before the stage's work and count in
   * its `result.seconds`; publishing comes after them.
   */
  storagePublishSeconds?: number;
}

export interface EnqueuedMarket {
  id: MarketId;
  /** The job ids of the market's stages, in order. */
  jobs: { stage: string; jobId: string }[];
  predictor: { stage: string; reason: string };
}

export interface EnqueuedRun {
  run: string;
  markets: EnqueuedMarket[];
  /** Markets already in the queue (the same run enqueued before), not added again. */
  existing: number;
}

/** Paths in the request made absolute, as the worker's working folder may differ. */
function portableRequest(request: PipelineRequest): PipelineRequest {
  const archive = request.archive;
  return {
    ...request,
    configFile: resolve(request.configFile),
    ...(archive === undefined || /^[a-z][a-z0-9+.-]*:\/\//i.test(archive) || isAbsolute(archive)
      ? {}
      : { archive: resolve(archive) }),
  };
}

/** True when a market's earlier jobs failed (or a stage in them did): it is worth running again. */
async function unfinished(jobs: readonly (Job | undefined)[]): Promise<boolean> {
  for (const j of jobs) {
    if (j === undefined) return true;
    const state = await j.getState();
    if (state === "failed") return true;
    const status = (j.returnvalue as StageJobResult | null)?.result?.status;
    if (state === "completed" && (status === "failed" || status === "not-run" || status === "interrupted")) {
      return true;
    }
  }
  return false;
}

export async function enqueuePipeline(
  request: PipelineRequest,
  target: QueueTarget,
  deps: Pick<PipelineDeps, "log" | "load">,
): Promise<EnqueuedRun> {
  const portable = portableRequest(request);
  // The same checks as a local run, before anything is enqueued: a mistake is reported here.
  const planned = await planPipeline(portable, deps, "check");
  const { jobs: _jobs, ...identity } = portable;
  const run = createHash("sha256")
    .update(
      canonicalJson({
        request: identity,
        configs: planned.map((m) => configHash(m.loaded.config)),
        // --force runs the stages again: a new run every time.
        ...(portable.force === undefined ? {} : { forced_at: Date.now() }),
      }),
    )
    .digest("hex")
    .slice(0, 16);
  await reachable(target);
  const connection = connectionOf(target);
  const queue = new Queue(QUEUE_NAME, { connection, prefix: target.prefix });
  const flows = new FlowProducer({ connection, prefix: target.prefix });
  queue.on("error", quietErrors(deps.log));
  flows.on("error", quietErrors(deps.log));
  const markets: EnqueuedMarket[] = [];
  let existing = 0;
  try {
    for (const m of planned) {
      const jobs = m.plan.selected.map((stage) => ({
        stage,
        jobId: [run, m.id.symbol, m.id.freq, stage].join("."),
      }));
      markets.push({ id: m.id, jobs, predictor: m.plan.predictor });
      const present = await Promise.all(jobs.map((j) => queue.getJob(j.jobId)));
      if (present.some((j) => j !== undefined)) {
        if (!(await unfinished(present))) {
          existing++;
          continue;
        }
        // A market that failed is enqueued again: its jobs are removed (the root takes its children).
        for (const j of [...present].reverse()) {
          if (j !== undefined && (await queue.getJob(j.id as string)) !== undefined) await j.remove();
        }
      }
      let node: FlowJob | undefined;
      for (const { stage, jobId } of jobs) {
        const data: StageJobData = {
          configFile: portable.configFile,
          overrides: m.overrides,
          request: portable,
          market: m.id,
          stage,
        };
        node = {
          name: stage,
          queueName: QUEUE_NAME,
          data,
          opts: {
            jobId,
            attempts: 1,
            failParentOnFailure: true,
            removeOnComplete: { age: KEEP_SECONDS },
            removeOnFail: { age: KEEP_SECONDS },
          },
          ...(node === undefined ? {} : { children: [node] }),
        };
      }
      if (node !== undefined) await flows.add(node);
      deps.log.debug({ market: `${m.id.symbol} ${m.id.freq}`, jobs: jobs.length, run }, "market enqueued");
    }
  } finally {
    await Promise.all([queue.close(), flows.close()]);
  }
  return { run, markets, existing };
}

export interface FollowOptions {
  log: Logger;
  onEvent?(event: StageEvent): void;
  signal?: AbortSignal;
  /** How often the jobs are looked at (default 500 ms). */
  pollMs?: number;
}

interface JobView {
  state: string;
  job: Job | undefined;
}

/** A stage's result from its job: the worker's result, or BullMQ's reason when the job failed. */
function stageOf(stage: string, view: JobView): { result: StageResult; exit_code?: number } | undefined {
  const { job, state } = view;
  if (job === undefined) {
    return {
      result: { name: stage, status: "failed", reason: "the job is no longer in the queue", seconds: 0 },
    };
  }
  const seconds =
    job.finishedOn !== undefined && job.processedOn !== undefined
      ? (job.finishedOn - job.processedOn) / 1000
      : 0;
  if (state === "completed") {
    const value = job.returnvalue as StageJobResult | null;
    if (value?.result === undefined) {
      return {
        result: { name: stage, status: "failed", reason: "the job completed without a result", seconds },
      };
    }
    return value;
  }
  if (state === "failed") {
    return {
      result: { name: stage, status: "failed", reason: job.failedReason || "the job failed", seconds },
    };
  }
  return undefined;
}

/**
 * Follows an enqueued run until every market has finished (its last stage completed, or a
 * stage failed), reporting each stage's end as it is seen, and returns the run as a local
 * run would (the summary table and the exit status come from it). An aborted `signal` stops
 * following; the jobs go on in the workers.
 */
export async function followRun(
  enqueued: EnqueuedRun,
  target: QueueTarget,
  opts: FollowOptions,
): Promise<PipelineRun> {
  const t0 = performance.now();
  await reachable(target);
  const queue = new Queue(QUEUE_NAME, { connection: connectionOf(target), prefix: target.prefix });
  const quiet = quietErrors(opts.log);
  queue.on("error", quiet);
  // A lost connection: the queries below wait for it; the log says when it is back.
  (await queue.backend.client).on("ready", quiet.back);
  const seen = new Set<string>();
  const started = new Set<string>();
  try {
    for (;;) {
      const markets: MarketRun[] = [];
      let finished = 0;
      for (const m of enqueued.markets) {
        const views: JobView[] = [];
        for (const { jobId } of m.jobs) {
          // The state first, then the job: a job read before its state may be an active job's
          // snapshot, without the result its state then says it has.
          const state = await queue.getJobState(jobId);
          const job = state === "unknown" ? undefined : await queue.getJob(jobId);
          views.push({ job, state: job === undefined ? "missing" : state });
        }
        const stages: StageResult[] = [];
        let error: MarketRun["error"];
        let first: number | undefined;
        let last: number | undefined;
        m.jobs.forEach(({ stage, jobId }, i) => {
          const view = views[i] as JobView;
          const job = view.job;
          if (job?.processedOn !== undefined) first = Math.min(first ?? job.processedOn, job.processedOn);
          if (job?.finishedOn !== undefined) last = Math.max(last ?? job.finishedOn, job.finishedOn);
          if (error !== undefined) {
            stages.push({ name: stage, status: "not-run", reason: `${error.stage} failed`, seconds: 0 });
            return;
          }
          const done = stageOf(stage, view);
          if (done === undefined) {
            if (view.state === "active" && !started.has(jobId)) {
              started.add(jobId);
              opts.onEvent?.({ market: m.id, stage, phase: "start" });
            }
            return;
          }
          stages.push(done.result);
          if (!seen.has(jobId)) {
            seen.add(jobId);
            opts.onEvent?.({ market: m.id, stage, phase: "end", result: done.result });
          }
          if (done.result.status === "failed") {
            error = {
              stage,
              message: done.result.reason,
              ...(done.exit_code === undefined ? {} : { exit_code: done.exit_code }),
            };
          }
        });
        const pending = stages.length < m.jobs.length;
        if (!pending) finished++;
        if (pending && opts.signal?.aborted) {
          // No longer followed: the stages not finished yet are left to the workers.
          for (const { stage } of m.jobs.slice(stages.length)) {
            stages.push({
              name: stage,
              status: "not-run",
              reason: "not finished when following stopped",
              seconds: 0,
            });
          }
        }
        markets.push({
          ...m.id,
          ok: error === undefined && !pending,
          interrupted: pending && error === undefined,
          stages,
          ...(error === undefined ? {} : { error }),
          seconds: first !== undefined && last !== undefined ? Math.max(0, last - first) / 1000 : 0,
          predictor: m.predictor,
        });
      }
      if (finished === enqueued.markets.length || opts.signal?.aborted) {
        return {
          markets,
          jobs: enqueued.markets.length,
          workers: 1,
          seconds: (performance.now() - t0) / 1000,
          failed: markets.filter((r) => !r.ok && !r.interrupted).length,
          interrupted: markets.filter((r) => r.interrupted).length,
        };
      }
      await sleep(
        opts.pollMs ?? 500,
        undefined,
        opts.signal === undefined ? {} : { signal: opts.signal },
      ).catch(() => undefined);
    }
  } finally {
    await queue.close();
  }
}
