// Wires the gateway together from a resolved configuration: database → audit journal (and its shipper to
// Kafka) → registry (seeded on
// first start, following new revisions) with upstreams (connectors + breakers) prepared per revision →
// request path → gRPC server (InquiryService, RegistryService, health, reflection) and the ops HTTP server.
// main.ts runs it as a process; the integration tests and the benchmark start it in-process.

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { setLogger as setGrpcLogger } from "@grpc/grpc-js";
import { builtInConnectorKinds, type ConnectorKinds } from "../connectors/kinds.ts";
import { createUpstreams, type Upstreams } from "../connectors/upstreams.ts";
import { Code } from "../core/errors.ts";
import { AuditService, file_estelam_audit_v1_audit_service } from "../gen/estelam/audit/v1/audit_service_pb.js";
import { file_estelam_inquiry_v1_inquiry, InquiryService } from "../gen/estelam/inquiry/v1/inquiry_pb.js";
import { file_estelam_operator_v1_operator, OperatorService } from "../gen/estelam/operator/v1/operator_pb.js";
import { file_estelam_registry_v1_registry, RegistryService } from "../gen/estelam/registry/v1/registry_pb.js";
import { file_grpc_health_v1_health } from "../gen/grpc/health/v1/health_pb.js";
import { type AuditIndex, openAuditIndex } from "../observability/audit/audit-index.ts";
import { createAuditEventFactory, createAuditKey } from "../observability/audit/event.ts";
import { type AuditJournal, createAuditJournal } from "../observability/audit/journal.ts";
import { createJournalIndexer, type JournalIndexer } from "../observability/audit/journal-indexer.ts";
import { createKafkaShipper } from "../observability/audit/kafka-shipper.ts";
import { createOffAuditSink } from "../observability/audit/off-sink.ts";
import { buildRegistryChangeEvent } from "../observability/audit/registry-change.ts";
import type { AuditShipper, AuditShipperEvents } from "../observability/audit/shipper.ts";
import { createThreadedKafkaShipper } from "../observability/audit/shipper-thread.ts";
import type { AuditSink, AuditSinkEvents } from "../observability/audit/sink.ts";
import { createEdgeMetrics } from "../observability/edge-metrics.ts";
import { createLogger, type Logger } from "../observability/logger.ts";
import { createMetrics, type GatewayMetrics, recordBreakerState } from "../observability/metrics.ts";
import { registerScoreboardGauges } from "../observability/scoreboard/gauges.ts";
import { createScoreboard, type Scoreboard } from "../observability/scoreboard/scoreboard.ts";
import type { Database } from "../registry/database.ts";
import { openDatabase } from "../registry/database-open.ts";
import { createDatabaseRegistryStore } from "../registry/database-store.ts";
import { readDocuments } from "../registry/documents.ts";
import { createRegistry, type Registry, type RegistryStatus, type SeedDocuments } from "../registry/registry.ts";
import { createAdmission } from "./admission.ts";
import { createAuditService } from "./audit-service.ts";
import { type GatewayConfig, listenFailure } from "./config.ts";
import { createDiscovery } from "./discovery.ts";
import { createFairShare } from "./fair-share.ts";
import { adaptService, type CallEndInfo } from "./grpc/adapter.ts";
import { createHealthService } from "./grpc/health.ts";
import { createReflectionServices } from "./grpc/reflection.ts";
import { createGrpcServer } from "./grpc/server.ts";
import { createOpsHttpServer } from "./http-server.ts";
import { newInquiryId } from "./ids.ts";
import { createInquiryService } from "./inquiry-service.ts";
import { createOperatorService } from "./operator-service.ts";
import { createQuotaStore } from "./quota-store.ts";
import { createQuotas, type Quotas } from "./quotas.ts";
import { createReadiness } from "./readiness.ts";
import { createRegistryService } from "./registry-service.ts";
import { createRequestPath } from "./request-path.ts";
import { createStatusPages } from "./status-page.ts";

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
  /** Where every record is made durable before its answer leaves: the journal (or, for measurement only, nothing). */
  readonly audit: AuditSink;
  /** The local audit journal; undefined when the audit trail is off. */
  readonly journal: AuditJournal | undefined;
  /** What ships the journal to Kafka; undefined when the journal alone is the trail. */
  readonly shipper: AuditShipper | undefined;
  readonly metrics: GatewayMetrics;
  readonly scoreboard: Scoreboard;
  readonly logger: Logger;
  /**
   * Reads the gRPC port's TLS files again (ESTELAM_GRPC_TLS_CERT, _KEY, _CLIENT_CA) and serves new
   * connections with them: "renewed", or "unchanged" when they hold what is served, or "off" without TLS.
   * Rejects, and changes nothing, when a file cannot be read or the key does not match the certificate.
   */
  reloadTls(): Promise<"renewed" | "unchanged" | "off">;
  /** Stops taking calls, lets in-flight inquiries finish (up to graceMs), flushes audit, closes. */
  stop(graceMs?: number): Promise<void>;
}

