import type { Command } from "commander";

/**
 * `itb ui`: the pages and the HTTP API over what is stored, with no service running: the
 * markets from the ledger (when there is one), the model store, the simulations and reports,
 * the config. The control endpoints answer 409, the event stream sends pings only.
 */
export function registerUiCommand(program: Command): void {
  program
    .command("ui")
    .summary("the pages and HTTP API over stored results (ledger, models, simulations, reports), no service")
    .description(
      "Serves the pages and the HTTP API (/api/v1, docs/api.md) of the config's markets from what is stored: " +
        "the ledger if itb serve wrote one, the model store, the simulations and reports of itb simulate and " +
        "itb report, the resolved config (secrets masked). Nothing trades: the control endpoints answer 409. " +
        "Listens on --address or serve.address (loopback by default; another address needs an API token). " +
        "Ctrl-C stops it.",
    )
    .requiredOption(
      "-c, --config <file>",
      "JSONC config file (repeat for several configs)",
      (v: string, prev: string[] | undefined) => [...(prev ?? []), v],
    )
    .option("--address <host:port>", "where to listen (default: serve.address)")
    .addHelpText("after", "\nExample:\n  itb ui --config configs/demo.jsonc --address 127.0.0.1:8080")
    .action(async (opts: { config: string[]; address?: string }, cmd: Command) => {
      const { uiAction } = await import("../actions/ui.js");
      await uiAction(opts, cmd);
    });
}
