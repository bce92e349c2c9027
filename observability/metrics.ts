// All Prometheus metrics of the gateway, registered into one injected prom-client registry. Labels hold
// only catalogue ids (inquiry types, agencies, endpoints) and closed sets (outcomes, codes): never anything
// a caller typed, and never a personal identifier.
import type { HeapInfo } from "node:v8";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/** Inquiry latency buckets, fine below 5 ms where a gateway's own cost shows. */
export const INQUIRY_BUCKETS = [
  0.0005, 0.001, 0.0015, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];
const GRPC_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

type GrpcLabels = "grpc_service" | "grpc_method" | "grpc_type";

export interface GatewayMetrics {
  readonly registry: Registry;
  /** The go-grpc-prometheus server set: started, messages received and sent, handled (by code), handling time. */
  readonly grpcStarted: Counter<GrpcLabels>;
  readonly grpcMsgReceived: Counter<GrpcLabels>;
  readonly grpcMsgSent: Counter<GrpcLabels>;
  readonly grpcHandled: Counter<"grpc_service" | "grpc_method" | "grpc_type" | "grpc_code">;
  readonly grpcHandlingSeconds: Histogram<"grpc_service" | "grpc_method" | "grpc_type">;
  readonly inquiries: Counter<"inquiry_type" | "requester" | "responder" | "outcome">;
  readonly inquirySeconds: Histogram<"inquiry_type" | "responder">;
  readonly upstreamSeconds: Histogram<"endpoint" | "result">;
  readonly breakerState: Gauge<"endpoint" | "state">;
  readonly breakerShortCircuits: Counter<"endpoint" | "why">;
  readonly auditEvents: Counter<"sink" | "result">;
  readonly auditPending: Gauge<"sink">;
  readonly auditWriteSeconds: Histogram<"sink">;
  readonly auditShipped: Counter<"shipper">;
  readonly auditShipErrors: Counter<"shipper">;
  /** Makes `estelam_audit_pending_events{sink}` read `pending()` at every scrape. */
  watchAuditPending(sink: string, pending: () => number): void;
  /** Makes `estelam_audit_journal_bytes` and `estelam_audit_backlog_events{shipper}` read their sources at every scrape. */
  watchAuditJournal(bytes: () => number, maxBytes: number, backlog?: { readonly shipper: string; readonly events: () => number }): void;
  /** Makes `estelam_audit_index_lag_events` read `lag()` at every scrape. */
  watchAuditIndex(lag: () => number): void;
  /** Makes `estelam_registry_revision` and `estelam_registry_stale_seconds` read `status()` at every scrape. */
  watchRegistry(status: () => { readonly revision: number; readonly staleSeconds: number }): void;
  /**
   * Makes `estelam_thread_heap_size_total_bytes{thread}` and `..._used_bytes{thread}` read the heap of the
   * named thread (the embedded database's, the audit shipper's) at every scrape; a thread that answers
   * undefined (being started again) is left out of that scrape.
   */
  watchThreadHeap(thread: string, heap: () => Promise<HeapInfo | undefined>): void;
}

export interface MetricsOptions {
  readonly registry?: Registry;
  /** Process metrics (CPU, memory, event loop lag) with the usual names. */
  readonly defaultMetrics?: boolean;
}

/**
 * prom-client's default metrics include three gauges named `*_total` (promtool warns: only counters end in
 * `_total`). Each is the sum of a by-type gauge that stays (`nodejs_active_handles{type}` ...).
 */
const MISNAMED_DEFAULT_GAUGES = ["nodejs_active_handles_total", "nodejs_active_requests_total", "nodejs_active_resources_total"];

