/**
 * lc's kernels over blocks of rows: the sums of the objective, its gradient and its Hessian.
 * Worker threads run the same functions (lcThreads.ts builds their source from these), so a
 * part of the rows gives the same numbers on any thread.
 */

/** Rows per block: a block of every column (20 × 16 KB) stays in L2 between the two sweeps. */
export const BLOCK = 2048;

/**
 * out[base + k·stride] += Σₜ a[t]·columns[k][off + t] (t < len) for every k ≥ from, four
 * columns per sweep so that a[t] is loaded once for four products and the four sums are
 * independent add chains.
 */
export function addDots(
  a: Float64Array,
  columns: readonly Float64Array[],
  from: number,
  off: number,
  len: number,
  out: Float64Array,
  base: number,
  stride: number,
): void {
  const d = columns.length;
  let k = from;
  for (; k + 3 < d; k += 4) {
    const c0 = columns[k] as Float64Array;
    const c1 = columns[k + 1] as Float64Array;
    const c2 = columns[k + 2] as Float64Array;
    const c3 = columns[k + 3] as Float64Array;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let t = 0; t < len; t++) {
      const v = a[t] as number;
      const i = off + t;
      s0 += v * (c0[i] as number);
      s1 += v * (c1[i] as number);
      s2 += v * (c2[i] as number);
      s3 += v * (c3[i] as number);
    }
    const o = base + k * stride;
    out[o] = (out[o] as number) + s0;
    out[o + stride] = (out[o + stride] as number) + s1;
    out[o + 2 * stride] = (out[o + 2 * stride] as number) + s2;
    out[o + 3 * stride] = (out[o + 3 * stride] as number) + s3;
  }
  for (; k < d; k++) {
    const c = columns[k] as Float64Array;
    let s0 = 0;
    let s1 = 0;
    let t = 0;
    for (; t + 1 < len; t += 2) {
      s0 += (a[t] as number) * (c[off + t] as number);
      s1 += (a[t + 1] as number) * (c[off + t + 1] as number);
    }
    if (t < len) s0 += (a[t] as number) * (c[off + t] as number);
    const o = base + k * stride;
    out[o] = (out[o] as number) + (s0 + s1);
  }
}

/** z[t] += Σₖ θₖ·columns[k][off + t] (t < len), four columns per sweep over z. */
export function addLogits(
  z: Float64Array,
  columns: readonly Float64Array[],
  theta: Float64Array,
  off: number,
  len: number,
): void {
  const d = columns.length;
  let k = 0;
  for (; k + 3 < d; k += 4) {
    const c0 = columns[k] as Float64Array;
    const c1 = columns[k + 1] as Float64Array;
    const c2 = columns[k + 2] as Float64Array;
    const c3 = columns[k + 3] as Float64Array;
    const w0 = theta[k] as number;
    const w1 = theta[k + 1] as number;
    const w2 = theta[k + 2] as number;
    const w3 = theta[k + 3] as number;
    for (let t = 0; t < len; t++) {
      const i = off + t;
      z[t] =
        (z[t] as number) +
        (w0 * (c0[i] as number) + w1 * (c1[i] as number) + (w2 * (c2[i] as number) + w3 * (c3[i] as number)));
    }
  }
  for (; k < d; k++) {
    const c = columns[k] as Float64Array;
    const w = theta[k] as number;
    for (let t = 0; t < len; t++) z[t] = (z[t] as number) + w * (c[off + t] as number);
  }
}

/**
 * One part of an evaluation of lc's objective at θ = (w, b): rows [r0, r1), in blocks of BLOCK
 * from r0. Per block, logits z = b + Σⱼ wⱼ·xⱼ, then ℓ and r = s·(σ(z) − y), then Σ r·xⱼ;
 * ℓ = log1p(e^−|z|) + max(z, 0) − y·z and σ from the same e^−|z|: stable for any z. Writes
 * the part's Σ s·ℓ to acc[at], Σ r to acc[at + 1] and Σ r·xⱼ to acc[at + 2 + j]. zb and rb are
 * scratch arrays of BLOCK values.
 */
