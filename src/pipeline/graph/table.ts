/**
 * Plain-text layout that fits a width (the summary table: 120 columns, so a terminal that wide
 * shows it without wrapping lines into each other).
 */

const GAP = "  ";

const width = (s: string) => [...s].length;

/**
 * A cell's pieces that may go onto lines of their own: the items of a list "a, b, c" and a
 * remark in parentheses ("10.21 %", "(holdout 3.20 %)").
 */
function pieces(cell: string): string[] {
  return cell.split(/(?<=,) | (?=\()/);
}

/** `cell` on lines of at most `limit` characters, broken only between its pieces. */
function wrapCell(cell: string, limit: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const piece of pieces(cell)) {
    if (line === "") line = piece;
    else if (width(line) + 1 + width(piece) <= limit) line = `${line} ${piece}`;
    else {
      lines.push(line);
      line = piece;
    }
  }
  lines.push(line);
  return lines;
}

/**
 * Columns separated by two spaces, padded to their widest cell (the last is not padded). While
 * a line would be wider than `maxWidth`, the column with the most room to give has its cells
 * broken between list items (or before a remark in parentheses) onto continuation lines; a table that cannot be narrowed that way
 * stays as wide as it must.
 */
export function formatTable(rows: readonly (readonly string[])[], maxWidth: number): string[] {
  const columns = Math.max(0, ...rows.map((r) => r.length));
  const natural = Array.from({ length: columns }, (_, j) => Math.max(...rows.map((r) => width(r[j] ?? ""))));
  const least = Array.from({ length: columns }, (_, j) =>
    Math.max(...rows.flatMap((r) => pieces(r[j] ?? "").map(width))),
  );
  const limits = [...natural];
  const total = () => limits.reduce((a, b) => a + b, 0) + GAP.length * (columns - 1);
  while (total() > maxWidth) {
    let j = -1;
    for (let k = 0; k < columns; k++) {
      if (
        (limits[k] as number) - (least[k] as number) >
        (j < 0 ? 0 : (limits[j] as number) - (least[j] as number))
      ) {
        j = k;
      }
    }
    if (j < 0) break;
    const wanted = Math.max(least[j] as number, (limits[j] as number) - (total() - maxWidth));
    // The widest line the cells wrap to at that limit: the column is exactly that wide.
    limits[j] = Math.max(...rows.flatMap((r) => wrapCell(r[j] ?? "", wanted).map(width)));
  }
  const out: string[] = [];
  for (const row of rows) {
    const cells = Array.from({ length: columns }, (_, j) => wrapCell(row[j] ?? "", limits[j] as number));
    const height = Math.max(...cells.map((c) => c.length));
    for (let i = 0; i < height; i++) {
      const line = cells
        .map((c, j) => (j === columns - 1 ? (c[i] ?? "") : (c[i] ?? "").padEnd(limits[j] as number)))
        .join(GAP);
      out.push(line.trimEnd());
    }
  }
  return out;
}

/**
 * `text` broken between words into lines of at most `maxWidth` (a word longer than that keeps
 * its line); continuation lines are indented by `indent` more than the line they continue.
 */
export function wrapText(text: string, maxWidth: number, indent = "  "): string[] {
  const out: string[] = [];
  for (const paragraph of text.split("\n")) {
    const lead = paragraph.slice(0, paragraph.length - paragraph.trimStart().length);
    const [first = "", ...words] = paragraph.trim().split(/ +/);
    let line = `${lead}${first}`;
    for (const word of words) {
      if (width(line) + 1 + width(word) <= maxWidth) line = `${line} ${word}`;
      else {
        out.push(line);
        line = `${lead}${indent}${word}`;
      }
    }
    out.push(line);
  }
  return out;
}
