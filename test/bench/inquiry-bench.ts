// `npm run bench`: what the gateway costs an inquiry. The demo agencies and the gateway run as child
// processes on 127.0.0.1; this process sends the same inquiries at the same concurrency through the
// gateway (gRPC, grpc-js client) and straight to the demo agencies (HTTP/JSON, undici Pool), alternating
// the two paths for several rounds because the machine is shared and noisy, and reports the median of
// each path, the ratios gateway/direct, the gateway's CPU per inquiry and at rest, and its memory.
// `--help` lists the options; docs/benchmarks.md explains the method and the figures.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { arch, availableParallelism, cpus, platform, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { DEMO_API_KEY } from "../../gateway/demo-examples.ts";
import { runAuditIndexBench } from "./audit-index-bench.ts";
import { type AuditChoice, chooseAuditSink, countJournalRecords, countTopicRecords, deleteTopic, localBrokerPid } from "./audit-trail.ts";
import { type CpuProfile, formatProfileSummary, type ProfileSummary, summarizeProfile, type TimeWindow } from "./cpu-profile.ts";
import {
  createDirectPath,
  createGatewayPath,
  type PhaseResult,
  percentile,
  runLoad,
  runOpenLoop,
  type Sender,
  summarizeLatencies,
} from "./load.ts";
import { type BenchOptions, parseBenchOptions, USAGE, UsageError } from "./options.ts";
import {
  type AgenciesChild,
  type Child,
  freePort,
  gatewayCpuSeconds,
  killChildrenNow,
  machineBusySeconds,
  procCpuSeconds,
  procRssBytes,
  procTreeCpuSeconds,
  scrapeMetrics,
  startAgenciesChild,
  startGatewayChild,
  stopChild,
} from "./processes.ts";
import {
  decileInquiryFrame,
  formatReference,
  gatewayAnswered,
  type Nginx,
  type ReferenceSummary,
  referenceToolsMissing,
  runH2load,
  runReference,
  startNginx,
} from "./reference-proxy.ts";
import {
  type BenchResult,
  formatPhase,
  formatReport,
  type GatewayMemory,
  median,
  type PathName,
  type PhaseMeasurement,
  pathMedians,
  ratioOf,
} from "./report.ts";
import { formatSoakVerdict, judgeSoak, type MemorySample } from "./soak.ts";
import { buildWorkload, workloadMix } from "./workload.ts";

const DEADLINE_MS = 10_000;
const WARMUP_SEED = 50_000_000;
const AUDIT_KEY = "estelam-bench-audit-key-not-a-secret-0123456789";
const DEMO_REGISTRY_DIR = join(import.meta.dirname, "../../registry/catalogues/demo");

