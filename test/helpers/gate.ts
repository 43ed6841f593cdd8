import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * A custom feature generator that holds the features stage until the test lets it go, so a
 * test can act (send a signal, start a second process) while a pipeline is known to be in
 * that stage. Its batch is asynchronous and waits on a timer, so the holding process's event
 * loop stays free and handles signals at once (loading the module, which the pipeline does
 * before its first stage to check the config, does not wait). It writes `gate.ready` (its pid)
 * when it starts waiting and continues once `gate.go` exists; its one column copies close.
 */
export interface Gate {
  /** The feature set to add to a config in `dir`. */
  set: { generator: string; config: object };
  /** The pid of the process held at the gate, once one is. */
  waitReady(timeoutMs?: number): Promise<number>;
  open(): void;
  /** Closes the gate again for the next run. */
  reset(): void;
}

export function writeGate(dir: string): Gate {
  const ready = join(dir, "gate.ready");
  const go = join(dir, "gate.go");
  writeFileSync(
    join(dir, "gate.mjs"),
    `import { existsSync, writeFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
export const gate = {
  inputs: () => ["close"],
  outputs: () => ["gate_close"],
  warmup: () => 0,
  batch: async (f) => {
    writeFileSync(${JSON.stringify(ready)}, String(process.pid));
    while (!existsSync(${JSON.stringify(go)})) await sleep(20);
    return [new Float64Array(f.get("close"))];
  },
};
`,
  );
  return {
    set: { generator: "./gate.mjs:gate", config: {} },
    async waitReady(timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      // the file may be seen between its creation and its write: wait for the pid in it
      for (;;) {
        const pid = existsSync(ready) ? Number(readFileSync(ready, "utf8")) : 0;
        if (pid > 0) return pid;
        if (Date.now() > deadline) throw new Error(`no process reached the gate in ${dir}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    open: () => writeFileSync(go, ""),
    reset() {
      rmSync(ready, { force: true });
      rmSync(go, { force: true });
    },
  };
}
