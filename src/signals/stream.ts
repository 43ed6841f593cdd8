import { DataError } from "../core/errors.js";
import type { SignalSetInput } from "./compile.js";
import { toSteps } from "./run.js";
import type { SignalKernel, SignalStep } from "./types.js";

/**
 * The signal sets one bar at a time, for the live engine: O(1) work and no allocation per row
 * (in `next`). A step reads the bar's input columns and the columns produced by the steps before
 * it in the same bar, exactly as the batch runner does over whole columns, and the outputs are
 * bit-identical to the batch's.
 */
export interface SignalStream {
  /** Columns the caller supplies each bar, in the order `next` receives them. */
  readonly inputs: readonly string[];
  /** Columns produced, in the order `next` writes them. */
  readonly outputs: readonly string[];
  next(inputs: ArrayLike<number>, out: Float64Array): void;
  /** Convenience form: a row by column name in, the produced columns by name out. */
  push(row: Readonly<Record<string, number>>): Record<string, number>;
}

interface Plan {
  kernel: SignalKernel;
  inSlots: Int32Array;
  outSlots: Int32Array;
  inBuf: Float64Array;
  outBuf: Float64Array;
}

export function createSignalStream(sets: readonly SignalSetInput[] | readonly SignalStep[]): SignalStream {
  const steps = toSteps(sets);
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
  const produced = new Set<string>();
  const plans: Plan[] = steps.map((step) => {
    for (const c of step.inputs) {
      if (!produced.has(c) && !inputs.includes(c)) inputs.push(c);
    }
    const inSlots = Int32Array.from(step.inputs, slot);
    const outSlots = Int32Array.from(step.outputs, slot);
    for (const o of step.outputs) produced.add(o);
    return {
      kernel: step.kernel.stream(),
      inSlots,
      outSlots,
      inBuf: new Float64Array(step.inputs.length),
      outBuf: new Float64Array(step.outputs.length),
    };
  });
  const outputs = [...produced];
  const inputSlots = Int32Array.from(inputs, slot);
  const outputSlots = Int32Array.from(outputs, slot);
  const values = new Float64Array(slotOf.size);
  const outBuf = new Float64Array(outputs.length);

  const next = (row: ArrayLike<number>, out: Float64Array): void => {
    if (row.length !== inputSlots.length) {
      throw new DataError(
        `signal stream: expected ${inputSlots.length} input value(s) (${inputs.join(", ")}), got ${row.length}`,
      );
    }
    for (let k = 0; k < inputSlots.length; k++) values[inputSlots[k] as number] = row[k] as number;
    for (const p of plans) {
      for (let k = 0; k < p.inSlots.length; k++) p.inBuf[k] = values[p.inSlots[k] as number] as number;
      p.kernel.next(p.inBuf, p.outBuf);
      for (let k = 0; k < p.outSlots.length; k++) values[p.outSlots[k] as number] = p.outBuf[k] as number;
    }
    for (let k = 0; k < outputSlots.length; k++) out[k] = values[outputSlots[k] as number] as number;
  };

  const inBuf = new Float64Array(inputs.length);
  return {
    inputs,
    outputs,
    next,
    push(row) {
      inputs.forEach((c, k) => {
        const v = row[c];
        if (typeof v !== "number") {
          throw new DataError(
            `signal stream: the row has no number for column "${c}"; it has: ${Object.keys(row).join(", ") || "(none)"}`,
          );
        }
        inBuf[k] = v;
      });
      next(inBuf, outBuf);
      const result: Record<string, number> = {};
      outputs.forEach((c, k) => {
        result[c] = outBuf[k] as number;
      });
      return result;
    },
  };
}