/** Progress goes to stderr so that `--json` leaves stdout to the result. */
function progress(text: string): void {
  process.stderr.write(`${text}\n`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

interface Run {
  readonly options: BenchOptions;
  readonly dir: string;
  readonly abort: AbortController;
  agencies?: AgenciesChild;
  gateway?: Child;
  audit?: AuditChoice;
  /** The local Kafka broker's pid, when the audit goes to it. */
  brokerPid?: number;
  nginx?: Nginx;
  /** A second gateway (--workers: the one with several workers). */
  otherGateway?: Child;
  /** PostgreSQL schemas the run made, dropped at the end. */
  schemas?: { readonly url: string; readonly names: string[] };
}

async function measurePhase(
  run: Run,
  path: PathName,
  round: number,
  send: Sender,
  inquiries: Parameters<typeof runLoad>[0],
  gatewayHttpUrl: string,
  windows: TimeWindow[],
): Promise<PhaseMeasurement> {
  const agenciesPid = run.agencies?.pid ?? 0;
  const gatewayBefore = path === "gateway" ? await gatewayCpuSeconds(gatewayHttpUrl, run.gateway?.pid) : undefined;
  const agenciesBefore = procCpuSeconds(agenciesPid);
  const brokerBefore = run.brokerPid === undefined ? undefined : procCpuSeconds(run.brokerPid);
  const gatewayProcBefore = run.gateway === undefined ? undefined : procTreeCpuSeconds(run.gateway.pid);
  const machineBefore = machineBusySeconds();
  const clientBefore = process.cpuUsage();
  const startUs = monotonicUs();
  const result: PhaseResult = await runLoad(inquiries, run.options.concurrency, send, run.abort.signal);
  const endUs = monotonicUs();
  const client = process.cpuUsage(clientBefore);
  const machineAfter = machineBusySeconds();
  const gatewayProcAfter = run.gateway === undefined ? undefined : procTreeCpuSeconds(run.gateway.pid);
  const agenciesAfter = procCpuSeconds(agenciesPid);
  const brokerAfter = brokerBefore === undefined || run.brokerPid === undefined ? undefined : procCpuSeconds(run.brokerPid);
  const gatewayAfter = gatewayBefore === undefined ? undefined : await gatewayCpuSeconds(gatewayHttpUrl, run.gateway?.pid);
  const gatewayRssBytes = path === "gateway" && run.gateway !== undefined ? procRssBytes(run.gateway.pid) : undefined;
  if (path === "gateway") windows.push({ startUs, endUs });
  const ours = [
    [gatewayProcBefore, gatewayProcAfter],
    [agenciesBefore, agenciesAfter],
    [brokerBefore ?? 0, brokerAfter ?? 0],
    [0, (client.user + client.system) / 1e6],
  ].reduce<number | undefined>(
    (sum, [before, after]) => (sum === undefined || before === undefined || after === undefined ? undefined : sum + after - before),
    0,
  );
  const otherCpuCores =
    machineBefore === undefined || machineAfter === undefined || ours === undefined
      ? undefined
      : Math.max(0, machineAfter - machineBefore - ours) / ((endUs - startUs) / 1e6);
  const perRequestUs = (seconds: number | undefined): number | undefined =>
    seconds === undefined ? undefined : (seconds * 1e6) / result.count;
  return {
    path,
    round,
    count: result.count,
    seconds: result.seconds,
    throughput: result.count / result.seconds,
    latencyMs: summarizeLatencies(result.latenciesMs),
    errors: result.errors,
    errorSamples: result.errorSamples,
    answers: result.answers,
    gatewayCpuUsPerInquiry:
      gatewayBefore === undefined || gatewayAfter === undefined ? undefined : perRequestUs(gatewayAfter - gatewayBefore),
    agenciesCpuUsPerRequest:
      agenciesBefore === undefined || agenciesAfter === undefined ? undefined : perRequestUs(agenciesAfter - agenciesBefore),
    gatewayRssBytes,
    brokerCpuUsPerInquiry:
      path !== "gateway" || brokerBefore === undefined || brokerAfter === undefined ? undefined : perRequestUs(brokerAfter - brokerBefore),
    clientCpuUsPerRequest: (client.user + client.system) / result.count,
    otherCpuCores,
  };
}

async function memoryOf(gateway: Child, httpUrl: string): Promise<GatewayMemory> {
  const metrics = await scrapeMetrics(httpUrl).catch(() => new Map<string, number>());
  return {
    rssBytes: metrics.get("process_resident_memory_bytes") ?? procRssBytes(gateway.pid),
    heapUsedBytes: metrics.get("nodejs_heap_size_used_bytes"),
    heapTotalBytes: metrics.get("nodejs_heap_size_total_bytes"),
  };
}

/** Records in the gateway's journal not yet acknowledged by Kafka, from its /metrics. */
async function shippingBacklog(httpUrl: string): Promise<number> {
  const text = await (await fetch(`${httpUrl}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  return Number(/^estelam_audit_backlog_events\{shipper="kafka"\} (\d+)$/m.exec(text)?.[1] ?? 0);
}

/**
 * The median of the journal's durable writes, from the gateway's estelam_audit_write_seconds histogram
 * (interpolated within its bucket, as PromQL's histogram_quantile).
 */
async function auditWriteP50Ms(httpUrl: string): Promise<number | undefined> {
  const text = await (await fetch(`${httpUrl}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  const buckets = [...text.matchAll(/^estelam_audit_write_seconds_bucket\{le="([^"]+)",sink="journal"\} (\d+)$/gm)].map((m) => ({
    le: m[1] === "+Inf" ? Number.POSITIVE_INFINITY : Number(m[1]),
    count: Number(m[2]),
  }));
  const total = buckets.at(-1)?.count ?? 0;
  if (total === 0) return undefined;
  let lower = 0;
  let below = 0;
  for (const { le, count } of buckets) {
    if (count >= total / 2) {
      if (!Number.isFinite(le)) return lower * 1000;
      return (lower + ((le - lower) * (total / 2 - below)) / Math.max(1, count - below)) * 1000;
    }
    lower = le;
    below = count;
  }
  return undefined;
}

/** Chooses the audit trail --audit says and starts the demo agencies. */
async function startAgencies(run: Run): Promise<{ audit: AuditChoice; agencies: AgenciesChild }> {
  const { options } = run;
  const audit = await chooseAuditSink(options.audit, process.env);
  run.audit = audit;
  if (audit.sink === "kafka") run.brokerPid = localBrokerPid(audit.brokers);
  progress(
    audit.sink === "kafka"
      ? `audit: kafka at ${audit.brokers.join(",")}, fresh topic ${audit.topic} (${audit.why})${run.brokerPid === undefined ? "" : `, broker pid ${run.brokerPid}`}`
      : audit.sink === "off"
        ? `audit: OFF (${audit.why}): no trail, for comparison`
        : `audit: journal ${join(run.dir, "audit")} (${audit.why})`,
  );
  run.agencies = await startAgenciesChild();
  progress(`demo agencies: pid ${run.agencies.pid} at ${run.agencies.url}`);
  return { audit, agencies: run.agencies };
}

interface StartedGateway {
  readonly httpUrl: string;
  readonly grpcPort: number;
  readonly child: Child;
}

/** A gateway child on fresh ports with the run's settings, `extra` (e.g. workers and a database) on top. */
async function startBenchGateway(
  run: Run,
  audit: AuditChoice,
  agencies: AgenciesChild,
  dataDir: string,
  extra: Readonly<Record<string, string>> = {},
): Promise<StartedGateway> {
  const { options } = run;
  const [grpcPort, httpPort] = [await freePort(), await freePort()];
  const httpUrl = `http://127.0.0.1:${httpPort}`;
  const env: Record<string, string> = {
    ESTELAM_GRPC_ADDRESS: `127.0.0.1:${grpcPort}`,
    ESTELAM_HTTP_ADDRESS: `127.0.0.1:${httpPort}`,
    DEMO_AGENCIES_URL: agencies.url,
    DEMO_GRPC_ADDRESS: agencies.grpcAddress,
    // A registry of its own, seeded from the demo documents.
    ESTELAM_DATA_DIR: dataDir,
    ESTELAM_REGISTRY_SEED: DEMO_REGISTRY_DIR,
    ESTELAM_AUDIT_KEY: AUDIT_KEY,
    ESTELAM_LOG_LEVEL: options.logLevel,
    ESTELAM_INSTANCE: "bench",
    ESTELAM_SHUTDOWN_GRACE_MS: "5000",
    ...(audit.sink === "kafka" ? { KAFKA_BROKERS: audit.brokers.join(","), ESTELAM_AUDIT_TOPIC: audit.topic } : {}),
    ...(audit.sink === "off" ? { ESTELAM_AUDIT: "off" } : {}),
    ...(options.workers === undefined ? {} : { ESTELAM_WORKERS: "1" }),
    ...options.gatewayEnv,
    ...extra,
  };
  const profileDir = options.profile ? run.dir : undefined;
  const child = await startGatewayChild({ env, httpUrl, logFile: options.logFile, profileDir, nodeFlags: options.gatewayNodeFlags });
  const shown = { ...options.gatewayEnv, ...extra };
  progress(
    `gateway: pid ${child.pid}, gRPC 127.0.0.1:${grpcPort}, ops ${httpUrl}, log level ${options.logLevel} to ${options.logFile ?? "/dev/null"}` +
      (Object.keys(shown).length > 0
        ? `, with ${Object.entries(shown)
            .map(([k, v]) => `${k}=${v}`)
            .join(" ")}`
        : "") +
      (options.gatewayNodeFlags.length > 0 ? `, node ${options.gatewayNodeFlags.join(" ")}` : "") +
      (options.profile ? ", under node --cpu-prof (slower: figures of this run are not representative)" : ""),
  );
  return { httpUrl, grpcPort, child };
}

/** Starts the demo agencies and the gateway (with the audit trail --audit chooses) as child processes. */
async function startStack(
  run: Run,
  extra: Readonly<Record<string, string>> = {},
): Promise<{ httpUrl: string; grpcPort: number; audit: AuditChoice; agencies: AgenciesChild; gateway: Child }> {
  const { audit, agencies } = await startAgencies(run);
  const gateway = await startBenchGateway(run, audit, agencies, run.dir, extra);
  run.gateway = gateway.child;
  return { httpUrl: gateway.httpUrl, grpcPort: gateway.grpcPort, audit, agencies, gateway: gateway.child };
}

async function bench(run: Run): Promise<{ result: BenchResult; profile: ProfileSummary | undefined }> {
  const { options } = run;
  const startedAt = new Date().toISOString();
  const { httpUrl, grpcPort, audit } = await startStack(run);
  if (run.agencies === undefined || run.gateway === undefined) throw new Error("the child processes did not start");

  const gatewayPath = createGatewayPath(`127.0.0.1:${grpcPort}`, DEMO_API_KEY, "bench/load-generator", DEADLINE_MS);
  const directPath = createDirectPath(run.agencies.url, options.concurrency, DEADLINE_MS);
  const phases: PhaseMeasurement[] = [];
  const windows: TimeWindow[] = [];
  const problems: string[] = [];
  let warmupErrors = 0;
  let idle: BenchResult["idle"];
  let memoryAfterWarmup: GatewayMemory | undefined;
  let memoryAtEnd: GatewayMemory | undefined;
  let writeP50Ms: number | undefined;
  const workload = buildWorkload(options.requests, 1);
  try {
    if (options.warmup > 0) {
      const warm = buildWorkload(options.warmup, WARMUP_SEED);
      for (const [name, path] of [
        ["gateway", gatewayPath],
        ["direct", directPath],
      ] as const) {
        const result = await runLoad(warm, options.concurrency, path.send, run.abort.signal);
        warmupErrors += result.errors;
        progress(
          `warm-up ${name}: ${result.count} inquiries, ${result.errors} errors${result.errorSamples.length > 0 ? ` (${result.errorSamples.join("; ")})` : ""}`,
        );
      }
    }
    memoryAfterWarmup = await memoryOf(run.gateway, httpUrl);

    if (options.idleSeconds > 0) {
      await sleep(options.idleSettleSeconds * 1000);
      const gatewayBefore = await gatewayCpuSeconds(httpUrl, run.gateway?.pid);
      const agenciesBefore = procCpuSeconds(run.agencies.pid);
      const started = performance.now();
      await sleep(options.idleSeconds * 1000);
      const gatewayAfter = await gatewayCpuSeconds(httpUrl, run.gateway?.pid);
      const agenciesAfter = procCpuSeconds(run.agencies.pid);
      const seconds = (performance.now() - started) / 1000;
      idle = {
        seconds: options.idleSeconds,
        afterSeconds: options.idleSettleSeconds,
        gatewayCpuSecondsPerSecond: (gatewayAfter - gatewayBefore) / seconds,
        agenciesCpuSecondsPerSecond:
          agenciesBefore === undefined || agenciesAfter === undefined ? undefined : (agenciesAfter - agenciesBefore) / seconds,
      };
      progress(
        `idle: gateway ${idle.gatewayCpuSecondsPerSecond.toFixed(4)} CPU-s/s, demo agencies ${idle.agenciesCpuSecondsPerSecond?.toFixed(4) ?? "–"} CPU-s/s over ${options.idleSeconds} s`,
      );
    }

    for (let round = 1; round <= options.rounds; round++) {
      const order: PathName[] = round % 2 === 1 ? ["gateway", "direct"] : ["direct", "gateway"];
      for (const path of order) {
        const measured = await measurePhase(
          run,
          path,
          round,
          path === "gateway" ? gatewayPath.send : directPath.send,
          workload,
          httpUrl,
          windows,
        );
        phases.push(measured);
        progress(formatPhase(measured));
        for (const sample of measured.errorSamples) progress(`  error: ${sample}`);
      }
    }
    memoryAtEnd = await memoryOf(run.gateway, httpUrl);
    if (audit.sink !== "off") writeP50Ms = await auditWriteP50Ms(httpUrl).catch(() => undefined);
  } finally {
    gatewayPath.close();
    await directPath.close();
  }

  // Every answered inquiry must be in the audit trail: the gateway withholds an answer until its event is
  // durable. One more record: the seeding of the gateway's registry (its first revision).
  const expected = options.warmup + options.rounds * options.requests + 1;
  let recorded: number | undefined;
  try {
    if (audit.sink === "kafka") {
      // Answers never wait for Kafka: let the shipper deliver the journal first.
      for (let waited = 0; (await shippingBacklog(httpUrl)) > 0; waited += 100) {
        if (waited > 60_000) throw new Error("the journal was not shipped to kafka within 60 s");
        await sleep(100);
      }
      recorded = await countTopicRecords(audit.brokers, audit.topic);
    } else if (audit.sink === "journal") recorded = await countJournalRecords(join(run.dir, "audit"));
  } catch (error) {
    problems.push(`could not count the audit records: ${(error as Error).message}`);
  }

  // The gateway is stopped before the profile is read: V8 writes it when the process exits.
  const how = await stopChild(run.gateway);
  let profile: ProfileSummary | undefined;
  if (options.profile) {
    if (how !== "exit code 0") problems.push(`the gateway did not exit cleanly (${how}); no profile`);
    const file = readdirSync(run.dir).find((f) => f.endsWith(".cpuprofile"));
    if (file !== undefined) {
      profile = summarizeProfile(JSON.parse(await readFile(join(run.dir, file), "utf8")) as CpuProfile, windows);
      progress(`profile: ${join(run.dir, file)}`);
    }
  }

  const byPath = (path: PathName): PhaseMeasurement[] => phases.filter((p) => p.path === path);
  const median = { gateway: pathMedians(byPath("gateway")), direct: pathMedians(byPath("direct")) };
  if (warmupErrors > 0) problems.push(`${warmupErrors} errors during warm-up`);
  for (const path of ["gateway", "direct"] as const)
    if (median[path].errors > 0) problems.push(`${median[path].errors} errors on the ${path} path`);
  // Both paths asked the same questions of the same agencies, so their business answers must agree.
  for (const round of new Set(phases.map((p) => p.round))) {
    const [g, d] = [
      phases.find((p) => p.round === round && p.path === "gateway"),
      phases.find((p) => p.round === round && p.path === "direct"),
    ];
    if (g !== undefined && d !== undefined && JSON.stringify(g.answers) !== JSON.stringify(d.answers)) {
      problems.push(
        `round ${round}: the paths' answers differ (gateway ${JSON.stringify(g.answers)}, direct ${JSON.stringify(d.answers)})`,
      );
    }
  }
  if (audit.sink !== "off" && recorded !== undefined && recorded !== expected)
    problems.push(`the audit trail holds ${recorded} records for ${expected} gateway inquiries`);

  const result: BenchResult = {
    bench: "estelam-inquiry",
    startedAt,
    environment: {
      node: process.version,
      platform: `${platform()} ${arch()}`,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model.trim() ?? "",
      memoryGiB: Math.round(totalmem() / 2 ** 30),
    },
    settings: {
      requests: options.requests,
      concurrency: options.concurrency,
      rounds: options.rounds,
      warmup: options.warmup,
      logLevel: options.logLevel,
      gatewayEnv: options.gatewayEnv,
      gatewayNodeFlags: options.gatewayNodeFlags,
      profile: options.profile,
      mix: workloadMix(workload),
    },
    audit: {
      sink: audit.sink,
      why: audit.why,
      topic: audit.sink === "kafka" ? audit.topic : undefined,
      expected,
      recorded,
      writeP50Ms,
    },
    phases,
    median,
    ratios: {
      throughput: ratioOf(median.gateway.throughput, median.direct.throughput),
      p50: ratioOf(median.gateway.p50, median.direct.p50),
      p90: ratioOf(median.gateway.p90, median.direct.p90),
      p99: ratioOf(median.gateway.p99, median.direct.p99),
    },
    roundThroughputRatios: [...new Set(phases.map((p) => p.round))].map((round) =>
      ratioOf(
        phases.find((p) => p.round === round && p.path === "gateway")?.throughput,
        phases.find((p) => p.round === round && p.path === "direct")?.throughput,
      ),
    ),
    idle,
    gatewayMemory: { afterWarmup: memoryAfterWarmup, atEnd: memoryAtEnd },
    warmupErrors,
    problems,
    ok: problems.length === 0,
  };
  return { result, profile };
}

/** --reference: nginx grpc_pass, the gateway and the gRPC agency alone under the same h2load load. */
async function referenceBench(run: Run): Promise<{ ok: boolean; summary: ReferenceSummary }> {
  const { options } = run;
  const missing = referenceToolsMissing();
  if (missing !== undefined) throw new Error(`--reference needs ${missing} (Debian packages nginx, nghttp2-client and time)`);
  const { httpUrl, grpcPort, audit, agencies, gateway } = await startStack(run);
  run.nginx = await startNginx(join(run.dir, "nginx"), `127.0.0.1:${await freePort()}`, agencies.grpcAddress);
  progress(`nginx: pid ${run.nginx.pid} at ${run.nginx.address}, grpc_pass to the demo agencies' gRPC face ${agencies.grpcAddress}`);
  const summary = await runReference({
    dir: run.dir,
    rounds: options.rounds,
    requests: options.requests,
    warmup: options.warmup,
    connections: options.connections,
    streams: options.streams,
    agenciesUrl: agencies.url,
    agenciesGrpc: agencies.grpcAddress,
    agenciesPid: agencies.pid,
    nginxAddress: run.nginx.address,
    gatewayGrpc: `127.0.0.1:${grpcPort}`,
    gatewayPid: gateway.pid,
    gatewayHttpUrl: httpUrl,
    gatewayApiKey: DEMO_API_KEY,
    brokerPid: run.brokerPid,
    settle: async () => {
      if (audit.sink !== "kafka") return;
      for (let waited = 0; (await shippingBacklog(httpUrl)) > 0; waited += 50) {
        if (waited > 60_000) throw new Error("the journal was not shipped to kafka within 60 s");
        await sleep(50);
      }
    },
    machineBusySeconds,
    progress,
    timeoutSeconds: options.maxSeconds,
    unloaded: options.unloaded,
  });
  const json = { bench: "estelam-reference-proxy", audit: { sink: audit.sink, why: audit.why }, ...summary };
  if (options.json) process.stdout.write(`${JSON.stringify(json)}\n`);
  else process.stdout.write(`${formatReference(summary)}\n${JSON.stringify(json)}\n`);
  return { ok: summary.problems.length === 0, summary };
}

const DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/test";

async function dropSchemas(url: string, names: readonly string[]): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    for (const name of names) await client.query(`drop schema if exists ${name} cascade`);
  } finally {
    await client.end();
  }
}

