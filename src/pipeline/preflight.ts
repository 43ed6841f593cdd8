import { dirname } from "node:path";
import { expandAxes } from "../backtest/grid.js";
import { baseParameters, searchedSignalSet, withParameters } from "../backtest/search.js";
import {
  type Config,
  type FeatureSet,
  type LabelSet,
  rollingSettingsOf,
  searchSettingsOf,
} from "../config/index.js";
import { ConfigError, errorMessage } from "../core/errors.js";
import type { CustomGenerator } from "../features/generator.js";
import { getIndicator } from "../features/indicators/index.js";
import { checkRollingSettings } from "../models/rolling.js";
import { modelSpecs } from "../models/train.js";
import { featureGenerator, labelGenerator } from "./generators.js";
import { resolveSignalSets } from "./signalStages.js";

/**
 * The checks of a config that need its generators but no data: custom generator modules
 * loaded, TA-Lib function names looked up, every feature, label and signal set compiled, the
 * model specs built, the threshold grid expanded against the searched rule. `itb pipeline` runs
 * them for the stages it will run before the first one starts, so a mistake in a late stage's
 * section fails in a second, not after an hour of imports and training; `itb config check` runs
 * them for every section the config has. Every issue is collected, each named by the JSON path
 * where it is written; the result is one ConfigError (exit status 2).
 */

/** What `itb config check` checks: every stage whose section the config has (import/download need dates only when they run). */
export function configuredStages(config: Config): Set<string> {
  const stages = new Set<string>();
  if (config.feature_sets.length > 0) stages.add("features");
  if (config.label_sets.length > 0) stages.add("labels");
  if (config.algorithms.length > 0) stages.add("train");
  if (config.rolling_predict !== undefined) stages.add("predict-rolling");
  if (config.signal_sets.length > 0) stages.add("signals");
  const grid = config.simulate_model?.grid;
  if (grid !== undefined && Object.keys(grid).length > 0) stages.add("simulate");
  return stages;
}

export interface PreflightOptions {
  /** The command-line option that sets download_start, suggested when it is missing (e.g. "--download-start"). */
  startOption?: string;
}

export async function preflight(
  config: Config,
  configFile: string,
  stages: ReadonlySet<string>,
  options: PreflightOptions = {},
): Promise<void> {
  const issues: string[] = [];
  const check = async (where: string, fn: () => unknown): Promise<void> => {
    try {
      await fn();
    } catch (err) {
      issues.push(...issueLines(err, where));
    }
  };
  const baseDir = dirname(configFile);

  if (stages.has("import") && (config.download_start === undefined || config.download_start === null)) {
    const option = options.startOption === undefined ? "" : ` or pass ${options.startOption} YYYY-MM[-DD]`;
    issues.push(
      `download_start: not set, and the import stage needs the first day to import: set "download_start" in the config (e.g. "2023-01-01")${option}`,
    );
  }
  if (stages.has("features")) {
    for (const [i, set] of config.feature_sets.entries()) {
      await checkSet(set, `feature_sets[${i}]`, () => featureGenerator(set.generator, baseDir), issues);
    }
  }
  if (stages.has("labels")) {
    for (const [i, set] of config.label_sets.entries()) {
      await checkSet(set, `label_sets[${i}]`, () => labelGenerator(set.generator, baseDir), issues);
    }
  }
  if (["train", "predict", "predict-rolling"].some((s) => stages.has(s))) {
    await check("", () => modelSpecs(config));
  }
  if (stages.has("predict-rolling"))
    await check("", () => checkRollingSettings(rollingSettingsOf(config.rolling_predict)));
  const searched = stages.has("simulate") || stages.has("report");
  if (stages.has("signals") || searched) {
    await check("", async () => {
      let sets = config.signal_sets;
      const search = searchSettingsOf(config);
      if (searched && search.grid.length > 0) {
        // The searched rule's thresholds may come from the grid instead of its parameters.
        const { index, set } = searchedSignalSet(sets, search.signalGenerator);
        const cells = expandAxes(search.grid, baseParameters(set), search.buySellEqual);
        sets = withParameters(sets, index, cells[0] ?? {});
      }
      await resolveSignalSets({ signal_sets: sets }, configFile);
    });
  }
  if (issues.length > 0) {
    throw new ConfigError(
      `config ${configFile} is invalid:\n${issues.map((l) => `  ${l}`).join("\n")}`,
      issues,
    );
  }
}

/**
 * One feature or label set: its generator loads, TA-Lib names exist (with the closest ported
 * one), and the generator accepts its config (inputs and outputs are computed from it).
 */
async function checkSet(
  set: FeatureSet | LabelSet,
  where: string,
  load: () => Promise<CustomGenerator>,
  issues: string[],
): Promise<void> {
  let generator: CustomGenerator;
  try {
    generator = await load();
  } catch (err) {
    issues.push(...issueLines(err, `${where}.generator`));
    return;
  }
  if (set.generator === "talib" && Array.isArray(set.config.functions)) {
    const before = issues.length;
    set.config.functions.forEach((name, j) => {
      if (typeof name !== "string") return;
      try {
        getIndicator(name);
      } catch (err) {
        issues.push(`${where}.config.functions[${j}]: ${errorMessage(err)}`);
      }
    });
    if (issues.length > before) return;
  }
  try {
    generator.inputs(set.config);
    generator.outputs(set.config);
  } catch (err) {
    issues.push(...issueLines(err, `${where}.config`));
  }
}

/**
 * An error as one issue line, under `where` unless it names its own path; a message of several
 * lines ("lc params are invalid:" and a line per issue) is joined into one.
 */
function issueLines(err: unknown, where: string): string[] {
  const message = errorMessage(err)
    .split("\n")
    .map((l) => l.trim())
    .join(" ");
  if (where === "" || message.startsWith(where)) return [message];
  return [`${where}: ${message}`];
}
