import { workerData } from "node:worker_threads";
import { serveTasks } from "../core/workerPool.js";
import { evaluateCells } from "./grid.js";
import { type GridTask, type GridWorkerData, gridInputFromShared } from "./gridThreads.js";
import type { Metrics } from "./types.js";

/** A threshold-search worker: maps the shared bars once, then evaluates the cells it is sent (its share of the grid). */
const data = workerData as GridWorkerData | undefined;
if (data?.kind === "itb-grid-worker") {
  const input = gridInputFromShared(data);
  serveTasks<GridTask, Metrics[]>((cells) => evaluateCells(input, cells));
}
