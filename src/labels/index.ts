import { highlow } from "./highlow.js";
import { highlow2 } from "./highlow2.js";
import { topbot2 } from "./topbot2.js";
import type { LabelGenerator } from "./types.js";

export { futureExtreme } from "./highlow.js";
export { highlow2Kernel } from "./highlow2.js";
export { extremumLabels } from "./topbot2.js";
export type { LabelGenerator } from "./types.js";

/** The built-in label generators, by the name a `label_sets` entry gives as `generator`. */
export const LABEL_GENERATORS: Record<string, LabelGenerator> = Object.assign(Object.create(null), {
  highlow,
  highlow2,
  topbot2,
});
