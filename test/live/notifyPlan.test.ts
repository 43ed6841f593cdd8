import { describe, expect, it } from "vitest";
import { parseConfigText } from "../../src/config/index.js";
import { ConfigError } from "../../src/core/errors.js";
import { planNotifications } from "../../src/live/notify/plan.js";

/**
 * What output_sets ask of the notifications: Telegram with its credentials (a list of chats from
 * the config or the environment), trade messages with paper trading, webhooks by a digest of
 * their URL, and a clear error naming the missing credential.
 */

const SCORE = { generator: "score_notification_model", config: { score_column_names: ["trade_score"] } };
const TOKEN = "123:abc";

function plan(c: Record<string, unknown>, env: NodeJS.ProcessEnv = {}, paper = true) {
  const { config } = parseConfigText(JSON.stringify({ symbol: "BTCUSDT", ...c }), "n.jsonc", {}, env);
  return planNotifications(config, paper);
}

describe("the notification plan", () => {
  it("takes a list of chats from the config, or a comma-separated one from the environment", () => {
    expect(
      plan({ output_sets: [SCORE], telegram_bot_token: TOKEN, telegram_chat_id: [42, "-1001"] }).telegram
        ?.chats,
    ).toEqual(["42", "-1001"]);
    const fromEnv = plan(
      { output_sets: [SCORE] },
      { ITB_TELEGRAM_BOT_TOKEN: TOKEN, ITB_TELEGRAM_CHAT_ID: "7, 8" },
    );
    expect(fromEnv.telegram).toMatchObject({
      token: TOKEN,
      chats: ["7", "8"],
      parseMode: "Markdown",
      tradeMessages: true,
    });
    expect(fromEnv.dailyAtMinute).toBe(0);
  });

  it("refuses a Telegram output without a token or a chat id, naming the key", () => {
    const err = (c: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) => {
      try {
        plan(c, env);
      } catch (e) {
        if (e instanceof ConfigError) return e.message;
        throw e;
      }
      return "no error";
    };
    expect(err({ output_sets: [SCORE], telegram_chat_id: 1 })).toBe(
      "telegram_bot_token: expected the bot's token (or ITB_TELEGRAM_BOT_TOKEN, or a secrets file), for output_sets[0] (score_notification_model)",
    );
    expect(err({ output_sets: [{ generator: "console" }, SCORE] }, { ITB_TELEGRAM_BOT_TOKEN: TOKEN })).toBe(
      "telegram_chat_id: expected a chat id or a list of them (or ITB_TELEGRAM_CHAT_ID, or a secrets file), for output_sets[1] (score_notification_model)",
    );
  });

  it("sends trade messages only with paper trading and credentials; webhooks without Telegram", () => {
    const creds = { telegram_bot_token: TOKEN, telegram_chat_id: 1 };
    expect(
      plan({ output_sets: [{ generator: "trader_simulation" }], ...creds }).telegram?.tradeMessages,
    ).toBe(true);
    expect(plan({ output_sets: [{ generator: "console" }], ...creds }, {}, false).telegram).toBeUndefined();
    expect(
      plan({
        output_sets: [{ generator: "trader_simulation" }],
        ...creds,
        telegram: { trade_messages: false },
      }).telegram,
    ).toBeUndefined();
    const hooks = plan({
      output_sets: [{ generator: "webhook", config: { url: "https://example.com/hook/secret" } }],
    });
    expect(hooks.telegram).toBeUndefined();
    const key = [...hooks.webhooks.keys()][0] as string;
    const hook = hooks.webhooks.get(key);
    expect(key).toMatch(/^[0-9a-f]{16}$/);
    expect(key).not.toContain("secret");
    expect(hook?.label).toBe("output_sets[0] (webhook)");
    expect(hook?.events).toEqual(["score", "order", "trade", "daily"]);
  });
});
