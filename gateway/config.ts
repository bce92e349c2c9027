// Configuration, validated once at start-up into a fully resolved, typed object. Settings come from
// environment variables (ESTELAM_* plus KAFKA_BROKERS); every one is listed in SETTINGS with its default
// and meaning (the README's configuration table lists exactly these — a test checks it). An unknown
// ESTELAM_* variable stops start-up with a message naming it, so a typo never silently falls back.
import { availableParallelism, hostname } from "node:os";
import { resolve } from "node:path";
import type { ServerLimits } from "./grpc/server.ts";

export interface Setting {
  readonly name: string;
  /** The default as text; "" means unset. */
  readonly default: string;
  readonly description: string;
}

const PROJECT_ROOT = resolve(import.meta.dirname, "..");

export { DEMO_AUDIT_KEY } from "../observability/audit/event.ts";

import { DEMO_AUDIT_KEY } from "../observability/audit/event.ts";
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
    description: "host:port of the HTTP server for /status (the status page), /metrics, /healthz and /readyz.",
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
    description:
      "Comma-separated Kafka bootstrap brokers. Set: the audit journal is shipped to Kafka. Unset: the local audit journal alone is the trail.",
  },
  { name: "ESTELAM_AUDIT_TOPIC", default: "estelam.audit.v1", description: "Kafka topic the audit journal is shipped to." },
  { name: "ESTELAM_AUDIT_CREATE_TOPIC", default: "true", description: "Create the audit topic if it does not exist." },
  { name: "ESTELAM_AUDIT_TOPIC_PARTITIONS", default: "3", description: "Partitions of the audit topic when the gateway creates it." },
  {
    name: "ESTELAM_AUDIT_REPLICATION_FACTOR",
    default: "1",
    description: "Replication factor of the audit topic when the gateway creates it (use 3 in production).",
  },
  {
    name: "ESTELAM_AUDIT_SHIPPER_THREAD",
    default: "true",
    description:
      "Ship the audit journal to Kafka from a thread of its own, so reading the journal back and the Kafka client's work do not take the thread that answers inquiries. `false`: on the answering thread.",
  },
  {
    name: "ESTELAM_AUDIT",
    default: "journal",
    description:
      "`journal`: every inquiry's record is synced to the local audit journal before its answer leaves (and shipped to Kafka when KAFKA_BROKERS is set). `off`: no audit trail at all, only for measuring its cost (the gateway warns, and /readyz says so).",
  },
  {
    name: "ESTELAM_AUDIT_JOURNAL_DIR",
    default: "",
    description:
      "Folder of the local audit journal (segment files, and the checkpoint of what Kafka has acknowledged). Unset: `<data dir>/audit`.",
  },
  {
    name: "ESTELAM_AUDIT_JOURNAL_MAX_BYTES",
    default: "1073741824",
    description:
      "Bound on the audit journal's size. At or above it new inquiries are refused with AUDIT_UNAVAILABLE and the gateway is not ready, until shipped segments are released (or, without Kafka, archived segments are removed).",
  },
  {
    name: "ESTELAM_AUDIT_SEGMENT_BYTES",
    default: "67108864",
    description:
      "Size at which the audit journal starts a new segment file; shipped segments are deleted whole. At most ESTELAM_AUDIT_JOURNAL_MAX_BYTES.",
  },
  {
    name: "ESTELAM_AUDIT_INDEX",
    default: "true",
    description:
      "Index the audit journal into the gateway's database, for AuditService (`estelam audit show`, `estelam audit report`): look-up by tracking code and citizens' data-access reports.",
  },
  {
    name: "ESTELAM_AUDIT_ACK_TIMEOUT_MS",
    default: "5000",
    description:
      "How long an answer may wait for its audit record to be synced to the journal before it is withheld with AUDIT_UNAVAILABLE.",
  },
  {
    name: "ESTELAM_AUDIT_COMMIT_DELAY_MS",
    default: "0",
    description:
      "How long the audit journal waits, when a record arrives and no write is under way, for more records to join the same durable write (as PostgreSQL's commit_delay). 0: write at once. Each answer waits this much longer; worth it only on a disk whose sync is slow, under steady load. Below ESTELAM_AUDIT_ACK_TIMEOUT_MS, at most 1000.",
  },
  {
    name: "ESTELAM_AUDIT_KEY",
    default: "",
    description: "Secret key of the keyed digests (HMAC-SHA-256) of subject identifiers in audit events. Required unless in demo mode.",
  },
  {
    name: "ESTELAM_AUDIT_PREVIOUS_KEYS",
    default: "",
    description:
      "Earlier audit keys, separated by commas, after a rotation of ESTELAM_AUDIT_KEY: used only to read, so that citizens' reports also find the records made under them.",
  },
  { name: "ESTELAM_LOG_LEVEL", default: "info", description: "pino log level: fatal, error, warn, info, debug, trace or silent." },
  {
    name: "ESTELAM_LOG_FLUSH_MS",
    default: "1000",
    description:
      "Longest time a log line is held before it is written to standard output. Lines are written in blocks of 4 KiB, so under load a line costs no write of its own; 0 writes each line as it comes. Held lines are written on every exit except a SIGKILL or a crash of Node.js itself.",
  },
  {
    name: "ESTELAM_INSTANCE",
    default: "",
    description: "Name of this gateway instance in audit events and logs; defaults to the host name.",
  },
  {
    name: "ESTELAM_GRPC_TLS_CERT",
    default: "",
    description:
      "PEM file of the gRPC server's certificate (chain). Set with ESTELAM_GRPC_TLS_KEY: the gRPC port serves TLS only. Unset: plaintext (development). `scripts/dev-ca.sh` makes development certificates. Renewed files are served to new connections after SIGHUP.",
  },
  { name: "ESTELAM_GRPC_TLS_KEY", default: "", description: "PEM file of the gRPC server certificate's private key." },
  {
    name: "ESTELAM_GRPC_TLS_CLIENT_CA",
    default: "",
    description:
      "PEM file of the CA(s) that sign agencies' client certificates. Set: mutual TLS; every connection presents a certificate of this CA, and a Credential's `certificate` (subject or SHA-256 fingerprint) names the asking agency.",
  },
  {
    name: "ESTELAM_GRPC_API_KEYS",
    default: "true",
    description:
      "`false` refuses API keys (`authorization: Bearer`) with CREDENTIAL_INVALID: agencies are identified by client certificate only. Needs ESTELAM_GRPC_TLS_CLIENT_CA.",
  },
  {
    name: "ESTELAM_GRPC_ADMISSION_MS",
    default: "2000",
    description:
      "Time a gRPC stream has, from its headers, to deliver its request message whole; a stream that has not is reset. Calls to InquiryService, RegistryService, AuditService and OperatorService must also carry a known credential in their headers, or are refused at once.",
  },
  {
    name: "ESTELAM_GRPC_SEND_TIMEOUT_MS",
    default: "10000",
    description:
      "Time an answer may wait unsent because the caller does not read it (its HTTP/2 flow-control window stays shut); then the stream is reset and the answer freed.",
  },
  {
    name: "ESTELAM_GRPC_MAX_CONNECTIONS",
    default: "1000",
    description: "Open connections to the gRPC port per process; further ones are closed at once.",
  },
  {
    name: "ESTELAM_GRPC_MAX_CONNECTIONS_PER_ADDRESS",
    default: "100",
    description:
      "Open connections to the gRPC port per process from one peer address; further ones from it are closed at once, so one address cannot take every place of ESTELAM_GRPC_MAX_CONNECTIONS. Behind a proxy or load balancer that connects from one address, raise it to ESTELAM_GRPC_MAX_CONNECTIONS.",
  },
  {
    name: "ESTELAM_GRPC_HANDSHAKE_MS",
    default: "5000",
    description:
      "Time a new connection to the gRPC port has to finish its TLS handshake and HTTP/2 preface; one that has not is closed, so connections that say nothing cannot hold the places of ESTELAM_GRPC_MAX_CONNECTIONS.",
  },
  {
    name: "ESTELAM_GRPC_CONNECTION_IDLE_MS",
    default: "600000",
    description:
      "Time a connection to the gRPC port may stay open with no call in progress; then the gateway closes it gracefully (GOAWAY) and gRPC clients reconnect on their next call. Keep-alive pings do not count as calls.",
  },
  {
    name: "ESTELAM_GRPC_MAX_IN_FLIGHT",
    default: "4096",
    description: "Calls in flight per process; further ones get RESOURCE_EXHAUSTED / OVERLOADED at once.",
  },
  {
    name: "ESTELAM_GRPC_MAX_STREAMS_PER_CONNECTION",
    default: "100",
    description: "Streams one connection may have open at once (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS).",
  },
  {
    name: "ESTELAM_GRPC_MAX_HEADER_BYTES",
    default: "16384",
    description: "Largest header list (metadata, uncompressed bytes) a call may send; a larger one resets the stream.",
  },
  {
    name: "ESTELAM_GRPC_MAX_MESSAGE_BYTES",
    default: "1048576",
    description: "Largest request message; a larger one gets RESOURCE_EXHAUSTED.",
  },
  {
    name: "ESTELAM_GRPC_SESSION_MEMORY_MIB",
    default: "32",
    description:
      "Memory (MiB) Node's HTTP/2 layer may use for one connection (header tables, queued frames) before its new streams are refused.",
  },
  {
    name: "ESTELAM_GRPC_MAX_IN_FLIGHT_PER_CALLER",
    default: "1024",
    description:
      "Calls in flight per caller (credential; the peer address for health and reflection); further ones get RESOURCE_EXHAUSTED / OVERLOADED at once.",
  },
  {
    name: "ESTELAM_GRPC_MAX_STRIKES_PER_CONNECTION",
    default: "100",
    description:
      "Streams one connection may have refused, reset for their slowness, or reset itself before sending its message (rapid reset); then the connection is closed with GOAWAY.",
  },
  {
    name: "ESTELAM_SHED_MEMORY_PERCENT",
    default: "85",
    description:
      "While the JavaScript heap in use is above this percentage of its limit (`--max-old-space-size`), new calls get RESOURCE_EXHAUSTED / OVERLOADED and streams still waiting for their message are reset.",
  },
  {
    name: "ESTELAM_QUOTA_SYNC_MS",
    default: "2000",
    description:
      "How often each instance records itself in the database and counts the live instances that share the grants' per-second quotas (see docs/security.md).",
  },
  {
    name: "ESTELAM_SCOREBOARD_WINDOW_MINUTES",
    default: "5",
    description:
      "Minutes over which the scoreboard judges each inquiry type against its objectives (success rate, 99th percentile latency).",
  },
  {
    name: "ESTELAM_SCOREBOARD_FLUSH_MS",
    default: "5000",
    description:
      "How often each instance writes its per-minute counts and breaker states to the database and recomputes the scoreboard (every instance's counts are merged).",
  },
  {
    name: "ESTELAM_WORKERS",
    default: "auto",
    description:
      "Worker processes sharing the gRPC port (the `--workers N` flag says the same). `auto`: one per core with a PostgreSQL database (ESTELAM_DATABASE_URL), one with the embedded database, which a single process holds. Each worker keeps its own audit journal (`<journal dir>/worker-<n>`) and hash chain (instance `<instance>-w<n>`); /metrics and /readyz on the HTTP port speak for all of them.",
  },
  {
    name: "ESTELAM_SHUTDOWN_GRACE_MS",
    default: "10000",
    description: "On SIGTERM/SIGINT, how long in-flight inquiries may finish before the servers close.",
  },
] as const satisfies readonly Setting[];

