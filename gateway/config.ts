// Configuration, validated once at start-up into a fully resolved, typed object. Settings come from
// environment variables (ESTELAM_* plus KAFKA_BROKERS); every one is listed in SETTINGS with its default
// and meaning (the README's configuration table lists exactly these — a test checks it). An unknown
// ESTELAM_* variable stops start-up with a message naming it, so a typo never silently falls back.
import { hostname } from "node:os";
import { resolve } from "node:path";

export interface Setting {
  readonly name: string;
  /** The default as text; "" means unset. */
  readonly default: string;
  readonly description: string;
}

const PROJECT_ROOT = resolve(import.meta.dirname, "..");
export const DEMO_AUDIT_KEY = "estelam-demo-audit-key-do-not-use-in-production";
/** The demo registry documents, seeded into an empty store in demo mode. */
export const DEMO_REGISTRY = "registry/catalogues/demo";

export const SETTINGS = [
  {
    name: "ESTELAM_GRPC_ADDRESS",
    default: "127.0.0.1:50051",
    description: "host:port of the gRPC server (InquiryService, RegistryService, health, reflection).",
  },
  {
    name: "ESTELAM_HTTP_ADDRESS",
    default: "127.0.0.1:8080",
    description: "host:port of the HTTP server for /metrics, /healthz and /readyz.",
  },
  {
    name: "ESTELAM_DATA_DIR",
    default: "var",
    description: "Folder of what the gateway keeps on local disk; the embedded database lives in `<data dir>/db`.",
  },
  {
    name: "ESTELAM_DATABASE_URL",
    default: "",
    description:
      "Unset: the embedded database (PGlite) in the data folder, for one gateway process. `postgres://user@host:port/db`: a PostgreSQL server shared by several gateway instances.",
  },
  {
    name: "ESTELAM_DATABASE_SCHEMA",
    default: "estelam",
    description:
      "PostgreSQL schema of the gateway's tables (the registry and its revisions); deployments sharing a server use different schemas.",
  },
  {
    name: "ESTELAM_REGISTRY_SEED",
    default: "",
    description:
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the text describes the documents' ${NAME} syntax.
      "File or folder of registry documents written as the first revision when the registry store is empty (later starts keep what was applied). Unset: in demo mode `registry/catalogues/demo`, otherwise none (an empty store then stops start-up). `${NAME}` references are filled from each instance's environment.",
  },
  {
    name: "ESTELAM_REGISTRY_REFRESH_MS",
    default: "5000",
    description: "Besides listening for new revisions, how often the gateway re-reads the store's newest revision number (a safety net).",
  },
  {
    name: "ESTELAM_DEMO",
    default: "false",
    description: "`true` (or the `--demo` flag, as in `npm start`) also starts the demo agencies and allows the demo audit key.",
  },
  {
    name: "ESTELAM_DEMO_AGENCIES_ADDRESS",
    default: "127.0.0.1:8090",
    description: "host:port of the demo agencies in demo mode; the demo registry documents reach them through `DEMO_AGENCIES_URL`.",
  },
  {
    name: "KAFKA_BROKERS",
    default: "",
    description: "Comma-separated Kafka bootstrap brokers. Set: audit events go to Kafka. Unset: to the local audit file.",
  },
  { name: "ESTELAM_AUDIT_TOPIC", default: "estelam.audit.v1", description: "Kafka topic of audit events." },
  { name: "ESTELAM_AUDIT_CREATE_TOPIC", default: "true", description: "Create the audit topic at start-up if it does not exist." },
  { name: "ESTELAM_AUDIT_TOPIC_PARTITIONS", default: "3", description: "Partitions of the audit topic when the gateway creates it." },
  {
    name: "ESTELAM_AUDIT_REPLICATION_FACTOR",
    default: "1",
    description: "Replication factor of the audit topic when the gateway creates it (use 3 in production).",
  },
  {
    name: "ESTELAM_AUDIT_FILE",
    default: "var/audit/audit-events.jsonl",
    description: "Append-only audit file (JSON lines) used when KAFKA_BROKERS is unset.",
  },
  {
    name: "ESTELAM_AUDIT_ACK_TIMEOUT_MS",
    default: "5000",
    description: "How long an answer may wait for its audit event to become durable before it is withheld with AUDIT_UNAVAILABLE.",
  },
  { name: "ESTELAM_AUDIT_LINGER_MS", default: "2", description: "How long the audit writer waits to fill a batch." },
  {
    name: "ESTELAM_AUDIT_KEY",
    default: "",
    description: "Secret key of the keyed digests (HMAC-SHA-256) of subject identifiers in audit events. Required unless in demo mode.",
  },
  { name: "ESTELAM_LOG_LEVEL", default: "info", description: "pino log level: fatal, error, warn, info, debug, trace or silent." },
  {
    name: "ESTELAM_INSTANCE",
    default: "",
    description: "Name of this gateway instance in audit events and logs; defaults to the host name.",
  },
  {
    name: "ESTELAM_SHUTDOWN_GRACE_MS",
    default: "10000",
    description: "On SIGTERM/SIGINT, how long in-flight inquiries may finish before the servers close.",
  },
] as const satisfies readonly Setting[];

