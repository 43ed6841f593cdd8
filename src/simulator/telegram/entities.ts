import { badRequest } from "./apiError.js";

/**
 * Telegram's text formatting, as its server parses it (tdlib's MessageEntity.cpp): the legacy
 * Markdown, MarkdownV2 and HTML parse modes turn a text with markup into the plain text and
 * its entities (offsets and lengths in UTF-16 code units), and refuse malformed markup with
 * tdlib's own messages ("Can't find end of the entity starting at byte offset 5", "Character
 * '.' is reserved and must be escaped with the preceding '\'", "Unsupported start tag "foo" at
 * byte offset 0"), which the API reports as `Bad Request: can't parse entities: ...`. The
 * parsers walk the UTF-8 bytes, as tdlib does, so the byte offsets in those messages match.
 *
 * Not modelled: entities Telegram finds by itself in the plain text (links, @mentions,
 * hashtags; bot commands are found in the users' messages only), the `tg://time` date entity,
 * and the splitting of overlapping entities.
 */

export interface MessageEntity {
  type: string;
  offset: number;
  length: number;
  url?: string;
  language?: string;
  user?: { id: number; is_bot: boolean; first_name: string };
  custom_emoji_id?: string;
}

export interface FormattedText {
  text: string;
  entities: MessageEntity[];
}

type Kind =
  | "Bold"
  | "Italic"
  | "Underline"
  | "Strikethrough"
  | "Spoiler"
  | "Code"
  | "Pre"
  | "PreCode"
  | "TextUrl"
  | "MentionName"
  | "CustomEmoji"
  | "BlockQuote"
  | "ExpandableBlockQuote";

interface Raw {
  kind: Kind;
  offset: number;
  length: number;
  argument: string;
}

/** tdlib's priorities: at one offset, longer entities first, then these (lower first). */
const PRIORITY: Record<Kind, number> = {
  Bold: 90,
  Italic: 91,
  Underline: 92,
  Strikethrough: 93,
  Spoiler: 94,
  Code: 20,
  Pre: 11,
  PreCode: 10,
  TextUrl: 49,
  MentionName: 49,
  CustomEmoji: 99,
  BlockQuote: 0,
  ExpandableBlockQuote: 0,
};

class EntityParseError extends Error {}

function fail(message: string): never {
  throw new EntityParseError(message);
}

const isFirstUnit = (c: number) => (c & 0xc0) !== 0x80;
/** UTF-16 units of the character a UTF-8 lead byte starts (4-byte sequences are surrogate pairs). */
const units = (c: number) => (c >= 0xf0 ? 2 : 1);
/** tdlib's is_space (the terminating NUL counts, which ends scans at the end of the text). */
const isSpace = (c: number) => c === 32 || c === 9 || c === 13 || c === 10 || c === 0 || c === 11;
const isDigit = (c: number) => c >= 48 && c <= 57;
const isAlpha = (c: number) => (c | 0x20) >= 97 && (c | 0x20) <= 122;
const isHex = (c: number) => isDigit(c) || ((c | 0x20) >= 97 && (c | 0x20) <= 102);

const ch = (s: string) => s.charCodeAt(0);
const BACKSLASH = ch("\\");
const UNDERSCORE = ch("_");
const STAR = ch("*");
const BACKTICK = ch("`");
const LBRACKET = ch("[");
const RBRACKET = ch("]");
const LPAREN = ch("(");
const RPAREN = ch(")");
const NL = 10;
const CR = 13;

/** A byte view with tdlib's string semantics: reading past the end gives NUL. */
class Bytes {
  readonly b: Buffer;
  readonly size: number;
  constructor(text: string) {
    this.b = Buffer.from(text, "utf8");
    this.size = this.b.length;
  }
  at(i: number): number {
    return i < this.size ? (this.b[i] ?? 0) : 0;
  }
  str(from: number, to: number): string {
    return this.b.toString("utf8", from, to);
  }
}

