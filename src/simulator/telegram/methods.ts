import { BotApiError, badRequest, intArg, toBool, tooManyRequests } from "./apiError.js";
import type { UploadedFile } from "./body.js";
import type { Bot, Json } from "./bot.js";
import { type FormattedText, formatText, textLength } from "./entities.js";
import type { Faults, FloodLimiter } from "./faults.js";
import { linkPreviewOptions, replyMarkup } from "./markup.js";
import { checkPhoto, photoSizes, sha256 } from "./photo.js";
import type { CallbackAnswer, PhotoFile, SentMessage } from "./types.js";

/**
 * The Bot API methods the simulator answers, by lower-cased name (Telegram's names are
 * case-insensitive). Each checks its parameters in the order the Bot API server does, so the
 * first error a client sees is Telegram's: the text and its markup, then reply_markup, then
 * the chat, then the limits Telegram applies when sending (length, blocked, flood).
 */

export interface Call {
  /** The method as the client spelled it. */
  name: string;
  args: Map<string, string>;
  files: Map<string, UploadedFile>;
  bot: Bot;
  /** Registers a callback for the client closing the connection before the answer. */
  onClose(cb: () => void): void;
}

export interface Shared {
  now(): number;
  faults: Faults;
  flood: FloodLimiter;
  /** A successful send or edit, for the record and the log. */
  sent(m: SentMessage, edit: boolean): void;
  answers: CallbackAnswer[];
  /** Uploaded photos by every file_id they were given. */
  photos: Map<string, PhotoFile>;
}

/** A result that Telegram sends with a `description` beside it. */
export class Described {
  readonly result: unknown;
  readonly description: string;
  constructor(result: unknown, description: string) {
    this.result = result;
    this.description = description;
  }
}

type Handler = (call: Call, shared: Shared) => unknown;

const MAX_TEXT = 4096;
const MAX_CAPTION = 1024;

const unixSeconds = (shared: Shared) => Math.floor(shared.now() / 1000);

function messageText(call: Call): { text: string; formatted: FormattedText; parseMode: string } {
  const text = call.args.get("text") ?? "";
  if (text === "") throw badRequest("message text is empty");
  const parseMode = call.args.get("parse_mode") ?? "";
  return { text, parseMode, formatted: formatText(text, parseMode, call.args.get("entities")) };
}

function checkTextLength(formatted: FormattedText): void {
  if (formatted.text === "") throw badRequest("text must be non-empty");
  if (textLength(formatted.text) > MAX_TEXT) throw badRequest("message is too long");
}

/** What Telegram refuses at the moment of sending: a chat that blocked the bot, then flood control. */
function checkDelivery(call: Call, shared: Shared, chatId: number): void {
  if (shared.faults.isBlocked(chatId)) throw new BotApiError(403, "Forbidden: bot was blocked by the user");
  const retry = shared.flood.take(call.bot.id, chatId);
  if (retry !== undefined) throw tooManyRequests(retry);
}

function optional<T>(value: T | undefined, key: string): Record<string, T> {
  return value === undefined || value === "" ? {} : { [key]: value };
}

const sendMessage: Handler = (call, shared) => {
  const { text, formatted, parseMode } = messageText(call);
  const preview = linkPreviewOptions(
    call.args.get("link_preview_options"),
    toBool(call.args.get("disable_web_page_preview")),
  );
  const markup = replyMarkup(call.args.get("reply_markup"));
  const chatId = call.bot.chat(call.args.get("chat_id"));
  checkTextLength(formatted);
  checkDelivery(call, shared, chatId);
  const disableNotification = toBool(call.args.get("disable_notification"));
  const { api, record } = call.bot.send(
    chatId,
    unixSeconds(shared),
    { kind: "text", formatted, linkPreview: preview },
    markup,
    {
      kind: "text",
      text,
      ...optional(parseMode, "parse_mode"),
      ...(markup === undefined ? {} : { reply_markup: markup.given }),
      method: call.name,
      ...(disableNotification ? { disable_notification: true } : {}),
      ...(preview === undefined ? {} : { link_preview_options: preview }),
    },
  );
  shared.sent(record, false);
  return api;
};

/** The photo parameter: an upload (the `photo` field, or attach://name), or a file_id sent before. */
function photoInput(call: Call, shared: Shared): { bytes: Buffer; known?: PhotoFile } {
  const arg = call.args.get("photo") ?? "";
  if (arg !== "" && !arg.startsWith("attach://")) {
    const known = shared.photos.get(arg);
    // URLs are not fetched: only file_ids of photos sent to this simulator are known.
    if (known === undefined) throw badRequest("wrong file identifier/HTTP URL specified");
    return { bytes: known.bytes, known };
  }
  const file = call.files.get(arg === "" ? "photo" : arg.slice("attach://".length));
  if (file === undefined) throw badRequest("there is no photo in the request");
  return { bytes: file.bytes };
}

