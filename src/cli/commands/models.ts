import type { Command } from "commander";
import { type ConfigOptions, type WriterOptions, withConfigOptions, withWaitOption } from "../options.js";

export function registerModelCommands(program: Command): void {
  withWaitOption(
    withConfigOptions(
      program
        .command("train")
        .summary("train one model per label and algorithm on the matrix and store a new version of each")
        .description(
          "Trains the models of train_feature_sets (default: every label x algorithm on train_features) on " +
            "the matrix, without its last label_horizon rows, and stores each as a new version under " +
            "<data_folder>/<symbol>/<model_folder>/, made current. The metrics it prints are IN-SAMPLE: " +
            "measured on the training rows themselves. Use predict-rolling to evaluate a model. " +
            "Afterwards only the newest models_keep versions of each model are kept (and the current one).",
        ),
    ),
  )
    .option("--no-promote", "store the new versions without making them current")
    .addHelpText("after", "\nExample:\n  itb train --config configs/demo.jsonc")
    .action(async (opts: ConfigOptions & WriterOptions & { promote: boolean }, cmd: Command) => {
      const { trainAction } = await import("../actions/models.js");
      await trainAction(opts, cmd);
    });

  withWaitOption(
    withConfigOptions(
      program
        .command("predict")
        .summary("apply the current models to features (or the matrix) and write predictions and metrics")
        .description(
          "Applies the current version of every configured model and writes predictions (<label>_<name> " +
            "columns, the time column, price columns and the labels present) and <predictions>.metrics.json. " +
            "Reads the matrix when it exists (its labels give metrics), else the features table. Metrics on " +
            "rows a model was trained on are flagged IN-SAMPLE.",
        ),
    ),
  )
    .option("--input <table>", "features or matrix (default: matrix if it exists)")
    .option("--output <name>", "predictions table name (default: predict_file_name)")
    .addHelpText("after", "\nExample:\n  itb predict --config configs/demo.jsonc --input features")
    .action(
      async (opts: ConfigOptions & WriterOptions & { input?: string; output?: string }, cmd: Command) => {
        const { predictAction } = await import("../actions/models.js");
        await predictAction(opts, cmd);
      },
    );

  withWaitOption(
    withConfigOptions(
      program
        .command("predict-rolling")
        .summary("walk-forward: train and predict step by step, out-of-sample, with the label horizon purged")
        .description(
          "Splits the matrix into rolling_predict steps; each step trains on rows whose labels end before " +
            "its first predicted row (last training row <= first predicted row - label_horizon - 1) and " +
            "predicts its rows. Steps run in parallel on worker threads; every step's models are kept in " +
            "<model_folder>/rolling/run-N/. Writes predictions (NaN outside the predicted rows) and " +
            "out-of-sample metrics. Ctrl-C stops at once (the unfinished run is removed).",
        ),
    ),
  )
    .option("--workers <n>", "at most this many worker threads (default: one per core)")
    .option("--in-process", "run the steps one by one in this thread (same results)")
    .option("--output <name>", "predictions table name (default: predict_file_name)")
    .addHelpText("after", "\nExample:\n  itb predict-rolling --config configs/demo.jsonc --workers 4")
    .action(
      async (
        opts: ConfigOptions & WriterOptions & { workers?: string; inProcess?: boolean; output?: string },
        cmd: Command,
      ) => {
        const { predictRollingAction } = await import("../actions/models.js");
        await predictRollingAction(opts, cmd);
      },
    );

  const models = program
    .command("models")
    .summary("list, show, promote, compare and prune stored model versions");

  withConfigOptions(
    models.command("list").summary("models, versions, the current one, creation time and metrics"),
  )
    .option("--json", "print JSON")
    .addHelpText("after", "\nExample:\n  itb models list --config configs/demo.jsonc")
    .action(async (opts: ConfigOptions & { json?: boolean }, cmd: Command) => {
      const { modelsListAction } = await import("../actions/models.js");
      await modelsListAction(opts, cmd);
    });

  withConfigOptions(
    models.command("show").summary("a model version's contract: features, window, params, metrics"),
  )
    .argument("<name>", "model name, e.g. high_20_lc")
    // A positional version: `--version` is the program's own flag (itb --version).
    .argument("[version]", "the version to show, 3 or v0003 (default: the current one)")
    .option("--json", "print the artifact as JSON (without the model body unless --full)")
    .option("--full", "with --json: include the model body")
    .addHelpText("after", "\nExample:\n  itb models show high_20_lc 2 --config configs/demo.jsonc")
    .action(
      async (
        name: string,
        versionText: string | undefined,
        opts: ConfigOptions & { json?: boolean; full?: boolean },
        cmd: Command,
      ) => {
        const { modelsShowAction } = await import("../actions/models.js");
        await modelsShowAction(name, versionText, opts, cmd);
      },
    );

  withWaitOption(
    withConfigOptions(
      models.command("promote").summary("make a stored version the current one (predict uses it)"),
    ),
  )
    .argument("<name>", "model name")
    .argument("<version>", "version number (3 or v0003)")
    .addHelpText("after", "\nExample:\n  itb models promote high_20_lc 2 --config configs/demo.jsonc")
    .action(async (name: string, versionText: string, opts: ConfigOptions & WriterOptions, cmd: Command) => {
      const { modelsPromoteAction } = await import("../actions/models.js");
      await modelsPromoteAction(name, versionText, opts, cmd);
    });

  withWaitOption(
    withConfigOptions(
      models
        .command("prune")
        .summary("remove old model versions and walk-forward runs, keeping the newest (and the current ones)")
        .description(
          "Keeps the newest N versions of every model (default: the config's models_keep, 5) and the " +
            "newest N walk-forward runs, and removes the rest. A model's current version is never " +
            "removed. itb train and predict-rolling prune this way after each run unless models_keep is 0.",
        ),
    ),
  )
    .option("--keep <n>", "versions (and runs) to keep (default: models_keep)")
    .option("--dry-run", "list what would be removed, remove nothing")
    .addHelpText(
      "after",
      "\nExamples:\n  itb models prune --config configs/demo.jsonc --dry-run\n  itb models prune --config configs/demo.jsonc --keep 2",
    )
    .action(
      async (opts: ConfigOptions & WriterOptions & { keep?: string; dryRun?: boolean }, cmd: Command) => {
        const { modelsPruneAction } = await import("../actions/models.js");
        await modelsPruneAction(opts, cmd);
      },
    );

  withConfigOptions(
    models.command("diff").summary("what changed between two versions: params, features, window, metrics"),
  )
    .argument("<name>", "model name")
    .argument("<v1>", "first version")
    .argument("<v2>", "second version")
    .addHelpText("after", "\nExample:\n  itb models diff high_20_lc 1 2 --config configs/demo.jsonc")
    .action(async (name: string, v1: string, v2: string, opts: ConfigOptions, cmd: Command) => {
      const { modelsDiffAction } = await import("../actions/models.js");
      await modelsDiffAction(name, v1, v2, opts, cmd);
    });
}
