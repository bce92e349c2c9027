// Wires the gateway together from a resolved configuration: database → audit sink → registry (seeded on
// first start, following new revisions) with upstreams (connectors + breakers) prepared per revision →
// request path → gRPC server (InquiryService, RegistryService, health, reflection) and the ops HTTP server.
// main.ts runs it as a process; the integration tests and the benchmark start it in-process.

import { join } from "node:path";
import { setLogger as setGrpcLogger } from "@grpc/grpc-js";
import { builtInConnectorKinds, type ConnectorKinds } from "../connectors/kinds.ts";
import { createUpstreams, type Upstreams } from "../connectors/upstreams.ts";
import { Code } from "../core/errors.ts";
import { file_estelam_inquiry_v1_inquiry, InquiryService } from "../gen/estelam/inquiry/v1/inquiry_pb.js";
import { file_estelam_registry_v1_registry, RegistryService } from "../gen/estelam/registry/v1/registry_pb.js";
import { file_grpc_health_v1_health } from "../gen/grpc/health/v1/health_pb.js";
import { createAuditEventFactory, createAuditKey } from "../observability/audit/event.ts";
import { createFileAuditSink } from "../observability/audit/file-sink.ts";
import { createKafkaAuditSink } from "../observability/audit/kafka-sink.ts";
import { buildRegistryChangeEvent } from "../observability/audit/registry-change.ts";
import type { AuditSink, AuditSinkEvents } from "../observability/audit/sink.ts";
import { createLogger, type Logger } from "../observability/logger.ts";
import { createMetrics, type GatewayMetrics, recordBreakerState } from "../observability/metrics.ts";
import type { Database } from "../registry/database.ts";
import { openDatabase } from "../registry/database-open.ts";
import { createDatabaseRegistryStore } from "../registry/database-store.ts";
import { readDocuments } from "../registry/documents.ts";
import { createRegistry, type Registry, type RegistryStatus, type SeedDocuments } from "../registry/registry.ts";
import { type GatewayConfig, listenFailure } from "./config.ts";
import { createDiscovery } from "./discovery.ts";
import { adaptService, type CallEndInfo } from "./grpc/adapter.ts";
import { createHealthService } from "./grpc/health.ts";
import { createReflectionServices } from "./grpc/reflection.ts";
import { createGrpcServer } from "./grpc/server.ts";
import { createOpsHttpServer } from "./http-server.ts";
import { newInquiryId } from "./ids.ts";
import { createInquiryService } from "./inquiry-service.ts";
import { createReadiness } from "./readiness.ts";
import { createRegistryService } from "./registry-service.ts";
import { createRequestPath } from "./request-path.ts";

export interface GatewayOptions {
  readonly config: GatewayConfig;
  /** Defaults to a logger built from the configuration, writing to stdout. */
  readonly logger?: Logger;
  /** Variables for `${NAME}` references in registry documents; defaults to process.env. */
  readonly registryVars?: Readonly<Record<string, string | undefined>>;
  /** Connector kinds; defaults to the built-in ones. */
  readonly kinds?: ConnectorKinds;
  /** Process metrics (CPU, memory) in /metrics; on by default. */
  readonly defaultMetrics?: boolean;
}

export interface RunningGateway {
  readonly grpcPort: number;
  readonly httpPort: number;
  /** `host:port` callers use. */
  readonly grpcAddress: string;
  readonly httpUrl: string;
  readonly registry: Registry;
  readonly upstreams: Upstreams;
  readonly database: Database;
  readonly audit: AuditSink;
  readonly metrics: GatewayMetrics;
  readonly logger: Logger;
  /** Stops taking calls, lets in-flight inquiries finish (up to graceMs), flushes audit, closes. */
  stop(graceMs?: number): Promise<void>;
}

const INQUIRY_SERVICE = InquiryService.typeName;
const REGISTRY_SERVICE = RegistryService.typeName;

