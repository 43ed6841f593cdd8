/**
 * The one writer of stderr's last line. A progress bar or an open pipeline stage is
 * *transient*: drawn in place and redrawn when it changes. Everything else (log lines, finished
 * stage lines, a bar's final line) is *permanent*: the transient line is cleared, the text
 * written on lines of its own, and the transient line drawn again below it. So a log line never
 * lands inside a bar, and the cursor is always either at the end of the transient line or at
 * the start of a fresh one. No cursor position is saved and restored: a saved position is a
 * screen row, which is wrong once the output has scrolled.
 */
export interface StatusLine {
  /** Permanent text: one or more whole lines (a missing final newline is added). */
  print(text: string): void;
  /** Replaces the transient line (several lines make a block, drawn and erased whole); "" removes it. */
  show(line: string): void;
  /** The transient line as last set (uncut). */
  readonly current: string;
  /** Whether the transient line is drawn at all (false off a terminal). */
  readonly interactive: boolean;
  /** Columns a transient line may use. */
  readonly width: number;
}

/** Erases the cursor's line and returns to its first column. */
const CLEAR = "\r\x1b[2K";
const CURSOR_UP = "\x1b[1A";
const CLEAR_LINE = "\x1b[2K";

/** The width a transient line may use: one column short of the terminal, so it never wraps. */
function usableWidth(stream: NodeJS.WriteStream): number {
  const columns = stream.columns;
  return Math.max(20, (typeof columns === "number" && columns > 0 ? columns : 80) - 1);
}

/** `text` cut to `width` characters (code points: the bars' block characters are one column). */
export function fitWidth(text: string, width: number): string {
  const chars = [...text];
  return chars.length <= width ? text : chars.slice(0, width).join("");
}

function withNewline(text: string): string {
  return text.endsWith("\n") ? text : `${text}\n`;
}

/** On a terminal: the transient line is drawn with a carriage return and an erase-line. */
export class TerminalLine implements StatusLine {
  readonly interactive = true;
  private wanted = "";
  /** What is on the screen now (cut to the width it had then). */
  private drawn = "";

  constructor(private readonly stream: NodeJS.WriteStream) {}

  get current(): string {
    return this.wanted;
  }

  get width(): number {
    return usableWidth(this.stream);
  }

  print(text: string): void {
    // One write: the erase, the permanent lines, and the transient line again.
    const redraw = this.fit(this.wanted);
    this.stream.write(`${this.erase()}${withNewline(text)}${redraw}`);
    this.drawn = redraw;
  }

  show(line: string): void {
    this.wanted = line;
    const next = this.fit(line);
    if (next === this.drawn) return;
    this.stream.write(`${this.erase()}${next}`);
    this.drawn = next;
  }

  /** Erases what is drawn: the cursor's line, and the lines above it a multi-line block took. */
  private erase(): string {
    if (this.drawn === "") return "";
    const extra = this.drawn.split("\n").length - 1;
    return CLEAR + `${CURSOR_UP}${CLEAR_LINE}`.repeat(extra);
  }

  /** Each line cut to the width; a transient text of several lines (a live table) stays a block. */
  private fit(line: string): string {
    return line === ""
      ? ""
      : line
          .split("\n")
          .map((l) => fitWidth(l, this.width))
          .join("\n");
  }
}

/** Off a terminal: permanent text only; transient lines are remembered, never drawn. */
export class PlainLine implements StatusLine {
  readonly interactive = false;
  readonly width = 120;
  current = "";

  constructor(private readonly stream: NodeJS.WritableStream) {}

  print(text: string): void {
    this.stream.write(withNewline(text));
  }

  show(line: string): void {
    this.current = line;
  }
}

let stderrTerminal: TerminalLine | undefined;

/**
 * stderr's status line: one per process on a terminal, since logs, bars and stage lines must
 * share it to keep out of each other's way; a plain writer otherwise.
 */
export function stderrLine(): StatusLine {
  if (process.stderr.isTTY !== true) return new PlainLine(process.stderr);
  stderrTerminal ??= new TerminalLine(process.stderr);
  return stderrTerminal;
}
