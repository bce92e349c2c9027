// Wires the gateway together from a resolved configuration: registry → upstreams (connectors + breakers)
// → audit sink → request path → gRPC server (InquiryService, health, reflection) and the ops HTTP server.
// main.ts runs it as a process; the integration tests and the benchmark start it in-process.
import { setLogger as setGrpcLogger } from "@grpc/grpc-js";
import { builtInConnectorKinds, type ConnectorKinds } from "../connectors/kinds.ts";
import { createUpstreams, type Upstreams } from "../connectors/upstreams.ts";
import { Code } from "../core/errors.ts";
import { file_estelam_inquiry_v1_inquiry, InquiryService } from "../gen/estelam/inquiry/v1/inquiry_pb.js";
import { file_grpc_health_v1_health } from "../gen/grpc/health/v1/health_pb.js";
import { createAuditEventFactory, createAuditKey } from "../observability/audit/event.ts";
import { createFileAuditSink } from "../observability/audit/file-sink.ts";
import { createKafkaAuditSink } from "../observability/audit/kafka-sink.ts";
import type { AuditSink, AuditSinkEvents } from "../observability/audit/sink.ts";
import { createLogger, type Logger } from "../observability/logger.ts";
import { createMetrics, type GatewayMetrics, recordBreakerState } from "../observability/metrics.ts";
import { createFileRegistryStore } from "../registry/file-store.ts";
import { createRegistry, type Registry } from "../registry/registry.ts";
import { type GatewayConfig, listenFailure } from "./config.ts";
import { adaptService, type CallEndInfo } from "./grpc/adapter.ts";
import { createHealthService } from "./grpc/health.ts";
import { createReflectionServices } from "./grpc/reflection.ts";
import { createGrpcServer } from "./grpc/server.ts";
import { createOpsHttpServer } from "./http-server.ts";
import { createInquiryService } from "./inquiry-service.ts";
import { createReadiness } from "./readiness.ts";
import { createRequestPath } from "./request-path.ts";

export interface GatewayOptions {
  readonly config: GatewayConfig;
  /** Defaults to a logger built from the configuration, writing to stdout. */
  readonly logger?: Logger;
  /** Variables for `${NAME}` references in the catalogue; defaults to process.env. */
  readonly catalogueVars?: Readonly<Record<string, string | undefined>>;
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
  readonly audit: AuditSink;
  readonly metrics: GatewayMetrics;
  readonly logger: Logger;
  /** Stops taking calls, lets in-flight inquiries finish (up to graceMs), flushes audit, closes. */
  stop(graceMs?: number): Promise<void>;
}

const INQUIRY_SERVICE = InquiryService.typeName;

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

  const registry = await createRegistry({
    store: createFileRegistryStore({ path: config.cataloguePath, vars: options.catalogueVars ?? process.env }),
    kinds,
  });
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
    },
  });
  upstreams.apply(registry.current());
  registry.onSwap((next) => upstreams.apply(next));

  const audit = createAuditSink(config, metrics, logger);
  try {
    await audit.start();
  } catch (error) {
    await upstreams.close();
    throw new Error(`the audit trail (${audit.kind}) cannot start: ${(error as Error).message}`, { cause: error });
  }
  const auditEvents = createAuditEventFactory({ key: createAuditKey(config.audit.key), instance: config.instance });
  metrics.watchAuditPending(audit.kind, () => audit.pending());

  const inquiries = createInquiryService({
    registry,
    path: createRequestPath({ upstreams, audit }),
    audit,
    auditEvents,
    metrics,
    logger,
  });
  let draining = false;
  const readiness = createReadiness([
    { name: "catalogue", ready: () => registry.current().inquiryTypes.size > 0 },
    { name: "audit", ready: () => audit.ready() },
    { name: "serving", ready: () => !draining },
  ]);
  // Starts NOT_SERVING: nothing is served until both servers listen and readiness says so.
  const health = createHealthService({
    statuses: { "": "NOT_SERVING", [INQUIRY_SERVICE]: "NOT_SERVING" },
    refresh: () => void readiness.evaluate(),
  });
  const services = [
    adaptService(InquiryService, { inquire: (request, context) => inquiries.inquire(request, context) }),
    health.service,
    ...createReflectionServices([file_estelam_inquiry_v1_inquiry, file_grpc_health_v1_health], [INQUIRY_SERVICE, "grpc.health.v1.Health"]),
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
    await audit.close();
    await upstreams.close();
    throw error;
  }
  // gRPC health tells what /readyz tells, for the gateway as a whole and for the inquiry service.
  readiness.onChange((ready) => {
    const status = ready ? "SERVING" : "NOT_SERVING";
    health.setStatus("", status);
    health.setStatus(INQUIRY_SERVICE, status);
    if (!ready) logger.warn({ checks: readiness.evaluate().checks }, "not ready: new inquiries are refused");
    else logger.info("ready");
  });
  logger.info(
    {
      grpc: `${config.grpc.host}:${grpcPort}`,
      http: `${config.http.host}:${httpPort}`,
      catalogue: registry.current().version,
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
    audit,
    metrics,
    logger,
    stop(graceMs = config.shutdownGraceMs) {
      stopping ??= (async () => {
        draining = true;
        readiness.close();
        health.enterShutdown();
        await grpc.shutdown(graceMs);
        await audit.close();
        await upstreams.close();
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
