// `npm run stack`: the processes of docker-compose.yml, started locally without Docker — a Kafka broker of
// its own (scripts/kafka.sh, from the Maven Central jars, on its own ports), the machine's PostgreSQL (a
// schema of its own), the demo agencies, two gateway instances sharing that schema, and Debian's
// prometheus scraping both with Estelam's rules and alerts. Ctrl-C (or SIGTERM) stops everything it
// started, in reverse order. Logs go to <STACK_DIR>/logs. Settings (environment):
//
//   STACK_DIR                  state, logs and Prometheus data (default .cache/stack)
//   STACK_DATABASE_URL         PostgreSQL server (default postgres://postgres@127.0.0.1:5432/postgres)
//   STACK_DATABASE_SCHEMA      schema of the stack's registry and scoreboard (default estelam_stack)
//   STACK_KAFKA_PORT           Kafka broker port (default 29092; the controller uses STACK_KAFKA_PORT + 1)
//   STACK_AGENCIES_PORT        demo agencies' HTTP face (default 8090; their gRPC face takes the next port)
//   STACK_GATEWAY_1_GRPC, STACK_GATEWAY_1_HTTP   gateway-1 (default 50051, 8080)
//   STACK_GATEWAY_2_GRPC, STACK_GATEWAY_2_HTTP   gateway-2 (default 50052, 8081)
//   STACK_PROMETHEUS_PORT      Prometheus (default 9090)
//   STACK_SCOREBOARD_FLUSH_MS  how often each gateway writes its scoreboard counts (default 2000)
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import pg from "pg";
import { parse, stringify } from "yaml";

const ROOT = resolve(import.meta.dirname, "..");
const env = process.env;
const dir = resolve(ROOT, env.STACK_DIR ?? ".cache/stack");
const logs = join(dir, "logs");
const port = (name: string, fallback: number): number => {
  const value = Number(env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 1 || value > 65_535) fail(`${name}=${env[name]} must be a port number`);
  return value;
};
const PORTS = {
  kafka: port("STACK_KAFKA_PORT", 29092),
  agencies: port("STACK_AGENCIES_PORT", 8090),
  gateways: [
    { grpc: port("STACK_GATEWAY_1_GRPC", 50051), http: port("STACK_GATEWAY_1_HTTP", 8080) },
    { grpc: port("STACK_GATEWAY_2_GRPC", 50052), http: port("STACK_GATEWAY_2_HTTP", 8081) },
  ],
  prometheus: port("STACK_PROMETHEUS_PORT", 9090),
};
const DATABASE_URL = env.STACK_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const SCHEMA = env.STACK_DATABASE_SCHEMA ?? "estelam_stack";
const kafkaEnv = {
  ...env,
  KAFKA_PORT: String(PORTS.kafka),
  KAFKA_CONTROLLER_PORT: String(PORTS.kafka + 1),
  KAFKA_STATE_DIR: join(dir, "kafka"),
};

function say(text: string): void {
  process.stdout.write(`stack: ${text}\n`);
}

function fail(text: string): never {
  process.stderr.write(`stack: ${text}\n`);
  process.exit(1);
}

interface Started {
  readonly name: string;
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
}

const started: Started[] = [];
let kafkaStarted = false;
let stopping: Promise<void> | undefined;