export function createMetrics(options: MetricsOptions = {}): GatewayMetrics {
  const registry = options.registry ?? new Registry();
  if (options.defaultMetrics ?? true) {
    // The event-loop delay monitor samples with a timer of this period: every 100 ms is 10 wake-ups a second
    // of an idle gateway (at 20 ms it was 50, most of an idle gateway's CPU); a stall still shows, as the
    // delay of the sample it holds up.
    collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 100 });
    for (const name of MISNAMED_DEFAULT_GAUGES) registry.removeSingleMetric(name);
  }
  const registers = [registry];
  const pendingSources = new Map<string, () => number>();
  let journalBytes: (() => number) | undefined;
  let journalMaxBytes: number | undefined;
  new Gauge({
    name: "estelam_audit_journal_max_bytes",
    help: "The audit journal's bound (ESTELAM_AUDIT_JOURNAL_MAX_BYTES): at it, new inquiries are refused.",
    registers,
    collect() {
      if (journalMaxBytes !== undefined) this.set(journalMaxBytes);
    },
  });
  let indexLag: (() => number) | undefined;
  new Gauge({
    name: "estelam_audit_index_lag_events",
    help: "Audit records durable in the journal and not yet in the audit index.",
    registers,
    collect() {
      if (indexLag !== undefined) this.set(indexLag());
    },
  });
  let journalBacklog: { readonly shipper: string; readonly events: () => number } | undefined;
  new Gauge({
    name: "estelam_audit_journal_bytes",
    help: "Bytes held in the local audit journal (bounded by ESTELAM_AUDIT_JOURNAL_MAX_BYTES).",
    registers,
    collect() {
      if (journalBytes !== undefined) this.set(journalBytes());
    },
  });
  new Gauge({
    name: "estelam_audit_backlog_events",
    help: "Audit records durable in the local journal and not yet acknowledged by the shipper's destination (Kafka).",
    labelNames: ["shipper"],
    registers,
    collect() {
      if (journalBacklog !== undefined) this.set({ shipper: journalBacklog.shipper }, journalBacklog.events());
    },
  });
  let registryStatus: (() => { readonly revision: number; readonly staleSeconds: number }) | undefined;
  new Gauge({
    name: "estelam_registry_revision",
    help: "The registry revision this instance serves.",
    registers,
    collect() {
      if (registryStatus !== undefined) this.set(registryStatus().revision);
    },
  });
  new Gauge({
    name: "estelam_registry_stale_seconds",
    help: "Seconds since this instance last confirmed with the registry store that it serves the newest revision (0 while in contact).",
    registers,
    collect() {
      if (registryStatus !== undefined) this.set(registryStatus().staleSeconds);
    },
  });
  const threadHeaps = new Map<string, () => Promise<HeapInfo | undefined>>();
  /** Sets `gauge` to `read` of every watched thread's heap; one scrape asks each thread once per gauge. */
  async function collectThreadHeaps(gauge: Gauge<"thread">, read: (heap: HeapInfo) => number): Promise<void> {
    gauge.reset();
    for (const [thread, heap] of threadHeaps) {
      const info = await heap();
      if (info !== undefined) gauge.set({ thread }, read(info));
    }
  }
  new Gauge({
    name: "estelam_thread_heap_size_total_bytes",
    help: "JavaScript heap size (bytes) of a thread of the gateway besides the main one (the embedded database, the audit shipper).",
    labelNames: ["thread"],
    registers,
    collect() {
      return collectThreadHeaps(this, (heap) => heap.total_heap_size);
    },
  });
  new Gauge({
    name: "estelam_thread_heap_size_used_bytes",
    help: "JavaScript heap used (bytes) by a thread of the gateway besides the main one (the embedded database, the audit shipper).",
    labelNames: ["thread"],
    registers,
    collect() {
      return collectThreadHeaps(this, (heap) => heap.used_heap_size);
    },
  });
  return {
    registry,
    grpcStarted: new Counter({
      name: "grpc_server_started_total",
      help: "RPCs started on the server, including those refused before a handler ran.",
      labelNames: ["grpc_service", "grpc_method", "grpc_type"],
      registers,
    }),
    grpcMsgReceived: new Counter({
      name: "grpc_server_msg_received_total",
      help: "Request messages received on the server.",
      labelNames: ["grpc_service", "grpc_method", "grpc_type"],
      registers,
    }),
    grpcMsgSent: new Counter({
      name: "grpc_server_msg_sent_total",
      help: "Response messages sent by the server.",
      labelNames: ["grpc_service", "grpc_method", "grpc_type"],
      registers,
    }),
    grpcHandled: new Counter({
      name: "grpc_server_handled_total",
      help: "RPCs completed on the server, by status code.",
      labelNames: ["grpc_service", "grpc_method", "grpc_type", "grpc_code"],
      registers,
    }),
    grpcHandlingSeconds: new Histogram({
      name: "grpc_server_handling_seconds",
      help: "Time to handle an RPC, from receipt to status.",
      labelNames: ["grpc_service", "grpc_method", "grpc_type"],
      buckets: GRPC_BUCKETS,
      registers,
    }),
    inquiries: new Counter({
      name: "estelam_inquiries_total",
      help: "Inquiries handled, by outcome (answered, not_found, rejected, or the error reason in lowercase).",
      labelNames: ["inquiry_type", "requester", "responder", "outcome"],
      registers,
    }),
    inquirySeconds: new Histogram({
      name: "estelam_inquiry_duration_seconds",
      help: "Time from receipt of an inquiry to its answer, including audit.",
      labelNames: ["inquiry_type", "responder"],
      buckets: INQUIRY_BUCKETS,
      registers,
    }),
    upstreamSeconds: new Histogram({
      name: "estelam_upstream_duration_seconds",
      help: "Time an agency endpoint took to answer (result: ok or fault).",
      labelNames: ["endpoint", "result"],
      buckets: INQUIRY_BUCKETS,
      registers,
    }),
    breakerState: new Gauge({
      name: "estelam_breaker_state",
      help: "Circuit breaker state per agency endpoint: 1 for the current state, 0 for the others.",
      labelNames: ["endpoint", "state"],
      registers,
    }),
    breakerShortCircuits: new Counter({
      name: "estelam_breaker_short_circuits_total",
      help: "Calls failed fast without reaching the agency (why: open or saturated).",
      labelNames: ["endpoint", "why"],
      registers,
    }),
    auditEvents: new Counter({
      name: "estelam_audit_events_total",
      help: "Audit events by result (written, refused_timeout, refused_full, refused_failed, refused_closed, write_error, answered_without_record, not_amended, amended_late).",
      labelNames: ["sink", "result"],
      registers,
    }),
    auditPending: new Gauge({
      name: "estelam_audit_pending_events",
      help: "Audit events accepted but not yet synced to the journal.",
      labelNames: ["sink"],
      registers,
      collect() {
        for (const [sink, pending] of pendingSources) this.set({ sink }, pending());
      },
    }),
    auditWriteSeconds: new Histogram({
      name: "estelam_audit_write_seconds",
      help: "Time of one durable audit write (a batch).",
      labelNames: ["sink"],
      buckets: INQUIRY_BUCKETS,
      registers,
    }),
    auditShipped: new Counter({
      name: "estelam_audit_shipped_total",
      help: "Audit records acknowledged by the shipper's destination (Kafka).",
      labelNames: ["shipper"],
      registers,
    }),
    auditShipErrors: new Counter({
      name: "estelam_audit_ship_errors_total",
      help: "Failed attempts to deliver audit records to the shipper's destination; each is retried.",
      labelNames: ["shipper"],
      registers,
    }),
    watchAuditIndex(lag) {
      indexLag = lag;
    },
    watchAuditJournal(bytes, maxBytes, backlog) {
      journalBytes = bytes;
      journalMaxBytes = maxBytes;
      journalBacklog = backlog;
    },
    watchAuditPending(sink, pending) {
      pendingSources.set(sink, pending);
    },
    watchRegistry(status) {
      registryStatus = status;
    },
    watchThreadHeap(thread, heap) {
      threadHeaps.set(thread, heap);
    },
  };
}

const STATES = ["closed", "half_open", "open"] as const;

/** Sets the one-hot breaker state gauge for an endpoint. */
export function recordBreakerState(metrics: GatewayMetrics, endpoint: string, state: (typeof STATES)[number]): void {
  for (const s of STATES) metrics.breakerState.set({ endpoint, state: s }, s === state ? 1 : 0);
}
