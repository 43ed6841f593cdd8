import { describe, expect, it } from "vitest";
import { parseConfigText } from "../../src/config/index.js";

const TEXT = `{
  "symbol": "BTCUSDT",
  "freq": "1h",
  "description": "{symbol} on {freq} bars",
  "data_folder": "./data/{symbol}-{freq}",
  "feature_sets": [
    {
      "generator": "talib",
      "config": { "columns": ["close"], "functions": ["SMA"], "windows": [5], "names": ["{symbol}_sma_{freq}"] }
    }
  ],
  "signal_sets": [{ "generator": "combine", "config": { "names": "{symbol}_score", "nested": { "deep": [["x{symbol}"], "{freq}"] } } }],
  // keys are not templates; other braces are left alone
  "trade_model": { "{symbol}": "{other} {symbol}" }
}`;

describe("placeholders", () => {
  it("are substituted in every string value, at any depth", () => {
    const { config } = parseConfigText(TEXT, "p.jsonc", {}, {});
    expect(config.description).toBe("BTCUSDT on 1h bars");
    expect(config.data_folder).toBe("./data/BTCUSDT-1h");
    expect(config.feature_sets[0]?.config.names).toEqual(["BTCUSDT_sma_1h"]);
    expect(config.signal_sets[0]?.config).toEqual({
      names: "BTCUSDT_score",
      nested: { deep: [["xBTCUSDT"], "1h"] },
    });
    expect(config.trade_model).toEqual({ "{symbol}": "{other} BTCUSDT" });
  });

  it("use the command-line overrides of symbol and freq", () => {
    const { config } = parseConfigText(TEXT, "p.jsonc", { symbol: "ETHUSDT", freq: "5m" }, {});
    expect(config.symbol).toBe("ETHUSDT");
    expect(config.freq).toBe("5m");
    expect(config.description).toBe("ETHUSDT on 5m bars");
    expect(config.data_folder).toBe("./data/ETHUSDT-5m");
    expect(config.feature_sets[0]?.config.names).toEqual(["ETHUSDT_sma_5m"]);
  });

  it("use the default freq when the config has none", () => {
    const { config } = parseConfigText('{"symbol": "BTCUSDT", "description": "{freq}"}', "p.jsonc", {}, {});
    expect(config.freq).toBe("1min");
    expect(config.description).toBe("1min");
  });

  it("make the default data source follow the (overridden) symbol", () => {
    const { config } = parseConfigText('{"symbol": "BTCUSDT"}', "p.jsonc", { symbol: "ETHUSDT" }, {});
    expect(config.data_sources).toEqual([
      { folder: "ETHUSDT", file: "klines", column_prefix: "", market: "spot" },
    ]);
  });

  it("are substituted in data source folders", () => {
    const { config } = parseConfigText(
      '{"symbol": "SOLUSDT", "data_sources": [{"folder": "{symbol}", "column_prefix": ""}]}',
      "p.jsonc",
      {},
      {},
    );
    expect(config.data_sources[0]?.folder).toBe("SOLUSDT");
  });
});
