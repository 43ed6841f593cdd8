import { parentPort } from "node:worker_threads";
import { computeOffload, type OffloadReply, type OffloadRequest } from "./setThreads.js";

/**
 * The worker thread of setThreads.ts: one request, one reply (the outputs of the sets it claimed,
 * or a failure that makes the calling thread compute them itself), then the thread ends.
 */
parentPort?.once("message", (request: OffloadRequest) => {
  try {
    const { reply, transfer } = computeOffload(request);
    try {
      request.port.postMessage(reply, transfer);
    } catch (err) {
      const failed: OffloadReply = { ok: false, message: err instanceof Error ? err.message : String(err) };
      request.port.postMessage(failed);
    }
  } finally {
    request.port.close();
    Atomics.store(request.done, 0, 1);
    Atomics.notify(request.done, 0);
  }
});
