/**
 * What a terminal shows after receiving `output`: its scrollback and screen as lines of text,
 * after carriage returns, erases, cursor movement, autowrap and saved/restored cursor positions.
 * As in a real terminal, a saved position is a row of the screen, so restoring it after the
 * output has scrolled lands on another line. Colours and other modes are ignored.
 */
export interface Screen {
  /** Scrollback and screen, trailing spaces and trailing empty lines removed. */
  lines: string[];
  /** Where the cursor ended: its column and the text of its line (a fresh line: 0 and ""). */
  cursor: { col: number; line: string };
}

export function renderScreen(output: string, opts: { cols?: number; rows?: number } = {}): Screen {
  const cols = opts.cols ?? 120;
  const rows = opts.rows ?? 24;
  const buf: string[][] = Array.from({ length: rows }, () => []);
  let top = 0;
  let row = 0;
  let col = 0;
  let saved = { row: 0, col: 0 };
  let wrap = true;
  const lineAt = (r: number) => buf[r] as string[];
  const down = () => {
    if (row - top === rows - 1) {
      buf.push([]);
      top++;
    }
    row++;
  };
  const put = (ch: string) => {
    if (col >= cols) {
      if (wrap) {
        down();
        col = 0;
      } else col = cols - 1;
    }
    const line = lineAt(row);
    while (line.length < col) line.push(" ");
    line[col] = ch;
    col++;
  };
  const chars = [...output];
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i] as string;
    if (ch === "\x1b") {
      const next = chars[i + 1];
      if (next === "7") {
        saved = { row: row - top, col };
        i++;
      } else if (next === "8") {
        row = top + saved.row;
        col = saved.col;
        i++;
      } else if (next === "[") {
        let j = i + 2;
        let params = "";
        while (j < chars.length && !/[@-~]/.test(chars[j] as string)) params += chars[j++];
        const final = chars[j];
        i = j;
        const private_ = params.startsWith("?");
        const nums = (private_ ? params.slice(1) : params)
          .split(";")
          .map((p) => (p === "" ? undefined : Number(p)));
        const n = nums[0] ?? 1;
        if (private_) {
          if (nums[0] === 7) wrap = final === "h";
          continue;
        }
        const line = lineAt(row);
        switch (final) {
          case "K": {
            const mode = nums[0] ?? 0;
            if (mode === 0) line.length = Math.min(line.length, col);
            else if (mode === 1) for (let k = 0; k <= col && k < line.length; k++) line[k] = " ";
            else line.length = 0;
            break;
          }
          case "J":
            line.length = Math.min(line.length, col);
            for (let r = row + 1; r < buf.length; r++) lineAt(r).length = 0;
            break;
          case "A":
            row = Math.max(top, row - n);
            break;
          case "B":
            row = Math.min(top + rows - 1, row + n);
            break;
          case "C":
            col = Math.min(cols - 1, col + n);
            break;
          case "D":
            col = Math.max(0, col - n);
            break;
          case "G":
            col = Math.max(0, n - 1);
            break;
          case "H":
          case "f":
            row = top + Math.max(0, (nums[0] ?? 1) - 1);
            col = Math.max(0, (nums[1] ?? 1) - 1);
            break;
          default:
            break; // colours (m) and anything else: no effect on the text
        }
      }
      continue;
    }
    if (ch === "\r") col = 0;
    else if (ch === "\n") down();
    else if (ch === "\b") col = Math.max(0, col - 1);
    else if (ch === "\t") col = Math.min(cols - 1, (Math.floor(col / 8) + 1) * 8);
    else if (ch >= " ") put(ch);
  }
  const text = buf.map((l) => l.join("").trimEnd());
  const cursor = { col, line: text[row] ?? "" };
  while (text.length > 0 && text[text.length - 1] === "") text.pop();
  return { lines: text, cursor };
}
