import { COMBINE_MODES, CombineConfigSchema, configKeys } from "../config/index.js";
import type { ConfigReader } from "./parse.js";
import type { SignalGenerator } from "./types.js";

/**
 * `combine` (the original's generate_combine_scores): two unsigned scores, up u and down d, into
 * one signed score.
 *   - "relative":   2 * u / (u + d) - 1, in [-1, +1];
 *   - "difference": u - d;
 *   - anything else (the original's "no_combine"): u if u >= d, else -d (a NaN u gives -d).
 * Then × `coefficient` and + `constant`, each only when set and non-zero, as in the original.
 */
export type CombineMode = "relative" | "difference" | "max";

export interface CombineConfig {
  up: string;
  down: string;
  name: string;
  mode: CombineMode;
  coefficient: number | undefined;
  constant: number | undefined;
}

const KEYS = configKeys(CombineConfigSchema);

export function parseCombine(c: ConfigReader): CombineConfig {
  c.allowOnly(KEYS);
  const [up, down] = c.columns("columns", { min: 2, max: 2, allowString: false }) as [string, string];
  const name = c.name("names");
  const combine = c.optionalString("combine");
  // The config schema names the closest mode; this guards callers that skip it.
  if (combine && !(COMBINE_MODES as readonly string[]).includes(combine)) {
    c.fail("combine", `expected one of ${COMBINE_MODES.join(", ")}, got ${JSON.stringify(combine)}`);
  }
  const mode: CombineMode =
    combine === "relative" ? "relative" : combine === "difference" ? "difference" : "max";
  return {
    up,
    down,
    name,
    mode,
    coefficient: c.truthyNumber("coefficient"),
    constant: c.truthyNumber("constant"),
  };
}

/** One row's combined score; the operation order follows the original's pandas expressions. */
export function combineValue(u: number, d: number, cfg: CombineConfig): number {
  let s: number;
  if (cfg.mode === "relative") s = (u / (u + d)) * 2 - 1.0;
  else if (cfg.mode === "difference") s = u - d;
  else s = u >= d ? u : -d;
  if (cfg.coefficient !== undefined) s = s * cfg.coefficient;
  if (cfg.constant !== undefined) s = s + cfg.constant;
  return s;
}

export function combineGenerator(cfg: CombineConfig): SignalGenerator {
  return {
    inputs: [cfg.up, cfg.down],
    outputs: [cfg.name],
    roles: [undefined],
    batch([u, d]) {
      const up = u as Float64Array;
      const down = d as Float64Array;
      const out = new Float64Array(up.length);
      for (let i = 0; i < up.length; i++) out[i] = combineValue(up[i] as number, down[i] as number, cfg);
      return [out];
    },
    stream() {
      return {
        next(inputs, out) {
          out[0] = combineValue(inputs[0] as number, inputs[1] as number, cfg);
        },
      };
    },
  };
}
