/**
 * Splitting of long texts into Telegram messages (4096 characters at most, counted in UTF-16
 * code units as Telegram and JavaScript count them).
 */

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/** Pieces of one line, each ≤ limit: cut at the last space that fits (dropped), else hard. */
function splitLine(line: string, limit: number): string[] {
  const pieces: string[] = [];
  let rest = line;
  while (rest.length > limit) {
    const space = rest.lastIndexOf(" ", limit);
    if (space > 0) {
      pieces.push(rest.slice(0, space));
      rest = rest.slice(space + 1);
    } else {
      // Never between the two halves of a surrogate pair.
      const cut = isHighSurrogate(rest.charCodeAt(limit - 1)) && limit > 1 ? limit - 1 : limit;
      pieces.push(rest.slice(0, cut));
      rest = rest.slice(cut);
    }
  }
  pieces.push(rest);
  return pieces;
}

/**
 * `text` as messages of at most `limit` UTF-16 code units: whole lines packed greedily, cut at
 * line breaks (the break at a cut is dropped). A line longer than the limit starts a new
 * message and is cut at its last space that fits (the space dropped), else hard, never inside
 * a surrogate pair. Messages that would hold only white space (blank lines at a cut) are
 * dropped, so an empty text gives none. Entities must not span lines for the pieces to parse;
 * itb's messages keep each one within its line.
 */
export function splitMessage(text: string, limit = 4096): string[] {
  if (!(Number.isInteger(limit) && limit >= 2)) {
    throw new RangeError(`splitMessage: the limit must be an integer of at least 2, got ${limit}`);
  }
  const out: string[] = [];
  const push = (chunk: string) => {
    if (chunk.trim() !== "") out.push(chunk);
  };
  if (text.length <= limit) {
    push(text);
    return out;
  }
  let current: string | undefined;
  for (const line of text.split("\n")) {
    if (current !== undefined && current.length + 1 + line.length <= limit) {
      current += `\n${line}`;
      continue;
    }
    if (current !== undefined) push(current);
    const pieces = splitLine(line, limit);
    current = pieces.pop();
    for (const piece of pieces) push(piece);
  }
  if (current !== undefined) push(current);
  return out;
}
