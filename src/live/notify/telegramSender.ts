import { errorMessage } from "../../core/errors.js";
import { splitMessage } from "../../outputs/telegram/split.js";
import type { OutboxEntry } from "../ledger/types.js";
import { DeliveryError, type Sender } from "./pump.js";
import { classify, MESSAGE_LIMIT, type TelegramClient } from "./telegram.js";

/** What a Telegram outbox entry holds. */
export type TelegramPayload =
  | { type: "text"; text: string; parse_mode?: string }
  | { type: "photo"; caption: string; parse_mode?: string; chart: unknown };

/**
 * Sends Telegram outbox entries: a text split into messages of at most 4,096 characters, a
 * chart rendered when it is sent (`render`, from the request the candle recorded). A text
 * Telegram cannot parse in its parse mode (a name with an underscore in legacy Markdown) is
 * sent again as plain text rather than lost.
 */
export class TelegramSender implements Sender {
  readonly channel = "telegram" as const;
  private readonly chats: readonly string[];

  constructor(
    private readonly client: TelegramClient,
    chats: readonly string[],
    private readonly render: (entry: OutboxEntry, chart: unknown) => Promise<Uint8Array>,
  ) {
    this.chats = chats;
  }

  describe(target: string): string {
    const i = this.chats.indexOf(target);
    return i < 0 ? "a chat not in telegram_chat_id" : `chat ${i + 1} of telegram_chat_id`;
  }

  async send(entry: OutboxEntry, signal: AbortSignal): Promise<number | undefined> {
    const p = entry.payload as TelegramPayload;
    if (p.type === "photo") {
      let png: Uint8Array;
      try {
        png = await this.render(entry, p.chart);
      } catch (err) {
        throw new DeliveryError({ kind: "permanent", text: `cannot draw the chart: ${errorMessage(err)}` });
      }
      return this.call(() => this.client.sendPhoto(entry.target, png, p.caption, p.parse_mode, signal));
    }
    let first: number | undefined;
    for (const part of splitMessage(p.text, MESSAGE_LIMIT)) {
      const id = await this.call(
        () => this.client.sendText(entry.target, part, p.parse_mode, signal),
        () => this.client.sendText(entry.target, part, undefined, signal),
      );
      first ??= id;
    }
    return first;
  }

  /** One API call; on "can't parse entities", `plain` (the same without a parse mode) once. */
  private async call(send: () => Promise<number>, plain?: () => Promise<number>): Promise<number> {
    try {
      return await send();
    } catch (err) {
      const f = classify(err, this.client.token);
      if (f.kind === "entities" && plain !== undefined) return this.call(plain);
      throw new DeliveryError(
        f.kind === "rate"
          ? { kind: "rate", text: f.text, retryAfterMs: f.retryAfterS * 1000 }
          : { kind: f.kind === "entities" ? "permanent" : f.kind, text: f.text },
      );
    }
  }
}
