import { DataError } from "../core/errors.js";
import type { Frame } from "../core/frame.js";
import { compileSignalSets, type SignalSetInput } from "./compile.js";
import type { SignalRole, SignalStep } from "./types.js";

export interface SignalRun {
  index: number;
  generator: string;
  columns: string[];
  seconds: number;
}

export function isCompiled(sets: readonly (SignalSetInput | SignalStep)[]): sets is readonly SignalStep[] {
  return sets.every((s) => "kernel" in s);
}

export function toSteps(sets: readonly SignalSetInput[] | readonly SignalStep[]): readonly SignalStep[] {
  return isCompiled(sets) ? sets : compileSignalSets(sets as readonly SignalSetInput[]);
}

/** The DataError for a step whose input column is not in the table. */
export function missingColumn(step: SignalStep, column: string, available: readonly string[]): DataError {
  return new DataError(
    `${step.path} (${step.generator}): column "${column}" not found; columns are: ${available.join(", ") || "(none)"}`,
  );
}

/**
 * Runs the steps in order on the frame, each seeing the columns the previous ones produced, as
 * the original's signal_sets do. Outputs replace same-named columns and are appended at the end.
 */
export function runSignalSteps(frame: Frame, steps: readonly SignalStep[]): SignalRun[] {
  return steps.map((step) => {
    const started = performance.now();
    const cols = step.inputs.map((c) => {
      if (!frame.has(c)) throw missingColumn(step, c, frame.columnNames);
      return frame.get(c);
    });
    const outs = step.kernel.batch(cols, frame.time);
    if (outs.length !== step.outputs.length) {
      throw new DataError(
        `${step.path} (${step.generator}): returned ${outs.length} column(s) for ${step.outputs.length} output name(s)`,
      );
    }
    step.outputs.forEach((name, j) => {
      frame.delete(name);
      frame.set(name, outs[j] as Float64Array);
    });
    return {
      index: step.index,
      generator: step.generator,
      columns: [...step.outputs],
      seconds: (performance.now() - started) / 1000,
    };
  });
}

/**
 * Applies `signal_sets` (raw entries, compiled here, or compiled steps) to the frame in place
 * and returns the names of the columns they produced, in order, each once.
 */
export function runSignalSets(
  frame: Frame,
  sets: readonly SignalSetInput[] | readonly SignalStep[],
): string[] {
  const runs = runSignalSteps(frame, toSteps(sets));
  return [...new Set(runs.flatMap((r) => r.columns))];
}

/** The 0/1 trade-signal columns the steps produce (the threshold rules' outputs), last role wins. */
export function signalColumns(steps: readonly SignalStep[]): { column: string; role: SignalRole }[] {
  const roles = new Map<string, SignalRole | undefined>();
  for (const s of steps) {
    s.outputs.forEach((o, j) => {
      roles.delete(o);
      roles.set(o, s.roles[j]);
    });
  }
  return [...roles].flatMap(([column, role]) => (role === undefined ? [] : [{ column, role }]));
}
