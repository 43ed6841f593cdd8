import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { SECRET_ENV } from "../../src/config/secrets.js";
import { ROOT } from "../helpers/paths.js";
import { execForm, itbCommandProblems, opsServer, readDockerfile } from "./deployFiles.js";

/**
 * deploy/terraform without Terraform: the HCL read with @cdktf/hcl2json (expressions come as
 * "${...}" text), then every variable, local, resource and data reference resolved to a declared
 * block, every credential taken from the Key Vault or a sensitive variable, and the commands,
 * ports and paths the containers use checked against itb and the image.
 */

const TF = resolve(ROOT, "deploy/terraform");
// required, not imported: the package's type declarations bring the DOM library into every file
const { parse: parseHcl } = createRequire(import.meta.url)("@cdktf/hcl2json") as {
  parse(file: string, text: string): Promise<unknown>;
};
/** A Terraform expression as hcl2json gives it: "${...}". */
const tf = (inner: string) => `\${${inner}}`;

type Body = Record<string, unknown>;
/** The blocks of a module, all files merged: resource/data by type and name, the others by name. */
interface Module {
  variable: Record<string, Body>;
  output: Record<string, Body>;
  locals: Body;
  resource: Record<string, Record<string, Body>>;
  data: Record<string, Record<string, Body>>;
}

async function readModule(files: Record<string, string>): Promise<Module> {
  const m: Module = { variable: {}, output: {}, locals: {}, resource: {}, data: {} };
  for (const [name, text] of Object.entries(files)) {
    const j = (await parseHcl(name, text)) as Record<string, unknown>;
    for (const [k, v] of Object.entries((j.variable ?? {}) as Record<string, Body[]>))
      m.variable[k] = v[0] as Body;
    for (const [k, v] of Object.entries((j.output ?? {}) as Record<string, Body[]>))
      m.output[k] = v[0] as Body;
    for (const l of (j.locals ?? []) as Body[]) Object.assign(m.locals, l);
    for (const kind of ["resource", "data"] as const) {
      for (const [type, byName] of Object.entries(
        (j[kind] ?? {}) as Record<string, Record<string, Body[]>>,
      )) {
        m[kind][type] ??= {};
        for (const [n, v] of Object.entries(byName))
          (m[kind][type] as Record<string, Body>)[n] = v[0] as Body;
      }
    }
  }
  return m;
}

/** Every string in a value, with the path of keys to it. */
function strings(v: unknown, path = ""): { path: string; text: string }[] {
  if (typeof v === "string") return [{ path, text: v }];
  if (Array.isArray(v)) return v.flatMap((x, i) => strings(x, `${path}[${i}]`));
  if (v !== null && typeof v === "object")
    return Object.entries(v).flatMap(([k, x]) => strings(x, `${path}.${k}`));
  return [];
}
/** Every key/value pair in a value, nested ones included. */
function pairs(v: unknown, path = ""): { key: string; value: unknown; path: string }[] {
  if (Array.isArray(v)) return v.flatMap((x, i) => pairs(x, `${path}[${i}]`));
  if (v !== null && typeof v === "object")
    return Object.entries(v).flatMap(([k, x]) => [
      { key: k, value: x, path: `${path}.${k}` },
      ...pairs(x, `${path}.${k}`),
    ]);
  return [];
}

const isExpression = (s: string) => s.includes("${");
const refs = (text: string, re: RegExp) =>
  isExpression(text) ? [...text.matchAll(re)].map((m) => m.slice(1)) : [];
const VAR = /(?<![\w.])var\.(\w+)/g;
const LOCAL = /(?<![\w.])local\.(\w+)/g;
const RESOURCE = /(?<![\w.])((?:azurerm|azuread|random)_\w+)\.(\w+)/g;
const DATA = /(?<![\w.])data\.(\w+)\.(\w+)/g;

/** Where the module names what it does not declare. */
function unresolved(m: Module): string[] {
  const out: string[] = [];
  const all = strings({
    variable: m.variable,
    output: m.output,
    locals: m.locals,
    resource: m.resource,
    data: m.data,
  });
  for (const s of all) {
    for (const [v] of refs(s.text, VAR))
      if (!((v as string) in m.variable)) out.push(`${s.path}: var.${v} is not declared`);
    for (const [l] of refs(s.text, LOCAL))
      if (!((l as string) in m.locals)) out.push(`${s.path}: local.${l} is not declared`);
    for (const [t, n] of refs(s.text, RESOURCE))
      if (m.resource[t as string]?.[n as string] === undefined)
        out.push(`${s.path}: resource ${t}.${n} is not declared`);
    for (const [t, n] of refs(s.text, DATA))
      if (m.data[t as string]?.[n as string] === undefined)
        out.push(`${s.path}: data ${t}.${n} is not declared`);
  }
  return out;
}