interface WorkersPhase {
  readonly workers: number;
  readonly round: number;
  readonly calls: number;
  readonly failures: number;
  readonly throughput: number;
  readonly gatewayCpuUs: number | undefined;
  readonly loadGeneratorCpuUs: number;
  readonly otherCores: number | undefined;
}

/** --workers n: the gateway with one worker and with n, side by side under the same h2load load. */
async function workersBench(run: Run): Promise<{ ok: boolean }> {
  const { options } = run;
  const n = options.workers ?? 2;
  const missing = referenceToolsMissing();
  if (missing !== undefined) throw new Error(`--workers needs ${missing} (Debian packages nghttp2-client and time)`);
  const url = options.databaseUrl ?? DEFAULT_DATABASE_URL;
  const tag = `${Date.now().toString(36)}_${process.pid}`;
  run.schemas = { url, names: [`bench_w1_${tag}`, `bench_w${n}_${tag}`] };
  const { audit, agencies } = await startAgencies(run);
  const start = async (workers: number, schema: string): Promise<StartedGateway> =>
    startBenchGateway(run, audit, agencies, join(run.dir, `w${workers}`), {
      ESTELAM_WORKERS: String(workers),
      ESTELAM_DATABASE_URL: url,
      ESTELAM_DATABASE_SCHEMA: schema,
      ESTELAM_INSTANCE: `bench-${workers}`,
    });
  const one = await start(1, run.schemas.names[0] as string);
  run.gateway = one.child;
  const many = await start(n, run.schemas.names[1] as string);
  run.otherGateway = many.child;
  const gateways = new Map<number, StartedGateway>([
    [1, one],
    [n, many],
  ]);

  const body = join(run.dir, "decile.bin");
  writeFileSync(body, decileInquiryFrame());
  const load = (gateway: StartedGateway, requests: number) =>
    runH2load({
      url: `http://127.0.0.1:${gateway.grpcPort}/estelam.inquiry.v1.InquiryService/Inquire`,
      bodyFile: body,
      headers: [`authorization: Bearer ${DEMO_API_KEY}`],
      requests,
      connections: options.connections,
      streams: options.streams,
      timeFile: join(run.dir, "h2load.time"),
      timeoutSeconds: options.maxSeconds,
    });
  const settle = async (httpUrl: string): Promise<void> => {
    if (audit.sink !== "kafka") return;
    for (let waited = 0; (await shippingBacklog(httpUrl)) > 0; waited += 50) {
      if (waited > 60_000) throw new Error("the journal was not shipped to kafka within 60 s");
      await sleep(50);
    }
  };
  const problems: string[] = [];
  for (const [workers, gateway] of gateways) {
    if (options.warmup === 0) break;
    const before = await gatewayAnswered(gateway.httpUrl);
    const warm = await load(gateway, options.warmup);
    const ok = (await gatewayAnswered(gateway.httpUrl)) - before;
    progress(`warm-up ${workers} worker(s): ${warm.requests} calls, ${warm.failed} failed, ${ok} answered`);
    if (ok !== options.warmup) problems.push(`warm-up ${workers} worker(s): ${ok} of ${options.warmup} answered`);
    await settle(gateway.httpUrl);
  }
  const phases: WorkersPhase[] = [];
  for (let round = 1; round <= options.rounds; round++) {
    for (const workers of round % 2 === 1 ? [1, n] : [n, 1]) {
      const gateway = gateways.get(workers) as StartedGateway;
      const answeredBefore = await gatewayAnswered(gateway.httpUrl);
      const cpuBefore = procTreeCpuSeconds(gateway.child.pid);
      const agenciesBefore = procCpuSeconds(agencies.pid) ?? 0;
      const brokerBefore = run.brokerPid === undefined ? 0 : (procCpuSeconds(run.brokerPid) ?? 0);
      const machineBefore = machineBusySeconds();
      const started = performance.now();
      const result = await load(gateway, options.requests);
      await settle(gateway.httpUrl);
      const wall = (performance.now() - started) / 1000;
      const machineAfter = machineBusySeconds();
      const cpuAfter = procTreeCpuSeconds(gateway.child.pid);
      const ours =
        (cpuAfter ?? 0) -
        (cpuBefore ?? 0) +
        (procCpuSeconds(agencies.pid) ?? 0) -
        agenciesBefore +
        (run.brokerPid === undefined ? 0 : (procCpuSeconds(run.brokerPid) ?? 0) - brokerBefore) +
        result.cpuSeconds;
      const answered = (await gatewayAnswered(gateway.httpUrl)) - answeredBefore;
      const phase: WorkersPhase = {
        workers,
        round,
        calls: result.requests,
        failures: result.failed + (result.requests - answered),
        throughput: result.requests / result.seconds,
        gatewayCpuUs: cpuBefore === undefined || cpuAfter === undefined ? undefined : ((cpuAfter - cpuBefore) * 1e6) / result.requests,
        loadGeneratorCpuUs: (result.cpuSeconds * 1e6) / result.requests,
        otherCores:
          machineBefore === undefined || machineAfter === undefined ? undefined : Math.max(0, machineAfter - machineBefore - ours) / wall,
      };
      phases.push(phase);
      progress(
        `round ${round}, ${workers} worker(s): ${phase.calls} calls, ${phase.throughput.toFixed(0)}/s, ${phase.failures} failed; gateway CPU ${phase.gatewayCpuUs?.toFixed(0) ?? "–"} µs/inquiry, h2load ${phase.loadGeneratorCpuUs.toFixed(0)} µs; other processes ${phase.otherCores?.toFixed(2) ?? "–"} cores`,
      );
      if (phase.failures > 0) problems.push(`round ${round}, ${workers} worker(s): ${phase.failures} of ${phase.calls} calls not answered`);
    }
  }
  const medianOf = (workers: number) => {
    const of = phases.filter((p) => p.workers === workers);
    const cpu = of.map((p) => p.gatewayCpuUs).filter((v): v is number => v !== undefined);
    const other = of.map((p) => p.otherCores).filter((v): v is number => v !== undefined);
    return {
      workers,
      throughput: median(of.map((p) => p.throughput)),
      gatewayCpuUs: cpu.length === 0 ? undefined : median(cpu),
      loadGeneratorCpuUs: median(of.map((p) => p.loadGeneratorCpuUs)),
      otherCores: other.length === 0 ? undefined : median(other),
    };
  };
  const medians = [medianOf(1), medianOf(n)];
  const ratio = (medians[1]?.throughput ?? Number.NaN) / (medians[0]?.throughput ?? Number.NaN);
  const json = {
    bench: "estelam-workers",
    cores: availableParallelism(),
    audit: { sink: audit.sink, why: audit.why },
    connections: options.connections,
    streams: options.streams,
    requests: options.requests,
    rounds: options.rounds,
    phases,
    median: medians,
    throughputRatio: ratio,
    problems,
  };
  const row = (m: (typeof medians)[number]): string =>
    `${`${m.workers} worker${m.workers === 1 ? "" : "s"}`.padEnd(14)}${m.throughput.toFixed(0).padStart(10)}${(m.gatewayCpuUs?.toFixed(0) ?? "–").padStart(16)}${m.loadGeneratorCpuUs.toFixed(0).padStart(12)}${(m.otherCores?.toFixed(2) ?? "–").padStart(10)}`;
  const text = [
    "",
    `workers, side by side (h2load ${options.connections} connections × ${options.streams} streams, household-decile inquiry through the gRPC connector, ${options.requests} calls per phase, median of ${options.rounds} rounds, ${availableParallelism()} cores, PostgreSQL)`,
    "",
    `${"".padEnd(14)}${"calls/s".padStart(10)}${"CPU µs/inquiry".padStart(16)}${"h2load µs".padStart(12)}${"others".padStart(10)}`,
    ...medians.map(row),
    "",
    `throughput ${n} workers ÷ 1 worker: ${ratio.toFixed(2)}`,
    ...problems.map((p) => `PROBLEM: ${p}`),
    "",
  ].join("\n");
  if (options.json) process.stdout.write(`${JSON.stringify(json)}\n`);
  else process.stdout.write(`${text}\n${JSON.stringify(json)}\n`);
  return { ok: problems.length === 0 };
}

