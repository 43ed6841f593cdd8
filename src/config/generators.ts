/**
 * The generator names each kind of set accepts, as in the original's `generators.py`, plus
 * custom generators written `"<module path or package>:<export>"` (the original's
 * `"common.my_feature_example:my_feature_example"` form).
 */
export const FEATURE_GENERATORS = ["talib", "itbstats", "itblib", "tsfresh"] as const;
export const LABEL_GENERATORS = ["highlow", "highlow2", "topbot", "topbot2"] as const;
export const SIGNAL_GENERATORS = ["smoothen", "combine", "threshold_rule", "threshold_rule2"] as const;

/**
 * talib/itbstats `parameters.rel_base` and `rel_func` (the original's `_convert_to_relative`).
 * Here, with no imports, so that the feature kernels' modules load without the config schema.
 */
export const REL_BASES = ["next", "last", "prev", "first"] as const;
export const REL_FUNCS = ["diff", "rel", "rel_diff"] as const;

/** What `itb serve` runs from output_sets (the original's names, and itb's webhook and console). */
export const OUTPUT_GENERATORS = [
  "console",
  "trader_simulation",
  "score_notification_model",
  "diagram_notification_model",
  "webhook",
  "trader_binance",
] as const;

export type GeneratorKind = "feature" | "label" | "signal" | "output";

const KNOWN: Record<GeneratorKind, readonly string[]> = {
  feature: FEATURE_GENERATORS,
  label: LABEL_GENERATORS,
  signal: SIGNAL_GENERATORS,
  output: OUTPUT_GENERATORS,
};

/** `module:export`, split at the last colon so a Windows path (`C:/gen.js:fn`) still works. */
export function parseCustomGenerator(name: string): { module: string; exportName: string } | undefined {
  const at = name.lastIndexOf(":");
  if (at <= 0) return undefined;
  const module = name.slice(0, at);
  const exportName = name.slice(at + 1);
  if (!/^[A-Za-z_$][\w$]*$/.test(exportName)) return undefined;
  return { module, exportName };
}

export function isKnownGenerator(kind: GeneratorKind, name: string): boolean {
  return KNOWN[kind].includes(name) || parseCustomGenerator(name) !== undefined;
}

export function unknownGeneratorMessage(kind: GeneratorKind, name: unknown): string {
  return `unknown generator ${JSON.stringify(name)}; expected one of ${KNOWN[kind].join(", ")} or "<module>:<export>"`;
}
