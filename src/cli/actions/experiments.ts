import { mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { Command } from "commander";
import { UsageError } from "../../core/errors.js";
import { isoTime } from "../../core/time.js";
import { writeFileAtomic } from "../../data/atomic.js";
import { renderExperimentsHtml } from "../../research/experiments/page.js";
import { type ExperimentView, rankedTrials, readExperiments } from "../../research/experiments/read.js";
import { experimentsFolder } from "../../research/experiments/store.js";
import {
  compareColumn,
  formatCompare,
  formatCompareTrials,
  formatList,
  formatShow,
  importanceOf,
  listRow,
  sharedParams,
} from "../../research/experiments/text.js";
import type { CompareOptions, ShowOptions, StoreOptions } from "../commands/experiments.js";

/**
 * The experiments folder of `--store DIR` or of `--config F` (with `--symbol`). The config's
 * loader (and the storage clients it brings) loads only for `--config`.
 */
async function folderOf(opts: StoreOptions, cmd: Command): Promise<string> {
  if (opts.store !== undefined && opts.config !== undefined) {
    throw new UsageError("give --config FILE or --store DIR, not both");
  }
  if (opts.store !== undefined) {
    if (opts.symbol !== undefined) throw new UsageError("--symbol goes with --config, not with --store");
    return resolve(opts.store);
  }
  if (opts.config === undefined) throw new UsageError("missing --config FILE or --store DIR");
  const { configOf, contextOf } = await import("../context.js");
  const { config } = configOf(
    { config: opts.config, ...(opts.symbol === undefined ? {} : { symbol: opts.symbol }) },
    contextOf(cmd).log,
  );
  return experimentsFolder(config.data_folder, config.symbol);
}

const print = (text: string) => process.stdout.write(`${text}\n`);
const printJson = (value: unknown) => print(JSON.stringify(value, null, 2));

async function writePage(file: string, vs: readonly ExperimentView[]): Promise<void> {
  mkdirSync(dirname(file), { recursive: true });
  await writeFileAtomic(file, renderExperimentsHtml(vs, isoTime(Date.now())));
}

/** `itb experiments list`. */
export async function experimentsListAction(opts: StoreOptions, cmd: Command): Promise<void> {
  const folder = await folderOf(opts, cmd);
  const vs = readExperiments(folder);
  if (opts.json) printJson(vs.map(listRow));
  else print(formatList(vs, folder));
}

/** `itb experiments show ID`. */
export async function experimentsShowAction(id: string, opts: ShowOptions, cmd: Command): Promise<void> {
  const [v] = readExperiments(await folderOf(opts, cmd), [id]) as [ExperimentView];
  const html =
    opts.html === undefined
      ? undefined
      : opts.html === true
        ? join(v.folder, "report.html")
        : resolve(opts.html);
  if (html !== undefined) await writePage(html, [v]);
  if (opts.json) {
    const ranked = rankedTrials(v.trials);
    printJson({
      experiment: v.experiment,
      trials: { requested: v.experiment.trialsRequested, ...v.counts },
      best: v.best,
      holdout_value: v.holdoutValue,
      overfitting: v.odds,
      importance: importanceOf(v),
      duration_s: v.durationS,
      ...(opts.trials ? { all_trials: v.trials } : { top_trials: ranked.slice(0, opts.top) }),
      ...(html === undefined ? {} : { html }),
    });
    return;
  }
  print(formatShow(v, { top: opts.top, all: opts.trials === true }));
  if (html !== undefined) print(`wrote ${html}`);
}

/** `itb experiments compare ID [ID...]`. */
export async function experimentsCompareAction(
  ids: string[],
  opts: CompareOptions,
  cmd: Command,
): Promise<void> {
  const unique = [...new Set(ids)];
  if (unique.length < ids.length) throw new UsageError(`an experiment is named twice: ${ids.join(" ")}`);
  const folder = await folderOf(opts, cmd);
  const vs = readExperiments(folder, ids);
  const html =
    opts.html === undefined
      ? undefined
      : opts.html !== true
        ? resolve(opts.html)
        : vs.length === 1
          ? join((vs[0] as ExperimentView).folder, "report.html")
          : join(folder, `compare-${ids.join("_")}.html`);
  if (html !== undefined) await writePage(html, vs);
  if (opts.json) {
    const cols = vs.map(compareColumn);
    printJson(
      vs.length === 1
        ? {
            experiment: cols[0],
            top_trials: rankedTrials((vs[0] as ExperimentView).trials).slice(0, opts.top),
            importance: importanceOf(vs[0] as ExperimentView),
            ...(html === undefined ? {} : { html }),
          }
        : { experiments: cols, shared_params: sharedParams(cols), ...(html === undefined ? {} : { html }) },
    );
    return;
  }
  print(vs.length === 1 ? formatCompareTrials(vs[0] as ExperimentView, opts.top) : formatCompare(vs));
  if (html !== undefined) print(`wrote ${html}`);
}
