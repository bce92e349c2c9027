// `npm run bench`: what the gateway costs an inquiry. The demo agencies and the gateway run as child
// processes on 127.0.0.1; this process sends the same inquiries at the same concurrency through the
// gateway (gRPC, grpc-js client) and straight to the demo agencies (HTTP/JSON, undici Pool), alternating
// the two paths for several rounds because the machine is shared and noisy, and reports the median of
// each path, the ratios gateway/direct, the gateway's CPU per inquiry and at rest, and its memory.
// `--help` lists the options; docs/benchmarks.md explains the method and the figures.
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { arch, cpus, platform, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { DEMO_API_KEY } from "../../gateway/demo-examples.ts";
import { type AuditChoice, chooseAuditSink, countFileRecords, countTopicRecords, deleteTopic, localBrokerPid } from "./audit-trail.ts";
import { type CpuProfile, formatProfileSummary, type ProfileSummary, summarizeProfile, type TimeWindow } from "./cpu-profile.ts";
import { createDirectPath, createGatewayPath, type PhaseResult, runLoad, type Sender, summarizeLatencies } from "./load.ts";
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
  scrapeMetrics,
  startAgenciesChild,
  startGatewayChild,
  stopChild,
} from "./processes.ts";
import {
  type BenchResult,
  formatPhase,
  formatReport,
  type GatewayMemory,
  type PathName,
  type PhaseMeasurement,
  pathMedians,
  ratioOf,
} from "./report.ts";
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
  const gatewayBefore = path === "gateway" ? await gatewayCpuSeconds(gatewayHttpUrl) : undefined;
  const agenciesBefore = procCpuSeconds(agenciesPid);
  const brokerBefore = run.brokerPid === undefined ? undefined : procCpuSeconds(run.brokerPid);
  const gatewayProcBefore = run.gateway === undefined ? undefined : procCpuSeconds(run.gateway.pid);
  const machineBefore = machineBusySeconds();
  const clientBefore = process.cpuUsage();
  const startUs = monotonicUs();
  const result: PhaseResult = await runLoad(inquiries, run.options.concurrency, send, run.abort.signal);
  const endUs = monotonicUs();
  const client = process.cpuUsage(clientBefore);
  const machineAfter = machineBusySeconds();
  const gatewayProcAfter = run.gateway === undefined ? undefined : procCpuSeconds(run.gateway.pid);
  const agenciesAfter = procCpuSeconds(agenciesPid);
  const brokerAfter = brokerBefore === undefined || run.brokerPid === undefined ? undefined : procCpuSeconds(run.brokerPid);
  const gatewayAfter = gatewayBefore === undefined ? undefined : await gatewayCpuSeconds(gatewayHttpUrl);
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

