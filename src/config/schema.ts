import { z } from "zod";
import { parseFreq } from "../core/freq.js";
import { formatValue, isPlainObject } from "./format.js";
import { searchedSignalIndex, THRESHOLD_RULE_PARAMETERS } from "./generatorConfigs.js";
import { readLedgerUrl } from "./ledgerUrl.js";
import {
  ALWAYS,
  expected,
  flag,
  freqText,
  httpUrl,
  known,
  nonEmptyText,
  nonNegativeInt,
  parseConfigTime,
  storeName,
  stringList,
  text,
  timeText,
} from "./primitives.js";
import {
  AlgorithmSchema,
  BacktestSchema,
  DataSourceSchema,
  FuturesSchema,
  isBinanceKlineInterval,
  RiskManagementSchema,
  RollingPredictSchema,
  ScheduleSchema,
  ServeSchema,
  SimulateModelSchema,
  TelegramSchema,
  TradeModelSchema,
} from "./sections.js";
import {
  FeatureSetSchema,
  LabelSetSchema,
  OutputSetSchema,
  SignalSetSchema,
  TrainFeatureSetSchema,
} from "./sets.js";
import { closestKey } from "./suggest.js";

/**
 * The config schema: the original's keys with the original's meaning (snake_case, as its
 * configs write them), itb's additions, and every default. `loadConfig` validates with it;
 * `configJsonSchema` exports it for editors.
 */

const secretText = (what: string) =>
  text()
    .optional()
    .describe(
      `${what}. Prefer the environment or a secrets file; never printed, not part of the config hash.`,
    );

/** The HTTP API's bearer tokens of one scope: one, or a list (comma-separated in the environment). */
const apiTokens = (scope: "read" | "control") =>
  z
    .union([text(), z.array(text()).min(1)], expected("a token of 16 characters or more, or a list of them"))
    .transform((v) => (Array.isArray(v) ? v.join(",") : v))
    .optional()
    .describe(
      `Bearer token(s) of the HTTP API's ${scope} scope (falls back to ITB_SERVE_${scope.toUpperCase()}_TOKEN, comma-separated for several). Prefer the environment or a secrets file; never printed.`,
    );

