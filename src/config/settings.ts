import { ConfigError, UsageError } from "../core/errors.js";
import type { BacktestOptions } from "../core/trading.js";
import { configDownloadRange, configFreq } from "./accessors.js";
import { gridAxisValues } from "./gridValues.js";
import { parseConfigTime } from "./primitives.js";
import type { Config, RollingPredict, SimulateModel } from "./schema.js";

/**
 * The config's sections as typed values, made once where the config is loaded (`loadConfig`
 * returns them as `settings`): times as epoch ms, the backtest's options, the threshold search
 * with its grid and holdout split. The layers below the config take these values, never the
 * whole config, and never parse a time from text.
 */

/**
 * A bound written as a row number or as a time: epoch ms (the first row at or after it), with
 * the text as written for messages.
 */
export type RowBound = { row: number } | { time: number; text: string };

/** Where a threshold search stops optimising and starts measuring the chosen cell. */
export interface HoldoutSplit {
  /** As written (simulate_model.holdout or --holdout); a search result records it. */
  text: string;
  /** Epoch ms. */
  time: number;
}

/** Metric a threshold search ranks its cells by (descending). */
export type RankMetric = NonNullable<SimulateModel["rank_by"]>;

/** One axis of the threshold grid, its values parsed (`"np.linspace(...)"` and the like). */
export interface GridAxis {
  /** The signal set's parameter the axis sets, e.g. buy_signal_threshold. */
  name: string;
  values: number[];
}

/** The default of simulate_model.min_trades: fewer trades than this are too few to rank a cell best. */
const DEFAULT_MIN_TRADES = 10;

/** The default of simulate_model.topn_to_store. */
const DEFAULT_TOP_CELLS = 10;

/** `simulate_model` (the threshold search, and the report of its result) with defaults resolved. */
export interface SearchSettings {
  /** The signal_sets generator whose parameters are searched; undefined: the last threshold rule. */
  signalGenerator: string | undefined;
  /** First row of the search (data_start); undefined: the first row. */
  dataStart: RowBound | undefined;
  /** End of the search, exclusive (data_end); undefined: the last row. */
  dataEnd: RowBound | undefined;
  /** The grid's axes, sorted by name; empty when the config sets no grid. */
  grid: GridAxis[];
  /** Search only symmetric thresholds: the sell axes are dropped, each sell is the negated buy. */
  buySellEqual: boolean;
  rankBy: RankMetric;
  /** Cells with fewer trades rank after the others (0: off). */
  minTrades: number;
  /** How many of the best cells the search stores. */
  topCells: number;
  /** Optimise before this time, report the chosen cell after it; undefined: no holdout. */
  holdout: HoldoutSplit | undefined;
  /** Search and report on in-sample predictions (every number is then marked IN-SAMPLE). */
  allowInSample: boolean;
}

/** The typed sections of one market's config. */
export interface Settings {
  /** download_start / download_end (end exclusive), epoch ms; undefined where unset. */
  download: { start: number | undefined; end: number | undefined };
  backtest: BacktestOptions;
  search: SearchSettings;
}

/** The typed sections of a loaded (validated) config. */
export function configSettings(config: Config): Settings {
  return {
    download: configDownloadRange(config),
    backtest: backtestOptionsOf(config),
    search: searchSettingsOf(config),
  };
}

/** The trading simulator's options from the config's `backtest` section (defaults resolved by the schema). */
export function backtestOptionsOf(config: Config): BacktestOptions {
  const b = config.backtest;
  const options: BacktestOptions = {
    direction: b.direction ?? config.simulate_model?.direction ?? "long",
    fillAt: b.fill_at,
    takerFee: b.taker_fee,
    makerFee: b.maker_fee ?? b.taker_fee,
    slippageBps: b.slippage_bps,
    initialCapital: b.initial_capital,
    stake:
      b.stake_amount !== undefined
        ? { mode: "fixed", amount: b.stake_amount }
        : { mode: "compound", fraction: b.stake_fraction ?? 1 },
    barMs: configFreq(config).ms,
  };
  if (b.stop_loss !== undefined) options.stopLoss = b.stop_loss;
  if (b.take_profit !== undefined) options.takeProfit = b.take_profit;
  if (b.trailing_stop !== undefined) options.trailingStop = b.trailing_stop;
  if (b.filters !== undefined) {
    options.filters = {
      tickSize: b.filters.tick_size,
      stepSize: b.filters.step_size,
      minNotional: b.filters.min_notional,
    };
  }
  return options;
}

