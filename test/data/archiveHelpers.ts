import { execFileSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve, sep } from "node:path";
import { sha256Hex } from "../../src/data/archive/checksum.js";
import { writeZip } from "../../src/data/archive/zip.js";

/** Shared by the archive tests: real sample data, an independent CSV reader, a local archive server. */

export const SAMPLE = resolve("sample/binance-vision");
export const SHARED = resolve("../shared/data/binance-vision");
export const SPOT_DIR = "data/spot/monthly/klines/BTCUSDT/1m";
export const UM_DIR = "data/futures/um/monthly/klines/ETHUSDT/1m";

export function spotZip(root: string, month: string): string {
  return join(root, SPOT_DIR, `BTCUSDT-1m-${month}.zip`);
}

export function umZip(root: string, month: string): string {
  return join(root, UM_DIR, `ETHUSDT-1m-${month}.zip`);
}

/** The CSV text inside a zip, read by Info-ZIP's `unzip`, not by our reader. */
export function unzipText(zip: string): string {
  return execFileSync("unzip", ["-p", zip], { maxBuffer: 1 << 30, encoding: "latin1" });
}

/** Rows of a Binance kline CSV parsed the plain way: split, then `Number()` on every field. */
export function referenceRows(csv: string): number[][] {
  const lines = csv.split("\n").filter((l) => l.trim() !== "");
  const data = /^[0-9]/.test(lines[0] ?? "") ? lines : lines.slice(1);
  return data.map((l) => l.replace(/\r$/, "").split(",").map(Number));
}

const made = new Set<string>();

/** A fresh temporary folder, removed by `removeTempDirs` (each test file calls it in afterAll). */
export function tempDir(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `itb-archive-test-${label}-`));
  made.add(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
  made.clear();
}

/** Every file below `dir`, relative, sorted: to prove nothing (not even a temp file) appeared. */
export function listTree(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name).slice(dir.length + 1))
    .sort();
}

/** Copies part of the sample into a fresh folder (same layout) for tests that damage or add files. */
export function copyArchive(from: string, rels: readonly string[], label = "archive"): string {
  const root = tempDir(label);
  for (const rel of rels) {
    const target = join(root, rel);
    mkdirSync(dirname(target), { recursive: true });
    cpSync(join(from, rel), target);
  }
  return root;
}

/** Writes `X.zip` holding `name` with `csv`, and its `X.zip.CHECKSUM`, as Binance publishes them. */
export function publishZip(zipPath: string, csvName: string, csv: string | Uint8Array): void {
  mkdirSync(dirname(zipPath), { recursive: true });
  const bytes = writeZip(csvName, typeof csv === "string" ? Buffer.from(csv, "latin1") : csv);
  writeFileSync(zipPath, bytes);
  const name = zipPath.slice(zipPath.lastIndexOf(sep) + 1);
  writeFileSync(`${zipPath}.CHECKSUM`, `${sha256Hex(bytes)}  ${name}\n`);
}

export interface ArchiveServer {
  url: string;
  /** Paths requested, with method, in order. */
  requests: string[];
  /** Answers the GET requests held by `hold` (and those that come later). */
  release(): void;
  close(): Promise<void>;
}

/**
 * A real HTTP server on 127.0.0.1 serving `root` like data.binance.vision: 200 with the file,
 * 404 when absent. `failFirst` makes the first N requests of each path answer with that status;
 * `hold` keeps GET requests of matching paths waiting until `release()` (a download in flight).
 */
export async function serveArchive(
  root: string,
  opts: { failFirst?: number; status?: number; hold?: RegExp } = {},
): Promise<ArchiveServer> {
  const requests: string[] = [];
  const seen = new Map<string, number>();
  let released = false;
  const held: (() => void)[] = [];
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    requests.push(`${req.method} ${path}`);
    if (opts.hold?.test(path) && req.method === "GET" && !released) {
      held.push(() => answer(req, res, path));
      return;
    }
    answer(req, res, path);
  });
  const answer = (req: IncomingMessage, res: ServerResponse, path: string): void => {
    const count = (seen.get(path) ?? 0) + 1;
    seen.set(path, count);
    if (opts.failFirst !== undefined && count <= opts.failFirst) {
      res.writeHead(opts.status ?? 503).end("try later");
      return;
    }
    const file = join(root, path);
    if (!file.startsWith(root) || !existsSync(file) || path.endsWith("/")) {
      res.writeHead(404, { "content-type": "application/xml" }).end("<Error><Code>NoSuchKey</Code></Error>");
      return;
    }
    const body = readFileSync(file);
    res.writeHead(200, { "content-type": "application/zip", "content-length": body.length });
    res.end(req.method === "HEAD" ? undefined : body);
  };
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    release() {
      released = true;
      for (const h of held.splice(0)) h();
    },
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

/** Number of cells that differ between two frames (times included; Object.is, so NaN equals NaN), or -1 if shapes differ. */
export function frameDiff(
  a: import("../../src/core/frame.js").Frame,
  b: import("../../src/core/frame.js").Frame,
): number {
  if (a.length !== b.length || a.columnNames.join() !== b.columnNames.join()) return -1;
  let diff = 0;
  const pairs: [Float64Array, Float64Array][] = [
    [a.time, b.time],
    ...a.columnNames.map((c) => [a.get(c), b.get(c)] as [Float64Array, Float64Array]),
  ];
  for (const [x, y] of pairs) for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i])) diff++;
  return diff;
}

/** Flips bits of `count` bytes from `at`: damage that keeps the length. */
export function flipBytes(bytes: Uint8Array, at: number, count = 1, mask = 0xff): void {
  for (let k = at; k < at + count; k++) bytes[k] = (bytes[k] as number) ^ mask;
}