type SettingName = (typeof SETTINGS)[number]["name"];

/** Settings of the `estelam` command line only (docs/cli.md); allowed in the gateway's shell too. The CLI reads ESTELAM_GRPC_ADDRESS, the gateway's own setting, for where to connect. */
export const CLIENT_SETTINGS: readonly string[] = ["ESTELAM_API_KEY", "ESTELAM_TLS_CA", "ESTELAM_TLS_CERT", "ESTELAM_TLS_KEY"];

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
    /** `journal`, or `off` (no trail: for measurement only). */
    readonly mode: "journal" | "off";
    /** Where the journal is shipped: `kafka`, or `none` (the journal alone is the trail). */
    readonly shipper: "kafka" | "none";
    readonly kafka: {
      readonly brokers: readonly string[];
      readonly topic: string;
      readonly createTopic: boolean;
      readonly partitions: number;
      readonly replicationFactor: number;
      /** Ship from a thread of its own (ESTELAM_AUDIT_SHIPPER_THREAD). */
      readonly thread: boolean;
    };
    readonly journalDir: string;
    readonly journalMaxBytes: number;
    readonly segmentBytes: number;
    /** Follow the journal into the audit index in the database. */
    readonly index: boolean;
    readonly ackTimeoutMs: number;
    /** Wait before a journal write for more records to join it. */
    readonly commitDelayMs: number;
    readonly key: string;
    /** Earlier keys, for reading records made before a rotation. */
    readonly previousKeys: readonly string[];
  };
  /** TLS of the gRPC port (PEM file paths); undefined: plaintext. */
  readonly tls: { readonly cert: string; readonly key: string; readonly clientCa: string | undefined } | undefined;
  /** Whether API keys identify callers (false: client certificates only). */
  readonly apiKeys: boolean;
  /** How often the per-second quotas' share among instances is refreshed. */
  readonly quotaSyncMs: number;
  /** Limits of the gRPC edge (gateway/grpc/server.ts). */
  readonly edge: ServerLimits;
  readonly logLevel: string;
  /** ESTELAM_LOG_FLUSH_MS: longest a log line is held before it is written; 0 writes each at once. */
  readonly logFlushMs: number;
  readonly instance: string;
  readonly shutdownGraceMs: number;
  /** Worker processes sharing the gRPC port; 1 runs the gateway in this process alone. */
  readonly workers: number;
  /** Where `workers` came from: a number given, or `auto` (one per core with PostgreSQL, else one). */
  readonly workersFrom: "setting" | "auto";
  readonly scoreboard: { readonly windowMinutes: number; readonly flushMs: number };
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
  let workersFlag: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--demo") continue;
    if (arg === "--workers" && i + 1 < argv.length) workersFlag = argv[++i];
    else if (arg.startsWith("--workers=")) workersFlag = arg.slice("--workers=".length);
    else problems.push(`unknown flag ${arg} (the flags are --demo, --workers N and --help; settings are environment variables)`);
  }

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
  const previousKeys = raw("ESTELAM_AUDIT_PREVIOUS_KEYS")
    .split(",")
    .map((k) => k.trim())
    .filter((k) => k !== "");
  if (previousKeys.some((k) => k.length < 16)) problems.push("ESTELAM_AUDIT_PREVIOUS_KEYS: every key must be at least 16 characters");
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

  const auditMode = raw("ESTELAM_AUDIT");
  if (auditMode !== "journal" && auditMode !== "off") problems.push(`ESTELAM_AUDIT=${auditMode} must be journal or off`);
  const dataDir = resolve(env.ESTELAM_DATA_DIR?.trim() ? process.cwd() : PROJECT_ROOT, raw("ESTELAM_DATA_DIR"));
  const file = (name: SettingName): string | undefined =>
    raw(name) === "" ? undefined : resolve(env[name]?.trim() ? process.cwd() : PROJECT_ROOT, raw(name));
  const tlsCert = file("ESTELAM_GRPC_TLS_CERT");
  const tlsKey = file("ESTELAM_GRPC_TLS_KEY");
  const clientCa = file("ESTELAM_GRPC_TLS_CLIENT_CA");
  const apiKeys = bool("ESTELAM_GRPC_API_KEYS");
  if ((tlsCert === undefined) !== (tlsKey === undefined))
    problems.push("ESTELAM_GRPC_TLS_CERT and ESTELAM_GRPC_TLS_KEY go together: set both for TLS, or neither");
  if (clientCa !== undefined && tlsCert === undefined)
    problems.push("ESTELAM_GRPC_TLS_CLIENT_CA needs TLS: set ESTELAM_GRPC_TLS_CERT and ESTELAM_GRPC_TLS_KEY too");
  if (!apiKeys && clientCa === undefined)
    problems.push("ESTELAM_GRPC_API_KEYS=false leaves no way to identify callers: set ESTELAM_GRPC_TLS_CLIENT_CA (mutual TLS)");

  const workersText = (workersFlag ?? raw("ESTELAM_WORKERS")).trim().toLowerCase();
  let workers = 1;
  if (workersText === "auto") workers = databaseUrl === "" ? 1 : availableParallelism();
  else if (!/^\d+$/.test(workersText) || Number(workersText) < 1 || Number(workersText) > 256)
    problems.push(
      `${workersFlag === undefined ? "ESTELAM_WORKERS" : "--workers"}=${workersText} must be auto or a whole number from 1 to 256`,
    );
  else workers = Number(workersText);
  if (workers > 1 && databaseUrl === "")
    problems.push(
      `${workers} workers need a PostgreSQL database (ESTELAM_DATABASE_URL): the embedded one is held by a single process; unset ${workersFlag === undefined ? "ESTELAM_WORKERS" : "--workers"} (or use 1) for the embedded database`,
    );

  const config: GatewayConfig = {
    grpc: hostPort("ESTELAM_GRPC_ADDRESS"),
    http: hostPort("ESTELAM_HTTP_ADDRESS"),
    dataDir,
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
      mode: auditMode === "off" ? "off" : "journal",
      shipper: brokers.length > 0 && auditMode === "journal" ? "kafka" : "none",
      kafka: {
        brokers,
        topic,
        createTopic: bool("ESTELAM_AUDIT_CREATE_TOPIC"),
        partitions: int("ESTELAM_AUDIT_TOPIC_PARTITIONS", 1, 10_000),
        replicationFactor: int("ESTELAM_AUDIT_REPLICATION_FACTOR", 1, 16),
        thread: bool("ESTELAM_AUDIT_SHIPPER_THREAD"),
      },
      journalDir:
        raw("ESTELAM_AUDIT_JOURNAL_DIR") !== "" ? resolve(process.cwd(), raw("ESTELAM_AUDIT_JOURNAL_DIR")) : resolve(dataDir, "audit"),
      journalMaxBytes: int("ESTELAM_AUDIT_JOURNAL_MAX_BYTES", 4096, Number.MAX_SAFE_INTEGER),
      segmentBytes: int("ESTELAM_AUDIT_SEGMENT_BYTES", 1024, 4 * 1024 ** 3),
      index: bool("ESTELAM_AUDIT_INDEX"),
      ackTimeoutMs: int("ESTELAM_AUDIT_ACK_TIMEOUT_MS", 1, 600_000),
      commitDelayMs: int("ESTELAM_AUDIT_COMMIT_DELAY_MS", 0, 1000),
      key,
      previousKeys,
    },
    tls: tlsCert === undefined || tlsKey === undefined ? undefined : { cert: tlsCert, key: tlsKey, clientCa },
    apiKeys,
    quotaSyncMs: int("ESTELAM_QUOTA_SYNC_MS", 100, 60_000),
    edge: {
      admissionMs: int("ESTELAM_GRPC_ADMISSION_MS", 50, 600_000),
      sendTimeoutMs: int("ESTELAM_GRPC_SEND_TIMEOUT_MS", 100, 3_600_000),
      maxConnections: int("ESTELAM_GRPC_MAX_CONNECTIONS", 1, 1_000_000),
      maxConnectionsPerAddress: int("ESTELAM_GRPC_MAX_CONNECTIONS_PER_ADDRESS", 1, 1_000_000),
      handshakeMs: int("ESTELAM_GRPC_HANDSHAKE_MS", 100, 600_000),
      connectionIdleMs: int("ESTELAM_GRPC_CONNECTION_IDLE_MS", 1000, 86_400_000),
      maxInFlight: int("ESTELAM_GRPC_MAX_IN_FLIGHT", 1, 1_000_000),
      maxStreamsPerConnection: int("ESTELAM_GRPC_MAX_STREAMS_PER_CONNECTION", 1, 100_000),
      maxHeaderBytes: int("ESTELAM_GRPC_MAX_HEADER_BYTES", 1024, 1_048_576),
      maxMessageBytes: int("ESTELAM_GRPC_MAX_MESSAGE_BYTES", 1024, 64 * 1_048_576),
      sessionMemoryMiB: int("ESTELAM_GRPC_SESSION_MEMORY_MIB", 1, 4096),
      maxInFlightPerCaller: int("ESTELAM_GRPC_MAX_IN_FLIGHT_PER_CALLER", 1, 1_000_000),
      maxStrikesPerConnection: int("ESTELAM_GRPC_MAX_STRIKES_PER_CONNECTION", 1, 1_000_000),
      shedMemoryPercent: int("ESTELAM_SHED_MEMORY_PERCENT", 1, 100),
    },
    logLevel,
    logFlushMs: int("ESTELAM_LOG_FLUSH_MS", 0, 60_000),
    instance: raw("ESTELAM_INSTANCE") !== "" ? raw("ESTELAM_INSTANCE") : hostname(),
    shutdownGraceMs: int("ESTELAM_SHUTDOWN_GRACE_MS", 0, 600_000),
    workers,
    workersFrom: workersText === "auto" ? "auto" : "setting",
    scoreboard: {
      windowMinutes: int("ESTELAM_SCOREBOARD_WINDOW_MINUTES", 1, 60),
      flushMs: int("ESTELAM_SCOREBOARD_FLUSH_MS", 100, 60_000),
    },
  };
  if (config.audit.commitDelayMs > 0 && config.audit.commitDelayMs >= config.audit.ackTimeoutMs)
    problems.push(
      `ESTELAM_AUDIT_COMMIT_DELAY_MS=${config.audit.commitDelayMs} must be below ESTELAM_AUDIT_ACK_TIMEOUT_MS=${config.audit.ackTimeoutMs}: every answer would wait out its sync`,
    );
  if (config.audit.segmentBytes > config.audit.journalMaxBytes)
    problems.push(
      `ESTELAM_AUDIT_SEGMENT_BYTES=${config.audit.segmentBytes} must be at most ESTELAM_AUDIT_JOURNAL_MAX_BYTES=${config.audit.journalMaxBytes}: the journal would reach its bound inside one segment, which is never shipped away or archived while it is written, and refuse inquiries until a restart`,
    );
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** The text of `node gateway/main.ts --help`: the flags and every setting with its default. */
export function usage(): string {
  const width = Math.max(...SETTINGS.map((s) => s.name.length));
  const lines = [
    "usage: node gateway/main.ts [--demo] [--workers N]      (npm start = node gateway/main.ts --demo)",
    "",
    "  --demo         also start the demo agencies and allow the demo audit key",
    "  --workers N    worker processes sharing the gRPC port (as ESTELAM_WORKERS; auto = one per core with PostgreSQL)",
    "  --help         show this text",
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