/** `simulate_model` as typed values: bounds and holdout as epoch ms, the grid's axes parsed. */
export function searchSettingsOf(config: Config): SearchSettings {
  const sm = config.simulate_model ?? {};
  const holdout = sm.holdout ?? undefined;
  return {
    signalGenerator: sm.signal_generator,
    dataStart: rowBound(sm.data_start, "simulate_model.data_start"),
    dataEnd: rowBound(sm.data_end, "simulate_model.data_end"),
    grid: gridAxes(sm.grid ?? {}),
    buySellEqual: sm.buy_sell_equal === true,
    rankBy: sm.rank_by ?? "profitPctPerMonth",
    minTrades: sm.min_trades ?? DEFAULT_MIN_TRADES,
    topCells: sm.topn_to_store ?? DEFAULT_TOP_CELLS,
    holdout:
      holdout === undefined
        ? undefined
        : { text: holdout, time: configTime(holdout, "simulate_model.holdout") },
    allowInSample: sm.allow_in_sample === true,
  };
}

/**
 * A holdout split given on the command line (`--holdout DATE`), which replaces
 * simulate_model.holdout; a time it cannot read is a usage error naming the option.
 */
export function holdoutOption(text: string): HoldoutSplit {
  const time = parseConfigTime(text);
  if (time === undefined) throw new UsageError(`--holdout: cannot read the time "${text}"`);
  return { text, time };
}

/**
 * The axes of a threshold grid, sorted by name (sklearn's ParameterGrid order). `path` names the
 * grid in errors (a loaded config's grid was checked by the schema already).
 */
export function gridAxes(grid: Readonly<Record<string, unknown>>, path = "simulate_model.grid"): GridAxis[] {
  return Object.keys(grid)
    .sort()
    .map((name) => {
      const values = gridAxisValues(grid[name]);
      const problem =
        typeof values === "string" ? values : values.length === 0 ? "the axis has no values" : undefined;
      if (problem !== undefined)
        throw new ConfigError(`${path}.${name}: ${problem}`, [`${path}.${name}: ${problem}`]);
      return { name, values: values as number[] };
    });
}

function configTime(text: string, path: string): number {
  const t = parseConfigTime(text);
  if (t === undefined)
    throw new ConfigError(`${path}: cannot read the time "${text}"`, [`${path}: not a time`]);
  return t;
}

function rowBound(v: number | string | null | undefined, path: string): RowBound | undefined {
  if (v === null || v === undefined) return undefined;
  return typeof v === "number" ? { row: v } : { time: configTime(v, path), text: v };
}

/** `rolling_predict` (walk-forward) with its bounds typed; sizes as written (null: derived from the others). */
export interface RollingSettings {
  /** First row used (a row, or the first row at or after a time); undefined: the first row. */
  dataStart: RowBound | undefined;
  /** End of the rows used, exclusive; undefined: the last row. */
  dataEnd: RowBound | undefined;
  /** First predicted row (a row counted from dataStart, or a time); undefined: derived. */
  predictionStart: RowBound | undefined;
  /** Rows per step; undefined: derived. */
  predictionSize: number | undefined;
  /** Number of steps; undefined: derived. */
  predictionSteps: number | undefined;
}

/** `rolling_predict` as typed values; undefined without the section. */
export function rollingSettingsOf(rp: RollingPredict | undefined): RollingSettings | undefined {
  if (rp === undefined) return undefined;
  return {
    dataStart: rowBound(rp.data_start, "rolling_predict.data_start"),
    dataEnd: rowBound(rp.data_end, "rolling_predict.data_end"),
    predictionStart: rowBound(rp.prediction_start, "rolling_predict.prediction_start"),
    predictionSize: rp.prediction_size ?? undefined,
    predictionSteps: rp.prediction_steps ?? undefined,
  };
}
