import { createHash, randomBytes } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { BlobServiceClient } from "@azure/storage-blob";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { storageCredentials } from "../../src/config/index.js";
import { ItbError, UsageError } from "../../src/core/errors.js";
import { BlobStorage, parseAzUrl } from "../../src/data/storage/blob.js";
import { type Mirror, openMirror } from "../../src/data/storage/mirror.js";
import { LocalStorage, type Storage } from "../../src/data/storage/storage.js";
import { type Azurite, startAzurite } from "../helpers/azurite.js";
import { freePort } from "../helpers/freePort.js";

/**
 * The storage port against Azurite (Azure Blob Storage's emulator, started here) and a local
 * folder: byte-exact round trips, atomic publication of a block blob (a reader during a staged
 * upload sees the old content whole), the mirror's cache (an unchanged blob is not downloaded
 * again, a changed one is), folders published and pulled as a whole, mtimes that survive the
 * trip to another machine's cache, and the errors a user sees.
 */

let azurite: Azurite;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "itb-blob-"));
  azurite = await startAzurite();
  await azurite.container("roundtrip");
  await azurite.container("mirror");
}, 60_000);

afterAll(async () => {
  await azurite?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const sha = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

function file(name: string, bytes: Buffer, mtimeMs?: number): string {
  const p = join(dir, name);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, bytes);
  if (mtimeMs !== undefined) utimesSync(p, mtimeMs / 1000, mtimeMs / 1000);
  return p;
}

const stores: [string, () => Storage][] = [
  // 64 KiB blocks: the large file below is staged in several blocks and committed.
  [
    "Azure Blob Storage (Azurite)",
    () =>
      new BlobStorage(
        { container: "roundtrip", prefix: "data/v1" },
        { connectionString: azurite.connectionString },
        { blockBytes: 64 << 10 },
      ),
  ],
  ["a local folder", () => new LocalStorage(join(dir, "local-store"))],
];

describe.each(stores)("the storage port on %s", (_name, make) => {
  it("round-trips files byte for byte with their mtime, lists by prefix, replaces and deletes", async () => {
    const s = make();
    const t = Date.UTC(2023, 2, 1, 12, 0, 0);
    const contents: Record<string, Buffer> = {
      "BTCUSDT/empty.json": Buffer.alloc(0),
      "BTCUSDT/small.json": randomBytes(1000),
      "BTCUSDT/large.parquet": randomBytes(300 * 1024 + 17),
      "BTCUSDT2/other.json": randomBytes(10),
    };
    for (const [key, bytes] of Object.entries(contents)) {
      const stored = await s.upload(file(`up/${key}`, bytes), key, t);
      expect(stored.size).toBe(bytes.length);
    }
    for (const [key, bytes] of Object.entries(contents)) {
      const target = join(dir, "down", _name, key);
      const got = await s.download(key, target);
      expect(got?.size).toBe(bytes.length);
      expect(got?.mtimeMs).toBe(t);
      expect(sha(readFileSync(target))).toBe(sha(bytes));
      expect((await s.stat(key))?.etag).toBe(got?.etag);
    }
    // "BTCUSDT/" does not match "BTCUSDT2/"
    expect((await s.list("BTCUSDT/")).map((o) => o.key).sort()).toEqual([
      "BTCUSDT/empty.json",
      "BTCUSDT/large.parquet",
      "BTCUSDT/small.json",
    ]);

    const before = await s.stat("BTCUSDT/small.json");
    const replacement = randomBytes(2000);
    await s.upload(file("up/replacement", replacement), "BTCUSDT/small.json", t + 1000);
    const after = await s.stat("BTCUSDT/small.json");
    expect(after?.etag).not.toBe(before?.etag);
    expect(after?.size).toBe(2000);
    expect(after?.mtimeMs).toBe(t + 1000);

    await s.delete("BTCUSDT/small.json");
    await s.delete("BTCUSDT/small.json"); // absent: no error
    expect(await s.stat("BTCUSDT/small.json")).toBeUndefined();
    const target = join(dir, "down", "gone.json");
    expect(await s.download("BTCUSDT/small.json", target)).toBeUndefined();
    expect(existsSync(target)).toBe(false);
  });
});

describe("a block blob's publication", () => {
  it("is atomic: during a staged upload readers get the old content whole, then the new one", async () => {
    const s = new BlobStorage(
      { container: "roundtrip", prefix: "atomic" },
      { connectionString: azurite.connectionString },
      // 64 blocks of 32 KiB staged one at a time: the upload takes many requests
      { blockBytes: 32 << 10, concurrency: 1 },
    );
    const key = "BTCUSDT/klines.parquet";
    const old = randomBytes(100 * 1024);
    const next = randomBytes(2 << 20);
    await s.upload(file("atomic/old", old), key, 1000);
    const blob = BlobServiceClient.fromConnectionString(azurite.connectionString)
      .getContainerClient("roundtrip")
      .getBlockBlobClient(`atomic/${key}`);

    let finished = false;
    const uploading = s.upload(file("atomic/new", next), key, 2000).finally(() => {
      finished = true;
    });
    const seen: string[] = [];
    let readsWhileStaged = 0;
    while (!finished) {
      const staged = (await blob.getBlockList("uncommitted")).uncommittedBlocks?.length ?? 0;
      const got = await s.download(key, join(dir, "atomic", "read"));
      seen.push(sha(readFileSync(join(dir, "atomic", "read"))));
      expect(got?.size === old.length || got?.size === next.length).toBe(true);
      if (staged > 0) readsWhileStaged++;
    }
    await uploading;
    // The reader ran while blocks were staged but not committed, and only ever saw whole files.
    expect(readsWhileStaged).toBeGreaterThan(0);
    expect(seen[0]).toBe(sha(old));
    expect(new Set(seen).size).toBeLessThanOrEqual(2);
    for (const h of seen) expect([sha(old), sha(next)]).toContain(h);
    await s.download(key, join(dir, "atomic", "final"));
    expect(sha(readFileSync(join(dir, "atomic", "final")))).toBe(sha(next));
    expect((await blob.getBlockList("committed")).committedBlocks?.length).toBe(64);
  });
});

describe("a blob's content", () => {
  it("is checked against the MD5 recorded at upload: a damaged download is not kept", async () => {
    const s = new BlobStorage(
      { container: "roundtrip", prefix: "md5" },
      { connectionString: azurite.connectionString },
      { blockBytes: 64 << 10 },
    );
    const bytes = randomBytes(200 * 1024);
    await s.upload(file("md5/source", bytes), "BTCUSDT/matrix.parquet", 1000);
    const blob = BlobServiceClient.fromConnectionString(azurite.connectionString)
      .getContainerClient("roundtrip")
      .getBlockBlobClient("md5/BTCUSDT/matrix.parquet");
    const props = await blob.getProperties();
    expect(Buffer.from(props.contentMD5 ?? []).toString("hex")).toBe(
      createHash("md5").update(bytes).digest("hex"),
    );
    // what a corrupted transfer would look like: the recorded MD5 no longer matches the bytes
    await blob.setHTTPHeaders({ blobContentMD5: createHash("md5").update("other").digest() });
    const target = join(dir, "md5", "copy.parquet");
    await expect(s.download("BTCUSDT/matrix.parquet", target)).rejects.toThrow(
      "downloading BTCUSDT/matrix.parquet: the content does not match its MD5; nothing was written",
    );
    expect(existsSync(target)).toBe(false);
    expect(readdirSync(join(dir, "md5"))).toEqual(["source"]); // no temporary file left
  });
});

describe("the mirror of an az:// data folder", () => {
  /** Two machines: each its own cache folder, the same container and prefix. */
  async function machine(name: string): Promise<Mirror> {
    return openMirror(
      "az://mirror/data/1m",
      { connectionString: azurite.connectionString },
      join(dir, `cache-${name}`),
    );
  }

  it("downloads a file once, again only when the blob or the copy changed, and keeps its mtime", async () => {
    const a = await machine("a");
    const b = await machine("b");
    expect(a.root).toBe(join(dir, "cache-a", "az", "devstoreaccount1", "mirror", "data", "1m"));
    const x = join(a.root, "BTCUSDT", "features.parquet");
    mkdirSync(dirname(x), { recursive: true });
    writeFileSync(x, randomBytes(5000));
    await a.settle([x]);
    const mtime = statSync(x).mtimeMs;
    expect(mtime % 1000).toBe(0);
    await a.push([x]);
    await a.push([x]); // unchanged since published: not uploaded again
    expect(a.counts.uploaded).toBe(1);

    const y = join(b.root, "BTCUSDT", "features.parquet");
    expect(await b.pull([y])).toEqual([y]); // the paths whose copy changed
    expect(sha(readFileSync(y))).toBe(sha(readFileSync(x)));
    expect(statSync(y).mtimeMs).toBe(mtime);
    expect(await b.pull([y])).toEqual([]);
    expect(b.counts).toMatchObject({ downloaded: 1, cached: 1 });

    // a new version published by a: b downloads it
    writeFileSync(x, randomBytes(6000));
    await a.settle([x]);
    await a.push([x]);
    expect(await b.pull([y])).toEqual([y]);
    expect(b.counts.downloaded).toBe(2);
    expect(sha(readFileSync(y))).toBe(sha(readFileSync(x)));
    // b's copy changed behind the cache's back: downloaded again
    writeFileSync(y, "scribbled");
    await b.pull([y]);
    expect(b.counts.downloaded).toBe(3);
    expect(sha(readFileSync(y))).toBe(sha(readFileSync(x)));

    // removed on a and pushed: gone from the store, and from b's mirror at its next pull
    rmSync(x);
    await a.push([x]);
    expect(a.counts.deleted).toBe(1);
    expect(await b.pull([y])).toEqual([y]);
    expect(existsSync(y)).toBe(false);

    // paths outside the mirror are not shared
    await b.pull([join(dir, "elsewhere.json")]);
    expect(b.counts.downloaded).toBe(3);
  });

  it("publishes and pulls a folder as a whole, without temporary files, removals included", async () => {
    const a = await machine("fa");
    const b = await machine("fb");
    const models = (m: Mirror) => join(m.root, "ETHUSDT", "MODELS");
    const put = (rel: string, text: string) => {
      const p = join(models(a), rel);
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, text);
    };
    put("lc/v0001.json", "one");
    put("lc/v0002.json", "two");
    put("lc/current.json", '{"version":2}');
    put("lc/.v0003.json.123.abcdefabcdef.tmp", "half");
    await a.pushFolder(models(a));
    await b.pullFolder(models(b));
    const listed = (await b.storage.list("ETHUSDT/MODELS/")).map((o) => o.key).sort();
    expect(listed).toEqual([
      "ETHUSDT/MODELS/lc/current.json",
      "ETHUSDT/MODELS/lc/v0001.json",
      "ETHUSDT/MODELS/lc/v0002.json",
    ]);
    expect(readFileSync(join(models(b), "lc", "v0002.json"), "utf8")).toBe("two");

    // pruned on a: the store and then b lose it
    rmSync(join(models(a), "lc", "v0001.json"));
    await a.pushFolder(models(a));
    await b.pullFolder(models(b));
    expect(existsSync(join(models(b), "lc", "v0001.json"))).toBe(false);
    expect(existsSync(join(models(b), "lc", "v0002.json"))).toBe(true);
    expect(b.counts.downloaded).toBe(3);
  });
});

