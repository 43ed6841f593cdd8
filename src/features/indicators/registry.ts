import { ItbError } from "../../core/errors.js";
import type { Indicator, IndicatorStream, OptionSpec, Options } from "./types.js";

/** An indicator call that cannot be made: unknown name, bad option, wrong inputs. */
export class IndicatorError extends ItbError {}

export function defineRegistry(groups: readonly (readonly Indicator[])[]): ReadonlyMap<string, Indicator> {
  const map = new Map<string, Indicator>();
  for (const g of groups) {
    for (const ind of g) {
      if (map.has(ind.name)) throw new Error(`indicator ${ind.name} is defined twice`);
      map.set(ind.name, ind);
    }
  }
  return map;
}

/**
 * Validates option values against the indicator's specs and fills defaults. Keys are Python
 * talib's keywords (`timeperiod`); TA-Lib's C names (`optInTimePeriod`) are accepted too.
 */
export function resolveOptions(ind: Indicator, given: Readonly<Record<string, unknown>> = {}): Options {
  const byName = new Map<string, OptionSpec>();
  for (const o of ind.options) {
    byName.set(o.name, o);
    byName.set(`optin${o.name}`, o);
  }
  const out: Record<string, number> = {};
  for (const o of ind.options) out[o.name] = o.default;
  for (const [key, value] of Object.entries(given)) {
    const spec = byName.get(key.toLowerCase());
    if (!spec) {
      const valid = ind.options.map((o) => o.name).join(", ") || "none";
      throw new IndicatorError(`${ind.name}: unknown option "${key}"; its options are: ${valid}`);
    }
    if (typeof value !== "number" || !Number.isFinite(value)) {
      throw new IndicatorError(
        `${ind.name}: option ${spec.name} must be a number, found ${JSON.stringify(value)}`,
      );
    }
    if ((spec.kind !== "real" && !Number.isInteger(value)) || value < spec.min || value > spec.max) {
      const what = spec.kind === "real" ? "a number" : "an integer";
      throw new IndicatorError(
        `${ind.name}: option ${spec.name} must be ${what} from ${spec.min} to ${spec.max}, found ${value}`,
      );
    }
    out[spec.name] = value;
  }
  return out;
}

/** Index of the first row where every input is a number (Python talib's `check_begidx`). */
export function firstValidRow(inputs: readonly Float64Array[]): number {
  const n = inputs[0]?.length ?? 0;
  for (let i = 0; i < n; i++) {
    let ok = true;
    for (const x of inputs) {
      if (Number.isNaN(x[i] as number)) {
        ok = false;
        break;
      }
    }
    if (ok) return i;
  }
  return n;
}

/**
 * Runs an indicator over full columns the way Python's talib does: leading NaN rows (a series
 * that starts later, a warm-up of an input column) are skipped, the kernel runs on the rest, and
 * the outputs are aligned back with NaN in front.
 */
export function computeIndicator(
  ind: Indicator,
  inputs: readonly Float64Array[],
  opts: Options,
): Float64Array[] {
  if (inputs.length !== ind.inputs.length) {
    throw new IndicatorError(
      `${ind.name} takes ${ind.inputs.length} input(s) (${ind.inputs.join(", ")}), got ${inputs.length}`,
    );
  }
  const n = inputs[0]?.length ?? 0;
  const begin = firstValidRow(inputs);
  if (begin === 0) return ind.batch(inputs, opts);
  const outs = ind.outputs.map(() => new Float64Array(n).fill(Number.NaN));
  if (begin < n) {
    const part = ind.batch(
      inputs.map((x) => x.subarray(begin)),
      opts,
    );
    part.forEach((p, j) => {
      if (ind.indexOutputs) for (let i = 0; i < p.length; i++) p[i] = (p[i] as number) + begin;
      (outs[j] as Float64Array).set(p, begin);
    });
  }
  return outs;
}

/** The streaming twin of `computeIndicator`: NaN outputs until the first bar with all inputs. */
export function streamIndicator(ind: Indicator, opts: Options): IndicatorStream {
  let inner: IndicatorStream | undefined;
  let skipped = 0;
  return {
    next(values, out) {
      if (inner === undefined) {
        for (let k = 0; k < values.length; k++) {
          if (Number.isNaN(values[k] as number)) {
            skipped++;
            out.fill(Number.NaN);
            return;
          }
        }
        inner = ind.stream(opts);
      }
      inner.next(values, out);
      if (ind.indexOutputs && skipped > 0)
        for (let j = 0; j < out.length; j++) out[j] = (out[j] as number) + skipped;
    },
  };
}