const sendPhoto: Handler = (call, shared) => {
  const input = photoInput(call, shared);
  const caption = call.args.get("caption") ?? "";
  const parseMode = call.args.get("parse_mode") ?? "";
  const formatted = formatText(caption, parseMode, call.args.get("caption_entities"));
  const markup = replyMarkup(call.args.get("reply_markup"));
  const chatId = call.bot.chat(call.args.get("chat_id"));
  if (textLength(formatted.text) > MAX_CAPTION) throw badRequest("message caption is too long");
  const dims = input.known ?? checkPhoto(input.bytes);
  checkDelivery(call, shared, chatId);
  const hash = input.known?.sha256 ?? sha256(input.bytes);
  const sizes = photoSizes(hash, input.bytes.length, dims);
  const largest = sizes[sizes.length - 1];
  const photo: PhotoFile = input.known ?? {
    bytes: input.bytes,
    sha256: hash,
    size: input.bytes.length,
    width: dims.width,
    height: dims.height,
    file_id: largest?.file_id ?? "",
  };
  for (const s of sizes) shared.photos.set(s.file_id, photo);
  const disableNotification = toBool(call.args.get("disable_notification"));
  const { api, record } = call.bot.send(
    chatId,
    unixSeconds(shared),
    { kind: "photo", formatted, photo: sizes },
    markup,
    {
      kind: "photo",
      ...optional(caption, "caption"),
      ...optional(parseMode, "parse_mode"),
      ...(markup === undefined ? {} : { reply_markup: markup.given }),
      photo,
      method: call.name,
      ...(disableNotification ? { disable_notification: true } : {}),
    },
  );
  shared.sent(record, false);
  return api;
};

const editMessageText: Handler = (call, shared) => {
  const { text, formatted, parseMode } = messageText(call);
  linkPreviewOptions(call.args.get("link_preview_options"), false);
  const markup = replyMarkup(call.args.get("reply_markup"));
  const chatArg = call.args.get("chat_id") ?? "";
  const messageArg = call.args.get("message_id") ?? "";
  if (chatArg === "" && messageArg === "") {
    if ((call.args.get("inline_message_id") ?? "") === "")
      throw badRequest("message identifier is not specified");
    throw badRequest("MESSAGE_ID_INVALID");
  }
  const chatId = call.bot.chat(chatArg);
  const m = call.bot.editable(chatId, messageArg, "text");
  checkTextLength(formatted);
  const api = call.bot.edit(m, unixSeconds(shared), {
    formatted,
    text,
    parseMode: parseMode === "" ? undefined : parseMode,
    markup,
  });
  if (m.record !== undefined) shared.sent(m.record, true);
  return api;
};

const editMessageReplyMarkup: Handler = (call, shared) => {
  const markup = replyMarkup(call.args.get("reply_markup"));
  const chatArg = call.args.get("chat_id") ?? "";
  const messageArg = call.args.get("message_id") ?? "";
  if (chatArg === "" && messageArg === "") {
    if ((call.args.get("inline_message_id") ?? "") === "")
      throw badRequest("message identifier is not specified");
    throw badRequest("MESSAGE_ID_INVALID");
  }
  const chatId = call.bot.chat(chatArg);
  const m = call.bot.editable(chatId, messageArg);
  return call.bot.edit(m, unixSeconds(shared), { markup });
};

const CHAT_ACTIONS = new Set([
  "cancel",
  "typing",
  "record_video",
  "upload_video",
  "record_audio",
  "record_voice",
  "upload_audio",
  "upload_voice",
  "upload_photo",
  "upload_document",
  "choose_sticker",
  "pick_up_location",
  "find_location",
  "record_video_note",
  "upload_video_note",
]);

const sendChatAction: Handler = (call, shared) => {
  if (!CHAT_ACTIONS.has((call.args.get("action") ?? "").toLowerCase())) {
    throw badRequest("wrong parameter action in request");
  }
  const chatId = call.bot.chat(call.args.get("chat_id"));
  if (shared.faults.isBlocked(chatId)) throw new BotApiError(403, "Forbidden: bot was blocked by the user");
  return true;
};

const getUpdates: Handler = (call) => {
  const offset = intArg(call.args.get("offset"), 0, -(2 ** 31), 2 ** 31 - 1);
  const limit = intArg(call.args.get("limit"), 100, 1, 100);
  const timeout = intArg(call.args.get("timeout"), 0, 0, 50);
  call.bot.setAllowed(call.args.get("allowed_updates"));
  return call.bot.getUpdates(offset, limit, timeout, call.onClose);
};

const getMe: Handler = (call) => ({
  ...call.bot.user,
  can_join_groups: true,
  can_read_all_group_messages: false,
  supports_inline_queries: false,
  can_connect_to_business: false,
  has_main_web_app: false,
  has_topics_enabled: false,
  allows_users_to_create_topics: false,
  can_manage_bots: false,
  supports_join_request_queries: false,
});

const deleteWebhook: Handler = (call) => {
  if (toBool(call.args.get("drop_pending_updates"))) call.bot.dropPending();
  return new Described(true, "Webhook is already deleted");
};

