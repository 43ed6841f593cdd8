import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { BlobServiceClient } from "@azure/storage-blob";
import { freePort } from "./freePort.js";
import { ROOT } from "./paths.js";
import { tail, until } from "./until.js";

/**
 * Azurite, Microsoft's Blob Storage emulator (the `azurite` dev dependency), as a child process
 * on a free port, in memory, with its well-known development account. A child process rather
 * than its JS API: the tests' synchronous CLI runs (spawnSync) would block it in-process.
 */

const ACCOUNT = "devstoreaccount1";
/** Azurite's published development key (not a secret). */
const KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

export interface Azurite {
  connectionString: string;
  /** A new empty container. */
  container(name: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startAzurite(): Promise<Azurite> {
  const port = await freePort();
  const cwd = mkdtempSync(join(tmpdir(), "itb-azurite-"));
  const child: ChildProcess = spawn(
    resolve(ROOT, "node_modules/.bin/azurite-blob"),
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
  process.once("exit", () => child.kill("SIGKILL"));
  await until(
    () => /successfully listens/.test(log) || child.exitCode !== null,
    30_000,
    "Azurite",
    50,
    () => tail(log),
  );
  if (child.exitCode !== null) throw new Error(`Azurite exited: ${tail(log)}`);
  const connectionString = `DefaultEndpointsProtocol=http;AccountName=${ACCOUNT};AccountKey=${KEY};BlobEndpoint=http://127.0.0.1:${port}/${ACCOUNT};`;
  const service = BlobServiceClient.fromConnectionString(connectionString);
  return {
    connectionString,
    container: async (name) => {
      await service.getContainerClient(name).create();
    },
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(cwd, { recursive: true, force: true });
    },
  };
}
