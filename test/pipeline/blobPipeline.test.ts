import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BlobServiceClient } from "@azure/storage-blob";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configHashesIn, maskedOutput, readOutputs } from "../../src/bench/outputs.js";
import { type Azurite, startAzurite } from "../helpers/azurite.js";
import { itb, spawnItb } from "../helpers/cli.js";
import { SAMPLE } from "../helpers/paths.js";
import { IMPORT_ROLLING_STAGES, smallPipelineConfig } from "../helpers/pipelineConfig.js";

/**
 * The pipeline on an `az://` data folder in Azurite (started here), with real processes: a
 * queue run (`itb pipeline --queue` and one `itb worker` with its own cache folder) publishes
 * exactly the outputs of a local run on a plain folder, every job reporting the time it spent
 * on storage; the local runner on another machine's empty cache then finds every stage up to
 * date (outputs, manifests and mtimes travel through the store), and a forced stage run there
 * gives the local run's output and is published anew. Mistakes (no credentials, another command on az://) exit 2 with one line.
 */

const REDIS = "redis://127.0.0.1:6379";
const CONTAINER = "itb";
let azurite: Azurite;
let dir = "";
let local = "";
let azConfig = "";
let since = 0;
const prefix = `itbtest-blob-${process.pid}-${randomBytes(4).toString("hex")}`;

function env(cache: string, credentials = true): NodeJS.ProcessEnv {
  return {
    ITB_CACHE_DIR: join(dir, cache),
    AZURE_STORAGE_CONNECTION_STRING: credentials ? azurite.connectionString : "",
    AZURE_STORAGE_ACCOUNT: "",
    AZURE_STORAGE_KEY: "",
  };
}

function writeConfig(name: string, dataFolder: string): string {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(smallPipelineConfig(dataFolder), null, 2));
  return file;
}

/** The store's objects under `under`, by key relative to it. */
async function storeFiles(under: string): Promise<Map<string, Buffer>> {
  const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(
    CONTAINER,
  );
  const out = new Map<string, Buffer>();
  for await (const b of container.listBlobsFlat({ prefix: `${under}/` })) {
    out.set(b.name.slice(under.length + 1), await container.getBlobClient(b.name).downloadToBuffer());
  }
  return out;
}

interface Summary {
  markets: { ran: string[]; skipped: string[]; ok: boolean }[];
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "itb-blob-pipeline-"));
  azurite = await startAzurite();
  await azurite.container(CONTAINER);
  azConfig = writeConfig("az.json", `az://${CONTAINER}/runs/1m`);
  since = Date.now();
  local = join(dir, "local");
  const r = itb([
    "pipeline",
    "--config",
    writeConfig("local.json", local),
    "--archive",
    SAMPLE,
    "--jobs",
    "1",
  ]);
  expect(r.status, r.stderr.slice(-2000)).toBe(0);
}, 180_000);