async function bench(run: Run): Promise<{ result: BenchResult; profile: ProfileSummary | undefined }> {
  const { options } = run;
  const startedAt = new Date().toISOString();
  const audit = await chooseAuditSink(options.audit, process.env);
  run.audit = audit;
  if (audit.sink === "kafka") run.brokerPid = localBrokerPid(audit.brokers);
  progress(
    audit.sink === "kafka"
      ? `audit: kafka at ${audit.brokers.join(",")}, fresh topic ${audit.topic} (${audit.why})${run.brokerPid === undefined ? "" : `, broker pid ${run.brokerPid}`}`
      : `audit: file ${join(run.dir, "audit-events.jsonl")} (${audit.why})`,
  );

  run.agencies = await startAgenciesChild();
  progress(`demo agencies: pid ${run.agencies.pid} at ${run.agencies.url}`);

  const [grpcPort, httpPort] = [await freePort(), await freePort()];
  const httpUrl = `http://127.0.0.1:${httpPort}`;
  const env: Record<string, string> = {
    ESTELAM_GRPC_ADDRESS: `127.0.0.1:${grpcPort}`,
    ESTELAM_HTTP_ADDRESS: `127.0.0.1:${httpPort}`,
    DEMO_AGENCIES_URL: run.agencies.url,
    // A registry of its own, seeded from the demo documents.
    ESTELAM_DATA_DIR: run.dir,
    ESTELAM_REGISTRY_SEED: DEMO_REGISTRY_DIR,
    ESTELAM_AUDIT_KEY: AUDIT_KEY,
    ESTELAM_LOG_LEVEL: options.logLevel,
    ESTELAM_INSTANCE: "bench",
    ESTELAM_SHUTDOWN_GRACE_MS: "5000",
    ...(audit.sink === "kafka"
      ? { KAFKA_BROKERS: audit.brokers.join(","), ESTELAM_AUDIT_TOPIC: audit.topic }
      : { ESTELAM_AUDIT_FILE: join(run.dir, "audit-events.jsonl") }),
    ...options.gatewayEnv,
  };
  const profileDir = options.profile ? run.dir : undefined;
  run.gateway = await startGatewayChild({ env, httpUrl, logFile: options.logFile, profileDir });
  progress(
    `gateway: pid ${run.gateway.pid}, gRPC 127.0.0.1:${grpcPort}, ops ${httpUrl}, log level ${options.logLevel} to ${options.logFile ?? "/dev/null"}` +
      (Object.keys(options.gatewayEnv).length > 0
        ? `, with ${Object.entries(options.gatewayEnv)
            .map(([k, v]) => `${k}=${v}`)
            .join(" ")}`
        : "") +
      (options.profile ? ", under node --cpu-prof (slower: figures of this run are not representative)" : ""),
  );

  const gatewayPath = createGatewayPath(`127.0.0.1:${grpcPort}`, DEMO_API_KEY, "bench/load-generator", DEADLINE_MS);
  const directPath = createDirectPath(run.agencies.url, options.concurrency, DEADLINE_MS);
  const phases: PhaseMeasurement[] = [];
  const windows: TimeWindow[] = [];
  const problems: string[] = [];
  let warmupErrors = 0;
  let idle: BenchResult["idle"];
  let memoryAfterWarmup: GatewayMemory | undefined;
  let memoryAtEnd: GatewayMemory | undefined;
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
      await sleep(1000);
      const gatewayBefore = await gatewayCpuSeconds(httpUrl);
      const agenciesBefore = procCpuSeconds(run.agencies.pid);
      const started = performance.now();
      await sleep(options.idleSeconds * 1000);
      const gatewayAfter = await gatewayCpuSeconds(httpUrl);
      const agenciesAfter = procCpuSeconds(run.agencies.pid);
      const seconds = (performance.now() - started) / 1000;
      idle = {
        seconds: options.idleSeconds,
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
  } finally {
    gatewayPath.close();
    await directPath.close();
  }

  // Every answered inquiry must be in the audit trail: the gateway withholds an answer until its event is
  // durable. One more record: the seeding of the gateway's registry (its first revision).
  const expected = options.warmup + options.rounds * options.requests + 1;
  let recorded: number | undefined;
  try {
    recorded =
      audit.sink === "kafka"
        ? await countTopicRecords(audit.brokers, audit.topic)
        : await countFileRecords(join(run.dir, "audit-events.jsonl"));
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
  if (recorded !== undefined && recorded !== expected)
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
      profile: options.profile,
      mix: workloadMix(workload),
    },
    audit: { sink: audit.sink, why: audit.why, topic: audit.sink === "kafka" ? audit.topic : undefined, expected, recorded },
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

async function cleanUp(run: Run): Promise<void> {
  for (const child of [run.gateway, run.agencies]) if (child !== undefined) await stopChild(child, 5000).catch(() => undefined);
  const audit = run.audit;
  if (audit?.sink === "kafka" && !run.options.keepTopic) {
    await deleteTopic(audit.brokers, audit.topic).catch((error: unknown) =>
      progress(`could not delete topic ${audit.topic}: ${(error as Error).message}`),
    );
  }
  if (run.options.profile) progress(`kept ${run.dir} (the CPU profile)`);
  else rmSync(run.dir, { recursive: true, force: true });
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

  const run: Run = { options, dir: mkdtempSync(join(tmpdir(), "estelam-bench-")), abort: new AbortController() };
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
