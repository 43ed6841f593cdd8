import { z } from "zod";
import {
  anyObject,
  expected,
  finiteNumber,
  flag,
  known,
  nonEmptyText,
  nonNegativeInt,
  open,
  storeName,
  text,
  timeText,
} from "./primitives.js";

/** The config's nested objects: data sources, algorithms, and the evaluation and trading sections. */

export const DataSourceSchema = known({
  folder: nonEmptyText().describe(
    "Exchange symbol of the source (e.g. BTCUSDT); also its folder under data_folder.",
  ),
  file: storeName()
    .optional()
    .describe("Klines file name in that folder; default: klines_file_name. No extension means Parquet."),
  column_prefix: text()
    .default("")
    .describe(
      'Prefix of this source\'s columns after merging, joined with "_" (e.g. "eth" gives eth_close).',
    ),
  market: z
    .enum(["spot", "um"], expected('"spot" or "um"'))
    .default("spot")
    .describe('Binance market: "spot" or "um" (USD-M futures).'),
}).describe("One input of the merge: a symbol's klines.");

export const AlgorithmSchema = known({
  name: nonEmptyText().describe('Unique name; the suffix of prediction columns (high_20 + "_" + name).'),
  algo: nonEmptyText().describe("Algorithm type: lc (logistic regression), gb (gradient boosting), nn, svc."),
  params: anyObject().default({}).describe("Model hyperparameters (e.g. penalty, C, max_iter for lc)."),
  train: open({
    is_scale: flag().optional().describe("Standardize features before training; default false."),
    length: nonNegativeInt()
      .nullable()
      .optional()
      .describe("Train on at most this many latest rows; 0 or null: all."),
    shifts: z.array(nonNegativeInt(), expected("an array of non-negative integers")).optional(),
  })
    .default({})
    .describe("Training options: is_scale, length, shifts."),
  predict: open({
    length: z
      .union([nonNegativeInt(), text()], expected("a non-negative integer or a duration string"))
      .nullable()
      .optional(),
  })
    .default({})
    .describe("Prediction options of the original (length)."),
}).describe("A model trained for every label.");

const rowOrTime = () =>
  z
    .union([nonNegativeInt(), timeText()], expected("a row number, a date string or null"))
    .nullable()
    .optional();

export const SimulateModelSchema = known({
  data_start: rowOrTime().describe("First row (number) or time (string) of the simulation; null: the start."),
  data_end: rowOrTime().describe("Last row or time of the simulation; null: the end."),
  direction: z
    .enum(["long", "short", "both"], expected('"long", "short" or "both"'))
    .optional()
    .describe("Which trades are simulated."),
  topn_to_store: nonNegativeInt().optional().describe("How many best parameter sets are kept."),
  signal_generator: text().optional().describe("The signal_sets generator whose parameters are searched."),
  buy_sell_equal: flag().optional().describe("Search only symmetric buy/sell thresholds."),
  grid: z
    .record(
      z.string(),
      z.array(finiteNumber(), expected("an array of numbers")),
      expected("an object of number arrays"),
    )
    .optional()
    .describe("Parameter grid, e.g. buy_signal_threshold: [0.02, 0.05]."),
}).describe("Threshold grid search for the signal parameters (the original's train_signal_model).");

export const RollingPredictSchema = known({
  data_start: rowOrTime().describe("First row or time of the data used."),
  data_end: rowOrTime().describe("Last row or time of the data used."),
  prediction_start: rowOrTime().describe("First predicted row or time; computed from the others when null."),
  prediction_size: nonNegativeInt().nullable().optional().describe("Rows predicted per step."),
  prediction_steps: nonNegativeInt().nullable().optional().describe("Number of train-then-predict steps."),
  use_multiprocessing: flag().optional().describe("Run steps in parallel."),
  max_workers: nonNegativeInt().optional().describe("Parallel workers."),
}).describe("Walk-forward (rolling) train and predict.");

export const TradeModelSchema = open({
  buy_signal_column: text().optional().describe("Boolean column that triggers a buy."),
  sell_signal_column: text().optional().describe("Boolean column that triggers a sell."),
  simulate_trade: flag().optional(),
  trader_simulation: flag().optional(),
  trader_binance: flag().optional(),
  no_trades_only_data_processing: flag().optional(),
  test_order_before_submit: flag().optional(),
  simulate_order_execution: flag().optional(),
  percentage_used_for_trade: finiteNumber()
    .optional()
    .describe("Percent of the quote balance used per order."),
  limit_price_adjustment: finiteNumber()
    .optional()
    .describe("Limit price offset relative to the last close."),
}).describe("Live trading options; other keys are passed to the trader unchanged.");
