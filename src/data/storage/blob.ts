import { createHash, randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { open, stat } from "node:fs/promises";
import { pipeline } from "node:stream/promises";
import {
  BlobServiceClient,
  type ContainerClient,
  RestError,
  type StoragePipelineOptions,
  StorageSharedKeyCredential,
} from "@azure/storage-blob";
import { errorMessage, ItbError, UsageError } from "../../core/errors.js";
import { withTempPath } from "../atomic.js";
import type { Storage, StoredObject } from "./storage.js";

/**
 * Azure Blob Storage as a store (`az://container/prefix` data folders). Every object is a block
 * blob, published atomically: a file up to one block is one Put Blob request; a larger one is
 * staged block by block (invisible to readers) and then made the blob's content by committing
 * the block list, a single request that swaps the whole content. A reader therefore gets the
 * old blob or the new one, never part of either. Every upload records the content's MD5
 * (Content-MD5). A download is one GET written to a temporary file, checked against that MD5
 * and renamed, and returns the ETag of exactly the content it read.
 */

/** Where an `az://` data folder points. */
export interface AzLocation {
  container: string;
  /** No leading or trailing slash; "" for the container's root. */
  prefix: string;
}

/** How the store is reached: a connection string, or an account name and key. */
export interface BlobCredentials {
  connectionString?: string;
  account?: string;
  accountKey?: string;
}

const CONTAINER = /^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$/;

/** Parses `az://container[/prefix]`; the error names the key and what is wrong. */
export function parseAzUrl(url: string, where = "data_folder"): AzLocation {
  const m = /^az:\/\/([^/]*)\/?(.*)$/.exec(url);
  const container = m?.[1] ?? "";
  if (!CONTAINER.test(container)) {
    throw new UsageError(
      `${where}: "${url}" names no valid container (expected az://container/prefix; a container name is 3 to 63 lowercase letters, digits and single hyphens)`,
    );
  }
  const prefix = (m?.[2] ?? "").replace(/\/+$/, "");
  if (prefix !== "" && prefix.split("/").some((part) => part === "" || part === "." || part === "..")) {
    throw new UsageError(`${where}: "${url}" has an empty, "." or ".." path segment`);
  }
  return { container, prefix };
}

/** Without a query string (a SAS token is a credential) and without a trailing slash. */
function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`.replace(/\/$/, "");
  } catch {
    return "(the storage endpoint)";
  }
}

/** An error text with any SAS signature masked. */
function safeMessage(err: unknown): string {
  return errorMessage(err).replace(/([?&]sig=)[^&\s"']+/gi, "$1***");
}

function serviceClient(credentials: BlobCredentials, options: StoragePipelineOptions): BlobServiceClient {
  if (credentials.connectionString !== undefined) {
    try {
      return BlobServiceClient.fromConnectionString(credentials.connectionString, options);
    } catch {
      // The SDK's message may quote the string: it is not repeated.
      throw new UsageError(
        "azure_storage_connection_string: not a valid Azure Storage connection string (expected DefaultEndpointsProtocol=...;AccountName=...;AccountKey=...;… or BlobEndpoint=...;SharedAccessSignature=...)",
      );
    }
  }
  const { account, accountKey } = credentials;
  if (account === undefined || accountKey === undefined) {
    throw new UsageError(
      "data_folder is an az:// folder but no Azure Storage credentials were found: set AZURE_STORAGE_CONNECTION_STRING (or azure_storage_connection_string in the secrets file), or AZURE_STORAGE_ACCOUNT and AZURE_STORAGE_KEY",
    );
  }
  return new BlobServiceClient(
    `https://${account}.blob.core.windows.net`,
    new StorageSharedKeyCredential(account, accountKey),
    options,
  );
}

export interface BlobStorageOptions {
  /** Size of a staged block (default 8 MiB); a file up to this size is uploaded in one request. */
  blockBytes?: number;
  /** Blocks staged at once (default 4). */
  concurrency?: number;
}

export class BlobStorage implements Storage {
  readonly description: string;
  /** The storage account's name (the local cache is kept per account). */
  readonly account: string;
  private readonly container: ContainerClient;
  /** The same container with a single try per request: `check` reports at once. */
  private readonly probe: ContainerClient;
  private readonly base: string;
  private readonly blockBytes: number;
  private readonly concurrency: number;

  constructor(
    readonly location: AzLocation,
    credentials: BlobCredentials,
    options: BlobStorageOptions = {},
  ) {
    const client = serviceClient(credentials, {
      retryOptions: { maxTries: 4, retryDelayInMs: 250, maxRetryDelayInMs: 4000 },
    });
    this.account = client.accountName;
    this.container = client.getContainerClient(location.container);
    this.probe = serviceClient(credentials, { retryOptions: { maxTries: 1 } }).getContainerClient(
      location.container,
    );
    this.base = location.prefix === "" ? "" : `${location.prefix}/`;
    this.description = `az://${location.container}/${location.prefix} (${safeUrl(this.container.url)})`;
    this.blockBytes = options.blockBytes ?? 8 << 20;
    this.concurrency = options.concurrency ?? 4;
  }

  private blob(key: string) {
    return this.container.getBlockBlobClient(this.base + key);
  }