const INQUIRY_SERVICE = InquiryService.typeName;
const REGISTRY_SERVICE = RegistryService.typeName;
const OPERATOR_SERVICE = OperatorService.typeName;

/** One line on the registry for /readyz: the revision served and, when it matters, why it may be old. */
function registryDetail(status: RegistryStatus): string {
  let text = `revision ${status.revision} from the ${status.store} store at ${status.location}`;
  if (!status.reachable)
    text += `; the store has not answered for ${Math.round(status.staleSeconds)} s: serving the last good revision, catching up when it answers`;
  if (status.unservable !== undefined)
    text += `; revision ${status.unservable.revision} cannot be served here: ${status.unservable.problems[0] ?? "unknown problem"}`;
  return text;
}

/** One line on the audit trail for /readyz: why the journal refuses, and how far shipping lags. */
function auditDetail(journal: AuditJournal | undefined, shipper: AuditShipper | undefined): string {
  if (journal === undefined) return "the audit trail is off (ESTELAM_AUDIT=off): no evidence is kept";
  let text = journal.problem() ?? `journal ${journal.dir}: ${journal.bytes()} bytes`;
  if (shipper !== undefined)
    text += `; ${shipper.backlog()} records not yet acknowledged by ${shipper.kind}${shipper.connected() ? "" : " (unreachable: they wait in the journal)"}`;
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
      logger.error(
        { sink: kind, err: { message: error.message } },
        "the audit journal cannot be written; inquiries are refused until it can",
      );
    },
    onRefused(reason) {
      metrics.auditEvents.inc({ sink: kind, result: `refused_${reason}` });
    },
  };
}

function createShipper(config: GatewayConfig, journal: AuditJournal, metrics: GatewayMetrics, logger: Logger): AuditShipper | undefined {
  const { audit } = config;
  if (audit.shipper !== "kafka") return undefined;
  let failing = false;
  const settings = {
    brokers: [...audit.kafka.brokers],
    topic: audit.kafka.topic,
    clientId: `estelam-${config.instance}`,
    createTopic: audit.kafka.createTopic,
    partitions: audit.kafka.partitions,
    replicationFactor: audit.kafka.replicationFactor,
  };
  const events: AuditShipperEvents = {
    onShipped(count) {
      metrics.auditShipped.inc({ shipper: "kafka" }, count);
    },
    onShipError(error) {
      metrics.auditShipErrors.inc({ shipper: "kafka" });
      // One line when delivery starts failing, one when it recovers: the backlog metric tells the rest.
      if (!failing)
        logger.error(
          { shipper: "kafka", err: { message: error.message } },
          "audit records cannot be shipped to kafka; they wait in the journal",
        );
      failing = true;
    },
    onRecovered() {
      failing = false;
      logger.info({ shipper: "kafka" }, "audit records are shipped to kafka again");
    },
  };
  const kafkaLogger = logger.child({ component: "kafka" });
  return audit.kafka.thread
    ? createThreadedKafkaShipper({ journal, settings, logger: kafkaLogger, events })
    : createKafkaShipper({ journal, ...settings, logger: kafkaLogger, events });
}

/** Reads the TLS files the configuration names; a missing or unreadable file stops start-up naming its setting. */
async function readTls(config: GatewayConfig): Promise<{ cert: Buffer; key: Buffer; clientCa: Buffer | undefined } | undefined> {
  if (config.tls === undefined) return undefined;
  const read = async (path: string, setting: string): Promise<Buffer> => {
    try {
      return await readFile(path);
    } catch (error) {
      throw new Error(`${setting}: cannot read ${path}: ${(error as Error).message}`, { cause: error });
    }
  };
  return {
    cert: await read(config.tls.cert, "ESTELAM_GRPC_TLS_CERT"),
    key: await read(config.tls.key, "ESTELAM_GRPC_TLS_KEY"),
    clientCa: config.tls.clientCa === undefined ? undefined : await read(config.tls.clientCa, "ESTELAM_GRPC_TLS_CLIENT_CA"),
  };
}

