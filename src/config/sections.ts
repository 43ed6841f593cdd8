import { Cron } from "croner";
import { z } from "zod";
import { isBinanceInterval, parseFreq } from "../core/freq.js";
import { gridAxisValues } from "./gridValues.js";
import {
  anyObject,
  choice,
  expected,
  finiteNumber,
  flag,
  known,
  nonEmptyText,
  nonNegativeInt,
  open,
  positiveInt,
  storeName,
  text,
  timeText,
} from "./primitives.js";

/** The config's nested objects: data sources, algorithms, and the evaluation and trading sections. */

export const INTERVAL_EXPECTED =
  "a Binance kline interval (1s, 1m, 3m, 5m, 15m, 30m, 1h, 2h, 4h, 6h, 8h, 12h, 1d, 3d, 1w)";

export function isBinanceKlineInterval(value: string): boolean {
  try {
    return isBinanceInterval(parseFreq(value));
  } catch {
    return false;
  }
}

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
  interval: z
    .string(expected(INTERVAL_EXPECTED))
    .refine((v) => isBinanceKlineInterval(v), expected(INTERVAL_EXPECTED))
    .optional()
    .describe(
      'Kline interval imported and downloaded for this source, e.g. "1m"; merge aggregates it to freq. Default: freq.',
    ),
  chunk_size: z
    .unknown()
    .optional()
    .describe("Accepted for the original's configs (its MetaTrader 5 collector's page size); not used."),
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
    every_nth_row: positiveInt()
      .optional()
      .describe("Train on every n-th row only (1: all), as the original's every_nth_row."),
  })
    .default({})
    .describe("Training options: is_scale, length, every_nth_row, shifts."),
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
  data_end: rowOrTime().describe("End of the simulation, exclusive: a row number or a time; null: the end."),
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
      z.unknown().superRefine((axis, ctx) => {
        const values = gridAxisValues(axis);
        if (typeof values === "string") ctx.addIssue({ code: "custom", message: values, input: axis });
        else if (values.length === 0)
          ctx.addIssue({ code: "custom", message: "the axis has no values", input: axis });
      }),
      expected("an object of grid axes"),
    )
    .optional()
    .describe(
      'Parameter grid: each axis a number, a list, {start, stop, step} or "np.arange(a, b, step)" / "np.linspace(a, b, n)" (parsed, never evaluated).',
    ),
  rank_by: z
    .enum(
      ["profitPctPerMonth", "profitPct", "profit", "sharpe", "sortino", "profitFactor", "winRatePct"],
      expected("a metric name such as profitPctPerMonth or sharpe"),
    )
    .optional()
    .describe(
      "Metric the grid cells are ranked by (descending); default profitPctPerMonth as in the original.",
    ),
  holdout: timeText()
    .nullable()
    .optional()
    .describe(
      "Optimise on rows before this time and report the chosen parameters after it (like --holdout).",
    ),
  min_trades: nonNegativeInt()
    .optional()
    .describe(
      "Cells with fewer trades are shown but ranked after every cell that has this many; default 10, 0: off.",
    ),
  allow_in_sample: flag()
    .optional()
    .describe(
      "Search and report on in-sample predictions (itb predict on the models' training rows); refused unless true, and then every number is marked IN-SAMPLE.",
    ),
}).describe("Threshold grid search for the signal parameters (the original's train_signal_model).");

const fraction = (what: string) =>
  z
    .number(expected(what))
    .refine((v) => v > 0 && v < 1, expected(what))
    .optional();

