import type { Command } from "commander";
import { errorMessage, NetworkError, UsageError } from "../../core/errors.js";
import { parseAddress } from "../../server/ops.js";
import type { ControlAction } from "../commands/control.js";
import { configOf, contextOf } from "../context.js";

/** `itb pause`, `itb resume` and `itb flatten`: `what` says what the action does. */
export async function controlAction(
  action: ControlAction,
  what: string,
  opts: { config: string; symbol?: string; address?: string },
  cmd: Command,
): Promise<void> {
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
}
