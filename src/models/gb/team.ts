import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { claimParts, runPart, type Views, type WsData, workerSource } from "./kernels.js";

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
    this.threads = Math.max(1, Math.min(threads, 64));
    this.ctrl = new Int32Array(new SharedArrayBuffer(16 * 4));
    this.err = new Uint8Array(new SharedArrayBuffer(4096));
    if (this.threads > 1) {
      const src = workerSource();
      for (let i = 1; i < this.threads; i++) {
        const w = new Worker(src, {
          eval: true,
          workerData: { ws, ctrl: this.ctrl.buffer, err: this.err.buffer },
        });
        w.unref();
        this.workers.push(w);
      }
    }
  }

  /**
   * Runs the job in v.jp in `parts` parts. Threads claim parts as they come (a late worker costs
   * nothing: the main thread takes what is left); each part writes only its own output, so the
   * result does not depend on who ran what.
   */
  run(parts: number): void {
    const v = this.v;
    v.jp[1] = parts;
    if (parts <= 1 || this.threads <= 1) {
      for (let p = 0; p < parts; p++) runPart(v, p);
      return;
    }
    if (parts > 0xfff) throw new Error(`gb: ${parts} parts is more than a job can have`);
    this.tag = (this.tag % 0x7ffff) + 1;
    const tag = this.tag;
    const ctrl = this.ctrl;
    Atomics.store(ctrl, 2, 0);
    Atomics.store(ctrl, 1, tag << 12);
    Atomics.store(ctrl, 0, tag);
    Atomics.notify(ctrl, 0);
    claimParts(v, ctrl, tag, this.err);
    let spins = 0;
    while (Atomics.load(ctrl, 2) < parts) {
      if (++spins > 100000) {
        Atomics.wait(ctrl, 2, Atomics.load(ctrl, 2), 20);
        spins = 0;
      }
    }
    if (Atomics.load(ctrl, 15) !== 0) {
      const end = this.err.indexOf(0);
      const msg = new TextDecoder().decode(this.err.slice(0, end < 0 ? this.err.length : end));
      throw new Error(`gb worker thread failed: ${msg}`);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.workers.length > 0) {
      this.v.jp[0] = 9;
      this.tag = (this.tag % 0x7ffff) + 1;
      Atomics.store(this.ctrl, 0, this.tag);
      Atomics.notify(this.ctrl, 0);
      for (const w of this.workers) void w.terminate();
    }
  }
}

/** Threads to use: the parameter, or one per available core when it is 0. */
export function resolveThreads(numThreads: number): number {
  return numThreads > 0 ? numThreads : availableParallelism();
}
