import { statSync } from "node:fs";
import type { Config } from "../config/index.js";
import { errorMessage } from "../core/errors.js";
import type { Logger } from "../core/log.js";
import type { ModelArtifact } from "../models/artifact.js";
import { modelSpecs } from "../models/train.js";
import { type CurrentSet, ModelStore, modelRoot } from "../pipeline/modelStore.js";

/**
 * The models a live market scores with: the current version of every model the config trains
 * (labels × algorithms, or its train_feature_sets), each checked against its contract (the
 * features the config names, in order). A missing model or a contract mismatch is a DataError
 * naming the model and what to do.
 */
export async function loadCurrentModels(
  config: Config,
  versions?: ReadonlyMap<string, number>,
): Promise<ModelArtifact[]> {
  const store = new ModelStore(modelRoot(config), { now: Date.now });
  const out: ModelArtifact[] = [];
  for (const spec of modelSpecs(config)) {
    out.push((await store.readForFeatures(spec.name, spec.features, versions?.get(spec.name))).artifact);
  }
  return out;
}

/** Watches the model store's current versions between candles. */
export interface ModelWatch {
  /**
   * The models to score with from now on when a current version changed since the last call
   * (a promotion, a pipeline run), after their contracts were checked; undefined when nothing
   * changed or the new ones were refused (logged; the old ones stay).
   */
  poll(log: Logger): Promise<ModelArtifact[] | undefined>;
}

export function watchCurrentModels(config: Config, loaded: readonly ModelArtifact[]): ModelWatch {
  const store = new ModelStore(modelRoot(config), { now: Date.now });
  const specs = modelSpecs(config);
  const pointers = specs.map((s) => store.currentFile(s.name));
  // The pointer files' identities: a promotion replaces a pointer by rename (a new inode), so
  // while these stay the same no pointer needs reading (a stat each, not four reads, per candle).
  const identity = (): string =>
    pointers
      .map((f) => {
        const st = statSync(f, { throwIfNoEntry: false });
        return st === undefined ? "-" : `${st.ino}:${st.size}:${st.mtimeMs}`;
      })
      .join(",");
  let read: string | undefined;
  let seen: string | undefined;
  let refused: string | undefined;
  let waiting: string | undefined;
  let first = true;
  return {
    async poll(log) {
      let now: string;
      let id: string;
      let set: CurrentSet;
      try {
        id = identity();
        if (id === read) return undefined;
        set = await store.currentSet(specs.map((s) => s.name));
        now = specs.map((s) => `${s.name}@${set.pointers.get(s.name)?.version ?? "none"}`).join(",");
      } catch (err) {
        log.warn(
          { err: errorMessage(err) },
          "cannot read the model store's current versions; the models in use stay",
        );
        return undefined;
      }
      if (set.unfinished !== undefined) {
        // Not marked read: the next candle looks again, until the set is whole.
        if (set.unfinished !== waiting) {
          log.warn(
            { unfinished: set.unfinished, in_use: seen },
            "a promotion of the model set is unfinished (under way, or cut short); the models in use stay until it is whole",
          );
        }
        waiting = set.unfinished;
        return undefined;
      }
      waiting = undefined;
      read = id;
      if (first) {
        first = false;
        seen = now;
        return undefined;
      }
      if (now === seen || now === refused) return undefined;
      try {
        const versions = new Map<string, number>();
        for (const [name, p] of set.pointers) if (p !== undefined) versions.set(name, p.version);
        const next = await loadCurrentModels(config, versions);
        log.info(
          {
            models: next.map((a) => a.name),
            was: seen,
            now,
            created: next.map((a) => a.created_at),
          },
          "new current models picked up",
        );
        seen = now;
        refused = undefined;
        return next;
      } catch (err) {
        refused = now;
        log.error(
          { now, err: errorMessage(err), in_use: loaded.map((a) => a.name) },
          "new current models refused (their contract does not match); the models in use stay",
        );
        return undefined;
      }
    },
  };
}