/** The variables an expression reads, through the locals it reads. */
function varsOf(m: Module, text: string, seen = new Set<string>()): string[] {
  const direct = refs(text, VAR).map(([v]) => v as string);
  const viaLocals = refs(text, LOCAL).flatMap(([l]) => {
    if (seen.has(l as string)) return [];
    seen.add(l as string);
    return strings(m.locals[l as string]).flatMap((s) => varsOf(m, s.text, seen));
  });
  return [...direct, ...viaLocals];
}

const SECRET_NAME = /(?:^|_)(?:api_key|api_secret|secret|password|passphrase|token|chat_id|access_key)$/i;

/** Credentials written as literals, or taken from something else than a sensitive variable or Key Vault. */
function secretProblems(m: Module): string[] {
  const out: string[] = [];
  for (const [name, v] of Object.entries(m.variable)) {
    if (SECRET_NAME.test(name) && v.sensitive !== true) out.push(`variable ${name} is not sensitive`);
    if (SECRET_NAME.test(name) && v.default !== undefined && v.default !== null)
      out.push(`variable ${name} has a default value`);
  }
  const blocks = { locals: m.locals, resource: m.resource, data: m.data, output: m.output };
  for (const p of pairs(blocks)) {
    if (!SECRET_NAME.test(p.key) || typeof p.value !== "string") continue;
    // a secret-looking attribute: an expression, reading only sensitive variables or resources
    if (!isExpression(p.value)) out.push(`${p.path}: a literal credential`);
    for (const v of varsOf(m, p.value))
      if (m.variable[v]?.sensitive !== true) out.push(`${p.path}: reads var.${v}, which is not sensitive`);
  }
  for (const [type, byName] of Object.entries(m.resource)) {
    for (const [name, body] of Object.entries(byName)) {
      if (type === "azurerm_key_vault_secret") {
        const value = String(body.value ?? "");
        const vars = varsOf(m, value);
        // or a storage account's own key or connection string, which the provider marks sensitive
        const own =
          /^\$\{azurerm_storage_account\.(\w+)\.primary_(?:blob_connection_string|connection_string|access_key)\}$/.exec(
            value,
          );
        const ownKey = own !== null && m.resource.azurerm_storage_account?.[own[1] as string] !== undefined;
        if (vars.length === 0 && !ownKey) out.push(`${type}.${name}: its value is not a variable`);
        for (const v of vars)
          if (m.variable[v]?.sensitive !== true)
            out.push(`${type}.${name}: its value reads var.${v}, not sensitive`);
      }
      // container secrets: Key Vault references read by an identity, never a value
      for (const p of pairs(body).filter((p) => p.key === "secret")) {
        for (const s of [p.value].flat(2) as Body[]) {
          const content = ((s.content as Body[] | undefined)?.[0] ?? s) as Body;
          if (content.value !== undefined) out.push(`${type}.${name}${p.path}: a secret with a value`);
          if (!/^\$\{azurerm_key_vault\.\w+\.vault_uri\}secrets\//.test(String(content.key_vault_secret_id)))
            out.push(`${type}.${name}${p.path}: not a Key Vault reference`);
          if (typeof content.identity !== "string") out.push(`${type}.${name}${p.path}: no identity`);
        }
      }
      // environment variables of containers: the credentials come from secrets
      for (const p of pairs(body).filter((p) => p.key === "env")) {
        for (const e of [p.value].flat(2) as Body[]) {
          const content = ((e.content as Body[] | undefined)?.[0] ?? e) as Body;
          if (content.value !== undefined && Object.values(SECRET_ENV).includes(String(content.name)))
            out.push(`${type}.${name}${p.path}: ${content.name} has a value`);
        }
      }
    }
  }
  // nothing that looks like a key or a bot token anywhere
  for (const s of strings({ variable: m.variable, ...blocks }))
    if (/^\d{6,}:[\w-]{30,}$|^[A-Za-z0-9+/=]{40,}$/.test(s.text))
      out.push(`${s.path}: looks like a credential`);
  return out;
}

let m: Module;
const files: Record<string, string> = {};

beforeAll(async () => {
  for (const f of readdirSync(TF).filter((f) => f.endsWith(".tf")))
    files[f] = readFileSync(resolve(TF, f), "utf8");
  m = await readModule(files);
});

describe("deploy/terraform", () => {
  it("declares the Azure resources of the deployment", () => {
    expect(Object.keys(files).sort()).toEqual([
      "containerApps.tf",
      "main.tf",
      "outputs.tf",
      "redis.tf",
      "variables.tf",
      "versions.tf",
    ]);
    expect(Object.keys(m.resource).sort()).toEqual([
      "azurerm_container_app",
      "azurerm_container_app_environment",
      "azurerm_container_app_environment_storage",
      "azurerm_container_app_job",
      "azurerm_container_registry",
      "azurerm_key_vault",
      "azurerm_key_vault_secret",
      "azurerm_log_analytics_workspace",
      "azurerm_redis_cache",
      "azurerm_resource_group",
      "azurerm_role_assignment",
      "azurerm_storage_account",
      "azurerm_storage_container",
      "azurerm_storage_share",
      "azurerm_storage_share_file",
      "azurerm_user_assigned_identity",
    ]);
    // Redis only when asked for
    expect(m.resource.azurerm_redis_cache?.queue?.count).toBe(tf("var.redis_enabled ? 1 : 0"));
    expect(m.variable.redis_enabled?.default).toBe(false);
  });

  it("resolves every variable, local, resource and data reference", () => {
    expect(unresolved(m)).toEqual([]);
  });

  it("documents every variable and output, and uses every variable", () => {
    const undocumented = [
      ...Object.entries(m.variable).filter(
        ([, v]) => typeof v.description !== "string" || v.type === undefined,
      ),
      ...Object.entries(m.output).filter(([, v]) => typeof v.description !== "string"),
    ].map(([k]) => k);
    expect(undocumented).toEqual([]);
    const used = new Set(
      strings({
        locals: m.locals,
        resource: m.resource,
        data: m.data,
        output: m.output,
        provider: files["versions.tf"],
      })
        .flatMap((s) => refs(s.text, VAR).map(([v]) => v as string))
        .concat([...(files["versions.tf"] as string).matchAll(/var\.(\w+)/g)].map((x) => x[1] as string)),
    );
    expect(Object.keys(m.variable).filter((v) => !used.has(v))).toEqual([]);
  });

  it("takes every credential from the Key Vault or a sensitive variable; no literal secret", () => {
    expect(secretProblems(m)).toEqual([]);
    const creds = m.locals.credentials as Record<string, { secret_name: string; env: string }>;
    expect(Object.fromEntries(Object.entries(creds).map(([k, v]) => [k, v.env]))).toEqual(SECRET_ENV);
    // the identity the containers run as reads the vault and pulls the image
    const roles = m.resource.azurerm_role_assignment as Record<string, Body>;
    const of = (r: Body) => [r.role_definition_name, r.scope, r.principal_id];
    expect(of(roles.secrets_read as Body)).toEqual([
      "Key Vault Secrets User",
      tf("azurerm_key_vault.main.id"),
      tf("azurerm_user_assigned_identity.itb.principal_id"),
    ]);
    expect(of(roles.pull as Body)).toEqual([
      "AcrPull",
      tf("azurerm_container_registry.main.id"),
      tf("azurerm_user_assigned_identity.itb.principal_id"),
    ]);
  });

  it("example.tfvars sets declared variables only, and no credential", async () => {
    const values = (await parseHcl(
      "example.tfvars",
      readFileSync(resolve(TF, "example.tfvars"), "utf8"),
    )) as Body;
    expect(Object.keys(values).filter((k) => m.variable[k] === undefined)).toEqual([]);
    expect(Object.keys(values).filter((k) => m.variable[k]?.sensitive === true)).toEqual([]);
    expect(existsSync(resolve(TF, values.config_file as string))).toBe(true);
    expect(values.credentials).toEqual(m.variable.credentials?.default);
  });

  it("the checks name what they find wrong", async () => {
    const bad = await readModule({
      "bad.tf": `
variable "telegram_bot_token" {
  type    = string
  default = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
}
variable "plain" {
  type = string
}
locals {
  key = var.plain
}
resource "azurerm_key_vault_secret" "k" {
  name         = "k"
  value        = local.key
  key_vault_id = azurerm_key_vault.nope.id
}
resource "azurerm_key_vault_secret" "literal" {
  name         = "l"
  value        = "plain text"
  key_vault_id = azurerm_key_vault.nope.id
}
resource "azurerm_container_app" "a" {
  secret {
    name  = "s"
    value = var.telegram_bot_token
  }
  template {
    container {
      env {
        name  = "ITB_API_KEY"
        value = "abc"
      }
    }
  }
  api_secret = "hunter2"
  name       = var.undeclared
}
`,
    });
    expect(unresolved(bad)).toEqual([
      ".resource.azurerm_container_app.a.name: var.undeclared is not declared",
      ".resource.azurerm_key_vault_secret.k.key_vault_id: resource azurerm_key_vault.nope is not declared",
      ".resource.azurerm_key_vault_secret.literal.key_vault_id: resource azurerm_key_vault.nope is not declared",
    ]);
    expect(secretProblems(bad)).toEqual([
      "variable telegram_bot_token is not sensitive",
      "variable telegram_bot_token has a default value",
      ".resource.azurerm_container_app.a.api_secret: a literal credential",
      "azurerm_container_app.a.secret: a secret with a value",
      "azurerm_container_app.a.secret: not a Key Vault reference",
      "azurerm_container_app.a.secret: no identity",
      "azurerm_container_app.a.template[0].container[0].env: ITB_API_KEY has a value",
      "azurerm_key_vault_secret.k: its value reads var.plain, not sensitive",
      "azurerm_key_vault_secret.literal: its value is not a variable",
      ".variable.telegram_bot_token.default: looks like a credential",
    ]);
  });

  it("runs itb commands that exist, on the image's data volume, probed where itb answers", async () => {
    const app = m.resource.azurerm_container_app?.serve as Body;
    const job = m.resource.azurerm_container_app_job?.pipeline as Body;
    const container = (b: Body) => (((b.template as Body[])[0] as Body).container as Body[])[0] as Body;
    const serveArgs = container(app).args as string[];
    const jobArgs = container(job).args as string[];
    const configPath = m.locals.config_path as string;
    expect(serveArgs).toEqual(["serve", "--config", tf("local.config_path"), "--address", "0.0.0.0:9464"]);
    expect(jobArgs.slice(0, 3)).toEqual(["pipeline", "--config", tf("local.config_path")]);
    for (const args of [serveArgs, jobArgs]) expect(itbCommandProblems(args)).toEqual([]);

    // the share is mounted on the image's working directory and volume, the config in it
    const dockerfile = readDockerfile(readFileSync(resolve(ROOT, "Dockerfile"), "utf8"));
    const volume = execForm(dockerfile.filter((i) => i.keyword === "VOLUME")[0]?.args ?? "")[0];
    expect(m.locals.data_path).toBe(volume);
    const share = m.resource.azurerm_storage_share_file as Record<string, Body>;
    expect(configPath).toBe(`${volume}/${share.config?.name}`);
    for (const b of [app, job])
      expect((container(b).volume_mounts as Body[])[0]?.path).toBe(tf("local.data_path"));
    // the config uploaded by default is one of the repository's, and loads
    const configFile = resolve(TF, m.variable.config_file?.default as string);
    expect(existsSync(configFile)).toBe(true);
    expect(loadConfig(configFile).config.data_folder).toBe("./data");

    // ingress and probes on the port serve listens on; the probed paths answer
    const port = Number((serveArgs[4] as string).split(":")[1]);
    expect((app.ingress as Body[])[0]?.target_port).toBe(port);
    const probes = ["liveness_probe", "readiness_probe"].map((k) => (container(app)[k] as Body[])[0] as Body);
    expect(probes.map((p) => [p.port, p.path])).toEqual([
      [port, "/healthz"],
      [port, "/readyz"],
    ]);
    const ops = await opsServer(() => ({ ready: true, reasons: {} }));
    try {
      for (const p of probes) expect((await fetch(`${ops.url}${p.path}`)).status, String(p.path)).toBe(200);
    } finally {
      await ops.close();
    }
    // the pipeline job runs on its schedule
    expect((job.schedule_trigger_config as Body[])[0]?.cron_expression).toBe(tf("var.pipeline_cron"));
  });
});
