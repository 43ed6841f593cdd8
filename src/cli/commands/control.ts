import type { Command } from "commander";
import { errorMessage, NetworkError, UsageError } from "../../core/errors.js";
import { parseAddress } from "../../server/ops.js";
import { configOf, contextOf } from "../context.js";

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

export function registerControlCommands(program: Command): void {
  for (const [action, what] of Object.entries(ACTIONS) as [keyof typeof ACTIONS, string][]) {
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
        const ctx = contextOf(cmd);
        const { config } = configOf({ config: opts.config }, ctx.log);
        const address = opts.address ?? config.serve.address;
        const { host, port } = parseAddress(address);
        if (port === 0) {
          throw new UsageError(
            `serve.address ${address} is "any free port": give the service a fixed port, or --address with the one it printed`,
          );
        }
        const token = config.serve_control_token
          ?.split(",")
          .map((t) => t.trim())
          .find((t) => t !== "");
        const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}/control`;
        let res: Response;
        try {
          res = await fetch(url, {
            method: "POST",
            headers: {
              "content-type": "application/json",
              // with API tokens configured, the service's kill switch needs a control token
              ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
            },
            body: JSON.stringify({ action, ...(opts.symbol === undefined ? {} : { symbol: opts.symbol }) }),
            signal: AbortSignal.timeout(10_000),
          });
        } catch (err) {
          const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : "";
          throw new NetworkError(
            `no itb serve answers at ${url} (is it running with this config?)${cause || `: ${errorMessage(err)}`}`,
          );
        }
        const body = (await res.json().catch(() => ({}))) as { markets?: string[]; error?: string };
        if (!res.ok) {
          ctx.log.error({ status: res.status }, `${action}: ${body.error ?? `HTTP ${res.status}`}`);
          process.exitCode = 1;
          return;
        }
        process.stdout.write(`${action}: ${(body.markets ?? []).join(", ")}: ${what}\n`);
      });
  }
}
