// Command-line options of the inquiry benchmark, validated once into a fully resolved object.
import { parseArgs } from "node:util";
import { parseDuration } from "./soak.ts";

export interface BenchOptions {
  /** Inquiries per measured phase (one phase = one path, one round). */
  readonly requests: number;
  /** Inquiries in flight at once, on both paths. */
  readonly concurrency: number;
  /** Rounds; each runs the gateway phase and the direct phase, in alternating order. */
  readonly rounds: number;
  /** Inquiries per path before the first round, not counted. */
  readonly warmup: number;
  /** Seconds of the idle measurement (no traffic); 0 skips it. */
  readonly idleSeconds: number;
  /** Seconds of no traffic before the idle measurement starts (the load's tail is not idling). */
  readonly idleSettleSeconds: number;
  /** `auto`: the journal shipped to Kafka when KAFKA_BROKERS is set or a broker answers at 127.0.0.1:19092, else the journal alone. */
  readonly audit: "auto" | "kafka" | "journal" | "off";
  /** Runs the bench with the audit trail on (as --audit says) and off, loaded and unloaded, and compares. */
  readonly compareAudit: boolean;
  /** Instead of the inquiry bench: nginx grpc_pass, the gateway and the gRPC agency under the same h2load load. */
  readonly reference: boolean;
  /** The reference proxy, the open loop (at --rate, default 1000) and the closed loop in one run, then the goals. */
  readonly goals: boolean;
  /** Open loop: inquiries per second on each path (undefined: the closed-loop bench). */
  readonly rate: number | undefined;
  /** Open loop: seconds per phase. */
  readonly durationSeconds: number;
  /** Instead of the inquiry bench: the gateway with 1 worker and with this many, side by side under h2load. */
  readonly workers: number | undefined;
  /** Instead of the inquiry bench: steady open-loop load for this many seconds, sampling the gateway's memory. */
  readonly soakSeconds: number | undefined;
  /** Seconds between memory samples of --soak. */
  readonly sampleSeconds: number;
  /** h2load connections and streams per connection for --reference. */
  readonly connections: number;
  readonly streams: number;
  /** --reference and --goals: calls made one at a time to each target, for the latency each proxy adds unloaded (0: none). */
  readonly unloaded: number;
  /** Instead of the inquiry bench: build an audit index and time the citizen's report. */
  readonly auditIndex: boolean;
  readonly indexEvents: number;
  readonly indexPeople: number;
  /** For --audit-index: a PostgreSQL server instead of embedded PGlite. */
  readonly databaseUrl: string | undefined;
  /** The gateway's ESTELAM_LOG_LEVEL. */
  readonly logLevel: string;
  /** Where the gateway's stdout (its log lines) goes; /dev/null by default. */
  readonly logFile: string | undefined;
  /** Runs the gateway under `node --cpu-prof` and summarises the profile. */
  readonly profile: boolean;
  /** Keeps the Kafka audit topic of the run instead of deleting it at the end. */
  readonly keepTopic: boolean;
  /** Prints only the JSON line on stdout. */
  readonly json: boolean;
  /** Extra gateway settings from `--gateway-env NAME=VALUE`, e.g. ESTELAM_AUDIT_INDEX=false. */
  readonly gatewayEnv: Readonly<Record<string, string>>;
  /** Extra Node.js flags for the gateway from `--gateway-node-flag`, e.g. --max-semi-space-size=32. */
  readonly gatewayNodeFlags: readonly string[];
  /** Stops the whole run, with an error, after this many seconds. */
  readonly maxSeconds: number;
  readonly help: boolean;
}

