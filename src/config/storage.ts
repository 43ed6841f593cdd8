import { homedir } from "node:os";
import { join, resolve } from "node:path";

/**
 * What a shared data folder (`az://container/prefix`) needs from the environment: where the
 * local caches live and the Azure Storage credentials. Read here, like every other setting from
 * the environment, and handed to the storage port (src/data/storage/) as plain values.
 */

/** Where local mirrors of shared data folders live: $ITB_CACHE_DIR, else $XDG_CACHE_HOME/itb, else ~/.cache/itb. */
export function cacheFolder(env: NodeJS.ProcessEnv = process.env): string {
  if (env.ITB_CACHE_DIR?.trim()) return resolve(env.ITB_CACHE_DIR.trim());
  const xdg = env.XDG_CACHE_HOME?.trim();
  return join(xdg ? resolve(xdg) : join(homedir(), ".cache"), "itb");
}

interface StorageCredentials {
  connectionString?: string;
  account?: string;
  accountKey?: string;
}

/**
 * The credentials of `az://` folders: a connection string (the config's resolved
 * `azure_storage_connection_string`, else AZURE_STORAGE_CONNECTION_STRING), else an account
 * name and key (AZURE_STORAGE_ACCOUNT and AZURE_STORAGE_KEY, the names Azure's tools read).
 */
export function storageCredentials(
  connectionString: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): StorageCredentials {
  const value = (name: string) => env[name]?.trim() || undefined;
  const cs = connectionString ?? value("AZURE_STORAGE_CONNECTION_STRING");
  if (cs !== undefined) return { connectionString: cs };
  const account = value("AZURE_STORAGE_ACCOUNT");
  const accountKey = value("AZURE_STORAGE_KEY");
  return {
    ...(account === undefined ? {} : { account }),
    ...(accountKey === undefined ? {} : { accountKey }),
  };
}
