import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { BlobServiceClient } from "@azure/storage-blob";
import { PACKAGE_ROOT } from "../cli/version.js";

/**
 * Azurite, Microsoft's Blob Storage emulator (the `azurite` dev dependency), as a child process
 * on a free port, in memory, with its well-known development account: for the queue bench's
 * `az://` runs and for the tests (test/helpers/azurite.ts). A child process rather than its JS
 * API: a caller's synchronous child runs (spawnSync) would block it in-process. A production
 * install (no dev dependencies) has no Azurite: see `azuriteInstalled`.
 */

const BIN = join(PACKAGE_ROOT, "node_modules", ".bin", "azurite-blob");
const ACCOUNT = "devstoreaccount1";
/** Azurite's published development key (not a secret). */
const KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
const START_TIMEOUT_MS = 30_000;

export interface Azurite {
  connectionString: string;
  /** The account name, as the mirror's path names it (`<cache>/az/<account>/...`). */
  account: string;
  /** A new empty container. */
  container(name: string): Promise<void>;
  /** Every blob of a container downloaded under `folder` (keys as paths); their total size in bytes. */
  download(name: string, folder: string): Promise<number>;
  /** Removes a container and its blobs (frees the emulator's memory). */
  dropContainer(name: string): Promise<void>;
  stop(): Promise<void>;
}

/** Where Azurite is expected, for the skip message of a production install. */
export const AZURITE_BIN = BIN;

export function azuriteInstalled(): boolean {
  return existsSync(BIN);
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

const tail = (text: string, chars = 4000) => (text.length <= chars ? text : `…${text.slice(-chars)}`);

export async function startAzurite(): Promise<Azurite> {
  const port = await freePort();
  const cwd = mkdtempSync(join(tmpdir(), "itb-azurite-"));
  const child: ChildProcess = spawn(
    BIN,
    [
      "--silent",
      "--inMemoryPersistence",
      "--disableTelemetry",
      "--skipApiVersionCheck",
      "--blobHost",
      "127.0.0.1",
      "--blobPort",
      String(port),
    ],
    { cwd, stdio: ["ignore", "pipe", "pipe"] },
  );
  let log = "";
  child.stdout?.on("data", (b: Buffer) => {
    log += b.toString();
  });
  child.stderr?.on("data", (b: Buffer) => {
    log += b.toString();
  });
  const kill = () => child.kill("SIGKILL");
  process.once("exit", kill);
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!/successfully listens/.test(log) && child.exitCode === null) {
    if (Date.now() > deadline) {
      kill();
      throw new Error(`timed out waiting for Azurite\n${tail(log)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  if (child.exitCode !== null) throw new Error(`Azurite exited: ${tail(log)}`);
  const connectionString = `DefaultEndpointsProtocol=http;AccountName=${ACCOUNT};AccountKey=${KEY};BlobEndpoint=http://127.0.0.1:${port}/${ACCOUNT};`;
  const service = BlobServiceClient.fromConnectionString(connectionString);
  return {
    connectionString,
    account: ACCOUNT,
    container: async (name) => {
      await service.getContainerClient(name).create();
    },
    download: async (name, folder) => {
      const container = service.getContainerClient(name);
      let bytes = 0;
      for await (const b of container.listBlobsFlat()) {
        const file = join(folder, ...b.name.split("/"));
        await mkdir(dirname(file), { recursive: true });
        await container.getBlobClient(b.name).downloadToFile(file);
        bytes += b.properties.contentLength ?? 0;
      }
      return bytes;
    },
    dropContainer: async (name) => {
      await service.getContainerClient(name).deleteIfExists();
    },
    stop: async () => {
      process.removeListener("exit", kill);
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(cwd, { recursive: true, force: true });
    },
  };
}
