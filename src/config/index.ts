export { configDownloadRange, configFreq } from "./accessors.js";
export { storeFileName } from "./fileNames.js";
export {
  COMBINE_MODES,
  CombineConfigSchema,
  configKeys,
  ITBSTATS_FUNCTIONS,
  ORIGINAL_EXAMPLE_FEATURE,
  SmoothenConfigSchema,
  THRESHOLD_RULE_PARAMETERS,
  ThresholdRule2ConfigSchema,
  ThresholdRuleConfigSchema,
  type ThresholdRuleName,
} from "./generatorConfigs.js";
export {
  isKnownGenerator,
  parseCustomGenerator,
} from "./generators.js";
export { canonicalJson, configHash } from "./hash.js";
export { parseJsonc } from "./jsonc.js";
export { configJsonSchema } from "./jsonSchema.js";
export { type ConfigOverrides, type LoadedConfig, loadConfig, parseConfigText } from "./load.js";
export {
  type Config,
  ConfigSchema,
  type DataSource,
  type FeatureSet,
  type LabelSet,
  type RollingPredict,
  type SignalSet,
} from "./schema.js";
export { maskSecrets } from "./secrets.js";
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
export { cacheFolder, storageCredentials } from "./storage.js";
