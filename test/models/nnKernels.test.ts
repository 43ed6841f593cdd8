import { describe, expect, it } from "vitest";
import { ConfigError } from "../../src/core/errors.js";
import { fastExp, sigmoidInPlace } from "../../src/models/nn/exp.js";
import { activationCode, RELU, SIGMOID, TANH } from "../../src/models/nn/kernels.js";
import { forwardChunk, glorotNet, modelToNet, netToModel, workspace } from "../../src/models/nn/network.js";
import { nnParams } from "../../src/models/nn/params.js";
import { NnRng } from "../../src/models/nn/rng.js";
import { lossGradient, trainNn } from "../../src/models/nn/train.js";

/** Distance in units in the last place between two doubles of the same sign. */
function ulps(a: number, b: number): number {
  const buf = new Float64Array([a, b]);
  const bits = new BigInt64Array(buf.buffer);
  return Math.abs(Number((bits[0] as bigint) - (bits[1] as bigint)));
}

function randomData(rng: NnRng, d: number, n: number): { cols: Float64Array[]; y: Float64Array } {
  const cols = Array.from({ length: d }, () => Float64Array.from({ length: n }, () => rng.next() * 4 - 2));
  const y = Float64Array.from({ length: n }, () => (rng.next() < 0.4 ? 1 : 0));
  return { cols, y };
}

describe("fastExp", () => {
  it("is within 2 ulp of Math.exp over the range a sigmoid sees, and exact at the edges", () => {
    const rng = new NnRng(1);
    let worst = 0;
    for (let i = 0; i < 200_000; i++) {
      const x = (rng.next() - 0.5) * 1400; // [−700, 700]
      worst = Math.max(worst, ulps(fastExp(x), Math.exp(x)));
    }
    for (let i = 0; i < 200_000; i++) {
      const x = (rng.next() - 0.5) * 20;
      worst = Math.max(worst, ulps(fastExp(x), Math.exp(x)));
    }
    expect(worst).toBeLessThanOrEqual(2);
    expect(fastExp(0)).toBe(1);
    expect(fastExp(1)).toBeCloseTo(Math.E, 15);
    expect(fastExp(710)).toBe(Number.POSITIVE_INFINITY);
    expect(fastExp(Number.POSITIVE_INFINITY)).toBe(Number.POSITIVE_INFINITY);
    expect(fastExp(-720)).toBe(Math.exp(-720)); // subnormal: delegated
    expect(fastExp(-1e6)).toBe(0);
    expect(fastExp(Number.NaN)).toBeNaN();
  });

  it("sigmoidInPlace agrees with 1 / (1 + Math.exp(−x)) to a few ulp and saturates cleanly", () => {
    const rng = new NnRng(2);
    const n = 100_000;
    const a = Float64Array.from({ length: n }, () => (rng.next() - 0.5) * 80);
    const expected = a.map((x) => 1 / (1 + Math.exp(-x)));
    sigmoidInPlace(a, 0, n);
    let worst = 0;
    for (let i = 0; i < n; i++) worst = Math.max(worst, ulps(a[i] as number, expected[i] as number));
    expect(worst).toBeLessThanOrEqual(4);
    const edges = Float64Array.from([0, 800, -800, Number.NaN, 5]);
    sigmoidInPlace(edges, 0, 4); // the last value is outside the range and stays
    expect(Array.from(edges.subarray(0, 2))).toEqual([0.5, 1]);
    expect(ulps(edges[2] as number, 1 / (1 + Math.exp(708)))).toBeLessThanOrEqual(2); // clamped, not 0
    expect(edges[3]).toBeNaN();
    expect(edges[4]).toBe(5);
  });
});

