import type { SecretKey } from "./secrets.js";

/**
 * The environment variables credentials are read from (secrets.ts), apart from the config's
 * code: `itb telegram-sim --help` names one without loading it.
 */
export const SECRET_ENV: Readonly<Record<SecretKey, string>> = {
  api_key: "ITB_API_KEY",
  api_secret: "ITB_API_SECRET",
  telegram_bot_token: "ITB_TELEGRAM_BOT_TOKEN",
  telegram_chat_id: "ITB_TELEGRAM_CHAT_ID",
  serve_read_token: "ITB_SERVE_READ_TOKEN",
  serve_control_token: "ITB_SERVE_CONTROL_TOKEN",
};