/** What a soak shows of where the gateway's memory is, beside its verdict: the heap sizes of its threads. */
const SOAK_PARTS: ReadonlyArray<readonly [string, string]> = [
  ["main heap", "nodejs_heap_size_total_bytes"],
  ["main external", "nodejs_external_memory_bytes"],
  ["database heap", 'estelam_thread_heap_size_total_bytes{thread="database"}'],
  ["shipper heap", 'estelam_thread_heap_size_total_bytes{thread="audit-shipper"}'],
];

/** --soak: steady open-loop load for a long while, the gateway's memory sampled; is it flat? */
async function soakBench(run: Run): Promise<{ ok: boolean }> {
  const { options } = run;
  const seconds = options.soakSeconds ?? 60;
  const rate = options.rate ?? 300;
  const { grpcPort, httpUrl, gateway } = await startStack(run);
  const gatewayPath = createGatewayPath(`127.0.0.1:${grpcPort}`, DEMO_API_KEY, "bench/load-generator", DEADLINE_MS);
  const problems: string[] = [];
  const samples: MemorySample[] = [];
  const latencies: Float64Array[] = [];
  let sent = 0;
  let errors = 0;
  let worstSendLagMs = 0;
  try {
    if (options.warmup > 0) {
      const warm = await runLoad(buildWorkload(options.warmup, WARMUP_SEED), options.concurrency, gatewayPath.send, run.abort.signal);
      progress(`warm-up: ${warm.count} inquiries, ${warm.errors} errors`);
    }
    progress(`soak: ${rate} inquiries/s for ${seconds} s, memory sampled every ${options.sampleSeconds} s`);
    const started = performance.now();
    const sample = async (): Promise<void> => {
      const metrics = await scrapeMetrics(httpUrl).catch(() => undefined);
      const rss = metrics?.get("process_resident_memory_bytes");
      const heap = metrics?.get("nodejs_heap_size_used_bytes");
      if (metrics === undefined || rss === undefined || heap === undefined) return;
      const parts: Record<string, number> = {};
      for (const [name, metric] of SOAK_PARTS) {
        const value = metrics.get(metric);
        if (value !== undefined) parts[name] = value;
      }
      samples.push({ atSeconds: (performance.now() - started) / 1000, rssBytes: rss, heapUsedBytes: heap, parts });
    };
    await sample();
    const sampler = setInterval(() => void sample(), options.sampleSeconds * 1000);
    // The load goes in chunks of ten seconds' worth, so the bench holds one chunk's inquiries at a time.
    let chunk = 0;
    try {
      while (!run.abort.signal.aborted) {
        const left = seconds - (performance.now() - started) / 1000;
        if (left <= 0.5) break;
        const count = Math.max(1, Math.round(rate * Math.min(10, left)));
        const result = await runOpenLoop(buildWorkload(count, (chunk + 1) * 1_000_000), rate, gatewayPath.send, run.abort.signal);
        chunk++;
        sent += result.count;
        errors += result.errors;
        worstSendLagMs = Math.max(worstSendLagMs, result.maxSendLagMs);
        latencies.push(result.latenciesMs);
        if (result.errors > 0) problems.push(`chunk ${chunk}: ${result.errors} errors (${result.errorSamples[0] ?? ""})`);
        if (chunk % 6 === 0) {
          const last = samples[samples.length - 1];
          progress(
            `soak ${((performance.now() - started) / 1000).toFixed(0)} s: ${sent} inquiries, ${errors} errors; RSS ${((last?.rssBytes ?? 0) / 1048576).toFixed(0)} MiB, heap used ${((last?.heapUsedBytes ?? 0) / 1048576).toFixed(0)} MiB`,
          );
        }
      }
    } finally {
      clearInterval(sampler);
    }
    await sample();
  } finally {
    gatewayPath.close();
  }
  const verdict = judgeSoak(samples, seconds);
  // Idle CPU twice: just after the load (its tail: the shipper and the index catching up, the heap shrinking)
  // and once settled, SOAK_SETTLE_SECONDS later, which is what an idle gateway costs; the goal is judged on it.
  let tail: number | undefined;
  let idle: number | undefined;
  if (options.idleSeconds > 0) {
    const cpuOver = async (seconds: number): Promise<number | undefined> => {
      const before = procTreeCpuSeconds(gateway.pid);
      await sleep(seconds * 1000);
      const after = procTreeCpuSeconds(gateway.pid);
      return before === undefined || after === undefined ? undefined : (after - before) / seconds;
    };
    await sleep(2000);
    tail = await cpuOver(options.idleSeconds);
    await sleep(SOAK_SETTLE_SECONDS * 1000);
    idle = await cpuOver(options.idleSeconds);
  }
  const all = new Float64Array(latencies.reduce((n, l) => n + l.length, 0));
  let at = 0;
  for (const l of latencies) {
    all.set(l, at);
    at += l.length;
  }
  const latency = summarizeLatencies(all);
  const json = {
    bench: "estelam-soak",
    seconds,
    rate,
    sampleSeconds: options.sampleSeconds,
    inquiries: sent,
    errors,
    latencyMs: { p50: latency.p50, p99: latency.p99, max: latency.max },
    worstSendLagMs,
    samples,
    verdict,
    idleCpuSecondsPerSecond: idle,
    tailCpuSecondsPerSecond: tail,
    problems,
  };
  const text = [
    "",
    `soak: ${sent} inquiries at ${rate}/s open loop over ${seconds} s, ${errors} errors; latency p50 ${latency.p50.toFixed(2)} ms, p99 ${latency.p99.toFixed(2)} ms, max ${latency.max.toFixed(1)} ms (worst send lag ${worstSendLagMs.toFixed(1)} ms)`,
    "",
    formatSoakVerdict(verdict),
    idle === undefined
      ? "idle CPU not measured (--idle-seconds 0)"
      : `idle CPU: ${tail === undefined ? "–" : (tail * 100).toFixed(2)} % of a core in the ${options.idleSeconds} s after the load, ${(idle * 100).toFixed(2)} % over ${options.idleSeconds} s from ${SOAK_SETTLE_SECONDS} s later (goal < 1 %)`,
    ...problems.slice(0, 10).map((p) => `PROBLEM: ${p}`),
    "",
  ].join("\n");
  if (options.json) process.stdout.write(`${JSON.stringify(json)}\n`);
  else process.stdout.write(`${text}\n${JSON.stringify(json)}\n`);
  return { ok: errors === 0 };
}

