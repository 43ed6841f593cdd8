/**
 * A config for the live tests on the bundled sample: BTCUSDT spot with ETHUSDT perpetual at 1m,
 * talib features of both, highlow2 labels, lc and gb models, smoothed scores combined into a
 * threshold rule, a paper trader with fees, slippage, stops and Binance-like filters.
 */
export function liveConfig(
  dataFolder: string,
  exchangeUrl?: string,
  downloadStart = "2023-03-01",
  downloadEnd = "2023-04-01",
): Record<string, unknown> {
  const c: Record<string, unknown> = {
    symbol: "BTCUSDT",
    freq: "1m",
    data_folder: dataFolder,
    download_start: downloadStart,
    download_end: downloadEnd,
    data_sources: [
      { folder: "BTCUSDT", column_prefix: "", market: "spot" },
      { folder: "ETHUSDT", column_prefix: "eth", market: "um" },
    ],
    feature_sets: [
      { generator: "talib", config: { columns: ["close"], functions: ["SMA"], windows: [1, 5, 15, 60] } },
      {
        generator: "talib",
        config: { columns: ["close"], functions: ["LINEARREG_SLOPE"], windows: [5, 15] },
      },
      { generator: "talib", config: { columns: ["close"], functions: ["STDDEV"], windows: [5, 15] } },
      {
        column_prefix: "eth",
        generator: "talib",
        feature_prefix: "eth",
        config: { columns: ["close"], functions: ["SMA", "LINEARREG_SLOPE"], windows: [5, 15] },
      },
    ],
    label_sets: ["high", "low"].map((fn) => ({
      generator: "highlow2",
      config: {
        columns: ["close", "high", "low"],
        function: fn,
        thresholds: [1.0],
        tolerance: 0.2,
        horizon: 60,
        names: [`${fn}_10`],
      },
    })),
    label_horizon: 60,
    train_features: [
      "close_SMA_1",
      "close_SMA_5",
      "close_SMA_15",
      "close_SMA_60",
      "close_LINEARREG_SLOPE_5",
      "close_LINEARREG_SLOPE_15",
      "close_STDDEV_5",
      "close_STDDEV_15",
      "eth_close_SMA_5",
      "eth_close_LINEARREG_SLOPE_15",
    ],
    labels: ["high_10", "low_10"],
    algorithms: [
      { name: "lc", algo: "lc", params: { C: 1.0, max_iter: 100 }, train: { is_scale: true } },
      {
        name: "gb",
        algo: "gb",
        params: { objective: "binary", num_boost_round: 40, learning_rate: 0.1, num_leaves: 15 },
      },
    ],
    signal_sets: [
      { generator: "smoothen", config: { columns: "high_10_gb", names: "high_10_s", window: 3 } },
      { generator: "smoothen", config: { columns: "low_10_gb", names: "low_10_s", window: 3 } },
      {
        generator: "combine",
        config: { columns: ["high_10_lc", "low_10_lc"], names: "lc_score", combine: "difference" },
      },
      {
        generator: "combine",
        config: { columns: ["high_10_s", "low_10_s"], names: "trade_score", combine: "relative" },
      },
      {
        generator: "threshold_rule",
        config: {
          columns: "trade_score",
          names: ["buy_signal_column", "sell_signal_column"],
          parameters: { buy_signal_threshold: 0.2, sell_signal_threshold: -0.2 },
        },
      },
    ],
    output_sets: [{ generator: "trader_simulation", config: {} }],
    backtest: {
      direction: "both",
      taker_fee: 0.001,
      maker_fee: 0.0005,
      slippage_bps: 2,
      stop_loss: 0.01,
      take_profit: 0.015,
      filters: { tick_size: 0.01, step_size: 0.00001, min_notional: 5 },
    },
  };
  if (exchangeUrl !== undefined) c.exchange_url = exchangeUrl;
  return c;
}
