import { ConfigError } from "../core/errors.js";
import { Frame } from "../core/frame.js";
import type { CustomGenerator } from "../features/generator.js";
import { combineGenerator, parseCombine } from "./combine.js";
import { ConfigReader, show } from "./parse.js";
import { parseSmoothen, smoothenGenerator } from "./smoothen.js";
import { parseThresholdRule, parseThresholdRule2, thresholdGenerator } from "./thresholds.js";
import type { SignalGenerator, SignalStep } from "./types.js";

/** A `signal_sets` entry as the config schema yields it (the prefixes default to ""). */
export interface SignalSetInput {
  generator: string;
  config?: Readonly<Record<string, unknown>>;
  column_prefix?: string;
  feature_prefix?: string;
}

const BUILTIN: Record<string, (c: ConfigReader) => SignalGenerator> = {
  smoothen: (c) => smoothenGenerator(parseSmoothen(c)),
  combine: (c) => combineGenerator(parseCombine(c)),
  threshold_rule: (c) => thresholdGenerator(parseThresholdRule(c)),
  threshold_rule2: (c) => thresholdGenerator(parseThresholdRule2(c)),
};

export const BUILTIN_SIGNAL_GENERATORS = Object.keys(BUILTIN);

/**
 * Parses and checks every entry once, before any data is read: a mistake is a ConfigError
 * naming its JSON path (`signal_sets[1].config.columns: ...`). `custom` holds the loaded
 * `"<module>:<export>"` generators (the pipeline loads them; they follow the FeatureGenerator
 * interface of src/features/generator.ts).
 */
export function compileSignalSets(
  sets: readonly SignalSetInput[],
  custom: ReadonlyMap<string, CustomGenerator> = new Map(),
): SignalStep[] {
  return sets.map((set, index) => {
    const path = `signal_sets[${index}]`;
    const config = set.config ?? {};
    if (typeof config !== "object" || config === null || Array.isArray(config)) {
      const msg = `${path}.config: expected an object, got ${show(config)}`;
      throw new ConfigError(msg, [msg]);
    }
    const builtin = BUILTIN[set.generator];
    const loaded = custom.get(set.generator);
    let kernel: SignalGenerator;
    if (builtin) kernel = builtin(new ConfigReader(config, `${path}.config`));
    else if (loaded) kernel = fromFeatureGenerator(set.generator, loaded, config, path);
    else {
      const msg = `${path}.generator: unknown signal generator ${JSON.stringify(set.generator)}; expected one of ${BUILTIN_SIGNAL_GENERATORS.join(", ")} or "<module>:<export>"`;
      throw new ConfigError(msg, [msg]);
    }
    const cp = set.column_prefix ? `${set.column_prefix}_` : "";
    const fp = set.feature_prefix ? `${set.feature_prefix}_` : "";
    const outputs = kernel.outputs.map((o) => fp + o);
    const dup = outputs.find((o, j) => outputs.indexOf(o) !== j);
    if (dup !== undefined) {
      const msg = `${path}.config.names: the output column "${dup}" is named twice`;
      throw new ConfigError(msg, [msg]);
    }
    return {
      index,
      path,
      generator: set.generator,
      inputs: kernel.inputs.map((c) => cp + c),
      outputs,
      roles: [...kernel.roles],
      kernel,
    };
  });
}

/** A custom generator written for feature_sets, used as a signal generator. */
function fromFeatureGenerator(
  name: string,
  g: CustomGenerator,
  config: Readonly<Record<string, unknown>>,
  path: string,
): SignalGenerator {
  const inputs = g.inputs(config);
  const outputs = g.outputs(config);
  return {
    inputs,
    outputs,
    roles: outputs.map(() => undefined),
    batch(cols, time) {
      const view = new Frame(
        time,
        inputs.map((c, k) => [c, cols[k] as Float64Array] as const),
      );
      const out = g.batch(view, config);
      if (out instanceof Promise) {
        const msg = `${path}.generator: "${name}" is asynchronous (its batch returns a promise); signal generators must be synchronous`;
        throw new ConfigError(msg, [msg]);
      }
      return out;
    },
    stream() {
      if (!g.stream) {
        const msg = `${path}.generator: "${name}" has no streaming form (stream()), so it cannot run live`;
        throw new ConfigError(msg, [msg]);
      }
      const s = g.stream(config);
      return { next: (i, o) => s.next(i, o) };
    },
  };
}
