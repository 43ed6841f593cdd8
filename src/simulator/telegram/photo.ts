import { createHash } from "node:crypto";
import { badRequest } from "./apiError.js";

/**
 * An uploaded photo as Telegram sees it: the image's size read from its header (PNG, JPEG,
 * GIF, WebP; anything else fails as Telegram's image processing does), the PhotoSize list the
 * API returns (Telegram keeps scaled copies of at most 90, 320, 800, 1280 and 2560 pixels on
 * the long side, each smaller than the original, plus the original up to 2560), and file ids
 * derived from the bytes so a photo sent twice has the same ids.
 */

export interface Dimensions {
  width: number;
  height: number;
}

const be16 = (b: Buffer, i: number) => ((b[i] ?? 0) << 8) | (b[i + 1] ?? 0);
const le16 = (b: Buffer, i: number) => (b[i] ?? 0) | ((b[i + 1] ?? 0) << 8);
const le24 = (b: Buffer, i: number) => le16(b, i) | ((b[i + 2] ?? 0) << 16);

function jpegSize(b: Buffer): Dimensions | undefined {
  let i = 2;
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) return undefined;
    const marker = b[i + 1] ?? 0;
    if (marker === 0xff) {
      i++;
      continue;
    }
    const sof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (sof) return { height: be16(b, i + 5), width: be16(b, i + 7) };
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      i += 2;
      continue;
    }
    i += 2 + be16(b, i + 2);
  }
  return undefined;
}

function webpSize(b: Buffer): Dimensions | undefined {
  const chunk = b.toString("latin1", 12, 16);
  if (chunk === "VP8X") return { width: le24(b, 24) + 1, height: le24(b, 27) + 1 };
  if (chunk === "VP8L") {
    const bits = (b[21] ?? 0) | ((b[22] ?? 0) << 8) | ((b[23] ?? 0) << 16) | ((b[24] ?? 0) << 24);
    return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
  }
  if (chunk === "VP8 ") return { width: le16(b, 26) & 0x3fff, height: le16(b, 28) & 0x3fff };
  return undefined;
}

/** The image's pixel size, or undefined when the bytes are not an image Telegram reads. */
export function imageSize(b: Buffer): Dimensions | undefined {
  if (b.length >= 24 && b.readUInt32BE(0) === 0x89504e47 && b.toString("latin1", 12, 16) === "IHDR") {
    return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
  }
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8) return jpegSize(b);
  if (b.length >= 10 && /^GIF8[79]a$/.test(b.toString("latin1", 0, 6))) {
    return { width: le16(b, 6), height: le16(b, 8) };
  }
  if (b.length >= 30 && b.toString("latin1", 0, 4) === "RIFF" && b.toString("latin1", 8, 12) === "WEBP") {
    return webpSize(b);
  }
  return undefined;
}

/** Checks the photo as Telegram does: an image, width + height at most 10000, sides at most 1:20. */
export function checkPhoto(bytes: Buffer): Dimensions {
  const d = imageSize(bytes);
  if (d === undefined || d.width === 0 || d.height === 0) throw badRequest("IMAGE_PROCESS_FAILED");
  const ratio = Math.max(d.width, d.height) / Math.min(d.width, d.height);
  if (d.width + d.height > 10000 || ratio > 20) throw badRequest("PHOTO_INVALID_DIMENSIONS");
  return d;
}

export interface PhotoSize {
  file_id: string;
  file_unique_id: string;
  file_size: number;
  width: number;
  height: number;
}

/** Long sides of the scaled copies below the largest (which is the original, up to 2560). */
const LIMITS = [90, 320, 800, 1280];

export function sha256(bytes: Buffer): string {
  return createHash("sha256").update(bytes).digest("hex");
}

function fileIds(hash: string, n: number): { file_id: string; file_unique_id: string } {
  const h = Buffer.from(hash, "hex");
  return {
    file_id: `AgACAgIAAxkBAAI${h.subarray(0, 24).toString("base64url")}${n}`,
    file_unique_id: `AQAD${h.subarray(24, 32).toString("base64url")}${n}`,
  };
}

/** The PhotoSize list of a message, smallest first; the last is the one kept in full. */
export function photoSizes(hash: string, size: number, d: Dimensions): PhotoSize[] {
  const long = Math.max(d.width, d.height);
  const scaled = (limit: number): Dimensions => {
    const k = Math.min(1, limit / long);
    return { width: Math.max(1, Math.round(d.width * k)), height: Math.max(1, Math.round(d.height * k)) };
  };
  const out: PhotoSize[] = [];
  for (const limit of LIMITS) {
    if (limit >= long) break;
    const s = scaled(limit);
    const area = (s.width * s.height) / (d.width * d.height);
    out.push({ ...fileIds(hash, out.length), file_size: Math.max(1, Math.round(size * area)), ...s });
  }
  const top = long > 2560 ? scaled(2560) : d;
  const area = (top.width * top.height) / (d.width * d.height);
  out.push({ ...fileIds(hash, out.length), file_size: Math.max(1, Math.round(size * area)), ...top });
  return out;
}
