// The `kafka` audit sink: each AuditEvent is one Kafka message (key inquiry_id, value the protobuf encoding),
// written by an idempotent producer with acks from all in-sync replicas and one request in flight, so the
// trail keeps the gateway's order per inquiry and a resent batch is not written twice. Batching, bounds and
// retries are the shared batcher's (batcher.ts); kafkajs's own retries are kept short so the batcher stays
// in charge of the wait.
import "./kafkajs-idle-timer.ts";
import { toBinary } from "@bufbuild/protobuf";
import type { Admin, Kafka as KafkaClient, LogEntry, Message, Producer } from "kafkajs";
import kafkajs from "kafkajs";
import { EstelamError } from "../../core/errors.ts";
import { type AuditEvent, AuditEventSchema } from "../../gen/estelam/audit/v1/audit_pb.js";
import { createBatcher } from "./batcher.ts";
import type { AuditSink, AuditSinkEvents } from "./sink.ts";

const { Kafka, Partitioners, logLevel } = kafkajs;

/** The part of a pino logger the sink uses. */
export interface KafkaAuditSinkLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface KafkaAuditSinkOptions {
  /** Bootstrap brokers, `host:port`. */
  readonly brokers: readonly string[];
  readonly topic: string;
  /** Default `estelam-audit`. */
  readonly clientId?: string;
  /** Wait after the first queued event before a batch is sent. Default 2. */
  readonly lingerMs?: number;
  /** Events per produce request. Default 500. */
  readonly maxBatch?: number;
  /** Events held and not yet acknowledged; more are refused at once. Default 100000. */
  readonly maxQueue?: number;
  /** How long an append may wait for the acknowledgement. Default 5000. */
  readonly ackTimeoutMs?: number;
  /** Bound on `start()` (connecting, creating the topic). Default 10000. */
  readonly connectTimeoutMs?: number;
  /** Create the topic at start when it does not exist. Default true; when false a missing topic fails start. */
  readonly createTopic?: boolean;
  /** Partitions of a topic created at start. Default 3. */
  readonly partitions?: number;
  /** Replication factor of a topic created at start. Default 1 (a development broker); use 3 in production. */
  readonly replicationFactor?: number;
  /** Receives kafkajs's warnings and errors; silent by default. */
  readonly logger?: KafkaAuditSinkLogger;
}

export interface ResolvedKafkaAuditSinkOptions {
  readonly brokers: readonly string[];
  readonly topic: string;
  readonly clientId: string;
  readonly lingerMs: number;
  readonly maxBatch: number;
  readonly maxQueue: number;
  readonly ackTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly createTopic: boolean;
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly logger: KafkaAuditSinkLogger | undefined;
}

export function resolveKafkaAuditSinkOptions(options: KafkaAuditSinkOptions): ResolvedKafkaAuditSinkOptions {
  const resolved: ResolvedKafkaAuditSinkOptions = {
    brokers: [...options.brokers],
    topic: options.topic,
    clientId: options.clientId ?? "estelam-audit",
    lingerMs: options.lingerMs ?? 2,
    maxBatch: options.maxBatch ?? 500,
    maxQueue: options.maxQueue ?? 100_000,
    ackTimeoutMs: options.ackTimeoutMs ?? 5000,
    connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
    createTopic: options.createTopic ?? true,
    partitions: options.partitions ?? 3,
    replicationFactor: options.replicationFactor ?? 1,
    logger: options.logger,
  };
  if (resolved.brokers.length === 0) throw new TypeError("kafka audit sink: brokers is empty");
  if (resolved.topic.length === 0) throw new TypeError("kafka audit sink: topic is empty");
  for (const key of ["maxBatch", "maxQueue", "ackTimeoutMs", "connectTimeoutMs", "partitions", "replicationFactor"] as const) {
    if (!Number.isInteger(resolved[key]) || resolved[key] < 1) throw new TypeError(`kafka audit sink: ${key} must be a positive integer`);
  }
  if (!Number.isFinite(resolved.lingerMs) || resolved.lingerMs < 0) throw new TypeError("kafka audit sink: lingerMs must be >= 0");
  return resolved;
}

/** Headers that let a consumer decode a record without guessing. */
export const AUDIT_MESSAGE_HEADERS = {
  "content-type": "application/x-protobuf",
  proto: AuditEventSchema.typeName,
} as const;

// kafkajs retries a failed request this often before the batcher takes over with its own backoff.
const PRODUCER_RETRY = { retries: 2, initialRetryTime: 100, maxRetryTime: 1000 };
// The idempotent producer warns when its retries are limited; the batcher resends the identical batch, so
// the sequence numbers still deduplicate.
const EXPECTED_WARNINGS = ["Limiting retries for the idempotent producer"];

// During an outage kafkajs repeats the same complaint on every reconnect attempt; one line per message per
// interval is enough (the batcher's onWriteError reports every failed write anyway).
const REPEAT_INTERVAL_MS = 10_000;

function forwardLogs(logger: KafkaAuditSinkLogger | undefined): (level: number) => (entry: LogEntry) => void {
  const recent = new Map<string, { at: number; suppressed: number }>();
  return () => (entry) => {
    if (logger === undefined || (entry.level !== logLevel.ERROR && entry.level !== logLevel.WARN)) return;
    const { message, timestamp: _timestamp, ...rest } = entry.log;
    if (EXPECTED_WARNINGS.some((expected) => message.startsWith(expected))) return;
    const now = Date.now();
    const seen = recent.get(message);
    if (seen !== undefined && now - seen.at < REPEAT_INTERVAL_MS) {
      seen.suppressed += 1;
      return;
    }
    if (recent.size > 200) recent.clear();
    recent.set(message, { at: now, suppressed: 0 });
    const obj = { namespace: entry.namespace, ...rest, ...(seen?.suppressed ? { repeated: seen.suppressed } : {}) };
    if (entry.level === logLevel.ERROR) logger.error(obj, `kafkajs: ${message}`);
    else logger.warn(obj, `kafkajs: ${message}`);
  };
}