export const BacktestSchema = known({
  direction: z
    .enum(["long", "short", "both"], expected('"long", "short" or "both"'))
    .optional()
    .describe("Which trades are taken; default simulate_model.direction, else long."),
  fill_at: z
    .enum(["next_open", "next_close", "close"], expected('"next_open", "next_close" or "close"'))
    .default("next_open")
    .describe(
      "When a signal of bar t executes: next_open (bar t+1's open), next_close, or close (bar t's own close, the original's optimistic convention).",
    ),
  taker_fee: z
    .number(expected("a fee fraction from 0 to 0.1"))
    .min(0, expected("a fee fraction from 0 to 0.1"))
    .max(0.1, expected("a fee fraction from 0 to 0.1"))
    .default(0.001)
    .describe("Fee per side of market and stop orders, as a fraction (0.001 = 0.1 %)."),
  maker_fee: z
    .number(expected("a fee fraction from -0.01 to 0.1"))
    .min(-0.01, expected("a fee fraction from -0.01 to 0.1"))
    .max(0.1, expected("a fee fraction from -0.01 to 0.1"))
    .optional()
    .describe("Fee per side of take-profit limit orders (negative: a rebate); default taker_fee."),
  slippage_bps: z
    .number(expected("basis points from 0 to 1000"))
    .min(0, expected("basis points from 0 to 1000"))
    .max(1000, expected("basis points from 0 to 1000"))
    .default(0)
    .describe("Adverse move of market and stop fills, in basis points."),
  initial_capital: z
    .number(expected("a positive number"))
    .positive(expected("a positive number"))
    .default(10_000)
    .describe("Starting equity in quote currency."),
  stake_fraction: z
    .number(expected("a fraction in (0, 1]"))
    .refine((v) => v > 0 && v <= 1, expected("a fraction in (0, 1]"))
    .optional()
    .describe("Compounding: this fraction of current equity per entry (default 1)."),
  stake_amount: z
    .number(expected("a positive number"))
    .positive(expected("a positive number"))
    .optional()
    .describe("Fixed stake: this quote amount per entry (instead of stake_fraction)."),
  stop_loss: fraction("a fraction in (0, 1), e.g. 0.02 for 2 %").describe(
    "Stop-loss distance from the entry price.",
  ),
  take_profit: fraction("a fraction in (0, 1), e.g. 0.03 for 3 %").describe(
    "Take-profit distance from the entry price.",
  ),
  trailing_stop: fraction("a fraction in (0, 1), e.g. 0.02 for 2 %").describe(
    "Trailing-stop distance from the best price since entry.",
  ),
  filters: known({
    tick_size: z
      .number(expected("a non-negative number"))
      .min(0, expected("a non-negative number"))
      .default(0),
    step_size: z
      .number(expected("a non-negative number"))
      .min(0, expected("a non-negative number"))
      .default(0),
    min_notional: z
      .number(expected("a non-negative number"))
      .min(0, expected("a non-negative number"))
      .default(0),
  })
    .optional()
    .describe("Exchange filters applied to every order (Binance's PRICE_FILTER, LOT_SIZE, NOTIONAL)."),
})
  .refine((b) => b.stake_fraction === undefined || b.stake_amount === undefined, {
    message: "set either stake_fraction or stake_amount, not both",
  })
  .describe("How trades are simulated: costs, stake, stops and exchange filters (itb's addition).");

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
  mode: choice(["paper", "shadow", "live"] as const)
    .optional()
    .describe(
      'How trader_binance trades: "live" sends orders (to the testnet or exchange_url unless itb serve is given --live), "shadow" reads the real balance and records every decision and would-be order without sending any, "paper" simulates. Default live, or shadow with shadow_mode.',
    ),
  shadow_mode: flag().optional().describe('The fork\'s key: true means mode "shadow" (nothing is sent).'),
  order_type: choice(["MARKET", "LIMIT"] as const)
    .optional()
    .describe("Order type of entries and signal exits; MARKET (default) is the one supported."),
  use_native_tp_sl: flag()
    .optional()
    .describe("Place stop-loss and take-profit as exchange orders where the market has them (default true)."),
  reconcile: choice(["halt", "adopt", "cancel"] as const)
    .optional()
    .describe(
      "At start-up, an open order or a position on the exchange the ledger cannot explain: halt (default) with what to check, adopt it, or cancel it.",
    ),
  poll_seconds: finiteNumber()
    .positive(expected("a number of seconds > 0"))
    .optional()
    .describe("How often working orders are polled for fills between candles (default 5)."),
  testnet: flag().optional().describe("Trade on the exchange's testnet even when itb serve is given --live."),
}).describe("Live trading options; other keys are passed to the trader unchanged.");

const ADDRESS_EXPECTED = 'an address "host:port", e.g. "127.0.0.1:9464"';

export const ServeSchema = known({
  address: z
    .string(expected(ADDRESS_EXPECTED))
    .regex(/^(\[[^\]]+\]|[^:\s]+):\d{1,5}$/, expected(ADDRESS_EXPECTED))
    .default("127.0.0.1:9464")
    .describe(
      "Where the HTTP API, the pages, /healthz, /readyz and /metrics listen (loopback by default); port 0: any free port. Another address needs serve_read_token or serve_control_token.",
    ),
  cors_origins: z
    .array(
      z
        .string(expected('an origin, e.g. "https://desk.example.com"'))
        .regex(
          /^https?:\/\/[^/\s]+$/,
          expected('an origin "scheme://host[:port]", e.g. "https://desk.example.com"'),
        ),
    )
    .default([])
    .describe("Origins a browser may call the HTTP API from (CORS); none by default."),
  websocket: flag()
    .default(true)
    .describe(
      "Follow the exchange's kline WebSocket to react to each close at once (REST polling stays the source).",
    ),
  poll_ms: positiveInt()
    .default(1000)
    .describe("Longest wait between two looks at the exchange's clock, ms."),
  store_refresh_minutes: nonNegativeInt()
    .default(60)
    .describe(
      "Bring the klines stores up to date over REST this often while serving, minutes (0: at start-up only).",
    ),
  delay_ms: nonNegativeInt()
    .default(1000)
    .describe(
      "Wait after a candle's close before fetching it, ms (the exchange's settling time; the original: 1 s).",
    ),
}).describe("itb serve: the online service's operations (itb's addition).");

const positiveNumber = () => finiteNumber().positive(expected("a number > 0"));

