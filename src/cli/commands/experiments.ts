import { type Command, InvalidArgumentError } from "commander";

/** `itb experiments list|show|compare`: the tuning runs of the experiment store, read-only (docs/experiments.md). */

export interface StoreOptions {
  config?: string;
  symbol?: string;
  store?: string;
  json?: boolean;
}

export interface ShowOptions extends StoreOptions {
  top: number;
  trials?: boolean;
  html?: string | true;
}

export interface CompareOptions extends StoreOptions {
  top: number;
  html?: string | true;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError(`expected a whole number of 1 or more, found "${value}"`);
  }
  return n;
}

function withStore(cmd: Command): Command {
  return cmd
    .option(
      "-c, --config <file>",
      "JSONC config file: its market's store, <data_folder>/<symbol>/experiments/",
    )
    .option("--symbol <symbol>", "override the config's symbol (e.g. ETHUSDT)")
    .option("--store <dir>", "the experiments folder itself (instead of --config)")
    .option("--json", "print JSON");
}

export function registerExperimentsCommands(program: Command): void {
  const experiments = program
    .command("experiments")
    .summary("the tuning runs (experiments) itb tune recorded: list, show, compare, HTML page");

  withStore(
    experiments
      .command("list")
      .summary("one line per experiment: status, objective, trials, best value, holdout, PBO")
      .description(
        "Lists the experiments of the store (<data_folder>/<symbol>/experiments/experiments.sqlite of " +
          "--config, or --store DIR): id, name, creation time, status, objective, trials complete/pruned/" +
          "failed of those requested, the best value (and its trial), the holdout value and the PBO. " +
          "See docs/experiments.md.",
      ),
  )
    .addHelpText("after", "\nExample:\n  itb experiments list --config configs/btcusdt-1m.jsonc")
    .action(async (opts: StoreOptions, cmd: Command) => {
      const { experimentsListAction } = await import("../actions/experiments.js");
      await experimentsListAction(opts, cmd);
    });

  withStore(
    experiments
      .command("show")
      .argument("<id>")
      .summary("one experiment: settings, space, best trial, holdout, overfitting odds, top trials")
      .description(
        "Shows an experiment (its id, e.g. exp-0001): its settings and search space, the best trial (parameters and fold " +
          "metrics), the holdout, the overfitting odds with their reading, the parameters' importance " +
          "and its top trials by value (--top N, or all with --trials). --html writes the experiment's " +
          "page (default <experiment folder>/report.html). See docs/experiments.md.",
      ),
  )
    .option("--top <n>", "how many of the best trials to list", positiveInt, 10)
    .option("--trials", "list every trial, in trial order")
    .option("--html [file]", "also write the HTML page (default: <experiment folder>/report.html)")
    .addHelpText(
      "after",
      "\nExample:\n  itb experiments show exp-0001 --config configs/btcusdt-1m.jsonc --html",
    )
    .action(async (id: string, opts: ShowOptions, cmd: Command) => {
      const { experimentsShowAction } = await import("../actions/experiments.js");
      await experimentsShowAction(id, opts, cmd);
    });

  withStore(
    experiments
      .command("compare")
      .argument("<ids...>")
      .summary("experiments side by side, or one experiment's top trials parameter by parameter")
      .description(
        "Compares experiments side by side: objective, data fingerprint, config hash, best value, " +
          "holdout, PBO, DSR, trials, duration, and the best parameters they share. With one id, " +
          "compares that experiment's top trials (--top N) parameter by parameter. --html writes the " +
          "comparison page (default: <experiment folder>/report.html for one id, " +
          "<experiments folder>/compare-<ids>.html for several). See docs/experiments.md.",
      ),
  )
    .option("--top <n>", "with one id: how many of its best trials to compare", positiveInt, 10)
    .option("--html [file]", "also write the HTML comparison page")
    .addHelpText(
      "after",
      "\nExample:\n  itb experiments compare exp-0001 exp-0002 --config configs/btcusdt-1m.jsonc",
    )
    .action(async (ids: string[], opts: CompareOptions, cmd: Command) => {
      const { experimentsCompareAction } = await import("../actions/experiments.js");
      await experimentsCompareAction(ids, opts, cmd);
    });
}