/** Starts a process with its output in logs/<name>.log; when it dies on its own, the whole stack stops. */
function start(
  name: string,
  command: string,
  args: readonly string[],
  childEnv: NodeJS.ProcessEnv,
  onLine?: (line: string) => void,
): Started {
  const log = createWriteStream(join(logs, `${name}.log`), { flags: "a" });
  const child = spawn(command, args, { cwd: ROOT, env: childEnv, stdio: ["ignore", "pipe", "pipe"] });
  let buffered = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    log.write(chunk);
    if (onLine === undefined) return;
    buffered += chunk.toString("utf8");
    const lines = buffered.split("\n");
    buffered = lines.pop() ?? "";
    for (const line of lines) onLine(line);
  });
  child.stderr?.on("data", (chunk: Buffer) => log.write(chunk));
  const exited = new Promise<number | null>((done) => {
    child.once("error", (error) => {
      log.write(`failed to start: ${error.message}\n`);
      done(-1);
    });
    child.once("exit", (code) => done(code));
  });
  void exited.then((code) => {
    log.end(() => {
      if (stopping !== undefined) return;
      const file = join(logs, `${name}.log`);
      const tail = readFileSync(file, "utf8").trimEnd().split("\n").slice(-8).join("\n  ");
      process.stderr.write(`stack: ${name} exited (${code}); the end of ${file}:\n  ${tail}\n`);
      void stop(1);
    });
  });
  const entry = { name, child, exited };
  started.push(entry);
  return entry;
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (stopping !== undefined) throw new Error("stopping");
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what} did not become ready within ${timeoutMs / 1000} s`);
}

const ok = async (url: string): Promise<boolean> => (await fetch(url, { signal: AbortSignal.timeout(2000) })).ok;

async function stop(code: number): Promise<void> {
  stopping ??= (async () => {
    say("stopping");
    for (const entry of [...started].reverse()) {
      if (entry.child.exitCode === null && entry.child.signalCode === null) entry.child.kill("SIGTERM");
      const timer = setTimeout(() => entry.child.kill("SIGKILL"), 15_000);
      await entry.exited;
      clearTimeout(timer);
    }
    if (kafkaStarted) spawnSync("bash", [join(ROOT, "scripts/kafka.sh"), "stop"], { cwd: ROOT, env: kafkaEnv, stdio: "ignore" });
    say("stopped");
    process.exit(code);
  })();
  return stopping;
}

/** The audit key of this stack, made once and kept, so that digests of identifiers stay comparable across runs. */
function auditKey(): string {
  const file = join(dir, "audit.key");
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString("hex"), { mode: 0o600 });
  return readFileSync(file, "utf8").trim();
}

/** deploy/prometheus/prometheus.yml with the local targets and rule file. */
function prometheusConfig(): string {
  const config = parse(readFileSync(join(ROOT, "deploy/prometheus/prometheus.yml"), "utf8")) as {
    rule_files: string[];
    scrape_configs: Array<{ static_configs: Array<{ targets: string[] }> }>;
  };
  config.rule_files = [join(ROOT, "deploy/prometheus/rules/*.yml")];
  for (const scrape of config.scrape_configs)
    for (const group of scrape.static_configs) group.targets = PORTS.gateways.map((g) => `127.0.0.1:${g.http}`);
  const file = join(dir, "prometheus.yml");
  writeFileSync(file, `# Written by scripts/stack.ts from deploy/prometheus/prometheus.yml.\n${stringify(config)}`);
  return file;
}