const BaseConfigSchema = known(
  {
    $schema: text().optional().describe("JSON Schema reference for editors; ignored by itb."),
    description: text().optional().describe("Free text describing the config."),

    // Data: download and merge
    symbol: nonEmptyText().describe(
      'Main symbol, e.g. "BTCUSDT": derived tables go to <data_folder>/<symbol>/.',
    ),
    freq: freqText()
      .default("1min")
      .describe(
        "Bar frequency of the grid: pandas spelling (1min, 5min, 1h, 1D) or Binance's (1m, 5m, 1h, 1d).",
      ),
    symbols: z
      .array(nonEmptyText(), expected("an array of symbols"))
      .optional()
      .describe(
        "Markets `itb pipeline` runs (each symbol × each of freqs); default: [symbol]. --symbols wins.",
      ),
    freqs: z
      .array(freqText(), expected("an array of frequencies"))
      .optional()
      .describe("Frequencies `itb pipeline` runs for each symbol; default: [freq]. --freqs wins."),
    venue: z
      .string(expected('a ccxt exchange id such as "binance"'))
      .regex(/^[a-z][a-z0-9_]*$/, expected('a ccxt exchange id such as "binance"'))
      .default("binance")
      .describe("Exchange, as a ccxt exchange id; used for downloads and trading."),
    data_folder: text()
      .default("data")
      .describe(
        "Root of all data and models; a relative path is resolved against the current directory. az://container/prefix: Azure Blob Storage shared by itb pipeline and itb worker, worked on through a local cache (file:///path: the same for a folder on a network mount).",
      ),
    time_column: text().default("timestamp").describe("Name of the time column in stored tables."),
    data_sources: z
      .array(DataSourceSchema, expected("an array of data sources"))
      .min(1, expected("at least one data source"))
      .optional()
      .describe('Inputs of the merge; default: one source {"folder": symbol}.'),
    download_start: timeText()
      .nullable()
      .optional()
      .describe("First day to download/import (YYYY-MM, YYYY-MM-DD, ISO time; UTC)."),
    download_end: timeText()
      .nullable()
      .optional()
      .describe("End of the download/import range, exclusive; default: now."),
    archive_url: text()
      .min(1, expected("a URL or a folder"))
      .default("https://data.binance.vision")
      .describe("Base URL of Binance's public data archive (or a local folder in its layout)."),
    exchange_url: httpUrl().optional().describe("REST base URL override, e.g. a local exchange simulator."),
    merge_interpolate: flag().default(false).describe("Fill short gaps in merged data by interpolation."),
    merge_max_gap: nonNegativeInt()
      .default(5)
      .describe("Longest gap, in bars, that interpolation may bridge; longer gaps stay empty."),

    // File names
    klines_file_name: storeName().default("klines").describe("Klines file of each source."),
    merge_file_name: storeName().default("data").describe("Merged table."),
    feature_file_name: storeName().default("features").describe("Table with features."),
    matrix_file_name: storeName().default("matrix").describe("Table with features and labels."),
    predict_file_name: storeName().default("predictions").describe("Table with predictions."),
    signal_file_name: storeName().default("signals").describe("Table with signals."),
    model_folder: text()
      .default("MODELS")
      .describe("Folder of trained models, under <data_folder>/<symbol>/."),
    models_keep: nonNegativeInt()
      .default(5)
      .describe(
        "Model versions (and walk-forward runs) kept after each training; the current version always. 0: keep all.",
      ),

    // Features and labels
    feature_sets: z
      .array(FeatureSetSchema, expected("an array of feature sets"))
      .default([])
      .describe("Feature generators, applied in order."),
    label_sets: z
      .array(LabelSetSchema, expected("an array of label sets"))
      .default([])
      .describe("Label generators, applied in order."),

    // Training
    train: flag()
      .default(false)
      .describe("Accepted for compatibility. itb never cuts batch data by it (the original did)."),
    train_length: nonNegativeInt()
      .default(0)
      .describe("Train on at most this many latest rows; 0: all rows."),
    label_horizon: nonNegativeInt()
      .optional()
      .describe(
        "Rows at the end without complete labels, excluded from training; default: the largest label horizon.",
      ),
    features_horizon: nonNegativeInt()
      .optional()
      .describe("Live mode: history length needed to compute features."),
    features_last_rows: nonNegativeInt()
      .optional()
      .describe("Live mode: latest rows whose features are computed."),
    predict_length: nonNegativeInt()
      .optional()
      .describe("Live mode only: rows kept up to date. Batch commands never cut data by it."),
    append_overlap_records: nonNegativeInt()
      .optional()
      .describe("Live mode: latest records requested again and recomputed on each step."),
    train_feature_sets: z
      .array(TrainFeatureSetSchema, expected("an array of train feature sets"))
      .default([])
      .describe("The original's training sets."),
    train_features: stringList().default([]).describe("Feature columns the models use, in this order."),
    labels: stringList().default([]).describe("Label columns a model is trained for."),
    algorithms: z
      .array(AlgorithmSchema, expected("an array of algorithms"))
      .default([])
      .describe("Models trained for every label."),

    // Signals, outputs, evaluation
    signal_sets: z
      .array(SignalSetSchema, expected("an array of signal sets"))
      .default([])
      .describe("Signal generators applied to predictions, in order."),
    output_sets: z
      .array(OutputSetSchema, expected("an array of output sets"))
      .default([])
      .describe("Live outputs: notifiers and traders."),
    simulate_model: SimulateModelSchema.optional(),
    backtest: BacktestSchema.prefault({}),
    rolling_predict: RollingPredictSchema.optional(),
    trade_model: TradeModelSchema.optional(),
    serve: ServeSchema.prefault({}),
    schedule: ScheduleSchema.optional(),

    // Credentials
    api_key: secretText("Exchange API key (falls back to ITB_API_KEY)"),
    api_secret: secretText("Exchange API secret (falls back to ITB_API_SECRET)"),
    telegram_bot_token: secretText("Telegram bot token (falls back to ITB_TELEGRAM_BOT_TOKEN)"),
    telegram_chat_id: z
      .union(
        [text(), z.number().int(), z.array(z.union([text(), z.number().int()])).min(1)],
        expected("a chat id, or a list of them"),
      )
      .transform((v) => (Array.isArray(v) ? v.map(String).join(",") : String(v)))
      .optional()
      .describe(
        "Telegram chat id, or a list (comma-separated in ITB_TELEGRAM_CHAT_ID): where notifications go and the only chats whose commands are answered. Never printed.",
      ),
    serve_read_token: apiTokens("read"),
    serve_control_token: apiTokens("control"),
    azure_storage_connection_string: secretText(
      "Azure Storage connection string of an az:// data_folder (falls back to AZURE_STORAGE_CONNECTION_STRING; without either, AZURE_STORAGE_ACCOUNT and AZURE_STORAGE_KEY)",
    ),
    telegram_api_url: httpUrl()
      .optional()
      .describe(
        "The Telegram Bot API root (default https://api.telegram.org); itb telegram-sim's address for tests and the offline demo.",
      ),
    telegram: TelegramSchema.prefault({}),
    risk_management: RiskManagementSchema.optional(),
    futures: FuturesSchema.optional(),
    ledger_url: z
      .string(expected("a postgres:// URL"))
      .superRefine((v, ctx) => {
        const u = readLedgerUrl(v);
        if (typeof u === "string") ctx.addIssue({ code: "custom", message: u });
      })
      .optional()
      .describe(
        "The live service's ledger on PostgreSQL: postgres://user[:password]@host[:port]/database[?schema=itb]; default: <data_folder>/ledger.sqlite. Its password is never printed.",
      ),
    secrets_file: text()
      .optional()
      .describe(
        "JSON/JSONC file with api_key, api_secret, telegram_bot_token, telegram_chat_id, serve_read_token, serve_control_token, azure_storage_connection_string (or ITB_SECRETS_FILE).",
      ),
  },
  "an object",
);