/** One line on the registry for /readyz: the revision served and, when it matters, why it may be old. */
function registryDetail(status: RegistryStatus): string {
  let text = `revision ${status.revision} from the ${status.store} store at ${status.location}`;
  if (!status.reachable)
    text += `; the store has not answered for ${Math.round(status.staleSeconds)} s: serving the last good revision, catching up when it answers`;
  if (status.unservable !== undefined)
    text += `; revision ${status.unservable.revision} cannot be served here: ${status.unservable.problems[0] ?? "unknown problem"}`;
  return text;
}

/** grpc-js logs through a process-wide console-like logger; send its lines to ours as JSON, not to stderr. */
function routeGrpcLogs(logger: Logger): void {
  const text = (args: unknown[]): string => args.map((a) => (typeof a === "string" ? a : String(a))).join(" ");
  setGrpcLogger({
    error: (...args: unknown[]) => logger.error(text(args)),
    info: (...args: unknown[]) => logger.info(text(args)),
    debug: (...args: unknown[]) => logger.debug(text(args)),
  });
}

function auditSinkEvents(metrics: GatewayMetrics, kind: string, logger: Logger): AuditSinkEvents {
  return {
    onWritten(count, seconds) {
      metrics.auditEvents.inc({ sink: kind, result: "written" }, count);
      metrics.auditWriteSeconds.observe({ sink: kind }, seconds);
    },
    onWriteError(error) {
      metrics.auditEvents.inc({ sink: kind, result: "write_error" });
      logger.error({ sink: kind, err: { message: error.message } }, "audit write failed; retrying");
    },
    onRefused(reason) {
      metrics.auditEvents.inc({ sink: kind, result: `refused_${reason}` });
    },
  };
}

function createAuditSink(config: GatewayConfig, metrics: GatewayMetrics, logger: Logger): AuditSink {
  const { audit } = config;
  if (audit.sink === "kafka") {
    return createKafkaAuditSink(
      {
        brokers: [...audit.kafka.brokers],
        topic: audit.kafka.topic,
        clientId: `estelam-${config.instance}`,
        createTopic: audit.kafka.createTopic,
        partitions: audit.kafka.partitions,
        replicationFactor: audit.kafka.replicationFactor,
        ackTimeoutMs: audit.ackTimeoutMs,
        lingerMs: audit.lingerMs,
        logger: logger.child({ component: "kafka" }),
      },
      auditSinkEvents(metrics, "kafka", logger),
    );
  }
  return createFileAuditSink(
    { path: audit.filePath, ackTimeoutMs: audit.ackTimeoutMs, lingerMs: audit.lingerMs },
    auditSinkEvents(metrics, "file", logger),
  );
}

