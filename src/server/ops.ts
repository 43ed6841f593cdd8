import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";
import { UsageError } from "../core/errors.js";

/**
 * The service's operations endpoints on a small HTTP server (loopback by default):
 *   GET /healthz  200 while the process serves (liveness);
 *   GET /readyz   200 when every market is warm and its data fresh, else 503 with the reasons;
 *   GET /metrics  Prometheus text exposition.
 */
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
}): Promise<OpsServer> {
  const { host, port } = parseAddress(o.address);
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void handle(req, res);
  });
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? "/").split("?")[0];
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
