import { ConfigError } from "../../core/errors.js";
import { fastExp, sigmoidInPlace } from "./exp.js";

/**
 * The dense-layer kernels of nn, over chunks of up to CHUNK rows stored unit-major: value of
 * unit u at row r is at a[u·STRIDE + r]. A chunk's activations for 20 units take 40 KB, so a
 * layer's inputs, outputs and deltas stay in L1/L2 while the kernels sweep them, and every
 * inner loop runs over rows, contiguous and long. Kernels are Keras's layout: kernel[k·out + j]
 * joins input k to unit j. Each sweep folds four inputs or four units, so one load or store of
 * a row value serves four multiply-adds and the four products are independent add chains.
 *
 * The summation order is fixed by the code, so the same data and weights give the same bits.
 */

/** Rows per chunk. */
export const CHUNK = 256;
/**
 * Distance between two units' rows in a chunk buffer: CHUNK plus one cache line, so that the
 * same row of consecutive units falls in different L1 sets (at a power-of-two distance, the
 * 20 units of a row compete for 2 of the 64 sets and gathering a chunk ran 2× slower).
 */
export const STRIDE = CHUNK + 8;

export const SIGMOID = 0;
export const TANH = 1;
export const RELU = 2;
export type ActivationCode = typeof SIGMOID | typeof TANH | typeof RELU;

/** The kernels' code of an activation; another name is a ConfigError (a stored model's is a DataError, see modelToNet). */
export function activationCode(name: string): ActivationCode {
  if (name === "sigmoid") return SIGMOID;
  if (name === "tanh") return TANH;
  if (name === "relu") return RELU;
  throw new ConfigError(`nn: "activation" must be one of relu, sigmoid, tanh, got ${JSON.stringify(name)}`);
}

/**
 * out[u][r] = bias[u] (0 without) + Σᵢ w[u·su + i·si]·inp[i][r], for u < nOut, i < nIn, r < len.
 * A dense layer's forward pass is (su, si) = (1, units) over its kernel; its backward pass to
 * the inputs is the same product with the kernel transposed, (su, si) = (units, 1). Blocks of
 * 4 outputs × 4 inputs: per row, 4 loads of inputs and 4 load/stores of outputs serve 16
 * products (V8 emits no SIMD, so this reuse is what makes the loop fast: 3–4× over 1 × 4).
 */
export function mix(
  inp: Float64Array,
  nIn: number,
  w: Float64Array,
  su: number,
  si: number,
  bias: Float64Array | null,
  out: Float64Array,
  nOut: number,
  len: number,
): void {
  const C = STRIDE;
  let u = 0;
  for (; u + 3 < nOut; u += 4) {
    const o0 = u * C;
    const o1 = o0 + C;
    const o2 = o1 + C;
    const o3 = o2 + C;
    const b0 = bias ? (bias[u] as number) : 0;
    const b1 = bias ? (bias[u + 1] as number) : 0;
    const b2 = bias ? (bias[u + 2] as number) : 0;
    const b3 = bias ? (bias[u + 3] as number) : 0;
    for (let r = 0; r < len; r++) {
      out[o0 + r] = b0;
      out[o1 + r] = b1;
      out[o2 + r] = b2;
      out[o3 + r] = b3;
    }
    let i = 0;
    for (; i + 3 < nIn; i += 4) {
      const p0 = u * su + i * si;
      const p1 = p0 + su;
      const p2 = p1 + su;
      const p3 = p2 + su;
      const w00 = w[p0] as number;
      const w01 = w[p0 + si] as number;
      const w02 = w[p0 + 2 * si] as number;
      const w03 = w[p0 + 3 * si] as number;
      const w10 = w[p1] as number;
      const w11 = w[p1 + si] as number;
      const w12 = w[p1 + 2 * si] as number;
      const w13 = w[p1 + 3 * si] as number;
      const w20 = w[p2] as number;
      const w21 = w[p2 + si] as number;
      const w22 = w[p2 + 2 * si] as number;
      const w23 = w[p2 + 3 * si] as number;
      const w30 = w[p3] as number;
      const w31 = w[p3 + si] as number;
      const w32 = w[p3 + 2 * si] as number;
      const w33 = w[p3 + 3 * si] as number;
      const x0 = i * C;
      const x1 = x0 + C;
      const x2 = x1 + C;
      const x3 = x2 + C;
      for (let r = 0; r < len; r++) {
        const v0 = inp[x0 + r] as number;
        const v1 = inp[x1 + r] as number;
        const v2 = inp[x2 + r] as number;
        const v3 = inp[x3 + r] as number;
        out[o0 + r] = (out[o0 + r] as number) + (w00 * v0 + w01 * v1 + (w02 * v2 + w03 * v3));
        out[o1 + r] = (out[o1 + r] as number) + (w10 * v0 + w11 * v1 + (w12 * v2 + w13 * v3));
        out[o2 + r] = (out[o2 + r] as number) + (w20 * v0 + w21 * v1 + (w22 * v2 + w23 * v3));
        out[o3 + r] = (out[o3 + r] as number) + (w30 * v0 + w31 * v1 + (w32 * v2 + w33 * v3));
      }
    }
    for (; i < nIn; i++) {
      const p = u * su + i * si;
      const w0 = w[p] as number;
      const w1 = w[p + su] as number;
      const w2 = w[p + 2 * su] as number;
      const w3 = w[p + 3 * su] as number;
      const x0 = i * C;
      for (let r = 0; r < len; r++) {
        const v = inp[x0 + r] as number;
        out[o0 + r] = (out[o0 + r] as number) + w0 * v;
        out[o1 + r] = (out[o1 + r] as number) + w1 * v;
        out[o2 + r] = (out[o2 + r] as number) + w2 * v;
        out[o3 + r] = (out[o3 + r] as number) + w3 * v;
      }
    }
  }
  for (; u < nOut; u++) {
    const o = u * C;
    const b = bias ? (bias[u] as number) : 0;
    for (let r = 0; r < len; r++) out[o + r] = b;
    let i = 0;
    for (; i + 3 < nIn; i += 4) {
      const p = u * su + i * si;
      const w0 = w[p] as number;
      const w1 = w[p + si] as number;
      const w2 = w[p + 2 * si] as number;
      const w3 = w[p + 3 * si] as number;
      const x0 = i * C;
      const x1 = x0 + C;
      const x2 = x1 + C;
      const x3 = x2 + C;
      for (let r = 0; r < len; r++) {
        out[o + r] =
          (out[o + r] as number) +
          (w0 * (inp[x0 + r] as number) +
            w1 * (inp[x1 + r] as number) +
            (w2 * (inp[x2 + r] as number) + w3 * (inp[x3 + r] as number)));
      }
    }
    for (; i < nIn; i++) {
      const wi = w[u * su + i * si] as number;
      const x0 = i * C;
      for (let r = 0; r < len; r++) out[o + r] = (out[o + r] as number) + wi * (inp[x0 + r] as number);
    }
  }
}

