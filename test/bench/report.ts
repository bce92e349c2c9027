// The benchmark's result: per-phase measurements, the median of each path over the rounds, the ratios
// gateway/direct, and the readable table printed from them.
import type { BusinessAnswer, LatencySummary } from "./load.ts";

export type PathName = "gateway" | "direct";

export interface PhaseMeasurement {
  readonly path: PathName;
  readonly round: number;
  readonly count: number;
  readonly seconds: number;
  readonly throughput: number;
  readonly latencyMs: LatencySummary;
  readonly errors: number;
  readonly errorSamples: readonly string[];
  readonly answers: Readonly<Record<BusinessAnswer, number>>;
  /** The gateway's CPU (process_cpu_seconds_total) per inquiry; gateway phases only. */
  readonly gatewayCpuUsPerInquiry: number | undefined;
  /** The demo agencies' CPU (/proc utime+stime) per request. */
  readonly agenciesCpuUsPerRequest: number | undefined;
  /** The local Kafka broker's CPU (/proc) per inquiry, when the audit goes to it; gateway phases only. */
  readonly brokerCpuUsPerInquiry: number | undefined;
  /** The gateway's resident set size right after the phase; gateway phases only. */
  readonly gatewayRssBytes: number | undefined;
  /** This process's CPU (the load generator: grpc-js or undici client) per request. */
  readonly clientCpuUsPerRequest: number;
  /**
   * Cores kept busy during the phase by everything else on the machine (not this process, the gateway,
   * the demo agencies or the local Kafka broker): how noisy the phase was.
   */
  readonly otherCpuCores: number | undefined;
}

export interface PathMedians {
  readonly throughput: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  /** Sum over the rounds, not a median. */
  readonly errors: number;
  readonly gatewayCpuUsPerInquiry: number | undefined;
  readonly agenciesCpuUsPerRequest: number | undefined;
  readonly brokerCpuUsPerInquiry: number | undefined;
  readonly clientCpuUsPerRequest: number;
  readonly otherCpuCores: number | undefined;
}

export interface BenchResult {
  readonly bench: "estelam-inquiry";
  readonly startedAt: string;
  readonly environment: {
    readonly node: string;
    readonly platform: string;
    readonly cpus: number;
    readonly cpuModel: string;
    readonly memoryGiB: number;
  };
  readonly settings: {
    readonly requests: number;
    readonly concurrency: number;
    readonly rounds: number;
    readonly warmup: number;
    readonly logLevel: string;
    readonly gatewayEnv: Readonly<Record<string, string>>;
    readonly gatewayNodeFlags: readonly string[];
    readonly profile: boolean;
    readonly mix: Readonly<Record<string, number>>;
  };
  readonly audit: {
    readonly sink: "kafka" | "journal" | "off";
    readonly why: string;
    readonly topic: string | undefined;
    readonly expected: number;
    readonly recorded: number | undefined;
    /** Median time of the journal's durable writes (estelam_audit_write_seconds), over the whole run. */
    readonly writeP50Ms?: number | undefined;
  };
  readonly phases: readonly PhaseMeasurement[];
  readonly median: Readonly<Record<PathName, PathMedians>>;
  /** gateway / direct, from the medians. */
  readonly ratios: { readonly throughput: number; readonly p50: number; readonly p90: number; readonly p99: number };
  /** gateway / direct throughput within each round (the two phases of a round ran back to back). */
  readonly roundThroughputRatios: readonly number[];
  readonly idle:
    | {
        readonly seconds: number;
        /** Seconds of no traffic before the measurement started. */
        readonly afterSeconds: number;
        readonly gatewayCpuSecondsPerSecond: number;
        readonly agenciesCpuSecondsPerSecond: number | undefined;
      }
    | undefined;
  readonly gatewayMemory: { readonly afterWarmup: GatewayMemory | undefined; readonly atEnd: GatewayMemory | undefined };
  readonly warmupErrors: number;
  /** Why the run failed; empty when it passed. */
  readonly problems: readonly string[];
  readonly ok: boolean;
}

