import { readFileSync } from "node:fs";
import { applyEdits, type JSONPath, modify } from "jsonc-parser";
import { isPlainObject } from "../../config/format.js";
import { parseJsonc } from "../../config/index.js";
import { ConfigError, UsageError } from "../../core/errors.js";

/**
 * The search space of `itb tune` (SPACE.jsonc): `{ "parameters": { "<path>": spec } }`. A path
 * addresses the config by keys and indexes, `[name=gb]` selecting the element of an array whose
 * `name` is "gb": `algorithms[name=gb].params.learning_rate`, `feature_sets[0].config.windows`,
 * `signal_sets[1].config.parameters.buy_signal_threshold`. A spec is one of
 * `{"float": [low, high], "log"?: true}`, `{"int": [low, high], "log"?: true}` or
 * `{"choice": [v1, v2, ...]}` (values of any JSON kind, e.g. window lists).
 */

export type ParamSpec =
  | { kind: "float"; low: number; high: number; log: boolean }
  | { kind: "int"; low: number; high: number; log: boolean }
  | { kind: "choice"; values: unknown[] };

/** One step of a path: an object key, an array index, or the array element with a given `name`. */
type PathStep = { key: string } | { index: number } | { name: string };

export interface Parameter {
  /** The path as written in the space file. */
  path: string;
  spec: ParamSpec;
  steps: PathStep[];
}

export interface Space {
  file: string;
  parameters: Parameter[];
  /** The space as written (JSON), recorded with the experiment. */
  raw: unknown;
}

/** A path's steps; a syntax error says where. */
export function parsePath(path: string): PathStep[] {
  const steps: PathStep[] = [];
  const re = /([A-Za-z_$][\w$-]*)|\[(\d+)\]|\[name=([^\]]+)\]|(\.)/y;
  let expectKey = true;
  let i = 0;
  while (i < path.length) {
    re.lastIndex = i;
    const m = re.exec(path);
    if (m === null) throw new Error(`unexpected "${path.slice(i)}" at character ${i + 1}`);
    if (m[1] !== undefined) {
      if (!expectKey) throw new Error(`a "." is missing before "${m[1]}"`);
      steps.push({ key: m[1] });
      expectKey = false;
    } else if (m[2] !== undefined || m[3] !== undefined) {
      if (expectKey) throw new Error(`"${m[0]}" follows no key`);
      steps.push(m[2] !== undefined ? { index: Number(m[2]) } : { name: m[3] as string });
    } else {
      if (expectKey) throw new Error(`unexpected "." at character ${i + 1}`);
      expectKey = true;
    }
    i = re.lastIndex;
  }
  if (steps.length === 0) throw new Error("the path is empty");
  if (expectKey) throw new Error("the path ends with a dot");
  return steps;
}

function stepText(s: PathStep): string {
  return "key" in s ? `.${s.key}` : "index" in s ? `[${s.index}]` : `[name=${s.name}]`;
}

function pathText(steps: readonly PathStep[]): string {
  return steps.map(stepText).join("").replace(/^\./, "");
}

function parseSpec(v: unknown): ParamSpec | string {
  if (!isPlainObject(v))
    return 'expected an object: {"float": [low, high]}, {"int": [low, high]} or {"choice": [...]}';
  const kinds = ["float", "int", "choice"].filter((k) => k in v);
  if (kinds.length !== 1) return 'expected exactly one of "float", "int" and "choice"';
  const extra = Object.keys(v).filter((k) => k !== kinds[0] && k !== "log");
  if (extra.length > 0) return `unknown key(s) ${extra.map((k) => `"${k}"`).join(", ")} (expected "log")`;
  const kind = kinds[0] as "float" | "int" | "choice";
  if (kind === "choice") {
    if ("log" in v) return '"log" applies to "float" and "int" only';
    const values = v.choice;
    if (!Array.isArray(values) || values.length === 0) return '"choice": expected a non-empty list of values';
    return { kind, values };
  }
  const range = v[kind];
  if (
    !Array.isArray(range) ||
    range.length !== 2 ||
    !range.every((x) => typeof x === "number" && Number.isFinite(x))
  ) {
    return `"${kind}": expected [low, high], two numbers`;
  }
  const [low, high] = range as [number, number];
  if (kind === "int" && !(Number.isInteger(low) && Number.isInteger(high)))
    return `"int": low and high must be integers, got [${low}, ${high}]`;
  if (!(low < high)) return `"${kind}": low (${low}) must be below high (${high})`;
  const log = v.log ?? false;
  if (typeof log !== "boolean") return '"log": expected true or false';
  if (log && low <= 0) return `"log": true needs low > 0, got ${low}`;
  return { kind, low, high, log };
}

/** Reads and checks a space file; every mistake is one UsageError naming the file and the parameter. */
export function loadSpace(file: string): Space {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(
      code === "ENOENT" ? `space file not found: ${file}` : `cannot read space file ${file}: ${code}`,
    );
  }
  return parseSpace(text, file);
}

