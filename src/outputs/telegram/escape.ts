/**
 * Escaping of data pasted into Telegram messages, per parse mode. itb's messages use the legacy
 * `Markdown` mode, as the original's did (`parse_mode=markdown`).
 */

export type ParseMode = "Markdown" | "MarkdownV2" | "HTML";

const MARKDOWN = /[_*`[]/g;
/** MarkdownV2's 18 reserved characters, and the backslash (which escapes the character after it). */
const MARKDOWN_V2 = /[_*[\]()~`>#+\-=|{}.!\\]/g;
const HTML: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;" };

/**
 * `text` made literal outside any entity:
 * - `Markdown` (legacy): a backslash before `_`, `*`, `` ` `` and `[`, the only characters that
 *   open an entity (a backslash before any other character is shown as is);
 * - `MarkdownV2`: a backslash before each of `_*[]()~`>#+-=|{}.!` and before `\`;
 * - `HTML`: `&`, `<`, `>` as entities.
 */
export function escapeText(text: string, parseMode: ParseMode): string {
  switch (parseMode) {
    case "Markdown":
      return text.replace(MARKDOWN, "\\$&");
    case "MarkdownV2":
      return text.replace(MARKDOWN_V2, "\\$&");
    case "HTML":
      return text.replace(/[&<>]/g, (c) => HTML[c] ?? c);
  }
}

/**
 * `text` in legacy Markdown bold. Inside an entity everything up to the closing `*` is literal
 * (a backslash there would be shown), so only `*` needs care: the entity is closed, an escaped
 * `*` written, and the entity reopened (`a*b` → `*a*\**b*`, as Telegram's documentation says).
 */
export function markdownBold(text: string): string {
  return `*${text.replaceAll("*", "*\\**")}*`;
}
