import { type Command, Option } from "commander";
// types.js holds the ledger's types and this list only: nothing of the ledger's code loads
import { LEDGER_TABLES, type LedgerTableName } from "../../live/ledger/types.js";
import { type ConfigOptions, freqArgument } from "../options.js";

/** `itb ledger export` and `itb status`: the live service's ledger, read-only (docs/ledger.md). */

export interface ExportOptions extends ConfigOptions {
  what: LedgerTableName;
  out: string;
  from?: string;
  to?: string;
}

function registerExport(ledger: Command): void {
  ledger
    .command("export")
    .summary(
      "write one table of the ledger (signals, decisions, orders, fills, trades, equity) to CSV or Parquet",
    )
    .description(
      "Reads the ledger the live service writes (<data_folder>/ledger.sqlite, or the config's ledger_url on " +
        "PostgreSQL) and writes one of its " +
        "tables to --out, atomically; the extension chooses CSV or Parquet. Every market of the ledger, " +
        "or those of --symbol and --freq; --from/--to select candle open times (to exclusive). The " +
        "service may be running: the export reads a consistent snapshot and does not hold it up. " +
        "See docs/ledger.md.",
    )
    .requiredOption("-c, --config <file>", "JSONC config file")
    .option("--symbol <symbol>", "only this symbol's markets (and the config read with this symbol)")
    .option(
      "--freq <freq>",
      "only this frequency's markets (and the config read with this freq)",
      freqArgument,
    )
    .addOption(
      new Option("--what <table>", "the table to export").choices(LEDGER_TABLES).makeOptionMandatory(),
    )
    .requiredOption("--out <file>", "output file, .csv or .parquet")
    .option("--from <date>", "first candle (open time) to export")
    .option("--to <date>", "candles before this time (exclusive)")
    .addHelpText(
      "after",
      "\nExample:\n  itb ledger export --config configs/btcusdt-1m.jsonc --what trades --out trades.csv",
    )
    .action(async (opts: ExportOptions, cmd: Command) => {
      const { ledgerExportAction } = await import("../actions/ledger.js");
      await ledgerExportAction(opts, cmd);
    });
}

function registerStatus(program: Command): void {
  program
    .command("status")
    .summary("each market's last processed candle, lag, scores, signals, position and equity")
    .description(
      "For every market of the config (symbols x freqs, as itb pipeline runs them) reads the live " +
        "service's ledger and shows the last candle it processed (marked when it was a catch-up candle), " +
        "the lag (now minus that candle's close time), its scores and signals, and the position and " +
        "equity after it; a market with nothing recorded says so. Reads without disturbing a running " +
        "service. See docs/ledger.md.",
    )
    .requiredOption("-c, --config <file>", "JSONC config file")
    .option("--json", "print JSON")
    .addHelpText("after", "\nExample:\n  itb status --config configs/btcusdt-1m.jsonc")
    .action(async (opts: { config: string; json?: boolean }, cmd: Command) => {
      const { statusAction } = await import("../actions/ledger.js");
      await statusAction(opts, cmd);
    });
}

export function registerLedgerCommands(program: Command): void {
  registerExport(program.command("ledger").summary("read the live service's ledger: export its tables"));
  registerStatus(program);
}
