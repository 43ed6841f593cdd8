import { DataError } from "../../core/errors.js";
import { fastExp } from "./exp.js";
import { activationCode, CHUNK, denseBackward, denseGradient, STRIDE } from "./kernels.js";
import {
  forwardChunk,
  gatherColumns,
  glorotNet,
  type Net,
  type NnModel,
  netToModel,
  type Workspace,
  workspace,
} from "./network.js";
import type { NnParams } from "./params.js";
import { NnRng } from "./rng.js";

/** Keras's Adam defaults (β₁, β₂, ε), as the original's Adam(learning_rate=…) uses them. */
const BETA1 = 0.9;
const BETA2 = 0.999;
const EPSILON = 1e-7;

/**
 * Trains on rows that the caller has already cleaned (no NaN feature, label 0 or 1) and,
 * usually, scaled. As the original's Keras model: Glorot-uniform kernels, mini-batches of `bs`
 * rows drawn from a fresh shuffle every epoch (the last batch may be smaller), mean binary
 * cross-entropy on the output logit (+ l2·Σw² over the kernels), Adam in Keras's form.
 *
 * Early stopping follows Keras's EarlyStopping: an epoch improves when its monitored loss is
 * below the best so far by more than min_delta; training stops once `patience` epochs in a row
 * (at least one) have not improved. Unlike Keras's default, the weights of the best epoch are
 * always the ones returned, also when the epochs run out first. With monitor_fraction f > 0 the
 * last n − ⌈n·(1 − f)⌉ rows are held out and their loss is monitored (Keras's validation_split
 * also takes the last rows, which for time-ordered rows means the most recent ones).
 *
 * Same input, params and seed: bit-identical model (fixed summation order, own PRNG).
 */
export function trainNn(columns: readonly Float64Array[], y: Float64Array, params: NnParams): NnModel {
  const n = y.length;
  const d = columns.length;
  if (d === 0) throw new DataError("nn training: no feature columns");
  columns.forEach((c, j) => {
    if (c.length !== n) {
      throw new DataError(`nn training: feature column ${j} has ${c.length} rows, expected ${n}`);
    }
  });
  const fraction = params.es?.monitor_fraction ?? 0;
  const nTrain = fraction > 0 ? Math.ceil(n * (1 - fraction)) : n;
  const nVal = n - nTrain;
  if (fraction > 0 && (nVal < 1 || nTrain < 1)) {
    throw new DataError(
      `nn training: es.monitor_fraction ${fraction} of ${n} rows leaves no validation or no training rows`,
    );
  }
  let n1 = 0;
  for (let i = 0; i < n; i++) {
    const v = y[i] as number;
    if (v === 1) n1 += i < nTrain ? 1 : 0;
    else if (v !== 0) throw new DataError(`nn training: label at row ${i} is ${v}, expected 0 or 1`);
  }
  if (n1 === 0 || n1 === nTrain) {
    throw new DataError(
      `nn training: the label has one class only (${n1} of ${nTrain} training rows are 1); a classifier needs both`,
      {},
      { action: "skip" },
    );
  }

  const rows = rowMajor(columns, nTrain);
  for (let k = 0; k < d; k++) checkFinite(columns[k] as Float64Array, k, nTrain, n);
  const hidden = params.layers.length > 0 ? params.layers : [Math.max(1, Math.floor(d / 4))];
  const sizes = [d, ...hidden, 1];
  const rng = new NnRng(params.seed);
  const net = glorotNet(sizes, activationCode(params.activation), rng);
  const ws = workspace(sizes);
  const grads = {
    w: net.w.map((k) => new Float64Array(k.length)),
    b: net.b.map((v) => new Float64Array(v.length)),
  };
  const adam = {
    mw: net.w.map((k) => new Float64Array(k.length)),
    vw: net.w.map((k) => new Float64Array(k.length)),
    mb: net.b.map((v) => new Float64Array(v.length)),
    vb: net.b.map((v) => new Float64Array(v.length)),
  };
  const perm = new Int32Array(nTrain);
  for (let i = 0; i < nTrain; i++) perm[i] = i;
  const ych = new Float64Array(CHUNK);
  const bs = params.bs;
  const l2 = params.l2;

  const es = params.es;
  let best = Number.POSITIVE_INFINITY;
  let bestEpoch = 0;
  let wait = 0;
  let bestW = net.w.map((k) => k.slice());
  let bestB = net.b.map((v) => v.slice());
  let step = 0;
  let epoch = 0;
  while (epoch < params.n_epochs) {
    epoch++;
    rng.shuffle(perm);
    let lossSum = 0; // Σ over batches of len·(mean BCE + penalty): Keras's epoch "loss" × nTrain
    for (let b0 = 0; b0 < nTrain; b0 += bs) {
      const len = Math.min(bs, nTrain - b0);
      for (const g of grads.w) g.fill(0);
      for (const g of grads.b) g.fill(0);
      let bce = 0;
      for (let c0 = b0; c0 < b0 + len; c0 += CHUNK) {
        const clen = Math.min(CHUNK, b0 + len - c0);
        gatherRows(rows, d, perm, c0, clen, ws.a[0] as Float64Array, y, ych);
        bce += trainChunk(net, ws, grads, ych, clen, 1 / len);
      }
      const penalty = l2 > 0 ? addPenaltyGradient(net, grads.w, l2) : 0;
      lossSum += bce + len * penalty;
      step++;
      adamStep(net, grads, adam, params.learning_rate, step);
    }
    const trainLoss = lossSum / nTrain;
    if (!Number.isFinite(trainLoss)) {
      throw new DataError(
        `nn training diverged: the loss is ${trainLoss} in epoch ${epoch}; lower learning_rate or scale the features`,
      );
    }
    if (es === null) continue;
    const current = nVal > 0 ? validationLoss(net, ws, columns, y, nTrain, n, l2) : trainLoss;
    wait++;
    if (current + es.min_delta < best) {
      best = current;
      bestEpoch = epoch;
      bestW = net.w.map((k) => k.slice());
      bestB = net.b.map((v) => v.slice());
      wait = 0;
      continue;
    }
    if (wait >= es.patience && epoch > 1) break;
  }
  if (es === null || bestEpoch === 0) bestEpoch = epoch;
  else if (bestEpoch !== epoch) {
    net.w = bestW;
    net.b = bestB;
  }
  return netToModel(net, epoch, bestEpoch, params.activation);
}

