import type { Indicator } from "./types.js";

/** Momentum indicators. */
export const MOMENTUM_GROUP: readonly Indicator[] = [];
