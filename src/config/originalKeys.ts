/**
 * Top-level keys that the original Intelligent Trading Bot's configs carry (its samples, from
 * v0.2 to today, and the defaults of its `App.config`) and that itb does not use. A config
 * written for the original loads with a warning for each instead of an error; every other
 * unknown top-level key is an error. The list is documented in docs/config.md.
 */
export const ORIGINAL_UNUSED_KEYS: Readonly<Record<string, string>> = {
  // Older names of sections itb reads under their current name.
  train_signal_model: 'the original\'s older name of "simulate_model"; itb reads "simulate_model" only',
  signal_model: 'the original\'s older signal section; itb reads "signal_sets"',
  score_notification_model: 'the original\'s older notifier section; outputs are "output_sets" entries',
  diagram_notification_model: 'the original\'s older notifier section; outputs are "output_sets" entries',
  score_aggregation: 'the original\'s older score section; itb reads "signal_sets"',
  score_aggregation_1: 'the original\'s older score section; itb reads "signal_sets"',
  score_aggregation_sets: 'the original\'s older score section; itb reads "signal_sets"',
  // Live trading and other venues (the live engine is not part of itb yet).
  base_asset: "the original's live trader's base asset; itb does not trade live yet",
  quote_asset: "the original's live trader's quote asset; itb does not trade live yet",
  client_args: "the original's extra Binance client arguments; itb's exchange access is ccxt",
  mt5_account_id: "the original's MetaTrader 5 account; itb has no MetaTrader venue",
  mt5_password: "the original's MetaTrader 5 account; itb has no MetaTrader venue",
  mt5_server: "the original's MetaTrader 5 account; itb has no MetaTrader venue",
  collector: "the original's vestigial depth/stream collector settings",
  model_registry: "the original's model registry; itb's model store is <data_folder>/<symbol>/<model_folder>",
  signal_models_file_name: "the original's older signal-model file name",
  download_max_rows: "the original's download limit; itb's downloads are incremental and complete",
  config_file_modifier: "the original's older file-name suffix",
  // The original's early (v0.2-v0.5) feature and label settings, replaced by feature_sets/label_sets.
  features: 'the original\'s early feature list; itb reads "feature_sets"',
  model: 'the original\'s early model section; itb reads "algorithms"',
  buy_labels: 'the original\'s early label list; itb reads "labels"',
  sell_labels: 'the original\'s early label list; itb reads "labels"',
  highlow_horizon: 'the original\'s early label horizon; itb reads "label_horizon" and the label_sets',
  area_windows: 'the original\'s early feature windows; itb reads "feature_sets"',
  averaging_windows: 'the original\'s early feature windows; itb reads "feature_sets"',
  base_window: 'the original\'s early feature window; itb reads "feature_sets"',
};

/** A top-level key starting with this is the user's own (a note, a value for a custom generator): not checked. */
export const PRIVATE_KEY_PREFIX = "_";