/** a = act(z) in place over the first `units` rows of a chunk. */
export function activate(a: Float64Array, units: number, len: number, act: ActivationCode): void {
  const C = STRIDE;
  for (let j = 0; j < units; j++) {
    const o = j * C;
    if (act === SIGMOID) {
      sigmoidInPlace(a, o, o + len);
    } else if (act === TANH) {
      // tanh x = sign(x)·(1 − e)/(1 + e), e = e^−2|x|: absolute error ~1e-16 (Math.tanh: ~25 ns)
      for (let r = o; r < o + len; r++) {
        const v = a[r] as number;
        const e = fastExp(-2 * Math.abs(v));
        const t = (1 - e) / (1 + e);
        a[r] = v < 0 ? -t : t;
      }
    } else {
      for (let r = o; r < o + len; r++) a[r] = Math.max(a[r] as number, 0);
    }
  }
}

/**
 * Accumulates the gradient of one dense layer from its inputs x (nIn units) and the loss
 * gradient at its pre-activations d (nOut units): gw[k·nOut + j] += Σᵣ x[k][r]·d[j][r],
 * gb[j] += Σᵣ d[j][r]. Blocks of 2 inputs × 4 units: 6 loads per row serve 8 products held in
 * 8 independent sums (the fastest shape measured; 16 sums spill registers).
 */
