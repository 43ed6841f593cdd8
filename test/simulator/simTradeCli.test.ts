import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { parseFaultSpec } from "../../src/simulator/index.js";
import { itb, spawnItb } from "../helpers/cli.js";
import { SAMPLE } from "../helpers/paths.js";

/** `itb sim`'s trading account flags and the accept-fail fault spec. */

const SECRET = "cli-secret-9Xq";

async function signed(
  url: string,
  method: string,
  path: string,
  params: string,
): Promise<{ status: number; body: string }> {
  const signature = createHmac("sha256", SECRET).update(params).digest("hex");
  const res = await fetch(`${url}${path}?${params}&signature=${signature}`, {
    method,
    headers: { "X-MBX-APIKEY": "cli-key" },
  });
  return { status: res.status, body: await res.text() };
}

describe("itb sim trading", () => {
  it("serves the account given by --api-key/--api-secret/--balance; accept-fail places the order, answers 503", async () => {
    const p = spawnItb([
      "--log-level",
      "info",
      "sim",
      "--archive",
      SAMPLE,
      "--port",
      "0",
      "--start",
      "2023-03-10T10:00:30",
      "--speed",
      "0",
      "--api-key",
      "cli-key",
      "--api-secret",
      SECRET,
      "--balance",
      "USDT=500,BTC=0.25",
      "--fault",
      "accept-fail=503,path=/api/v3/order,nth=1",
    ]);
    try {
      await p.waitFor(/Ctrl-C/, { stream: "stdout", timeoutMs: 30_000 });
      const url = /http:\/\/127\.0\.0\.1:\d+/.exec(p.stdout())?.[0] as string;
      expect(p.stdout()).toContain("account key cli-key, balances USDT=500,BTC=0.25");
      const ts = Date.UTC(2023, 2, 10, 10, 0, 30);
      const account = await signed(url, "GET", "/api/v3/account", `omitZeroBalances=true&timestamp=${ts}`);
      expect(account.status).toBe(200);
      expect(JSON.parse(account.body).balances).toEqual([
        { asset: "USDT", free: "500.00000000", locked: "0.00000000" },
        { asset: "BTC", free: "0.25000000", locked: "0.00000000" },
      ]);
      const placed = await signed(
        url,
        "POST",
        "/api/v3/order",
        `symbol=BTCUSDT&side=SELL&type=LIMIT&timeInForce=GTC&quantity=0.1&price=90000&newClientOrderId=cli-1&timestamp=${ts}`,
      );
      expect(placed.status).toBe(503);
      const found = await signed(
        url,
        "GET",
        "/api/v3/order",
        `symbol=BTCUSDT&origClientOrderId=cli-1&timestamp=${ts}`,
      );
      expect(JSON.parse(found.body)).toMatchObject({
        clientOrderId: "cli-1",
        status: "NEW",
        price: "90000.00000000",
        origQty: "0.10000000",
      });
    } finally {
      p.child.kill("SIGTERM");
    }
    const end = await p.done;
    expect(end.status).toBe(0);
    expect(end.stdout + end.stderr).not.toContain(SECRET);
  });

  it("a malformed --balance is a usage error naming the flag", () => {
    const r = itb(["sim", "--archive", SAMPLE, "--balance", "USDT:100"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(
      'invalid --balance "USDT:100": expected ASSET=AMOUNT,... e.g. USDT=10000,BTC=0',
    );
    expect(r.stderr).not.toContain("    at ");
  });
});

describe("itb sim order options", () => {
  it("--participation must be a share above 0 and at most 1; --help documents it and the order faults", () => {
    for (const bad of ["0", "1.5", "x"]) {
      const r = itb(["sim", "--archive", SAMPLE, "--participation", bad]);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(`invalid --participation "${bad}"`);
    }
    const help = itb(["sim", "--help"]);
    expect(help.status).toBe(0);
    const text = help.stdout.replace(/\s+/g, " ");
    expect(text).toContain("--participation <share>");
    expect(text).toContain(
      "drop-user[,nth=N] (closes every user-data WebSocket once; listen keys stay valid)",
    );
    expect(text).toContain("accept-fail=timeout,method=DELETE,path=/api/v3/order (a cancel done, no answer)");
    expect(text).toContain("/api/v3/userDataStream");
  });
});

describe("accept-fail fault specs", () => {
  it("parses a status, a timeout and a hang time", () => {
    expect(parseFaultSpec("accept-fail=503,path=/api/v3/order,nth=1")).toEqual([
      { kind: "accept-fail", status: 503, path: "/api/v3/order", nth: [1] },
    ]);
    expect(parseFaultSpec("accept-fail=timeout,delay-ms=15000")).toEqual([
      { kind: "accept-fail", delayMs: 15000 },
    ]);
    expect(parseFaultSpec("accept-fail")).toEqual([{ kind: "accept-fail" }]);
    expect(() => parseFaultSpec("accept-fail=abc")).toThrow(
      'invalid fault "accept-fail=abc": accept-fail needs a number',
    );
  });
});