type SettingName = (typeof SETTINGS)[number]["name"];

/** Settings of the `estelam` command line only (docs/cli.md); allowed in the gateway's shell too. The CLI reads ESTELAM_GRPC_ADDRESS, the gateway's own setting, for where to connect. */
export const CLIENT_SETTINGS: readonly string[] = ["ESTELAM_API_KEY"];

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export interface GatewayConfig {
  readonly grpc: HostPort;
  readonly http: HostPort;
  readonly dataDir: string;
  readonly database: {
    /** undefined: the embedded database in `<dataDir>/db`. */
    readonly url: string | undefined;
    readonly schema: string;
  };
  readonly registry: {
    /** Seed documents for an empty store (a file or folder), when any. */
    readonly seed: string | undefined;
    readonly refreshMs: number;
  };
  readonly demo: boolean;
  readonly demoAgencies: HostPort;
  readonly audit: {
    readonly sink: "kafka" | "file";
    readonly kafka: {
      readonly brokers: readonly string[];
      readonly topic: string;
      readonly createTopic: boolean;
      readonly partitions: number;
      readonly replicationFactor: number;
    };
    readonly filePath: string;
    readonly ackTimeoutMs: number;
    readonly lingerMs: number;
    readonly key: string;
  };
  readonly logLevel: string;
  readonly instance: string;
  readonly shutdownGraceMs: number;
}

export class ConfigError extends Error {
  override readonly name = "ConfigError";
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.problems = problems;
  }
}

const LOG_LEVELS = new Set(["fatal", "error", "warn", "info", "debug", "trace", "silent"]);