/** Checks that involve more than one key. */
function checkAcrossKeys(value: unknown, ctx: z.RefinementCtx): void {
  if (!isPlainObject(value)) return;
  const start = typeof value.download_start === "string" ? parseConfigTime(value.download_start) : undefined;
  const end = typeof value.download_end === "string" ? parseConfigTime(value.download_end) : undefined;
  if (start !== undefined && end !== undefined && end <= start) {
    ctx.addIssue({
      code: "custom",
      path: ["download_end"],
      message: `expected a time after download_start (${formatValue(value.download_start)})`,
      input: value.download_end,
    });
  }
  reportDuplicates(value.data_sources, "column_prefix", "data_sources", ctx, "a column_prefix not used by");
  reportDuplicates(value.algorithms, "name", "algorithms", ctx, "a name not used by");
  checkSourceIntervals(value, ctx);
  checkGridParameters(value, ctx);
  if (
    isPlainObject(value.schedule) &&
    value.schedule.retrain !== undefined &&
    value.rolling_predict === undefined
  ) {
    ctx.addIssue({
      code: "custom",
      path: ["schedule", "retrain"],
      message:
        "scheduled retraining judges the new models by their walk-forward AUC: add a rolling_predict section",
      input: value.schedule.retrain,
    });
  }
}

function freqMs(text: unknown): number | undefined {
  if (typeof text !== "string") return undefined;
  try {
    return parseFreq(text).ms;
  } catch {
    return undefined;
  }
}

/** A source's interval must divide freq: merge aggregates finer candles, it cannot split coarser ones. */
function checkSourceIntervals(value: Record<string, unknown>, ctx: z.RefinementCtx): void {
  const freqText = value.freq ?? "1min";
  const grid = freqMs(freqText);
  if (grid === undefined || !Array.isArray(value.data_sources)) return;
  value.data_sources.forEach((ds, i) => {
    // An interval that is not a Binance one is reported by the data source's own schema.
    if (!isPlainObject(ds) || typeof ds.interval !== "string" || !isBinanceKlineInterval(ds.interval)) return;
    const step = freqMs(ds.interval);
    if (step === undefined || (step <= grid && grid % step === 0)) return;
    ctx.addIssue({
      code: "custom",
      path: ["data_sources", i, "interval"],
      message: `expected an interval that freq ${formatValue(freqText)} is a whole multiple of (merge aggregates finer candles onto the grid)`,
      input: ds.interval,
    });
  });
}

