import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";
import { UsageError } from "../core/errors.js";

/**
 * The service's operations endpoints on a small HTTP server (loopback by default):
 *   GET /healthz  200 while the process serves (liveness);
 *   GET /readyz   200 when every market is warm and its data fresh, else 503 with the reasons;
 *   GET /metrics  Prometheus text exposition;
 *   POST /control {"action": "pause"|"resume"|"flatten", "symbol"?}  the kill switch (itb pause,
 *                 itb resume, itb flatten): applied by each market at its next candle.
 */

export type ControlAction = "pause" | "resume" | "flatten";
const CONTROL_ACTIONS: readonly ControlAction[] = ["pause", "resume", "flatten"];
export interface Readiness {
  ready: boolean;
  /** Per market: why it is not ready ("warming up", "last candle 5 min old"). */
  reasons: Record<string, string>;
}

export interface OpsServer {
  readonly url: string;
  close(): Promise<void>;
}

/** "host:port" (port 0: any free port). */
export function parseAddress(address: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(address.trim());
  const port = m === null ? Number.NaN : Number(m[2]);
  if (m === null || !(port >= 0 && port <= 65535)) {
    throw new UsageError(`invalid address "${address}": expected host:port, e.g. 127.0.0.1:9464`);
  }
  return { host: (m[1] as string).replace(/^\[|\]$/g, ""), port };
}

export async function startOpsServer(o: {
  address: string;
  registry: Registry;
  readiness: () => Readiness;
  /** The markets that took the request (none before the service is ready). */
  control?: (action: ControlAction, symbol?: string) => string[];
}): Promise<OpsServer> {
  const { host, port } = parseAddress(o.address);
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void handle(req, res);
  });
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/control" && req.method === "POST" && o.control !== undefined) {
      await control(req, res, o.control);
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    try {
      if (path === "/healthz") json(res, 200, { status: "ok" });
      else if (path === "/readyz") {
        const r = o.readiness();
        json(res, r.ready ? 200 : 503, { status: r.ready ? "ready" : "not ready", markets: r.reasons });
      } else if (path === "/metrics") {
        const text = await o.registry.metrics();
        res.writeHead(200, { "content-type": o.registry.contentType }).end(text);
      } else json(res, 404, { error: `no endpoint ${path}; try /healthz, /readyz or /metrics` });
    } catch (err) {
      json(res, 500, { error: err instanceof Error ? err.message : String(err) });
    }
  };
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) =>
      reject(
        err.code === "EADDRINUSE"
          ? new UsageError(
              `cannot listen on ${o.address}: the address is in use (serve.address sets another)`,
            )
          : err,
      ),
    );
    server.listen(port, host, () => resolve());
  });
  const a = server.address() as AddressInfo;
  const shown = a.family === "IPv6" ? `[${a.address}]` : a.address;
  return {
    url: `http://${shown}:${a.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" }).end(`${JSON.stringify(body)}\n`);
}

async function control(
  req: IncomingMessage,
  res: ServerResponse,
  apply: (action: ControlAction, symbol?: string) => string[],
): Promise<void> {
  let body = "";
  for await (const chunk of req) body += String(chunk);
  let parsed: { action?: unknown; symbol?: unknown };
  try {
    parsed = JSON.parse(body) as typeof parsed;
  } catch {
    json(res, 400, { error: 'expected a JSON body {"action": "pause"|"resume"|"flatten", "symbol"?}' });
    return;
  }
  const action = parsed.action as ControlAction;
  if (!CONTROL_ACTIONS.includes(action)) {
    json(res, 400, {
      error: `unknown action ${JSON.stringify(parsed.action)}; expected pause, resume or flatten`,
    });
    return;
  }
  const symbol = typeof parsed.symbol === "string" && parsed.symbol !== "" ? parsed.symbol : undefined;
  const markets = apply(action, symbol);
  json(res, markets.length > 0 ? 200 : 409, {
    action,
    markets,
    ...(markets.length === 0
      ? { error: "no market took it (not trading on paper, not ready yet, or no such symbol)" }
      : {}),
  });
}
