import { describe, expect, it } from "vitest";
import { ConfigError, DataError } from "../../src/core/errors.js";
import { Frame } from "../../src/core/frame.js";
import { compileSignalSets, runSignalSets, type SignalSetInput } from "../../src/signals/index.js";

const combine = {
  generator: "combine",
  config: { columns: ["u", "d"], names: "trade_score", combine: "difference" },
};
const rule = (config: Record<string, unknown>): SignalSetInput => ({ generator: "threshold_rule", config });
const goodRule = rule({
  columns: "trade_score",
  names: ["buy", "sell"],
  parameters: { buy_signal_threshold: 0.05, sell_signal_threshold: -0.05 },
});

function configError(sets: SignalSetInput[]): ConfigError {
  try {
    compileSignalSets(sets);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).exitCode).toBe(2);
    return err as ConfigError;
  }
  throw new Error("expected a ConfigError");
}

describe("signal_sets config errors name the JSON path", () => {
  it.each([
    [
      "combine with one column",
      [{ generator: "combine", config: { columns: ["u"], names: "s" } }],
      "signal_sets[0].config.columns: expected a list of exactly 2 column names, got 1 name(s)",
    ],
    [
      "combine with a string column",
      [{ generator: "combine", config: { columns: "u", names: "s" } }],
      'signal_sets[0].config.columns: expected a list of exactly 2 column names, got string "u"',
    ],
    [
      "smoothen without names",
      [combine, { generator: "smoothen", config: { columns: ["u"] } }],
      "signal_sets[1].config.names: expected the output column name (a non-empty string), got nothing",
    ],
    [
      "smoothen with empty columns",
      [{ generator: "smoothen", config: { columns: [], names: "m" } }],
      "signal_sets[0].config.columns: expected a column name or a non-empty list of column names, got 0 name(s)",
    ],
    [
      "smoothen with a window of 0",
      [{ generator: "smoothen", config: { columns: "u", names: "m", window: 0 } }],
      "signal_sets[0].config.window: expected a number >= 1",
    ],
    [
      "smoothen with ewm but no window",
      [{ generator: "smoothen", config: { columns: "u", names: "m", ewm: true } }],
      "signal_sets[0].config.ewm: needs a window",
    ],
    [
      "a misspelt key",
      [{ generator: "smoothen", config: { columns: "u", names: "m", windw: 3 } }],
      "signal_sets[0].config.windw: unknown key; the generator reads columns, names, point_threshold, window, ewm",
    ],
    [
      "threshold_rule without a threshold",
      [
        combine,
        rule({ columns: "trade_score", names: ["b", "s"], parameters: { buy_signal_threshold: 0.1 } }),
      ],
      "signal_sets[1].config.parameters.sell_signal_threshold: expected a number, got nothing (the key is missing)",
    ],
    [
      "threshold_rule with a string threshold",
      [
        rule({
          columns: "x",
          names: ["b", "s"],
          parameters: { buy_signal_threshold: "0.1", sell_signal_threshold: 0 },
        }),
      ],
      'signal_sets[0].config.parameters.buy_signal_threshold: expected a number, got string "0.1"',
    ],
    [
      "threshold_rule without parameters",
      [rule({ columns: "x", names: ["b", "s"] })],
      "signal_sets[0].config.parameters: expected an object, got nothing",
    ],
    [
      "threshold_rule with one name",
      [rule({ columns: "x", names: "buy", parameters: {} })],
      'signal_sets[0].config.names: expected a list of exactly 2 column names, got string "buy"',
    ],
    [
      "threshold_rule2 with one column",
      [{ generator: "threshold_rule2", config: { columns: ["x"], names: ["b", "s"], parameters: {} } }],
      "signal_sets[0].config.columns: expected a list of exactly 2 column names, got 1 name(s)",
    ],
    [
      "a non-string column name",
      [{ generator: "smoothen", config: { columns: ["u", 3], names: "m" } }],
      "signal_sets[0].config.columns[1]: expected a column name, got number 3",
    ],
    [
      "the same output twice",
      [
        rule({
          columns: "x",
          names: ["b", "b"],
          parameters: { buy_signal_threshold: 0, sell_signal_threshold: 0 },
        }),
      ],
      'signal_sets[0].config.names: the output column "b" is named twice',
    ],
    [
      "an unknown generator",
      [{ generator: "smoothn", config: {} }],
      'signal_sets[0].generator: unknown signal generator "smoothn"; expected one of smoothen, combine, threshold_rule, threshold_rule2',
    ],
  ])("%s", (_what, sets, message) => {
    const err = configError(sets as SignalSetInput[]);
    expect(err.message).toContain(message);
    expect(err.issues[0]).toBe(err.message);
  });

  it("a valid chain compiles, with prefixes applied to the frame names", () => {
    const steps = compileSignalSets([{ ...combine, column_prefix: "btc", feature_prefix: "p" }, goodRule]);
    expect(steps.map((s) => [s.path, s.inputs, s.outputs, s.roles])).toEqual([
      ["signal_sets[0]", ["btc_u", "btc_d"], ["p_trade_score"], [undefined]],
      ["signal_sets[1]", ["trade_score"], ["buy", "sell"], ["buy", "sell"]],
    ]);
  });
});

describe("a column missing from the data", () => {
  it("is a DataError naming the entry, the column and the columns present", () => {
    const f = new Frame(new Float64Array([0, 1]), [
      ["u", new Float64Array([0.5, 0.25])],
      ["d", new Float64Array([0.25, 0.5])],
    ]);
    const sets = [combine, rule({ ...goodRule.config, columns: "trade_scor" })];
    let err: unknown;
    try {
      runSignalSets(f, sets);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DataError);
    expect((err as DataError).exitCode).toBe(1);
    expect((err as DataError).message).toBe(
      'signal_sets[1] (threshold_rule): column "trade_scor" not found; columns are: u, d, trade_score',
    );
  });
});
