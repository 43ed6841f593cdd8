import {
  cacheFolder,
  configHash,
  configSettings,
  type LoadedConfig,
  storageCredentials,
} from "../config/index.js";
import { parseAzUrl } from "../data/storage/blob.js";
import { isSharedFolder, type Mirror, openMirror } from "../data/storage/mirror.js";
import type { StageStorage } from "./graph/runner.js";

/**
 * The pipeline on a shared data folder (`data_folder: "az://container/prefix"`, or
 * `file:///path`): the market's config is given the local mirror's root as its data folder, so
 * every stage reads and writes ordinary files, and the runner (graph/runner.ts) calls the
 * StageStorage below around each stage: pull the manifest, inputs and outputs before the
 * decision, the stage's folders (the model store) before it runs, and after it publish the
 * outputs and folders and then the manifest. The same wrapper serves the local runner and the
 * queue's worker, so any machine with the credentials can take any stage.
 */

export class SharedStorage implements StageStorage {
  /** Time spent pulling and publishing, in seconds (a queue job reports it). */
  seconds = 0;
  /** The part of `seconds` spent publishing (after the stage's own seconds). */
  publishSeconds = 0;

  constructor(readonly mirror: Mirror) {}

  private async timed(fn: () => Promise<void>, publishing = false): Promise<void> {
    const t0 = performance.now();
    try {
      await fn();
    } finally {
      const s = (performance.now() - t0) / 1000;
      this.seconds += s;
      if (publishing) this.publishSeconds += s;
    }
  }

  async pull(files: readonly string[], folders: readonly string[]): Promise<string[]> {
    let changed: string[] = [];
    await this.timed(async () => {
      changed = await this.mirror.pull(files);
      for (const f of folders) await this.mirror.pullFolder(f);
    });
    return changed;
  }

  withdraw(manifest: string): Promise<void> {
    return this.timed(() => this.mirror.withdraw([manifest]));
  }

  settle(outputs: readonly string[]): Promise<void> {
    return this.mirror.settle(outputs);
  }

  publish(outputs: readonly string[], folders: readonly string[], manifest: string): Promise<void> {
    return this.timed(async () => {
      await this.mirror.push(outputs);
      for (const f of folders) await this.mirror.pushFolder(f);
      await this.mirror.push([manifest]);
    }, true);
  }
}

/** Checks a shared data folder's URL without connecting (the enqueuer, which runs no stage). */
export function checkSharedFolder(loaded: LoadedConfig): void {
  const folder = loaded.config.data_folder;
  if (folder.startsWith("az://")) parseAzUrl(folder);
}

/**
 * The market's config on its mirror, and the storage its stages go through; a local data
 * folder is returned as it is. The store is checked (credentials, container) here, so a
 * mistake is reported before any stage runs.
 */
export async function openSharedData(
  loaded: LoadedConfig,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ loaded: LoadedConfig; storage?: SharedStorage }> {
  const folder = loaded.config.data_folder;
  if (!isSharedFolder(folder)) return { loaded };
  const mirror = await openMirror(
    folder,
    storageCredentials(loaded.config.azure_storage_connection_string, env),
    cacheFolder(env),
  );
  await mirror.storage.check();
  // As if the config named the mirror: what the stages record (config hashes) agrees.
  const config = { ...loaded.config, data_folder: mirror.root };
  return {
    loaded: { ...loaded, config, settings: configSettings(config), hash: configHash(config) },
    storage: new SharedStorage(mirror),
  };
}
