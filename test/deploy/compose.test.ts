import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { loadConfig } from "../../src/config/load.js";
import { SECRET_ENV } from "../../src/config/secrets.js";
import { ServiceMetrics } from "../../src/live/metrics.js";
import { ROOT } from "../helpers/paths.js";
import {
  DASHBOARD,
  dashboardQueries,
  execForm,
  itbCommandProblems,
  metricNames,
  readDashboard,
  readDockerfile,
} from "./deployFiles.js";

/** The names the expressions use that are not in `exported`, each once. */
function unexported(queries: readonly string[], exported: ReadonlySet<string>): string[] {
  return [...new Set(queries.flatMap(metricNames))].filter((n) => !exported.has(n));
}

/**
 * deploy/compose.yaml and what it mounts (Prometheus's configuration, Grafana's provisioning
 * and dashboard): every file, port, host name and itb command they name exists, and every metric
 * the dashboard's PromQL asks for is one itb exports.
 */

const DEPLOY = resolve(ROOT, "deploy");
const read = (p: string) => readFileSync(resolve(DEPLOY, p), "utf8");

type Service = {
  build?: { context: string; dockerfile: string };
  image?: string;
  command?: string[];
  volumes?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  depends_on?: string[];
};
const compose = parse(read("compose.yaml")) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};
const services = compose.services;

/** Compose's interpolation with every variable unset: ${X:-default} is the default. */
function interpolate(text: string): string {
  return text.replace(/\$\{(\w+)(?::?([-?])([^}]*))?\}/g, (_, _name, op, word) => (op === "-" ? word : ""));
}

interface Mount {
  source: string;
  target: string;
  bind: boolean;
}
function mounts(s: Service): Mount[] {
  return (s.volumes ?? []).map((v) => {
    const [source, target] = interpolate(v).split(":") as [string, string];
    const bind = source.startsWith(".") || source.startsWith("/");
    return { source: bind ? resolve(DEPLOY, source) : source, target, bind };
  });
}
/** The host file or folder behind a path inside the service's container. */
function hostPath(s: Service, inside: string): string {
  for (const m of mounts(s).filter((m) => m.bind)) {
    if (inside === m.target) return m.source;
    if (inside.startsWith(`${m.target}/`)) return resolve(m.source, inside.slice(m.target.length + 1));
  }
  throw new Error(`${inside} is not mounted`);
}
const flag = (args: readonly string[], name: string) =>
  args.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1) ?? args[args.indexOf(name) + 1];
/** "127.0.0.1:9464:9464" -> the container's port. */
const containerPorts = (s: Service) => (s.ports ?? []).map((p) => Number(p.split(":").at(-1)));

