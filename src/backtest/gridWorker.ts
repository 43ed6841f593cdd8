import { parentPort, workerData } from "node:worker_threads";
import { evaluateCells } from "./grid.js";
import { type GridWorkerData, type GridWorkerReply, gridInputFromShared } from "./gridThreads.js";

/** A threshold-search worker: evaluates the cells it was started with and replies once. */
const data = workerData as GridWorkerData | undefined;
if (parentPort && data?.kind === "itb-grid-worker") {
  let reply: GridWorkerReply;
  try {
    reply = { ok: true, metrics: evaluateCells(gridInputFromShared(data), data.cells) };
  } catch (err) {
    reply = { ok: false, message: err instanceof Error ? err.message : String(err) };
  }
  parentPort.postMessage(reply);
}