function closest(name: string, candidates: readonly string[]): string | undefined {
  const distance = (a: string, b: string): number => {
    const row = Array.from({ length: b.length + 1 }, (_, i) => i);
    for (let i = 1; i <= a.length; i++) {
      let prev = row[0] as number;
      row[0] = i;
      for (let j = 1; j <= b.length; j++) {
        const cur = row[j] as number;
        row[j] = Math.min(cur + 1, (row[j - 1] as number) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
        prev = cur;
      }
    }
    return row[b.length] as number;
  };
  let best: string | undefined;
  let bestDistance = 4;
  for (const c of candidates) {
    const d = distance(name, c);
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best;
}

/**
 * Resolves the configuration from environment variables and command-line flags (`--demo`). Throws a
 * ConfigError listing every problem.
 */
export function resolveConfig(env: Readonly<Record<string, string | undefined>>, argv: readonly string[] = []): GatewayConfig {
  const problems: string[] = [];
  const names = SETTINGS.map((s) => s.name);
  for (const key of Object.keys(env)) {
    if (key.startsWith("ESTELAM_") && !(names as readonly string[]).includes(key) && !CLIENT_SETTINGS.includes(key)) {
      const hint = closest(key, names);
      problems.push(`unknown setting ${key}${hint === undefined ? "" : ` (did you mean ${hint}?)`}`);
    }
  }
  for (const arg of argv)
    if (arg !== "--demo") problems.push(`unknown flag ${arg} (the flags are --demo and --help; settings are environment variables)`);

  const raw = (name: SettingName): string => {
    const value = env[name];
    return value !== undefined && value.trim() !== "" ? value.trim() : (SETTINGS.find((s) => s.name === name)?.default ?? "");
  };
  const int = (name: SettingName, min: number, max: number): number => {
    const text = raw(name);
    const value = Number(text);
    if (!/^\d+$/.test(text) || value < min || value > max) problems.push(`${name}=${text} must be a whole number from ${min} to ${max}`);
    return value;
  };
  const bool = (name: SettingName): boolean => {
    const text = raw(name).toLowerCase();
    if (!["true", "false", "1", "0", "yes", "no"].includes(text)) problems.push(`${name}=${text} must be true or false`);
    return ["true", "1", "yes"].includes(text);
  };
  const hostPort = (name: SettingName): HostPort => {
    const text = raw(name);
    const match = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(text);
    const port = Number(match?.[2]);
    if (match === null || port > 65535) {
      problems.push(`${name}=${text} must be host:port, e.g. 127.0.0.1:50051 (port 0 picks a free port)`);
      return { host: "127.0.0.1", port: 0 };
    }
    return { host: (match[1] as string).replace(/^\[|\]$/g, ""), port };
  };

  const demo = argv.includes("--demo") || bool("ESTELAM_DEMO");
  const brokers = raw("KAFKA_BROKERS")
    .split(",")
    .map((b) => b.trim())
    .filter((b) => b !== "");
  for (const broker of brokers) if (!/^[A-Za-z0-9.-]+:\d{1,5}$/.test(broker)) problems.push(`KAFKA_BROKERS: '${broker}' is not host:port`);
  const key = raw("ESTELAM_AUDIT_KEY") !== "" ? raw("ESTELAM_AUDIT_KEY") : demo ? DEMO_AUDIT_KEY : "";
  if (key === "")
    problems.push(
      "ESTELAM_AUDIT_KEY is required outside demo mode (a long random secret; it keys the digests of identifiers in audit events)",
    );
  else if (key.length < 16) problems.push("ESTELAM_AUDIT_KEY must be at least 16 characters");
  const databaseUrl = raw("ESTELAM_DATABASE_URL");
  if (databaseUrl !== "" && !/^postgres(ql)?:\/\/\S+$/.test(databaseUrl))
    problems.push("ESTELAM_DATABASE_URL must be a postgres:// URL (or unset, for the embedded database)");
  const schema = raw("ESTELAM_DATABASE_SCHEMA");
  if (!/^[a-z_][a-z0-9_]{0,47}$/.test(schema))
    problems.push(`ESTELAM_DATABASE_SCHEMA=${schema} must be a lowercase identifier (a-z, 0-9, _)`);
  const logLevel = raw("ESTELAM_LOG_LEVEL");
  if (!LOG_LEVELS.has(logLevel)) problems.push(`ESTELAM_LOG_LEVEL=${logLevel} must be one of ${[...LOG_LEVELS].join(", ")}`);
  const topic = raw("ESTELAM_AUDIT_TOPIC");
  if (!/^[A-Za-z0-9._-]{1,249}$/.test(topic)) problems.push(`ESTELAM_AUDIT_TOPIC=${topic} is not a valid Kafka topic name`);

  const config: GatewayConfig = {
    grpc: hostPort("ESTELAM_GRPC_ADDRESS"),
    http: hostPort("ESTELAM_HTTP_ADDRESS"),
    dataDir: resolve(env.ESTELAM_DATA_DIR?.trim() ? process.cwd() : PROJECT_ROOT, raw("ESTELAM_DATA_DIR")),
    database: { url: databaseUrl === "" ? undefined : databaseUrl, schema },
    registry: {
      seed:
        raw("ESTELAM_REGISTRY_SEED") !== ""
          ? resolve(process.cwd(), raw("ESTELAM_REGISTRY_SEED"))
          : demo
            ? resolve(PROJECT_ROOT, DEMO_REGISTRY)
            : undefined,
      refreshMs: int("ESTELAM_REGISTRY_REFRESH_MS", 50, 3_600_000),
    },
    demo,
    demoAgencies: hostPort("ESTELAM_DEMO_AGENCIES_ADDRESS"),
    audit: {
      sink: brokers.length > 0 ? "kafka" : "file",
      kafka: {
        brokers,
        topic,
        createTopic: bool("ESTELAM_AUDIT_CREATE_TOPIC"),
        partitions: int("ESTELAM_AUDIT_TOPIC_PARTITIONS", 1, 10_000),
        replicationFactor: int("ESTELAM_AUDIT_REPLICATION_FACTOR", 1, 16),
      },
      filePath: resolve(env.ESTELAM_AUDIT_FILE?.trim() ? process.cwd() : PROJECT_ROOT, raw("ESTELAM_AUDIT_FILE")),
      ackTimeoutMs: int("ESTELAM_AUDIT_ACK_TIMEOUT_MS", 1, 600_000),
      lingerMs: int("ESTELAM_AUDIT_LINGER_MS", 0, 1_000),
      key,
    },
    logLevel,
    instance: raw("ESTELAM_INSTANCE") !== "" ? raw("ESTELAM_INSTANCE") : hostname(),
    shutdownGraceMs: int("ESTELAM_SHUTDOWN_GRACE_MS", 0, 600_000),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** The text of `node gateway/main.ts --help`: the flags and every setting with its default. */
export function usage(): string {
  const width = Math.max(...SETTINGS.map((s) => s.name.length));
  const lines = [
    "usage: node gateway/main.ts [--demo]      (npm start = node gateway/main.ts --demo)",
    "",
    "  --demo   also start the demo agencies and allow the demo audit key",
    "  --help   show this text",
    "",
    "Settings (environment variables):",
    ...SETTINGS.map(
      (s) => `  ${s.name.padEnd(width)}  ${s.default === "" ? "(unset)" : s.default}\n  ${" ".repeat(width)}  ${s.description}`,
    ),
  ];
  return `${lines.join("\n")}\n`;
}

/**
 * The error for a server that cannot listen where the configuration says: what could not listen, where, why
 * in plain words, and which setting to change.
 */
export function listenFailure(what: string, address: HostPort, setting: SettingName, error: unknown): Error {
  const detail = error instanceof Error ? error.message : String(error);
  const where = address.host.includes(":") ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
  const why = /EADDRINUSE|address already in use/i.test(detail)
    ? "the port is taken by another process"
    : /EACCES|permission denied/i.test(detail)
      ? "permission denied (ports below 1024 need privileges)"
      : /EADDRNOTAVAIL|ENOTFOUND|cannot assign/i.test(detail)
        ? "this machine has no such address"
        : detail;
  return new Error(`${what} cannot listen on ${where}: ${why}; set ${setting} to another host:port`, { cause: error });
}
