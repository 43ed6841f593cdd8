import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ConfigSchema, configJsonSchema, loadConfig, parseJsonc } from "../../src/config/index.js";

const CONFIGS = "configs";
const files = readdirSync(CONFIGS)
  .filter((f) => f.endsWith(".jsonc"))
  .sort();

describe("configs/", () => {
  it("holds the example configs", () => {
    expect(files).toEqual(
      expect.arrayContaining([
        "btcusdt-1h.jsonc",
        "btcusdt-1m.jsonc",
        "btcusdt-ethusdt-1m.jsonc",
        "demo.jsonc",
      ]),
    );
  });

  it.each(files)("%s loads without errors or warnings", (file) => {
    const loaded = loadConfig(join(CONFIGS, file), {}, {});
    expect(loaded.warnings).toEqual([]);
    expect(loaded.hash).toMatch(/^[0-9a-f]{64}$/);
    // Every train feature and every label is produced by a generator of the config.
    const features = loaded.config.train_features;
    expect(new Set(features).size).toBe(features.length);
    expect(loaded.config.labels.length).toBeGreaterThan(0);
  });

  it("btcusdt-1m follows the original's 1-minute sample", () => {
    const { config } = loadConfig(join(CONFIGS, "btcusdt-1m.jsonc"), {}, {});
    expect(config.freq).toBe("1m");
    expect(config.archive_url).toBe("https://data.binance.vision");
    expect(config.data_sources).toEqual([
      { folder: "BTCUSDT", file: "klines", column_prefix: "", market: "spot" },
    ]);
    expect(config.train_features).toHaveLength(13);
    expect(config.train_features.slice(0, 2)).toEqual(["close_SMA_1", "close_SMA_5"]);
    expect(config.labels).toEqual(["high_20", "low_20"]);
    expect(config.label_horizon).toBe(120);
    expect(config.algorithms[0]).toMatchObject({
      name: "lc",
      algo: "lc",
      params: { penalty: "l2", C: 1.0, max_iter: 100 },
      train: { is_scale: true },
    });
    expect(config.signal_sets.map((s) => s.generator)).toEqual(["combine", "threshold_rule"]);
    expect(config.signal_sets[1]?.config).toMatchObject({
      parameters: { buy_signal_threshold: 0.05, sell_signal_threshold: -0.05 },
    });
    expect(config.train).toBe(false);
  });

  it("btcusdt-1h uses hourly windows and a one-day label horizon", () => {
    const { config } = loadConfig(join(CONFIGS, "btcusdt-1h.jsonc"), {}, {});
    expect(config.freq).toBe("1h");
    expect(config.label_horizon).toBe(24);
    expect(config.label_sets.map((s) => s.config.horizon)).toEqual([24, 24]);
    // The archive's 1m klines are imported (the store is shared with btcusdt-1m) and merged to 1h.
    expect(config.data_sources).toEqual([
      { folder: "BTCUSDT", file: "klines", column_prefix: "", market: "spot", interval: "1m" },
    ]);
  });

  it.each(["btcusdt-1m.jsonc", "btcusdt-1h.jsonc", "btcusdt-ethusdt-1m.jsonc"])(
    "%s: the main source follows --symbol",
    (file) => {
      const { config } = loadConfig(join(CONFIGS, file), { symbol: "SOLUSDT" }, {});
      expect(config.data_sources[0]?.folder).toBe("SOLUSDT");
    },
  );

  it("btcusdt-ethusdt-1m has a prefixed ETHUSDT perpetual source and features on it", () => {
    const { config } = loadConfig(join(CONFIGS, "btcusdt-ethusdt-1m.jsonc"), {}, {});
    expect(config.data_sources).toEqual([
      { folder: "BTCUSDT", file: "klines", column_prefix: "", market: "spot" },
      { folder: "ETHUSDT", file: "klines", column_prefix: "eth", market: "um" },
    ]);
    expect(config.feature_sets.filter((s) => s.column_prefix === "eth").length).toBeGreaterThan(0);
    expect(config.train_features).toContain("eth_close_SMA_5");
  });

  it("demo covers the bundled sample's months", () => {
    const { config } = loadConfig(join(CONFIGS, "demo.jsonc"), {}, {});
    expect(config.data_folder).toBe("./data/demo");
    expect(config.download_start).toBe("2023-02-01");
    expect(config.download_end).toBe("2023-05-01");
    expect(config.data_sources.map((d) => d.market)).toEqual(["spot", "um"]);
  });
});

describe("configJsonSchema", () => {
  const schema = configJsonSchema() as {
    $schema: string;
    type: string;
    properties: Record<string, { description?: string }>;
    required?: string[];
  };

  it("is draft 2020-12 JSON Schema of an object with every known key described", () => {
    expect(schema.$schema).toBe("https://json-schema.org/draft/2020-12/schema");
    expect(schema.type).toBe("object");
    expect(schema.required).toEqual(["symbol"]);
    const keys = [
      "symbol",
      "freq",
      "venue",
      "data_folder",
      "time_column",
      "description",
      "data_sources",
      "train",
      "train_length",
      "predict_length",
      "append_overlap_records",
      "features_horizon",
      "label_horizon",
      "feature_sets",
      "label_sets",
      "train_feature_sets",
      "train_features",
      "labels",
      "algorithms",
      "signal_sets",
      "output_sets",
      "simulate_model",
      "rolling_predict",
      "trade_model",
      "klines_file_name",
      "merge_file_name",
      "feature_file_name",
      "matrix_file_name",
      "predict_file_name",
      "signal_file_name",
      "model_folder",
      "download_start",
      "download_end",
      "merge_interpolate",
      "merge_max_gap",
      "archive_url",
      "exchange_url",
      "api_key",
      "api_secret",
      "telegram_bot_token",
      "telegram_chat_id",
      "secrets_file",
    ];
    for (const key of keys) {
      expect(schema.properties[key], key).toBeDefined();
      expect(schema.properties[key]?.description, key).toMatch(/\w/);
    }
    expect(Object.keys(ConfigSchema.in.shape).sort()).toEqual(Object.keys(schema.properties).sort());
  });

  it("survives a JSON round trip and accepts the example configs", () => {
    const roundTripped: unknown = JSON.parse(JSON.stringify(schema));
    const validator = z.fromJSONSchema(roundTripped as Parameters<typeof z.fromJSONSchema>[0]);
    for (const file of files) {
      const raw = parseJsonc(readFileSync(join(CONFIGS, file), "utf8"), file).value;
      expect(validator.safeParse(raw).success, file).toBe(true);
    }
    expect(validator.safeParse({ symbol: "BTCUSDT", label_horizon: "120" }).success).toBe(false);
    expect(validator.safeParse({ freq: "1m" }).success).toBe(false);
  });
});
