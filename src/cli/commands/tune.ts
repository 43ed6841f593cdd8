import type { Command } from "commander";
import { DEFAULT_PREFIX } from "../../pipeline/queue/defaults.js";
import { type ConfigOptions, withConfigOptions } from "../options.js";

export interface TuneCliOptions extends ConfigOptions {
  space?: string;
  trials?: string;
  objective?: string;
  sampler?: string;
  seed?: string;
  folds?: string;
  holdout?: string;
  halving?: string;
  threads?: string;
  queue?: string;
  queuePrefix: string;
  name?: string;
  json?: boolean;
}

export function registerTuneCommand(program: Command): void {
  withConfigOptions(
    program
      .command("tune")
      .summary("search algorithm parameters, feature windows and signal thresholds on walk-forward folds")
      .description(
        "Tries configs made from the base config and a search space (SPACE.jsonc: config paths and their " +
          "ranges or choices). Each trial computes its features and labels from the merged table, trains its " +
          "models on purged walk-forward folds of the period before the holdout and is scored out of sample " +
          "(auc: mean ROC AUC; profit: compound profit % of its signals after fees). Random search or TPE, " +
          "with successive halving of poor trials. Every trial is recorded in " +
          "<data_folder>/<symbol>/experiments/experiments.sqlite; the best is scored once on the holdout and " +
          "written as a config (exp-NNNN/best.jsonc) that itb pipeline runs unchanged, with the run's " +
          "overfitting odds (PBO, deflated Sharpe ratio). See docs/tune.md.",
      ),
  )
    .requiredOption("--space <file>", 'search space (JSONC): { "parameters": { "<config path>": spec } }')
    .option("--trials <n>", "trials to run (default 20)")
    .option(
      "--objective <name>",
      "auc (mean ROC AUC over folds and models) or profit (compound % after fees)",
    )
    .option("--sampler <name>", "tpe (default) or random")
    .option("--seed <n>", "seed of the sampler: the same seed proposes the same parameters (default 0)")
    .option("--folds <k>", "walk-forward folds over the tuning period (default 4)")
    .option(
      "--holdout <time>",
      "start of the holdout, scored once for the chosen trial (default: simulate_model.holdout, else the last 20 % of rows)",
    )
    .option("--halving <eta>", "successive halving's reduction factor; 0: off (default 3)")
    .option("--threads <n>", "trials at once on worker threads (default: one per core)")
    .option(
      "--queue <url>",
      "send the trials to itb worker processes through this Redis (at most --threads at once)",
    )
    .option("--queue-prefix <prefix>", "the queue's key prefix in Redis", DEFAULT_PREFIX)
    .option("--name <name>", "a name for the experiment")
    .option("--json", "print one JSON document instead of lines")
    .addHelpText(
      "after",
      "\nExample:\n  itb tune --config configs/btcusdt-1h.jsonc --space examples/tune-space.jsonc --trials 30 --objective auc",
    )
    .action(async (opts: TuneCliOptions, cmd: Command) => {
      const { tuneAction } = await import("../actions/tune.js");
      await tuneAction(opts, cmd);
    });
}
