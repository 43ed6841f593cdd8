import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { loadConfig } from "../../src/config/load.js";
import { symbolOutputFile } from "../../src/data/paths.js";
import { ROOT } from "../helpers/paths.js";
import { itbCommandProblems, npmScripts, readDockerfile } from "./deployFiles.js";

/**
 * The GitHub Actions workflows: each valid by action-validator (GitHub's workflow schema), and
 * every command they run one that exists: .ci/run, npm scripts, itb subcommands with their
 * options, the configs and files they name.
 */

const WORKFLOWS = resolve(ROOT, ".github/workflows");
const VALIDATOR = resolve(ROOT, "node_modules/.bin/action-validator");
const files = readdirSync(WORKFLOWS).filter((f) => f.endsWith(".yml"));

type Step = { uses?: string; run?: string; with?: Record<string, unknown>; if?: string };
type Job = {
  "runs-on": string;
  container?: { image: string };
  services?: Record<string, { image: string; env?: Record<string, string> }>;
  env?: Record<string, string>;
  strategy?: { matrix: Record<string, unknown> };
  steps: Step[];
};
type Workflow = { name: string; on: Record<string, unknown>; jobs: Record<string, Job> };
const read = (f: string) => parse(readFileSync(resolve(WORKFLOWS, f), "utf8")) as Workflow;

function validate(file: string): { status: number | null; output: string } {
  const r = spawnSync(VALIDATOR, [file], { encoding: "utf8", timeout: 30_000 });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

/** A run step's command lines: `${{ }}` expressions stood in for, output redirections cut. */
function commands(run: string): string[][] {
  return run
    .replace(/\$\{\{[^}]*\}\}/g, "X")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) =>
      l
        .replace(/\s*>.*$/, "")
        .split(/\s+/)
        .map((w) => w.replace(/^"(.*)"$/, "$1")),
    );
}

/** What is wrong with a command a workflow runs. */
function commandProblems(argv: string[]): string[] {
  const [cmd, ...args] = argv;
  if (cmd === "bash") return existsSync(resolve(ROOT, args[0] as string)) ? [] : [`no file ${args[0]}`];
  if (cmd === "./bin/itb") {
    const problems = itbCommandProblems(args);
    const config = args[args.indexOf("--config") + 1];
    if (args.includes("--config") && !existsSync(resolve(ROOT, config as string)))
      problems.push(`no config ${config}`);
    return problems;
  }
  if (cmd === "npm") {
    const [sub, script] = args;
    if (sub === "ci" || sub === "test") return [];
    if (sub === "run")
      return script !== undefined && script in npmScripts() ? [] : [`no npm script ${script}`];
    return [`npm ${sub}: not a command the project's workflows use`];
  }
  if (cmd === "az" || cmd === "docker") return [];
  return [`unknown command ${cmd}`];
}

