/**
 * A text/event-stream parser (the WHATWG rules the pages need): lines end with CRLF, LF or CR,
 * possibly split across chunks; `event:` names the event, `data:` lines are joined with "\n", a
 * blank line dispatches, lines starting with ":" are comments (the server's pings). `id:` and
 * `retry:` are not used by the API and are ignored.
 */

export interface SseEvent {
  event: string;
  data: string;
}

export class SseParser {
  private buffer = "";
  private name = "";
  private data: string[] = [];

  /** Feeds the next piece of the stream; returns the events it completed, in order. */
  push(text: string): SseEvent[] {
    this.buffer += text;
    const out: SseEvent[] = [];
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buffer);
      if (m === null) break;
      // a CR at the end may be the first half of a CRLF split across two pieces
      if (m[0] === "\r" && m.index === this.buffer.length - 1) break;
      const line = this.buffer.slice(0, m.index);
      this.buffer = this.buffer.slice(m.index + m[0].length);
      const e = this.line(line);
      if (e !== undefined) out.push(e);
    }
    return out;
  }

  private line(line: string): SseEvent | undefined {
    if (line === "") {
      const e =
        this.data.length > 0 ? { event: this.name || "message", data: this.data.join("\n") } : undefined;
      this.name = "";
      this.data = [];
      return e;
    }
    if (line.startsWith(":")) return undefined;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") this.name = value;
    else if (field === "data") this.data.push(value);
    return undefined;
  }
}
