import { workerData } from "node:worker_threads";
import { serveTasks } from "../core/workerPool.js";
import { evaluateCells, type GridEvaluation } from "./grid.js";
import { type GridTask, type GridWorkerData, gridInputFromShared } from "./gridThreads.js";

/** A threshold-search worker: maps the shared bars once, then evaluates the cells it is sent (its share of the grid): their metrics and day returns. */
const data = workerData as GridWorkerData | undefined;
if (data?.kind === "itb-grid-worker") {
  const input = gridInputFromShared(data);
  serveTasks<GridTask, GridEvaluation>(
    (cells) => evaluateCells(input, cells),
    (r) => [r.dayReturns.buffer as ArrayBuffer],
  );
}
