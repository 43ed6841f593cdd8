import { Frame } from "../../src/core/frame.js";
import { writeFrame } from "../../src/data/store/index.js";

/**
 * Child process for the interrupted-write test: builds a large deterministic frame and writes
 * it over `file`; the parent kills it with SIGKILL part-way through the write. Prints `writing`
 * when the write starts and `done` if it ever finishes.
 * Usage: node storeWriteChild.js <file> <rows> <columns>
 */
const [file, rowsText, colsText] = process.argv.slice(2);
if (file === undefined) throw new Error("usage: store-write-child <file> <rows> <columns>");
const rows = Number(rowsText ?? 1_000_000);
const cols = Number(colsText ?? 20);
const time = new Float64Array(rows);
for (let i = 0; i < rows; i++) time[i] = Date.UTC(2020, 0, 1) + i * 60_000;
const frame = new Frame(time);
for (let j = 0; j < cols; j++) {
  const values = new Float64Array(rows);
  for (let i = 0; i < rows; i++) values[i] = i * 0.001 + j;
  frame.set(`c${j}`, values);
}
process.stdout.write("writing\n");
await writeFrame(file, frame);
process.stdout.write("done\n");
