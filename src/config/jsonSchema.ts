import { z } from "zod";
import { ConfigSchema } from "./schema.js";

/**
 * The config's JSON Schema (draft 2020-12) for editor completion and checking: add
 * `"$schema": "./itb.schema.json"` to a config. It describes what may be written (defaults are
 * optional); the checks JSON Schema cannot express (generator names, frequencies, dates) are
 * left to `itb config check`.
 */
export function configJsonSchema(): object {
  const schema = z.toJSONSchema(ConfigSchema, {
    target: "draft-2020-12",
    io: "input",
    unrepresentable: "any",
  });
  return { ...schema, title: "itb config" };
}