/**
 * Every simulate_model.grid axis must be a parameter of the searched threshold rule: a misspelt
 * axis is reported where it is written, not later as an unknown key of the signal set's
 * parameters, after the stages before the search have run.
 */
function checkGridParameters(value: Record<string, unknown>, ctx: z.RefinementCtx): void {
  const sm = value.simulate_model;
  if (!isPlainObject(sm) || !isPlainObject(sm.grid) || !Array.isArray(value.signal_sets)) return;
  const index = searchedSignalIndex(value.signal_sets, sm.signal_generator);
  const set = value.signal_sets[index];
  const rule = isPlainObject(set) ? set.generator : undefined;
  if (typeof rule !== "string" || !Object.hasOwn(THRESHOLD_RULE_PARAMETERS, rule)) return;
  const params: readonly string[] = THRESHOLD_RULE_PARAMETERS[rule as keyof typeof THRESHOLD_RULE_PARAMETERS];
  for (const axis of Object.keys(sm.grid)) {
    if (params.includes(axis)) continue;
    const near = closestKey(axis, params);
    ctx.addIssue({
      code: "custom",
      path: ["simulate_model", "grid", axis],
      message:
        `unknown parameter of ${rule} (signal_sets[${index}])` +
        (near === undefined ? `; it reads ${params.join(", ")}` : `; did you mean ${JSON.stringify(near)}?`),
      input: sm.grid[axis],
    });
  }
}

function reportDuplicates(
  list: unknown,
  key: string,
  listName: string,
  ctx: z.RefinementCtx,
  what: string,
): void {
  if (!Array.isArray(list)) return;
  const seen = new Map<unknown, number>();
  list.forEach((item, i) => {
    if (!isPlainObject(item)) return;
    // An absent column_prefix means "" (the default), which collides like any other value.
    const v = item[key] ?? (key === "column_prefix" ? "" : undefined);
    if (typeof v !== "string") return;
    const first = seen.get(v);
    if (first === undefined) seen.set(v, i);
    else {
      ctx.addIssue({
        code: "custom",
        path: [listName, i, key],
        message: `expected ${what} ${listName}[${first}]`,
        input: v,
      });
    }
  });
}

type BaseConfig = z.output<typeof BaseConfigSchema>;

/** Defaults that depend on other keys. */
function resolveDerived(base: BaseConfig) {
  const data_sources = (
    base.data_sources ?? [{ folder: base.symbol, column_prefix: "", market: "spot" as const }]
  ).map((ds) => ({ ...ds, file: ds.file ?? base.klines_file_name }));
  const algorithms = base.algorithms.map((a) => ({
    ...a,
    // The original's older samples put is_scale into params; its current code reads train.is_scale.
    train: {
      ...a.train,
      is_scale: a.train.is_scale ?? (typeof a.params.is_scale === "boolean" && a.params.is_scale),
    },
  }));
  return {
    ...base,
    data_sources,
    algorithms,
    label_horizon: base.label_horizon ?? largestLabelHorizon(base.label_sets),
  };
}

function largestLabelHorizon(sets: readonly { config: Record<string, unknown> }[]): number {
  let max = 0;
  for (const s of sets) {
    const h = s.config.horizon;
    if (typeof h === "number" && Number.isInteger(h) && h > max) max = h;
  }
  return max;
}

export const ConfigSchema = BaseConfigSchema.superRefine(checkAcrossKeys, ALWAYS)
  .transform(resolveDerived)
  .describe("itb configuration (JSONC). Keys and meanings follow the original Intelligent Trading Bot.");

export type Config = z.infer<typeof ConfigSchema>;
export type DataSource = Config["data_sources"][number];
export type FeatureSet = Config["feature_sets"][number];
export type LabelSet = Config["label_sets"][number];
export type SignalSet = Config["signal_sets"][number];
export type SimulateModel = NonNullable<Config["simulate_model"]>;
export type RollingPredict = NonNullable<Config["rolling_predict"]>;
