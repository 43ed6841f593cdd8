import { BotApiError, badRequest, chatNotFound } from "./apiError.js";
import { botCommandEntities, type FormattedText, type MessageEntity } from "./entities.js";
import type { ReplyMarkup } from "./markup.js";
import type { PhotoSize } from "./photo.js";
import type { SentMessage, UserUpdate } from "./types.js";

/**
 * One bot's side of Telegram: its chats and their message ids (one increasing sequence per
 * chat, shared by the user's and the bot's messages), the messages it can edit, the queue of
 * updates for getUpdates with the one long poll that may wait on it, its command lists and
 * the callback queries it may answer.
 */

export type Json = Record<string, unknown>;

export interface Update {
  update_id: number;
  kind: "message" | "callback_query";
  body: Json;
}

export interface StoredMessage {
  api: Json;
  fromBot: boolean;
  record?: SentMessage;
  /** The parsed text or caption and its entities, for "message is not modified". */
  formatted?: FormattedText;
  markup?: ReplyMarkup["inline"];
}

interface Poll {
  limit: number;
  resolve(updates: Json[]): void;
  reject(err: BotApiError): void;
  timer: NodeJS.Timeout;
}

interface CallbackQuery {
  chatId: number;
  messageId: number;
  data: string;
  answered: boolean;
}

/** Update types delivered when allowed_updates is empty: all but these. */
const NOT_BY_DEFAULT = new Set(["chat_member", "message_reaction", "message_reaction_count"]);

const TOKEN = /^(\d{1,16}):([A-Za-z0-9_-]+)$/;

/** The bot id of a well-formed token ("123456:ABC-DEF..."), or undefined. */
export function tokenBotId(token: string): number | undefined {
  const m = TOKEN.exec(token);
  if (m === null || m[1] === undefined || m[1].startsWith("0")) return undefined;
  return Number(m[1]);
}

/** A token as it may be shown: `123456:***`. */
export function maskToken(token: string): string {
  const id = /^(\d+):/.exec(token)?.[1];
  return id === undefined ? "***" : `${id}:***`;
}

export function chatJson(chatId: number, users: Map<number, Json>): Json {
  if (chatId > 0) {
    const u = users.get(chatId);
    return {
      id: chatId,
      first_name: u?.first_name ?? "User",
      ...(u?.username === undefined ? {} : { username: u.username }),
      type: "private",
    };
  }
  return { id: chatId, title: "Group", type: chatId <= -1_000_000_000_000 ? "supergroup" : "group" };
}

export class Bot {
  readonly id: number;
  readonly token: string;
  readonly user: Json;
  private readonly chats: number[] | undefined;
  private known: Set<number> | undefined;
  private readonly counters = new Map<number, number>();
  private messages = new Map<string, StoredMessage>();
  private readonly users = new Map<number, Json>();
  private updates: Update[] = [];
  private nextUpdateId = 1;
  private allowed: Set<string> | undefined;
  private poll: Poll | undefined;
  private callbacks = new Map<string, CallbackQuery>();
  private nextCallback = 1;
  commands = new Map<string, Json[]>();

  constructor(token: string, chats: number[] | undefined) {
    const id = tokenBotId(token);
    if (id === undefined)
      throw new RangeError(`bot token ${maskToken(token)} is not of the form 123456:ABC-DEF...`);
    this.id = id;
    this.token = token;
    this.chats = chats;
    this.known = chats === undefined ? undefined : new Set(chats);
    this.user = { id, is_bot: true, first_name: "itb test bot", username: `itb_test_${id}_bot` };
  }

  /** The chat of a chat_id parameter (an integer; @username chats are not modelled). */
  chat(chatIdArg: string | undefined): number {
    if (chatIdArg === undefined || chatIdArg === "") throw badRequest("chat_id is empty");
    const id = /^-?\d+$/.test(chatIdArg.trim()) ? Number(chatIdArg.trim()) : Number.NaN;
    if (!Number.isSafeInteger(id) || id === 0) throw chatNotFound();
    if (this.known !== undefined && !this.known.has(id)) throw chatNotFound();
    return id;
  }

  chatJson(chatId: number): Json {
    return chatJson(chatId, this.users);
  }

  private nextMessageId(chatId: number): number {
    const n = (this.counters.get(chatId) ?? 0) + 1;
    this.counters.set(chatId, n);
    return n;
  }

  /** Stores a message the bot sends; returns its API Message. */
  send(
    chatId: number,
    date: number,
    content: { formatted: FormattedText; kind: "text" | "photo"; photo?: PhotoSize[]; linkPreview?: Json },
    markup: ReplyMarkup | undefined,
    record: Omit<SentMessage, "message_id" | "date" | "bot_id" | "chat_id">,
  ): { api: Json; record: SentMessage } {
    const message_id = this.nextMessageId(chatId);
    const api: Json = { message_id, from: this.user, chat: this.chatJson(chatId), date };
    Object.assign(api, messageContent(content.kind, content.formatted, content.photo, content.linkPreview));
    if (markup?.inline !== undefined) api.reply_markup = markup.inline;
    const rec: SentMessage = { message_id, chat_id: chatId, date, bot_id: this.id, ...record };
    this.messages.set(`${chatId}:${message_id}`, {
      api,
      fromBot: true,
      record: rec,
      formatted: content.formatted,
      markup: markup?.inline,
    });
    return { api, record: rec };
  }

