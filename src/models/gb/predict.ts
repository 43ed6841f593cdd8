import { DataError } from "../../core/errors.js";
import {
  type CompiledForest,
  compileForest,
  logistic,
  type ScoreOptions,
  startScoreThreads,
} from "./forestWasm.js";
import { checkGbModel, type GbModel } from "./model.js";

/**
 * All trees of a model in flat typed arrays. Each node's test is rewritten so that one
 * comparison also routes missing values: a node sending NaN left keeps `x > t → right`
 * (NaN > t is false), a node sending NaN right tests `-x > -nextUp(t)`, i.e. `x <= t`, with its
 * children swapped (NaN again compares false and takes the "false" child, now the right one).
 * Child index 2·node + (comparison), >= 0 an internal node, < 0 ~leaf.
 */
export interface FlatForest {
  feat: Int32Array;
  sign: Float64Array;
  thr: Float64Array;
  child: Int32Array;
  leaf: Float64Array;
  /** Per tree: root node, or ~leaf for a one-leaf tree. */
  root: Int32Array;
}

const flatCache = new WeakMap<GbModel, { trees: number; flat: FlatForest }>();

const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);

/** The smallest double greater than x (x finite). */
export function nextUp(x: number): number {
  if (x === 0) return Number.MIN_VALUE;
  f64[0] = x;
  u64[0] = x > 0 ? (u64[0] as bigint) + 1n : (u64[0] as bigint) - 1n;
  return f64[0] as number;
}

export function flatten(model: GbModel): FlatForest {
  const cached = flatCache.get(model);
  if (cached && cached.trees === model.trees.length) return cached.flat;
  let nodes = 0;
  let leaves = 0;
  for (const t of model.trees) {
    nodes += t.feature.length;
    leaves += t.leafValue.length;
  }
  const flat: FlatForest = {
    feat: new Int32Array(nodes),
    sign: new Float64Array(nodes),
    thr: new Float64Array(nodes),
    child: new Int32Array(2 * nodes),
    leaf: new Float64Array(leaves),
    root: new Int32Array(model.trees.length),
  };
  let n0 = 0;
  let l0 = 0;
  model.trees.forEach((t, ti) => {
    const k = t.feature.length;
    const map = (c: number): number => (c >= 0 ? n0 + c : ~(l0 + ~c));
    for (let i = 0; i < k; i++) {
      const j = n0 + i;
      flat.feat[j] = t.feature[i] as number;
      const th = t.threshold[i] as number;
      const left = map(t.left[i] as number);
      const right = map(t.right[i] as number);
      if (t.defaultLeft[i]) {
        flat.sign[j] = 1;
        flat.thr[j] = th;
        flat.child[2 * j] = left;
        flat.child[2 * j + 1] = right;
      } else {
        flat.sign[j] = -1;
        flat.thr[j] = -nextUp(th);
        flat.child[2 * j] = right;
        flat.child[2 * j + 1] = left;
      }
    }
    for (let i = 0; i < t.leafValue.length; i++) flat.leaf[l0 + i] = t.leafValue[i] as number;
    flat.root[ti] = k > 0 ? n0 : ~l0;
    n0 += k;
    l0 += t.leafValue.length;
  });
  flatCache.set(model, { trees: model.trees.length, flat });
  return flat;
}

/** Rows per block: a block's values (block × features doubles) stay in L1/L2 while all trees run over it. */
const BLOCK = 128;

/**
 * Raw scores (baseScore + sum of leaf values) of rows [r0, r1) into out[r0..r1). Rows are copied
 * a block at a time into a row-major buffer, then every tree runs over the block.
 */
