import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { lcParams, trainLc } from "../../src/models/lc.js";
import {
  BLOCK,
  CTRL,
  objectivePart,
  type Session,
  WORKER_IDLE_MS,
  workerSource,
} from "../../src/models/lcKernels.js";
import { partBounds, partEvaluator } from "../../src/models/lcThreads.js";

function rng(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
}

/** n rows of d features in shared memory (or not), labels from a logistic model, optional weights. */
function problem(n: number, d: number, shared: boolean) {
  const rnd = rng(7);
  const cols = Array.from({ length: d }, () => {
    const c = shared ? new Float64Array(new SharedArrayBuffer(n * 8)) : new Float64Array(n);
    for (let i = 0; i < n; i++) c[i] = rnd() * 2 - 1;
    return c;
  });
  const y = Float64Array.from({ length: n }, (_, i) => {
    const z =
      1.2 * ((cols[0] as Float64Array)[i] as number) - 0.7 * ((cols[1] as Float64Array)[i] as number) - 2;
    return rnd() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
  });
  const w = Float64Array.from({ length: n }, () => 0.5 + rnd());
  return { cols, y, w };
}

describe("lc's objective in parts", () => {
  it("cuts rows into parts by the row count alone: one part below 131,072 rows, else eight of whole blocks", () => {
    expect([...partBounds(1000)]).toEqual([0, 1000]);
    expect([...partBounds(131_071)]).toEqual([0, 131_071]);
    for (const n of [131_072, 140_001, 420_288]) {
      const b = partBounds(n);
      expect(b.length).toBe(9);
      expect(b[0]).toBe(0);
      expect(b[8]).toBe(n);
      for (let p = 1; p < 8; p++) {
        expect((b[p] as number) % BLOCK).toBe(0);
        expect(b[p] as number).toBeGreaterThan(b[p - 1] as number);
      }
    }
  });

  it("the worker's source runs a part to the same sums as this thread", async () => {
    const n = 5000;
    const d = 3;
    const { cols, y, w } = problem(n, d, true);
    const ys = new Float64Array(new SharedArrayBuffer(n * 8));
    ys.set(y);
    const ws = new Float64Array(new SharedArrayBuffer(n * 8));
    ws.set(w);
    const bounds = Int32Array.of(0, 2048, n);
    const session: Session = {
      ctrl: new SharedArrayBuffer(16),
      theta: new SharedArrayBuffer((d + 1) * 8),
      acc: new SharedArrayBuffer(2 * (d + 2) * 8),
      columns: cols,
      y: ys,
      s: ws,
      bounds,
    };
    const theta = new Float64Array(session.theta);
    theta.set([0.3, -0.2, 0.1, -1.5]);
    const ctrl = new Int32Array(session.ctrl);
    const worker = new Worker(workerSource(), { eval: true });
    try {
      worker.postMessage(session);
      // Evaluation 1: the worker claims both parts (this thread claims none).
      Atomics.store(ctrl, CTRL.claim, 1 << 4);
      Atomics.store(ctrl, CTRL.seq, 1);
      Atomics.notify(ctrl, CTRL.seq);
      const deadline = Date.now() + 20_000;
      while (Atomics.load(ctrl, CTRL.done) < 2 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 5));
      }
      expect(Atomics.load(ctrl, CTRL.done)).toBe(2);
      expect(Atomics.load(ctrl, CTRL.err)).toBe(0);
      const expected = new Float64Array(2 * (d + 2));
      const zb = new Float64Array(BLOCK);
      const rb = new Float64Array(BLOCK);
      objectivePart(cols, ys, ws, theta, -1.5, 0, 2048, zb, rb, expected, 0);
      objectivePart(cols, ys, ws, theta, -1.5, 2048, n, zb, rb, expected, d + 2);
      expect([...new Float64Array(session.acc)]).toEqual([...expected]);
    } finally {
      Atomics.store(ctrl, CTRL.seq, -1);
      Atomics.notify(ctrl, CTRL.seq);
      await worker.terminate();
    }
  });

  it("the worker thread ends itself once idle for WORKER_IDLE_MS after a session", async () => {
    const { cols, y } = problem(100, 2, true);
    const session: Session = {
      ctrl: new SharedArrayBuffer(16),
      theta: new SharedArrayBuffer(3 * 8),
      acc: new SharedArrayBuffer(4 * 8),
      columns: cols,
      y,
      s: null,
      bounds: Int32Array.of(0, 100),
    };
    const worker = new Worker(workerSource(), { eval: true });
    const exited = new Promise<number>((r) => worker.once("exit", r));
    const t0 = performance.now();
    worker.postMessage(session);
    const ctrl = new Int32Array(session.ctrl);
    Atomics.store(ctrl, CTRL.seq, -1);
    Atomics.notify(ctrl, CTRL.seq);
    const code = await Promise.race([
      exited,
      new Promise((r) => setTimeout(() => r("still running"), 15_000)),
    ]);
    if (code === "still running") await worker.terminate();
    expect(code).toBe(0);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(WORKER_IDLE_MS - 50);
  });

  it("an evaluator on 2 threads gives the sums of 1 thread, evaluation after evaluation", async () => {
    const n = 140_001;
    const { cols, y, w } = problem(n, 4, true);
    const one = partEvaluator(cols, y, w, 1);
    const two = partEvaluator(cols, y, w, 2, true);
    try {
      expect(two.parts).toBe(8);
      // Give the worker time to start, so that it takes parts.
      await new Promise((r) => setTimeout(r, 500));
      const rnd = rng(3);
      for (let k = 0; k < 6; k++) {
        const theta = Float64Array.from({ length: 5 }, () => rnd() - 0.5);
        const a = Float64Array.from(one.evaluate(theta, theta[4] as number));
        const b = Float64Array.from(two.evaluate(theta, theta[4] as number));
        expect([...b]).toEqual([...a]);
      }
    } finally {
      one.close();
      two.close();
    }
  });

  it("trainLc gives the same model on 1 or 2 threads, columns in shared memory or not", () => {
    const n = 140_001;
    const shared = problem(n, 4, true);
    const plain = problem(n, 4, false);
    const params = lcParams({ C: 1 });
    const a = trainLc(plain.cols, plain.y, params, plain.w);
    const b = trainLc(shared.cols, shared.y, params, shared.w, { threads: 2 });
    const c = trainLc(shared.cols, shared.y, params, shared.w, { threads: 2 });
    expect(a.converged).toBe(true);
    expect(b).toEqual(a);
    expect(c).toEqual(a);
  });
});
