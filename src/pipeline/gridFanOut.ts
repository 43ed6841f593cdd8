import { createHash } from "node:crypto";
import type { GridEvaluation, GridInput } from "../backtest/grid.js";
import { gridWorkers, runGrid } from "../backtest/gridThreads.js";
import type { Metrics } from "../backtest/types.js";
import { canonicalJson, type LoadedConfig } from "../config/index.js";
import { ItbError } from "../core/errors.js";
import type { Logger } from "../core/log.js";
import { prepareSearch, type SimulateOptions, searchInputs } from "./backtestStages.js";
import type { FanOut } from "./graph/types.js";

/**
 * A large threshold grid as task jobs (the simulate stage in an `itb worker`): the cells are cut
 * into contiguous chunks of about `FanOut.gridSteps` cell × bar steps; a task carries only its
 * chunk's bounds and what checks that it sees the stage's input (the cell count, the rows, the
 * hash of the config keys and the predictions file's size and time). The worker that takes it rebuilds the grid's input from
 * the config and the predictions file (prepareSearch, as the stage did), backtests its cells
 * and answers their metrics and day returns as base64 blocks of doubles (exact: NaN,
 * ±Infinity and -0 included). The stage puts the chunks back in order, so the ranking and the files are the
 * same bytes as with worker threads.
 */

/** One grid task: cells [from, to) of a grid of `cells` cells over rows [start, end). */
export interface GridTask {
  from: number;
  to: number;
  cells: number;
  start: number;
  end: number;
  /** What the stage's result depends on (searchInputs: config, predictions file): a task seeing others fails. */
  inputs: Record<string, unknown>;
}

/**
 * A grid task's answer: the metrics' keys and, row by row, their values as float64 (base64);
 * the days and, cell by cell, the cells' day returns as float64 (base64).
 */
export interface GridTaskResult {
  keys: string[];
  values: string;
  days: number;
  dayReturns: string;
}

function base64(x: Float64Array): string {
  return Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString("base64");
}

function doubles(text: string): Float64Array {
  const bytes = Buffer.from(text, "base64");
  return new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

/** The chunks [from, to) of a grid of `cells` cells over `rows` rows, about `steps` cell × bar steps each (at most one per cell). */
export function gridChunks(cells: number, rows: number, steps: number): [number, number][] {
  const n = Math.min(cells, Math.ceil((cells * rows) / Math.max(1, steps)));
  if (n < 2) return [[0, cells]];
  return Array.from({ length: n }, (_, i) => [
    Math.floor((i * cells) / n),
    Math.floor(((i + 1) * cells) / n),
  ]);
}

export function encodeGrid(grid: GridEvaluation): GridTaskResult {
  const { metrics } = grid;
  const keys = Object.keys(metrics[0] ?? {});
  const values = new Float64Array(metrics.length * keys.length);
  metrics.forEach((m, i) => {
    const row = m as unknown as Record<string, number>;
    const own = Object.keys(row);
    if (own.length !== keys.length || own.some((k, j) => k !== keys[j])) {
      throw new Error(`grid task: cell ${i}'s metrics have other keys than the first cell's`);
    }
    keys.forEach((k, j) => {
      values[i * keys.length + j] = row[k] as number;
    });
  });
  return { keys, values: base64(values), days: grid.days, dayReturns: base64(grid.dayReturns) };
}

export function decodeGrid(r: GridTaskResult, expected: number): GridEvaluation {
  const values = doubles(r.values);
  if (values.length !== expected * r.keys.length) {
    throw new Error(`grid task: ${values.length} values for ${expected} cells of ${r.keys.length} metrics`);
  }
  if (typeof r.dayReturns !== "string" || !Number.isInteger(r.days)) {
    throw new Error("grid task: the answer has no day returns (a worker running an older itb?)");
  }
  const dayReturns = doubles(r.dayReturns);
  if (dayReturns.length !== expected * r.days) {
    throw new Error(`grid task: ${dayReturns.length} day returns for ${expected} cells of ${r.days} days`);
  }
  const metrics = Array.from({ length: expected }, (_, i) => {
    const m: Record<string, number> = {};
    r.keys.forEach((k, j) => {
      m[k] = values[i * r.keys.length + j] as number;
    });
    return m as unknown as Metrics;
  });
  return { metrics, days: r.days, dayReturns };
}

/**
 * runSimulate's `evaluate` for a stage with a fan-out: a grid of one chunk (below
 * `gridSteps`) gives undefined, and the worker threads run it as without a queue.
 */
export function fannedOutGrid(fanOut: FanOut): NonNullable<SimulateOptions["evaluate"]> {
  return async (grid: GridInput, cells, inputs) => {
    const chunks = gridChunks(cells.length, grid.end - grid.start, fanOut.gridSteps);
    if (chunks.length < 2) return undefined;
    const tasks: GridTask[] = chunks.map(([from, to]) => ({
      from,
      to,
      cells: cells.length,
      start: grid.start,
      end: grid.end,
      inputs,
    }));
    const key = createHash("sha256")
      .update(canonicalJson({ inputs, cells: cells.length, start: grid.start, end: grid.end }))
      .digest("hex")
      .slice(0, 12);
    const results = await fanOut.run("grid", key, tasks);
    const parts = results.map((r, i) => {
      const t = tasks[i] as GridTask;
      return decodeGrid(r as GridTaskResult, t.to - t.from);
    });
    const days = (parts[0] as GridEvaluation).days;
    if (parts.some((p) => p.days !== days))
      throw new Error("grid task: the tasks' answers have different days");
    const dayReturns = new Float64Array(cells.length * days);
    let at = 0;
    for (const p of parts) {
      dayReturns.set(p.dayReturns, at);
      at += p.dayReturns.length;
    }
    return { metrics: parts.flatMap((p) => p.metrics), days, dayReturns };
  };
}

/** Runs a grid task in the worker that took it: the grid rebuilt from the files, its cells backtested off the event loop. */
export async function runGridTask(
  loaded: LoadedConfig,
  task: GridTask,
  opts: { log: Logger; workers: number },
): Promise<GridTaskResult> {
  const { plan, table, scores, range, holdout } = await prepareSearch(loaded, loaded.file, { log: opts.log });
  const seen = { cells: plan.cells.length, start: range.start, end: range.split };
  if (
    seen.cells !== task.cells ||
    seen.start !== task.start ||
    seen.end !== task.end ||
    canonicalJson(searchInputs(loaded.config, table, holdout?.text)) !== canonicalJson(task.inputs)
  ) {
    throw new ItbError(
      `grid task: the grid or the predictions changed since the stage started (${seen.cells} cells, rows ${seen.start}..${seen.end} here; ${task.cells} cells, rows ${task.start}..${task.end} in the task)`,
    );
  }
  const input: GridInput = {
    bars: table.bars,
    rule: plan.rule,
    scores,
    options: loaded.settings.backtest,
    start: range.start,
    end: range.split,
  };
  const cells = plan.cells.slice(task.from, task.to);
  const workers = gridWorkers(cells.length, range.split - range.start, opts.workers);
  return encodeGrid(await runGrid(input, cells, workers, undefined, true));
}