interface OpenLoopPhase {
  readonly path: PathName;
  readonly round: number;
  readonly count: number;
  readonly errors: number;
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
  readonly maxSendLagMs: number;
  readonly gatewayCpuUsPerInquiry: number | undefined;
  readonly otherCores: number | undefined;
}

/** --rate: a constant arrival rate on both paths, latency from each inquiry's scheduled time. */
interface AddedLatency {
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
}

async function openLoopBench(run: Run): Promise<{ ok: boolean; added: AddedLatency }> {
  const { options } = run;
  const rate = options.rate ?? 1000;
  const { grpcPort } = await startStack(run);
  const gatewayPid = run.gateway?.pid ?? 0;
  const agenciesPid = run.agencies?.pid ?? 0;
  const gatewayPath = createGatewayPath(`127.0.0.1:${grpcPort}`, DEMO_API_KEY, "bench/load-generator", DEADLINE_MS);
  const directPath = createDirectPath(run.agencies?.url ?? "", options.concurrency, DEADLINE_MS);
  const phases: OpenLoopPhase[] = [];
  const problems: string[] = [];
  const windows: TimeWindow[] = [];
  const count = Math.max(1, Math.round(rate * options.durationSeconds));
  try {
    if (options.warmup > 0) {
      const warm = buildWorkload(options.warmup, WARMUP_SEED);
      for (const [name, path] of [
        ["gateway", gatewayPath],
        ["direct", directPath],
      ] as const) {
        const result = await runLoad(warm, options.concurrency, path.send, run.abort.signal);
        progress(`warm-up ${name}: ${result.count} inquiries, ${result.errors} errors`);
        if (result.errors > 0) problems.push(`${result.errors} errors in the ${name} warm-up`);
      }
    }
    for (let round = 1; round <= options.rounds; round++) {
      const order: PathName[] = round % 2 === 1 ? ["gateway", "direct"] : ["direct", "gateway"];
      for (const path of order) {
        const workload = buildWorkload(count, round * 1_000_000);
        // The gateway with its workers, if it runs any.
        const gatewayBefore = procTreeCpuSeconds(gatewayPid);
        const ourBefore = [gatewayBefore, procCpuSeconds(agenciesPid)];
        const machineBefore = machineBusySeconds();
        const clientBefore = process.cpuUsage();
        const startUs = monotonicUs();
        const result = await runOpenLoop(workload, rate, path === "gateway" ? gatewayPath.send : directPath.send, run.abort.signal);
        if (path === "gateway") windows.push({ startUs, endUs: monotonicUs() });
        const client = process.cpuUsage(clientBefore);
        const machineAfter = machineBusySeconds();
        const gatewayAfter = procTreeCpuSeconds(gatewayPid);
        const ourAfter = [gatewayAfter, procCpuSeconds(agenciesPid)];
        const ours = ourAfter.reduce<number>(
          (sum, after, i) => sum + (after ?? 0) - (ourBefore[i] ?? 0),
          (client.user + client.system) / 1e6,
        );
        const phase: OpenLoopPhase = {
          path,
          round,
          count: result.count,
          errors: result.errors,
          p50: percentile(result.latenciesMs, 0.5),
          p99: percentile(result.latenciesMs, 0.99),
          p999: percentile(result.latenciesMs, 0.999),
          max: percentile(result.latenciesMs, 1),
          maxSendLagMs: result.maxSendLagMs,
          gatewayCpuUsPerInquiry:
            path === "gateway" && gatewayBefore !== undefined && gatewayAfter !== undefined
              ? ((gatewayAfter - gatewayBefore) * 1e6) / result.count
              : undefined,
          otherCores:
            machineBefore === undefined || machineAfter === undefined
              ? undefined
              : Math.max(0, machineAfter - machineBefore - ours) / result.seconds,
        };
        phases.push(phase);
        progress(
          `round ${round} ${path.padEnd(7)} ${phase.count} inquiries at ${rate}/s: p50 ${ms(phase.p50)} p99 ${ms(phase.p99)} p99.9 ${ms(phase.p999)} max ${ms(phase.max)} ms, ${phase.errors} errors, send lag ≤ ${ms(phase.maxSendLagMs)} ms` +
            (phase.gatewayCpuUsPerInquiry === undefined ? "" : `, gateway CPU ${phase.gatewayCpuUsPerInquiry.toFixed(0)} µs/inquiry`) +
            `, other processes ${phase.otherCores?.toFixed(2) ?? "–"} cores`,
        );
        for (const sample of result.errorSamples) progress(`  error: ${sample}`);
        if (phase.errors > 0) problems.push(`round ${round}, ${path}: ${phase.errors} errors`);
      }
    }
  } finally {
    gatewayPath.close();
    await directPath.close();
  }
  let profile: ProfileSummary | undefined;
  if (options.profile && run.gateway !== undefined) {
    // V8 writes the profile when the gateway exits.
    const how = await stopChild(run.gateway);
    const file = readdirSync(run.dir).find((f) => f.endsWith(".cpuprofile"));
    if (file === undefined) problems.push(`the gateway left no profile (${how})`);
    else {
      profile = summarizeProfile(JSON.parse(await readFile(join(run.dir, file), "utf8")) as CpuProfile, windows);
      progress(`profile: ${join(run.dir, file)}`);
    }
  }
  const of = (path: PathName, key: "p50" | "p99" | "p999"): number => median(phases.filter((p) => p.path === path).map((p) => p[key]));
  const added = {
    p50: of("gateway", "p50") - of("direct", "p50"),
    p99: of("gateway", "p99") - of("direct", "p99"),
    p999: of("gateway", "p999") - of("direct", "p999"),
  };
  const lines = [
    "",
    `open loop at ${rate} inquiries/s for ${options.durationSeconds} s per phase (${count} inquiries), medians of ${options.rounds} rounds; latency from each inquiry's scheduled time`,
    "",
    `${"".padEnd(10)}${"p50 ms".padStart(10)}${"p99 ms".padStart(10)}${"p99.9 ms".padStart(10)}`,
    ...(["gateway", "direct"] as const).map(
      (path) =>
        `${path.padEnd(10)}${ms(of(path, "p50")).padStart(10)}${ms(of(path, "p99")).padStart(10)}${ms(of(path, "p999")).padStart(10)}`,
    ),
    `${"added".padEnd(10)}${ms(added.p50).padStart(10)}${ms(added.p99).padStart(10)}${ms(added.p999).padStart(10)}   (goal: p99 added ≤ 1 ms at 1000/s)`,
    ...problems.map((p) => `PROBLEM: ${p}`),
    "",
  ];
  const json = {
    bench: "estelam-open-loop",
    rate,
    durationSeconds: options.durationSeconds,
    rounds: options.rounds,
    phases,
    addedMs: added,
    problems,
  };
  if (options.json) process.stdout.write(`${JSON.stringify(json)}\n`);
  else
    process.stdout.write(
      `${lines.join("\n")}\n${profile === undefined ? "" : `\n${formatProfileSummary(profile)}\n`}${JSON.stringify(json)}\n`,
    );
  return { ok: problems.length === 0, added };
}

