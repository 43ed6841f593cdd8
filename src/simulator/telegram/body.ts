import type { IncomingMessage } from "node:http";
import { BotApiError, badRequest } from "./apiError.js";

/**
 * A call's parameters as the Bot API server sees them: strings by name (query string first,
 * then the body: JSON, urlencoded or multipart/form-data) and uploaded files by form field.
 * JSON values that are not strings arrive as their JSON text, as Telegram keeps them, so
 * `"chat_id": 42` and `chat_id=42` read the same and a reply_markup object is parsed later.
 */
export interface UploadedFile {
  field: string;
  filename: string;
  bytes: Buffer;
}

export interface CallArgs {
  args: Map<string, string>;
  files: Map<string, UploadedFile>;
}

/** Telegram's upload limit for bots. */
const MAX_BODY = 50 * 1024 * 1024;

export function readBody(req: IncomingMessage): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? "0");
  if (declared > MAX_BODY) {
    return Promise.reject(new BotApiError(413, `Request Entity Too Large: content length is ${declared}`));
  }
  return new Promise((done, fail) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        fail(new BotApiError(413, `Request Entity Too Large: content length is ${size}`));
        req.destroy();
      } else chunks.push(c);
    });
    req.on("end", () => done(Buffer.concat(chunks)));
    req.on("error", fail);
  });
}

function put(args: Map<string, string>, key: string, value: string): void {
  // The server reads the first value a name was given.
  if (!args.has(key)) args.set(key, value);
}

function parseJson(body: Buffer, args: Map<string, string>): void {
  const text = body.toString("utf8").trim();
  if (text === "") return;
  if (!text.startsWith("{")) throw badRequest("JSON object expected");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw badRequest("can't parse JSON object");
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw badRequest("JSON object expected");
  }
  for (const [k, v] of Object.entries(value)) put(args, k, typeof v === "string" ? v : JSON.stringify(v));
}

/** `name="x"; filename=y.png` parameters of a Content-Disposition value (quoted or bare). */
function dispositionParams(value: string): Map<string, string> {
  const out = new Map<string, string>();
  const re = /;\s*([^=;\s]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))/g;
  for (let m = re.exec(value); m !== null; m = re.exec(value)) {
    const name = (m[1] ?? "").toLowerCase();
    const quoted = m[2];
    out.set(name, quoted !== undefined ? quoted.replace(/\\(.)/g, "$1") : (m[3] ?? "").trim());
  }
  return out;
}

function parseMultipart(body: Buffer, contentType: string, out: CallArgs): void {
  const bm = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  const boundary = bm?.[1] ?? bm?.[2];
  if (boundary === undefined || boundary === "") throw badRequest("boundary not found");
  const delim = Buffer.from(`--${boundary}`);
  const next = Buffer.from(`\r\n--${boundary}`);
  let pos = body.indexOf(delim);
  if (pos < 0) throw badRequest("unexpected end of request content");
  for (;;) {
    pos += delim.length;
    if (body[pos] === 0x2d && body[pos + 1] === 0x2d) return; // the closing --boundary--
    if (body[pos] === 0x0d && body[pos + 1] === 0x0a) pos += 2;
    const headerEnd = body.indexOf("\r\n\r\n", pos);
    if (headerEnd < 0) throw badRequest("can't parse form data headers");
    let name: string | undefined;
    let filename: string | undefined;
    for (const line of body.toString("utf8", pos, headerEnd).split("\r\n")) {
      const colon = line.indexOf(":");
      if (colon < 0) continue;
      if (line.slice(0, colon).trim().toLowerCase() !== "content-disposition") continue;
      const params = dispositionParams(line.slice(colon + 1));
      name = params.get("name");
      filename = params.get("filename");
    }
    const end = body.indexOf(next, headerEnd + 4);
    if (end < 0) throw badRequest("unexpected end of request content");
    if (name === undefined || name === "") throw badRequest("field name in multipart/form-data not found");
    const content = body.subarray(headerEnd + 4, end);
    if (filename !== undefined) {
      if (!out.files.has(name)) out.files.set(name, { field: name, filename, bytes: Buffer.from(content) });
    } else put(out.args, name, content.toString("utf8"));
    pos = end + 2;
  }
}

export function parseCallArgs(url: URL, contentType: string | undefined, body: Buffer): CallArgs {
  const out: CallArgs = { args: new Map(), files: new Map() };
  for (const [k, v] of url.searchParams) put(out.args, k, v);
  const type = (contentType ?? "").toLowerCase();
  if (body.length === 0) return out;
  if (type.includes("multipart/form-data")) parseMultipart(body, contentType ?? "", out);
  else if (type.includes("application/json")) parseJson(body, out.args);
  else if (type.includes("application/x-www-form-urlencoded")) {
    for (const [k, v] of new URLSearchParams(body.toString("utf8"))) put(out.args, k, v);
  }
  return out;
}
