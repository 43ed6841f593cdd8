import { describe, expect, it } from "vitest";
import { loadConfig, parseConfigText } from "../../src/config/index.js";
import { ConfigError } from "../../src/core/errors.js";

/** A small valid config; each broken case changes one thing in a copy. */
function base(): Record<string, unknown> {
  return {
    symbol: "BTCUSDT",
    freq: "1m",
    data_sources: [{ folder: "BTCUSDT" }],
    feature_sets: [
      { generator: "talib", config: { columns: ["close"], functions: ["SMA"], windows: [1, 5] } },
      { generator: "talib", config: { columns: ["close"], functions: ["STDDEV"], windows: [5, 10, 15] } },
    ],
    label_sets: [
      {
        generator: "highlow2",
        config: {
          columns: ["close", "high", "low"],
          function: "high",
          thresholds: [2.0],
          tolerance: 0.2,
          horizon: 120,
          names: ["high_20"],
        },
      },
    ],
    algorithms: [{ name: "lc", algo: "lc", params: { C: 1.0 } }],
    signal_sets: [{ generator: "combine", config: {} }],
  };
}

type Edit = (c: Record<string, unknown>) => void;

function at(c: Record<string, unknown>, ...path: (string | number)[]): Record<string, unknown> {
  let v: unknown = c;
  for (const k of path) v = (v as Record<string | number, unknown>)[k];
  return v as Record<string, unknown>;
}

