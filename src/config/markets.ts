import { ConfigError } from "../core/errors.js";
import { type ConfigOverrides, type LoadedConfig, loadConfig } from "./load.js";

/**
 * The markets a config describes: every symbol × every freq of `symbols`/`freqs` (or the
 * config's own symbol and freq), each the config loaded with that symbol and freq substituted,
 * as `itb pipeline` and `itb serve` run them. A mistake in one market's config (a symbol that
 * does not reach a literal data-source folder) names the market.
 */
export function loadMarketConfigs(
  file: string,
  overrides: ConfigOverrides & { symbols?: readonly string[]; freqs?: readonly string[] } = {},
  load: (file: string, o: ConfigOverrides) => LoadedConfig = loadConfig,
): LoadedConfig[] {
  const { symbols: symbolsOverride, freqs: freqsOverride, ...rest } = overrides;
  const base = load(file, rest);
  const symbolList = symbolsOverride?.length ? symbolsOverride : base.config.symbols;
  const freqList = freqsOverride?.length ? freqsOverride : base.config.freqs;
  if (!symbolList?.length && !freqList?.length) return [base];
  const symbols = symbolList?.length ? symbolList : [base.config.symbol];
  const freqs = freqList?.length ? freqList : [base.config.freq];
  const out: LoadedConfig[] = [];
  for (const symbol of symbols) {
    for (const freq of freqs) {
      try {
        out.push(
          load(file, {
            ...rest,
            ...(symbolList?.length ? { symbol } : {}),
            ...(freqList?.length ? { freq } : {}),
          }),
        );
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        const text = `${symbol} ${freq}: ${err.message}`;
        throw new ConfigError(text, err.issues, { cause: err });
      }
    }
  }
  return out;
}