function goal(met: boolean): string {
  return met ? "met" : "NOT MET";
}

/** --goals: the reference proxy, the open loop and the closed-loop bench, one after another, and the goals. */
const GOALS_IDLE_SETTLE_SECONDS = 30;

async function goalsBench(options: BenchOptions, register: (run: Run) => void): Promise<number> {
  const fresh = (o: BenchOptions): Run => {
    const run: Run = { options: o, dir: mkdtempSync(join(tmpdir(), "estelam-bench-")), abort: new AbortController() };
    register(run);
    return run;
  };
  const stage = async <T>(name: string, o: BenchOptions, go: (run: Run) => Promise<T>): Promise<T> => {
    progress(`--- ${name}`);
    const run = fresh(o);
    try {
      return await go(run);
    } finally {
      await cleanUp(run);
    }
  };
  // Each stage prints its own report (or JSON line) as it ends; the goals come last.
  const reference = await stage("reference proxy", options, referenceBench);
  const open = await stage("open loop", { ...options, rate: options.rate ?? 1000 }, openLoopBench);
  // Idle is judged settled: 30 s after the warm-up, not in its tail (the shipper and index catching up).
  const closed = await stage(
    "closed loop",
    { ...options, idleSettleSeconds: Math.max(options.idleSettleSeconds, GOALS_IDLE_SETTLE_SECONDS) },
    async (run) => (await bench(run)).result,
  );
  const s = reference.summary;
  const cpuUs = (target: "nginx" | "gateway"): string => s.median[target].proxyCpuUs?.toFixed(0) ?? "–";
  const idle = closed.idle?.gatewayCpuSecondsPerSecond;
  const rows: [string, string, string][] = [
    [
      "gateway CPU per inquiry ≤ 1.5 × nginx grpc_pass",
      `${s.cpuRatio.toFixed(2)} × (${cpuUs("gateway")} µs against ${cpuUs("nginx")} µs)`,
      goal(s.cpuRatio <= 1.5),
    ],
    [
      "throughput ≥ 0.5 of direct",
      `${closed.ratios.throughput.toFixed(2)} (closed loop, HTTP/JSON direct); ${s.gatewayThroughputRatio.toFixed(2)} (h2load, gRPC agency direct)`,
      goal(closed.ratios.throughput >= 0.5 && s.gatewayThroughputRatio >= 0.5),
    ],
    [
      `p99 added ≤ 1 ms at ${options.rate ?? 1000}/s open loop`,
      `${open.added.p99.toFixed(2)} ms (p50 ${open.added.p50.toFixed(2)}, p99.9 ${open.added.p999.toFixed(2)})`,
      goal(open.added.p99 <= 1),
    ],
    [
      "unloaded latency added ≤ 1 ms p50 (audit issue)",
      s.unloaded === undefined
        ? "not measured (--unloaded 0)"
        : `${s.unloaded.addedMs.gateway.p50.toFixed(3)} ms (p99 ${s.unloaded.addedMs.gateway.p99.toFixed(3)}; nginx adds ${s.unloaded.addedMs.nginx.p50.toFixed(3)} p50)`,
      s.unloaded === undefined ? "–" : goal(s.unloaded.addedMs.gateway.p50 < 1),
    ],
    [
      "idle CPU < 1 % of a core",
      idle === undefined
        ? "not measured (--idle-seconds 0)"
        : `${(idle * 100).toFixed(2)} % (over ${closed.idle?.seconds} s, from ${closed.idle?.afterSeconds} s after the load)`,
      idle === undefined ? "–" : goal(idle < 0.01),
    ],
  ];
  const json = { bench: "estelam-goals", reference: s, openLoopAddedMs: open.added, closedLoop: closed, goals: rows };
  if (options.json) process.stdout.write(`${JSON.stringify(json)}\n`);
  else {
    process.stdout.write(formatReport(closed));
    process.stdout.write(
      `\ngoals, one run\n\n${rows.map(([what, value, verdict]) => `${what.padEnd(52)}${verdict.padEnd(9)}${value}`).join("\n")}\n\n${JSON.stringify(json)}\n`,
    );
  }
  return reference.ok && open.ok && closed.ok ? 0 : 1;
}

