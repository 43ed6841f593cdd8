import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { maskSecrets, parseConfigText } from "../../src/config/index.js";
import { ConfigError } from "../../src/core/errors.js";

const dir = mkdtempSync(join(tmpdir(), "itb-secrets-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function secretsFile(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

function load(c: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) {
  return parseConfigText(JSON.stringify({ symbol: "BTCUSDT", ...c }), "s.jsonc", {}, env);
}

function issuesOf(fn: () => unknown): readonly string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  throw new Error("expected a ConfigError");
}

const ENV = {
  ITB_API_KEY: "env-key-1111",
  ITB_API_SECRET: "env-secret-2222",
  ITB_TELEGRAM_BOT_TOKEN: "env-token-3333",
  ITB_TELEGRAM_CHAT_ID: "-1004444",
};

describe("secrets", () => {
  it("fall back to the environment", () => {
    const { config } = load({}, ENV);
    expect(config.api_key).toBe("env-key-1111");
    expect(config.api_secret).toBe("env-secret-2222");
    expect(config.telegram_bot_token).toBe("env-token-3333");
    expect(config.telegram_chat_id).toBe("-1004444");
  });

  it("are unset when nothing provides them", () => {
    const { config } = load({});
    expect(config.api_key).toBeUndefined();
    expect(config.telegram_chat_id).toBeUndefined();
  });

  it("fall back to a secrets file named by ITB_SECRETS_FILE", () => {
    const file = secretsFile(
      "env.jsonc",
      '{ "api_key": "file-key-5555", // comment\n "api_secret": "file-secret-6666", "telegram_chat_id": 777, }',
    );
    const { config } = load({}, { ITB_SECRETS_FILE: file });
    expect(config.api_key).toBe("file-key-5555");
    expect(config.api_secret).toBe("file-secret-6666");
    expect(config.telegram_chat_id).toBe("777");
  });

  it("fall back to a secrets file named by the config's secrets_file", () => {
    const file = secretsFile("config.json", '{"telegram_bot_token": "file-token-8888"}');
    expect(load({ secrets_file: file }).config.telegram_bot_token).toBe("file-token-8888");
  });

  it("take the config first, then the environment, then the file", () => {
    const file = secretsFile(
      "all.json",
      JSON.stringify({
        api_key: "file-key",
        api_secret: "file-secret",
        telegram_bot_token: "file-token",
        telegram_chat_id: "file-chat",
      }),
    );
    const { config } = load(
      { api_key: "config-key", api_secret: "", secrets_file: file },
      { ITB_API_KEY: "env-key", ITB_API_SECRET: "env-secret", ITB_TELEGRAM_BOT_TOKEN: "env-token" },
    );
    expect(config.api_key).toBe("config-key");
    expect(config.api_secret).toBe("env-secret"); // an empty config value does not count
    expect(config.telegram_bot_token).toBe("env-token");
    expect(config.telegram_chat_id).toBe("file-chat");
  });

  it("ignore the original's template placeholders, with a warning", () => {
    const { config, warnings } = load({ api_key: "<binance-key>" }, { ITB_API_KEY: "env-key" });
    expect(config.api_key).toBe("env-key");
    expect(warnings).toEqual(['api_key is the template placeholder "<binance-key>"; it is treated as unset']);
  });

  it("leave a template placeholder unset when nothing replaces it", () => {
    const { config } = load({ telegram_bot_token: "<token>" });
    expect(config.telegram_bot_token).toBeUndefined();
    expect(maskSecrets(config)).not.toHaveProperty("telegram_bot_token");
  });

  it("report a secrets file that cannot be read or parsed", () => {
    const missing = join(dir, "missing.json");
    expect(issuesOf(() => load({ secrets_file: missing }))).toEqual([
      `secrets_file: cannot read the secrets file ${JSON.stringify(missing)} (ENOENT)`,
    ]);
    expect(issuesOf(() => load({}, { ITB_SECRETS_FILE: missing }))).toEqual([
      `ITB_SECRETS_FILE: cannot read the secrets file ${JSON.stringify(missing)} (ENOENT)`,
    ]);
    const broken = secretsFile("broken.json", '{"api_key": "abc" "api_secret": "def"}');
    expect(issuesOf(() => load({ secrets_file: broken }))).toEqual([
      `${broken}:1:19: expected ",", found "api_secret"`,
    ]);
  });

  it("never echo a credential of the wrong type", () => {
    const file = secretsFile("typed.json", '{"api_secret": 98765432, "extra": 1}');
    const fileIssues = issuesOf(() => load({ secrets_file: file }));
    expect(fileIssues).toEqual([`${file}: api_secret: expected a string, found a number`]);
    const configIssues = issuesOf(() => load({ api_key: 12345678 }));
    expect(configIssues).toEqual(["api_key: expected a string, found a number"]);
    expect(JSON.stringify([fileIssues, configIssues])).not.toMatch(/98765432|12345678/);
  });

  it("are masked by maskSecrets, in a copy", () => {
    const { config } = load(
      {
        api_key: "config-key-secret",
        output_sets: [{ generator: "my_notifier", config: { bot_token: "nested-token", chat: "visible" } }],
        trade_model: { password: "" },
      },
      ENV,
    );
    const masked = maskSecrets(config);
    expect(masked.api_key).toBe("***");
    expect(masked.api_secret).toBe("***");
    expect(masked.telegram_bot_token).toBe("***");
    expect(masked.telegram_chat_id).toBe("***");
    expect(masked.output_sets).toEqual([
      { generator: "my_notifier", config: { bot_token: "***", chat: "visible" } },
    ]);
    expect(masked.trade_model).toEqual({ password: "" }); // empty stays empty
    expect(masked.symbol).toBe("BTCUSDT");
    expect(config.api_key).toBe("config-key-secret"); // the config itself is untouched

    const printed = JSON.stringify(masked);
    for (const secret of ["config-key-secret", ...Object.values(ENV), "nested-token"]) {
      expect(printed).not.toContain(secret);
    }
  });

  it("do not change the config hash", () => {
    const none = load({});
    const fromEnv = load({}, ENV);
    const inConfig = load({ api_key: "a", api_secret: "b", telegram_bot_token: "c", telegram_chat_id: 1 });
    const otherKey = load({ api_key: "other" });
    const withFile = load({ secrets_file: secretsFile("h.json", '{"api_key": "zzz"}') });
    for (const l of [fromEnv, inConfig, otherKey, withFile]) expect(l.hash).toBe(none.hash);
    expect(load({ symbol: "ETHUSDT" }).hash).not.toBe(none.hash);
  });
});

describe("ledger_url", () => {
  const url = "postgres://itb:hunter2@db.example:5432/prod?schema=live&sslmode=require";

  it("is read, printed with its password masked, and left out of the hash", () => {
    const loaded = load({ ledger_url: url });
    expect(loaded.config.ledger_url).toBe(url);
    expect(maskSecrets(loaded.config).ledger_url).toBe(
      "postgres://itb:***@db.example:5432/prod?schema=live&sslmode=require",
    );
    expect(JSON.stringify(maskSecrets(loaded.config))).not.toContain("hunter2");
    expect(loaded.hash).toBe(load({}).hash);
    // without a password there is nothing to mask
    expect(maskSecrets(load({ ledger_url: "postgres://root@127.0.0.1/test" }).config).ledger_url).toBe(
      "postgres://root@127.0.0.1/test",
    );
  });

  it("a malformed URL is a config error that names the problem, never the password", () => {
    const cases: [unknown, string][] = [
      [
        "mysql://itb:hunter2@db/prod",
        'ledger_url: a postgres:// or postgresql:// URL is expected, found "mysql:"',
      ],
      ["itb:hunter2@db:5432", 'ledger_url: a postgres:// or postgresql:// URL is expected, found "itb:"'],
      [
        "postgres://itb:hunter2@db/prod?schema=a;drop",
        'ledger_url: schema "a;drop" is not a plain name (letters, digits and _, at most 63, not starting with a digit)',
      ],
      [
        "not a url at all",
        "ledger_url: not a URL; a postgres://user[:password]@host[:port]/database[?schema=name] URL is expected",
      ],
      [5432, "ledger_url: expected a postgres:// URL, found 5432"],
    ];
    for (const [value, issue] of cases) {
      const issues = issuesOf(() => load({ ledger_url: value }));
      expect(issues, String(value)).toEqual([issue]);
      expect(issues.join("\n")).not.toContain("hunter2");
    }
  });
});
