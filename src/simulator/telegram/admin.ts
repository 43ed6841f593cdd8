import type { CallbackAnswer, FaultControl, RequestRecord, SentMessage, UserUpdate } from "./types.js";

/**
 * The simulator's own endpoints under /admin/ (not Telegram's; never faulted or recorded):
 * the record of messages, calls and callback answers, pushing users' updates, the faults, and
 * a reset. Answers are JSON; mistakes get 400 with `{"error": "..."}`.
 */

export interface AdminTarget {
  messages(): SentMessage[];
  requests(): RequestRecord[];
  callbackAnswers(): CallbackAnswer[];
  pushUpdate(u: UserUpdate): number;
  faults: FaultControl;
  reset(): void;
}

export interface AdminReply {
  status: number;
  body: unknown;
}

class AdminError extends Error {}

/** A message for JSON: the photo's bytes are left out (its sha256, size and file_id stay). */
function messageJson(m: SentMessage): unknown {
  if (m.photo === undefined) return m;
  const { bytes: _bytes, ...photo } = m.photo;
  return { ...m, photo };
}

function parseBody(body: string): unknown {
  if (body.trim() === "") throw new AdminError("expected a JSON body");
  try {
    return JSON.parse(body);
  } catch (err) {
    throw new AdminError(`the body is not JSON: ${(err as Error).message}`);
  }
}

function asObject(v: unknown, what: string): Record<string, unknown> {
  if (v === null || typeof v !== "object" || Array.isArray(v))
    throw new AdminError(`${what} must be a JSON object`);
  return v as Record<string, unknown>;
}

const FAULT_KEYS = ["clear", "rateLimit", "serverError", "timeout", "block", "unblock", "outage"];

/** `{"rateLimit": {...}, "block": 42, "clear": true, ...}`: each key applied (clear first). */
function applyFaults(faults: FaultControl, body: unknown): void {
  const o = asObject(body, "the faults body");
  for (const k of Object.keys(o)) {
    if (!FAULT_KEYS.includes(k)) {
      throw new AdminError(`unknown fault "${k}": expected ${FAULT_KEYS.slice(1).join(", ")} or clear`);
    }
  }
  if (o.clear === true) faults.clear();
  const chats = (v: unknown): number[] => (Array.isArray(v) ? v : [v]) as number[];
  for (const k of FAULT_KEYS.slice(1)) {
    const v = o[k];
    if (v === undefined) continue;
    if (k === "block") for (const c of chats(v)) faults.block(c);
    else if (k === "unblock") for (const c of chats(v)) faults.unblock(c);
    else if (k === "timeout") faults.timeout(v === true ? {} : (asObject(v, "timeout") as object));
    else if (k === "rateLimit") faults.rateLimit(asObject(v, k) as never);
    else if (k === "serverError") faults.serverError(asObject(v, k) as never);
    else if (k === "outage") faults.outage(asObject(v, k) as never);
  }
}

function route(sim: AdminTarget, method: string, path: string, body: string): AdminReply {
  const ok = (b: unknown): AdminReply => ({ status: 200, body: b });
  switch (`${method} ${path}`) {
    case "GET /admin/messages":
      return ok(sim.messages().map(messageJson));
    case "GET /admin/requests":
      return ok(sim.requests());
    case "GET /admin/answers":
      return ok(sim.callbackAnswers());
    case "POST /admin/updates":
      return ok({
        update_id: sim.pushUpdate(asObject(parseBody(body), "an update") as unknown as UserUpdate),
      });
    case "GET /admin/faults":
      return ok(sim.faults.list());
    case "POST /admin/faults":
      applyFaults(sim.faults, parseBody(body));
      return ok(sim.faults.list());
    case "DELETE /admin/faults":
      sim.faults.clear();
      return ok(sim.faults.list());
    case "POST /admin/reset":
      sim.reset();
      return ok({ reset: true });
    default:
      return {
        status: 404,
        body: {
          error: `no admin endpoint ${method} ${path}: GET /admin/messages, /admin/requests, /admin/answers, /admin/faults; POST /admin/updates, /admin/faults, /admin/reset; DELETE /admin/faults`,
        },
      };
  }
}

export function adminReply(sim: AdminTarget, method: string, path: string, body: string): AdminReply {
  try {
    return route(sim, method, path, body);
  } catch (err) {
    if (err instanceof AdminError || err instanceof RangeError)
      return { status: 400, body: { error: err.message } };
    throw err;
  }
}
