import { badRequest } from "./apiError.js";

/**
 * `reply_markup` and `link_preview_options` as the Bot API server reads them: JSON objects
 * (sent as JSON text in a form, or as an object in a JSON body), checked with its messages.
 * An inline keyboard is kept and returned in the Message; reply keyboards, keyboard removal
 * and force_reply are accepted and not returned, as Telegram does.
 */

export interface ReplyMarkup {
  /** The markup as sent. */
  given: unknown;
  /** The inline keyboard as Telegram returns it in the Message, if the markup is one. */
  inline?: { inline_keyboard: Array<Array<Record<string, unknown>>> };
}

const INLINE_KINDS = [
  "url",
  "callback_data",
  "callback_game",
  "pay",
  "switch_inline_query",
  "switch_inline_query_chosen_chat",
  "switch_inline_query_current_chat",
  "login_url",
  "web_app",
  "copy_text",
];

function inlineButton(button: unknown): Record<string, unknown> {
  if (button === null || typeof button !== "object" || Array.isArray(button)) {
    throw badRequest("can't parse inline keyboard button: InlineKeyboardButton must be an Object");
  }
  const b = button as Record<string, unknown>;
  if (!("text" in b)) throw badRequest(`can't parse inline keyboard button: Can't find field "text"`);
  if (typeof b.text !== "string") {
    throw badRequest(`can't parse inline keyboard button: Field "text" must be of type String`);
  }
  const kind = INLINE_KINDS.find((k) => k in b && b[k] !== "" && b[k] !== undefined);
  if (kind === undefined) {
    throw badRequest("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard");
  }
  if (kind === "callback_data") {
    if (typeof b.callback_data !== "string") {
      throw badRequest(`can't parse inline keyboard button: Field "callback_data" must be of type String`);
    }
    // Telegram's limit: 1-64 bytes.
    if (Buffer.byteLength(b.callback_data, "utf8") > 64) throw badRequest("BUTTON_DATA_INVALID");
  }
  // Telegram takes bare hosts (example.com) and refuses what has no host, like localhost:3000.
  if (
    kind === "url" &&
    typeof b.url === "string" &&
    !/^((https?|tg):\/\/\S+|[^\s:/]+\.[^\s]+)$/i.test(b.url)
  ) {
    throw badRequest(`inline keyboard button URL '${b.url}' is invalid: Wrong HTTP URL`);
  }
  return { text: b.text, [kind]: b[kind] };
}

/** Parses `reply_markup`; undefined when absent or empty. */
export function replyMarkup(json: string | undefined): ReplyMarkup | undefined {
  if (json === undefined || json === "") return undefined;
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw badRequest("can't parse reply keyboard markup JSON object");
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw badRequest("object expected as reply markup");
  }
  const o = value as Record<string, unknown>;
  if (o.keyboard !== undefined) {
    if (!Array.isArray(o.keyboard) || o.keyboard.some((r) => !Array.isArray(r))) {
      throw badRequest(`field "keyboard" must be an Array of Arrays`);
    }
  }
  if (o.inline_keyboard === undefined) return { given: value };
  if (!Array.isArray(o.inline_keyboard)) {
    throw badRequest(`field "inline_keyboard" must be of type Array`);
  }
  const rows: Array<Array<Record<string, unknown>>> = [];
  for (const row of o.inline_keyboard) {
    if (!Array.isArray(row)) {
      throw badRequest(`field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays`);
    }
    rows.push(row.map(inlineButton));
  }
  const keyboard = Array.isArray(o.keyboard) && o.keyboard.length > 0;
  return rows.length > 0 && !keyboard
    ? { given: value, inline: { inline_keyboard: rows } }
    : { given: value };
}

/** Parses `link_preview_options` (or the legacy `disable_web_page_preview`). */
export function linkPreviewOptions(
  json: string | undefined,
  disableWebPagePreview: boolean,
): Record<string, unknown> | undefined {
  if (json === undefined || json === "") return disableWebPagePreview ? { is_disabled: true } : undefined;
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw badRequest("can't parse link preview options JSON object");
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw badRequest("object expected as link preview options");
  }
  const o = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of ["is_disabled", "prefer_small_media", "prefer_large_media", "show_above_text"]) {
    if (o[k] === undefined) continue;
    if (typeof o[k] !== "boolean") throw badRequest(`field "${k}" must be of type Boolean`);
    if (o[k]) out[k] = true;
  }
  if (o.url !== undefined) {
    if (typeof o.url !== "string") throw badRequest(`field "url" must be of type String`);
    if (o.url !== "") out.url = o.url;
  }
  return out;
}
