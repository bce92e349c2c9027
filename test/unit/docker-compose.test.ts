// docker-compose.yml cannot be run here (no Docker engine), so it is kept honest by reading it: every
// service it names exists, every file it mounts or runs is in the repository, every host and port one
// service uses to reach another is a service listening there, and Prometheus and Grafana read what the
// compose file gives them.
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

const ROOT = resolve(import.meta.dirname, "../..");

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  environment?: Record<string, string | number>;
  ports?: string[];
  volumes?: string[];
  depends_on?: string[] | Record<string, { condition: string }>;
}

const compose = parse(readFileSync(join(ROOT, "docker-compose.yml"), "utf8"), { merge: true }) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};
const services = compose.services;
const names = Object.keys(services);

/** The ports a service listens on inside the network. */
function listens(name: string): Set<number> {
  const s = services[name] as Service;
  const ports = new Set<number>();
  for (const p of s.ports ?? []) ports.add(Number(p.split(":").at(-1)));
  const env = s.environment ?? {};
  for (const key of ["ESTELAM_GRPC_ADDRESS", "ESTELAM_HTTP_ADDRESS"])
    if (env[key] !== undefined) ports.add(Number(String(env[key]).split(":")[1]));
  const flag = s.command?.indexOf("--port") ?? -1;
  if (flag >= 0) {
    ports.add(Number(s.command?.[flag + 1]));
    ports.add(Number(s.command?.[flag + 1]) + 1); // the demo agencies' gRPC face: the next port
  }
  for (const m of String(env.KAFKA_LISTENERS ?? "").matchAll(/:(\d+)/g)) ports.add(Number(m[1]));
  if (s.image?.startsWith("postgres:")) ports.add(5432);
  if (s.image?.startsWith("prom/prometheus:")) ports.add(9090);
  if (s.image?.startsWith("grafana/grafana:")) ports.add(3000);
  return ports;
}

/** Fails unless `host:port` is a service of the file listening on that port. */
function expectReachable(where: string, host: string, port: number): void {
  expect(names, `${where}: ${host} is no service`).toContain(host);
  expect([...listens(host)], `${where}: ${host} does not listen on ${port}`).toContain(port);
}

