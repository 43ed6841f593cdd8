import { OUTPUT_GENERATORS } from "../config/generators.js";
import { backtestOptionsOf, type Config } from "../config/index.js";
import { closestKey } from "../config/unknownKeys.js";
import { ConfigError } from "../core/errors.js";
import type { Logger } from "../core/log.js";
import { isoTime } from "../core/time.js";
import type { CandleRecord } from "./ledger/types.js";
import { type NotifyPlan, planNotifications } from "./notify/plan.js";

/**
 * What the live service does with each processed candle, from the config's `output_sets` (the
 * original's names): `console` logs one line per candle (the default when output_sets is
 * empty), `trader_simulation` trades on paper with the `backtest` section's fees, slippage,
 * stake and stops (the original's `trade_model.trader_simulation: true` too);
 * `score_notification_model`, `diagram_notification_model` and `webhook` notify (notify/plan.ts);
 * `trader_binance` trades on the exchange in `trade_model.mode` (live, shadow or paper; the
 * original's `trade_model.trader_binance: true` too).
 */
export type TradingMode = "paper" | "shadow" | "live";

export interface OutputPlan {
  /** Trading (paper, shadow or live), and the signal columns it trades on (default: the threshold rule's). */
  paper?: { buy?: string; sell?: string };
  /** How the market trades, when it does. */
  mode?: TradingMode;
  /** The signal columns to trade on, for the chain. */
  columns: { buy?: string; sell?: string };
  /** Telegram and webhook notifications. */
  notify: NotifyPlan;
  /** Logs the candle (at info with a console output unless `quiet`, else at debug). */
  console(log: Logger, market: string, rec: CandleRecord, quiet?: boolean): void;
}

const KNOWN = OUTPUT_GENERATORS;

export function planOutputs(config: Config): OutputPlan {
  let paper: OutputPlan["paper"];
  let mode: TradingMode | undefined;
  const tm = config.trade_model;
  const exchangeMode = (): TradingMode =>
    (tm?.mode as TradingMode | undefined) ?? (tm?.shadow_mode === true ? "shadow" : "live");
  let consoleOn = config.output_sets.length === 0;
  config.output_sets.forEach((o, i) => {
    const where = `output_sets[${i}].generator`;
    const name = o.generator;
    if (!(KNOWN as readonly string[]).includes(name)) {
      const near = closestKey(name, KNOWN);
      const text = `${where}: unknown output ${JSON.stringify(name)}${near === undefined ? "" : `; did you mean "${near}"?`} (itb serve runs ${KNOWN.join(", ")})`;
      throw new ConfigError(text, [text]);
    }
    if (name === "console") consoleOn = true;
    else if (name === "trader_simulation" || name === "trader_binance") {
      if (paper !== undefined) {
        const text = `${where}: a market trades once: trader_simulation and trader_binance exclude each other`;
        throw new ConfigError(text, [text]);
      }
      paper = columnsOf(o.config, `output_sets[${i}].config`);
      mode = name === "trader_simulation" ? "paper" : exchangeMode();
    }
  });
  if (paper === undefined && tm?.trader_binance === true) {
    paper = {
      ...(tm.buy_signal_column === undefined ? {} : { buy: tm.buy_signal_column }),
      ...(tm.sell_signal_column === undefined ? {} : { sell: tm.sell_signal_column }),
    };
    mode = exchangeMode();
  }
  if (mode !== undefined && mode !== "paper" && tm?.order_type === "LIMIT") {
    const text =
      'trade_model.order_type: "LIMIT" entries are not supported; use "MARKET" (stops and take-profits still rest as exchange orders)';
    throw new ConfigError(text, [text]);
  }
  if (mode === "live" || mode === "shadow") {
    const own = config.data_sources.find((d) => d.column_prefix === "") ?? config.data_sources[0];
    const direction = backtestOptionsOf(config).direction;
    if (own?.market !== "um" && direction !== "long") {
      const text = `backtest.direction: "${direction}" needs short positions, which spot trading cannot hold; use "long", or trade the symbol's USD-M futures (data source market "um")`;
      throw new ConfigError(text, [text]);
    }
  }
  if (paper === undefined && config.trade_model?.trader_simulation === true) {
    mode = "paper";
    paper = {
      ...(config.trade_model.buy_signal_column === undefined
        ? {}
        : { buy: config.trade_model.buy_signal_column }),
      ...(config.trade_model.sell_signal_column === undefined
        ? {}
        : { sell: config.trade_model.sell_signal_column }),
    };
  }
  return {
    ...(paper === undefined ? {} : { paper }),
    ...(mode === undefined ? {} : { mode }),
    columns: paper ?? {},
    notify: planNotifications(config, paper !== undefined),
    console(l, market, rec, quiet = false) {
      const fields = {
        market,
        candle: isoTime(rec.candle.time), // not "time": pino's own field
        close: rec.candle.close,
        scores: rec.scores,
        buy: rec.buy,
        sell: rec.sell,
        ...(paper === undefined ? {} : { position: rec.equity.position, equity: rec.equity.equity }),
        ...(rec.catchUp ? { catch_up: true } : {}),
        ms: Math.round(rec.latencyMs * 100) / 100,
      };
      if (consoleOn && !quiet) l.info(fields, "candle");
      else l.debug(fields, "candle");
    },
  };
}

function columnsOf(config: Record<string, unknown>, where: string): { buy?: string; sell?: string } {
  const out: { buy?: string; sell?: string } = {};
  for (const [key, field] of [
    ["buy_signal_column", "buy"],
    ["sell_signal_column", "sell"],
  ] as const) {
    const v = config[key];
    if (v === undefined) continue;
    if (typeof v !== "string" || v === "") {
      const text = `${where}.${key}: expected a column name, found ${JSON.stringify(v)}`;
      throw new ConfigError(text, [text]);
    }
    out[field] = v;
  }
  return out;
}