describe(".github/workflows", () => {
  it("holds ci, image and pipeline", () => {
    expect(files.sort()).toEqual(["ci.yml", "image.yml", "pipeline.yml"]);
    expect(files.map((f) => read(f).name)).toEqual(["ci", "image", "pipeline"]);
  });

  it("every workflow passes action-validator, which refuses a broken one", () => {
    for (const f of files) {
      const r = validate(resolve(WORKFLOWS, f));
      expect(r.status, `${f}: ${r.output}`).toBe(0);
    }
    const dir = mkdtempSync(join(tmpdir(), "itb-workflow-"));
    try {
      const broken = readFileSync(resolve(WORKFLOWS, "ci.yml"), "utf8").replace("runs-on:", "runs_on:");
      writeFileSync(join(dir, "ci.yml"), broken);
      const r = validate(join(dir, "ci.yml"));
      expect(r.status).toBe(1);
      expect(r.output).toContain("Additional property 'runs_on' is not allowed");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("runs only commands, scripts, itb subcommands, options and files that exist", () => {
    const problems: string[] = [];
    const ran: string[] = [];
    for (const f of files) {
      for (const [name, job] of Object.entries(read(f).jobs)) {
        for (const step of job.steps) {
          if (step.run === undefined) continue;
          for (const argv of commands(step.run)) {
            ran.push(argv.slice(0, 2).join(" "));
            for (const p of commandProblems(argv)) problems.push(`${f} ${name}: ${p}`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
    expect(ran).toEqual([
      "bash .ci/run",
      "az acr",
      "docker run",
      "az containerapp",
      "npm ci",
      "./bin/itb pipeline",
    ]);
    // the check refuses what is not there
    expect(commandProblems(["./bin/itb", "deploy", "--to", "azure"])).toEqual([
      '"itb deploy" is not an itb subcommand',
    ]);
    expect(commandProblems(["./bin/itb", "worker", "--queue", "redis://x"])).toEqual([]);
    expect(commandProblems(["npm", "run", "deploy"])).toEqual(["no npm script deploy"]);
    expect(commandProblems(["./bin/itb", "pipeline", "--config", "configs/none.jsonc"])).toEqual([
      "no config configs/none.jsonc",
    ]);
  });

  it("pins every action to a major version", () => {
    const uses = files.flatMap((f) => Object.values(read(f).jobs).flatMap((j) => j.steps.map((s) => s.uses)));
    const actions = uses.filter((u): u is string => u !== undefined);
    expect(actions.filter((u) => !/^[\w-]+\/[\w-]+@v\d+$/.test(u))).toEqual([]);
  });

  it("ci runs .ci/run on Debian bookworm with the image's Node, and a PostgreSQL service for the ledger tests", () => {
    const ci = read("ci.yml");
    expect(Object.keys(ci.on).sort()).toEqual(["pull_request", "push", "workflow_dispatch"]);
    const job = ci.jobs.ci as Job;
    const base = readDockerfile(readFileSync(resolve(ROOT, "Dockerfile"), "utf8"))[0]?.args.split(" ")[0];
    expect(base).toBe("node:20-bookworm-slim");
    expect(job.container?.image).toBe((base as string).replace("-slim", ""));
    expect(job.steps.map((s) => s.run ?? s.uses)).toEqual(["actions/checkout@v4", "bash .ci/run"]);
    const pg = job.services?.postgres;
    const url = new URL(job.env?.ITB_TEST_POSTGRES_URL as string);
    expect([url.hostname, url.username, url.password, url.pathname]).toEqual([
      "postgres",
      pg?.env?.POSTGRES_USER,
      pg?.env?.POSTGRES_PASSWORD,
      `/${pg?.env?.POSTGRES_DB}`,
    ]);
  });

  it("image builds the repository's Dockerfile on main and names the variables it needs", () => {
    const text = readFileSync(resolve(WORKFLOWS, "image.yml"), "utf8");
    const image = read("image.yml");
    expect(image.on.push).toEqual({ branches: ["main"] });
    const build = image.jobs.image?.steps.find((s) => s.uses?.startsWith("docker/build-push-action@"));
    expect(existsSync(resolve(ROOT, build?.with?.context as string, build?.with?.file as string))).toBe(true);
    expect(build?.with?.push).toBe(true);
    // each repository variable it reads is named in its opening comment and in docs/deploy.md
    const used = [...new Set([...text.matchAll(/\bvars\.(\w+)/g)].map((m) => m[1] as string))];
    const header = text.slice(0, text.indexOf("\nname:"));
    const docs = readFileSync(resolve(ROOT, "docs/deploy.md"), "utf8");
    expect(used.filter((v) => !header.includes(v) || !docs.includes(v))).toEqual([]);
    expect(used.length).toBe(7);
  });

  it("pipeline runs itb pipeline per market of its matrix, on a schedule and by hand, and keeps what it writes", () => {
    const wf = read("pipeline.yml");
    expect(Object.keys(wf.on).sort()).toEqual(["schedule", "workflow_dispatch"]);
    const job = wf.jobs.market as Job;
    const dispatch = wf.on.workflow_dispatch as { inputs: { symbols: { default: string } } };
    const symbols = JSON.parse(dispatch.inputs.symbols.default) as string[];
    expect(job.strategy?.matrix.symbol).toBe(
      `\${{ fromJSON(inputs.symbols || '${JSON.stringify(symbols).replace(",", ", ")}') }}`,
    );
    const run = job.steps.find((s) => s.run?.includes("./bin/itb pipeline"))?.run as string;
    const argv = (commands(run)[0] as string[]).slice(1);
    const configFile = resolve(ROOT, argv[argv.indexOf("--config") + 1] as string);
    const upload = job.steps.find((s) => s.uses?.startsWith("actions/upload-artifact@"));
    const kept = String(upload?.with?.path).trim().split("\n");
    for (const symbol of symbols) {
      // the config takes each symbol, and the artifact holds where its report and models go
      const { config } = loadConfig(configFile, { symbol });
      const report = relative(ROOT, resolve(ROOT, symbolOutputFile(config, "report", "html")));
      const models = `${relative(ROOT, resolve(ROOT, config.data_folder, symbol, config.model_folder))}/`;
      const expand = (p: string) => p.replaceAll(`\${{ matrix.symbol }}`, symbol);
      expect(kept.map(expand)).toContain(models);
      expect(kept.map(expand)).toContain(report.replace(/\.html$/, ".*"));
    }
  });
});
