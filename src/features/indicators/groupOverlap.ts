import { MATHOPS_INDICATORS } from "./mathops.js";
import { OVERLAP_INDICATORS } from "./overlap.js";
import { PRICE_INDICATORS } from "./price.js";
import { STATISTIC_INDICATORS } from "./statistic.js";
import type { Indicator } from "./types.js";
import { VOLATILITY_INDICATORS } from "./volatility.js";
import { VOLUME_INDICATORS } from "./volume.js";

/** Overlap studies, volume, volatility, price transforms, statistics and math operators. */
export const OVERLAP_GROUP: readonly Indicator[] = [
  ...OVERLAP_INDICATORS,
  ...VOLUME_INDICATORS,
  ...VOLATILITY_INDICATORS,
  ...STATISTIC_INDICATORS,
  ...PRICE_INDICATORS,
  ...MATHOPS_INDICATORS,
];