  /** A message of the chat the bot may edit, or the API's error. */
  editable(chatId: number, messageIdArg: string | undefined, kind?: "text"): StoredMessage {
    const id = /^\d+$/.test(messageIdArg ?? "") ? Number(messageIdArg) : 0;
    const m = id > 0 ? this.messages.get(`${chatId}:${id}`) : undefined;
    if (m === undefined) throw badRequest("message to edit not found");
    if (!m.fromBot) throw badRequest("message can't be edited");
    if (kind === "text" && m.record?.kind !== "text")
      throw badRequest("there is no text in the message to edit");
    return m;
  }

  /** Applies an edit of text and/or markup; Telegram refuses one that changes nothing. */
  edit(
    m: StoredMessage,
    date: number,
    change: { formatted?: FormattedText; text?: string; parseMode?: string; markup: ReplyMarkup | undefined },
  ): Json {
    const sameText =
      change.formatted === undefined || JSON.stringify(change.formatted) === JSON.stringify(m.formatted);
    const sameMarkup = JSON.stringify(change.markup?.inline) === JSON.stringify(m.markup);
    if (sameText && sameMarkup) {
      throw badRequest(
        "message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message",
      );
    }
    if (change.formatted !== undefined) {
      m.formatted = change.formatted;
      Object.assign(m.api, messageContent("text", change.formatted, undefined, undefined));
      if (change.formatted.entities.length === 0) delete m.api.entities;
      if (m.record !== undefined) {
        m.record.text = change.text;
        if (change.parseMode === undefined) delete m.record.parse_mode;
        else m.record.parse_mode = change.parseMode;
      }
    }
    m.markup = change.markup?.inline;
    if (m.markup === undefined) delete m.api.reply_markup;
    else m.api.reply_markup = m.markup;
    if (m.record !== undefined) {
      if (change.markup === undefined) delete m.record.reply_markup;
      else m.record.reply_markup = change.markup.given;
      m.record.edit_date = date;
    }
    m.api.edit_date = date;
    return m.api;
  }

  private userJson(u: UserUpdate, chatId: number): Json {
    const id = u.fromId ?? (chatId > 0 ? chatId : 1);
    const known = this.users.get(id);
    const username = u.username ?? (known?.username as string | undefined);
    const user: Json = {
      id,
      is_bot: false,
      first_name: username ?? "User",
      ...(username === undefined ? {} : { username }),
      language_code: "en",
    };
    this.users.set(id, user);
    return user;
  }

  /** Queues a user's update; returns its update_id (also when allowed_updates filters it out). */
  push(u: UserUpdate, date: number): number {
    if (!Number.isSafeInteger(u.chatId) || u.chatId === 0) {
      throw new RangeError(`pushUpdate: chatId must be a non-zero integer, got ${u.chatId}`);
    }
    const update_id = this.nextUpdateId++;
    let update: Update;
    if (u.kind === "message") {
      if (typeof u.text !== "string" || u.text === "")
        throw new RangeError("pushUpdate: a message needs a text");
      const from = this.userJson(u, u.chatId);
      this.known?.add(u.chatId);
      const entities = botCommandEntities(u.text);
      const message_id = this.nextMessageId(u.chatId);
      const message: Json = {
        message_id,
        from,
        chat: this.chatJson(u.chatId),
        date,
        text: u.text,
        ...(entities.length > 0 ? { entities } : {}),
      };
      this.messages.set(`${u.chatId}:${message_id}`, { api: message, fromBot: false });
      update = { update_id, kind: "message", body: { update_id, message } };
    } else if (u.kind === "callback_query") {
      if (typeof u.data !== "string" || !Number.isSafeInteger(u.messageId)) {
        throw new RangeError("pushUpdate: a callback_query needs data (a string) and messageId (a number)");
      }
      const m = this.messages.get(`${u.chatId}:${u.messageId}`);
      if (m === undefined || !m.fromBot) {
        throw new RangeError(
          `pushUpdate: chat ${u.chatId} has no message ${u.messageId} from bot ${this.id}`,
        );
      }
      const pressed = m.markup?.inline_keyboard.some((row) => row.some((b) => b.callback_data === u.data));
      if (pressed !== true) {
        throw new RangeError(
          `pushUpdate: message ${u.messageId} in chat ${u.chatId} has no button with callback_data ${JSON.stringify(u.data)}`,
        );
      }
      const from = this.userJson(u, u.chatId);
      const id = `${this.id}${String(this.nextCallback++).padStart(7, "0")}`;
      this.callbacks.set(id, { chatId: u.chatId, messageId: u.messageId, data: u.data, answered: false });
      const callback_query: Json = {
        id,
        from,
        message: m.api,
        chat_instance: String(BigInt.asUintN(63, BigInt(u.chatId) * 2654435761n + BigInt(this.id))),
        data: u.data,
      };
      update = { update_id, kind: "callback_query", body: { update_id, callback_query } };
    } else {
      throw new RangeError(`pushUpdate: kind must be "message" or "callback_query"`);
    }
    const allowed = this.allowed;
    if (allowed === undefined ? !NOT_BY_DEFAULT.has(update.kind) : allowed.has(update.kind)) {
      this.updates.push(update);
      this.wake();
    }
    return update_id;
  }