const getWebhookInfo: Handler = (call) => ({
  url: "",
  has_custom_certificate: false,
  pending_update_count: call.bot.pendingCount(),
});

function parseJsonArg(json: string, what: string): unknown {
  try {
    return JSON.parse(json);
  } catch {
    throw badRequest(`can't parse ${what} JSON object`);
  }
}

/** The key of a command list: its scope and language, as Telegram keeps one list per pair. */
function commandsKey(call: Call): string {
  const lang = call.args.get("language_code") ?? "";
  if (lang !== "" && !/^[a-z]{2}$/.test(lang)) throw badRequest("invalid language code specified");
  const scopeArg = call.args.get("scope") ?? "";
  if (scopeArg === "") return `default|${lang}`;
  const scope = parseJsonArg(scopeArg, "BotCommandScope");
  if (scope === null || typeof scope !== "object" || Array.isArray(scope)) {
    throw badRequest("can't parse BotCommandScope: BotCommandScope must be an Object");
  }
  const s = scope as Json;
  if (typeof s.type !== "string") throw badRequest(`can't parse BotCommandScope: Can't find field "type"`);
  if (["default", "all_private_chats", "all_group_chats", "all_chat_administrators"].includes(s.type)) {
    return `${s.type}|${lang}`;
  }
  if (!["chat", "chat_administrators", "chat_member"].includes(s.type)) {
    throw badRequest("can't parse BotCommandScope: Unsupported type specified");
  }
  if (s.chat_id === undefined) throw badRequest(`can't parse BotCommandScope: Can't find field "chat_id"`);
  const chatId = call.bot.chat(String(s.chat_id));
  if (s.type !== "chat_member") return `${s.type}:${chatId}|${lang}`;
  if (!Number.isSafeInteger(s.user_id) || (s.user_id as number) <= 0) {
    throw badRequest("can't parse BotCommandScope: Invalid user_id specified");
  }
  return `${s.type}:${chatId}:${s.user_id}|${lang}`;
}

function botCommands(json: string | undefined): Json[] {
  if (json === undefined || json === "") return [];
  const value = parseJsonArg(json, "commands");
  if (!Array.isArray(value)) throw badRequest("expected an Array of BotCommand");
  if (value.length > 100) throw badRequest("BOT_COMMANDS_TOO_MUCH");
  return value.map((v) => {
    if (v === null || typeof v !== "object" || Array.isArray(v)) {
      throw badRequest("can't parse BotCommand: expected an Object");
    }
    const o = v as Json;
    for (const f of ["command", "description"]) {
      if (!(f in o)) throw badRequest(`can't parse BotCommand: Can't find field "${f}"`);
      if (typeof o[f] !== "string")
        throw badRequest(`can't parse BotCommand: Field "${f}" must be of type String`);
    }
    let command = (o.command as string).trim();
    if (command.startsWith("/")) command = command.slice(1);
    const description = (o.description as string).trim();
    if (command === "") throw badRequest("command must be non-empty");
    if (textLength(command) > 32) throw badRequest("command length must not exceed 32");
    if (!/^[a-z0-9_]+$/.test(command)) throw badRequest("BOT_COMMAND_INVALID");
    if (description === "") throw badRequest("command description must be non-empty");
    if (textLength(description) > 256) throw badRequest("command description length must not exceed 256");
    return { command, description };
  });
}

const setMyCommands: Handler = (call) => {
  const commands = botCommands(call.args.get("commands"));
  const key = commandsKey(call);
  if (commands.length === 0) call.bot.commands.delete(key);
  else call.bot.commands.set(key, commands);
  return true;
};

const getMyCommands: Handler = (call) => call.bot.commands.get(commandsKey(call)) ?? [];

const deleteMyCommands: Handler = (call) => {
  call.bot.commands.delete(commandsKey(call));
  return true;
};

const answerCallbackQuery: Handler = (call, shared) => {
  const id = call.args.get("callback_query_id") ?? "";
  const q = call.bot.answerCallback(id);
  const text = call.args.get("text") ?? "";
  const url = call.args.get("url") ?? "";
  shared.answers.push({
    callback_query_id: id,
    chat_id: q.chatId,
    message_id: q.messageId,
    data: q.data,
    ...optional(text, "text"),
    show_alert: toBool(call.args.get("show_alert")),
    ...optional(url, "url"),
  });
  return true;
};

export const METHODS: ReadonlyMap<string, Handler> = new Map([
  ["getme", getMe],
  ["sendmessage", sendMessage],
  ["sendphoto", sendPhoto],
  ["getupdates", getUpdates],
  ["deletewebhook", deleteWebhook],
  ["getwebhookinfo", getWebhookInfo],
  ["setmycommands", setMyCommands],
  ["getmycommands", getMyCommands],
  ["deletemycommands", deleteMyCommands],
  ["answercallbackquery", answerCallbackQuery],
  ["editmessagetext", editMessageText],
  ["editmessagereplymarkup", editMessageReplyMarkup],
  ["sendchataction", sendChatAction],
]);
