/**
 * The public shapes of the Telegram Bot API simulator: its options, the handle a test or the
 * CLI holds, the record of what the bot sent and asked, and the fault controls.
 */

/** Per-chat flood control: a token bucket per chat, and one for all chats together. */
export interface FloodLimit {
  /** Messages per second one chat sustains (default 1, Telegram's advice for a chat). */
  perSecond?: number;
  /** Messages one chat may get at once before the rate applies (default 3). */
  burst?: number;
  /** Messages per second over all chats of a bot (default 30, Telegram's broadcast limit). */
  globalPerSecond?: number;
}

export interface TelegramSimOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: any free port. */
  port?: number;
  /** Accepted bot tokens ("123456:ABC..."). A well-formed other token gets 401, a malformed one 404. */
  tokens: string[];
  /** Chats that exist (private chats with a user; negative ids are groups). Default: any chat. */
  chats?: number[];
  /** Called with one line per message the bot sends or edits (for the terminal). */
  log?: (line: string) => void;
  /** Per-chat flood control (default on, see FloodLimit); false turns it off. */
  floodLimit?: false | FloodLimit;
  /** Wall clock in epoch ms for message dates, outages and the flood limit (default Date.now). */
  now?: () => number;
}

export interface PhotoFile {
  bytes: Buffer;
  /** Hex SHA-256 of the bytes. */
  sha256: string;
  size: number;
  width: number;
  height: number;
  /** The file_id the API answered with; sending it again reuses the photo. */
  file_id: string;
}

/** A message the bot sent (edits update it in place). */
export interface SentMessage {
  message_id: number;
  chat_id: number;
  /** Unix seconds, as in the API's Message. */
  date: number;
  kind: "text" | "photo";
  /** The text as the bot sent it (with its markup; the API's Message carries the parsed text). */
  text?: string;
  caption?: string;
  parse_mode?: string;
  /** The reply_markup as sent, parsed from JSON. */
  reply_markup?: unknown;
  photo?: PhotoFile;
  /** The API method that sent it: "sendMessage" or "sendPhoto" (as the client spelled it). */
  method: string;
  /** Id of the bot (the token's number) that sent it. */
  bot_id: number;
  disable_notification?: boolean;
  link_preview_options?: Record<string, unknown>;
  /** Unix seconds of the last edit. */
  edit_date?: number;
}

/** A user writes to the bot, or presses an inline button under one of its messages. */
export type UserUpdate =
  | {
      kind: "message";
      chatId: number;
      text: string;
      /** Sender (default: chatId in a private chat, 1 in a group). */
      fromId?: number;
      username?: string;
      /** Which bot receives it, by its id (the token's number); default the first token's bot. */
      botId?: number;
    }
  | {
      kind: "callback_query";
      chatId: number;
      /** The button's callback_data. */
      data: string;
      /** The bot's message that carries the button. */
      messageId: number;
      fromId?: number;
      username?: string;
      botId?: number;
    };

export interface RequestRecord {
  /** The API method as the client spelled it ("" when the path named none). */
  method: string;
  /** The path with the token masked: /bot123456:***\/sendMessage. */
  path: string;
  httpMethod: string;
  /** HTTP status answered; 0 when no answer was sent (timeout fault, reset, client gave up). */
  status: number;
  /** Arrival, epoch ms. */
  at: number;
  /** The error description, for failed calls. */
  description?: string;
  /** The fault that decided the answer, if any. */
  fault?: "rateLimit" | "serverError" | "timeout" | "outage";
}

/** An answerCallbackQuery the bot made. */
export interface CallbackAnswer {
  callback_query_id: string;
  chat_id: number;
  message_id: number;
  data: string;
  text?: string;
  show_alert: boolean;
  url?: string;
}

export interface RateLimitFault {
  /** Seconds for retry_after. */
  retryAfter: number;
  /** How many calls get it (default: every call until cleared). */
  count?: number;
  /** Only these methods (case-insensitive); default all. */
  methods?: string[];
}

export interface ServerErrorFault {
  status: 500 | 502 | 503 | 504;
  count?: number;
  methods?: string[];
  /** Answer with the nginx HTML page instead of Telegram's JSON error. */
  html?: boolean;
}

export interface TimeoutFault {
  count?: number;
  methods?: string[];
}

export interface OutageFault {
  /** Epoch ms at which the outage ends, or "cleared" to last until clear(). */
  until: number | "cleared";
  /** Reset connections instead of answering 502. */
  reset?: boolean;
}

export interface FaultState {
  rules: Array<
    | ({ kind: "rateLimit"; left: number | null } & RateLimitFault)
    | ({ kind: "serverError"; left: number | null } & ServerErrorFault)
    | ({ kind: "timeout"; left: number | null } & TimeoutFault)
  >;
  blocked: number[];
  outage: OutageFault | null;
}

export interface FaultControl {
  rateLimit(f: RateLimitFault): void;
  serverError(f: ServerErrorFault): void;
  timeout(f?: TimeoutFault): void;
  block(chatId: number): void;
  unblock(chatId: number): void;
  outage(f: OutageFault): void;
  /** Removes every fault, blocks included. */
  clear(): void;
  list(): FaultState;
}

export interface TelegramSim {
  /** e.g. http://127.0.0.1:41234, the apiRoot for a client. */
  url: string;
  port: number;
  /** Every message the bots sent, in order (text and photos). */
  messages(): SentMessage[];
  /** Every API call (admin calls excluded), in order of arrival. */
  requests(): RequestRecord[];
  /** Every answerCallbackQuery, in order. */
  callbackAnswers(): CallbackAnswer[];
  /** A user writes to the bot or presses a button; returns the update_id. */
  pushUpdate(u: UserUpdate): number;
  faults: FaultControl;
  /** Forgets messages, updates, requests, commands, answers and faults. */
  reset(): void;
  close(): Promise<void>;
}