// Broker answers meaning the producer's id or sequence numbers are no longer valid: resending with the same
// producer cannot succeed, a new session (new producer id) can.
const PRODUCER_STATE_ERRORS = new Set([
  "OUT_OF_ORDER_SEQUENCE_NUMBER",
  "UNKNOWN_PRODUCER_ID",
  "INVALID_PRODUCER_EPOCH",
  "INVALID_PRODUCER_ID_MAPPING",
  "PRODUCER_FENCED",
]);

function lostProducerState(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const type = (e as { type?: unknown }).type;
    if (typeof type === "string" && PRODUCER_STATE_ERRORS.has(type)) return true;
  }
  return false;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Rejects with `onTimeout()` if `promise` has not settled within `ms`. */
function within<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function createKafkaAuditSink(options: KafkaAuditSinkOptions, events?: AuditSinkEvents): AuditSink {
  const config = resolveKafkaAuditSinkOptions(options);
  const { topic, logger } = config;
  const kafka: KafkaClient = new Kafka({
    clientId: config.clientId,
    brokers: [...config.brokers],
    connectionTimeout: Math.min(config.connectTimeoutMs, 3000),
    requestTimeout: Math.max(config.ackTimeoutMs, 10_000),
    retry: PRODUCER_RETRY,
    logLevel: logger === undefined ? logLevel.NOTHING : logLevel.WARN,
    logCreator: forwardLogs(logger),
  });
  const newProducer = (): Producer =>
    kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
      retry: PRODUCER_RETRY,
    });

  let producer: Producer | undefined;
  let connected = false;
  let closed = false;
  // Set after an error the producer cannot recover from by resending; the next attempt starts a new session.
  // Events of the failed batch may then be written twice (never lost): consumers deduplicate by inquiry_id.
  let renewProducer = false;

  async function write(messages: readonly Message[]): Promise<void> {
    if (producer === undefined || renewProducer) {
      const old = producer;
      producer = undefined;
      await old?.disconnect().catch(() => {});
      const fresh = newProducer();
      await fresh.connect();
      producer = fresh;
      renewProducer = false;
    }
    try {
      await producer.send({ topic, acks: -1, timeout: config.ackTimeoutMs, messages: [...messages] });
    } catch (error) {
      if (lostProducerState(error)) renewProducer = true;
      throw error;
    }
  }

  const batcher = createBatcher<Message>({
    write,
    target: `kafka topic ${topic}`,
    lingerMs: config.lingerMs,
    maxBatch: config.maxBatch,
    maxQueue: config.maxQueue,
    ackTimeoutMs: config.ackTimeoutMs,
    events,
  });

  async function ensureTopic(admin: Admin): Promise<void> {
    const topics = await admin.listTopics();
    if (topics.includes(topic)) return;
    if (!config.createTopic) throw new Error(`topic ${topic} does not exist and createTopic is off`);
    await admin.createTopics({
      waitForLeaders: true,
      timeout: config.connectTimeoutMs,
      topics: [{ topic, numPartitions: config.partitions, replicationFactor: config.replicationFactor }],
    });
  }

  async function connect(): Promise<Producer> {
    const admin = kafka.admin({ retry: PRODUCER_RETRY });
    try {
      await admin.connect();
      await ensureTopic(admin);
    } finally {
      await admin.disconnect().catch(() => {});
    }
    const fresh = newProducer();
    try {
      await fresh.connect();
    } catch (error) {
      await fresh.disconnect().catch(() => {});
      throw error;
    }
    return fresh;
  }

  return {
    kind: "kafka",

    async start(): Promise<void> {
      if (connected) return;
      if (closed) throw new EstelamError("AUDIT_UNAVAILABLE", "kafka audit sink is closed");
      const where = `kafka ${config.brokers.join(",")} (topic ${topic})`;
      let timedOut = false;
      const attempt = connect();
      try {
        producer = await within(attempt, config.connectTimeoutMs, () => {
          timedOut = true;
          return new EstelamError("AUDIT_UNAVAILABLE", `audit sink cannot reach ${where} within ${config.connectTimeoutMs} ms`);
        });
      } catch (error) {
        // A connection that completes after the deadline is closed again rather than left running.
        if (timedOut) attempt.then((late) => late.disconnect()).catch(() => {});
        if (error instanceof EstelamError) throw error;
        throw new EstelamError("AUDIT_UNAVAILABLE", `audit sink cannot start on ${where}: ${describe(error)}`, { cause: error });
      }
      connected = true;
    },

    append(event: AuditEvent): Promise<void> {
      if (!connected && !closed) {
        return Promise.reject(new EstelamError("AUDIT_UNAVAILABLE", `kafka audit sink for topic ${topic} is not started`));
      }
      return batcher.add({
        key: event.inquiryId,
        value: Buffer.from(toBinary(AuditEventSchema, event)),
        headers: { ...AUDIT_MESSAGE_HEADERS },
      });
    },

    ready(): boolean {
      return connected && !closed && batcher.healthy();
    },

    pending(): number {
      return batcher.pending();
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      const left = await batcher.close(config.ackTimeoutMs);
      if (left > 0) logger?.error({ topic, events: left }, "audit sink closed with events not acknowledged by kafka");
      connected = false;
      const current = producer;
      producer = undefined;
      await current?.disconnect().catch(() => {});
    },
  };
}
