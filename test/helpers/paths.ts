import { existsSync } from "node:fs";
import { resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "../..");
export const SAMPLE = resolve(ROOT, "sample/binance-vision");
export const SHARED_DATA = resolve(ROOT, "../shared/data");
export const SHARED_ARCHIVE = resolve(SHARED_DATA, "binance-vision");
/** Tests that read ../shared/data are skipped, with this reason in their name, when it is absent. */
export const HAVE_SHARED = existsSync(SHARED_ARCHIVE);
export const SHARED_SKIP_REASON = HAVE_SHARED ? "" : " [SKIPPED: ../shared/data not present]";
