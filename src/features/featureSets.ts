import { Frame } from "../core/frame.js";
import type { FeatureGenerator, GeneratorConfig, GeneratorStream } from "./generator.js";

/** One entry of `feature_sets` (or `label_sets`) with its generator resolved. */
export interface ResolvedSet {
  /** The name written in the config: `talib`, `itbstats`, `./my.mjs:range`. */
  name: string;
  generator: FeatureGenerator;
  column_prefix: string;
  feature_prefix: string;
  config: GeneratorConfig;
}

export interface SetRun {
  name: string;
  columns: string[];
  seconds: number;
}

/** The set's input columns as the frame names them (`close` → `eth_close` under prefix `eth`). */
export function frameInputs(set: ResolvedSet): string[] {
  const cp = set.column_prefix ? `${set.column_prefix}_` : "";
  return set.generator.inputs(set.config).map((c) => cp + c);
}

/** The set's output columns as they appear in the frame (`feature_prefix` added). */
export function frameOutputs(set: ResolvedSet): string[] {
  const fp = set.feature_prefix ? `${set.feature_prefix}_` : "";
  return set.generator.outputs(set.config).map((c) => fp + c);
}

/**
 * The original's `generate_feature_set`: the generator sees only the columns with
 * `column_prefix` (prefix stripped), its outputs get `feature_prefix`, and generated columns
 * replace same-named ones. Sets run in order, each seeing the previous sets' columns.
 */
export function runSet(frame: Frame, set: ResolvedSet): SetRun {
  const started = performance.now();
  const cp = set.column_prefix ? `${set.column_prefix}_` : "";
  const view = new Frame(frame.time);
  for (const [name, values] of frame.columns()) {
    if (!cp) view.set(name, values);
    else if (name.startsWith(cp)) view.set(name.slice(cp.length), values);
  }
  const outs = set.generator.batch(view, set.config);
  const names = frameOutputs(set);
  names.forEach((n, j) => {
    frame.delete(n);
    frame.set(n, outs[j] as Float64Array);
  });
  return { name: set.name, columns: names, seconds: (performance.now() - started) / 1000 };
}

export function runSets(frame: Frame, sets: readonly ResolvedSet[]): SetRun[] {
  return sets.map((s) => runSet(frame, s));
}

/**
 * Streams a table through the sets one bar at a time, as the live engine does, and returns the
 * produced columns. A set reads the frame's columns and the columns produced by the sets before
 * it, exactly as in batch. Sets without a streaming form throw.
 */
export function streamSets(frame: Frame, sets: readonly ResolvedSet[]): Frame {
  const out = new Frame(frame.time);
  const n = frame.length;
  const plans = sets.map((set) => {
    if (!set.generator.stream) throw new Error(`generator ${set.name} has no streaming form`);
    const outputs = frameOutputs(set);
    for (const o of outputs) out.set(o, new Float64Array(n).fill(Number.NaN));
    return {
      stream: set.generator.stream(set.config) as GeneratorStream,
      inputs: frameInputs(set),
      outputs,
      inBuf: new Float64Array(frameInputs(set).length),
      outBuf: new Float64Array(outputs.length),
    };
  });
  const source = (name: string) => (out.has(name) ? out.get(name) : frame.get(name));
  const resolved = plans.map((p) => ({
    ...p,
    inCols: p.inputs.map(source),
    outCols: p.outputs.map((o) => out.get(o)),
  }));
  for (let i = 0; i < n; i++) {
    for (const p of resolved) {
      for (let k = 0; k < p.inCols.length; k++) p.inBuf[k] = (p.inCols[k] as Float64Array)[i] as number;
      p.stream.next(p.inBuf, p.outBuf);
      for (let k = 0; k < p.outCols.length; k++) (p.outCols[k] as Float64Array)[i] = p.outBuf[k] as number;
    }
  }
  return out;
}

/** NaN values in a column (warm-up rows and gaps), for the stages' logs. */
export function countNaN(x: Float64Array): number {
  let k = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i] as number;
    // biome-ignore lint/suspicious/noSelfCompare: v !== v is the NaN test, cheaper than a call here.
    if (v !== v) k++;
  }
  return k;
}
