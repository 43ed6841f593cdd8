import type { Command } from "commander";

export interface ServeCliOptions {
  config: string[];
  symbols?: string;
  freqs?: string;
  address?: string;
  websocket: boolean;
  live: boolean;
}

export function registerServeCommand(program: Command): void {
  program
    .command("serve")
    .summary(
      "the online service: every closed candle → features → models → signals → paper trades, for many markets",
    )
    .description(
      "Runs every market of the config (symbols x freqs) or of several configs in one process. At start-up it " +
        "loads the current models, back-fills the klines over REST to the last closed candle and warms the " +
        "streams on the stored history, so that live numbers equal the batch pipeline's; it resumes after the " +
        "last candle its ledger (SQLite, or PostgreSQL with ledger_url) recorded, catching up what it missed. " +
        "Then each closed candle (the kline WebSocket rings, REST fetches it in order, exactly once) goes " +
        "through features, models and signals to the outputs (console log, paper trading with " +
        "trader_simulation), recorded in one ledger transaction. A newly promoted model is picked up at the " +
        "next candle; a config's schedule section retrains its markets on a cron in a worker thread and " +
        "promotes the new models when their walk-forward AUC passes. The API, /healthz, /readyz and /metrics " +
        "listen on serve.address. Ctrl-C or SIGTERM ends it after the candle in flight, status 0 (docs/serve.md).",
    )
    .requiredOption(
      "-c, --config <file>",
      "JSONC config file (repeat for several configs)",
      (v: string, prev: string[] | undefined) => [...(prev ?? []), v],
    )
    .option(
      "--symbols <list>",
      "comma-separated symbols, each a market (default: the config's symbols or symbol)",
    )
    .option("--freqs <list>", "comma-separated frequencies, each a market per symbol (default: the config's)")
    .option(
      "--address <host:port>",
      "where the API, /healthz, /readyz and /metrics listen (default: serve.address)",
    )
    .option("--no-websocket", "follow the exchange by REST polling alone")
    .option(
      "--live",
      'send the orders of markets whose trade_model.mode is "live" to the real account (without it: the testnet, or exchange_url)',
      false,
    )
    .addHelpText(
      "after",
      "\nExamples:\n  itb serve --config configs/demo.jsonc\n  itb serve --config a.jsonc --config b.jsonc --address 127.0.0.1:0",
    )
    .action(async (opts: ServeCliOptions, cmd: Command) => {
      const { serveAction } = await import("../actions/serve.js");
      await serveAction(opts, cmd);
    });
}
