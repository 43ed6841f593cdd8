import { describe, expect, it } from "vitest";
import { parseConfigText } from "../../src/config/index.js";
import { ORIGINAL_UNUSED_KEYS } from "../../src/config/originalKeys.js";
import { closestKey, editDistance } from "../../src/config/unknownKeys.js";
import { ConfigError } from "../../src/core/errors.js";

function load(c: Record<string, unknown>) {
  return parseConfigText(JSON.stringify({ symbol: "BTCUSDT", ...c }), "w.jsonc", {}, {});
}

/** The issue lines of a config that must not load. */
function issues(c: Record<string, unknown>): readonly string[] {
  try {
    load(c);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  throw new Error("expected a ConfigError");
}

const talib = (config: Record<string, unknown>) => ({
  generator: "talib",
  config: { columns: ["close"], functions: ["RSI"], ...config },
});

const highlow2 = (config: Record<string, unknown>) => ({
  generator: "highlow2",
  config: {
    columns: ["close", "high", "low"],
    function: "high",
    thresholds: [2.0],
    tolerance: 0.2,
    horizon: 120,
    names: ["high_20"],
    ...config,
  },
});

const rule = (parameters: Record<string, unknown>) => ({
  generator: "threshold_rule",
  config: { columns: "trade_score", names: ["buy", "sell"], parameters },
});

describe("unknown keys inside sections", () => {
  it("are errors with the path and the closest known key: a misspelt cost is not silently 0", () => {
    expect(issues({ backtest: { slipage_bps: 20, taker_fees: 0.0005 } })).toEqual([
      'backtest.slipage_bps: unknown key; did you mean "slippage_bps"?',
      'backtest.taker_fees: unknown key; did you mean "taker_fee"?',
    ]);
  });

  it("are found in nested objects and arrays, all in one pass, in the order written", () => {
    expect(
      issues({
        data_sources: [{ folder: "BTCUSDT", colum_prefix: "" }],
        algorithms: [{ name: "lc", algo: "lc", parms: {} }],
        rolling_predict: { prediction_szie: 10 },
        backtest: { filters: { tick: 0.01 } },
        simulate_model: { topn_to_stor: 5 },
      }),
    ).toEqual([
      'data_sources[0].colum_prefix: unknown key; did you mean "column_prefix"?',
      'algorithms[0].parms: unknown key; did you mean "params"?',
      'rolling_predict.prediction_szie: unknown key; did you mean "prediction_size"?',
      "backtest.filters.tick: unknown key; backtest.filters reads tick_size, step_size, min_notional",
      'simulate_model.topn_to_stor: unknown key; did you mean "topn_to_store"?',
    ]);
  });

  it("list the section's keys when none is close", () => {
    expect(issues({ backtest: { leverage: 3 } })).toEqual([
      "backtest.leverage: unknown key; backtest reads direction, fill_at, taker_fee, maker_fee, slippage_bps, initial_capital, stake_fraction, stake_amount, stop_loss, take_profit, trailing_stop, filters",
    ]);
  });
});

describe("unknown keys inside built-in generator configs", () => {
  it("talib: a misspelt windows is an error, not the default period", () => {
    expect(issues({ feature_sets: [talib({ windws: [14] })] })).toEqual([
      'feature_sets[0].config.windws: unknown key; did you mean "windows"?',
    ]);
  });

  it("highlow2: the missing key names its misspelling, and the misspelling is an error itself", () => {
    const c = highlow2({});
    delete (c.config as Record<string, unknown>).horizon;
    (c.config as Record<string, unknown>).horizn = 120;
    expect(issues({ label_sets: [c] })).toEqual([
      'label_sets[0].config.horizon: expected a positive integer, found nothing (is "horizn" a misspelling of it?)',
      'label_sets[0].config.horizn: unknown key; did you mean "horizon"?',
    ]);
  });

  it("every built-in generator has its own key list, nested parameters included", () => {
    expect(
      issues({
        feature_sets: [
          {
            generator: "itbstats",
            config: { columns: "close", functions: ["mean"], windows: [5], window: 5 },
          },
          talib({ windows: [5], parameters: { rel_bse: "next" } }),
          {
            generator: "common.my_feature_example:my_feature_example",
            config: { columns: "close", function: "add", parameter: 2.0, name: "x" },
          },
        ],
        label_sets: [
          { generator: "highlow", config: { horizon: 10, thresholds: [1] } },
          {
            generator: "topbot2",
            config: { columns: "close", function: "top", level: 0.02, tolerance: [0.1] },
          },
        ],
        signal_sets: [
          { generator: "smoothen", config: { columns: "a", names: "b", windw: 3 } },
          { generator: "combine", config: { columns: ["a", "b"], names: "c", coeficient: 2 } },
          rule({ buy_signal_treshold: 0.1, sell_signal_threshold: -0.1 }),
        ],
      }),
    ).toEqual([
      'feature_sets[0].config.window: unknown key; did you mean "windows"?',
      'feature_sets[1].config.parameters.rel_bse: unknown key; did you mean "rel_base"?',
      'feature_sets[2].config.name: unknown key; did you mean "names"?',
      "label_sets[0].config.thresholds: unknown key; label_sets[0].config reads columns, horizon",
      'label_sets[1].config.tolerance: unknown key; did you mean "tolerances"?',
      'signal_sets[0].config.windw: unknown key; did you mean "window"?',
      'signal_sets[1].config.coeficient: unknown key; did you mean "coefficient"?',
      'signal_sets[2].config.parameters.buy_signal_treshold: unknown key; did you mean "buy_signal_threshold"?',
    ]);
  });

  it("are not checked in custom generators, model params, custom or trading outputs, or trade_model", () => {
    const { warnings } = load({
      feature_sets: [{ generator: "./gen.mjs:range", config: { window: 10, anything: true } }],
      signal_sets: [{ generator: "my-package:score", config: { whatever: 1 } }],
      algorithms: [{ name: "lc", algo: "lc", params: { solver: "lbfgs" }, train: { shifts: [], extra: 1 } }],
      output_sets: [
        { generator: "my-notifier:send", config: { anything: true } },
        { generator: "trader_simulation", config: { buy_signal_column: "buy", extra: 1 } },
      ],
      trade_model: { shadow_mode: true },
    });
    expect(warnings).toEqual([]);
  });
});

describe("unknown keys in the notifiers' configs", () => {
  it("name the closest key, band entries included", () => {
    expect(
      issues({
        output_sets: [
          {
            generator: "score_notification_model",
            config: {
              score_column_names: ["trade_score"],
              notify_band_upp: true,
              positive_bands: [{ edge: 0.01, frequncy: 5, text: "strong" }],
            },
          },
          { generator: "diagram_notification_model", config: { score_column_names: "s", nrow: 288 } },
          { generator: "webhook", config: { url: "http://127.0.0.1:1/hook", event: ["trade"] } },
        ],
      }),
    ).toEqual([
      'output_sets[0].config.notify_band_upp: unknown key; did you mean "notify_band_up"?',
      'output_sets[0].config.positive_bands[0].frequncy: unknown key; did you mean "frequency"?',
      'output_sets[1].config.nrow: unknown key; did you mean "nrows"?',
      'output_sets[2].config.event: unknown key; did you mean "events"?',
    ]);
  });
});

describe("enumerated values", () => {
  it("name the closest allowed value", () => {
    expect(
      issues({
        feature_sets: [
          talib({ windows: [5, 10], parameters: { rel_base: "nxt", rel_func: "relative" }, fill: "lineer" }),
          {
            generator: "itbstats",
            config: { columns: "close", functions: ["mean", "scipy_skw"], windows: [5] },
          },
        ],
        label_sets: [highlow2({ function: "hihg" })],
        signal_sets: [
          { generator: "combine", config: { columns: ["a", "b"], names: "c", combine: "diference" } },
        ],
      }),
    ).toEqual([
      'feature_sets[0].config.parameters.rel_base: "nxt" is not one of "next", "last", "prev", "first"; did you mean "next"?',
      'feature_sets[0].config.parameters.rel_func: "relative" is not one of "diff", "rel", "rel_diff"',
      'feature_sets[0].config.fill: "lineer" is not one of "ffill", "linear"; did you mean "linear"?',
      'feature_sets[1].config.functions[1]: "scipy_skw" is not one of "scipy_skew", "pandas_skew", "scipy_kurtosis", "pandas_kurtosis", "lsbm", "fmax", "mean", "std", "area", "slope"; did you mean "scipy_skew"?',
      'label_sets[0].config.function: "hihg" is not one of "high", "low"; did you mean "high"?',
      'signal_sets[0].config.combine: "diference" is not one of "relative", "difference", "no_combine"; did you mean "difference"?',
    ]);
  });

  it("accept the original's ways of leaving an option unset, and any case for itbstats functions", () => {
    const { config } = load({
      feature_sets: [
        talib({ windows: [5], parameters: { rel_base: false, rel_func: null, percentage: null } }),
        { generator: "itbstats", config: { columns: "close", functions: ["SCIPY_SKEW"], windows: [5] } },
      ],
      signal_sets: [
        { generator: "combine", config: { columns: ["a", "b"], names: "c", combine: "" } },
        { generator: "combine", config: { columns: ["a", "b"], names: "d", combine: "no_combine" } },
        { generator: "combine", config: { columns: ["a", "b"], names: "e" } },
      ],
    });
    expect(config.signal_sets.map((s) => s.config.combine)).toEqual(["", "no_combine", undefined]);
  });
});

describe("simulate_model.grid", () => {
  it("names a misspelt axis where it is written, against the searched rule's parameters", () => {
    expect(
      issues({
        signal_sets: [rule({ buy_signal_threshold: 0.1, sell_signal_threshold: -0.1 })],
        simulate_model: { grid: { buy_signal_treshold: [0.1, 0.2], sell_signal_threshold: [-0.1] } },
      }),
    ).toEqual([
      'simulate_model.grid.buy_signal_treshold: unknown parameter of threshold_rule (signal_sets[0]); did you mean "buy_signal_threshold"?',
    ]);
  });

  it("follows simulate_model.signal_generator, and lists the parameters when none is close", () => {
    expect(
      issues({
        signal_sets: [
          { generator: "threshold_rule2", config: { columns: ["a", "b"], names: ["buy", "sell"] } },
          rule({ buy_signal_threshold: 0.1, sell_signal_threshold: -0.1 }),
        ],
        simulate_model: { signal_generator: "threshold_rule2", grid: { window: [1, 2] } },
      }),
    ).toEqual([
      "simulate_model.grid.window: unknown parameter of threshold_rule2 (signal_sets[0]); it reads buy_signal_threshold, buy_signal_threshold_2, sell_signal_threshold, sell_signal_threshold_2",
    ]);
  });

  it("is not checked against a custom generator", () => {
    expect(() =>
      load({
        signal_sets: [{ generator: "./rule.mjs:rule", config: {} }],
        simulate_model: { signal_generator: "./rule.mjs:rule", grid: { level: [1, 2] } },
      }),
    ).not.toThrow();
  });
});

describe("top-level keys", () => {
  it("one or two edits from a known key are errors", () => {
    expect(issues({ rolling_predikt: {}, simulate_modle: {}, lables: [] })).toEqual([
      'rolling_predikt: unknown key; did you mean "rolling_predict"?',
      'simulate_modle: unknown key; did you mean "simulate_model"?',
      'lables: unknown key; did you mean "labels"?',
    ]);
  });

  it("that nothing reads are errors too, and say how to keep a private key", () => {
    expect(issues({ my_custom_setting: 1 })).toEqual([
      'my_custom_setting: unknown key; itb does not read it (a top-level key starting with "_" is not checked)',
    ]);
  });

  it('starting with "_" are the user\'s own: kept, not checked, not reported', () => {
    const { config, warnings } = load({ _note: "tuned on 2023", _my_generator: { k: 1 } });
    expect(warnings).toEqual([]);
    expect((config as Record<string, unknown>)._note).toBe("tuned on 2023");
  });

  it("of the original's configs that itb does not use are warnings, and the config loads", () => {
    const { warnings } = load({
      train_signal_model: {},
      score_notification_model: { score_notification: true },
      base_asset: "BTC",
      collector: {},
    });
    expect(warnings).toEqual([
      'train_signal_model: not used by itb (the original\'s older name of "simulate_model"; itb reads "simulate_model" only)',
      'score_notification_model: not used by itb (the original\'s older notifier section; outputs are "output_sets" entries)',
      "base_asset: not used by itb (the original's live trader's base asset; itb does not trade live yet)",
      "collector: not used by itb (the original's vestigial depth/stream collector settings)",
    ]);
  });

  it("the original's list holds no key itb reads", () => {
    const { config } = load({});
    for (const key of Object.keys(ORIGINAL_UNUSED_KEYS)) expect(Object.hasOwn(config, key)).toBe(false);
    expect(Object.keys(ORIGINAL_UNUSED_KEYS)).toHaveLength(26);
  });

  it("warnings are collected along with duplicate keys", () => {
    const text = '{"symbol": "BTCUSDT", "freq": "1m", "freq": "1h", "model": {}}';
    expect(parseConfigText(text, "d.jsonc", {}, {}).warnings).toEqual([
      'duplicate key "freq" at freq (d.jsonc:1); the last one wins',
      'model: not used by itb (the original\'s early model section; itb reads "algorithms")',
    ]);
  });
});

describe("edit distance", () => {
  it("counts a swap of neighbours as one edit", () => {
    expect(editDistance("simulate_modle", "simulate_model")).toBe(1);
    expect(editDistance("freq", "freq")).toBe(0);
    expect(editDistance("", "abc")).toBe(3);
    expect(editDistance("kitten", "sitting")).toBe(3);
  });

  it("suggests only close keys", () => {
    expect(closestKey("frq", ["freq", "symbol"])).toBe("freq");
    expect(closestKey("zzzz", ["freq", "symbol"])).toBeUndefined();
  });
});
