import { type Freq, parseFreq } from "../core/freq.js";
import { parseConfigTime } from "./primitives.js";
import type { Config } from "./schema.js";

/** The config's bar frequency. Validated at load, so this does not throw for a loaded config. */
export function configFreq(config: Config): Freq {
  return parseFreq(config.freq);
}

/** `download_start`/`download_end` as epoch ms (UTC); undefined where unset. */
export function configDownloadRange(config: Config): { start: number | undefined; end: number | undefined } {
  const at = (v: string | null | undefined) => (typeof v === "string" ? parseConfigTime(v) : undefined);
  return { start: at(config.download_start), end: at(config.download_end) };
}