export const USAGE = `usage: npm run bench -- [options]      (node test/bench/inquiry-bench.ts [options])

Starts the demo agencies and the gateway as child processes on 127.0.0.1, then sends the same inquiries at
the same concurrency through the gateway (gRPC) and directly to the demo agencies (HTTP/JSON, undici Pool),
alternating the two paths for several rounds, and reports the median of each path and their ratios.

  --requests <n>      inquiries per measured phase                        (default 20000)
  --concurrency <n>   inquiries in flight at once, both paths             (default 64)
  --rounds <n>        rounds; each measures both paths, order alternating (default 3)
  --warmup <n>        inquiries per path before the rounds, not counted   (default 1000)
  --idle-seconds <s>  length of the no-traffic CPU measurement, 0 = skip  (default 5)
  --idle-settle <s>   no traffic for this long before it starts           (default 1; --goals: at least 30)
  --audit <mode>      auto | kafka | journal | off                        (default auto: the journal shipped
                      to Kafka when KAFKA_BROKERS is set or a broker answers at 127.0.0.1:19092, else the
                      journal alone; off = ESTELAM_AUDIT=off, no trail, to measure what it costs)
  --compare-audit     run everything with the audit trail on (as --audit says) and off, each loaded (at
                      --concurrency) and unloaded (one inquiry at a time), and compare them side by side;
                      with Kafka, also the journal alone loaded (the broker's CPU shares this machine)
  --reference         instead: the reference proxy. nginx (Debian's, /usr/sbin/nginx) proxying gRPC with
                      grpc_pass to the demo agencies' gRPC face, the gateway asked the identity inquiry,
                      and that gRPC face alone, each loaded by h2load with the same fixed request shape;
                      prints CPU per call of each (and of h2load), the gateway/nginx CPU ratio and throughputs
                      (--requests, --rounds, --warmup apply; --concurrency does not)
  --goals             the reference proxy, the open loop (at --rate, default 1000) and the closed-loop
                      bench one after another in one run, then each goal with its figure and verdict
  --rate <n>          instead: open loop. n inquiries a second, on schedule whether or not earlier ones
                      were answered, through the gateway and directly, alternating over --rounds; latency
                      counted from each inquiry's scheduled time; prints p50/p99/p99.9 of both paths and what
                      the gateway adds (--warmup applies, closed loop at --concurrency)
  --duration <s>      seconds per open-loop phase                         (default 10)
  --workers <n>       instead: the gateway with 1 worker and with n workers (ESTELAM_WORKERS; both on
                      PostgreSQL, --database-url or postgres://postgres@127.0.0.1:5432/test, fresh schemas),
                      each loaded by h2load with the household-decile inquiry (gRPC connector) over
                      --connections × --streams, alternating over --rounds of --requests calls; prints
                      throughput, CPU per inquiry of all the gateway's processes, and the ratio n : 1
  --soak <duration>   instead: a soak. Open-loop load at --rate (default 300/s) for the duration (30s, 10m,
                      30m, 1h), the gateway's RSS and V8 heap sampled every --sample-seconds; after a warm-up
                      (a fifth, at most 5 min) a least-squares line says whether memory is flat; then the
                      gateway's idle CPU over --idle-seconds (default 5)
  --sample-seconds <s> seconds between memory samples of --soak          (default 10)
  --connections <n>   h2load connections for --reference                  (default 4)
  --streams <n>       h2load streams per connection for --reference       (default 16)
  --unloaded <n>      with --reference and --goals: then n calls one at a time (h2load, 1 connection, 1
                      stream) to each target, and the latency nginx and the gateway add to the agency's
                      p50 and p99 (0: skip)                                (default 2000)
  --audit-index       instead: build an audit index of --index-events records in the database and time
                      a citizen's data-access report and a tracking-code look-up against it
  --index-events <n>  records in that index                               (default 5000000)
  --index-people <n>  distinct people they are about                      (default 1000000)
  --database-url <u>  a PostgreSQL server for it (default: embedded PGlite in a temporary folder)
  --log-level <lvl>   the gateway's ESTELAM_LOG_LEVEL                     (default info)
  --log-file <path>   keep the gateway's log lines in this file           (default: /dev/null)
  --gateway-env N=V   an extra gateway setting, e.g. ESTELAM_AUDIT_INDEX=false (repeatable)
  --gateway-node-flag <f>  an extra Node.js flag for the gateway, e.g. --max-semi-space-size=32 (repeatable)
  --profile           run the gateway under node --cpu-prof and summarise self time by module (the
                      closed-loop bench and --rate: only the gateway phases are counted)
                      (the profiler slows the gateway: use the figures of a run without it)
  --keep-topic        keep the run's Kafka audit topic (deleted by default)
  --max-seconds <s>   stop with an error after this long                  (default 900; with --soak,
                      the soak's duration + 600)
  --json              print only the JSON result line on stdout (progress goes to stderr)
  --help              show this text

Exit status: 0 when every inquiry on both paths was answered; 1 on any error, mismatch or time-out.
`;

export class UsageError extends Error {
  override readonly name = "UsageError";
}

