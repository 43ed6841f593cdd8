import { createRequire } from "node:module";
import type { InputName } from "../../src/features/indicators/types.js";

/**
 * The test oracle: TA-Lib's C library through the `talib` npm binding (1.1.6). Given inputs by
 * Python talib's names and options by Python's keywords, returns full-length outputs with NaN
 * before TA-Lib's begIndex, in TA-Lib's output order.
 */
interface TalibBinding {
  execute(args: Record<string, unknown>): {
    begIndex: number;
    nbElement: number;
    result: Record<string, number[]>;
  };
  explain(name: string): {
    inputs: { name: string; type: string }[];
    optInputs: { name: string; defaultValue: number }[];
    outputs: { name: string }[];
  };
}

const require = createRequire(import.meta.url);
export const talib = require("talib") as TalibBinding;

const PRICE_NAMES: Record<string, string> = {
  open: "open",
  high: "high",
  low: "low",
  close: "close",
  volume: "volume",
};

export function oracle(
  name: string,
  inputs: Partial<Record<InputName, Float64Array>>,
  opts: Record<string, number> = {},
): Float64Array[] {
  const info = talib.explain(name);
  const n = (Object.values(inputs)[0] as Float64Array).length;
  const args: Record<string, unknown> = { name, startIdx: 0, endIdx: n - 1 };
  let realIndex = 0;
  for (const inp of info.inputs) {
    if (inp.type === "price") {
      // A "price" input bundles named series (high/low/close...); the binding takes them flat.
      for (const k of Object.keys(PRICE_NAMES)) {
        const v = inputs[k as InputName];
        if (v) args[k] = Array.from(v);
      }
    } else {
      const key = inputs.real ? "real" : (`real${realIndex}` as InputName);
      const v = inputs[key];
      if (!v) throw new Error(`oracle: missing input ${key} for ${name}`);
      args[inp.name] = Array.from(v);
      realIndex++;
    }
  }
  for (const o of info.optInputs) {
    const py = o.name.replace(/^optIn/, "").toLowerCase();
    args[o.name] = opts[py] ?? o.defaultValue;
  }
  const r = talib.execute(args);
  return info.outputs.map((o) => {
    const out = new Float64Array(n).fill(Number.NaN);
    const vals = r.result[o.name] ?? [];
    for (let i = 0; i < r.nbElement; i++) out[r.begIndex + i] = vals[i] as number;
    return out;
  });
}

/** Largest relative difference |a-b| / max(1, |b|), NaN positions required to match exactly. */
export function maxRelDiff(
  a: Float64Array,
  b: Float64Array,
): { diff: number; at: number; nanMismatch: number } {
  let diff = 0;
  let at = -1;
  let nanMismatch = -1;
  for (let i = 0; i < b.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    if (Number.isNaN(x) !== Number.isNaN(y)) {
      if (nanMismatch < 0) nanMismatch = i;
      continue;
    }
    if (Number.isNaN(y)) continue;
    const d = Math.abs(x - y) / Math.max(1, Math.abs(y));
    if (d > diff) {
      diff = d;
      at = i;
    }
  }
  return { diff, at, nanMismatch };
}