afterAll(async () => {
  const redis = new Redis(REDIS);
  try {
    const q = new Queue("pipeline", { connection: { url: REDIS }, prefix });
    await q.obliterate({ force: true });
    await q.close();
    const left = await redis.keys(`${prefix}:*`);
    if (left.length > 0) await redis.del(...left);
  } finally {
    redis.disconnect();
  }
  await azurite?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("the pipeline on an az:// data folder", () => {
  it("a queue run with one worker publishes the local run's outputs and reports its storage time", async () => {
    const worker = spawnItb(["worker", "--queue", REDIS, "--queue-prefix", prefix, "--log-format", "json"], {
      env: env("cache-worker"),
    });
    try {
      await worker.waitFor(/worker ready/);
      // The enqueuer runs no stage: it needs no credentials.
      const run = await spawnItb(
        [
          "pipeline",
          "--config",
          azConfig,
          "--archive",
          SAMPLE,
          "--queue",
          REDIS,
          "--queue-prefix",
          prefix,
          "--wait",
        ],
        { env: env("cache-enqueuer", false) },
      ).done;
      expect(run.status, run.stderr.slice(-3000) + worker.stderr().slice(-3000)).toBe(0);
      expect(run.stdout).toMatch(/^BTCUSDT 1m\s+ok\s+9\s+0\s+44,640\s/m);
    } finally {
      worker.child.kill("SIGTERM");
      await worker.done;
    }

    const q = new Queue("pipeline", { connection: { url: REDIS }, prefix });
    const jobs = await q.getJobs(["completed"]);
    await q.close();
    expect(jobs.map((j) => j.name).sort()).toEqual([...IMPORT_ROLLING_STAGES].sort());
    for (const j of jobs) {
      expect(j.returnvalue.result.status, j.name).toBe("ran");
      expect(j.returnvalue.storageSeconds, j.name).toBeGreaterThan(0);
      // Every stage that ran published something; publishing is part of the storage time.
      expect(j.returnvalue.storagePublishSeconds, j.name).toBeGreaterThan(0);
      expect(j.returnvalue.storagePublishSeconds, j.name).toBeLessThanOrEqual(j.returnvalue.storageSeconds);
    }

    const published = await storeFiles("runs/1m");
    const manifests = [...published.keys()].filter((k) => k.startsWith("BTCUSDT/.itb/manifests/")).sort();
    expect(manifests).toEqual(IMPORT_ROLLING_STAGES.map((s) => `BTCUSDT/.itb/manifests/${s}.json`).sort());
    expect([...published.keys()].filter((k) => k.includes("write.lock") || k.endsWith(".tmp"))).toEqual([]);
    const outputs = new Map([...published].filter(([k]) => !k.includes("/.itb/")));
    const expected = readOutputs(local);
    expect(expected.size).toBeGreaterThan(20);
    expect([...outputs.keys()].sort()).toEqual([...expected.keys()].sort());
    const roots = [local, join(dir, "cache-worker", "az", "devstoreaccount1", CONTAINER, "runs", "1m")];
    const hashes = [...configHashesIn(expected), ...configHashesIn(outputs)];
    const differing = [...expected].filter(
      ([f, bytes]) =>
        maskedOutput(f, outputs.get(f) as Buffer, roots, hashes, since) !==
        maskedOutput(f, bytes, roots, hashes, since),
    );
    expect(differing.map(([f]) => f)).toEqual([]);
  }, 240_000);

  it("the local runner on another machine's empty cache finds every stage up to date; a forced stage is republished", async () => {
    const again = itb(["pipeline", "--config", azConfig, "--archive", SAMPLE, "--json"], {
      env: env("cache-b"),
    });
    expect(again.status, again.stderr.slice(-3000)).toBe(0);
    const s = JSON.parse(again.stdout) as Summary;
    expect(s.markets[0]?.ran).toEqual([]);
    expect(s.markets[0]?.skipped).toEqual(IMPORT_ROLLING_STAGES);

    const manifest = async () =>
      JSON.parse(
        ((await storeFiles("runs/1m")).get("BTCUSDT/.itb/manifests/report.json") as Buffer).toString(),
      ) as {
        finished_at: string;
      };
    const before = await manifest();
    const forced = itb(
      ["pipeline", "--config", azConfig, "--archive", SAMPLE, "--json", "--force", "report"],
      {
        env: env("cache-b"),
      },
    );
    expect(forced.status, forced.stderr.slice(-3000)).toBe(0);
    expect((JSON.parse(forced.stdout) as Summary).markets[0]?.ran).toEqual(["report"]);
    expect(Date.parse((await manifest()).finished_at)).toBeGreaterThan(Date.parse(before.finished_at));
    // Run on this machine's copy, the report still takes the search's best cell (the search
    // recorded its predictions relative to the data folder): the local run's report.
    expect(forced.stderr).not.toMatch(/out of date/);
    const report = (await storeFiles("runs/1m")).get("BTCUSDT/report.json") as Buffer;
    const localReport = readFileSync(join(local, "BTCUSDT", "report.json"));
    const roots = [local, join(dir, "cache-b", "az", "devstoreaccount1", CONTAINER, "runs", "1m")];
    const hashes = configHashesIn(
      new Map([
        ["a.json", report],
        ["b.json", localReport],
      ]),
    );
    expect(maskedOutput("report.json", report, roots, hashes, since)).toBe(
      maskedOutput("report.json", localReport, roots, hashes, since),
    );
  }, 120_000);

  it("itb sim serves the candle stores of an az:// folder", async () => {
    const sim = spawnItb(
      ["sim", "--data-folder", `az://${CONTAINER}/runs/1m`, "--port", "0", "--start", "2023-03-20"],
      {
        env: env("cache-sim"),
      },
    );
    try {
      await sim.waitFor(/symbols: BTCUSDT spot 2023-03\.\.2023-03\n/, {
        stream: "stdout",
        timeoutMs: 30_000,
      });
      const url = /exchange on (http:\/\/\S+)/.exec(sim.stdout())?.[1];
      const r = await fetch(
        `${url}/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=${Date.UTC(2023, 2, 10)}&limit=3`,
      );
      const rows = (await r.json()) as [number, string][];
      expect(rows.map((k) => k[0])).toEqual([0, 1, 2].map((i) => Date.UTC(2023, 2, 10) + i * 60_000));
    } finally {
      sim.child.kill("SIGTERM");
      await sim.done;
    }
  });

  it("refuses with one line and status 2: no credentials, another command on az://", () => {
    const none = itb(["pipeline", "--config", azConfig, "--archive", SAMPLE], { env: env("cache-c", false) });
    expect(none.status).toBe(2);
    expect(none.stderr.trim()).toBe(
      "error: data_folder is an az:// folder but no Azure Storage credentials were found: set AZURE_STORAGE_CONNECTION_STRING (or azure_storage_connection_string in the secrets file), or AZURE_STORAGE_ACCOUNT and AZURE_STORAGE_KEY",
    );
    const other = itb(["features", "--config", azConfig], { env: env("cache-c") });
    expect(other.status).toBe(2);
    expect(other.stderr).toContain(
      `data_folder "az://${CONTAINER}/runs/1m" is a shared folder, which itb pipeline and itb worker use; this command needs a local data_folder`,
    );
    expect(other.stderr).not.toMatch(/\n\s+at /);
  });
});