async function cleanUp(run: Run): Promise<void> {
  await run.nginx?.stop().catch(() => undefined);
  for (const child of [run.gateway, run.otherGateway, run.agencies])
    if (child !== undefined) await stopChild(child, 15_000).catch(() => undefined);
  if (run.schemas !== undefined) await dropSchemas(run.schemas.url, run.schemas.names).catch(() => undefined);
  const audit = run.audit;
  if (audit?.sink === "kafka" && !run.options.keepTopic) {
    await deleteTopic(audit.brokers, audit.topic).catch((error: unknown) =>
      progress(`could not delete topic ${audit.topic}: ${(error as Error).message}`),
    );
  }
  if (run.options.profile) progress(`kept ${run.dir} (the CPU profile)`);
  else rmSync(run.dir, { recursive: true, force: true });
}

/** Seconds between the tail of a soak's load and its settled idle measurement. */
const SOAK_SETTLE_SECONDS = 30;

interface AuditCostRun {
  readonly load: "loaded" | "unloaded";
  /**
   * journal: the trail as deployed with Kafka (the gateway ships its journal, the index is filled from the
   * topic elsewhere); journal+index: the same, the gateway also indexing; unshipped: the journal alone, no
   * Kafka (measured when Kafka is in play, to tell the gateway's own cost from the broker's on shared cores).
   */
  readonly trail: "off" | "journal" | "journal+index" | "unshipped";
  readonly result: BenchResult;
}

function ms(value: number | undefined): string {
  return value === undefined ? "–" : value.toFixed(value < 10 ? 3 : 1);
}