export function rawScores(
  flat: FlatForest,
  base: number,
  columns: readonly Float64Array[],
  r0: number,
  r1: number,
  out: Float64Array,
): void {
  const d = columns.length;
  const buf = new Float64Array(BLOCK * Math.max(1, d));
  const { feat, sign, thr, child, leaf, root } = flat;
  const trees = root.length;
  for (let b0 = r0; b0 < r1; b0 += BLOCK) {
    const b1 = Math.min(r1, b0 + BLOCK);
    const m = b1 - b0;
    for (let f = 0; f < d; f++) {
      const col = columns[f] as Float64Array;
      for (let i = 0; i < m; i++) buf[i * d + f] = col[b0 + i] as number;
    }
    for (let i = 0; i < m; i++) out[b0 + i] = base;
    for (let t = 0; t < trees; t++) {
      const rt = root[t] as number;
      if (rt < 0) {
        const v = leaf[~rt] as number;
        for (let i = 0; i < m; i++) out[b0 + i] = (out[b0 + i] as number) + v;
        continue;
      }
      for (let i = 0; i < m; i++) {
        const rb = i * d;
        let node = rt;
        do {
          const x = (buf[rb + (feat[node] as number)] as number) * (sign[node] as number);
          node = child[2 * node + (x > (thr[node] as number) ? 1 : 0)] as number;
        } while (node >= 0);
        out[b0 + i] = (out[b0 + i] as number) + (leaf[~node] as number);
      }
    }
  }
}

/** Below this many row × tree evaluations the flat traversal beats compiling the forest. */
const COMPILE_MIN_WORK = 2_000_000;

const compiledCache = new WeakMap<GbModel, { trees: number; forest: CompiledForest | undefined }>();

/** The model compiled to WebAssembly (cached per model), or undefined where wasm is unavailable. */
function compiled(model: GbModel): CompiledForest | undefined {
  const c = compiledCache.get(model);
  if (c && c.trees === model.trees.length) return c.forest;
  let forest: CompiledForest | undefined;
  try {
    forest = compileForest(model);
  } catch {
    forest = undefined; // e.g. node --jitless: no WebAssembly; the flat traversal still works
  }
  compiledCache.set(model, { trees: model.trees.length, forest });
  return forest;
}

const checked = new WeakMap<GbModel, number>();

/**
 * Probability (binary) or value (regression) for every row; output length = input length.
 * `options.float32` rounds every input to float32 first (as XGBoost's DMatrix stores features),
 * without a rounded copy of the columns; `options.threads` shares the rows among that many
 * threads (the result is the same for any count).
 */
export function predictGb(
  model: GbModel,
  columns: readonly Float64Array[],
  options: Omit<ScoreOptions, "link"> = {},
): Float64Array {
  // Code is generated from the model's numbers: check them once per model object.
  if (checked.get(model) !== model.trees.length) {
    checkGbModel(model);
    checked.set(model, model.trees.length);
  }
  if (columns.length !== model.featureCount) {
    throw new DataError(`gb model expects ${model.featureCount} feature columns, got ${columns.length}`);
  }
  const n = columns.length > 0 ? (columns[0] as Float64Array).length : 0;
  for (let f = 0; f < columns.length; f++) {
    if ((columns[f] as Float64Array).length !== n) {
      throw new DataError(
        `gb predict: column ${f} has ${(columns[f] as Float64Array).length} rows, column 0 has ${n}`,
      );
    }
  }
  const out = new Float64Array(n);
  const large = n * model.trees.length >= COMPILE_MIN_WORK;
  // The worker threads boot while this thread writes and compiles the forest.
  if (large) startScoreThreads(options.threads ?? 1);
  const forest = large ? compiled(model) : undefined;
  const binary = model.objective === "binary";
  if (forest) {
    out.fill(model.baseScore);
    forest.addScores(columns, out, 0, n, { ...options, link: binary ? "logistic" : "identity" });
    return out;
  }
  const x = options.float32 ? columns.map((c) => Float64Array.from(Float32Array.from(c))) : columns;
  rawScores(flatten(model), model.baseScore, x, 0, n, out);
  if (binary) for (let i = 0; i < n; i++) out[i] = logistic(out[i] as number);
  return out;
}
