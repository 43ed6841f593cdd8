import { DataError } from "../core/errors.js";
import { Frame } from "../core/frame.js";
import type { CustomGenerator, GeneratorConfig, GeneratorStream } from "./generator.js";
import { type ColumnArena, openArena, withArena } from "./indicators/arena.js";
import { type PlannedSet, planOffload, startOffload } from "./setThreads.js";
import { talibGenerator } from "./talib.js";

/** One entry of `feature_sets` (or `label_sets`) with its generator resolved. */
export interface ResolvedSet {
  /** The name written in the config: `talib`, `itbstats`, `./my.mjs:range`. */
  name: string;
  /** A built-in FeatureGenerator, or a custom one (whose batch may be asynchronous). */
  generator: CustomGenerator;
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

/** Options of a run of sets. */
export interface RunOptions {
  /**
   * Threads the run may use, the calling one included (default: the machine's cores). With two
   * or more, a worker takes a share of the `talib` sets of a large table (setThreads.ts); 1
   * keeps every set in the calling thread. The outputs are the same either way.
   */
  threads?: number;
  /** A worker even when no core is idle (by default none then: it would slow the run down). */
  evenWhenBusy?: boolean;
  /**
   * The helper thread of a run with more than one thread: "prefault" faults the column arena's
   * pages in ahead of the run, "worker" computes a share of the `talib` sets. By default the
   * prefault thread where the run has an arena (measured faster), else the worker.
   */
  helper?: "prefault" | "worker";
}

/**
 * The original's `generate_feature_set`: the generator sees only the columns with
 * `column_prefix` (prefix stripped), its outputs get `feature_prefix`, and generated columns
 * replace same-named ones. Sets run in order, each seeing the previous sets' columns. A custom
 * generator's `batch` may be asynchronous (it may read something first); it is awaited.
 */
export async function runSet(frame: Frame, set: ResolvedSet, arena?: ColumnArena): Promise<SetRun> {
  const started = performance.now();
  const outs = await batchIn(arena, frame, set);
  return placeOutputs(frame, set, outs, (performance.now() - started) / 1000);
}

/**
 * The set's batch with `arena` as the thread's current arena: the built-in generators, which are
 * synchronous, fill their inputs and write their outputs there (an asynchronous one's work after
 * its first await uses ordinary memory).
 */
function batchIn(
  arena: ColumnArena | undefined,
  frame: Frame,
  set: ResolvedSet,
): ReturnType<ResolvedSet["generator"]["batch"]> {
  return withArena(arena, () => set.generator.batch(setView(frame, set), set.config));
}

/**
 * A run's column arena, when it has `talib` sets (the ones with wasm kernels): room for their
 * outputs and for each of their inputs filled once; and the run's helper thread (`threads` 1:
 * none). By default that is the arena's prefault thread when a core is idle, which measured
 * faster than a worker computing sets: 75 against 99 ms for the bench's features (medians of 8,
 * 2026-12-07; the two vCPUs of the VM slow each other's computing, and the stage is half page
 * faults); without an arena (no WebAssembly, a small table), or with `helper` "worker", a worker
 * computing sets (startSplit).
 */
function startRun(
  frame: Frame,
  sets: readonly ResolvedSet[],
  opts: RunOptions,
): { arena: ColumnArena | undefined; split: Split | undefined } {
  const talib = sets.filter((s) => s.generator === talibGenerator);
  const inputs = new Set(talib.flatMap((s) => frameInputs(s)));
  const outputs = talib.reduce((k, s) => k + frameOutputs(s).length, 0);
  const arena = outputs > 0 ? openArena(frame.length, inputs.size + outputs) : undefined;
  const prefault = arena !== undefined && opts.threads !== 1 && (opts.helper ?? "prefault") === "prefault";
  if (prefault && arena.prefault(opts.evenWhenBusy)) return { arena, split: undefined };
  return { arena, split: startSplit(frame, sets, opts) };
}

export async function runSets(
  frame: Frame,
  sets: readonly ResolvedSet[],
  opts: RunOptions = {},
): Promise<SetRun[]> {
  const { arena, split } = startRun(frame, sets, opts);
  try {
    if (split === undefined) {
      const runs: SetRun[] = [];
      for (const s of sets) runs.push(await runSet(frame, s, arena));
      return runs;
    }
    try {
      for (let i = 0; i < sets.length; i++) {
        if (!split.claim(i)) continue;
        const started = performance.now();
        split.done(i, await batchIn(arena, frame, sets[i] as ResolvedSet), started);
      }
    } catch (err) {
      split.abandon();
      throw err;
    }
    return split.finish(batchSync);
  } finally {
    arena?.close();
  }
}

/** `runSets` for synchronous generators (the built-in ones): a generator that returns a promise is refused. */
export function runSetsSync(frame: Frame, sets: readonly ResolvedSet[], opts: RunOptions = {}): SetRun[] {
  const { arena, split } = startRun(frame, sets, opts);
  try {
    if (split === undefined) {
      return sets.map((set) => {
        const started = performance.now();
        return placeOutputs(frame, set, batchSync(frame, set, arena), (performance.now() - started) / 1000);
      });
    }
    try {
      for (let i = 0; i < sets.length; i++) {
        if (!split.claim(i)) continue;
        const started = performance.now();
        split.done(i, batchSync(frame, sets[i] as ResolvedSet, arena), started);
      }
    } catch (err) {
      split.abandon();
      throw err;
    }
    return split.finish(batchSync);
  } finally {
    arena?.close();
  }
}

function batchSync(frame: Frame, set: ResolvedSet, arena?: ColumnArena): Float64Array[] {
  const outs = batchIn(arena, frame, set);
  if (outs instanceof Promise) {
    throw new DataError(`feature generator ${set.name} is asynchronous; this caller needs a synchronous one`);
  }
  return outs;
}

/** A run split between this thread and a worker (setThreads.ts). */
interface Split {
  /** Claims set i for this thread (sets only this thread computes are always its own): false when the worker has it. */
  claim(i: number): boolean;
  /** The run failed here: the worker is stopped. */
  abandon(): void;
  /** This thread computed set i (its outputs are placed at once: later sets may read them). */
  done(i: number, outs: Float64Array[], started: number): void;
  /**
   * Takes the worker's outputs (or, if it failed, computes its sets here with `compute`) and
   * places every set's outputs in set order, as a run in one thread leaves the frame.
   */
  finish(compute: (frame: Frame, set: ResolvedSet) => Float64Array[]): SetRun[];
}

function startSplit(frame: Frame, sets: readonly ResolvedSet[], opts: RunOptions): Split | undefined {
  if (opts.threads === 1) return undefined;
  const planned: PlannedSet[] = sets.map((s) => ({
    isTalib: s.generator === talibGenerator,
    config: s.config,
    reads: frameInputs(s),
    writes: frameOutputs(s),
    inputNames: s.generator.inputs(s.config),
  }));
  const offload = planOffload(frame.length, planned, opts.threads, opts.evenWhenBusy);
  if (offload === undefined) return undefined;
  /** Set i's index among the shared sets (those either thread may compute), or -1. */
  const sharedIndex: number[] = [];
  let k = 0;
  for (const o of offload) sharedIndex.push(o ? k++ : -1);
  const worker = startOffload(
    frame.length,
    planned.filter((_, i) => offload[i]),
    (c) => frame.get(c),
  );
  const outputs: (Float64Array[] | undefined)[] = sets.map(() => undefined);
  const seconds = sets.map(() => 0);
  const here = sets.map(() => true);
  return {
    claim(i) {
      const s = sharedIndex[i] as number;
      here[i] = s < 0 || worker.claim(s);
      return here[i] as boolean;
    },
    abandon() {
      worker.cancel();
    },
    done(i, outs, started) {
      outputs[i] = outs;
      seconds[i] = (performance.now() - started) / 1000;
      placeOutputs(frame, sets[i] as ResolvedSet, outs, seconds[i] as number);
    },
    finish(compute) {
      const got = worker.wait();
      for (let i = 0; i < sets.length; i++) {
        if (here[i]) continue;
        const theirs = got?.get(sharedIndex[i] as number);
        if (theirs) {
          outputs[i] = theirs.outputs;
          seconds[i] = theirs.seconds;
        } else {
          // The worker failed: compute here (an error is then thrown here, with its class).
          const started = performance.now();
          outputs[i] = compute(frame, sets[i] as ResolvedSet);
          seconds[i] = (performance.now() - started) / 1000;
        }
      }
      return sets.map((set, i) =>
        placeOutputs(frame, set, outputs[i] as Float64Array[], seconds[i] as number),
      );
    },
  };
}

function setView(frame: Frame, set: ResolvedSet): Frame {
  const cp = set.column_prefix ? `${set.column_prefix}_` : "";
  const view = new Frame(frame.time);
  for (const [name, values] of frame.columns()) {
    if (!cp) view.set(name, values);
    else if (name.startsWith(cp)) view.set(name.slice(cp.length), values);
  }
  return view;
}

function placeOutputs(frame: Frame, set: ResolvedSet, outs: Float64Array[], seconds: number): SetRun {
  const names = frameOutputs(set);
  names.forEach((n, j) => {
    frame.delete(n);
    frame.set(n, outs[j] as Float64Array);
  });
  return { name: set.name, columns: names, seconds };
}

/**
 * The feature sets one closed bar at a time, for the live engine: one `update` per bar takes
 * the merged table's row and returns the bar's features, the same numbers the batch stage
 * writes (bit for bit: every generator's stream is its batch kernel's twin). A set reads the
 * row's columns and the columns produced by the sets before it, as in batch, where a produced
 * column replaces a same-named one. No allocation per bar.
 */
export class FeatureStream {
  /** The columns `update` reads, in the order it reads them. */
  readonly inputs: readonly string[];
  /** The columns `update` returns, in order: every set's outputs (a replaced column once, last). */
  readonly outputs: readonly string[];
  private readonly values: Float64Array;
  private readonly inputSlots: Int32Array;
  private readonly outputSlots: Int32Array;
  private readonly out: Float64Array;
  private readonly plans: {
    stream: GeneratorStream;
    inSlots: Int32Array;
    outSlots: Int32Array;
    inBuf: Float64Array;
    outBuf: Float64Array;
  }[];