/**
 * The training rows, row-major (row i's features at i·d …): a shuffled batch then reads each
 * row from ⌈8·d / 64⌉ + 1 adjacent cache lines at most instead of from d arrays far apart.
 * Refuses non-finite values.
 */
function rowMajor(columns: readonly Float64Array[], n: number): Float64Array {
  const d = columns.length;
  const out = new Float64Array(n * d);
  columns.forEach((c, k) => {
    checkFinite(c, k, 0, n);
    for (let i = 0; i < n; i++) out[i * d + k] = c[i] as number;
  });
  return out;
}

function checkFinite(c: Float64Array, k: number, from: number, to: number): void {
  for (let i = from; i < to; i++) {
    const v = c[i] as number;
    if (!Number.isFinite(v)) {
      throw new DataError(
        `nn training: feature column ${k} has ${v} at row ${i}; drop rows with NaN or infinite features first`,
      );
    }
  }
}

/** Sink for gatherRows' touch loads, so that they cannot be optimised away. */
const touched = new Float64Array(1);

function gatherRows(
  rows: Float64Array,
  d: number,
  perm: Int32Array,
  from: number,
  len: number,
  x: Float64Array,
  y: Float64Array,
  ych: Float64Array,
): void {
  // A first sweep only touches each cache line of each row (every 8th value and the last): its
  // iterations are short and independent, so the processor keeps many cache and TLB misses in
  // flight at once; the copy below then finds the rows in cache. On 420k shuffled rows of 20
  // features this halves the time of the gather, which otherwise waits on one row at a time.
  let t = 0;
  const last = d - 1;
  for (let r = 0; r < len; r++) {
    const o = (perm[from + r] as number) * d;
    for (let k = 0; k < last; k += 8) t += rows[o + k] as number;
    t += rows[o + last] as number;
  }
  touched[0] = t;
  for (let r = 0; r < len; r++) {
    const i = perm[from + r] as number;
    const o = i * d;
    for (let k = 0; k < d; k++) x[k * STRIDE + r] = rows[o + k] as number;
    ych[r] = y[i] as number;
  }
}

interface Grads {
  w: Float64Array[];
  b: Float64Array[];
}

/**
 * Forward and backward over one chunk of a batch; adds the chunk's share of the batch's mean
 * loss gradient (scale = 1 / batch length) to grads and returns the chunk's summed BCE.
 */
function trainChunk(
  net: Net,
  ws: Workspace,
  grads: Grads,
  ych: Float64Array,
  len: number,
  scale: number,
): number {
  const { sizes, w, act } = net;
  const L = sizes.length - 1;
  const z = forwardChunk(net, ws, len);
  const dOut = ws.d[L] as Float64Array;
  let loss = 0;
  for (let r = 0; r < len; r++) {
    const zr = z[r] as number;
    const yr = ych[r] as number;
    // log(1 + e^−|z|) + max(z, 0) − y·z is −[y·log σ(z) + (1 − y)·log(1 − σ(z))] without overflow
    const e = fastExp(-Math.abs(zr));
    const p = zr >= 0 ? 1 / (1 + e) : e / (1 + e);
    loss += Math.log1p(e) + Math.max(zr, 0) - yr * zr;
    dOut[r] = (p - yr) * scale;
  }
  for (let l = L; l >= 1; l--) {
    const nIn = sizes[l - 1] as number;
    const nOut = sizes[l] as number;
    const dl = ws.d[l] as Float64Array;
    denseGradient(
      ws.a[l - 1] as Float64Array,
      nIn,
      dl,
      nOut,
      grads.w[l - 1] as Float64Array,
      grads.b[l - 1] as Float64Array,
      len,
    );
    if (l > 1) {
      denseBackward(
        dl,
        nOut,
        w[l - 1] as Float64Array,
        ws.a[l - 1] as Float64Array,
        nIn,
        ws.d[l - 1] as Float64Array,
        len,
        act,
      );
    }
  }
  return loss;
}

