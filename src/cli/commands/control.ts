import type { Command } from "commander";

/**
 * The kill switch of a running `itb serve`: `itb pause` (no new entries; exits still go out),
 * `itb resume`, `itb flatten` (close every position at market), for every market of the
 * service or one symbol. They ask the service over its operations address (serve.address,
 * loopback by default); each market applies the request at its next candle and keeps it across
 * a restart (with the Trader's state).
 */

const ACTIONS = {
  pause: "no new entries from the next candle (exits still go out)",
  resume: "allow new entries again from the next candle",
  flatten: "close every position at market at the next candle (and keep entries allowed)",
} as const;

export type ControlAction = keyof typeof ACTIONS;

export function registerControlCommands(program: Command): void {
  for (const [action, what] of Object.entries(ACTIONS) as [ControlAction, string][]) {
    program
      .command(action)
      .summary(`a running itb serve: ${what}`)
      .description(
        `Asks the itb serve of the config (at its serve.address, or --address) to ${what}, for every ` +
          "market it trades on paper or for --symbol's. The service applies it at each market's next " +
          "candle. See docs/serve.md.",
      )
      .requiredOption("-c, --config <file>", "the config itb serve runs")
      .option("--symbol <symbol>", "only this symbol's markets")
      .option(
        "--address <host:port>",
        "the service's operations address (default: the config's serve.address)",
      )
      .addHelpText("after", `\nExample:\n  itb ${action} --config configs/demo-live.jsonc`)
      .action(async (opts: { config: string; symbol?: string; address?: string }, cmd: Command) => {
        const { controlAction } = await import("../actions/control.js");
        await controlAction(action, what, opts, cmd);
      });
  }
}