/** The side-by-side report of --compare-audit: the trail on and off, loaded and unloaded. */
function formatAuditCost(runs: readonly AuditCostRun[]): { text: string; json: Record<string, unknown> } {
  const find = (load: string, trail: AuditCostRun["trail"]): BenchResult | undefined =>
    runs.find((r) => r.load === load && r.trail === trail)?.result;
  const lines = ["", "audit trail cost, side by side (medians over the rounds; gateway path)", ""];
  lines.push(
    `${"".padEnd(44)}${"inquiries/s".padStart(12)}${"p50 ms".padStart(10)}${"p99 ms".padStart(10)}${"gateway CPU µs/inquiry".padStart(24)}${"direct p50 ms".padStart(15)}`,
  );
  const label = (r: AuditCostRun): string => {
    if (r.trail === "off") return "audit off";
    if (r.trail === "unshipped") return "journal alone (no Kafka)";
    const trail = r.result.audit.sink === "kafka" ? "journal + kafka" : "journal only";
    return r.trail === "journal+index" ? `${trail} + index here` : trail;
  };
  const json: Record<string, unknown> = {
    bench: "estelam-audit-cost",
    runs: runs.map((r) => ({ load: r.load, trail: r.trail, ...r.result })),
  };
  for (const r of runs) {
    const g = r.result.median.gateway;
    lines.push(
      `${`${r.load} (c=${r.result.settings.concurrency}) ${label(r)}`.padEnd(44)}${g.throughput.toFixed(0).padStart(12)}${ms(g.p50).padStart(10)}${ms(g.p99).padStart(10)}${(g.gatewayCpuUsPerInquiry?.toFixed(0) ?? "–").padStart(24)}${ms(r.result.median.direct.p50).padStart(15)}`,
    );
  }
  const off = find("loaded", "off");
  const cost = (on: BenchResult | undefined, name: string, key: string, goal: string): void => {
    if (on === undefined || off === undefined) return;
    const share = 1 - on.median.gateway.throughput / off.median.gateway.throughput;
    const onCpu = on.median.gateway.gatewayCpuUsPerInquiry;
    const offCpu = off.median.gateway.gatewayCpuUsPerInquiry;
    const cpu = onCpu !== undefined && offCpu !== undefined ? onCpu - offCpu : undefined;
    lines.push(
      `throughput cost of ${name} at load: ${(share * 100).toFixed(1)} %${goal}; p99 ${ms(on.median.gateway.p99)} vs ${ms(off.median.gateway.p99)} ms; CPU ${cpu === undefined ? "–" : `${cpu >= 0 ? "+" : ""}${cpu.toFixed(0)}`} µs per inquiry${offCpu === undefined || cpu === undefined ? "" : ` (${((cpu / offCpu) * 100).toFixed(1)} %)`}`,
    );
    json[key] = { throughputCost: share, cpuUsPerInquiry: cpu };
  };
  lines.push("");
  cost(find("loaded", "journal"), "the durable trail (journal, shipping)", "trail", " (goal < 10 %)");
  cost(find("loaded", "journal+index"), "the trail with the index kept in the gateway", "trailWithIndex", "");
  cost(find("loaded", "unshipped"), "the journal alone (no shipping, no broker on the same cores)", "journalAlone", "");
  for (const trail of ["journal", "off"] as const) {
    const r = runs.find((x) => x.load === "unloaded" && x.trail === trail);
    if (r === undefined) continue;
    const added = r.result.median.gateway.p50 - r.result.median.direct.p50;
    lines.push(
      `unloaded latency the gateway adds (gateway p50 − direct p50), ${label(r)}: ${ms(added)} ms${trail === "off" ? "" : " (goal < 1 ms)"}`,
    );
    const write = r.result.audit.writeP50Ms;
    if (trail !== "off" && write !== undefined)
      lines.push(`  of which the journal's durable write (estelam_audit_write_seconds p50): ${ms(write)} ms`);
    json[trail === "off" ? "addedP50MsOff" : "addedP50Ms"] = added;
  }
  return { text: `${lines.join("\n")}\n`, json };
}

/**
 * --compare-audit: loaded, the trail as deployed with Kafka (the gateway's index off: `estelam audit index
 * --brokers` fills it from the topic), the same with the gateway also indexing its journal, the journal
 * alone when Kafka is in play, and no trail; unloaded, the trail and none.
 */
async function compareAuditCost(options: BenchOptions, register: (run: Run) => void): Promise<number> {
  const runs: AuditCostRun[] = [];
  let ok = true;
  const shipped = options.audit !== "journal" && (await chooseAuditSink(options.audit, process.env)).sink === "kafka";
  const plan: ReadonlyArray<{ load: AuditCostRun["load"]; trail: AuditCostRun["trail"] }> = [
    { load: "loaded", trail: "journal" },
    { load: "loaded", trail: "journal+index" },
    ...(shipped ? [{ load: "loaded", trail: "unshipped" } as const] : []),
    { load: "loaded", trail: "off" },
    { load: "unloaded", trail: "journal" },
    { load: "unloaded", trail: "off" },
  ];
  for (const { load, trail } of plan) {
    const audit = trail === "off" ? "off" : trail === "unshipped" ? "journal" : options.audit;
    const gatewayEnv =
      trail === "journal" || trail === "unshipped" ? { ...options.gatewayEnv, ESTELAM_AUDIT_INDEX: "false" } : options.gatewayEnv;
    const o: BenchOptions =
      load === "loaded"
        ? { ...options, audit, gatewayEnv }
        : {
            ...options,
            audit,
            gatewayEnv,
            concurrency: 1,
            requests: Math.min(options.requests, 2000),
            warmup: Math.min(options.warmup, 200),
            idleSeconds: 0,
          };
    const run: Run = { options: o, dir: mkdtempSync(join(tmpdir(), "estelam-bench-")), abort: new AbortController() };
    register(run);
    progress(`--- ${load}, audit ${trail}`);
    try {
      const { result } = await bench(run);
      if (!options.json) process.stdout.write(formatReport(result));
      runs.push({ load, trail, result });
      ok &&= result.ok;
    } finally {
      await cleanUp(run);
    }
  }
  const report = formatAuditCost(runs);
  if (options.json) process.stdout.write(`${JSON.stringify(report.json)}\n`);
  else process.stdout.write(`${report.text}\n${JSON.stringify(report.json)}\n`);
  return ok ? 0 : 1;
}

async function main(): Promise<number> {
  let options: BenchOptions;
  try {
    options = parseBenchOptions(process.argv.slice(2));
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n(npm run bench -- --help lists the options)\n`);
      return 2;
    }
    throw error;
  }
  if (options.help) {
    process.stdout.write(USAGE);
    return 0;
  }

  let run: Run = { options, dir: mkdtempSync(join(tmpdir(), "estelam-bench-")), abort: new AbortController() };
  process.on("exit", killChildrenNow);
  let interrupted = 0;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      interrupted++;
      if (interrupted > 1) {
        killChildrenNow();
        process.exit(130);
      }
      progress(`${signal}: stopping the child processes`);
      run.abort.abort(new Error(signal));
      void cleanUp(run).finally(() => process.exit(130));
    });
  }
  const limit = setTimeout(() => {
    progress(`time limit of ${options.maxSeconds} s reached: stopping`);
    run.abort.abort(new Error("time limit"));
  }, options.maxSeconds * 1000);
  limit.unref();

  if (options.auditIndex) {
    rmSync(run.dir, { recursive: true, force: true });
    clearTimeout(limit);
    return runAuditIndexBench({
      events: options.indexEvents,
      people: options.indexPeople,
      citizenEvents: 50,
      queries: 200,
      databaseUrl: options.databaseUrl,
      json: options.json,
    });
  }
  if (options.goals) {
    rmSync(run.dir, { recursive: true, force: true });
    try {
      return await goalsBench(options, (current) => {
        run = current;
      });
    } catch (error) {
      progress(`bench failed: ${error instanceof Error ? error.message : String(error)}`);
      return 1;
    } finally {
      clearTimeout(limit);
    }
  }
  if (options.reference || options.rate !== undefined || options.workers !== undefined || options.soakSeconds !== undefined) {
    try {
      const stage =
        options.soakSeconds !== undefined
          ? soakBench
          : options.workers !== undefined
            ? workersBench
            : options.reference
              ? referenceBench
              : openLoopBench;
      return (await stage(run)).ok ? 0 : 1;
    } catch (error) {
      progress(`bench failed: ${error instanceof Error ? error.message : String(error)}`);
      return 1;
    } finally {
      clearTimeout(limit);
      await cleanUp(run);
    }
  }
  if (options.compareAudit) {
    rmSync(run.dir, { recursive: true, force: true });
    try {
      return await compareAuditCost(options, (current) => {
        run = current;
      });
    } catch (error) {
      progress(`bench failed: ${error instanceof Error ? error.message : String(error)}`);
      return 1;
    } finally {
      clearTimeout(limit);
    }
  }
  try {
    const { result, profile } = await bench(run);
    if (options.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else {
      process.stdout.write(formatReport(result));
      if (profile !== undefined) process.stdout.write(`\n${formatProfileSummary(profile)}`);
      process.stdout.write(`\n${JSON.stringify(result)}\n`);
    }
    return result.ok ? 0 : 1;
  } catch (error) {
    progress(`bench failed: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    clearTimeout(limit);
    await cleanUp(run);
  }
}

process.exit(await main());
