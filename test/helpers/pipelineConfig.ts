/** The stages a pipeline with the import source and walk-forward predictions runs, in order. */
export const IMPORT_ROLLING_STAGES = [
  "import",
  "merge",
  "features",
  "labels",
  "train",
  "predict-rolling",
  "signals",
  "simulate",
  "report",
];

/**
 * A small pipeline config on the bundled sample (BTCUSDT spot, March 2023): three SMAs and two
 * slopes as training features, highlow2 1 % labels over 60 bars, one lc model, walk-forward over
 * three two-day steps, a difference score with a 2 × 2 threshold grid. `extraFeatureSets` are
 * appended to feature_sets (the tests change their windows to rerun features only).
 */
export function smallPipelineConfig(dataFolder: string, extraFeatureSets: readonly object[] = []): object {
  const highlow = (fn: "high" | "low") => ({
    generator: "highlow2",
    config: {
      columns: ["close", "high", "low"],
      function: fn,
      thresholds: [1.0],
      tolerance: 0.2,
      horizon: 60,
      names: [`${fn}_10`],
    },
  });
  return {
    symbol: "BTCUSDT",
    freq: "1m",
    data_folder: dataFolder,
    download_start: "2023-03-01",
    download_end: "2023-04-01",
    feature_sets: [
      { generator: "talib", config: { columns: ["close"], functions: ["SMA"], windows: [1, 5, 15] } },
      {
        generator: "talib",
        config: { columns: ["close"], functions: ["LINEARREG_SLOPE"], windows: [5, 15] },
      },
      ...extraFeatureSets,
    ],
    label_sets: [highlow("high"), highlow("low")],
    label_horizon: 60,
    train_features: [
      "close_SMA_1",
      "close_SMA_5",
      "close_SMA_15",
      "close_LINEARREG_SLOPE_5",
      "close_LINEARREG_SLOPE_15",
    ],
    labels: ["high_10", "low_10"],
    algorithms: [{ name: "lc", algo: "lc", params: { C: 1.0, max_iter: 50 }, train: { is_scale: true } }],
    signal_sets: [
      {
        generator: "combine",
        config: { columns: ["high_10_lc", "low_10_lc"], names: "trade_score", combine: "difference" },
      },
      {
        generator: "threshold_rule",
        config: {
          columns: "trade_score",
          names: ["buy_signal_column", "sell_signal_column"],
          parameters: { buy_signal_threshold: 0.05, sell_signal_threshold: -0.05 },
        },
      },
    ],
    simulate_model: {
      signal_generator: "threshold_rule",
      grid: { buy_signal_threshold: [0.02, 0.05], sell_signal_threshold: [-0.02, -0.05] },
    },
    rolling_predict: { prediction_start: "2023-03-22", prediction_size: 2880, prediction_steps: 3 },
  };
}
