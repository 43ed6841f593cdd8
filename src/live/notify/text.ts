/** Splits a text into parts of at most `limit` UTF-16 code units, at line breaks where it can. */
export function splitMessage(text: string, limit: number): string[] {
  if (text.length <= limit) return [text];
  const parts: string[] = [];
  let rest = text;
  while (rest.length > limit) {
    let cut = rest.lastIndexOf("\n", limit);
    if (cut <= 0) cut = rest.lastIndexOf(" ", limit);
    if (cut <= 0) cut = limit;
    const code = rest.charCodeAt(cut - 1);
    if (code >= 0xd800 && code <= 0xdbff) cut--; // never split a surrogate pair
    parts.push(rest.slice(0, cut));
    rest = rest.slice(rest[cut] === "\n" || rest[cut] === " " ? cut + 1 : cut);
  }
  if (rest !== "") parts.push(rest);
  return parts;
}