describe("NnRng", () => {
  it("gives the same stream for the same seed and different streams for different seeds", () => {
    const a = new NnRng(42);
    const b = new NnRng(42);
    const c = new NnRng(43);
    const d = new NnRng(42 + 2 ** 32); // the high half of the seed counts too
    const sa = Array.from({ length: 8 }, () => a.nextU32());
    expect(Array.from({ length: 8 }, () => b.nextU32())).toEqual(sa);
    expect(Array.from({ length: 8 }, () => c.nextU32())).not.toEqual(sa);
    expect(Array.from({ length: 8 }, () => d.nextU32())).not.toEqual(sa);
  });

  it("draws uniformly: mean ½, and a shuffle is a permutation", () => {
    const r = new NnRng(7);
    let sum = 0;
    let outside = 0;
    for (let i = 0; i < 100_000; i++) {
      const u = r.next();
      if (!(u >= 0 && u < 1)) outside++;
      sum += u;
    }
    expect(outside).toBe(0);
    expect(Math.abs(sum / 100_000 - 0.5)).toBeLessThan(0.005);
    const p = Int32Array.from({ length: 1000 }, (_, i) => i);
    r.shuffle(p);
    expect(Array.from(p).sort((x, y) => x - y)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(Array.from(p.subarray(0, 10))).not.toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});

describe("activationCode", () => {
  it("maps the three activations and refuses another name with a ConfigError that lists them", () => {
    expect([activationCode("sigmoid"), activationCode("tanh"), activationCode("relu")]).toEqual([
      SIGMOID,
      TANH,
      RELU,
    ]);
    expect(() => activationCode("gelu")).toThrow(ConfigError);
    expect(() => activationCode("gelu")).toThrow(
      'nn: "activation" must be one of relu, sigmoid, tanh, got "gelu"',
    );
  });
});

describe("nn kernels", () => {
  // Shapes that exercise every block and remainder path of the 4×4 and 2×4 kernels, more rows
  // than one chunk (and a partial last chunk), every activation, and the l2 term.
  const shapes = [
    [7, 5, 3, 1],
    [9, 8, 1],
    [3, 1],
    [5, 4, 6, 1],
    [4, 13, 1],
  ];
  for (const [code, name] of [
    [SIGMOID, "sigmoid"],
    [TANH, "tanh"],
    [RELU, "relu"],
  ] as const) {
    it(`back-propagation matches finite differences (${name})`, () => {
      for (const sizes of shapes) {
        const rng = new NnRng(5);
        const net = glorotNet(sizes, code, rng);
        for (const b of net.b) for (let i = 0; i < b.length; i++) b[i] = rng.next() - 0.5;
        const { cols, y } = randomData(rng, sizes[0] as number, 300);
        const l2 = 0.01;
        const g = lossGradient(net, cols, y, l2);
        const h = 1e-6;
        for (const [kind, arrays] of [
          ["w", net.w],
          ["b", net.b],
        ] as const) {
          arrays.forEach((a, l) => {
            for (let i = 0; i < a.length; i++) {
              const v = a[i] as number;
              a[i] = v + h;
              const lp = lossGradient(net, cols, y, l2).loss;
              a[i] = v - h;
              const lm = lossGradient(net, cols, y, l2).loss;
              a[i] = v;
              const numeric = (lp - lm) / (2 * h);
              const analytic = (g[kind][l] as Float64Array)[i] as number;
              expect(
                Math.abs(numeric - analytic),
                `${sizes.join("-")} ${kind}[${l}][${i}]: ${analytic} vs ${numeric}`,
              ).toBeLessThan(1e-6 + 1e-5 * Math.abs(numeric));
            }
          });
        }
      }
    });
  }

  it("computes the forward pass of a hand-written network", () => {
    // 2 inputs → 2 tanh units → 1 output, kernels in Keras's (inputs × units) layout
    const net = modelToNet({
      kind: "nn",
      layers: [2],
      activation: "tanh",
      weights: [
        [0.5, -1, 2, 0.25],
        [1.5, -0.5],
      ],
      biases: [[0.1, -0.2], [0.3]],
      epochs: 1,
      bestEpoch: 1,
    });
    const ws = workspace(net.sizes);
    const x = ws.a[0] as Float64Array;
    const rows = [
      [1, 2],
      [-0.5, 0.75],
      [0, 0],
    ];
    const stride = x.length / 2;
    rows.forEach(([a, b], r) => {
      x[r] = a as number;
      x[stride + r] = b as number;
    });
    const z = forwardChunk(net, ws, rows.length);
    rows.forEach(([a, b], r) => {
      const h0 = Math.tanh(0.1 + 0.5 * (a as number) + 2 * (b as number));
      const h1 = Math.tanh(-0.2 - 1 * (a as number) + 0.25 * (b as number));
      expect(z[r]).toBeCloseTo(0.3 + 1.5 * h0 - 0.5 * h1, 14);
    });
    expect(netToModel(net, 1, 1, "tanh").weights).toEqual([
      [0.5, -1, 2, 0.25],
      [1.5, -0.5],
    ]);
  });

  it("takes Keras's first Adam step: θ −= lr·√(1−β₂)/(1−β₁)·m / (√v + ε)", () => {
    const rng = new NnRng(11);
    const { cols, y } = randomData(rng, 3, 200);
    const params = nnParams({ layers: [4], learning_rate: 0.01, n_epochs: 1, bs: 200, es: null, seed: 9 });
    const trained = trainNn(cols, y, params);
    // The same initial network: the trainer draws it first from the seed's stream.
    const start = glorotNet([3, 4, 1], SIGMOID, new NnRng(9));
    const g = lossGradient(start, cols, y, 0); // one batch of all rows: order does not matter…
    const alpha = (0.01 * Math.sqrt(1 - 0.999)) / (1 - 0.9);
    start.w.forEach((k, l) => {
      for (let i = 0; i < k.length; i++) {
        const gi = (g.w[l] as Float64Array)[i] as number;
        const m = gi * (1 - 0.9);
        const v = gi * gi * (1 - 0.999);
        const expected = (k[i] as number) - (m * alpha) / (Math.sqrt(v) + 1e-7);
        // …up to the summation order of the shuffled rows
        expect((trained.weights[l] as number[])[i]).toBeCloseTo(expected, 12);
      }
    });
    const gb = (g.b[1] as Float64Array)[0] as number;
    const expectedB = -((gb * 0.1 * alpha) / (Math.sqrt(gb * gb * 0.001) + 1e-7));
    expect((trained.biases[1] as number[])[0]).toBeCloseTo(expectedB, 12);
  });
});
