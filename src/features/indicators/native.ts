import { createRequire } from "node:module";
import { IndicatorError } from "./registry.js";
import type { Indicator, InputName, OptionSpec, Options } from "./types.js";

/**
 * TA-Lib functions not ported to TypeScript run through the native `talib` binding when it is
 * installed (an optional dependency). Its streaming form recomputes over the history kept so far,
 * O(n) per bar: correct, but meant for research, not a hot live loop.
 */
interface TalibInfo {
  name: string;
  inputs: { name: string; type: string; flags?: Record<string, string> }[];
  optInputs: { name: string; defaultValue: number; type: string }[];
  outputs: { name: string }[];
}
interface TalibBinding {
  execute(args: Record<string, unknown>): {
    begIndex: number;
    nbElement: number;
    result: Record<string, number[]>;
  };
  explain(name: string): TalibInfo;
  functions: { name: string }[];
}

let binding: TalibBinding | null | undefined;

function loadBinding(): TalibBinding | null {
  if (binding === undefined) {
    try {
      binding = createRequire(import.meta.url)("talib") as TalibBinding;
    } catch {
      binding = null;
    }
  }
  return binding;
}

export function nativeAvailable(): boolean {
  return loadBinding() !== null;
}

const PRICE_INPUTS: readonly InputName[] = ["open", "high", "low", "close", "volume"];

/** Python talib's output name for a C output name: outRealUpperBand → upperband, outMACDSignal → macdsignal. */
function outputName(c: string): string {
  return c.replace(/^out(Real)?/, "").toLowerCase() || "real";
}

export function nativeIndicator(name: string): Indicator | undefined {
  const ta = loadBinding();
  if (!ta) return undefined;
  const upper = name.toUpperCase();
  if (!ta.functions.some((f) => f.name === upper)) return undefined;
  const info = ta.explain(upper);
  const inputs: InputName[] = [];
  const argNames: string[] = [];
  const reals = info.inputs.filter((i) => i.type !== "price").length;
  let realIndex = 0;
  for (const inp of info.inputs) {
    if (inp.type === "price") {
      for (const v of Object.values(inp.flags ?? {})) {
        if ((PRICE_INPUTS as readonly string[]).includes(v)) {
          inputs.push(v as InputName);
          argNames.push(v);
        }
      }
    } else {
      inputs.push(reals === 1 ? "real" : (`real${realIndex++}` as InputName));
      argNames.push(inp.name);
    }
  }
  const options: OptionSpec[] = info.optInputs.map((o) => ({
    name: o.name.replace(/^optIn/, "").toLowerCase(),
    kind: o.type === "real_range" ? "real" : "int",
    default: o.defaultValue,
    min: o.type === "real_range" ? -3e37 : 0,
    max: o.type === "real_range" ? 3e37 : 100_000,
  }));
  const outputs = info.outputs.map((o) => outputName(o.name));

  const run = (series: readonly Float64Array[], opts: Options): Float64Array[] => {
    const n = series[0]?.length ?? 0;
    const outs = outputs.map(() => new Float64Array(n).fill(Number.NaN));
    if (n === 0) return outs;
    const args: Record<string, unknown> = { name: upper, startIdx: 0, endIdx: n - 1 };
    series.forEach((s, k) => {
      args[argNames[k] as string] = Array.from(s);
    });
    for (const o of info.optInputs)
      args[o.name] = opts[o.name.replace(/^optIn/, "").toLowerCase()] ?? o.defaultValue;
    const r = ta.execute(args);
    if ((r as unknown as { error?: string }).error) {
      throw new IndicatorError(`${upper}: ${(r as unknown as { error: string }).error}`);
    }
    info.outputs.forEach((o, j) => {
      const vals = r.result[o.name] ?? [];
      const out = outs[j] as Float64Array;
      for (let i = 0; i < r.nbElement; i++) out[r.begIndex + i] = vals[i] as number;
    });
    return outs;
  };

  return {
    name: upper,
    inputs,
    options,
    outputs,
    lookback(opts) {
      // The first valid index on a series long enough to have one.
      const probe = Array.from({ length: inputs.length }, () =>
        Float64Array.from({ length: 2000 }, (_, i) => 100 + i),
      );
      const out = run(probe, opts)[0] as Float64Array;
      const i = out.findIndex((v) => !Number.isNaN(v));
      return i < 0 ? out.length : i;
    },
    batch: run,
    stream(opts) {
      const history = inputs.map(() => [] as number[]);
      return {
        next(values, out) {
          history.forEach((h, k) => {
            h.push(values[k] as number);
          });
          const outs = run(
            history.map((h) => Float64Array.from(h)),
            opts,
          );
          outs.forEach((o, j) => {
            out[j] = o[o.length - 1] as number;
          });
        },
      };
    },
  };
}
