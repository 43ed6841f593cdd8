import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { evaluateCells, type GridInput } from "./grid.js";
import type { BacktestOptions, Metrics } from "./types.js";

/**
 * Runs a threshold grid on worker threads: the bars and scores are copied once into shared
 * memory, every worker maps them and evaluates an interleaved share of the cells, so a grid
 * whose cells differ in cost still splits evenly. Small grids run in the calling thread.
 */

export interface GridWorkerData {
  kind: "itb-grid-worker";
  bars: {
    time: SharedArrayBuffer;
    open: SharedArrayBuffer;
    high: SharedArrayBuffer;
    low: SharedArrayBuffer;
    close: SharedArrayBuffer;
  };
  scores: SharedArrayBuffer[];
  rule: GridInput["rule"];
  options: BacktestOptions;
  start: number;
  end: number;
  cells: Record<string, number>[];
}

export type GridWorkerReply = { ok: true; metrics: Metrics[] } | { ok: false; message: string };

const WORKER_URL = new URL("./gridWorker.js", import.meta.url);

function share(x: Float64Array): SharedArrayBuffer {
  const sab = new SharedArrayBuffer(x.byteLength);
  new Float64Array(sab).set(x);
  return sab;
}

export function gridInputFromShared(d: GridWorkerData): GridInput {
  return {
    bars: {
      time: new Float64Array(d.bars.time),
      open: new Float64Array(d.bars.open),
      high: new Float64Array(d.bars.high),
      low: new Float64Array(d.bars.low),
      close: new Float64Array(d.bars.close),
    },
    scores: d.scores.map((s) => new Float64Array(s)),
    rule: d.rule,
    options: d.options,
    start: d.start,
    end: d.end,
  };
}

/** Worker count for a grid: one per core, never more than the cells, 1 for small grids. */
export function gridWorkers(cells: number, rows: number, requested?: number): number {
  const cores = requested ?? availableParallelism();
  // A cell costs ~3 ns per bar in one thread (the engine's fast paths), while a worker costs
  // ~60 ms before its first cell (start-up, module loading, copying the columns to shared
  // memory) and then compiles the engine afresh. Below ~100M bar-steps (~0.3 s in one thread)
  // that costs more than it saves: the bench's 10 × 10 grid over a year of 1m bars (52M) took
  // 0.21–0.28 s in the calling thread and 0.30–0.35 s on 2 workers (2 cores).
  if (cells * rows < 100_000_000) return 1;
  return Math.max(1, Math.min(cores, cells));
}

/** Aborting `signal` rejects with its reason and terminates the worker threads. */
export async function runGrid(
  input: GridInput,
  cells: readonly Record<string, number>[],
  workers = gridWorkers(cells.length, input.end - input.start),
  signal?: AbortSignal,
): Promise<Metrics[]> {
  // never a worker without a cell
  workers = Math.min(workers, cells.length);
  // Under vitest the sources are TypeScript and the compiled worker is absent: same work, one thread.
  if (workers <= 1 || !existsSync(fileURLToPath(WORKER_URL))) return evaluateCells(input, cells);
  const b = input.bars;
  const shared = {
    bars: {
      time: share(b.time),
      open: share(b.open),
      high: share(b.high),
      low: share(b.low),
      close: share(b.close),
    },
    scores: input.scores.map(share),
  };
  const out: Metrics[] = new Array(cells.length);
  const threads: Worker[] = [];
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal?.reason);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener("abort", onAbort, { once: true });
  });
  aborted.catch(() => undefined);
  try {
    const all = Promise.all(
      Array.from({ length: workers }, (_, w) => {
        const mine: number[] = [];
        for (let i = w; i < cells.length; i += workers) mine.push(i);
        const data: GridWorkerData = {
          kind: "itb-grid-worker",
          ...shared,
          rule: input.rule,
          options: input.options,
          start: input.start,
          end: input.end,
          cells: mine.map((i) => cells[i] as Record<string, number>),
        };
        const worker = new Worker(WORKER_URL, { workerData: data });
        threads.push(worker);
        return new Promise<void>((resolve, reject) => {
          let done = false;
          worker.once("message", (reply: GridWorkerReply) => {
            done = true;
            if (!reply.ok) {
              reject(new Error(`threshold search worker: ${reply.message}`));
              return;
            }
            reply.metrics.forEach((m, k) => {
              out[mine[k] as number] = m;
            });
            resolve();
          });
          worker.once("error", reject);
          worker.once("exit", (code) => {
            if (!done) reject(new Error(`threshold search worker stopped (exit code ${code})`));
          });
        });
      }),
    );
    // Once aborted, the terminated workers' exits reject `all` too: that is expected, not unhandled.
    all.catch(() => undefined);
    await (signal === undefined ? all : Promise.race([all, aborted]));
  } finally {
    if (onAbort !== undefined) signal?.removeEventListener("abort", onAbort);
    await Promise.all(threads.map((t) => t.terminate()));
  }
  return out;
}
