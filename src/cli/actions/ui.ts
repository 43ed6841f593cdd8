import { resolve } from "node:path";
import type { Command } from "commander";
import type { LoadedConfig } from "../../config/index.js";
import { loadMarketConfigs } from "../../config/markets.js";
import { openLedgerForReading } from "../../live/ledger/open.js";
import type { Ledger } from "../../live/ledger/types.js";
import { createSource } from "../../server/api/source.js";
import { configOf, contextOf } from "../context.js";
import { catchInterrupts } from "../interrupts.js";
import { VERSION } from "../version.js";

/** `itb ui`. */
export async function uiAction(opts: { config: string[]; address?: string }, cmd: Command): Promise<void> {
  const ctx = contextOf(cmd);
  const configs: LoadedConfig[] = opts.config.map((f) => configOf({ config: f }, ctx.log));
  const first = (configs[0] as LoadedConfig).config;
  const markets = opts.config.flatMap((f) => loadMarketConfigs(f));
  const ledgers = new Map<string, Ledger | undefined>();
  const source = createSource({
    mode: "ui",
    version: VERSION,
    now: () => Date.now(),
    markets: markets.map((m) => ({ config: m.config, file: m.file })),
    configs: configs.map((c) => ({ config: c.config, file: c.file })),
    ledgerOf: async (folder) => {
      const key = resolve(folder);
      if (!ledgers.has(key)) {
        // the ledger the folder's markets write: their ledger_url, else the SQLite file
        const url = markets.find((m) => resolve(m.config.data_folder) === key)?.config.ledger_url;
        ledgers.set(key, await openLedgerForReading({ data_folder: key, ledger_url: url }));
      }
      return ledgers.get(key);
    },
  });
  // Fastify loads with the commands that serve (not with every itb command)
  const { apiTokensOf, startApiServer } = await import("../../server/api/app.js");
  const { registerPages } = await import("../../server/pages.js");
  const interrupts = catchInterrupts(ctx.log, "stopping the server");
  const server = await startApiServer({
    address: opts.address ?? first.serve.address,
    source,
    tokens: apiTokensOf(configs.map((c) => c.config)),
    corsOrigins: first.serve.cors_origins,
    log: ctx.log,
    registerPages,
  });
  try {
    ctx.log.info({ url: server.url }, "itb ui: the pages and the API (/api/v1) over stored results");
    process.stdout.write(`${server.url}\n`);
    await new Promise<void>((done) => {
      if (interrupts.signal.aborted) done();
      else interrupts.signal.addEventListener("abort", () => done(), { once: true });
    });
    ctx.log.info({}, "stopped");
  } finally {
    await server.close();
    for (const l of ledgers.values()) await l?.close();
    interrupts.dispose();
  }
}