/**
 * Mean BCE (+ l2·Σw²) over all the rows and its gradient (as one batch), by the training
 * loop's own kernels: what the tests check against finite differences.
 */
export function lossGradient(
  net: Net,
  columns: readonly Float64Array[],
  y: Float64Array,
  l2: number,
): { loss: number; w: Float64Array[]; b: Float64Array[] } {
  const n = y.length;
  const ws = workspace(net.sizes);
  const grads = {
    w: net.w.map((k) => new Float64Array(k.length)),
    b: net.b.map((v) => new Float64Array(v.length)),
  };
  const ych = new Float64Array(CHUNK);
  let loss = 0;
  for (let i0 = 0; i0 < n; i0 += CHUNK) {
    const len = Math.min(CHUNK, n - i0);
    gatherColumns(columns, i0, len, ws.a[0] as Float64Array);
    ych.set(y.subarray(i0, i0 + len));
    loss += trainChunk(net, ws, grads, ych, len, 1 / n);
  }
  const penalty = l2 > 0 ? addPenaltyGradient(net, grads.w, l2) : 0;
  return { loss: loss / n + penalty, ...grads };
}

/** Adds ∇(l2·Σw²) = 2·l2·w to the kernel gradients and returns the penalty l2·Σw². */
function addPenaltyGradient(net: Net, gw: Float64Array[], l2: number): number {
  let sum = 0;
  net.w.forEach((k, l) => {
    const g = gw[l] as Float64Array;
    for (let i = 0; i < k.length; i++) {
      const v = k[i] as number;
      sum += v * v;
      g[i] = (g[i] as number) + 2 * l2 * v;
    }
  });
  return l2 * sum;
}

interface AdamState {
  mw: Float64Array[];
  vw: Float64Array[];
  mb: Float64Array[];
  vb: Float64Array[];
}

/**
 * Keras's Adam: m += (g − m)(1 − β₁), v += (g² − v)(1 − β₂), θ −= α·m / (√v + ε) with
 * α = lr·√(1 − β₂ᵗ) / (1 − β₁ᵗ) (ε is added to the uncorrected √v, as Keras does).
 */
function adamStep(net: Net, grads: Grads, s: AdamState, lr: number, t: number): void {
  const alpha = (lr * Math.sqrt(1 - BETA2 ** t)) / (1 - BETA1 ** t);
  const update = (theta: Float64Array, g: Float64Array, m: Float64Array, v: Float64Array): void => {
    for (let i = 0; i < theta.length; i++) {
      const gi = g[i] as number;
      const mi = (m[i] as number) + (gi - (m[i] as number)) * (1 - BETA1);
      const vi = (v[i] as number) + (gi * gi - (v[i] as number)) * (1 - BETA2);
      m[i] = mi;
      v[i] = vi;
      theta[i] = (theta[i] as number) - (mi * alpha) / (Math.sqrt(vi) + EPSILON);
    }
  };
  for (let l = 0; l < net.w.length; l++) {
    update(
      net.w[l] as Float64Array,
      grads.w[l] as Float64Array,
      s.mw[l] as Float64Array,
      s.vw[l] as Float64Array,
    );
    update(
      net.b[l] as Float64Array,
      grads.b[l] as Float64Array,
      s.mb[l] as Float64Array,
      s.vb[l] as Float64Array,
    );
  }
}

/** Mean BCE over rows [from, to) plus the l2 penalty (Keras's val_loss includes it too). */
function validationLoss(
  net: Net,
  ws: Workspace,
  columns: readonly Float64Array[],
  y: Float64Array,
  from: number,
  to: number,
  l2: number,
): number {
  const x = ws.a[0] as Float64Array;
  let loss = 0;
  for (let i0 = from; i0 < to; i0 += CHUNK) {
    const len = Math.min(CHUNK, to - i0);
    gatherColumns(columns, i0, len, x);
    const z = forwardChunk(net, ws, len);
    let s = 0;
    for (let r = 0; r < len; r++) {
      const zr = z[r] as number;
      s += Math.log1p(fastExp(-Math.abs(zr))) + Math.max(zr, 0) - (y[i0 + r] as number) * zr;
    }
    loss += s;
  }
  let penalty = 0;
  if (l2 > 0) {
    for (const k of net.w) for (let i = 0; i < k.length; i++) penalty += (k[i] as number) ** 2;
  }
  return loss / (to - from) + l2 * penalty;
}