describe("docker-compose.yml", () => {
  it("runs Kafka in KRaft mode, PostgreSQL, the demo agencies, two gateways, Prometheus and Grafana", () => {
    expect(names.sort()).toEqual(["agencies", "gateway-1", "gateway-2", "grafana", "kafka", "postgres", "prometheus"]);
    expect(services.kafka?.environment?.KAFKA_PROCESS_ROLES).toBe("broker,controller");
    expect(services["gateway-1"]?.environment?.ESTELAM_INSTANCE).toBe("gateway-1");
    expect(services["gateway-2"]?.environment?.ESTELAM_INSTANCE).toBe("gateway-2");
  });

  it("names only services that exist in depends_on, and only declared named volumes", () => {
    for (const [name, s] of Object.entries(services)) {
      const deps = Array.isArray(s.depends_on) ? s.depends_on : Object.keys(s.depends_on ?? {});
      for (const dep of deps) expect(names, `${name} depends on ${dep}`).toContain(dep);
      for (const volume of s.volumes ?? []) {
        const source = volume.split(":")[0] as string;
        if (source.startsWith(".")) expect(existsSync(join(ROOT, source)), `${name} mounts ${source}`).toBe(true);
        else expect(Object.keys(compose.volumes), `${name} uses volume ${source}`).toContain(source);
      }
    }
  });

  it("builds from files in the repository and runs scripts that exist", () => {
    for (const [name, s] of Object.entries(services)) {
      expect(s.image ?? s.build, `${name} has an image or a build`).toBeDefined();
      if (s.build !== undefined) expect(existsSync(join(ROOT, s.build.context, s.build.dockerfile))).toBe(true);
      for (const arg of s.command ?? []) if (/\.(ts|js)$/.test(arg)) expect(existsSync(join(ROOT, arg)), `${name} runs ${arg}`).toBe(true);
      const seed = s.environment?.ESTELAM_REGISTRY_SEED;
      if (seed !== undefined) expect(existsSync(join(ROOT, String(seed))), `${name} seeds from ${seed}`).toBe(true);
    }
  });

  it("publishes each host port once, on 127.0.0.1 only", () => {
    const published = Object.values(services).flatMap((s) => s.ports ?? []);
    for (const p of published) expect(p).toMatch(/^127\.0\.0\.1:\d+:\d+$/);
    const hostPorts = published.map((p) => p.split(":")[1]);
    expect(new Set(hostPorts).size).toBe(hostPorts.length);
  });

  it("points every gateway at services that listen where it looks", () => {
    for (const name of ["gateway-1", "gateway-2"]) {
      const env = services[name]?.environment ?? {};
      for (const broker of String(env.KAFKA_BROKERS).split(",")) {
        const [host, port] = broker.split(":");
        expectReachable(`${name} KAFKA_BROKERS`, host as string, Number(port));
      }
      const db = new URL(String(env.ESTELAM_DATABASE_URL).replace(/\$\{[^}]*\}/g, "x"));
      expectReachable(`${name} ESTELAM_DATABASE_URL`, db.hostname, Number(db.port));
      expect(db.pathname.slice(1)).toBe(services.postgres?.environment?.POSTGRES_DB);
      expect(db.username).toBe(services.postgres?.environment?.POSTGRES_USER);
      const agencies = new URL(String(env.DEMO_AGENCIES_URL));
      expectReachable(`${name} DEMO_AGENCIES_URL`, agencies.hostname, Number(agencies.port));
      const [grpcHost, grpcPort] = String(env.DEMO_GRPC_ADDRESS).split(":");
      expectReachable(`${name} DEMO_GRPC_ADDRESS`, grpcHost as string, Number(grpcPort));
      expect(String(env.ESTELAM_AUDIT_KEY)).toMatch(/^\$\{ESTELAM_AUDIT_KEY:\?/);
    }
    // Both share one schema: one registry, one scoreboard.
    expect(services["gateway-1"]?.environment?.ESTELAM_DATABASE_SCHEMA).toBe(services["gateway-2"]?.environment?.ESTELAM_DATABASE_SCHEMA);
  });

  it("gives Prometheus a config that scrapes both gateways and loads the rules it mounts", () => {
    const mounts = services.prometheus?.volumes ?? [];
    const config = mounts.find((v) => v.endsWith(":/etc/prometheus/prometheus.yml:ro"))?.split(":")[0] as string;
    const prometheus = parse(readFileSync(join(ROOT, config), "utf8")) as {
      rule_files: string[];
      scrape_configs: Array<{ static_configs: Array<{ targets: string[] }> }>;
    };
    const targets = prometheus.scrape_configs.flatMap((c) => c.static_configs.flatMap((s) => s.targets));
    expect(targets.sort()).toEqual(["gateway-1:8080", "gateway-2:8080"]);
    for (const target of targets) expectReachable("prometheus target", target.split(":")[0] as string, Number(target.split(":")[1]));
    const rules = mounts.find((v) => v.includes(":/etc/prometheus/rules"))?.split(":")[0] as string;
    expect(prometheus.rule_files).toEqual(["/etc/prometheus/rules/*.yml"]);
    expect(existsSync(join(ROOT, rules, "estelam.rules.yml"))).toBe(true);
  });

  it("gives Grafana its data source (the Prometheus service) and the dashboard", () => {
    const mounts = services.grafana?.volumes ?? [];
    const provisioning = mounts.find((v) => v.includes(":/etc/grafana/provisioning"))?.split(":")[0] as string;
    const datasource = parse(readFileSync(join(ROOT, provisioning, "datasources/prometheus.yml"), "utf8")) as {
      datasources: Array<{ url: string }>;
    };
    const url = new URL(datasource.datasources[0]?.url ?? "");
    expectReachable("grafana data source", url.hostname, Number(url.port));
    const provider = parse(readFileSync(join(ROOT, provisioning, "dashboards/estelam.yml"), "utf8")) as {
      providers: Array<{ options: { path: string } }>;
    };
    const dashboards = mounts.find((v) => v.split(":")[1] === provider.providers[0]?.options.path)?.split(":")[0] as string;
    expect(dashboards).toBeDefined();
    expect(existsSync(join(ROOT, dashboards, "estelam.json"))).toBe(true);
    const home = String(services.grafana?.environment?.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH);
    expect(home.startsWith(provider.providers[0]?.options.path ?? "?")).toBe(true);
  });
});
