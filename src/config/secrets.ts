import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { ConfigError, errorMessage } from "../core/errors.js";
import { describeKind, isPlainObject } from "./format.js";
import { parseJsonc } from "./jsonc.js";
import { SECRET_ENV } from "./secretEnv.js";

/**
 * Credentials: taken from the config, else the environment, else a secrets file, so a config
 * can be shared or committed without them. They never reach a log, a printed config or the
 * config hash.
 */
export const SECRET_KEYS = [
  "api_key",
  "api_secret",
  "telegram_bot_token",
  "telegram_chat_id",
  "serve_read_token",
  "serve_control_token",
] as const;
export type SecretKey = (typeof SECRET_KEYS)[number];

export { SECRET_ENV };

export const SECRETS_FILE_ENV = "ITB_SECRETS_FILE";

export const MASK = "***";

/** Credentials under other names (a trader's `password`, a custom output's `bot_token`) are masked too. */
const SECRET_LIKE = /(?:^|_)(?:api_key|api_secret|secret|secret_key|password|passphrase|token)$/i;

export function isSecretKey(key: PropertyKey): boolean {
  return (
    typeof key === "string" && ((SECRET_KEYS as readonly string[]).includes(key) || SECRET_LIKE.test(key))
  );
}

/** The original's sample configs ship `"<binance-key>"`-style placeholders; they are not credentials. */
const TEMPLATE_PLACEHOLDER = /^<[^<>]*>$/;

function usable(value: unknown): string | undefined {
  if (typeof value === "number") return String(value);
  // a list of chat ids: one text, comma-separated, as ITB_TELEGRAM_CHAT_ID takes it
  if (Array.isArray(value) && value.length > 0 && value.every((v) => usable(v) !== undefined))
    return value.map((v) => usable(v)).join(",");
  if (typeof value !== "string") return undefined;
  const s = value.trim();
  return s === "" || TEMPLATE_PLACEHOLDER.test(s) ? undefined : s;
}

export interface SecretResolution {
  values: Partial<Record<SecretKey, string>>;
  issues: string[];
  warnings: string[];
}

/**
 * Resolves the credentials: a non-empty config value, else `ITB_*` environment variables,
 * else the secrets file named by the config's `secrets_file` or by `ITB_SECRETS_FILE`.
 */
export function resolveSecrets(config: Record<string, unknown>, env: NodeJS.ProcessEnv): SecretResolution {
  const issues: string[] = [];
  const warnings: string[] = [];
  for (const key of SECRET_KEYS) {
    const v = config[key];
    if (typeof v === "string" && TEMPLATE_PLACEHOLDER.test(v.trim())) {
      // Safe to echo: a value in angle brackets is a sample's placeholder, not a credential.
      warnings.push(`${key} is the template placeholder ${JSON.stringify(v.trim())}; it is treated as unset`);
    }
  }

  const fromConfig = typeof config.secrets_file === "string" && config.secrets_file.trim() !== "";
  const fileName = fromConfig ? String(config.secrets_file) : env[SECRETS_FILE_ENV]?.trim() || undefined;
  const fileValues = fileName === undefined ? {} : readSecretsFile(fileName, fromConfig, issues, warnings);

  const values: Partial<Record<SecretKey, string>> = {};
  for (const key of SECRET_KEYS) {
    const value = usable(config[key]) ?? usable(env[SECRET_ENV[key]]) ?? fileValues[key];
    if (value !== undefined) values[key] = value;
  }
  return { values, issues, warnings };
}

function readSecretsFile(
  fileName: string,
  fromConfig: boolean,
  issues: string[],
  warnings: string[],
): Partial<Record<SecretKey, string>> {
  const where = fromConfig ? "secrets_file" : SECRETS_FILE_ENV;
  let textContent: string;
  try {
    textContent = readFileSync(resolve(fileName), "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? errorMessage(err);
    issues.push(`${where}: cannot read the secrets file ${JSON.stringify(fileName)} (${code})`);
    return {};
  }
  let parsed: unknown;
  try {
    parsed = parseJsonc(textContent, fileName, "secrets file").value;
  } catch (err) {
    if (err instanceof ConfigError) issues.push(...err.issues);
    else throw err;
    return {};
  }
  if (!isPlainObject(parsed)) {
    issues.push(
      `${fileName}: expected an object with ${SECRET_KEYS.join(", ")}, found ${describeKind(parsed)}`,
    );
    return {};
  }
  const values: Partial<Record<SecretKey, string>> = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (!(SECRET_KEYS as readonly string[]).includes(key)) {
      warnings.push(
        `unknown key "${key}" in the secrets file ${fileName}; expected ${SECRET_KEYS.join(", ")}`,
      );
      continue;
    }
    const okType =
      typeof value === "string" ||
      (key === "telegram_chat_id" && (typeof value === "number" || Array.isArray(value))) ||
      (key.startsWith("serve_") && Array.isArray(value) && value.every((x) => typeof x === "string"));
    if (!okType) {
      // The value is echoed by kind only: it may be a credential in the wrong shape.
      issues.push(`${fileName}: ${key}: expected a string, found ${describeKind(value)}`);
      continue;
    }
    const v = usable(value);
    if (v !== undefined) values[key as SecretKey] = v;
  }
  return values;
}

const DROP: unique symbol = Symbol("drop");

function mapSecrets(value: unknown, onSecret: (v: unknown) => unknown | typeof DROP): unknown {
  if (Array.isArray(value)) return value.map((v) => mapSecrets(v, onSecret));
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (isSecretKey(k)) {
      const replaced = onSecret(v);
      if (replaced !== DROP) out[k] = replaced;
    } else {
      out[k] = mapSecrets(v, onSecret);
    }
  }
  return out;
}

function isEmptySecret(v: unknown): boolean {
  return v === undefined || v === null || v === "";
}

/** Keys whose value is a URL that may hold a password: printed with the password masked. */
const URL_KEYS = new Set(["ledger_url"]);

export function isUrlSecretKey(key: PropertyKey): boolean {
  return typeof key === "string" && URL_KEYS.has(key);
}

/**
 * A deep copy of the config with every non-empty credential replaced by `"***"` and the
 * password of `ledger_url` masked, safe to print.
 */
export function maskSecrets(config: object): Record<string, unknown> {
  const masked = mapSecrets(config, (v) => (isEmptySecret(v) ? v : MASK)) as Record<string, unknown>;
  for (const key of URL_KEYS) {
    const v = masked[key];
    if (typeof v === "string") masked[key] = maskUrl(v);
  }
  return masked;
}

/** A deep copy without credentials at all, so that setting or changing one leaves the hash alone. */
export function withoutSecrets(config: object): Record<string, unknown> {
  return mapSecrets(config, () => DROP) as Record<string, unknown>;
}

/**
 * A connection URL safe to print: its password (`postgres://user:pw@host/db`) replaced by
 * `"***"`. Text that is not a URL is masked whole, since it may hold a password anywhere.
 */
export function maskUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return MASK;
  }
  if (u.password !== "") u.password = MASK;
  for (const key of [...u.searchParams.keys()]) {
    if (/^(password|passfile|sslpassword|sslkey)$/i.test(key)) u.searchParams.set(key, MASK);
  }
  return u.toString();
}
