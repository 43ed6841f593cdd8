import { DM_GROUP } from "./dm.js";
import { MA_MOMENTUM_GROUP } from "./momentumMa.js";
import { PRICE_MOMENTUM_GROUP } from "./momentumPrice.js";
import { OSCILLATOR_GROUP } from "./oscillators.js";
import type { Indicator } from "./types.js";

/** Momentum indicators (TA-Lib's "Momentum Indicators" group). */
export const MOMENTUM_GROUP: readonly Indicator[] = [
  ...DM_GROUP,
  ...OSCILLATOR_GROUP,
  ...PRICE_MOMENTUM_GROUP,
  ...MA_MOMENTUM_GROUP,
];
