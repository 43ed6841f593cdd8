import { resolve } from "node:path";
import type { Config } from "../../config/index.js";

/** The ledger of a config: one per data folder, `<data_folder>/ledger.sqlite`, every market in it. */
export function ledgerFile(config: Pick<Config, "data_folder">): string {
  return resolve(config.data_folder, "ledger.sqlite");
}