function issuesOf(edit: Edit): readonly string[] {
  const c = base();
  edit(c);
  try {
    parseConfigText(JSON.stringify(c), "broken.jsonc", {}, {});
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  throw new Error("expected a ConfigError");
}

describe("validation", () => {
  it("accepts the base config", () => {
    const { config, warnings } = parseConfigText(JSON.stringify(base()), "ok.jsonc", {}, {});
    expect(warnings).toEqual([]);
    expect(config.label_horizon).toBe(120); // the largest label horizon when not set
  });

  const cases: [string, Edit, string | string[]][] = [
    [
      "wrong type",
      (c) => {
        c.label_horizon = "120";
      },
      'label_horizon: expected a non-negative integer, found "120"',
    ],
    [
      "negative number",
      (c) => {
        c.train_length = -1;
      },
      "train_length: expected a non-negative integer, found -1",
    ],
    [
      "fractional number",
      (c) => {
        c.merge_max_gap = 2.5;
      },
      "merge_max_gap: expected a non-negative integer, found 2.5",
    ],
    [
      "unknown feature generator",
      (c) => {
        at(c, "feature_sets", 1).generator = "taleb";
      },
      'feature_sets[1].generator: unknown generator "taleb"; expected one of talib, itbstats, itblib, tsfresh or "<module>:<export>"',
    ],
    [
      "unknown label generator",
      (c) => {
        at(c, "label_sets", 0).generator = "highlow3";
      },
      'label_sets[0].generator: unknown generator "highlow3"; expected one of highlow, highlow2, topbot, topbot2 or "<module>:<export>"',
    ],
    [
      "unknown signal generator",
      (c) => {
        at(c, "signal_sets", 0).generator = "combined";
      },
      'signal_sets[0].generator: unknown generator "combined"; expected one of smoothen, combine, threshold_rule, threshold_rule2 or "<module>:<export>"',
    ],
    [
      "every_nth_row below 1",
      (c) => {
        at(c, "algorithms", 0).train = { every_nth_row: 0 };
      },
      "algorithms[0].train.every_nth_row: expected a positive integer, found 0",
    ],
    [
      "a negative taker fee",
      (c) => {
        c.backtest = { taker_fee: -0.001 };
      },
      "backtest.taker_fee: expected a fee fraction from 0 to 0.1, found -0.001",
    ],
    [
      "both stakes",
      (c) => {
        c.backtest = { stake_fraction: 0.5, stake_amount: 100 };
      },
      "backtest: set either stake_fraction or stake_amount, not both",
    ],
    [
      "freq as a month",
      (c) => {
        c.freq = "1M";
      },
      'freq: expected a frequency such as 1m, 5min, 15m, 1h, 4h, 1d or 1D (a month has no fixed length), found "1M"',
    ],
    [
      "freq unparseable",
      (c) => {
        c.freq = "3x";
      },
      'freq: expected a frequency such as 1m, 5min, 15m, 1h, 4h, 1d or 1D, found "3x"',
    ],
    [
      "negative window",
      (c) => {
        at(c, "feature_sets", 1, "config").windows = [5, 10, -5];
      },
      "feature_sets[1].config.windows[2]: expected a positive integer, found -5",
    ],
    [
      "talib without functions",
      (c) => {
        at(c, "feature_sets", 0, "config").functions = [];
      },
      "feature_sets[0].config.functions: expected at least one TA-Lib function name, found []",
    ],
    [
      "talib columns of the wrong type",
      (c) => {
        at(c, "feature_sets", 0, "config").columns = 5;
      },
      "feature_sets[0].config.columns: expected a column name, an array of column names or an object mapping TA-Lib inputs to columns, found 5",
    ],
    [
      "bad date in rolling_predict",
      (c) => {
        c.rolling_predict = { data_start: "2020-02-31 00:00:00" };
      },
      'rolling_predict.data_start: expected a date such as "2023-02-01" (YYYY-MM, YYYY-MM-DD, an ISO time or epoch ms), found "2020-02-31 00:00:00"',
    ],
    [
      "bad market",
      (c) => {
        at(c, "data_sources", 0).market = "coin";
      },
      'data_sources[0].market: expected "spot" or "um", found "coin"',
    ],
    [
      "column prefix of the wrong type",
      (c) => {
        at(c, "data_sources", 0).column_prefix = 5;
      },
      "data_sources[0].column_prefix: expected a string, found 5",
    ],
    [
      "duplicate column prefix",
      (c) => {
        c.data_sources = [{ folder: "BTCUSDT" }, { folder: "ETHUSDT", market: "um" }];
      },
      'data_sources[1].column_prefix: expected a column_prefix not used by data_sources[0], found ""',
    ],
    [
      "bad date",
      (c) => {
        c.download_start = "2023-13-01";
      },
      'download_start: expected a date such as "2023-02-01" (YYYY-MM, YYYY-MM-DD, an ISO time or epoch ms), found "2023-13-01"',
    ],
    [
      "a day the month does not have",
      (c) => {
        c.download_start = "2023-02-30";
      },
      'download_start: expected a date such as "2023-02-01" (YYYY-MM, YYYY-MM-DD, an ISO time or epoch ms), found "2023-02-30"',
    ],
    [
      "end before start",
      (c) => {
        c.download_start = "2023-05-01";
        c.download_end = "2023-02-01";
      },
      'download_end: expected a time after download_start ("2023-05-01"), found "2023-02-01"',
    ],
    [
      "highlow2 function",
      (c) => {
        at(c, "label_sets", 0, "config").function = "mid";
      },
      'label_sets[0].config.function: "mid" is not one of "high", "low"',
    ],
    [
      "highlow2 horizon",
      (c) => {
        at(c, "label_sets", 0, "config").horizon = 0;
      },
      "label_sets[0].config.horizon: expected a positive integer, found 0",
    ],
    [
      "highlow2 names per threshold",
      (c) => {
        at(c, "label_sets", 0, "config").thresholds = [1.0, 2.0];
      },
      'label_sets[0].config.names: expected one name per threshold (2), found ["high_20"]',
    ],
    [
      "highlow2 missing tolerance",
      (c) => {
        delete at(c, "label_sets", 0, "config").tolerance;
      },
      "label_sets[0].config.tolerance: expected a number, found nothing",
    ],
    [
      "duplicate algorithm name",
      (c) => {
        c.algorithms = [
          { name: "lc", algo: "lc" },
          { name: "lc", algo: "gb" },
        ];
      },
      'algorithms[1].name: expected a name not used by algorithms[0], found "lc"',
    ],
    [
      "object where an array belongs (abbreviated)",
      (c) => {
        c.train_features = { a: 1, b: [1, 2], c: "x", d: null };
      },
      'train_features: expected an array of strings, found {"a": 1, "b": […], "c": "x", … (4 keys)}',
    ],
    [
      "long array (abbreviated)",
      (c) => {
        c.symbol = ["BTCUSDT", 2, [3], { x: 4 }, 5];
      },
      'symbol: expected a non-empty string, found ["BTCUSDT", 2, […], … (5 items)]',
    ],
    [
      "store name with an unknown extension",
      (c) => {
        c.merge_file_name = "data.txt";
      },
      'merge_file_name: expected a file name without extension (Parquet) or ending in .parquet or .csv, found "data.txt"',
    ],
    [
      "venue that is not a ccxt id",
      (c) => {
        c.venue = "Binance";
      },
      'venue: expected a ccxt exchange id such as "binance", found "Binance"',
    ],
    [
      "exchange_url that is not http",
      (c) => {
        c.exchange_url = "ftp://example.com";
      },
      'exchange_url: expected an http(s) URL, found "ftp://example.com"',
    ],
    [
      "boolean",
      (c) => {
        c.merge_interpolate = "yes";
      },
      'merge_interpolate: expected true or false, found "yes"',
    ],
    [
      "missing symbol, with the misspelling next to it",
      (c) => {
        delete c.symbol;
        c.symbl = "BTCUSDT";
      },
      [
        'symbol: expected a non-empty string, found nothing (is "symbl" a misspelling of it?)',
        'symbl: unknown key; did you mean "symbol"?',
      ],
    ],
    [
      "a data source interval that is not a Binance interval",
      (c) => {
        at(c, "data_sources", 0).interval = "7m";
      },
      'data_sources[0].interval: expected a Binance kline interval (1s, 1m, 3m, 5m, 15m, 30m, 1h, 2h, 4h, 6h, 8h, 12h, 1d, 3d, 1w), found "7m"',
    ],
    [
      "a data source interval coarser than freq",
      (c) => {
        at(c, "data_sources", 0).interval = "1h";
      },
      'data_sources[0].interval: expected an interval that freq "1m" is a whole multiple of (merge aggregates finer candles onto the grid), found "1h"',
    ],
    [
      "a data source interval that does not divide freq",
      (c) => {
        c.freq = "5m";
        at(c, "data_sources", 0).interval = "3m";
      },
      'data_sources[0].interval: expected an interval that freq "5m" is a whole multiple of (merge aggregates finer candles onto the grid), found "3m"',
    ],
  ];

  it.each(cases)("%s", (_name, edit, line) => {
    expect(issuesOf(edit)).toEqual([line].flat());
  });

  it("collects every issue into one error", () => {
    const c = base();
    c.label_horizon = "120";
    c.freq = "3x";
    at(c, "feature_sets", 1).generator = "taleb";
    try {
      parseConfigText(JSON.stringify(c), "many.jsonc", {}, {});
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const e = err as ConfigError;
      expect(e.issues).toEqual([
        'freq: expected a frequency such as 1m, 5min, 15m, 1h, 4h, 1d or 1D, found "3x"',
        'feature_sets[1].generator: unknown generator "taleb"; expected one of talib, itbstats, itblib, tsfresh or "<module>:<export>"',
        'label_horizon: expected a non-negative integer, found "120"',
      ]);
      expect(e.message).toBe(`config many.jsonc is invalid:\n${e.issues.map((l) => `  ${l}`).join("\n")}`);
      expect(e.exitCode).toBe(2);
    }
  });

  it("checks a talib set without a config as an empty one", () => {
    expect(
      issuesOf((c) => {
        delete at(c, "feature_sets", 0).config;
      }),
    ).toEqual([
      "feature_sets[0].config.columns: expected a column name, an array of column names or an object mapping TA-Lib inputs to columns, found nothing",
      "feature_sets[0].config.functions: expected an array of TA-Lib function names, found nothing",
    ]);
  });

  it("reports a top level that is not an object", () => {
    expect(() => parseConfigText("[1, 2]", "arr.jsonc", {}, {})).toThrow(
      "config arr.jsonc is invalid:\n  (top level): expected an object, found an array",
    );
  });

  it("reports a missing file", () => {
    const path = "/nonexistent/dir/itb-config.jsonc";
    let error: unknown;
    try {
      loadConfig(path, {}, {});
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toBe(`config file not found: ${path}`);
    expect((error as ConfigError).exitCode).toBe(2);
  });

  it("accepts custom generators written module:export", () => {
    const c = base();
    at(c, "feature_sets", 1).generator = "./my-features.js:momentum";
    at(c, "label_sets", 0).generator = "@me/labels:first_cross";
    const { config } = parseConfigText(JSON.stringify(c), "custom.jsonc", {}, {});
    expect(config.feature_sets[1]?.generator).toBe("./my-features.js:momentum");
  });

  it("accepts a data source interval finer than freq, in either spelling, and the original's chunk_size", () => {
    const c = {
      ...base(),
      freq: "1h",
      data_sources: [{ folder: "BTCUSDT", interval: "1min", chunk_size: 1000 }],
    };
    const { config, warnings } = parseConfigText(JSON.stringify(c), "i.jsonc", {}, {});
    expect(config.data_sources).toEqual([
      {
        folder: "BTCUSDT",
        file: "klines",
        column_prefix: "",
        market: "spot",
        interval: "1min",
        chunk_size: 1000,
      },
    ]);
    expect(warnings).toEqual([]);
  });

  it("accepts every frequency spelling of the original and of Binance", () => {
    for (const freq of ["1min", "5min", "1h", "1H", "1D", "1m", "5m", "1d"]) {
      const { config } = parseConfigText(JSON.stringify({ ...base(), freq }), "f.jsonc", {}, {});
      expect(config.freq).toBe(freq);
    }
  });
});