export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const { config } = options;
  const logger = options.logger ?? createLogger({ level: config.logLevel, instance: config.instance });
  routeGrpcLogs(logger.child({ component: "grpc-js" }));
  const metrics = createMetrics({ defaultMetrics: options.defaultMetrics ?? true });
  const kinds = options.kinds ?? builtInConnectorKinds();

  const database = await openDatabase({
    url: config.database.url,
    dataDir: join(config.dataDir, "db"),
    schema: config.database.schema,
  });
  const closeOnFailure: Array<() => Promise<void>> = [() => database.close()];
  const failed = async (error: unknown): Promise<never> => {
    for (const close of closeOnFailure.reverse()) await close().catch(() => undefined);
    throw error;
  };

  const audit = createAuditSink(config, metrics, logger);
  try {
    await audit.start();
  } catch (error) {
    return failed(new Error(`the audit trail (${audit.kind}) cannot start: ${(error as Error).message}`, { cause: error }));
  }
  closeOnFailure.push(() => audit.close());
  const auditKey = createAuditKey(config.audit.key);
  const auditEvents = createAuditEventFactory({ key: auditKey, instance: config.instance });
  const auditWhere = { instance: config.instance, keyId: auditKey.id };
  metrics.watchAuditPending(audit.kind, () => audit.pending());

  const upstreams = createUpstreams({
    kinds,
    events: {
      onStateChange(endpoint, state, previous) {
        recordBreakerState(metrics, endpoint, state);
        if (previous !== undefined && previous !== state) logger.warn({ endpoint, from: previous, state }, `circuit breaker ${state}`);
      },
      onUpstreamCall(endpoint, seconds, fault) {
        metrics.upstreamSeconds.observe({ endpoint, result: fault ? "fault" : "ok" }, seconds);
      },
      onShortCircuit(endpoint, why) {
        metrics.breakerShortCircuits.inc({ endpoint, why });
      },
      onConnection(connection, state) {
        logger.debug({ connection, state }, `endpoint connection ${state}`);
      },
      onWarmFailed(endpoint, error) {
        logger.warn({ endpoint, err: { message: error.message } }, "endpoint not warmed; it takes traffic anyway");
      },
    },
  });
  closeOnFailure.push(() => upstreams.close());

  let seed: SeedDocuments | undefined;
  if (config.registry.seed !== undefined) {
    const read = await readDocuments(config.registry.seed);
    seed = { label: config.registry.seed, documents: read.documents, problems: read.problems };
  }
  let registry: Registry;
  try {
    const store = await createDatabaseRegistryStore(database);
    registry = await createRegistry({
      store,
      kinds,
      vars: options.registryVars ?? process.env,
      instance: config.instance,
      seed,
      refreshMs: config.registry.refreshMs,
      prepare: (snapshot) => upstreams.prepare(snapshot),
      retire: (snapshot) => upstreams.retire(snapshot),
      async beforeSeedCommit(outcome) {
        const now = Date.now();
        await audit.append(
          buildRegistryChangeEvent(
            {
              id: newInquiryId(now),
              action: "seed",
              actorAgency: "",
              actorCredential: "",
              revision: outcome.revision,
              baseRevision: 0,
              rollbackTo: undefined,
              message: `seeded from ${seed?.label ?? "seed documents"}`,
              changes: outcome.changes,
              requestInMs: now,
              responseOutMs: now,
            },
            auditWhere,
          ),
        );
      },
      events: {
        onSwap(next, previous, record) {
          logger.info(
            { revision: next.revision, previous: previous.revision, action: record.action, by: record.actorCredential || undefined },
            "registry revision served",
          );
        },
        onUnservable(revision, problems) {
          logger.error({ revision, problems }, "registry revision cannot be served by this instance; the current one stays");
        },
        onStoreReachable(reachable, error) {
          if (reachable) logger.info("registry store answers again");
          else logger.warn({ err: { message: error?.message } }, "registry store unreachable; serving the last good revision");
        },
      },
    });
  } catch (error) {
    return failed(error);
  }
  closeOnFailure.push(() => registry.close());
  metrics.watchRegistry(() => registry.status());

  const inquiries = createInquiryService({
    registry,
    path: createRequestPath({ upstreams, audit }),
    audit,
    auditEvents,
    metrics,
    logger,
  });
  const discovery = createDiscovery(registry);
  const registryService = createRegistryService({ registry, audit, auditWhere, logger });
  let draining = false;
  const readiness = createReadiness([
    // Always ready (a revision is served from start-up on); the detail says when the store is away.
    { name: "registry", ready: () => true, detail: () => registryDetail(registry.status()) },
    { name: "audit", ready: () => audit.ready() },
    { name: "serving", ready: () => !draining },
  ]);
  // Starts NOT_SERVING: nothing is served until both servers listen and readiness says so.
  const health = createHealthService({
    statuses: { "": "NOT_SERVING", [INQUIRY_SERVICE]: "NOT_SERVING", [REGISTRY_SERVICE]: "NOT_SERVING" },
    refresh: () => void readiness.evaluate(),
  });
  const services = [
    adaptService(InquiryService, {
      inquire: (request, context) => inquiries.inquire(request, context),
      listAllowedInquiries: async (_request, context) => discovery.listAllowedInquiries(context),
      describeInquiryType: async (request, context) => discovery.describeInquiryType(request, context),
    }),
    adaptService(RegistryService, registryService.handlers),
    health.service,
    ...createReflectionServices(
      [file_estelam_inquiry_v1_inquiry, file_estelam_registry_v1_registry, file_grpc_health_v1_health],
      [INQUIRY_SERVICE, REGISTRY_SERVICE, "grpc.health.v1.Health"],
    ),
  ];
  const grpc = createGrpcServer({
    address: `${config.grpc.host}:${config.grpc.port}`,
    services,
    observer: {
      started: (method) => metrics.grpcStarted.inc(method),
      received: (method) => metrics.grpcMsgReceived.inc(method),
      sent: (method) => metrics.grpcMsgSent.inc(method),
      handled(method, code, seconds) {
        metrics.grpcHandled.inc({ ...method, grpc_code: CODE_NAMES[code] ?? String(code) });
        metrics.grpcHandlingSeconds.observe(method, seconds);
      },
    },
    onCallEnd(info: CallEndInfo) {
      // The inquiry service logs its own failures; any other handler's internal fault is logged here.
      if (info.code === Code.INTERNAL && !info.method.startsWith(`${INQUIRY_SERVICE}/`)) {
        logger.error(
          { method: info.method, err: info.error instanceof Error ? { type: info.error.name, stack: info.error.stack } : undefined },
          "call failed inside the gateway",
        );
      }
    },
  });

  const http = createOpsHttpServer({ host: config.http.host, port: config.http.port, metrics: metrics.registry, readiness });

  let grpcPort: number;
  let httpPort: number;
  try {
    ({ port: grpcPort } = await grpc.start().catch((error: unknown) => {
      throw listenFailure("the gRPC server", config.grpc, "ESTELAM_GRPC_ADDRESS", error);
    }));
    ({ port: httpPort } = await http.start().catch((error: unknown) => {
      throw listenFailure("the operations HTTP server (/metrics, /readyz)", config.http, "ESTELAM_HTTP_ADDRESS", error);
    }));
  } catch (error) {
    readiness.close();
    await grpc.shutdown(0).catch(() => undefined);
    return failed(error);
  }
  // gRPC health tells what /readyz tells, for the gateway as a whole and for its two services (registry
  // changes are audited, so they need the audit trail as inquiries do).
  readiness.onChange((ready) => {
    const status = ready ? "SERVING" : "NOT_SERVING";
    health.setStatus("", status);
    health.setStatus(INQUIRY_SERVICE, status);
    health.setStatus(REGISTRY_SERVICE, status);
    if (!ready) logger.warn({ checks: readiness.evaluate().checks }, "not ready: new inquiries are refused");
    else logger.info("ready");
  });
  logger.info(
    {
      grpc: `${config.grpc.host}:${grpcPort}`,
      http: `${config.http.host}:${httpPort}`,
      registry: registry.record().revision,
      database: `${database.kind} ${database.location}`,
      audit: audit.kind,
    },
    "gateway started",
  );

  let stopping: Promise<void> | undefined;
  return {
    grpcPort,
    httpPort,
    grpcAddress: `${config.grpc.host}:${grpcPort}`,
    httpUrl: `http://${config.http.host}:${httpPort}`,
    registry,
    upstreams,
    database,
    audit,
    metrics,
    logger,
    stop(graceMs = config.shutdownGraceMs) {
      stopping ??= (async () => {
        draining = true;
        readiness.close();
        health.enterShutdown();
        registryService.close();
        await grpc.shutdown(graceMs);
        await audit.close();
        await registry.close();
        await upstreams.close();
        await database.close();
        await http.close();
        logger.info("gateway stopped");
      })();
      return stopping;
    },
  };
}

const CODE_NAMES: Readonly<Record<number, string>> = {
  0: "OK",
  1: "Canceled",
  2: "Unknown",
  3: "InvalidArgument",
  4: "DeadlineExceeded",
  5: "NotFound",
  6: "AlreadyExists",
  7: "PermissionDenied",
  8: "ResourceExhausted",
  9: "FailedPrecondition",
  10: "Aborted",
  11: "OutOfRange",
  12: "Unimplemented",
  13: "Internal",
  14: "Unavailable",
  15: "DataLoss",
  16: "Unauthenticated",
};