export interface GatewayMemory {
  readonly rssBytes: number | undefined;
  /** V8 heap, from the gateway's nodejs_heap_size_* metrics. */
  readonly heapUsedBytes: number | undefined;
  readonly heapTotalBytes: number | undefined;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function medianOf(values: ReadonlyArray<number | undefined>): number | undefined {
  const defined = values.filter((v): v is number => v !== undefined);
  return defined.length === 0 ? undefined : median(defined);
}

export function pathMedians(phases: readonly PhaseMeasurement[]): PathMedians {
  return {
    throughput: median(phases.map((p) => p.throughput)),
    p50: median(phases.map((p) => p.latencyMs.p50)),
    p90: median(phases.map((p) => p.latencyMs.p90)),
    p99: median(phases.map((p) => p.latencyMs.p99)),
    errors: phases.reduce((sum, p) => sum + p.errors, 0),
    gatewayCpuUsPerInquiry: medianOf(phases.map((p) => p.gatewayCpuUsPerInquiry)),
    agenciesCpuUsPerRequest: medianOf(phases.map((p) => p.agenciesCpuUsPerRequest)),
    brokerCpuUsPerInquiry: medianOf(phases.map((p) => p.brokerCpuUsPerInquiry)),
    clientCpuUsPerRequest: median(phases.map((p) => p.clientCpuUsPerRequest)),
    otherCpuCores: medianOf(phases.map((p) => p.otherCpuCores)),
  };
}

const int = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

function fixed(value: number | undefined, digits: number): string {
  return value === undefined || !Number.isFinite(value) ? "–" : value.toFixed(digits);
}

function whole(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? "–" : int.format(value);
}

export function formatPhase(p: PhaseMeasurement): string {
  const cpu =
    p.gatewayCpuUsPerInquiry === undefined
      ? ""
      : `  gateway CPU ${whole(p.gatewayCpuUsPerInquiry)} µs/inquiry, RSS ${mib(p.gatewayRssBytes)}`;
  return (
    `round ${p.round}  ${p.path.padEnd(7)}  ${whole(p.throughput).padStart(7)}/s  ` +
    `p50 ${fixed(p.latencyMs.p50, 2)}  p90 ${fixed(p.latencyMs.p90, 2)}  p99 ${fixed(p.latencyMs.p99, 2)} ms  ` +
    `errors ${p.errors}${cpu}  agencies ${whole(p.agenciesCpuUsPerRequest)} µs/req${p.brokerCpuUsPerInquiry === undefined ? "" : `  broker ${whole(p.brokerCpuUsPerInquiry)} µs/inquiry`}  client ${whole(p.clientCpuUsPerRequest)} µs/req  others ${fixed(p.otherCpuCores, 2)} cores`
  );
}

function mib(bytes: number | undefined): string {
  return bytes === undefined ? "–" : `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function memory(m: GatewayMemory | undefined): string {
  return m === undefined ? "–" : `RSS ${mib(m.rssBytes)}, V8 heap ${mib(m.heapUsedBytes)} used of ${mib(m.heapTotalBytes)}`;
}

/** The readable report: settings, the medians side by side with their ratios, idle cost, memory, audit. */
export function formatReport(result: BenchResult): string {
  const { median: m, ratios } = result;
  const rows: Array<readonly [string, string, string, string]> = [
    ["", "gateway", "direct", "gateway/direct"],
    ["throughput (inquiries/s)", whole(m.gateway.throughput), whole(m.direct.throughput), fixed(ratios.throughput, 2)],
    ["latency p50 (ms)", fixed(m.gateway.p50, 2), fixed(m.direct.p50, 2), fixed(ratios.p50, 2)],
    ["latency p90 (ms)", fixed(m.gateway.p90, 2), fixed(m.direct.p90, 2), fixed(ratios.p90, 2)],
    ["latency p99 (ms)", fixed(m.gateway.p99, 2), fixed(m.direct.p99, 2), fixed(ratios.p99, 2)],
    ["errors (all rounds)", String(m.gateway.errors), String(m.direct.errors), ""],
    ["gateway CPU per inquiry (µs)", whole(m.gateway.gatewayCpuUsPerInquiry), "–", ""],
    [
      "demo agencies CPU per request (µs)",
      whole(m.gateway.agenciesCpuUsPerRequest),
      whole(m.direct.agenciesCpuUsPerRequest),
      fixed(ratioOf(m.gateway.agenciesCpuUsPerRequest, m.direct.agenciesCpuUsPerRequest), 2),
    ],
    ...(m.gateway.brokerCpuUsPerInquiry === undefined
      ? []
      : [["Kafka broker CPU per inquiry (µs)", whole(m.gateway.brokerCpuUsPerInquiry), "–", ""] as const]),
    [
      "load generator CPU per request (µs)",
      whole(m.gateway.clientCpuUsPerRequest),
      whole(m.direct.clientCpuUsPerRequest),
      fixed(ratioOf(m.gateway.clientCpuUsPerRequest, m.direct.clientCpuUsPerRequest), 2),
    ],
    ["other processes' load (cores)", fixed(m.gateway.otherCpuCores, 2), fixed(m.direct.otherCpuCores, 2), ""],
  ];
  const widths = [0, 1, 2, 3].map((c) => Math.max(...rows.map((r) => (r[c] as string).length)));
  const table = rows.map(
    (r) =>
      `  ${r[0].padEnd(widths[0] as number)}  ${r[1].padStart(widths[1] as number)}  ${r[2].padStart(widths[2] as number)}  ${r[3].padStart(widths[3] as number)}`,
  );
  const s = result.settings;
  const answers = result.phases.find((p) => p.path === "gateway")?.answers;
  const lines = [
    "",
    `Median of ${s.rounds} round${s.rounds === 1 ? "" : "s"}, ${whole(s.requests)} inquiries per path per round at concurrency ${s.concurrency}:`,
    ...table,
    `  throughput ratio within each round: ${result.roundThroughputRatios.map((r) => fixed(r, 3)).join(", ")}`,
    "",
    result.idle === undefined
      ? "gateway idle CPU: not measured (--idle-seconds 0)"
      : `gateway idle CPU: ${result.idle.gatewayCpuSecondsPerSecond.toFixed(4)} CPU-s/s over ${result.idle.seconds} s with no traffic, from ${result.idle.afterSeconds} s after the warm-up (demo agencies: ${fixed(result.idle.agenciesCpuSecondsPerSecond, 4)})`,
    `gateway memory at the end: ${memory(result.gatewayMemory.atEnd)}; after warm-up: ${memory(result.gatewayMemory.afterWarmup)}`,
    result.audit.sink === "off"
      ? "audit: OFF (ESTELAM_AUDIT=off): no records kept, for comparison only"
      : `audit (${result.audit.sink === "kafka" ? "journal shipped to kafka" : "journal only"}${result.audit.topic === undefined ? "" : ` topic ${result.audit.topic}`}): ${whole(result.audit.recorded)} records for ${whole(result.audit.expected)} gateway inquiries`,
    answers === undefined
      ? ""
      : `answers per round: found ${whole(answers.found)}, not found ${whole(answers.not_found)}, rejected ${whole(answers.rejected)}`,
    result.ok ? "result: ok" : `result: FAILED\n${result.problems.map((p) => `  - ${p}`).join("\n")}`,
    "",
  ];
  return lines.join("\n");
}

export function ratioOf(a: number | undefined, b: number | undefined): number {
  return a === undefined || b === undefined || b === 0 ? Number.NaN : a / b;
}
