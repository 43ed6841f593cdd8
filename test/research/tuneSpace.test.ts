import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parseConfigText, parseJsonc } from "../../src/config/index.js";
import { UsageError } from "../../src/core/errors.js";
import {
  applyParams,
  parsePath,
  parseSpace,
  resolveSpace,
  shortParams,
} from "../../src/research/tune/space.js";
import { ROOT } from "../helpers/paths.js";

/** The search space: its file format, its paths into a config, and trials' values applied to the config text. */

const DEMO = resolve(ROOT, "configs/demo.jsonc");
const demoText = readFileSync(DEMO, "utf8");

function spaceError(text: string): string {
  try {
    parseSpace(text, "space.jsonc");
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error("no error");
}

function resolveError(parameters: object): string {
  try {
    resolveSpace(parseSpace(JSON.stringify({ parameters }), "space.jsonc"), demoText, "demo.jsonc");
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error("no error");
}

describe("space file", () => {
  it("reads the three kinds of spec and the path steps", () => {
    const s = parseSpace(
      `{ // comment
        "parameters": {
          "algorithms[name=lc].params.C": { "float": [0.01, 10], "log": true },
          "feature_sets[0].config.windows": { "choice": [[1, 5], [1, 5, 60]] },
          "label_horizon": { "int": [60, 120] },
        } }`,
      "space.jsonc",
    );
    expect(s.parameters.map((p) => p.spec)).toEqual([
      { kind: "float", low: 0.01, high: 10, log: true },
      {
        kind: "choice",
        values: [
          [1, 5],
          [1, 5, 60],
        ],
      },
      { kind: "int", low: 60, high: 120, log: false },
    ]);
    expect(parsePath("signal_sets[1].config.parameters.buy_signal_threshold")).toEqual([
      { key: "signal_sets" },
      { index: 1 },
      { key: "config" },
      { key: "parameters" },
      { key: "buy_signal_threshold" },
    ]);
  });

  it("names the file, the parameter and what is wrong", () => {
    expect(spaceError("[1]")).toBe('space.jsonc: (top level): expected an object { "parameters": { ... } }');
    expect(spaceError('{"parameters": {}, "trials": 3}')).toBe(
      'space.jsonc: "trials": unknown key (a space file has "parameters" only)',
    );
    expect(spaceError('{"parameters": {}}')).toBe(
      'space.jsonc: parameters: expected an object with at least one "<config path>": spec',
    );
    expect(spaceError('{"parameters": {"a..b": {"float": [0, 1]}}}')).toBe(
      'space.jsonc: parameters."a..b": not a config path: unexpected "." at character 3',
    );
    expect(spaceError('{"parameters": {"a[x]": {"float": [0, 1]}}}')).toBe(
      'space.jsonc: parameters."a[x]": not a config path: unexpected "[x]" at character 2',
    );
    expect(spaceError('{"parameters": {"a": {"float": [1, 1]}}}')).toBe(
      'space.jsonc: parameters."a": "float": low (1) must be below high (1)',
    );
    expect(spaceError('{"parameters": {"a": {"int": [1.5, 3]}}}')).toBe(
      'space.jsonc: parameters."a": "int": low and high must be integers, got [1.5, 3]',
    );
    expect(spaceError('{"parameters": {"a": {"float": [0, 1], "log": true}}}')).toBe(
      'space.jsonc: parameters."a": "log": true needs low > 0, got 0',
    );
    expect(spaceError('{"parameters": {"a": {"choice": []}}}')).toBe(
      'space.jsonc: parameters."a": "choice": expected a non-empty list of values',
    );
    expect(spaceError('{"parameters": {"a": {"float": [0, 1], "int": [0, 1]}}}')).toBe(
      'space.jsonc: parameters."a": expected exactly one of "float", "int" and "choice"',
    );
    expect(spaceError('{"parameters": {"a": {"float": [0, 1], "step": 2}}}')).toBe(
      'space.jsonc: parameters."a": unknown key(s) "step" (expected "log")',
    );
  });

  it("says which part of a config path does not exist", () => {
    expect(resolveError({ "algorithms[name=gb].params.num_leaves": { int: [4, 64] } })).toBe(
      'space.jsonc: parameters."algorithms[name=gb].params.num_leaves": algorithms[name=gb] does not exist (names in algorithms: lc) in demo.jsonc',
    );
    expect(resolveError({ "feature_sets[9].config.windows": { choice: [[1]] } })).toBe(
      'space.jsonc: parameters."feature_sets[9].config.windows": feature_sets[9] does not exist (feature_sets has 5 element(s)) in demo.jsonc',
    );
    expect(resolveError({ "rolling_predictt.prediction_size": { int: [1, 9] } })).toBe(
      'space.jsonc: parameters."rolling_predictt.prediction_size": rolling_predictt does not exist in demo.jsonc',
    );
    expect(resolveError({ "label_horizon.x": { int: [1, 9] } })).toBe(
      'space.jsonc: parameters."label_horizon.x": label_horizon is not an object, so it has no key "x" in demo.jsonc',
    );
    expect(resolveError({ "symbol[0]": { int: [1, 9] } })).toBe(
      'space.jsonc: parameters."symbol[0]": symbol is not a list, so [0] selects nothing in demo.jsonc',
    );
  });

  it("applies values in place: comments kept, the config reads them back, a new key is added", () => {
    const space = parseSpace(
      JSON.stringify({
        parameters: {
          "algorithms[name=lc].params.C": { float: [0.01, 10], log: true },
          "algorithms[name=lc].params.tol": { float: [1e-6, 1e-3], log: true },
          "feature_sets[0].config.windows": { choice: [[1, 5, 10, 15, 60]] },
          "signal_sets[1].config.parameters.buy_signal_threshold": { float: [0, 0.2] },
          label_horizon: { int: [60, 240] },
        },
      }),
      "space.jsonc",
    );
    const paths = resolveSpace(space, demoText, DEMO);
    const values = {
      "algorithms[name=lc].params.C": 0.125,
      "algorithms[name=lc].params.tol": 0.0005,
      "feature_sets[0].config.windows": [1, 5, 10, 15, 60, 240],
      "signal_sets[1].config.parameters.buy_signal_threshold": 0.0375,
      label_horizon: 180,
    };
    const text = applyParams(demoText, paths, values);
    // the comments and the untouched lines are still there
    expect(text).toContain("// === FINDING THE BEST SIGNAL THRESHOLDS ===");
    expect(text).toContain('"max_iter": 100');
    const loaded = parseConfigText(text, DEMO);
    const c = loaded.config;
    const lc = c.algorithms.find((a) => a.name === "lc");
    expect(lc?.params).toEqual({ penalty: "l2", C: 0.125, max_iter: 100, tol: 0.0005 });
    expect(c.feature_sets[0]?.config.windows).toEqual([1, 5, 10, 15, 60, 240]);
    expect(
      (c.signal_sets[1]?.config.parameters as Record<string, number> | undefined)?.buy_signal_threshold,
    ).toBe(0.0375);
    expect(c.label_horizon).toBe(180);
    // everything else as in the base config: only the five values differ
    const raw = parseJsonc(text, DEMO).value as Record<string, unknown>;
    const baseRaw = parseJsonc(demoText, DEMO).value as Record<string, unknown>;
    expect({ ...raw, algorithms: null, feature_sets: null, signal_sets: null, label_horizon: null }).toEqual({
      ...baseRaw,
      algorithms: null,
      feature_sets: null,
      signal_sets: null,
      label_horizon: null,
    });
    // the base values applied again give the base config's hash back
    const back = applyParams(text, paths, {
      "algorithms[name=lc].params.C": 1.0,
      "feature_sets[0].config.windows": [1, 5, 10, 15, 60],
      "signal_sets[1].config.parameters.buy_signal_threshold": 0.05,
      label_horizon: 120,
    });
    const withTol = parseConfigText(back, DEMO);
    expect(withTol.hash).not.toBe(parseConfigText(demoText, DEMO).hash); // tol is still set
    const noTol = back.replace(/,\s*"tol": 0\.0005/, "");
    expect(parseConfigText(noTol, DEMO).hash).toBe(parseConfigText(demoText, DEMO).hash);
    expect(shortParams(values)).toBe(
      "C=0.125 tol=0.0005 windows=[1,5,10,15,60,240] buy_signal_threshold=0.0375 label_horizon=180",
    );
    expect(
      shortParams({ "label_sets[0].config.thresholds": [2], "label_sets[1].config.thresholds": [3], x: 1 }),
    ).toBe("label_sets[0].config.thresholds=[2] label_sets[1].config.thresholds=[3] x=1");
  });
});