  /** `columns`: the merged table's columns a row holds (the inputs are those the sets read). */
  constructor(sets: readonly ResolvedSet[], columns: readonly string[]) {
    const slotOf = new Map<string, number>();
    const slot = (name: string) => {
      let s = slotOf.get(name);
      if (s === undefined) {
        s = slotOf.size;
        slotOf.set(name, s);
      }
      return s;
    };
    const inputs: string[] = [];
    const produced: string[] = [];
    this.plans = sets.map((set) => {
      if (!set.generator.stream) throw new DataError(`feature generator ${set.name} has no streaming form`);
      const ins = frameInputs(set);
      for (const c of ins) {
        if (produced.includes(c) || inputs.includes(c)) continue;
        if (!columns.includes(c)) {
          throw new DataError(
            `feature generator ${set.name} reads column "${c}", which the table does not have`,
          );
        }
        inputs.push(c);
      }
      const outs = frameOutputs(set);
      for (const o of outs) {
        const i = produced.indexOf(o);
        if (i >= 0) produced.splice(i, 1);
        produced.push(o);
      }
      return {
        stream: set.generator.stream(set.config),
        inSlots: Int32Array.from(ins, slot),
        outSlots: Int32Array.from(outs, slot),
        inBuf: new Float64Array(ins.length),
        outBuf: new Float64Array(outs.length),
      };
    });
    this.inputs = inputs;
    this.outputs = produced;
    this.inputSlots = Int32Array.from(inputs, slot);
    this.outputSlots = Int32Array.from(produced, slot);
    this.values = new Float64Array(slotOf.size);
    this.out = new Float64Array(produced.length);
  }

