import { DataError } from "../../core/errors.js";

/**
 * One tree as plain arrays (JSON as is). Internal node i splits on `feature[i]`: a row goes left
 * when its value is <= `threshold[i]`, right when greater, and a missing value (NaN) goes left
 * when `defaultLeft[i]` is 1. Children: >= 0 is an internal node, < 0 is leaf ~child (-1 → leaf
 * 0). A tree without internal nodes is the single leaf 0. Leaf values include the learning rate.
 */
export interface GbTree {
  feature: number[];
  threshold: number[];
  defaultLeft: number[];
  left: number[];
  right: number[];
  leafValue: number[];
}

export interface GbModel {
  kind: "gb";
  objective: "binary" | "regression";
  /** Initial raw score (log-odds for binary) every prediction starts from. */
  baseScore: number;
  trees: GbTree[];
  featureCount: number;
  /** Trees kept: the best validation iteration with early stopping, else all trained. */
  bestIteration: number;
}

/** Checks a model read from JSON (shapes, indices, finite numbers); throws DataError naming the fault. */
export function checkGbModel(m: unknown, source = "gb model"): GbModel {
  const fail = (msg: string): never => {
    throw new DataError(`${source}: ${msg}`);
  };
  if (typeof m !== "object" || m === null) return fail("not an object");
  const o = m as Record<string, unknown>;
  if (o.kind !== "gb") fail(`kind is ${JSON.stringify(o.kind)}, expected "gb"`);
  if (o.objective !== "binary" && o.objective !== "regression")
    fail(`unknown objective ${JSON.stringify(o.objective)}`);
  if (typeof o.baseScore !== "number" || !Number.isFinite(o.baseScore))
    fail("baseScore is not a finite number");
  const d = o.featureCount;
  if (typeof d !== "number" || !Number.isInteger(d) || d < 0)
    fail("featureCount is not a non-negative integer");
  if (!Array.isArray(o.trees)) return fail("trees is not an array");
  if (typeof o.bestIteration !== "number" || !Number.isInteger(o.bestIteration))
    fail("bestIteration is not an integer");
  o.trees.forEach((t: unknown, i: number) => {
    checkTree(t, d as number, (msg) => fail(`tree ${i}: ${msg}`));
  });
  return m as GbModel;
}

function checkTree(t: unknown, d: number, fail: (msg: string) => never): void {
  if (typeof t !== "object" || t === null) fail("not an object");
  const o = t as Record<string, unknown>;
  const arr = (k: string): number[] => {
    const a = o[k];
    if (!Array.isArray(a) || !a.every((x) => typeof x === "number" && Number.isFinite(x))) {
      return fail(`${k} is not an array of finite numbers`);
    }
    return a as number[];
  };
  const feature = arr("feature");
  const threshold = arr("threshold");
  const defaultLeft = arr("defaultLeft");
  const left = arr("left");
  const right = arr("right");
  const leafValue = arr("leafValue");
  const k = feature.length;
  if (threshold.length !== k || defaultLeft.length !== k || left.length !== k || right.length !== k) {
    fail("node arrays differ in length");
  }
  if (leafValue.length !== k + 1) fail(`${k} internal nodes need ${k + 1} leaves, found ${leafValue.length}`);
  for (let i = 0; i < k; i++) {
    const f = feature[i] as number;
    if (!Number.isInteger(f) || f < 0 || f >= d) fail(`node ${i} splits on feature ${f} of ${d}`);
    for (const c of [left[i] as number, right[i] as number]) {
      // Children point forward (nodes are numbered in creation order from the root), so there are no cycles.
      const ok = Number.isInteger(c) && (c >= 0 ? c > i && c < k : ~c < k + 1);
      if (!ok) fail(`node ${i} has an invalid child ${c}`);
    }
  }
}
