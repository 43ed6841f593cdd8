import { describe, expect, it } from "vitest";
import { parseConfigText } from "../../src/config/index.js";
import { ConfigError } from "../../src/core/errors.js";

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
  "signal_sets": [{ "generator": "./score.mjs:score", "config": { "names": "{symbol}_score", "nested": { "deep": [["x{symbol}"], "{freq}"] } } }],
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

describe("symbol overrides and literal data-source folders", () => {
  const text = (sources: object[]) =>
    JSON.stringify({ symbol: "ETHUSDT", freq: "1m", data_sources: sources });
  const issuesOf = (sources: object[], symbol: string): readonly string[] => {
    try {
      parseConfigText(text(sources), "o.jsonc", { symbol }, {});
    } catch (err) {
      if (err instanceof ConfigError) return err.issues;
      throw err;
    }
    return [];
  };

  it("an override that does not reach a literal folder is an error at that folder", () => {
    expect(issuesOf([{ folder: "ETHUSDT" }], "ETHUSDX")).toEqual([
      'data_sources[0].folder: "ETHUSDT" is written literally, so the symbol ETHUSDX does not reach it and ETHUSDT\'s candles would be merged as ETHUSDX\'s; write "folder": "{symbol}" to follow --symbol',
    ]);
    // The source that holds the config's symbol is named, wherever it is.
    expect(
      issuesOf(
        [
          { folder: "BTCUSDT", column_prefix: "btc" },
          { folder: "ETHUSDT", column_prefix: "", market: "um" },
        ],
        "SOLUSDT",
      )[0],
    ).toMatch(/^data_sources\[1\]\.folder: "ETHUSDT" is written literally/);
  });

  it("a folder that follows the symbol, or the default source, takes the override", () => {
    expect(issuesOf([{ folder: "{symbol}" }], "ETHUSDX")).toEqual([]);
    // A second, literal source is an extra input, not the market's own candles.
    const both = [{ folder: "{symbol}" }, { folder: "BTCUSDT", column_prefix: "btc" }];
    const { config } = parseConfigText(text(both), "o.jsonc", { symbol: "SOLUSDT" }, {});
    expect(config.data_sources.map((d) => d.folder)).toEqual(["SOLUSDT", "BTCUSDT"]);
    expect(
      parseConfigText('{"symbol": "ETHUSDT"}', "o.jsonc", { symbol: "ETHUSDX" }, {}).config.data_sources[0]
        ?.folder,
    ).toBe("ETHUSDX");
    // Overriding with the config's own symbol changes nothing.
    expect(issuesOf([{ folder: "ETHUSDT" }], "ETHUSDT")).toEqual([]);
  });

  it("download_start and download_end can be overridden, and are validated as the keys are", () => {
    const { config } = parseConfigText(
      '{"symbol": "BTCUSDT", "download_start": "2022-01"}',
      "o.jsonc",
      { download_start: "2023-02-01", download_end: "2023-05-01" },
      {},
    );
    expect([config.download_start, config.download_end]).toEqual(["2023-02-01", "2023-05-01"]);
  });
});
