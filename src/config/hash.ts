import { createHash } from "node:crypto";
import { withoutSecrets } from "./secrets.js";

/**
 * The config hash identifies a run and the models it trains: SHA-256 of the resolved config
 * (defaults filled, placeholders substituted) as canonical JSON, so key order, comments,
 * formatting and spelling out a default do not change it. Credentials are left out, and so
 * are `secrets_file`, `ledger_url` and `$schema`, which say where things are, not what is
 * computed.
 */
const NOT_HASHED = new Set(["secrets_file", "ledger_url", "$schema"]);

export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v ?? null)).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record)
      .filter((k) => record[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k])}`).join(",")}}`;
  }
  return JSON.stringify(value ?? null);
}

export function configHash(config: object): string {
  const hashed = withoutSecrets(config);
  for (const key of NOT_HASHED) delete hashed[key];
  return createHash("sha256").update(canonicalJson(hashed)).digest("hex");
}
