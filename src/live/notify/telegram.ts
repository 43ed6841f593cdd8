import { Api, GrammyError, HttpError, InputFile } from "grammy";
import { ConfigError, errorMessage } from "../../core/errors.js";

/**
 * The Telegram Bot API through grammy, with the API root configurable (`telegram_api_url`:
 * itb telegram-sim in tests and the demo). The bot token sits in every request path, so it is
 * masked in every text this module lets out (errors, log fields); chat ids, which the config
 * treats as secrets too, are named by their position in the config's list.
 */

export const TELEGRAM_API = "https://api.telegram.org";

/** grammy's Node build types its signals with the abort-controller package's class. */
type GrammySignal = Parameters<Api["getMe"]>[0];
const forGrammy = (s: AbortSignal | undefined): GrammySignal => s as unknown as GrammySignal;

/** Telegram's limit on a message's text (UTF-16 code units). */
export const MESSAGE_LIMIT = 4096;

/** Replaces the token (and its bot id's secret part) wherever it appears in `text`. */
export function maskToken(text: string, token: string): string {
  if (token === "") return text;
  let out = text.split(token).join("***");
  const colon = token.indexOf(":");
  if (colon > 0) out = out.split(token.slice(colon + 1)).join("***");
  return out;
}

/** How one API call ended, for the delivery's decisions. */
export type SendFailure =
  /** Telegram asked to wait (429): retry after this many seconds. */
  | { kind: "rate"; retryAfterS: number; text: string }
  /** Worth retrying with backoff: a 5xx, a timeout, the network. */
  | { kind: "transient"; text: string }
  /** The text could not be parsed in its parse mode (400 can't parse entities). */
  | { kind: "entities"; text: string }
  /** Will not work by retrying: 400 (other), 403 (blocked, kicked), 404. */
  | { kind: "permanent"; text: string }
  /** The token was refused (401). */
  | { kind: "unauthorized"; text: string };

export function classify(err: unknown, token: string): SendFailure {
  if (err instanceof GrammyError) {
    const text = maskToken(`${err.error_code} ${err.description}`, token);
    const code = err.error_code;
    if (code === 429) return { kind: "rate", retryAfterS: err.parameters.retry_after ?? 5, text };
    if (code === 401) return { kind: "unauthorized", text };
    if (code >= 500) return { kind: "transient", text };
    if (code === 400 && /can't parse entities/i.test(err.description)) return { kind: "entities", text };
    return { kind: "permanent", text };
  }
  if (err instanceof HttpError) {
    const cause = err.error instanceof Error ? `: ${errorMessage(err.error)}` : "";
    return { kind: "transient", text: maskToken(`${err.message}${cause}`, token) };
  }
  return { kind: "transient", text: maskToken(errorMessage(err), token) };
}

export interface TelegramClientOptions {
  token: string;
  apiUrl?: string;
  timeoutMs: number;
}

/** The calls itb makes, over grammy's Api; errors are thrown as grammy throws them (see classify). */
export class TelegramClient {
  readonly api: Api;
  readonly token: string;

  constructor(o: TelegramClientOptions) {
    this.token = o.token;
    this.api = new Api(o.token, {
      apiRoot: (o.apiUrl ?? TELEGRAM_API).replace(/\/+$/, ""),
      timeoutSeconds: Math.max(1, Math.ceil(o.timeoutMs / 1000)),
    });
  }

  /**
   * Checks the token (getMe). A refused token is a ConfigError whose text names the key, not
   * the token; an unreachable API is left to the delivery's retries (the service starts).
   */
  async check(signal?: AbortSignal): Promise<{ ok: true; username: string } | { ok: false; why: string }> {
    try {
      const me = await this.api.getMe(forGrammy(signal));
      return { ok: true, username: me.username };
    } catch (err) {
      const f = classify(err, this.token);
      if (f.kind === "unauthorized" || f.kind === "permanent") {
        throw new ConfigError(
          `telegram_bot_token: Telegram refused the bot token (${f.text}); check the token given by @BotFather`,
          [`telegram_bot_token: refused by Telegram (${f.text})`],
        );
      }
      return { ok: false, why: f.text };
    }
  }

  async sendText(
    chat: string,
    text: string,
    parseMode: string | undefined,
    signal?: AbortSignal,
  ): Promise<number> {
    const m = await this.api.sendMessage(
      chat,
      text,
      {
        ...(parseMode === undefined ? {} : { parse_mode: parseMode as "Markdown" }),
        link_preview_options: { is_disabled: true },
      },
      forGrammy(signal),
    );
    return m.message_id;
  }

  async sendPhoto(
    chat: string,
    png: Uint8Array,
    caption: string,
    parseMode: string | undefined,
    signal?: AbortSignal,
  ): Promise<number> {
    const m = await this.api.sendPhoto(
      chat,
      new InputFile(png, "chart.png"),
      {
        ...(caption === "" ? {} : { caption }),
        ...(parseMode === undefined || caption === "" ? {} : { parse_mode: parseMode as "Markdown" }),
      },
      forGrammy(signal),
    );
    return m.message_id;
  }
}
