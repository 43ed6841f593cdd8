import type { Indicator } from "./types.js";

/** Overlap studies, volume, volatility, price transforms, statistics and math operators. */
export const OVERLAP_GROUP: readonly Indicator[] = [];
