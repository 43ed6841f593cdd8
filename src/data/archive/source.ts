import { readFile, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { DataError, NetworkError } from "../../core/errors.js";

/**
 * Where archive files come from: Binance's public archive (`https://data.binance.vision`) or a
 * local folder with the same layout (a mirror, the bundled sample, test fixtures). Both are
 * addressed by the same relative paths, so everything above this file ignores the difference.
 */

import type { Market } from "../../core/klines.js";

export type { Market };
export type Period = "monthly" | "daily";

/** `BTCUSDT-1m-2023-03.zip` (monthly, key `YYYY-MM`) or `BTCUSDT-1m-2023-03-24.zip` (daily). */
export function archiveFileName(symbol: string, interval: string, key: string): string {
  return `${symbol}-${interval}-${key}.zip`;
}

/** `data/spot/monthly/klines/BTCUSDT/1m/BTCUSDT-1m-2023-03.zip`; USD-M futures live under `data/futures/um`. */
export function archivePath(
  market: Market,
  symbol: string,
  interval: string,
  period: Period,
  key: string,
): string {
  const root = market === "spot" ? "data/spot" : "data/futures/um";
  return `${root}/${period}/klines/${symbol}/${interval}/${archiveFileName(symbol, interval, key)}`;
}

export interface ArchiveSource {
  /** The folder or base URL, for messages. */
  readonly location: string;
  /** The file's full path or URL, for messages. */
  describe(path: string): string;
  /** The file's bytes, or undefined when it is not published. */
  fetch(path: string): Promise<Uint8Array | undefined>;
  /** Whether the file is published, without downloading it. */
  exists(path: string): Promise<boolean>;
}

export interface HttpOptions {
  /** Attempts after the first on 5xx, 408, 429 and network failures. */
  retries?: number;
  /** First retry delay; it doubles on each further attempt. */
  backoffMs?: number;
  /** Per attempt, whole download included. */
  timeoutMs?: number;
  fetch?: typeof globalThis.fetch;
  /** Aborts requests in flight and the waits between retries (Ctrl-C). */
  signal?: AbortSignal;
}

/** `https://…`/`http://…` is Binance's archive or a mirror; a `file://` URL or a plain path is a local folder. */
export function openSource(source: string, http: HttpOptions = {}): ArchiveSource {
  if (/^https?:\/\//i.test(source)) return new HttpSource(source.replace(/\/+$/, ""), http);
  const dir = /^file:/i.test(source) ? fileURLToPath(source) : resolve(source);
  return new FolderSource(dir, http.signal);
}

function isNotFound(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
}

class FolderSource implements ArchiveSource {
  private rootChecked = false;
  constructor(
    readonly location: string,
    private readonly signal?: AbortSignal,
  ) {}

  describe(path: string): string {
    return join(this.location, path);
  }

  /** A missing root folder is a wrong argument, not "nothing published": say so. */
  private async checkRoot(): Promise<void> {
    if (this.rootChecked) return;
    const st = await stat(this.location).catch(() => undefined);
    if (!st?.isDirectory()) {
      throw new DataError(
        `archive folder ${this.location} does not exist (expected Binance's layout: data/spot/...)`,
      );
    }
    this.rootChecked = true;
  }

  async fetch(path: string): Promise<Uint8Array | undefined> {
    await this.checkRoot();
    try {
      return await readFile(this.describe(path), this.signal === undefined ? {} : { signal: this.signal });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      if (this.signal?.aborted) throw err;
      throw new DataError(
        `cannot read: ${(err as Error).message}`,
        { file: this.describe(path) },
        { cause: err },
      );
    }
  }

  async exists(path: string): Promise<boolean> {
    await this.checkRoot();
    const st = await stat(this.describe(path)).catch((err: unknown) => {
      if (isNotFound(err)) return undefined;
      throw new DataError(
        `cannot read: ${(err as Error).message}`,
        { file: this.describe(path) },
        { cause: err },
      );
    });
    return st?.isFile() === true;
  }
}

/** Resolves after `ms`, or at once when `signal` aborts (the caller checks it next). */
const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((done) => {
    const timer = setTimeout(finish, ms);
    function finish() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", finish);
      done();
    }
    signal?.addEventListener("abort", finish, { once: true });
  });

/** Statuses worth another attempt: the server's trouble or a rate limit, not the request's. */
function transient(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

class HttpSource implements ArchiveSource {
  private readonly retries: number;
  private readonly backoffMs: number;
  private readonly timeoutMs: number;
  private readonly fetchFn: typeof globalThis.fetch;
  private readonly signal: AbortSignal | undefined;

  constructor(
    readonly location: string,
    opts: HttpOptions,
  ) {
    this.retries = opts.retries ?? 3;
    this.backoffMs = opts.backoffMs ?? 500;
    this.timeoutMs = opts.timeoutMs ?? 120_000;
    this.fetchFn = opts.fetch ?? globalThis.fetch;
    this.signal = opts.signal;
  }

  describe(path: string): string {
    return `${this.location}/${path}`;
  }

  async fetch(path: string): Promise<Uint8Array | undefined> {
    return this.request(path, "GET");
  }

  async exists(path: string): Promise<boolean> {
    return (await this.request(path, "HEAD")) !== undefined;
  }

  /** The body (empty for HEAD), undefined on 404; retries transient failures with backoff. */
  private async request(path: string, method: "GET" | "HEAD"): Promise<Uint8Array | undefined> {
    const url = this.describe(path);
    let last: NetworkError | undefined;
    for (let attempt = 0; attempt <= this.retries; attempt++) {
      if (attempt > 0) await sleep(this.retryDelay(attempt, last), this.signal);
      this.signal?.throwIfAborted();
      const timeout = AbortSignal.timeout(this.timeoutMs);
      let res: Response;
      try {
        res = await this.fetchFn(url, {
          method,
          signal: this.signal === undefined ? timeout : AbortSignal.any([timeout, this.signal]),
        });
      } catch (err) {
        if (this.signal?.aborted) throw err;
        last = new NetworkError(`${method} ${url} failed: ${causeText(err)}`, { cause: err });
        continue;
      }
      if (res.status === 404) {
        await res.body?.cancel().catch(() => undefined);
        return undefined;
      }
      if (!res.ok) {
        await res.body?.cancel().catch(() => undefined);
        const err = new NetworkError(`${method} ${url}: HTTP ${res.status} ${res.statusText}`.trim(), {
          status: res.status,
          action: transient(res.status) ? "retry" : "halt",
        });
        if (!transient(res.status)) throw err;
        last = withRetryAfter(err, res.headers.get("retry-after"));
        continue;
      }
      if (method === "HEAD") return new Uint8Array(0);
      try {
        return new Uint8Array(await res.arrayBuffer());
      } catch (err) {
        if (this.signal?.aborted) throw err;
        // A connection dropped mid-body is as transient as one refused up front.
        last = new NetworkError(`${method} ${url}: download interrupted: ${causeText(err)}`, { cause: err });
      }
    }
    const tries = this.retries + 1;
    throw new NetworkError(
      `${last?.message ?? `${method} ${url} failed`} (${tries} attempt${tries > 1 ? "s" : ""})`,
      {
        status: last?.status,
        action: "retry",
        cause: last,
      },
    );
  }

  private retryDelay(attempt: number, last: NetworkError | undefined): number {
    const hinted = last ? retryAfterMs.get(last) : undefined;
    const backoff = this.backoffMs * 2 ** (attempt - 1);
    return hinted === undefined ? backoff : Math.max(backoff, Math.min(hinted, 60_000));
  }
}

/** Retry-After hints, kept beside the error rather than in its public shape. */
const retryAfterMs = new WeakMap<NetworkError, number>();

function withRetryAfter(err: NetworkError, header: string | null): NetworkError {
  const seconds = header === null ? Number.NaN : Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) retryAfterMs.set(err, seconds * 1000);
  return err;
}

/** undici wraps the real reason (ECONNREFUSED, a timeout) in `cause`. */
function causeText(err: unknown): string {
  const e = err as Error & { cause?: unknown };
  const inner = e.cause instanceof Error ? `: ${e.cause.message}` : "";
  return `${e.message ?? String(err)}${inner}`;
}