describe("the mirror of a file:// data folder", () => {
  it("shares a plain folder the same way, through each machine's cache", async () => {
    const shared = join(dir, "network-mount");
    mkdirSync(shared);
    const url = `file://${shared}`;
    const a = await openMirror(url, {}, join(dir, "cache-file-a"));
    const b = await openMirror(url, {}, join(dir, "cache-file-b"));
    await a.storage.check();
    const x = join(a.root, "BTCUSDT", "data.parquet");
    mkdirSync(dirname(x), { recursive: true });
    writeFileSync(x, randomBytes(3000));
    await a.settle([x]);
    await a.push([x]);
    expect(sha(readFileSync(join(shared, "BTCUSDT", "data.parquet")))).toBe(sha(readFileSync(x)));
    const y = join(b.root, "BTCUSDT", "data.parquet");
    await b.pull([y]);
    await b.pull([y]);
    expect(b.counts).toMatchObject({ downloaded: 1, cached: 1 });
    expect(sha(readFileSync(y))).toBe(sha(readFileSync(x)));
    expect(statSync(y).mtimeMs).toBe(statSync(x).mtimeMs);

    const gone = await openMirror(`file://${join(dir, "no-such-mount")}`, {}, join(dir, "cache-file-c"));
    await expect(gone.storage.check()).rejects.toThrow(
      `data_folder: the shared folder ${join(dir, "no-such-mount")} does not exist or is not a folder`,
    );
  });
});

