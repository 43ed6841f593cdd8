import { ConfigError } from "../core/errors.js";
import type { Frame } from "../core/frame.js";
import type { FeatureGenerator, GeneratorConfig } from "./generator.js";

/**
 * The original's example feature (`common/my_feature_example.py`, used by its samples as
 * `"generator": "common.my_feature_example:my_feature_example"`): `columns` plus or times
 * `parameter`, named `names` (default `<column>_<function>`). Ported so that the original's
 * sample configs run unchanged; a stateless row function, so the stream equals the batch from
 * the first bar.
 */

interface Plan {
  column: string;
  mul: boolean;
  parameter: number;
  name: string;
}

function plan(config: GeneratorConfig): Plan {
  const where = "my_feature_example";
  const column = config.columns;
  if (typeof column !== "string" || column === "") {
    throw new ConfigError(`${where}: columns must be one column name, found ${JSON.stringify(column)}`);
  }
  const fn = config.function;
  if (fn !== "add" && fn !== "mul") {
    throw new ConfigError(`${where}: function must be "add" or "mul", found ${JSON.stringify(fn)}`);
  }
  const parameter = config.parameter;
  if (typeof parameter !== "number" || !Number.isFinite(parameter)) {
    throw new ConfigError(`${where}: parameter must be a number, found ${JSON.stringify(parameter)}`);
  }
  const names = config.names;
  const name = typeof names === "string" && names !== "" ? names : `${column}_${fn}`;
  return { column, mul: fn === "mul", parameter, name };
}

const apply = (x: number, p: Plan): number => (p.mul ? x * p.parameter : x + p.parameter);

export const exampleFeatureGenerator: FeatureGenerator = {
  inputs: (config) => [plan(config).column],
  outputs: (config) => [plan(config).name],
  warmup: () => 0,
  batch(frame: Frame, config) {
    const p = plan(config);
    const x = frame.get(p.column);
    const out = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) out[i] = apply(x[i] as number, p);
    return [out];
  },
  stream(config) {
    const p = plan(config);
    return {
      next(values, out) {
        out[0] = apply(values[0] as number, p);
      },
    };
  },
};