/** tg://user?id=N links mention a user. */
function linkUserId(url: string): number | undefined {
  const m = /^tg:(?:\/\/)?user(?:\/)?\?([^#]*)/i.exec(url);
  if (m === null) return undefined;
  for (const p of (m[1] ?? "").split("&")) {
    const [k, v] = p.split("=");
    if (k === "id") return /^-?\d+$/.test(v ?? "") ? Number(v) : undefined;
  }
  return undefined;
}

/** A link Telegram keeps: http(s), tg, ton with a scheme, or a bare host that gets http://. */
function checkedLink(link: string): string {
  const url = link.trim();
  if (url === "" || /\s/.test(url)) return "";
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined || !url.includes("://")) {
    if (scheme === "tg") return url;
    return /^[^/?#]+\.[^/?#]+/.test(url) ? checkedLink(`http://${url}`) : "";
  }
  if (scheme === "tg" || scheme === "ton" || scheme === "tonsite") return url;
  if (scheme !== "http" && scheme !== "https") return "";
  try {
    return new URL(url).href;
  } catch {
    return "";
  }
}

function linkEntity(kind: "TextUrl", offset: number, length: number, url: string, out: Raw[]): void {
  const userId = linkUserId(url);
  if (userId !== undefined) {
    out.push({ kind: "MentionName", offset, length, argument: String(userId) });
    return;
  }
  const checked = checkedLink(url);
  if (checked !== "") out.push({ kind, offset, length, argument: checked });
}

function parseMarkdown(text: string): { text: string; raw: Raw[] } {
  const t = new Bytes(text);
  const size = t.size;
  const out: number[] = [];
  const raw: Raw[] = [];
  let u16 = 0;
  for (let i = 0; i < size; i++) {
    const c = t.at(i);
    const next = t.at(i + 1);
    if (c === BACKSLASH && (next === UNDERSCORE || next === STAR || next === BACKTICK || next === LBRACKET)) {
      i++;
      out.push(t.at(i));
      u16++;
      continue;
    }
    if (c !== UNDERSCORE && c !== STAR && c !== BACKTICK && c !== LBRACKET) {
      if (isFirstUnit(c)) u16 += units(c);
      out.push(c);
      continue;
    }
    const beginPos = i;
    const endCharacter = c === LBRACKET ? RBRACKET : c;
    let isPre = false;
    i++;
    let language = "";
    if (c === BACKTICK && t.at(i) === BACKTICK && t.at(i + 1) === BACKTICK) {
      i += 2;
      isPre = true;
      let languageEnd = i;
      while (!isSpace(t.at(languageEnd)) && t.at(languageEnd) !== BACKTICK) languageEnd++;
      if (i !== languageEnd && languageEnd < size && t.at(languageEnd) !== BACKTICK) {
        language = t.str(i, languageEnd);
        i = languageEnd;
      }
      i = skipOneNewline(t, i);
    }
    const entityOffset = u16;
    const urlTextBegin = out.length;
    while (
      i < size &&
      (t.at(i) !== endCharacter || (isPre && !(t.at(i + 1) === BACKTICK && t.at(i + 2) === BACKTICK)))
    ) {
      const cur = t.at(i);
      if (isFirstUnit(cur)) u16 += units(cur);
      out.push(cur);
      i++;
    }
    if (i === size) fail(`Can't find end of the entity starting at byte offset ${beginPos}`);
    if (entityOffset !== u16) {
      const length = u16 - entityOffset;
      if (c === UNDERSCORE) raw.push({ kind: "Italic", offset: entityOffset, length, argument: "" });
      else if (c === STAR) raw.push({ kind: "Bold", offset: entityOffset, length, argument: "" });
      else if (c === LBRACKET) {
        let url: string;
        if (t.at(i + 1) !== LPAREN) url = Buffer.from(out.slice(urlTextBegin)).toString("utf8");
        else {
          i += 2;
          const from = i;
          while (i < size && t.at(i) !== RPAREN) i++;
          url = t.str(from, i);
        }
        linkEntity("TextUrl", entityOffset, length, url, raw);
      } else if (isPre) {
        raw.push({
          kind: language === "" ? "Pre" : "PreCode",
          offset: entityOffset,
          length,
          argument: language,
        });
      } else raw.push({ kind: "Code", offset: entityOffset, length, argument: "" });
    }
    if (isPre) i += 2;
  }
  return { text: Buffer.from(out).toString("utf8"), raw };
}

/** Skips one line break (\n, \r, \r\n or \n\r) at i, as a pre block's first line. */
function skipOneNewline(t: Bytes, i: number): number {
  const c = t.at(i);
  if (c !== NL && c !== CR) return i;
  const d = t.at(i + 1);
  return (d === NL || d === CR) && c !== d ? i + 2 : i + 1;
}

const RESERVED_V2 = new Set([..."_*[]()~`>#+-=|{}.!\n"].map(ch));

interface Open {
  kind: Kind;
  argument: string;
  offset: number;
  byteOffset: number;
  beginPos: number;
}

function reserved(c: number): string {
  return `Character '${String.fromCharCode(c)}' is reserved and must be escaped with the preceding '\\'`;
}

function parseMarkdownV2(text: string): { text: string; raw: Raw[] } {
  const t = new Bytes(text);
  const out: number[] = [];
  const raw: Raw[] = [];
  const nested: Open[] = [];
  let u16 = 0;
  let haveBlockquote = false;
  let canStartBlockquote = true;
  const top = () => nested[nested.length - 1];
  const cantFindEnd = (o: Open | undefined): never =>
    fail(`Can't find end of ${o?.kind ?? "the"} entity at byte offset ${o?.byteOffset ?? 0}`);

  for (let i = 0; i < t.size; i++) {
    const c = t.at(i);
    if (c === BACKSLASH && t.at(i + 1) > 0 && t.at(i + 1) <= 126) {
      i++;
      u16 += 1;
      out.push(t.at(i));
      if (t.at(i) !== CR) canStartBlockquote = t.at(i) === NL;
      continue;
    }
    const inCode = top()?.kind === "Code" || top()?.kind === "Pre" || top()?.kind === "PreCode";
    if (inCode ? c !== BACKTICK : !RESERVED_V2.has(c)) {
      if (isFirstUnit(c)) {
        u16 += units(c);
        if (c !== CR) canStartBlockquote = false;
      }
      out.push(c);
      continue;
    }

    const isEnd = (() => {
      const o = top();
      if (o === undefined) return false;
      if (haveBlockquote && c === NL && (i + 1 === t.size || t.at(i + 1) !== ch(">"))) return true;
      switch (o.kind) {
        case "Bold":
          return c === STAR;
        case "Italic":
          return c === UNDERSCORE && t.at(i + 1) !== UNDERSCORE;
        case "Code":
          return c === BACKTICK;
        case "Pre":
        case "PreCode":
          return c === BACKTICK && t.at(i + 1) === BACKTICK && t.at(i + 2) === BACKTICK;
        case "TextUrl":
        case "CustomEmoji":
          return c === RBRACKET;
        case "Underline":
          return c === UNDERSCORE && t.at(i + 1) === UNDERSCORE;
        case "Strikethrough":
          return c === ch("~");
        case "Spoiler":
          return c === ch("|") && t.at(i + 1) === ch("|");
        default:
          return false;
      }
    })();

    if (!isEnd) {
      let kind: Kind | undefined;
      let argument = "";
      const byteOffset = i;
      switch (String.fromCharCode(c)) {
        case "_":
          if (t.at(i + 1) === UNDERSCORE) {
            kind = "Underline";
            i++;
          } else kind = "Italic";
          break;
        case "*":
          kind = "Bold";
          break;
        case "~":
          kind = "Strikethrough";
          break;
        case "|":
          if (t.at(i + 1) !== ch("|")) fail(reserved(c));
          i++;
          kind = "Spoiler";
          break;
        case "[":
          kind = "TextUrl";
          break;
        case "`":
          if (t.at(i + 1) === BACKTICK && t.at(i + 2) === BACKTICK) {
            i += 3;
            kind = "Pre";
            let languageEnd = i;
            while (!isSpace(t.at(languageEnd)) && t.at(languageEnd) !== BACKTICK) languageEnd++;
            if (i !== languageEnd && languageEnd < t.size && t.at(languageEnd) !== BACKTICK) {
              kind = "PreCode";
              argument = t.str(i, languageEnd);
              i = languageEnd;
            }
            i = skipOneNewline(t, i) - 1;
          } else kind = "Code";
          break;
        case "!":
          if (t.at(i + 1) !== LBRACKET) fail(reserved(c));
          i++;
          kind = "CustomEmoji";
          break;
        case "\n":
          u16 += 1;
          out.push(NL);
          canStartBlockquote = true;
          break;
        case ">":
          if (!canStartBlockquote) fail(reserved(c));
          if (!haveBlockquote) {
            kind = "BlockQuote";
            haveBlockquote = true;
          }
          break;
        default:
          fail(reserved(c));
      }
      if (kind !== undefined) nested.push({ kind, argument, offset: u16, byteOffset, beginPos: out.length });
      continue;
    }

    // The end of an entity.
    let open = top() as Open;
    let kind = open.kind;
    if (c === NL && kind !== "BlockQuote") {
      // Only `||` right before the line break (an expandable quote's mark) may end here.
      const crBefore = open.byteOffset === i - 3 && out.length !== 0 && out[out.length - 1] === CR;
      if (kind !== "Spoiler" || !(open.byteOffset === i - 2 || crBefore)) cantFindEnd(open);
      nested.pop();
      open = top() as Open;
      if (open.kind !== "BlockQuote") cantFindEnd(open);
      kind = "ExpandableBlockQuote";
    }
    let argument = open.argument;
    let skip = u16 === open.offset;
    let linkUser: number | undefined;
    switch (kind) {
      case "Underline":
      case "Spoiler":
        i++;
        break;
      case "Pre":
      case "PreCode":
        i += 2;
        break;
      case "TextUrl": {
        let url = "";
        if (t.at(i + 1) !== LPAREN) url = Buffer.from(out.slice(open.beginPos)).toString("utf8");
        else {
          i += 2;
          const urlBegin = i;
          const bytes: number[] = [];
          while (i < t.size && t.at(i) !== RPAREN) {
            if (t.at(i) === BACKSLASH && t.at(i + 1) > 0 && t.at(i + 1) <= 126) {
              bytes.push(t.at(i + 1));
              i += 2;
              continue;
            }
            bytes.push(t.at(i++));
          }
          if (t.at(i) !== RPAREN) fail(`Can't find end of a URL at byte offset ${urlBegin}`);
          url = Buffer.from(bytes).toString("utf8");
        }
        linkUser = linkUserId(url);
        if (linkUser === undefined) {
          const checked = checkedLink(url);
          if (checked === "") skip = true;
          else argument = checked;
        }
        break;
      }
      case "CustomEmoji": {
        if (t.at(i + 1) !== LPAREN) fail("The entity must contain a tg://emoji or tg://time URL");
        i += 2;
        const urlBegin = i;
        const bytes: number[] = [];
        while (i < t.size && t.at(i) !== RPAREN) {
          if (t.at(i) === BACKSLASH && t.at(i + 1) > 0 && t.at(i + 1) <= 126) {
            bytes.push(t.at(i + 1));
            i += 2;
            continue;
          }
          bytes.push(t.at(i++));
        }
        if (t.at(i) !== RPAREN) fail(`Can't find end of a URL at byte offset ${urlBegin}`);
        const m = /^tg:(?:\/\/)?emoji\/?\?(?:[^#]*&)?id=(\d+)/i.exec(Buffer.from(bytes).toString("utf8"));
        if (m === null || Number(m[1]) === 0) fail("Invalid tg://emoji or tg://time URL specified");
        argument = m?.[1] ?? "";
        break;
      }
      case "BlockQuote":
      case "ExpandableBlockQuote":
        haveBlockquote = false;
        out.push(t.at(i));
        canStartBlockquote = true;
        u16 += 1;
        skip = false;
        break;
      default:
        break;
    }
    if (!skip) {
      const length = u16 - open.offset;
      if (linkUser !== undefined) {
        raw.push({ kind: "MentionName", offset: open.offset, length, argument: String(linkUser) });
      } else raw.push({ kind, offset: open.offset, length, argument });
    }
    nested.pop();
  }
  if (haveBlockquote) {
    let kind: Kind = "BlockQuote";
    const o = top();
    if (o?.kind === "Spoiler" && o.byteOffset === t.size - 2) {
      nested.pop();
      kind = "ExpandableBlockQuote";
    }
    const q = top();
    if (q?.kind === "BlockQuote") {
      if (u16 !== q.offset) raw.push({ kind, offset: q.offset, length: u16 - q.offset, argument: "" });
      nested.pop();
    }
  }
  if (nested.length > 0) cantFindEnd(top());
  return { text: Buffer.from(out).toString("utf8"), raw };
}

/** `&lt;`, `&gt;`, `&amp;`, `&quot;` and numeric references; 0 when not one (kept as text). */
function decodeHtmlEntity(t: Bytes, pos: number): { code: number; end: number } {
  let end = pos + 1;
  let code = 0;
  if (t.at(pos + 1) === ch("#")) {
    end++;
    if (t.at(pos + 2) === ch("x")) {
      end++;
      while (isHex(t.at(end))) code = code * 16 + Number.parseInt(String.fromCharCode(t.at(end++)), 16);
    } else {
      while (isDigit(t.at(end))) code = code * 10 + t.at(end++) - 48;
    }
    if (code === 0 || code >= 0x10ffff || end - pos >= 10) return { code: 0, end: pos };
  } else {
    while (isAlpha(t.at(end))) end++;
    const name = t.str(pos + 1, end);
    const named: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"' };
    const v = named[name];
    if (v === undefined) return { code: 0, end: pos };
    code = ch(v);
  }
  return { code, end: t.at(end) === ch(";") ? end + 1 : end };
}

const HTML_TAGS = new Set([
  "a",
  "b",
  "strong",
  "i",
  "em",
  "s",
  "strike",
  "del",
  "u",
  "ins",
  "tg-spoiler",
  "tg-emoji",
  "tg-time",
  "span",
  "pre",
  "code",
  "blockquote",
]);

interface OpenTag {
  name: string;
  argument: string;
  offset: number;
  beginPos: number;
}

function parseHtml(text: string): { text: string; raw: Raw[] } {
  const t = new Bytes(text);
  const out: number[] = [];
  const raw: Raw[] = [];
  const nested: OpenTag[] = [];
  let u16 = 0;
  for (let i = 0; i < t.size; i++) {
    const c = t.at(i);
    if (c === ch("&")) {
      const { code, end } = decodeHtmlEntity(t, i);
      if (code !== 0) {
        u16 += code > 0xffff ? 2 : 1;
        out.push(...Buffer.from(String.fromCodePoint(code), "utf8"));
        i = end - 1;
        continue;
      }
    }
    if (c !== ch("<")) {
      if (isFirstUnit(c)) u16 += units(c);
      out.push(c);
      continue;
    }
    const beginPos = i++;
    if (t.at(i) !== ch("/")) {
      while (!isSpace(t.at(i)) && t.at(i) !== ch(">")) i++;
      if (t.at(i) === 0) fail(`Unclosed start tag at byte offset ${beginPos}`);
      const name = t.str(beginPos + 1, i).toLowerCase();
      if (!HTML_TAGS.has(name)) fail(`Unsupported start tag "${name}" at byte offset ${beginPos}`);
      let argument = "";
      while (t.at(i) !== ch(">")) {
        while (t.at(i) !== 0 && isSpace(t.at(i))) i++;
        if (t.at(i) === ch(">")) break;
        const attrBegin = i;
        for (;;) {
          const a = t.at(i);
          if (
            isSpace(a) ||
            a === ch("=") ||
            a === ch(">") ||
            a === ch("/") ||
            a === ch('"') ||
            a === ch("'")
          ) {
            break;
          }
          i++;
        }
        const attr = t.str(attrBegin, i);
        if (attr === "") fail(`Empty attribute name in the tag "${name}" at byte offset ${beginPos}`);
        while (t.at(i) !== 0 && isSpace(t.at(i))) i++;
        if (t.at(i) !== ch("=")) {
          if (t.at(i) === 0) fail(`Unclosed start tag "${name}" at byte offset ${beginPos}`);
          if (name === "blockquote" && attr === "expandable") argument = "1";
          continue;
        }
        i++;
        while (t.at(i) !== 0 && isSpace(t.at(i))) i++;
        if (t.at(i) === 0) fail(`Unclosed start tag "${name}" at byte offset ${beginPos}`);
        let value: string;
        if (t.at(i) !== ch("'") && t.at(i) !== ch('"')) {
          const tokenBegin = i;
          while (isAlpha(t.at(i)) || isDigit(t.at(i)) || t.at(i) === ch(".") || t.at(i) === ch("-")) i++;
          value = t.str(tokenBegin, i).toLowerCase();
          if (!isSpace(t.at(i)) && t.at(i) !== ch(">")) {
            fail(`Unexpected end of name token at byte offset ${tokenBegin}`);
          }
        } else {
          const quote = t.at(i++);
          const bytes: number[] = [];
          while (t.at(i) !== quote && t.at(i) !== 0) {
            if (t.at(i) === ch("&")) {
              const { code, end } = decodeHtmlEntity(t, i);
              if (code !== 0) {
                bytes.push(...Buffer.from(String.fromCodePoint(code), "utf8"));
                i = end;
                continue;
              }
            }
            bytes.push(t.at(i++));
          }
          if (t.at(i) === quote) i++;
          value = Buffer.from(bytes).toString("utf8");
        }
        if (t.at(i) === 0) fail(`Unclosed start tag at byte offset ${beginPos}`);
        if (name === "a" && attr === "href") argument = value;
        else if (name === "code" && attr === "class" && value.startsWith("language-"))
          argument = value.slice(9);
        else if (name === "span" && attr === "class" && value.startsWith("tg-")) argument = value.slice(3);
        else if (name === "tg-emoji" && attr === "emoji-id") argument = value;
        else if (name === "blockquote" && attr === "expandable") argument = "1";
      }
      if (name === "span" && argument !== "spoiler") {
        fail(`Tag "span" must have class "tg-spoiler" at byte offset ${beginPos}`);
      }
      nested.push({ name, argument, offset: u16, beginPos: out.length });
      continue;
    }
    // An end tag.
    const open = nested[nested.length - 1];
    if (open === undefined) fail(`Unexpected end tag at byte offset ${beginPos}`);
    while (!isSpace(t.at(i)) && t.at(i) !== ch(">")) i++;
    const endName = t.str(beginPos + 2, i).toLowerCase();
    while (isSpace(t.at(i)) && t.at(i) !== 0) i++;
    if (t.at(i) !== ch(">")) fail(`Unclosed end tag at byte offset ${beginPos}`);
    const o = open as OpenTag;
    if (endName !== "" && endName !== o.name) {
      fail(`Unmatched end tag at byte offset ${beginPos}, expected "</${o.name}>", found "</${endName}>"`);
    }
    if (u16 > o.offset) htmlEntity(o, u16 - o.offset, out, raw);
    nested.pop();
  }
  const left = nested[nested.length - 1];
  if (left !== undefined) fail(`Can't find end tag corresponding to start tag "${left.name}"`);
  for (const e of raw) if (e.kind === "Code") e.argument = "";
  return { text: Buffer.from(out).toString("utf8"), raw };
}

function htmlEntity(o: OpenTag, length: number, out: number[], raw: Raw[]): void {
  const offset = o.offset;
  const simple: Record<string, Kind> = {
    i: "Italic",
    em: "Italic",
    b: "Bold",
    strong: "Bold",
    s: "Strikethrough",
    strike: "Strikethrough",
    del: "Strikethrough",
    u: "Underline",
    ins: "Underline",
    "tg-spoiler": "Spoiler",
    span: "Spoiler",
  };
  const kind = simple[o.name];
  if (kind !== undefined) {
    raw.push({ kind, offset, length, argument: "" });
    return;
  }
  const last = raw[raw.length - 1];
  const sameSpan = last !== undefined && last.offset === offset && last.length === length;
  switch (o.name) {
    case "tg-emoji":
      if (!/^\d+$/.test(o.argument) || Number(o.argument) === 0)
        fail("Invalid custom emoji identifier specified");
      raw.push({ kind: "CustomEmoji", offset, length, argument: o.argument });
      return;
    case "a": {
      const url = o.argument === "" ? Buffer.from(out.slice(o.beginPos)).toString("utf8") : o.argument;
      linkEntity("TextUrl", offset, length, url, raw);
      return;
    }
    case "pre":
      if (sameSpan && last.kind === "Code" && last.argument !== "") last.kind = "PreCode";
      else raw.push({ kind: "Pre", offset, length, argument: "" });
      return;
    case "code":
      if (sameSpan && last.kind === "Pre" && o.argument !== "") {
        last.kind = "PreCode";
        last.argument = o.argument;
      } else raw.push({ kind: "Code", offset, length, argument: o.argument });
      return;
    case "blockquote":
      raw.push({
        kind: o.argument === "" ? "BlockQuote" : "ExpandableBlockQuote",
        offset,
        length,
        argument: "",
      });
      return;
    default:
      // tg-time: the date entity is not modelled; its text stays.
      return;
  }
}

const API_TYPE: Record<Kind, string> = {
  Bold: "bold",
  Italic: "italic",
  Underline: "underline",
  Strikethrough: "strikethrough",
  Spoiler: "spoiler",
  Code: "code",
  Pre: "pre",
  PreCode: "pre",
  TextUrl: "text_link",
  MentionName: "text_mention",
  CustomEmoji: "custom_emoji",
  BlockQuote: "blockquote",
  ExpandableBlockQuote: "expandable_blockquote",
};

function toApi(e: Raw): MessageEntity {
  const base = { type: API_TYPE[e.kind], offset: e.offset, length: e.length };
  switch (e.kind) {
    case "PreCode":
      return { ...base, language: e.argument };
    case "TextUrl":
      return { ...base, url: e.argument };
    case "MentionName":
      return { ...base, user: { id: Number(e.argument), is_bot: false, first_name: "" } };
    case "CustomEmoji":
      return { ...base, custom_emoji_id: e.argument };
    default:
      return base;
  }
}

/** Leading and trailing white space goes, as Telegram trims a message; entities follow. */
function trim(text: string, entities: MessageEntity[]): FormattedText {
  const lead = text.length - text.trimStart().length;
  const body = text.trim();
  const end = lead + body.length;
  const out: MessageEntity[] = [];
  for (const e of entities) {
    const from = Math.max(e.offset, lead);
    const to = Math.min(e.offset + e.length, end);
    if (to > from) out.push({ ...e, offset: from - lead, length: to - from });
  }
  return { text: body, entities: out };
}

/** Characters as Telegram counts a message's length (Unicode code points). */
export function textLength(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/**
 * The plain text and entities of a text or caption sent with `parse_mode` (case-insensitive;
 * empty or "none": the text as is, with `entities` given as JSON if any), trimmed. Markup
 * errors are `Bad Request: can't parse entities: ...`.
 */
export function formatText(text: string, parseMode: string, entitiesJson: string | undefined): FormattedText {
  if (Buffer.byteLength(text, "utf8") > 1 << 15) throw badRequest("text is too long");
  const mode = parseMode.toLowerCase();
  if (text !== "" && mode !== "" && mode !== "none") {
    const parse =
      mode === "markdown"
        ? parseMarkdown
        : mode === "markdownv2"
          ? parseMarkdownV2
          : mode === "html"
            ? parseHtml
            : undefined;
    if (parse === undefined) throw badRequest("unsupported parse_mode");
    let parsed: { text: string; raw: Raw[] };
    try {
      parsed = parse(text);
    } catch (err) {
      if (err instanceof EntityParseError) throw badRequest(`can't parse entities: ${err.message}`);
      throw err;
    }
    parsed.raw.sort(
      (a, b) => a.offset - b.offset || b.length - a.length || PRIORITY[a.kind] - PRIORITY[b.kind],
    );
    return trim(parsed.text, parsed.raw.map(toApi));
  }
  return trim(text, givenEntities(entitiesJson));
}

const KNOWN_TYPES = new Set([
  "mention",
  "hashtag",
  "cashtag",
  "bot_command",
  "url",
  "email",
  "phone_number",
  "bold",
  "italic",
  "underline",
  "strikethrough",
  "spoiler",
  "blockquote",
  "expandable_blockquote",
  "code",
  "pre",
  "text_link",
  "text_mention",
  "custom_emoji",
]);

/** Entities given explicitly (`entities` / `caption_entities`, a JSON array of MessageEntity). */
function givenEntities(json: string | undefined): MessageEntity[] {
  if (json === undefined || json === "") return [];
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw badRequest("can't parse entities JSON object");
  }
  if (!Array.isArray(value)) return [];
  const out: MessageEntity[] = [];
  for (const v of value) {
    if (v === null || typeof v !== "object")
      throw badRequest("can't parse MessageEntity: expected an Object");
    const e = v as Record<string, unknown>;
    for (const f of ["offset", "length"]) {
      if (typeof e[f] !== "number") throw badRequest(`can't parse MessageEntity: Can't find field "${f}"`);
    }
    if (typeof e.type !== "string") throw badRequest(`can't parse MessageEntity: Can't find field "type"`);
    if (!KNOWN_TYPES.has(e.type)) continue;
    out.push({ ...(e as object), type: e.type, offset: e.offset as number, length: e.length as number });
  }
  return out.sort((a, b) => a.offset - b.offset || b.length - a.length);
}

const isWord = (c: string) => /[\p{L}\p{N}_]/u.test(c);
const isCommandChar = (c: string | undefined) => c !== undefined && /[A-Za-z0-9_]/.test(c);

/** The bot_command entities Telegram marks in a user's text: /cmd or /cmd@botname, 1-64 characters. */
export function botCommandEntities(text: string): MessageEntity[] {
  const out: MessageEntity[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== "/") continue;
    if (i > 0) {
      const low = text.charCodeAt(i - 1);
      const prev = low >= 0xdc00 && low <= 0xdfff && i >= 2 ? text.slice(i - 2, i) : text.charAt(i - 1);
      if (isWord(prev) || prev === "/" || prev === "<" || prev === ">") continue;
    }
    let j = i + 1;
    while (isCommandChar(text[j])) j++;
    const size = j - i - 1;
    if (size < 1 || size > 64) {
      i = j - 1;
      continue;
    }
    if (text[j] === "@") {
      let k = j + 1;
      while (isCommandChar(text[k])) k++;
      const m = k - j - 1;
      j = k;
      if (m < 3 || m > 32) {
        i = j - 1;
        continue;
      }
    }
    const next = j < text.length ? String.fromCodePoint(text.codePointAt(j) ?? 0) : "";
    if (next !== "" && (isWord(next) || next === "/" || next === "<" || next === ">")) {
      i = j - 1;
      continue;
    }
    out.push({ type: "bot_command", offset: i, length: j - i });
    i = j - 1;
  }
  return out;
}