describe("deploy/compose.yaml", () => {
  it("runs the service, the pipeline's Redis and workers, Prometheus and Grafana, and nothing that itb does not have", () => {
    expect(Object.keys(services)).toEqual(["itb", "redis", "worker", "prometheus", "grafana"]);
    expect(services.worker?.depends_on).toEqual(["redis"]);
    expect(services.prometheus?.depends_on).toEqual(["itb"]);
    expect(services.grafana?.depends_on).toEqual(["prometheus"]);
  });

  it("mounts files that exist and volumes it declares", () => {
    for (const [name, s] of Object.entries(services)) {
      for (const m of mounts(s)) {
        if (m.bind) expect(existsSync(m.source), `${name}: ${m.source}`).toBe(true);
        else expect(Object.keys(compose.volumes), `${name}: volume ${m.source}`).toContain(m.source);
      }
    }
  });

  it("builds the image from the repository's Dockerfile and runs an itb command that exists", () => {
    const itb = services.itb as Service;
    expect(resolve(DEPLOY, itb.build?.context ?? "")).toBe(ROOT);
    const dockerfile = readDockerfile(readFileSync(resolve(ROOT, itb.build?.dockerfile ?? ""), "utf8"));
    const command = itb.command ?? [];
    expect(itbCommandProblems(command)).toEqual([]);
    expect(command[0]).toBe("serve");
    // the config it serves is a file of the repository that loads
    const config = hostPath(itb, flag(command, "--config") as string);
    expect(config).toBe(resolve(ROOT, "configs/btcusdt-1m.jsonc"));
    expect(loadConfig(config).config.symbol).toBe("BTCUSDT");
    // the data volume is the image's working directory and VOLUME
    const volume = execForm(dockerfile.filter((i) => i.keyword === "VOLUME")[0]?.args ?? "")[0];
    expect(mounts(itb).find((m) => !m.bind)?.target).toBe(volume);
    // the port it publishes is the one it listens on
    const port = Number((flag(command, "--address") as string).split(":")[1]);
    expect(containerPorts(itb)).toEqual([port]);
    // credentials come from the environment under the names itb reads, never written here
    expect(Object.keys(itb.environment ?? {}).sort()).toEqual(Object.values(SECRET_ENV).sort());
    for (const [k, v] of Object.entries(itb.environment ?? {})) expect(v).toBe(`\${${k}:-}`);
  });

  it("the command check names a subcommand or an option itb does not have", () => {
    expect(itbCommandProblems(["wrker", "--queue", "redis://redis:6379"])).toEqual([
      '"itb wrker" is not an itb subcommand',
    ]);
    expect(itbCommandProblems(["worker", "--queue", "redis://redis:6379", "--jobs", "2"])).toEqual([
      '"itb worker" has no option --jobs',
    ]);
    expect(itbCommandProblems(["serve", "--config", "a.jsonc", "--port", "9464", "--no-websocket"])).toEqual([
      '"itb serve" has no option --port',
    ]);
    expect(itbCommandProblems(["pipeline", "--config=a.jsonc", "--to", "train"])).toEqual([]);
  });

  it("the workers run the image's itb worker on the Redis service, with the service's config and data (shared storage)", () => {
    const worker = services.worker as Service;
    const itb = services.itb as Service;
    expect(worker.image).toBe(itb.image);
    const command = worker.command ?? [];
    expect(command[0]).toBe("worker");
    expect(itbCommandProblems(command)).toEqual([]);
    const queue = new URL(flag(command, "--queue") as string);
    expect(queue.protocol).toBe("redis:");
    expect(Object.keys(services)).toContain(queue.hostname);
    const redis = services[queue.hostname] as Service;
    const redisArgs = redis.command ?? [];
    expect(redisArgs[0]).toBe("redis-server");
    expect(flag(redisArgs, "--port")).toBe(queue.port);
    // the same files at the same paths as the service, so a job's config path and data folders resolve
    expect(mounts(worker)).toEqual(mounts(itb));
  });

  it("Prometheus reads the mounted configuration, which scrapes the itb service on its port", () => {
    const prom = services.prometheus as Service;
    const args = prom.command ?? [];
    const file = hostPath(prom, flag(args, "--config.file") as string);
    expect(file).toBe(resolve(DEPLOY, "prometheus/prometheus.yml"));
    const cfg = parse(readFileSync(file, "utf8")) as {
      rule_files: string[];
      scrape_configs: { job_name: string; metrics_path: string; static_configs: { targets: string[] }[] }[];
    };
    const itbPort = containerPorts(services.itb as Service)[0];
    expect(cfg.scrape_configs).toEqual([
      { job_name: "itb", metrics_path: "/metrics", static_configs: [{ targets: [`itb:${itbPort}`] }] },
    ]);
    // rule files are resolved beside the configuration, inside the container too
    const inside = (flag(args, "--config.file") as string).replace(/\/[^/]+$/, "");
    for (const r of cfg.rule_files) expect(existsSync(hostPath(prom, `${inside}/${r}`)), r).toBe(true);
    const listen = Number((flag(args, "--web.listen-address") as string).split(":")[1]);
    expect(containerPorts(prom)).toEqual([listen]);
  });

  it("Grafana's datasource is the Prometheus service, and its dashboards folder is mounted", () => {
    const grafana = services.grafana as Service;
    const provisioning = hostPath(grafana, "/etc/grafana/provisioning");
    const ds = parse(readFileSync(resolve(provisioning, "datasources/prometheus.yml"), "utf8")) as {
      datasources: { uid: string; type: string; url: string }[];
    };
    const promArgs = services.prometheus?.command ?? [];
    const promPort = (flag(promArgs, "--web.listen-address") as string).split(":")[1];
    expect(ds.datasources.map((d) => [d.type, d.url])).toEqual([
      ["prometheus", `http://prometheus:${promPort}`],
    ]);
    const providers = parse(readFileSync(resolve(provisioning, "dashboards/itb.yml"), "utf8")) as {
      providers: { options: { path: string } }[];
    };
    const folder = hostPath(grafana, providers.providers[0]?.options.path as string);
    expect(folder).toBe(resolve(DEPLOY, "grafana/dashboards"));
    const dashboard = readDashboard(resolve(folder, "itb.json"));
    const uids = new Set(
      dashboard.panels.flatMap((p) => [p.datasource.uid, ...p.targets.map((t) => t.datasource.uid)]),
    );
    expect([...uids]).toEqual([ds.datasources[0]?.uid]);
  });
});

describe("the Grafana dashboard", () => {
  it("queries only metrics itb exports", async () => {
    const exported = new Set<string>();
    for (const m of await new ServiceMetrics().registry.getMetricsAsJSON()) {
      exported.add(m.name);
      if (String(m.type) === "histogram")
        for (const s of ["_bucket", "_sum", "_count"]) exported.add(`${m.name}${s}`);
    }
    const queries = dashboardQueries(readDashboard(DASHBOARD));
    const used = new Set(queries.flatMap(metricNames));
    expect(unexported(queries, exported)).toEqual([]);
    // each expression asks for one of them at least (no metric from elsewhere unnoticed)
    expect(queries.filter((q) => metricNames(q).length === 0)).toEqual([]);
    // the panels the service is watched by
    for (const need of [
      "itb_candle_lag_seconds",
      "itb_tick_latency_seconds_bucket",
      "itb_signals_total",
      "itb_paper_orders_total",
      "itb_errors_total",
      "itb_equity",
      "itb_position",
      "itb_trades_total",
    ])
      expect(used, need).toContain(need);
  });

  it("the check names a metric itb does not export", () => {
    const exported = new Set(["itb_candles_processed_total", "itb_equity"]);
    const queries = [
      'sum(rate(itb_candles_procesed_total{market=~"$market"}[5m]))',
      "itb_equity - itb_equity offset 1d",
    ];
    expect(unexported(queries, exported)).toEqual(["itb_candles_procesed_total"]);
  });
});
