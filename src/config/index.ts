export { configDownloadRange, configFreq } from "./accessors.js";
export { isStoreName, STORE_EXTENSIONS, storeFileName } from "./file-names.js";
export {
  COMBINE_MODES,
  CombineConfigSchema,
  configKeys,
  FILL_POLICIES,
  generatorConfigSchema,
  type HighLow2Config,
  HighLow2ConfigSchema,
  ITBSTATS_FUNCTIONS,
  ORIGINAL_EXAMPLE_FEATURE,
  REL_BASES,
  REL_FUNCS,
  SmoothenConfigSchema,
  searchedSignalIndex,
  type TalibConfig,
  TalibConfigSchema,
  THRESHOLD_RULE_PARAMETERS,
  ThresholdRule2ConfigSchema,
  ThresholdRuleConfigSchema,
  type ThresholdRuleName,
} from "./generator-configs.js";
export {
  FEATURE_GENERATORS,
  isKnownGenerator,
  LABEL_GENERATORS,
  parseCustomGenerator,
  SIGNAL_GENERATORS,
} from "./generators.js";
export { canonicalJson, configHash } from "./hash.js";
export { configJsonSchema } from "./json-schema.js";
export { type JsoncResult, parseJsonc } from "./jsonc.js";
export { type ConfigOverrides, type LoadedConfig, loadConfig, parseConfigText } from "./load.js";
export {
  type Algorithm,
  type BacktestConfig,
  type Config,
  ConfigSchema,
  type DataSource,
  type FeatureSet,
  type LabelSet,
  type OutputSet,
  type RollingPredict,
  type SignalSet,
  type SimulateModel,
  type TradeModel,
} from "./schema.js";
export {
  isSecretKey,
  MASK,
  maskSecrets,
  SECRET_ENV,
  SECRET_KEYS,
  SECRETS_FILE_ENV,
  type SecretKey,
} from "./secrets.js";
export {
  backtestOptionsOf,
  configSettings,
  type GridAxis,
  gridAxes,
  type HoldoutSplit,
  holdoutOption,
  type RankMetric,
  type RollingSettings,
  type RowBound,
  rollingSettingsOf,
  type SearchSettings,
  type Settings,
  searchSettingsOf,
} from "./settings.js";