function wholeNumber(name: string, text: string | undefined, fallback: number, min: number, max: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max)
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, not '${text}'`);
  return value;
}

export function parseBenchOptions(argv: readonly string[]): BenchOptions {
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        requests: { type: "string" },
        concurrency: { type: "string" },
        rounds: { type: "string" },
        warmup: { type: "string" },
        "idle-seconds": { type: "string" },
        "idle-settle": { type: "string" },
        audit: { type: "string" },
        "compare-audit": { type: "boolean" },
        "audit-index": { type: "boolean" },
        reference: { type: "boolean" },
        rate: { type: "string" },
        goals: { type: "boolean" },
        duration: { type: "string" },
        workers: { type: "string" },
        soak: { type: "string" },
        "sample-seconds": { type: "string" },
        connections: { type: "string" },
        streams: { type: "string" },
        unloaded: { type: "string" },
        "index-events": { type: "string" },
        "index-people": { type: "string" },
        "database-url": { type: "string" },
        "log-level": { type: "string" },
        "log-file": { type: "string" },
        "gateway-env": { type: "string", multiple: true },
        "gateway-node-flag": { type: "string", multiple: true },
        profile: { type: "boolean" },
        "keep-topic": { type: "boolean" },
        "max-seconds": { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const text = (name: string): string | undefined => {
    const value = values[name];
    return typeof value === "string" ? value : undefined;
  };
  const audit = text("audit") ?? "auto";
  if (audit !== "auto" && audit !== "kafka" && audit !== "journal" && audit !== "off")
    throw new UsageError(`--audit must be auto, kafka, journal or off, not '${audit}'`);
  if (values["compare-audit"] === true && audit === "off")
    throw new UsageError("--compare-audit compares a trail with none: give --audit auto, kafka or journal");
  const logLevel = text("log-level") ?? "info";
  if (!["fatal", "error", "warn", "info", "debug", "trace", "silent"].includes(logLevel)) {
    throw new UsageError(`--log-level must be fatal, error, warn, info, debug, trace or silent, not '${logLevel}'`);
  }
  const gatewayEnv: Record<string, string> = {};
  const pairs = values["gateway-env"];
  for (const pair of Array.isArray(pairs) ? pairs : []) {
    const match = /^(ESTELAM_[A-Z0-9_]+)=(.*)$/s.exec(pair);
    if (match === null) throw new UsageError(`--gateway-env takes ESTELAM_NAME=value, not '${pair}'`);
    gatewayEnv[match[1] as string] = match[2] as string;
  }
  const nodeFlags = values["gateway-node-flag"];
  const gatewayNodeFlags = Array.isArray(nodeFlags) ? nodeFlags : [];
  for (const flag of gatewayNodeFlags) {
    if (!/^--[a-z0-9-]+(=[\w.,/-]+)?$/.test(flag))
      throw new UsageError(`--gateway-node-flag takes one flag such as --max-semi-space-size=32, not '${flag}'`);
  }
  let soakSeconds: number | undefined;
  const soak = text("soak");
  if (soak !== undefined) {
    try {
      soakSeconds = parseDuration(soak);
    } catch (error) {
      throw new UsageError(`--soak: ${(error as Error).message}`);
    }
    if (soakSeconds < 10 || soakSeconds > 86_400) throw new UsageError(`--soak must be from 10s to 24h, not '${soak}'`);
  }
  return {
    workers: text("workers") === undefined ? undefined : wholeNumber("workers", text("workers"), 2, 1, 256),
    soakSeconds,
    sampleSeconds: wholeNumber("sample-seconds", text("sample-seconds"), 10, 1, 3600),
    requests: wholeNumber("requests", text("requests"), 20_000, 1, 10_000_000),
    concurrency: wholeNumber("concurrency", text("concurrency"), 64, 1, 4096),
    rounds: wholeNumber("rounds", text("rounds"), 3, 1, 50),
    warmup: wholeNumber("warmup", text("warmup"), 1000, 0, 1_000_000),
    idleSeconds: wholeNumber("idle-seconds", text("idle-seconds"), 5, 0, 120),
    idleSettleSeconds: wholeNumber("idle-settle", text("idle-settle"), 1, 0, 300),
    audit,
    compareAudit: values["compare-audit"] === true,
    auditIndex: values["audit-index"] === true,
    reference: values.reference === true,
    goals: values.goals === true,
    rate: text("rate") === undefined ? undefined : wholeNumber("rate", text("rate"), 1000, 1, 100_000),
    durationSeconds: wholeNumber("duration", text("duration"), 10, 1, 3600),
    connections: wholeNumber("connections", text("connections"), 4, 1, 1000),
    streams: wholeNumber("streams", text("streams"), 16, 1, 1000),
    unloaded: wholeNumber("unloaded", text("unloaded"), 2000, 0, 1_000_000),
    indexEvents: wholeNumber("index-events", text("index-events"), 5_000_000, 1000, 100_000_000),
    indexPeople: wholeNumber("index-people", text("index-people"), 1_000_000, 10, 100_000_000),
    databaseUrl: text("database-url"),
    logLevel,
    logFile: text("log-file"),
    gatewayEnv,
    gatewayNodeFlags,
    profile: values.profile === true,
    keepTopic: values["keep-topic"] === true,
    json: values.json === true,
    // A soak's own length plus ten minutes for starting, warming up and the idle measurement, unless given.
    maxSeconds: wholeNumber("max-seconds", text("max-seconds"), soakSeconds === undefined ? 900 : soakSeconds + 600, 10, 90_000),
    help: values.help === true,
  };
}
