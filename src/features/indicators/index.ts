import { didYouMean } from "../../config/suggest.js";
import { MOMENTUM_GROUP } from "./groupMomentum.js";
import { OVERLAP_GROUP } from "./groupOverlap.js";
import { nativeAvailable, nativeIndicator } from "./native.js";
import { defineRegistry, IndicatorError } from "./registry.js";
import type { Indicator } from "./types.js";

export * from "./registry.js";
export type * from "./types.js";

/** Every indicator ported to TypeScript, by TA-Lib name. */
export const INDICATORS: ReadonlyMap<string, Indicator> = defineRegistry([OVERLAP_GROUP, MOMENTUM_GROUP]);

/**
 * The ported indicator of that TA-Lib name; else the native TA-Lib function when the optional
 * `talib` binding is installed; else an error listing the supported names.
 */
export function getIndicator(name: string): Indicator {
  const ind = INDICATORS.get(name.toUpperCase()) ?? nativeIndicator(name);
  if (ind) return ind;
  const hint = nativeAvailable()
    ? "TA-Lib has no such function"
    : "other TA-Lib functions need the optional native binding (npm install talib@1.1.6)";
  const ported = [...INDICATORS.keys()].sort();
  throw new IndicatorError(
    `unknown or unsupported TA-Lib function "${name}"${didYouMean(name.toUpperCase(), ported)} (${hint}); ported: ${ported.join(", ")}`,
  );
}