export const FuturesSchema = known({
  use_testnet: flag()
    .optional()
    .describe("Trade USD-M futures on the testnet even when itb serve is given --live (the fork's key)."),
  leverage: positiveInt()
    .max(125, expected("a leverage from 1 to 125"))
    .default(1)
    .describe("Leverage each traded futures symbol is set to at start."),
  margin_type: choice(["ISOLATED", "CROSSED"] as const)
    .default("ISOLATED")
    .describe("Margin type each traded futures symbol is set to at start."),
  position_mode: choice(["ONE_WAY"] as const)
    .default("ONE_WAY")
    .describe("Position mode the account must be in; hedge mode is not supported."),
}).describe("USD-M futures trading (a config whose symbol's data source is market um).");

export const RiskManagementSchema = known({
  circuit_breaker: known({
    max_consecutive_losses: positiveInt().default(3).describe("Losing trades in a row that pause entries."),
    cooldown_minutes: positiveInt().default(60).describe("How long the breaker pauses entries."),
    max_daily_losses: positiveInt().default(5).describe("Losing trades in a UTC day that pause entries."),
    max_daily_loss_percent: positiveNumber()
      .default(10)
      .describe("Loss in a UTC day, % of the day's first equity, that pauses entries."),
  })
    .prefault({})
    .describe(
      "The fork's circuit breaker (its keys and defaults; the day is UTC where the fork used local time).",
    ),
  max_position_notional: positiveNumber().optional().describe("Largest position of a market, quote."),
  max_total_exposure: positiveNumber()
    .optional()
    .describe("Largest notional of all markets' positions together, quote."),
  max_open_markets: positiveInt().optional().describe("Most markets holding a position at once."),
  min_notional: positiveNumber().optional().describe("Smallest entry, quote."),
  max_notional: positiveNumber().optional().describe("Largest entry, quote."),
  price_band: positiveNumber()
    .optional()
    .describe("An entry whose price is further than this fraction from the last close is refused."),
  stale_bars: positiveInt()
    .default(2)
    .describe("No entries when the candle decided on closed more than this many bars ago, or was missing."),
}).describe("itb serve: risk limits checked before every entry (exits always go out).");

export const TelegramSchema = known({
  parse_mode: choice(["Markdown", "none"] as const)
    .default("Markdown")
    .describe(
      'How Telegram reads the messages: the original\'s legacy "Markdown" (bold as *text*), or "none" (plain text).',
    ),
  commands: flag()
    .default(true)
    .describe("Answer /status, /signals, /trades, ... from the configured chats (getUpdates long polling)."),
  queue_limit: positiveInt()
    .default(1000)
    .describe(
      "Undelivered messages kept during an outage; beyond it the oldest score and chart messages are dropped first, trade messages are kept.",
    ),
  min_interval_ms: nonNegativeInt()
    .default(1000)
    .describe("Least time between two messages to one chat (Telegram allows about one a second)."),
  timeout_ms: positiveInt().default(15_000).describe("Per Bot API request."),
  trade_messages: flag()
    .default(true)
    .describe("Post each order event and closed trade of paper (or exchange) trading."),
  daily_summary: z
    .string(expected('a time of day "HH:MM" (UTC)'))
    .regex(/^([01]\d|2[0-3]):[0-5]\d$/, expected('a time of day "HH:MM" (UTC)'))
    .nullable()
    .default("00:00")
    .describe("When the day's summary is posted (UTC, for the day before); null: never."),
}).describe("Telegram delivery and commands (itb's addition; the keys of the original are top-level).");

const CRON_EXPECTED = 'a cron expression "minute hour day-of-month month day-of-week" such as "0 3 * * 0"';

/** Why croner refuses a cron expression in a time zone, or undefined when it takes it. */
export function cronProblem(expression: string, timezone = "UTC"): string | undefined {
  try {
    // nextRun checks the time zone too (the constructor does not)
    new Cron(expression, { paused: true, timezone }).nextRun(new Date(0));
    return undefined;
  } catch (err) {
    const text = (err instanceof Error ? err.message : String(err)).replace(/^Cron\w+: /, "");
    return text.charAt(0).toLowerCase() + text.slice(1);
  }
}

export const ScheduleSchema = known({
  retrain: z
    .string(expected(CRON_EXPECTED))
    .superRefine((v, ctx) => {
      const why = cronProblem(v);
      if (why !== undefined) ctx.addIssue({ code: "custom", message: `expected ${CRON_EXPECTED} (${why})` });
    })
    .optional()
    .describe(
      "When itb serve retrains every market of the config (cron, in timezone): merge to labels on the latest candles, train, predict-rolling, then promote the new models if their walk-forward AUC passes.",
    ),
  timezone: z
    .string(expected('an IANA time zone such as "UTC" or "Europe/Berlin"'))
    .refine(
      (tz) => cronProblem("0 0 * * *", tz) === undefined,
      expected('an IANA time zone such as "UTC" or "Europe/Berlin"'),
    )
    .default("UTC")
    .describe("The time zone the cron expressions are read in."),
  auc_tolerance: finiteNumber()
    .min(-1, expected("a number in [-1, 1]"))
    .max(1, expected("a number in [-1, 1]"))
    .default(0.005)
    .describe(
      "The retrained models are promoted only when no model's walk-forward AUC is below the current one's by more than this (negative: it must be better by at least that much).",
    ),
}).describe("itb serve: scheduled retraining (itb's addition).");