describe("errors", () => {
  it("name what is wrong: the URL, missing credentials, a missing container, an unreachable store", async () => {
    expect(() => parseAzUrl("az://My_Container/x")).toThrow(
      /data_folder: "az:\/\/My_Container\/x" names no valid container/,
    );
    expect(() => parseAzUrl("az://data/a/../b")).toThrow(/has an empty, "\." or "\.\." path segment/);
    expect(parseAzUrl("az://data/a/b/")).toEqual({ container: "data", prefix: "a/b" });

    const env = join(dir, "cache-errors");
    const none = await openMirror("az://data/x", {}, env).catch((e: unknown) => e);
    expect(none).toBeInstanceOf(UsageError);
    expect((none as UsageError).message).toMatch(
      /no Azure Storage credentials were found: set AZURE_STORAGE_CONNECTION_STRING/,
    );

    // an account name and key instead of a connection string: Azure's public endpoint
    const byKey = new BlobStorage(
      parseAzUrl("az://data/x"),
      storageCredentials(undefined, { AZURE_STORAGE_ACCOUNT: "itbdata", AZURE_STORAGE_KEY: "a2V5" }),
    );
    expect(byKey.description).toBe("az://data/x (https://itbdata.blob.core.windows.net/data)");
    const keyOnly = await openMirror(
      "az://data/x",
      storageCredentials(undefined, { AZURE_STORAGE_KEY: "a2V5" }),
      env,
    ).catch((e: unknown) => e);
    expect((keyOnly as Error).message).toMatch(/no Azure Storage credentials were found/);

    const missing = await openMirror("az://nope/x", { connectionString: azurite.connectionString }, env);
    const err = await missing.storage.check().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toBe(
      'data_folder az://nope/x: the container "nope" does not exist in the storage account "devstoreaccount1"',
    );

    // a wrong key: the account refuses it (a mistake in what was given: exit status 2)
    const wrongKey = azurite.connectionString.replace(
      /AccountKey=[^;]+/,
      `AccountKey=${randomBytes(64).toString("base64")}`,
    );
    const refused = await (await openMirror("az://roundtrip/x", { connectionString: wrongKey }, env)).storage
      .check()
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(UsageError);
    expect((refused as Error).message).toMatch(
      /^data_folder az:\/\/roundtrip\/x: the storage account "devstoreaccount1" refused the credentials \(\w+\) while checking the container$/,
    );

    const port = await freePort();
    const unreachable = azurite.connectionString.replace(/127\.0\.0\.1:\d+/, `127.0.0.1:${port}`);
    const t0 = Date.now();
    const down = await (await openMirror("az://data/x", { connectionString: unreachable }, env)).storage
      .check()
      .catch((e: unknown) => e);
    expect(down).toBeInstanceOf(ItbError);
    expect((down as ItbError).exitCode).toBe(1);
    expect((down as Error).message).toMatch(
      new RegExp(
        `^cannot reach Azure Blob Storage at http://127\\.0\\.0\\.1:${port}/devstoreaccount1/data while checking the container: `,
      ),
    );
    expect((down as Error).message).not.toMatch(/AccountKey|Eby8vdM02/);
    expect(Date.now() - t0).toBeLessThan(10_000);
  });
});