export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const { config } = options;
  const logger = options.logger ?? createLogger({ level: config.logLevel, instance: config.instance, flushMs: config.logFlushMs });
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

  const auditKey = createAuditKey(config.audit.key);
  const journal =
    config.audit.mode === "off"
      ? undefined
      : createAuditJournal(
          {
            dir: config.audit.journalDir,
            key: auditKey,
            maxBytes: config.audit.journalMaxBytes,
            segmentBytes: config.audit.segmentBytes,
            ackTimeoutMs: config.audit.ackTimeoutMs,
            commitDelayMs: config.audit.commitDelayMs,
          },
          auditSinkEvents(metrics, "journal", logger),
        );
  const audit: AuditSink = journal ?? createOffAuditSink();
  if (journal === undefined)
    logger.warn("the audit trail is off (ESTELAM_AUDIT=off): no evidence is kept of any inquiry; use this only to measure its cost");
  try {
    await audit.start();
  } catch (error) {
    return failed(new Error(`the audit trail (${audit.kind}) cannot start: ${(error as Error).message}`, { cause: error }));
  }
  closeOnFailure.push(() => audit.close());
  // The shipper starts in the background: Kafka being away delays delivery, never start-up or answers.
  const shipper = journal === undefined ? undefined : createShipper(config, journal, metrics, logger);
  if (shipper !== undefined) {
    closeOnFailure.push(() => shipper.close(0));
    try {
      await shipper.start();
    } catch (error) {
      return failed(
        new Error(`the audit shipper cannot start from ${config.audit.journalDir}: ${(error as Error).message}`, { cause: error }),
      );
    }
  }
  const auditEvents = createAuditEventFactory({ key: auditKey, instance: config.instance });
  const auditWhere = { instance: config.instance, keyId: auditKey.id };
  let auditIndex: AuditIndex | undefined;
  let indexer: JournalIndexer | undefined;
  if (config.audit.index && journal !== undefined) {
    try {
      auditIndex = await openAuditIndex(database);
    } catch (error) {
      return failed(
        new Error(`the audit index cannot be prepared in ${database.kind} ${database.location}: ${(error as Error).message}`, {
          cause: error,
        }),
      );
    }
    let indexFailing = false;
    indexer = createJournalIndexer({
      journal,
      index: auditIndex,
      source: `journal:${config.instance}`,
      events: {
        onIndexed() {
          if (indexFailing) logger.info("audit records are indexed again");
          indexFailing = false;
        },
        onError(error) {
          if (!indexFailing) logger.warn({ err: { message: error.message } }, "audit records cannot be indexed now; retrying");
          indexFailing = true;
        },
        onSkipped(from, to) {
          logger.warn(
            { from: from.toString(), to: to.toString() },
            "audit records were shipped and released before they were indexed; index them from the topic (estelam audit index)",
          );
        },
      },
    });
    const running = indexer;
    closeOnFailure.push(() => running.close());
    try {
      await running.start();
    } catch (error) {
      return failed(new Error(`the audit index cannot start following the journal: ${(error as Error).message}`, { cause: error }));
    }
    metrics.watchAuditIndex(() => running.lag());
  }
  metrics.watchAuditPending(audit.kind, () => audit.pending());
  if (database.threadHeap !== undefined) metrics.watchThreadHeap("database", database.threadHeap);
  if (shipper?.threadHeap !== undefined) metrics.watchThreadHeap("audit-shipper", shipper.threadHeap);
  if (journal !== undefined)
    metrics.watchAuditJournal(
      () => journal.bytes(),
      config.audit.journalMaxBytes,
      shipper === undefined ? undefined : { shipper: shipper.kind, events: () => shipper.backlog() },
    );

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

  let tls: { cert: Buffer; key: Buffer; clientCa: Buffer | undefined } | undefined;
  try {
    tls = await readTls(config);
  } catch (error) {
    return failed(error);
  }
  const edgeMetrics = createEdgeMetrics(metrics.registry);
  let quotas: Quotas;
  try {
    quotas = createQuotas({
      store: await createQuotaStore(database),
      instance: config.instance,
      shared: database.kind === "postgres",
      syncMs: config.quotaSyncMs,
      events: {
        onAdmitted: (requester, inquiryType) => edgeMetrics.quotaAdmitted.inc({ requester, inquiry_type: inquiryType }),
        onRefused: (requester, inquiryType, window) => edgeMetrics.quotaRefusals.inc({ requester, inquiry_type: inquiryType, window }),
        onStoreError(error) {
          edgeMetrics.quotaStoreErrors.inc();
          logger.warn({ err: { message: error.message } }, "quota store unreachable; daily quotas are not enforced until it answers");
        },
      },
    });
  } catch (error) {
    return failed(error);
  }
  closeOnFailure.push(() => quotas.close());
  let scoreboard: Scoreboard;
  try {
    scoreboard = await createScoreboard({
      database,
      instance: config.instance,
      snapshot: () => registry.current(),
      breakers: () => upstreams.states(),
      windowMinutes: config.scoreboard.windowMinutes,
      flushMs: config.scoreboard.flushMs,
      logger: logger.child({ component: "scoreboard" }),
    });
  } catch (error) {
    return failed(error);
  }
  const fairShare = createFairShare({
    onRefused(requester, endpoint, why) {
      // Either way the call failed fast without reaching the agency, as the breaker's own bulkhead would.
      metrics.breakerShortCircuits.inc({ endpoint, why: "saturated" });
      if (why === "share") edgeMetrics.fairShareRefusals.inc({ requester, endpoint });
    },
  });
  edgeMetrics.watchFairShare(() => fairShare.inFlight());
  closeOnFailure.push(() => scoreboard.close());
  registerScoreboardGauges(metrics.registry, () => scoreboard.latest());

  const inquiries = createInquiryService({
    registry,
    path: createRequestPath({ upstreams, audit, fairShare, limits: [quotas.interceptor] }),
    audit,
    auditEvents,
    metrics,
    logger,
    scoreboard,
  });
  const discovery = createDiscovery(registry);
  const registryService = createRegistryService({ registry, audit, auditWhere, logger });
  const auditService = createAuditService({
    registry,
    index: auditIndex,
    auditEvents,
    previousKeys: config.audit.previousKeys.map((secret) =>
      createAuditEventFactory({ key: createAuditKey(secret), instance: config.instance }),
    ),
    logger,
  });
  let draining = false;
  const readiness = createReadiness([
    // Always ready (a revision is served from start-up on); the detail says when the store is away.
    { name: "registry", ready: () => true, detail: () => registryDetail(registry.status()) },
    { name: "audit", ready: () => audit.ready(), detail: () => auditDetail(journal, shipper) },
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
    adaptService(AuditService, {
      findInquiry: (request, context) => auditService.findInquiry(request, context),
      subjectReport: (request, context) => auditService.subjectReport(request, context),
    }),
    adaptService(OperatorService, createOperatorService({ registry, scoreboard })),
    health.service,
    ...createReflectionServices(
      [
        file_estelam_inquiry_v1_inquiry,
        file_estelam_registry_v1_registry,
        file_estelam_audit_v1_audit_service,
        file_estelam_operator_v1_operator,
        file_grpc_health_v1_health,
      ],
      [INQUIRY_SERVICE, REGISTRY_SERVICE, AuditService.typeName, OPERATOR_SERVICE, "grpc.health.v1.Health"],
    ),
  ];
  const grpc = createGrpcServer({
    address: `${config.grpc.host}:${config.grpc.port}`,
    services,
    limits: config.edge,
    admit: createAdmission({
      registry,
      protectedServices: [INQUIRY_SERVICE, REGISTRY_SERVICE, AuditService.typeName, OPERATOR_SERVICE],
      apiKeys: config.apiKeys,
    }),
    ...(tls === undefined ? {} : { tls }),
    edgeEvents: {
      onRefused: (reason) => edgeMetrics.refusals.inc({ reason: reason.toLowerCase() }),
      onShedding(shedding) {
        if (shedding) logger.warn("memory runs short: new calls are refused with OVERLOADED");
        else logger.info("memory back under the shedding threshold");
      },
    },
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

  edgeMetrics.watchEdge(grpc.edge);
  const http = createOpsHttpServer({
    host: config.http.host,
    port: config.http.port,
    metrics: metrics.registry,
    readiness,
    pages: createStatusPages({ scoreboard }),
  });

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
      audit:
        journal === undefined
          ? "off"
          : `journal ${journal.dir}${shipper === undefined ? "" : ` shipped to ${shipper.kind} topic ${config.audit.kafka.topic}`}`,
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
    journal,
    shipper,
    metrics,
    scoreboard,
    logger,
    async reloadTls() {
      const read = await readTls(config);
      if (read === undefined || tls === undefined) return "off";
      const same = (a: Buffer | undefined, b: Buffer | undefined) => (a === undefined ? b === undefined : b !== undefined && a.equals(b));
      if (same(read.cert, tls.cert) && same(read.key, tls.key) && same(read.clientCa, tls.clientCa)) return "unchanged";
      grpc.renewTls(read);
      tls = read;
      return "renewed";
    },
    stop(graceMs = config.shutdownGraceMs) {
      stopping ??= (async () => {
        draining = true;
        readiness.close();
        health.enterShutdown();
        registryService.close();
        await grpc.shutdown(graceMs);
        await inquiries.close();
        await audit.close();
        await indexer?.close();
        await shipper?.close();
        await scoreboard.close();
        await registry.close();
        await upstreams.close();
        await quotas.close();
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