export function denseGradient(
  x: Float64Array,
  nIn: number,
  d: Float64Array,
  nOut: number,
  gw: Float64Array,
  gb: Float64Array,
  len: number,
): void {
  const C = STRIDE;
  for (let j = 0; j < nOut; j++) {
    const o = j * C;
    let s0 = 0;
    let s1 = 0;
    let r = 0;
    for (; r + 1 < len; r += 2) {
      s0 += d[o + r] as number;
      s1 += d[o + r + 1] as number;
    }
    if (r < len) s0 += d[o + r] as number;
    gb[j] = (gb[j] as number) + (s0 + s1);
  }
  let j = 0;
  for (; j + 3 < nOut; j += 4) {
    const d0 = j * C;
    const d1 = d0 + C;
    const d2 = d1 + C;
    const d3 = d2 + C;
    let k = 0;
    for (; k + 1 < nIn; k += 2) {
      const xa = k * C;
      const xb = xa + C;
      let a0 = 0;
      let a1 = 0;
      let a2 = 0;
      let a3 = 0;
      let b0 = 0;
      let b1 = 0;
      let b2 = 0;
      let b3 = 0;
      for (let r = 0; r < len; r++) {
        const u = x[xa + r] as number;
        const v = x[xb + r] as number;
        const e0 = d[d0 + r] as number;
        const e1 = d[d1 + r] as number;
        const e2 = d[d2 + r] as number;
        const e3 = d[d3 + r] as number;
        a0 += u * e0;
        a1 += u * e1;
        a2 += u * e2;
        a3 += u * e3;
        b0 += v * e0;
        b1 += v * e1;
        b2 += v * e2;
        b3 += v * e3;
      }
      const ga = k * nOut + j;
      const gbb = ga + nOut;
      gw[ga] = (gw[ga] as number) + a0;
      gw[ga + 1] = (gw[ga + 1] as number) + a1;
      gw[ga + 2] = (gw[ga + 2] as number) + a2;
      gw[ga + 3] = (gw[ga + 3] as number) + a3;
      gw[gbb] = (gw[gbb] as number) + b0;
      gw[gbb + 1] = (gw[gbb + 1] as number) + b1;
      gw[gbb + 2] = (gw[gbb + 2] as number) + b2;
      gw[gbb + 3] = (gw[gbb + 3] as number) + b3;
    }
    for (; k < nIn; k++) {
      const xa = k * C;
      let a0 = 0;
      let a1 = 0;
      let a2 = 0;
      let a3 = 0;
      for (let r = 0; r < len; r++) {
        const u = x[xa + r] as number;
        a0 += u * (d[d0 + r] as number);
        a1 += u * (d[d1 + r] as number);
        a2 += u * (d[d2 + r] as number);
        a3 += u * (d[d3 + r] as number);
      }
      const ga = k * nOut + j;
      gw[ga] = (gw[ga] as number) + a0;
      gw[ga + 1] = (gw[ga + 1] as number) + a1;
      gw[ga + 2] = (gw[ga + 2] as number) + a2;
      gw[ga + 3] = (gw[ga + 3] as number) + a3;
    }
  }
  // the remaining units (the output layer's single unit): four inputs per sweep
  for (; j < nOut; j++) {
    const dO = j * C;
    let k = 0;
    for (; k + 3 < nIn; k += 4) {
      const x0 = k * C;
      const x1 = x0 + C;
      const x2 = x1 + C;
      const x3 = x2 + C;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let r = 0; r < len; r++) {
        const v = d[dO + r] as number;
        s0 += v * (x[x0 + r] as number);
        s1 += v * (x[x1 + r] as number);
        s2 += v * (x[x2 + r] as number);
        s3 += v * (x[x3 + r] as number);
      }
      gw[k * nOut + j] = (gw[k * nOut + j] as number) + s0;
      gw[(k + 1) * nOut + j] = (gw[(k + 1) * nOut + j] as number) + s1;
      gw[(k + 2) * nOut + j] = (gw[(k + 2) * nOut + j] as number) + s2;
      gw[(k + 3) * nOut + j] = (gw[(k + 3) * nOut + j] as number) + s3;
    }
    for (; k < nIn; k++) {
      const xo = k * C;
      let s0 = 0;
      let s1 = 0;
      let r = 0;
      for (; r + 1 < len; r += 2) {
        s0 += (d[dO + r] as number) * (x[xo + r] as number);
        s1 += (d[dO + r + 1] as number) * (x[xo + r + 1] as number);
      }
      if (r < len) s0 += (d[dO + r] as number) * (x[xo + r] as number);
      gw[k * nOut + j] = (gw[k * nOut + j] as number) + (s0 + s1);
    }
  }
}

/**
 * Back-propagates through one dense layer and the activation before it: dx[k][r] =
 * act′(a[k][r])·Σⱼ w[k·nOut + j]·d[j][r], with act′ written in terms of the activation's
 * output a (σ: a(1 − a), tanh: 1 − a², relu: 1 where a > 0).
 */
export function denseBackward(
  d: Float64Array,
  nOut: number,
  w: Float64Array,
  a: Float64Array,
  nIn: number,
  dx: Float64Array,
  len: number,
  act: ActivationCode,
): void {
  mix(d, nOut, w, nOut, 1, null, dx, nIn, len);
  const C = STRIDE;
  for (let k = 0; k < nIn; k++) {
    const xo = k * C;
    if (act === SIGMOID) {
      for (let r = xo; r < xo + len; r++) {
        const v = a[r] as number;
        dx[r] = (dx[r] as number) * (v * (1 - v));
      }
    } else if (act === TANH) {
      for (let r = xo; r < xo + len; r++) {
        const v = a[r] as number;
        dx[r] = (dx[r] as number) * (1 - v * v);
      }
    } else {
      for (let r = xo; r < xo + len; r++) if (!((a[r] as number) > 0)) dx[r] = 0;
    }
  }
}
