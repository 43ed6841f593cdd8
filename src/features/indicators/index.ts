import { MOMENTUM_GROUP } from "./groupMomentum.js";
import { OVERLAP_GROUP } from "./groupOverlap.js";
import { defineRegistry, IndicatorError } from "./registry.js";
import type { Indicator } from "./types.js";

export * from "./registry.js";
export type * from "./types.js";

/** Every indicator ported to TypeScript, by TA-Lib name. */
export const INDICATORS: ReadonlyMap<string, Indicator> = defineRegistry([OVERLAP_GROUP, MOMENTUM_GROUP]);

/** The ported indicator of that TA-Lib name, or an error listing the supported names. */
export function getIndicator(name: string): Indicator {
  const ind = INDICATORS.get(name.toUpperCase());
  if (ind) return ind;
  throw new IndicatorError(
    `unknown or unsupported TA-Lib function "${name}"; supported: ${[...INDICATORS.keys()].sort().join(", ")}`,
  );
}