export function parseSpace(text: string, file: string): Space {
  let value: unknown;
  try {
    value = parseJsonc(text, file).value;
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  const fail = (where: string, what: string): never => {
    throw new UsageError(`${file}: ${where}: ${what}`);
  };
  if (!isPlainObject(value)) fail("(top level)", 'expected an object { "parameters": { ... } }');
  const obj = value as Record<string, unknown>;
  const extra = Object.keys(obj).filter((k) => k !== "parameters");
  if (extra.length > 0) fail(`"${extra[0]}"`, 'unknown key (a space file has "parameters" only)');
  const params = obj.parameters;
  if (!isPlainObject(params) || Object.keys(params).length === 0)
    fail("parameters", 'expected an object with at least one "<config path>": spec');
  const parameters: Parameter[] = [];
  for (const [path, v] of Object.entries(params as Record<string, unknown>)) {
    let steps: PathStep[];
    try {
      steps = parsePath(path);
    } catch (err) {
      return fail(`parameters."${path}"`, `not a config path: ${(err as Error).message}`);
    }
    const spec = parseSpec(v);
    if (typeof spec === "string") fail(`parameters."${path}"`, spec);
    parameters.push({ path, spec: spec as ParamSpec, steps });
  }
  return { file, parameters, raw: value };
}

/**
 * A parameter's path in the config's JSON (jsonc-parser's JSONPath), `[name=x]` resolved to its
 * index. Every step but the last must exist; the last key may be new (a parameter the config
 * leaves at its default). A missing part is an error naming it.
 */
export function resolvePath(config: unknown, p: Parameter, space: string, configFile: string): JSONPath {
  const out: JSONPath = [];
  let node: unknown = config;
  p.steps.forEach((s, i) => {
    const last = i === p.steps.length - 1;
    const here = pathText(p.steps.slice(0, i + 1));
    const parent = i === 0 ? "the config" : pathText(p.steps.slice(0, i));
    const fail = (what: string): never => {
      throw new UsageError(`${space}: parameters."${p.path}": ${what} in ${configFile}`);
    };
    if ("key" in s) {
      if (!isPlainObject(node)) fail(`${parent} is not an object, so it has no key "${s.key}"`);
      const o = node as Record<string, unknown>;
      if (!(s.key in o) && !last) fail(`${here} does not exist`);
      out.push(s.key);
      node = o[s.key];
      return;
    }
    if (!Array.isArray(node)) fail(`${parent} is not a list, so ${stepText(s)} selects nothing`);
    const list = node as unknown[];
    if ("index" in s) {
      if (s.index >= list.length) fail(`${here} does not exist (${parent} has ${list.length} element(s))`);
      out.push(s.index);
      node = list[s.index];
      return;
    }
    const matches = list.flatMap((e, j) => (isPlainObject(e) && e.name === s.name ? [j] : []));
    if (matches.length !== 1) {
      const names = list.flatMap((e) => (isPlainObject(e) && typeof e.name === "string" ? [e.name] : []));
      fail(
        matches.length === 0
          ? `${here} does not exist (names in ${parent}: ${names.join(", ") || "none"})`
          : `${here} is ambiguous: ${matches.length} elements of ${parent} have that name`,
      );
    }
    out.push(matches[0] as number);
    node = list[matches[0] as number];
  });
  return out;
}

/** A parameter's value as the config holds it (ints as integers). */
export type ParamValues = Record<string, unknown>;

/**
 * The config text with the values set at the resolved paths, edited in place (comments and
 * layout kept), as `itb pipeline` reads it.
 */
export function applyParams(text: string, paths: ReadonlyMap<string, JSONPath>, values: ParamValues): string {
  let out = text;
  for (const [path, jsonPath] of paths) {
    if (!(path in values)) continue;
    const edits = modify(out, jsonPath, values[path], {
      formattingOptions: { insertSpaces: true, tabSize: 2, eol: "\n" },
    });
    out = applyEdits(out, edits);
  }
  return out;
}

/** The space's paths resolved against a config's JSON (parsed from its text). */
export function resolveSpace(space: Space, configText: string, configFile: string): Map<string, JSONPath> {
  let value: unknown;
  try {
    value = parseJsonc(configText, configFile).value;
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(String(err));
  }
  return new Map(space.parameters.map((p) => [p.path, resolvePath(value, p, space.file, configFile)]));
}

/**
 * A short form of a trial's parameters for one line: the last key of each path = value (the
 * whole path where two parameters end in the same key).
 */
export function shortParams(values: ParamValues): string {
  const last = (path: string) => path.split(/[.[]/).pop()?.replace(/\]$/, "") ?? path;
  const keys = Object.keys(values).map(last);
  return Object.entries(values)
    .map(([path, v], i) => {
      const key = keys.indexOf(keys[i] as string) === keys.lastIndexOf(keys[i] as string) ? keys[i] : path;
      return `${key}=${typeof v === "number" ? Number(v.toPrecision(4)) : JSON.stringify(v)}`;
    })
    .join(" ");
}
