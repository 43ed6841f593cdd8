import { describe, expect, it } from "vitest";
import { parseConfigText } from "../../src/config/index.js";
import { closestKey, editDistance } from "../../src/config/unknown-keys.js";

function load(c: Record<string, unknown>) {
  return parseConfigText(JSON.stringify({ symbol: "BTCUSDT", ...c }), "w.jsonc", {}, {});
}

describe("unknown keys", () => {
  it("are warnings with the path and the closest known key, not errors", () => {
    const { warnings, config } = load({ simulate_modle: { grid: {} } });
    expect(warnings).toEqual([
      'unknown key "simulate_modle" at simulate_modle; did you mean "simulate_model"?',
    ]);
    // Kept: custom code may read keys itb does not know.
    expect((config as Record<string, unknown>).simulate_modle).toEqual({ grid: {} });
  });

  it("are found in nested objects and arrays", () => {
    const { warnings } = load({
      data_sources: [{ folder: "BTCUSDT", colum_prefix: "" }],
      algorithms: [{ name: "lc", algo: "lc", parms: {} }],
      rolling_predict: { prediction_szie: 10 },
    });
    expect(warnings).toEqual([
      'unknown key "colum_prefix" at data_sources[0].colum_prefix; did you mean "column_prefix"?',
      'unknown key "parms" at algorithms[0].parms; did you mean "params"?',
      'unknown key "prediction_szie" at rolling_predict.prediction_szie; did you mean "prediction_size"?',
    ]);
  });

  it("suggest nothing when no known key is close", () => {
    expect(load({ my_custom_setting: 1 }).warnings).toEqual([
      'unknown key "my_custom_setting" at my_custom_setting',
    ]);
  });

  it("name the original's older keys", () => {
    expect(load({ train_signal_model: {} }).warnings).toEqual([
      'unknown key "train_signal_model" at train_signal_model; the original\'s older name, itb reads "simulate_model"',
    ]);
  });

  it("are not reported inside generator configs, model params or trade_model", () => {
    const { warnings } = load({
      feature_sets: [
        {
          generator: "talib",
          config: { columns: "close", functions: ["SMA"], windows: [5], args: { x: 1 } },
        },
      ],
      algorithms: [{ name: "lc", algo: "lc", params: { solver: "lbfgs" }, train: { shifts: [], extra: 1 } }],
      output_sets: [{ generator: "score_notification_model", config: { notify_band_up: true } }],
      trade_model: { shadow_mode: true },
    });
    expect(warnings).toEqual([]);
  });

  it("are collected along with duplicate keys", () => {
    const text = '{"symbol": "BTCUSDT", "freq": "1m", "freq": "1h", "lables": []}';
    expect(parseConfigText(text, "d.jsonc", {}, {}).warnings).toEqual([
      'duplicate key "freq" at freq (d.jsonc:1); the last one wins',
      'unknown key "lables" at lables; did you mean "labels"?',
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
