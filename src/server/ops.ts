import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Registry } from "prom-client";
import { UsageError } from "../core/errors.js";

/**
 * The service's operations endpoints, on the HTTP server of the API (loopback by default):
 *   GET /healthz  200 while the process serves (liveness);
 *   GET /readyz   200 when every market is warm and its data fresh, else 503 with the reasons;
 *   GET /metrics  Prometheus text exposition;
 *   POST /control {"action": "pause"|"resume"|"flatten", "symbol"?}  the kill switch (itb pause,
 *                 itb resume, itb flatten): applied by each market at its next candle. With API
 *                 tokens configured it needs a control token, as POST /api/v1/control/... does.
 */

export type ControlAction = "pause" | "resume" | "flatten";
const CONTROL_ACTIONS: readonly ControlAction[] = ["pause", "resume", "flatten"];
export interface Readiness {
  ready: boolean;
  /** Per market: why it is not ready ("warming up", "last candle 5 min old"). */
  reasons: Record<string, string>;
}

export interface OpsOptions {
  registry: Registry;
  readiness: () => Readiness;
  /** The markets that took the request, by name (none before the service is ready). */
  control?: (action: ControlAction, symbol?: string) => string[];
  /** Checks a control request's token; false when it answered (401, 403, 429). */
  authorize?: (req: FastifyRequest, reply: FastifyReply) => boolean;
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

const OPS_PATHS = ["/healthz", "/readyz", "/metrics"] as const;

export function registerOps(app: FastifyInstance, o: OpsOptions): void {
  for (const path of OPS_PATHS) {
    app.route({
      method: ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"],
      url: path,
      handler: async (req, reply) => {
        if (req.method !== "GET" && req.method !== "HEAD") {
          return reply.code(405).header("allow", "GET, HEAD").send();
        }
        if (path === "/healthz") return { status: "ok" };
        if (path === "/readyz") {
          const r = o.readiness();
          return reply
            .code(r.ready ? 200 : 503)
            .send({ status: r.ready ? "ready" : "not ready", markets: r.reasons });
        }
        const text = await o.registry.metrics();
        return reply.type(o.registry.contentType).send(text);
      },
    });
  }
  const apply = o.control;
  if (apply === undefined) return;
  app.post("/control", async (req, reply) => {
    if (o.authorize !== undefined && !o.authorize(req, reply)) return reply;
    const parsed = (req.body ?? {}) as { action?: unknown; symbol?: unknown };
    const action = parsed.action as ControlAction;
    if (!CONTROL_ACTIONS.includes(action)) {
      return reply.code(400).send({
        error: `unknown action ${JSON.stringify(parsed.action)}; expected pause, resume or flatten`,
      });
    }
    const symbol = typeof parsed.symbol === "string" && parsed.symbol !== "" ? parsed.symbol : undefined;
    const markets = apply(action, symbol);
    return reply.code(markets.length > 0 ? 200 : 409).send({
      action,
      markets,
      ...(markets.length === 0
        ? { error: "no market took it (not trading on paper, not ready yet, or no such symbol)" }
        : {}),
    });
  });
}
