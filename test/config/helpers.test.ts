import { describe, expect, it } from "vitest";
import {
  configDownloadRange,
  configFreq,
  isKnownGenerator,
  parseConfigText,
  parseCustomGenerator,
  storeFileName,
} from "../../src/config/index.js";

describe("storeFileName", () => {
  it("adds .parquet only when there is no extension", () => {
    expect(storeFileName("data")).toBe("data.parquet");
    expect(storeFileName("data.csv")).toBe("data.csv");
    expect(storeFileName("data.parquet")).toBe("data.parquet");
    expect(storeFileName("sub.dir/klines")).toBe("sub.dir/klines.parquet");
  });
});

describe("configFreq and configDownloadRange", () => {
  it("parse the validated strings", () => {
    const { config } = parseConfigText(
      '{"symbol": "BTCUSDT", "freq": "1H", "download_start": "2023-02", "download_end": "2023-05-01"}',
      "f.jsonc",
      {},
      {},
    );
    expect(configFreq(config)).toEqual({ ms: 3_600_000, binance: "1h", pandas: "1h" });
    expect(configDownloadRange(config)).toEqual({
      start: Date.UTC(2023, 1, 1),
      end: Date.UTC(2023, 4, 1),
    });
  });

  it("leave an unset range undefined (null as in the original)", () => {
    const { config } = parseConfigText('{"symbol": "BTCUSDT", "download_end": null}', "f.jsonc", {}, {});
    expect(configDownloadRange(config)).toEqual({ start: undefined, end: undefined });
  });
});

describe("generator names", () => {
  it("accept built-ins of their kind and module:export", () => {
    expect(isKnownGenerator("feature", "talib")).toBe(true);
    expect(isKnownGenerator("feature", "highlow2")).toBe(false);
    expect(isKnownGenerator("label", "common.my_labels:first_cross")).toBe(true);
    expect(isKnownGenerator("signal", "module:")).toBe(false);
    expect(parseCustomGenerator("C:/gen/features.js:momentum")).toEqual({
      module: "C:/gen/features.js",
      exportName: "momentum",
    });
  });
});

describe("defaults", () => {
  it("are filled in the resolved config", () => {
    const { config } = parseConfigText('{"symbol": "BTCUSDT"}', "d.jsonc", {}, {});
    expect(config).toMatchObject({
      freq: "1min",
      venue: "binance",
      data_folder: "data",
      time_column: "timestamp",
      data_sources: [{ folder: "BTCUSDT", file: "klines", column_prefix: "", market: "spot" }],
      klines_file_name: "klines",
      merge_file_name: "data",
      feature_file_name: "features",
      matrix_file_name: "matrix",
      predict_file_name: "predictions",
      signal_file_name: "signals",
      model_folder: "MODELS",
      merge_interpolate: false,
      merge_max_gap: 5,
      archive_url: "https://data.binance.vision",
      train: false,
      train_length: 0,
      label_horizon: 0,
      feature_sets: [],
      label_sets: [],
      train_features: [],
      labels: [],
      algorithms: [],
      signal_sets: [],
      output_sets: [],
    });
    expect(config.predict_length).toBeUndefined();
  });

  it("let a data source's file follow klines_file_name", () => {
    const { config } = parseConfigText(
      '{"symbol": "BTCUSDT", "klines_file_name": "klines.csv", "data_sources": [{"folder": "BTCUSDT"}, {"folder": "ETHUSDT", "column_prefix": "eth", "file": "k"}]}',
      "d.jsonc",
      {},
      {},
    );
    expect(config.data_sources.map((d) => d.file)).toEqual(["klines.csv", "k"]);
  });

  it("take is_scale from params when train does not set it (the original's older layout)", () => {
    const { config } = parseConfigText(
      '{"symbol": "BTCUSDT", "algorithms": [{"name": "a", "algo": "lc", "params": {"is_scale": true}}, {"name": "b", "algo": "gb"}]}',
      "d.jsonc",
      {},
      {},
    );
    expect(config.algorithms.map((a) => a.train.is_scale)).toEqual([true, false]);
  });
});