export function objectivePart(
  columns: readonly Float64Array[],
  y: Float64Array,
  s: Float64Array | null,
  theta: Float64Array,
  b: number,
  r0: number,
  r1: number,
  zb: Float64Array,
  rb: Float64Array,
  acc: Float64Array,
  at: number,
): void {
  const d = columns.length;
  acc.fill(0, at, at + d + 2);
  let loss = 0;
  let rsum = 0;
  for (let i0 = r0; i0 < r1; i0 += BLOCK) {
    const len = Math.min(BLOCK, r1 - i0);
    zb.fill(b, 0, len);
    addLogits(zb, columns, theta, i0, len);
    let blockLoss = 0;
    let blockR = 0;
    for (let t = 0; t < len; t++) {
      const z = zb[t] as number;
      const yi = y[i0 + t] as number;
      const e = Math.exp(-Math.abs(z));
      const p = z >= 0 ? 1 / (1 + e) : e / (1 + e);
      const l = Math.log1p(e) + Math.max(z, 0) - yi * z;
      const si = s ? (s[i0 + t] as number) : 1;
      const r = si * (p - yi);
      blockLoss += si * l;
      rb[t] = r;
      blockR += r;
    }
    loss += blockLoss;
    rsum += blockR;
    addDots(rb, columns, 0, i0, len, acc, at + 2, 1);
  }
  acc[at] = loss;
  acc[at + 1] = rsum;
}

/** ctrl slots of a worker session: the evaluation's sequence number (−1 ends the session), the claim word (seq·16 + next part), parts done, worker error. */
export const CTRL = { seq: 0, claim: 1, done: 2, err: 3 } as const;

/** The rows of an evaluation and their parts: part p is rows bounds[p]..bounds[p + 1]. */
export interface PartRows {
  columns: readonly Float64Array[];
  y: Float64Array;
  s: Float64Array | null;
  bounds: Int32Array;
}

/** Part p of an evaluation at θ (b the intercept): its sums into acc at p·(d + 2) (objectivePart). */
export function evaluatePart(
  rows: PartRows,
  theta: Float64Array,
  b: number,
  p: number,
  zb: Float64Array,
  rb: Float64Array,
  acc: Float64Array,
): void {
  const { columns, y, s, bounds } = rows;
  objectivePart(
    columns,
    y,
    s,
    theta,
    b,
    bounds[p] as number,
    bounds[p + 1] as number,
    zb,
    rb,
    acc,
    p * (columns.length + 2),
  );
}

export interface Session extends PartRows {
  ctrl: SharedArrayBuffer;
  theta: SharedArrayBuffer;
  acc: SharedArrayBuffer;
}

/**
 * The worker's side: waits for an evaluation, claims parts while there are any, and returns to
 * its event loop when the session ends. Its source is this function's, as the kernels'.
 */
function workerSession(m: Session): void {
  const ctrl = new Int32Array(m.ctrl);
  const theta = new Float64Array(m.theta);
  const acc = new Float64Array(m.acc);
  const d = m.columns.length;
  const parts = m.bounds.length - 1;
  const zb = new Float64Array(BLOCK);
  const rb = new Float64Array(BLOCK);
  let seen = 0;
  for (;;) {
    Atomics.wait(ctrl, CTRL.seq, seen);
    const seq = Atomics.load(ctrl, CTRL.seq);
    if (seq < 0) return;
    if (seq === seen) continue;
    seen = seq;
    for (;;) {
      const word = Atomics.load(ctrl, CTRL.claim);
      const p = word & 15;
      if (word >>> 4 !== seq || p >= parts) break;
      if (Atomics.compareExchange(ctrl, CTRL.claim, word, word + 1) !== word) continue;
      try {
        evaluatePart(m, theta, theta[d] as number, p, zb, rb, acc);
      } catch {
        Atomics.store(ctrl, CTRL.err, 1);
      }
      Atomics.add(ctrl, CTRL.done, 1);
      Atomics.notify(ctrl, CTRL.done);
    }
  }
}

/** How long a worker thread waits for its next session before it ends. */
export const WORKER_IDLE_MS = 2000;

/** The source of a worker thread that runs sessions (workerSession) with these kernels. */
export function workerSource(): string {
  return [
    '"use strict";',
    'const { parentPort } = require("node:worker_threads");',
    `const BLOCK = ${BLOCK};`,
    `const CTRL = ${JSON.stringify(CTRL)};`,
    ...[addDots, addLogits, objectivePart, evaluatePart, workerSession].map((f) => f.toString()),
    // Idle this long, the thread ends: it would otherwise keep the rows' shared memory alive
    // until its own garbage collection, which an idle thread may never run.
    `const IDLE_MS = ${WORKER_IDLE_MS};`,
    "let idle;",
    'parentPort.on("message", (m) => { clearTimeout(idle); workerSession(m); idle = setTimeout(() => process.exit(0), IDLE_MS); });',
  ].join("\n");
}
