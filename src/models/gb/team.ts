import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { WorkerError } from "../../core/errors.js";
import {
  CLAIM,
  CTRL,
  CTRL_SIZE,
  claimParts,
  JOB,
  JP,
  runPart,
  type Views,
  type WsData,
  workerSource,
} from "./kernels.js";

/**
 * The main thread plus `threads - 1` workers over one training run's shared buffers. `run`
 * is synchronous: the main thread posts a job (a sequence number in shared memory), does its own
 * parts and waits on the workers with Atomics, so training stays a plain function call and no
 * large array is ever copied between threads.
 */
export class Team {
  readonly threads: number;
  private readonly ctrl: Int32Array;
  private readonly err: Uint8Array;
  private readonly workers: Worker[] = [];
  private tag = 0;
  private closed = false;

  constructor(
    private readonly v: Views,
    ws: WsData,
    threads: number,
  ) {
    this.ctrl = new Int32Array(new SharedArrayBuffer(CTRL_SIZE * 4));
    this.err = new Uint8Array(new SharedArrayBuffer(4096));
    let started = 1;
    if (threads > 1) {
      const src = workerSource();
      try {
        for (let i = 1; i < Math.min(threads, 64); i++) {
          const w = new Worker(src, {
            eval: true,
            workerData: { ws, ctrl: this.ctrl.buffer, err: this.err.buffer },
          });
          w.unref();
          this.workers.push(w);
          started++;
        }
      } catch {
        // No more threads to be had (resource limits): train with the ones that started.
      }
    }
    this.threads = started;
  }

  /**
   * Runs the job in v.jp in `parts` parts. Threads claim parts as they come (a late worker costs
   * nothing: the main thread takes what is left); each part writes only its own output, so the
   * result does not depend on who ran what.
   */
  run(parts: number): void {
    const v = this.v;
    v.jp[JP.parts] = parts;
    if (parts <= 1 || this.threads <= 1) {
      for (let p = 0; p < parts; p++) runPart(v, p);
      return;
    }
    // Internal: jobs have at most max(4, threads) parts, and threads are capped at 64.
    if (parts > CLAIM.partMask) throw new Error(`gb: ${parts} parts is more than a job can have`);
    this.tag = (this.tag % MAX_TAG) + 1;
    runJob(v, this.ctrl, this.tag, parts, this.err);
    // A part that threw is a bug in the kernels (their inputs are checked before training):
    // a plain error, with the worker's stack in its message.
    if (Atomics.load(this.ctrl, CTRL.failed) !== 0) {
      const end = this.err.indexOf(0);
      const msg = new TextDecoder().decode(this.err.slice(0, end < 0 ? this.err.length : end));
      throw new Error(`gb worker thread failed: ${msg}`);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.workers.length > 0) {
      this.v.jp[JP.kind] = JOB.quit;
      this.tag = (this.tag % MAX_TAG) + 1;
      Atomics.store(this.ctrl, CTRL.job, this.tag);
      Atomics.notify(this.ctrl, CTRL.job);
      for (const w of this.workers) void w.terminate();
    }
  }
}

/**
 * The calling thread's side of one job of `parts` parts under `tag`: opens the claim word to the
 * workers, claims parts alongside them, waits for the parts they run, and closes the claim word
 * (its part number set past any job's parts). Closing matters: a worker that wakes late for this
 * job checks the claim word's part against jp's part count, which by then may be the next job's;
 * with the word left at this job's last part, a next job of more parts let that worker claim a
 * part of it before the job was opened (with half-written arguments, and a finished-part count
 * that the opening then reset, so the job could end before its last part did). Seen as models
 * that changed with the thread count, more often with more threads than cores.
 */
export function runJob(v: Views, ctrl: Int32Array, tag: number, parts: number, err: Uint8Array): void {
  Atomics.store(ctrl, CTRL.done, 0);
  Atomics.store(ctrl, CTRL.claim, tag << CLAIM.tagShift);
  Atomics.store(ctrl, CTRL.job, tag);
  Atomics.notify(ctrl, CTRL.job);
  claimParts(v, ctrl, tag, err);
  awaitParts(ctrl, parts);
  Atomics.store(ctrl, CTRL.claim, (tag << CLAIM.tagShift) | CLAIM.partMask);
}

/**
 * Waits until `parts` parts of the current job are finished. Only parts a worker claimed and is
 * running remain when the main thread gets here; a worker that died holding one would stall
 * training forever, so a part unfinished for `stallMs` is a WorkerError.
 */
export function awaitParts(ctrl: Int32Array, parts: number, stallMs = STALL_MS): void {
  let spins = 0;
  let done = Atomics.load(ctrl, CTRL.done);
  let since = 0;
  while (done < parts) {
    if (++spins > 100000) {
      Atomics.wait(ctrl, CTRL.done, done, 20);
      spins = 0;
      const now = Atomics.load(ctrl, CTRL.done);
      if (now !== done) since = 0;
      else if (since === 0) since = performance.now();
      else if (performance.now() - since > stallMs) {
        throw new WorkerError(
          `gb: a worker thread stopped responding: ${parts - now} part(s) of a job unfinished for ${stallMs / 1000} s (the thread was killed or ran out of memory)`,
        );
      }
    }
    done = Atomics.load(ctrl, CTRL.done);
  }
}

/** Job tags cycle through 1..MAX_TAG, so that tag << CLAIM.tagShift stays a positive int32. */
const MAX_TAG = 2 ** (31 - CLAIM.tagShift) - 1;

/** A claimed part unfinished for this long means its worker is gone. */
const STALL_MS = 120_000;

/** Default thread cap: histogram jobs have at most 4 parts, and more spinning workers only cost CPU. */
const DEFAULT_MAX_THREADS = 4;

/** Threads to use: the parameter, or one per available core (at most 4) when it is 0. */
export function resolveThreads(numThreads: number): number {
  return numThreads > 0 ? numThreads : Math.min(DEFAULT_MAX_THREADS, availableParallelism());
}
