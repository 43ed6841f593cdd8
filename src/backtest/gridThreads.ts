import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { mapPool } from "../core/workerPool.js";
import { evaluateCells, type GridEvaluation, type GridInput } from "./grid.js";
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
}

/** A grid worker's task: its share of the cells, answered with their metrics and day returns in the same order. */
export type GridTask = Record<string, number>[];

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

/**
 * Aborting `signal` rejects with its reason and terminates the worker threads. `offThread`: one
 * worker is a thread too, leaving the calling thread's event loop free (a queue worker's task
 * must keep renewing its job's lock).
 */
export async function runGrid(
  input: GridInput,
  cells: readonly Record<string, number>[],
  workers = gridWorkers(cells.length, input.end - input.start),
  signal?: AbortSignal,
  offThread = false,
): Promise<GridEvaluation> {
  // never a worker without a cell
  workers = Math.min(workers, cells.length);
  // Under vitest the sources are TypeScript and the compiled worker is absent: same work, one thread.
  if ((workers <= 1 && !offThread) || !existsSync(fileURLToPath(WORKER_URL))) {
    return evaluateCells(input, cells);
  }
  workers = Math.max(1, workers);
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
  // One task per worker: an interleaved share of the cells, so that a grid whose cells differ
  // in cost still splits evenly, and each worker computes a threshold's signal column once
  // (evaluateCells caches them within a call).
  const shares = Array.from({ length: workers }, (_, w) => {
    const mine: number[] = [];
    for (let i = w; i < cells.length; i += workers) mine.push(i);
    return mine;
  });
  const data: GridWorkerData = {
    kind: "itb-grid-worker",
    ...shared,
    rule: input.rule,
    options: input.options,
    start: input.start,
    end: input.end,
  };
  const results = await mapPool<GridTask, GridEvaluation>({
    url: WORKER_URL,
    workerData: data,
    tasks: shares.map((mine) => mine.map((i) => cells[i] as Record<string, number>)),
    size: workers,
    name: "threshold search",
    signal,
  });
  const out: Metrics[] = new Array(cells.length);
  const days = (results[0] as GridEvaluation).days;
  const dayReturns = new Float64Array(cells.length * days);
  shares.forEach((mine, w) => {
    const r = results[w] as GridEvaluation;
    mine.forEach((i, k) => {
      out[i] = r.metrics[k] as Metrics;
      dayReturns.set(r.dayReturns.subarray(k * days, (k + 1) * days), i * days);
    });
  });
  return { metrics: out, days, dayReturns };
}
