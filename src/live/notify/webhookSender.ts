import type { WebhookConfig } from "../../config/outputConfigs.js";
import { errorMessage } from "../../core/errors.js";
import type { OutboxEntry } from "../ledger/types.js";
import { DeliveryError, type Sender } from "./pump.js";

/** What a webhook outbox entry holds: the event, and its text for chat-style bodies. */
export interface WebhookPayload {
  event: Record<string, unknown>;
  text: string;
}

/**
 * POSTs webhook outbox entries as JSON: itb's event object, or `{"text"}` for a Slack incoming
 * webhook, or `{"content"}` for Discord's. A 429 waits its Retry-After; 5xx, timeouts and network
 * errors are retried with backoff; other 4xx answers fail the entry for good. The URL (which
 * often holds a secret) is never logged: the webhook is named by its place in output_sets.
 */
export class WebhookSender implements Sender {
  readonly channel = "webhook" as const;

  constructor(private readonly hooks: ReadonlyMap<string, WebhookConfig & { label: string }>) {}

  describe(target: string): string {
    return this.hooks.get(target)?.label ?? "a webhook no longer in the config";
  }

  async send(entry: OutboxEntry, signal: AbortSignal): Promise<number | undefined> {
    const hook = this.hooks.get(entry.target);
    if (hook === undefined) {
      throw new DeliveryError({ kind: "permanent", text: "no such webhook in the config any more" });
    }
    const p = entry.payload as WebhookPayload;
    const body =
      hook.format === "slack"
        ? { text: p.text }
        : hook.format === "discord"
          ? { content: p.text.slice(0, 2000) }
          : { ...p.event, text: p.text };
    let res: Response;
    try {
      res = await fetch(hook.url, {
        method: "POST",
        headers: { "content-type": "application/json", "user-agent": "itb" },
        body: JSON.stringify(body),
        signal: AbortSignal.any([signal, AbortSignal.timeout(hook.timeout_ms)]),
      });
    } catch (err) {
      const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : "";
      throw new DeliveryError({
        kind: "transient",
        text: `${errorMessage(err)}${cause}`.replaceAll(hook.url, "<url>"),
      });
    }
    await res.body?.cancel();
    if (res.ok) return undefined;
    const text = `HTTP ${res.status} ${res.statusText}`;
    if (res.status === 429) {
      const after = Number(res.headers.get("retry-after"));
      throw new DeliveryError({
        kind: "rate",
        text,
        retryAfterMs: Number.isFinite(after) && after >= 0 ? after * 1000 : 5000,
      });
    }
    throw new DeliveryError({
      kind: res.status >= 500 || res.status === 408 ? "transient" : "permanent",
      text,
    });
  }
}