  /** answerCallbackQuery: once per query, as Telegram allows. */
  answerCallback(id: string): CallbackQuery {
    const q = this.callbacks.get(id);
    if (q === undefined || q.answered) {
      throw badRequest("query is too old and response timeout expired or query ID is invalid");
    }
    q.answered = true;
    return q;
  }

  /** allowed_updates: a JSON list of update types; [] means the default set; absent keeps the last. */
  setAllowed(json: string | undefined): void {
    if (json === undefined || json === "") return;
    let list: unknown;
    try {
      list = JSON.parse(json);
    } catch {
      return;
    }
    if (!Array.isArray(list)) return;
    const names = list.filter((x): x is string => typeof x === "string");
    this.allowed = names.length === 0 ? undefined : new Set(names);
  }

  pendingCount(): number {
    return this.updates.length;
  }

  dropPending(): void {
    this.updates = [];
  }

  /** Confirms updates before `offset` (a negative offset keeps only the last -offset). */
  private confirm(offset: number): void {
    if (offset < 0) this.updates = this.updates.slice(offset);
    else if (offset > 0 && offset <= this.nextUpdateId) {
      this.updates = this.updates.filter((u) => u.update_id >= offset);
    }
  }

  /**
   * getUpdates: the pending updates from `offset`, at most `limit`; with none and a timeout,
   * waits up to `timeout` seconds for one. A new long poll ends the waiting one with 409, as
   * Telegram does when two instances poll; `closed` registers the client going away.
   */
  getUpdates(
    offset: number,
    limit: number,
    timeout: number,
    closed: (cb: () => void) => void,
  ): Promise<Json[]> {
    this.confirm(offset);
    const ready = this.updates.slice(0, limit).map((u) => u.body);
    if (ready.length > 0 || timeout === 0) return Promise.resolve(ready);
    const old = this.poll;
    if (old !== undefined) {
      clearTimeout(old.timer);
      this.poll = undefined;
      old.reject(
        new BotApiError(
          409,
          "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
        ),
      );
    }
    return new Promise((resolve, reject) => {
      const poll: Poll = {
        limit,
        resolve,
        reject,
        timer: setTimeout(() => {
          if (this.poll === poll) this.poll = undefined;
          resolve([]);
        }, timeout * 1000),
      };
      this.poll = poll;
      closed(() => {
        if (this.poll !== poll) return;
        clearTimeout(poll.timer);
        this.poll = undefined;
      });
    });
  }

  /** Answers a waiting long poll once the updates pushed in this turn are queued. */
  private wake(): void {
    if (this.poll === undefined) return;
    setImmediate(() => {
      const poll = this.poll;
      if (poll === undefined || this.updates.length === 0) return;
      this.poll = undefined;
      clearTimeout(poll.timer);
      poll.resolve(this.updates.slice(0, poll.limit).map((u) => u.body));
    });
  }

  /**
   * Forgets chats, messages, updates, commands and callback queries. Message ids start again;
   * update ids keep increasing, so a client polling meanwhile keeps a valid offset.
   */
  reset(): void {
    this.counters.clear();
    this.users.clear();
    this.known = this.chats === undefined ? undefined : new Set(this.chats);
    this.messages = new Map();
    this.updates = [];
    this.allowed = undefined;
    this.callbacks = new Map();
    this.commands = new Map();
  }

  close(): void {
    if (this.poll !== undefined) clearTimeout(this.poll.timer);
    this.poll = undefined;
  }
}

function messageContent(
  kind: "text" | "photo",
  formatted: FormattedText,
  photo: PhotoSize[] | undefined,
  linkPreview: Json | undefined,
): Json {
  const entities: MessageEntity[] = formatted.entities;
  if (kind === "text") {
    return {
      text: formatted.text,
      ...(entities.length > 0 ? { entities } : {}),
      ...(linkPreview === undefined ? {} : { link_preview_options: linkPreview }),
    };
  }
  return {
    photo,
    ...(formatted.text === "" ? {} : { caption: formatted.text }),
    ...(entities.length > 0 ? { caption_entities: entities } : {}),
  };
}
