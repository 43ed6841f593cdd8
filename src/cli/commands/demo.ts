import type { Command } from "commander";

export function registerDemoCommand(program: Command): void {
  program
    .command("demo")
    .summary("the whole pipeline offline on the bundled real sample, downloaded from `itb sim` on loopback")
    .description(
      "Starts the Binance-compatible simulator on 127.0.0.1:9901 (another free port when that one is taken) " +
        "serving the bundled real candles (sample/binance-vision: BTCUSDT spot and ETHUSDT USD-M perpetual 1m, " +
        "2023-02..04), then runs configs/demo.jsonc through every stage — download (through ccxt, as from " +
        "Binance), merge, features, labels, train, walk-forward predictions, signals, threshold search, " +
        "report — and prints the summary and the report's path. A second run skips what is up to date.",
    )
    .option("--data-folder <dir>", "where the demo writes its store", "data/demo")
    .option("--force", "rerun every stage")
    .option("--to <stage>", "stop after this stage (e.g. download: just fetch the sample)")
    .addHelpText("after", "\nExample:\n  itb demo --data-folder /tmp/itb-demo")
    .action(async (opts: { dataFolder: string; force?: boolean; to?: string }, cmd: Command) => {
      const { demoAction } = await import("../actions/demo.js");
      await demoAction(opts, cmd);
    });
}