async function main(): Promise<void> {
  mkdirSync(logs, { recursive: true });
  process.once("SIGINT", () => void stop(0));
  process.once("SIGTERM", () => void stop(0));
  if (spawnSync("prometheus", ["--version"], { stdio: "ignore" }).error !== undefined)
    fail("prometheus not found: install Debian's package (apt-get install prometheus)");

  // PostgreSQL first: without it neither gateway can start, and this says why in one line.
  const client = new pg.Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query("select 1");
  } catch (error) {
    fail(`PostgreSQL at ${DATABASE_URL} cannot be reached (${(error as Error).message}); start it or set STACK_DATABASE_URL`);
  } finally {
    await client.end().catch(() => undefined);
  }

  say(`Kafka on 127.0.0.1:${PORTS.kafka} (logs: ${join(dir, "kafka", "broker.log")})`);
  const kafka = spawnSync("bash", [join(ROOT, "scripts/kafka.sh"), "start"], { cwd: ROOT, env: kafkaEnv, encoding: "utf8" });
  if (kafka.status !== 0) fail(`Kafka did not start:\n${kafka.stderr}`);
  // The broker in the stack's own folder is the stack's, even when an earlier run left it running.
  kafkaStarted = true;

  say(`demo agencies on 127.0.0.1:${PORTS.agencies}`);
  const vars: Record<string, string> = {};
  start(
    "agencies",
    process.execPath,
    ["simulators/demo-agencies/main.ts", "--host", "127.0.0.1", "--port", String(PORTS.agencies)],
    { PATH: env.PATH },
    (line) => {
      const m = /^(DEMO_[A-Z_]+)=(.*)$/.exec(line);
      if (m !== null) vars[m[1] as string] = m[2] as string;
    },
  );
  await waitFor(
    "the demo agencies",
    async () => (await ok(`http://127.0.0.1:${PORTS.agencies}/_control/stats`)) && vars.DEMO_AGENCIES_URL !== undefined,
  );

  const key = auditKey();
  for (const [i, g] of PORTS.gateways.entries()) {
    const name = `gateway-${i + 1}`;
    say(`${name}: gRPC 127.0.0.1:${g.grpc}, http://127.0.0.1:${g.http}`);
    start(name, process.execPath, ["gateway/main.ts"], {
      PATH: env.PATH,
      ...vars,
      ESTELAM_GRPC_ADDRESS: `127.0.0.1:${g.grpc}`,
      ESTELAM_HTTP_ADDRESS: `127.0.0.1:${g.http}`,
      ESTELAM_DATA_DIR: join(dir, name),
      ESTELAM_DATABASE_URL: DATABASE_URL,
      ESTELAM_DATABASE_SCHEMA: SCHEMA,
      ESTELAM_REGISTRY_SEED: "registry/catalogues/demo",
      ESTELAM_INSTANCE: name,
      ESTELAM_AUDIT_KEY: key,
      ESTELAM_SCOREBOARD_FLUSH_MS: env.STACK_SCOREBOARD_FLUSH_MS ?? "2000",
      // Two single-process instances by default (each would otherwise run one worker per core on PostgreSQL);
      // STACK_WORKERS=N runs each with N workers, each a scoreboard instance of its own.
      ESTELAM_WORKERS: env.STACK_WORKERS ?? "1",
      KAFKA_BROKERS: `127.0.0.1:${PORTS.kafka}`,
    });
    // The first instance seeds the empty schema; the second starts once it has.
    await waitFor(name, () => ok(`http://127.0.0.1:${g.http}/readyz`), 90_000);
  }

  say(`Prometheus on http://127.0.0.1:${PORTS.prometheus}`);
  start(
    "prometheus",
    "prometheus",
    [
      `--config.file=${prometheusConfig()}`,
      `--storage.tsdb.path=${join(dir, "prometheus")}`,
      "--storage.tsdb.retention.time=2d",
      `--web.listen-address=127.0.0.1:${PORTS.prometheus}`,
    ],
    { PATH: env.PATH },
  );
  await waitFor("Prometheus", () => ok(`http://127.0.0.1:${PORTS.prometheus}/-/ready`));

  const [g1, g2] = PORTS.gateways;
  say(`ready — Ctrl-C stops everything
  status page  http://127.0.0.1:${g1?.http}/status   (English: /status?lang=en; gateway-2: http://127.0.0.1:${g2?.http}/status)
  gRPC         127.0.0.1:${g1?.grpc} and 127.0.0.1:${g2?.grpc}   (scripts/estelam status --address 127.0.0.1:${g1?.grpc}, admin key)
  agencies     http://127.0.0.1:${PORTS.agencies}/_control/faults   (inject an outage: POST {"agency":"post","mode":"down"})
  Prometheus   http://127.0.0.1:${PORTS.prometheus}/alerts
  logs         ${logs}`);
}

main().catch((error: unknown) => {
  process.stderr.write(`stack: ${(error as Error).message}\n`);
  void stop(1);
});