  /**
   * One closed bar: `row` holds the `inputs` in order (NaN in a gap). Returns the bar's
   * features in `outputs` order, in a buffer the next call overwrites.
   */
  update(row: ArrayLike<number>): Float64Array {
    const values = this.values;
    const inputSlots = this.inputSlots;
    for (let k = 0; k < inputSlots.length; k++) values[inputSlots[k] as number] = row[k] as number;
    for (const p of this.plans) {
      for (let k = 0; k < p.inSlots.length; k++) p.inBuf[k] = values[p.inSlots[k] as number] as number;
      p.stream.next(p.inBuf, p.outBuf);
      for (let k = 0; k < p.outSlots.length; k++) values[p.outSlots[k] as number] = p.outBuf[k] as number;
    }
    const out = this.out;
    const outputSlots = this.outputSlots;
    for (let k = 0; k < outputSlots.length; k++) out[k] = values[outputSlots[k] as number] as number;
    return out;
  }
}

/**
 * Streams a table through the sets one bar at a time (a `FeatureStream` fed every row), as the
 * live engine does, and returns the produced columns.
 */
export function streamSets(frame: Frame, sets: readonly ResolvedSet[]): Frame {
  const stream = new FeatureStream(sets, frame.columnNames);
  const n = frame.length;
  const out = new Frame(frame.time);
  const outCols = stream.outputs.map((o) => {
    const c = new Float64Array(n);
    out.set(o, c);
    return c;
  });
  const inCols = stream.inputs.map((c) => frame.get(c));
  const row = new Float64Array(inCols.length);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < inCols.length; k++) row[k] = (inCols[k] as Float64Array)[i] as number;
    const f = stream.update(row);
    for (let k = 0; k < outCols.length; k++) (outCols[k] as Float64Array)[i] = f[k] as number;
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