  /** A failed request as itb reports it: a missing container or refused credentials are the user's to fix (exit 2). */
  private failure(err: unknown, doing: string): ItbError {
    const where = `az://${this.location.container}/${this.location.prefix}`;
    if (err instanceof RestError && err.statusCode !== undefined) {
      const code = err.code ?? String(err.statusCode);
      if (code === "ContainerNotFound") {
        return new UsageError(
          `data_folder ${where}: the container "${this.location.container}" does not exist in the storage account "${this.account}"`,
        );
      }
      if (err.statusCode === 403 || err.statusCode === 401) {
        return new UsageError(
          `data_folder ${where}: the storage account "${this.account}" refused the credentials (${code}) while ${doing}`,
        );
      }
      return new ItbError(`Azure Blob Storage ${where}: ${doing} failed: ${code} (HTTP ${err.statusCode})`);
    }
    return new ItbError(
      `cannot reach Azure Blob Storage at ${safeUrl(this.container.url)} while ${doing}: ${safeMessage(err)}`,
      { cause: err },
    );
  }

  async check(): Promise<void> {
    try {
      await this.probe.getProperties();
    } catch (err) {
      throw this.failure(err, "checking the container");
    }
  }

  async stat(key: string): Promise<StoredObject | undefined> {
    try {
      const p = await this.blob(key).getProperties();
      return {
        key,
        size: p.contentLength ?? 0,
        etag: etagOf(p.etag),
        ...mtimeOf(p.metadata),
      };
    } catch (err) {
      if (err instanceof RestError && err.statusCode === 404) return undefined;
      throw this.failure(err, `reading the properties of ${key}`);
    }
  }

  async download(key: string, file: string): Promise<StoredObject | undefined> {
    try {
      return await withTempPath(file, async (tmp) => {
        const r = await this.blob(key).download();
        const body = r.readableStreamBody;
        if (body === undefined) throw new ItbError(`downloading ${key}: the response has no body`);
        await pipeline(body, createWriteStream(tmp));
        const size = (await stat(tmp)).size;
        if (r.contentLength !== undefined && size !== r.contentLength) {
          throw new ItbError(`downloading ${key}: got ${size} of ${r.contentLength} bytes`);
        }
        // The uploader recorded the content's MD5 (Content-MD5): a damaged copy is not kept.
        const md5 = r.blobContentMD5 ?? r.contentMD5;
        if (md5 !== undefined && !Buffer.from(md5).equals(await md5File(tmp))) {
          throw new ItbError(`downloading ${key}: the content does not match its MD5; nothing was written`);
        }
        return { key, size, etag: etagOf(r.etag), ...mtimeOf(r.metadata) };
      });
    } catch (err) {
      if (err instanceof RestError && err.statusCode === 404) return undefined;
      throw err instanceof ItbError ? err : this.failure(err, `downloading ${key}`);
    }
  }

  async upload(file: string, key: string, mtimeMs: number): Promise<StoredObject> {
    const blob = this.blob(key);
    const metadata = { mtime: String(mtimeMs) };
    // Stored with the blob (Content-MD5): downloads are checked against it.
    const blobHTTPHeaders = { blobContentMD5: await md5File(file) };
    const handle = await open(file, "r");
    try {
      const size = (await handle.stat()).size;
      let etag: string | undefined;
      if (size <= this.blockBytes) {
        const bytes = Buffer.alloc(size);
        if (size > 0) await handle.read(bytes, 0, size, 0);
        etag = (await blob.upload(bytes, size, { metadata, blobHTTPHeaders })).etag;
      } else {
        // Staged blocks are not part of the blob until the list is committed.
        const id = randomBytes(6).toString("hex");
        const count = Math.ceil(size / this.blockBytes);
        const ids = Array.from({ length: count }, (_, i) =>
          Buffer.from(`${id}-${String(i).padStart(6, "0")}`).toString("base64"),
        );
        let next = 0;
        const stager = async () => {
          for (let i = next++; i < count; i = next++) {
            const offset = i * this.blockBytes;
            const length = Math.min(this.blockBytes, size - offset);
            const bytes = Buffer.alloc(length);
            await handle.read(bytes, 0, length, offset);
            await blob.stageBlock(ids[i] as string, bytes, length);
          }
        };
        await Promise.all(Array.from({ length: Math.min(this.concurrency, count) }, stager));
        etag = (await blob.commitBlockList(ids, { metadata, blobHTTPHeaders })).etag;
      }
      return { key, size, etag: etagOf(etag), mtimeMs };
    } catch (err) {
      throw err instanceof ItbError ? err : this.failure(err, `uploading ${key}`);
    } finally {
      await handle.close();
    }
  }

  async list(prefix: string): Promise<StoredObject[]> {
    const out: StoredObject[] = [];
    try {
      for await (const b of this.container.listBlobsFlat({
        prefix: this.base + prefix,
        includeMetadata: true,
      })) {
        out.push({
          key: b.name.slice(this.base.length),
          size: b.properties.contentLength ?? 0,
          etag: etagOf(b.properties.etag),
          ...mtimeOf(b.metadata),
        });
      }
    } catch (err) {
      throw this.failure(err, `listing ${prefix}`);
    }
    return out;
  }

  async delete(key: string): Promise<void> {
    try {
      await this.blob(key).deleteIfExists();
    } catch (err) {
      throw this.failure(err, `deleting ${key}`);
    }
  }
}

async function md5File(file: string): Promise<Buffer> {
  const hash = createHash("md5");
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest();
}

/** Headers quote an ETag, listings do not: compared unquoted. */
function etagOf(etag: string | undefined): string {
  return (etag ?? "").replace(/^"(.*)"$/, "$1");
}

function mtimeOf(metadata: Record<string, string> | undefined): { mtimeMs?: number } {
  const v = Number(metadata?.mtime);
  return metadata?.mtime !== undefined && Number.isFinite(v) ? { mtimeMs: v } : {};
}
