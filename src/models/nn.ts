import { DataError } from "../core/errors.js";
import { modelToNet, type Net, type NnModel, predictNet } from "./nn/network.js";

/**
 * `nn`: the original's Keras classifier, a multilayer perceptron: dense hidden layers (the
 * original: sigmoid), one sigmoid output unit, binary cross-entropy, Adam, mini-batches, early
 * stopping. Own implementation over Float64Array, seeded and deterministic; see nn/train.ts for
 * the training semantics, nn/params.ts for the config keys and nn/kernels.ts for the loops.
 */

export type { NnModel } from "./nn/network.js";
export { type NnParams, nnParams } from "./nn/params.js";
export { trainNn } from "./nn/train.js";

/**
 * Probability of class 1 for every row of column-major features. A row with a NaN feature
 * gets NaN, so the output always has one value per input row.
 */
const nets = new WeakMap<NnModel, Net>();

export function predictNn(model: NnModel, columns: readonly Float64Array[]): Float64Array {
  // checked and converted once per model object (the live engine predicts one row at a time)
  let net = nets.get(model);
  if (net === undefined) {
    net = modelToNet(model);
    nets.set(model, net);
  }
  const d = net.sizes[0] as number;
  if (columns.length !== d) {
    throw new DataError(`nn predict: the model has ${d} features, got ${columns.length} columns`);
  }
  const n = columns[0]?.length ?? 0;
  columns.forEach((c, j) => {
    if (c.length !== n)
      throw new DataError(`nn predict: feature column ${j} has ${c.length} rows, expected ${n}`);
  });
  return predictNet(net, columns, n);
}
