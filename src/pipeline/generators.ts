import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { type FeatureSet, type LabelSet, ORIGINAL_EXAMPLE_FEATURE } from "../config/index.js";
import { ItbError } from "../core/errors.js";
import { exampleFeatureGenerator } from "../features/exampleFeature.js";
import type { ResolvedSet } from "../features/featureSets.js";
import type { CustomGenerator, FeatureGenerator } from "../features/generator.js";
import { itbstatsGenerator } from "../features/itbstats.js";
import { talibGenerator } from "../features/talib.js";
import { LABEL_GENERATORS } from "../labels/index.js";

const BUILTIN_FEATURES: Record<string, FeatureGenerator> = {
  talib: talibGenerator,
  itbstats: itbstatsGenerator,
  // The original's Python example, ported so that its sample configs run as they are.
  [ORIGINAL_EXAMPLE_FEATURE]: exampleFeatureGenerator,
};

/** A custom generator module that cannot be loaded or does not export a generator. */
export class GeneratorLoadError extends ItbError {}

function isGenerator(x: unknown): x is CustomGenerator {
  const g = x as Partial<CustomGenerator> | null;
  return (
    typeof g === "object" &&
    g !== null &&
    typeof g.inputs === "function" &&
    typeof g.outputs === "function" &&
    typeof g.batch === "function" &&
    typeof g.warmup === "function"
  );
}

/**
 * Loads `"<module>:<export>"`: a path (relative to the config file's folder) or a package name,
 * and the name of an export implementing FeatureGenerator (see examples/custom-generator.mjs).
 */
export async function loadCustomGenerator(spec: string, baseDir: string): Promise<CustomGenerator> {
  const at = spec.lastIndexOf(":");
  const mod = spec.slice(0, at);
  const name = spec.slice(at + 1);
  const isPath = mod.startsWith(".") || isAbsolute(mod);
  const target = isPath ? pathToFileURL(resolve(baseDir, mod)).href : mod;
  let loaded: Record<string, unknown>;
  try {
    loaded = (await import(target)) as Record<string, unknown>;
  } catch (err) {
    // `common.gen_x:fn` is how the original names its Python generators: say what itb loads instead.
    const python = !isPath && /^[A-Za-z_]\w*(\.[A-Za-z_]\w*)+$/.test(mod);
    const hint = python
      ? `; "${mod}" looks like a Python module of the original: itb loads JavaScript generators, a path relative to the config file ("./my-generator.mjs:${name}") or a package (see examples/custom-generator.mjs)`
      : "";
    throw new GeneratorLoadError(
      `cannot load generator module "${mod}"${isPath ? ` (${resolve(baseDir, mod)})` : ""}: ${err instanceof Error ? err.message : String(err)}${hint}`,
      { cause: err },
    );
  }
  const g = loaded[name];
  if (!isGenerator(g)) {
    throw new GeneratorLoadError(
      `generator "${spec}": the module has no export "${name}" with inputs(), outputs(), batch() and warmup(); exports: ${Object.keys(loaded).join(", ") || "none"}`,
    );
  }
  return g;
}

/** A config set with its generator, ready for runSets. */
function resolved(s: FeatureSet | LabelSet, generator: CustomGenerator): ResolvedSet {
  return {
    name: s.generator,
    generator,
    column_prefix: s.column_prefix,
    feature_prefix: s.feature_prefix,
    config: s.config,
  };
}

/** The generator a feature set names: built in, or a custom module loaded relative to `baseDir`. */
export async function featureGenerator(name: string, baseDir: string): Promise<CustomGenerator> {
  const builtin = Object.hasOwn(BUILTIN_FEATURES, name) ? BUILTIN_FEATURES[name] : undefined;
  if (builtin) return builtin;
  if (name.includes(":")) return loadCustomGenerator(name, baseDir);
  throw new GeneratorLoadError(
    `feature generator "${name}" is not available in itb yet; available: ${Object.keys(BUILTIN_FEATURES).join(", ")} or "<module>:<export>"`,
  );
}

/** The generator a label set names: built in, or a custom module loaded relative to `baseDir`. */
export async function labelGenerator(name: string, baseDir: string): Promise<CustomGenerator> {
  const lg = LABEL_GENERATORS[name];
  if (lg) {
    return {
      inputs: (c) => lg.inputs(c),
      outputs: (c) => lg.outputs(c),
      batch: (f, c) => lg.batch(f, c),
      warmup: () => 0,
    };
  }
  if (name.includes(":")) return loadCustomGenerator(name, baseDir);
  throw new GeneratorLoadError(
    `label generator "${name}" is not available; available: ${Object.keys(LABEL_GENERATORS).join(", ")} or "<module>:<export>"`,
  );
}

export async function resolveFeatureSets(
  sets: readonly FeatureSet[],
  baseDir: string,
): Promise<ResolvedSet[]> {
  const out: ResolvedSet[] = [];
  for (const s of sets) out.push(resolved(s, await featureGenerator(s.generator, baseDir)));
  return out;
}

export async function resolveLabelSets(sets: readonly LabelSet[], baseDir: string): Promise<ResolvedSet[]> {
  const out: ResolvedSet[] = [];
  for (const s of sets) out.push(resolved(s, await labelGenerator(s.generator, baseDir)));
  return out;
}
