import { DataError } from "../../core/errors.js";
import { type ActivationCode, activate, activationCode, CHUNK, mix, STRIDE } from "./kernels.js";
import type { NnRng } from "./rng.js";

/**
 * A trained nn: dense hidden layers with `activation`, then one sigmoid unit. `weights[l]` is
 * layer l's kernel flattened as Keras's get_weights() gives it (inputs × units, row-major:
 * weights[l][k·units + j] joins input k to unit j), `biases[l]` its biases; the last layer is
 * the output unit. `epochs` is the number of epochs run, `bestEpoch` (1-based) the one whose
 * weights these are. Plain numbers only: JSON.stringify / JSON.parse give back the same model.
 */
export interface NnModel {
  kind: "nn";
  layers: number[];
  activation: string;
  weights: number[][];
  biases: number[][];
  epochs: number;
  bestEpoch: number;
}

/** The network in working form: `sizes` = [features, ...hidden, 1]. */
export interface Net {
  sizes: number[];
  act: ActivationCode;
  w: Float64Array[];
  b: Float64Array[];
}

/** Per-chunk buffers: `a[0]` the inputs, `a[l]` layer l's outputs (the last: the logits). */
export interface Workspace {
  a: Float64Array[];
  d: Float64Array[];
}

/** Keras's glorot_uniform kernels, U(−√(6/(in + out)), +√(6/(in + out))), and zero biases. */
export function glorotNet(sizes: readonly number[], act: ActivationCode, rng: NnRng): Net {
  const w: Float64Array[] = [];
  const b: Float64Array[] = [];
  for (let l = 1; l < sizes.length; l++) {
    const nIn = sizes[l - 1] as number;
    const nOut = sizes[l] as number;
    const limit = Math.sqrt(6 / (nIn + nOut));
    const k = new Float64Array(nIn * nOut);
    for (let i = 0; i < k.length; i++) k[i] = (2 * rng.next() - 1) * limit;
    w.push(k);
    b.push(new Float64Array(nOut));
  }
  return { sizes: [...sizes], act, w, b };
}

export function workspace(sizes: readonly number[]): Workspace {
  return {
    a: sizes.map((s) => new Float64Array(s * STRIDE)),
    d: sizes.map((s, l) => new Float64Array(l === 0 ? 0 : s * STRIDE)),
  };
}

/** Forward pass over the chunk in ws.a[0]; the output logits end in ws.a[last][0..len). */
export function forwardChunk(net: Net, ws: Workspace, len: number): Float64Array {
  const { sizes, w, b, act } = net;
  const L = sizes.length - 1;
  for (let l = 1; l <= L; l++) {
    const out = ws.a[l] as Float64Array;
    const nOut = sizes[l] as number;
    mix(
      ws.a[l - 1] as Float64Array,
      sizes[l - 1] as number,
      w[l - 1] as Float64Array,
      1,
      nOut,
      b[l - 1] as Float64Array,
      out,
      nOut,
      len,
    );
    if (l < L) activate(out, nOut, len, act);
  }
  return ws.a[L] as Float64Array;
}

/** Rows [start, start + len) of column-major data into the chunk x (unit-major). */
export function gatherColumns(
  columns: readonly Float64Array[],
  start: number,
  len: number,
  x: Float64Array,
): void {
  columns.forEach((c, k) => {
    x.set(c.subarray(start, start + len), k * STRIDE);
  });
}

/** σ(z), from e^−|z| so that it neither overflows nor loses the small tail. */
export function sigmoid(z: number): number {
  const e = Math.exp(-Math.abs(z));
  return z >= 0 ? 1 / (1 + e) : e / (1 + e);
}

export function netToModel(net: Net, epochs: number, bestEpoch: number, activation: string): NnModel {
  return {
    kind: "nn",
    layers: net.sizes.slice(1, -1),
    activation,
    weights: net.w.map((k) => Array.from(k)),
    biases: net.b.map((v) => Array.from(v)),
    epochs,
    bestEpoch,
  };
}

/** The working form of a model, checked for consistent shapes (a model may come from a file). */
export function modelToNet(model: NnModel): Net {
  const bad = (why: string): DataError => new DataError(`nn model is malformed: ${why}`);
  if (model.kind !== "nn") throw bad(`kind is ${JSON.stringify(model.kind)}, expected "nn"`);
  let act: ActivationCode;
  try {
    act = activationCode(model.activation);
  } catch {
    throw bad(`activation ${JSON.stringify(model.activation)}`);
  }
  const L = model.layers.length + 1;
  if (model.weights.length !== L || model.biases.length !== L) {
    throw bad(`${model.layers.length} hidden layers need ${L} kernels and bias vectors`);
  }
  const units = [...model.layers, 1];
  const nFeatures = (model.weights[0]?.length ?? 0) / (units[0] as number);
  if (!Number.isInteger(nFeatures) || nFeatures < 1) throw bad("the first kernel's size");
  const sizes = [nFeatures, ...units];
  for (let l = 0; l < L; l++) {
    const nIn = sizes[l] as number;
    const nOut = sizes[l + 1] as number;
    if (
      (model.weights[l] as number[]).length !== nIn * nOut ||
      (model.biases[l] as number[]).length !== nOut
    ) {
      throw bad(`layer ${l + 1} should have ${nIn}×${nOut} weights and ${nOut} biases`);
    }
  }
  return {
    sizes,
    act,
    w: model.weights.map((k) => Float64Array.from(k)),
    b: model.biases.map((v) => Float64Array.from(v)),
  };
}

/** Runs the network over column-major rows: σ(logit) per row, NaN where any feature is NaN. */
export function predictNet(net: Net, columns: readonly Float64Array[], n: number): Float64Array {
  const out = new Float64Array(n);
  const ws = workspace(net.sizes);
  const x = ws.a[0] as Float64Array;
  const d = columns.length;
  for (let i0 = 0; i0 < n; i0 += CHUNK) {
    const len = Math.min(CHUNK, n - i0);
    gatherColumns(columns, i0, len, x);
    const z = forwardChunk(net, ws, len);
    for (let r = 0; r < len; r++) out[i0 + r] = sigmoid(z[r] as number);
    // NaN propagates through every layer already; marking the rows keeps that a guarantee
    for (let k = 0; k < d; k++) {
      const o = k * STRIDE;
      for (let r = 0; r < len; r++) if (Number.isNaN(x[o + r] as number)) out[i0 + r] = Number.NaN;
    }
  }
  return out;
}
