import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import Fastify from "fastify";
import { Registry } from "prom-client";
import { type Readiness, registerOps } from "../../src/server/ops.js";
import { ROOT } from "../helpers/paths.js";

/**
 * Helpers for the deployment files' tests: a Dockerfile reader, and a check that an `itb`
 * command line (as a Dockerfile, compose file or workflow writes it) names a subcommand and
 * options that the built CLI has.
 */

export interface DockerInstruction {
  /** Upper-case keyword: FROM, RUN, COPY, ... */
  keyword: string;
  /** The rest of the instruction, continuation lines joined. */
  args: string;
  /** 1-based line of the keyword. */
  line: number;
}

/** The instructions of a Dockerfile: comments dropped, `\` continuations joined. */
export function readDockerfile(text: string): DockerInstruction[] {
  const out: DockerInstruction[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const first = (lines[i] as string).trim();
    if (first === "" || first.startsWith("#")) continue;
    const start = i + 1;
    let body = first;
    while (body.endsWith("\\") && i + 1 < lines.length) {
      body = body.slice(0, -1);
      i++;
      const next = (lines[i] as string).trim();
      if (!next.startsWith("#")) body += ` ${next}`;
    }
    const m = /^(\w+)\s+([\s\S]*)$/.exec(body.trim());
    if (m === null) throw new Error(`Dockerfile line ${start}: cannot read "${body}"`);
    out.push({ keyword: (m[1] as string).toUpperCase(), args: (m[2] as string).trim(), line: start });
  }
  return out;
}

/** An exec-form (JSON array) argument list, or the shell form split on blanks. */
export function execForm(args: string): string[] {
  if (args.startsWith("[")) return JSON.parse(args) as string[];
  return args.split(/\s+/).filter((a) => a !== "");
}

/** COPY/ADD: its --flags (without values), and its sources and destination. */
export function copyParts(args: string): { flags: Record<string, string>; sources: string[]; dest: string } {
  const words = execForm(args);
  const flags: Record<string, string> = {};
  while (words[0]?.startsWith("--")) {
    const [k, v] = (words.shift() as string).slice(2).split("=");
    flags[k as string] = v ?? "";
  }
  const dest = words.pop();
  if (dest === undefined || words.length === 0)
    throw new Error(`COPY ${args}: needs a source and a destination`);
  return { flags, sources: words, dest };
}

const helpCache = new Map<string, string>();

/** `itb <subcommand> --help` of the built CLI (dist/), cached per subcommand. */
export function itbHelp(subcommand: string): { status: number | null; text: string } {
  const cached = helpCache.get(subcommand);
  if (cached !== undefined) return { status: 0, text: cached };
  const r = spawnSync(process.execPath, [resolve(ROOT, "bin/itb"), subcommand, "--help"], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 60_000,
  });
  if (r.status === 0) helpCache.set(subcommand, r.stdout);
  return { status: r.status, text: `${r.stdout}${r.stderr}` };
}

/**
 * What is wrong with an itb argument list (`["serve", "--config", "x"]`): an unknown subcommand
 * or an option its help does not list. Empty when the command line is one itb takes.
 */
export function itbCommandProblems(argv: readonly string[]): string[] {
  const sub = argv[0];
  if (sub === undefined || sub.startsWith("-")) return [`no subcommand in "itb ${argv.join(" ")}"`];
  const help = itbHelp(sub);
  if (help.status !== 0 || !help.text.startsWith(`Usage: itb ${sub}`)) {
    return [`"itb ${sub}" is not an itb subcommand`];
  }
  const problems: string[] = [];
  for (const a of argv.slice(1)) {
    if (!a.startsWith("--")) continue;
    const flag = a.split("=")[0] as string;
    // commander lists "--no-x" for negatable options and "-c, --config <file>" for the others
    if (!new RegExp(`(^|[\\s,])${flag.replace(/[-]/g, "\\-")}(\\s|$|\\[|<|,)`, "m").test(help.text)) {
      problems.push(`"itb ${sub}" has no option ${flag}`);
    }
  }
  return problems;
}

/** The package's npm scripts. */
export function npmScripts(): Record<string, string> {
  const pkg = JSON.parse(readFileSync(resolve(ROOT, "package.json"), "utf8")) as {
    scripts: Record<string, string>;
  };
  return pkg.scripts;
}

export const DASHBOARD = resolve(ROOT, "deploy/grafana/dashboards/itb.json");

export interface Dashboard {
  panels: {
    title: string;
    datasource: { uid: string };
    targets: { expr: string; datasource: { uid: string } }[];
  }[];
  templating: { list: { query: { query: string } }[] };
}

export function readDashboard(file: string): Dashboard {
  return JSON.parse(readFileSync(file, "utf8")) as Dashboard;
}

/** Every PromQL expression of a Grafana dashboard: its panels' queries and its variables'. */
export function dashboardQueries(d: Dashboard): string[] {
  return [
    ...d.panels.flatMap((p) => p.targets.map((t) => t.expr)),
    ...d.templating.list.map((v) => v.query.query),
  ];
}

/** The metric names a PromQL expression uses (itb's all start with itb_). */
export function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\b(itb_[a-z0-9_]+)\b/g)].map((m) => m[1] as string);
}

/** itb's operations endpoints (/healthz, /readyz, /metrics) on a loopback port, as itb serve mounts them. */
export async function opsServer(
  readiness: () => Readiness,
): Promise<{ url: string; close(): Promise<void> }> {
  const app = Fastify({ logger: false });
  registerOps(app, { registry: new Registry(), readiness });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const a = app.server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${a.port}`, close: () => app.close() };
}
