import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";

/**
 * "A run's outputs equal a local run's": the one comparison used by the queue bench and the
 * tests of the distributed pipeline and of az:// storage. Two data folders' files are compared
 * byte for byte, except for what legitimately differs between them, masked in the JSON and
 * HTML files: the folders' paths (and mirrors of an az:// folder, which downloaded files name),
 * the markets' config hashes (they cover data_folder), times the run wrote (ISO times at or
 * after `since`, file modification times) and the model set ids made of those times.
 * Manifests and locks under `.itb` are left out: they hold times and durations by design.
 */

/** Every output file under `root`, relative to it, sorted. */
export function outputFiles(root: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(root, { recursive: true, withFileTypes: true })) {
    const rel = relative(root, join(e.parentPath, e.name));
    if (e.isFile() && !rel.split("/").includes(".itb")) out.push(rel);
  }
  return out.sort();
}

/** A folder's output files by relative path. */
export function readOutputs(root: string): Map<string, Buffer> {
  return new Map(outputFiles(root).map((f) => [f, readFileSync(join(root, f))]));
}

/** The config hashes named in the JSON files. */
export function configHashesIn(files: Map<string, Buffer>): string[] {
  const out = new Set<string>();
  for (const [f, bytes] of files) {
    if (!f.endsWith(".json")) continue;
    for (const m of bytes.toString("utf8").matchAll(/"config_?[hH]ash":\s*"([0-9a-f]{64})"/g)) {
      out.add(m[1] as string);
    }
  }
  return [...out];
}

/** A file's content with the legitimate differences masked (tables and models as they are). */
export function maskedOutput(
  file: string,
  bytes: Buffer,
  roots: readonly string[],
  hashes: readonly string[],
  since: number,
): string {
  if (!/\.(json|html)$/.test(file)) return bytes.toString("base64");
  let text = bytes.toString("utf8");
  for (const r of roots) text = text.split(r).join("<ROOT>");
  for (const h of hashes) text = text.split(h).join("<HASH>");
  text = text.replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g, (t) =>
    Date.parse(t) >= since ? "<NOW>" : t,
  );
  // A promoted model set's id: its time and a random suffix.
  text = text.replace(/<NOW>\/[0-9a-f]{8}/g, "<SET>");
  return text.replace(/"mtime_ms":\s*[\d.]+/g, '"mtime_ms":0');
}

/** SHA-256 of each output file of `root`, masked as above (`alsoRoots`: other paths to mask). */
export function outputHashes(
  root: string,
  since: number,
  alsoRoots: readonly string[] = [],
): Map<string, string> {
  const files = readOutputs(root);
  const hashes = configHashesIn(files);
  const out = new Map<string, string>();
  for (const [f, bytes] of files) {
    const masked = maskedOutput(f, bytes, [root, ...alsoRoots], hashes, since);
    out.set(f, createHash("sha256").update(masked).digest("hex"));
  }
  return out;
}

/** The files that differ between two hash maps (present in one only, or with other content). */
export function differingOutputs(a: Map<string, string>, b: Map<string, string>): string[] {
  const names = new Set([...a.keys(), ...b.keys()]);
  return [...names].filter((f) => a.get(f) !== b.get(f)).sort();
}
