// The `kafka` audit shipper: sends the journal's records to a Kafka topic, in order, each record one message
// (key the inquiry id, value the record's bytes exactly as sealed, so `estelam audit verify` can check the
// chain on the topic). The producer is idempotent with acks from all in-sync replicas and one request in
// flight, so a resent batch is not written twice within a producer session. After each acknowledged batch
// the position is written to a checkpoint file beside the journal (atomically, synced); a restart resumes
// from it. A crash between Kafka's acknowledgement and the checkpoint resends that batch: consumers drop
// the duplicate by inquiry id (or gateway instance and sequence).
import "./kafkajs-idle-timer.ts";
import { readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fromBinary } from "@bufbuild/protobuf";
import type { Kafka as KafkaClient, LogEntry, Message, Producer } from "kafkajs";
import kafkajs from "kafkajs";
import { AuditEventSchema } from "../../gen/estelam/audit/v1/audit_pb.js";
import { type CommitWait, createCommitWait } from "./commit-wait.ts";
import type { JournalPosition } from "./journal.ts";
import { createJournalCursor, type JournalCursor, startPosition } from "./journal-cursor.ts";
import { inquiryIdOf, type ParsedRecord } from "./journal-format.ts";
import type { AuditShipper, AuditShipperEvents, ShippedJournal } from "./shipper.ts";

const { Kafka, Partitioners, logLevel } = kafkajs;

/** The part of a pino logger the shipper uses. */
export interface KafkaShipperLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface KafkaShipperOptions {
  readonly journal: ShippedJournal;
  /** Bootstrap brokers, `host:port`. */
  readonly brokers: readonly string[];
  readonly topic: string;
  /** Default `estelam-audit`. */
  readonly clientId?: string;
  /** Create the topic when it does not exist. Default true. */
  readonly createTopic?: boolean;
  /** Partitions of a topic it creates. Default 3. */
  readonly partitions?: number;
  /** Replication factor of a topic it creates. Default 1 (a development broker); use 3 in production. */
  readonly replicationFactor?: number;
  /** Bytes of records per produce request. Default 1 MiB. */
  readonly maxBatchBytes?: number;
  /** Bound on one produce request (and on connecting). Default 10000. */
  readonly requestTimeoutMs?: number;
  /** Longest pause between attempts while Kafka is away. Default 2000. */
  readonly maxRetryBackoffMs?: number;
  /** Receives kafkajs's warnings and errors; silent by default. */
  readonly logger?: KafkaShipperLogger;
  readonly events?: AuditShipperEvents;
}

/** Headers that let a consumer decode a record without guessing. */
export const AUDIT_MESSAGE_HEADERS = {
  "content-type": "application/x-protobuf",
  proto: AuditEventSchema.typeName,
} as const;

export const CHECKPOINT_FILE = "shipped.checkpoint";
/** The shipper's name among the journal's readers: segments it has not shipped are kept. */
export const KAFKA_SHIPPER_READER = "kafka-shipper";

/**
 * Pause after a small batch before sending the next: under light load records go out in batches every
 * 50 ms rather than one produce request (and checkpoint write) per inquiry. Answers never wait for Kafka, so
 * this only delays delivery to the topic.
 */
const SHIP_LINGER_MS = 50;
/**
 * With nothing to ship, how long the shipper waits before looking again unless a commit wakes it (it always
 * does: this is only a safety net, and a long one, so an idle gateway is not woken for it).
 */
const IDLE_WAIT_MS = 10_000;
const PRODUCER_RETRY = { retries: 2, initialRetryTime: 100, maxRetryTime: 1000 };
const EXPECTED_WARNINGS = ["Limiting retries for the idempotent producer"];
const REPEAT_INTERVAL_MS = 10_000;

function forwardLogs(logger: KafkaShipperLogger | undefined): (level: number) => (entry: LogEntry) => void {
  const recent = new Map<string, { at: number; suppressed: number }>();
  return () => (entry) => {
    if (logger === undefined || (entry.level !== logLevel.ERROR && entry.level !== logLevel.WARN)) return;
    const { message, timestamp: _timestamp, ...rest } = entry.log;
    if (EXPECTED_WARNINGS.some((expected) => message.startsWith(expected))) return;
    // During an outage kafkajs repeats the same complaint on every reconnect attempt: one line per interval.
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

// Broker answers meaning the producer's id or sequence numbers are no longer valid: a new session can succeed.
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

/** A request to Kafka that got no answer in time. */
class RequestTimeout extends Error {}

/** Beyond the broker's own timeout, the time a request may take to travel and be retried. */
const SLACK_MS = 5000;

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RequestTimeout(`${what} took more than ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Disconnects a kafkajs client, bounded: a frozen broker must not hold the shipper. */
async function disconnect(client: { disconnect(): Promise<void> }): Promise<void> {
  await within(client.disconnect(), 2000, "disconnecting from kafka").catch(() => {});
}

/**
 * Replaces the checkpoint atomically (write, then rename). It is not synced: after a crash of the machine it
 * may be older than what Kafka has, which only sends some records again, never loses one.
 */
async function writeCheckpoint(path: string, content: string): Promise<void> {
  await writeFile(`${path}.tmp`, content);
  await rename(`${path}.tmp`, path);
}

/**
 * Reads the checkpoint beside the journal: how far Kafka has acknowledged it. A checkpoint that cannot be read
 * as one (cut short by a crash of the machine, damaged) is as none: shipping starts again from the oldest
 * segment, which sends records twice but never loses one; `onDamaged` says so.
 */
export async function readCheckpoint(dir: string, onDamaged?: (problem: string) => void): Promise<JournalPosition | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, CHECKPOINT_FILE), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  try {
    const parsed = JSON.parse(text) as { segment?: unknown; offset?: unknown; sequence?: unknown };
    const { segment, offset, sequence } = parsed;
    if (
      typeof segment === "string" &&
      Number.isSafeInteger(offset) &&
      (offset as number) >= 0 &&
      typeof sequence === "string" &&
      /^\d+$/.test(sequence)
    )
      return { segment, offset: offset as number, sequence: BigInt(sequence) };
  } catch {
    // Not JSON: as damaged as JSON of the wrong shape.
  }
  onDamaged?.(
    `the shipper's checkpoint ${join(dir, CHECKPOINT_FILE)} is damaged (${JSON.stringify(text.slice(0, 60))}); shipping resumes from the oldest segment, so some records are sent to Kafka twice`,
  );
  return undefined;
}

export function createKafkaShipper(options: KafkaShipperOptions): AuditShipper {
  const { journal, topic, logger, events } = options;
  const maxBatchBytes = options.maxBatchBytes ?? 1024 * 1024;
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  const maxRetryBackoffMs = options.maxRetryBackoffMs ?? 2000;
  const kafka: KafkaClient = new Kafka({
    clientId: options.clientId ?? "estelam-audit",
    brokers: [...options.brokers],
    connectionTimeout: 3000,
    requestTimeout: requestTimeoutMs,
    // Each request's wait is bounded here instead (`within`, below): kafkajs enforces its own by checking every
    // connection every 100 ms, requests in flight or not, which wakes an idle gateway ten times a second.
    enforceRequestTimeout: false,
    retry: PRODUCER_RETRY,
    logLevel: logger === undefined ? logLevel.NOTHING : logLevel.WARN,
    logCreator: forwardLogs(logger),
  });

  let cursor: JournalCursor | undefined;
  let producer: Producer | undefined;
  let renewProducer = false;
  let topicReady = false;
  let healthy = true;
  let stopping = false;
  let loop: Promise<void> | undefined;
  let waits: CommitWait | undefined;
  let failures = 0;

  async function ensureTopic(): Promise<void> {
    if (topicReady) return;
    const admin = kafka.admin({ retry: PRODUCER_RETRY });
    try {
      await within(admin.connect(), requestTimeoutMs, "connecting to kafka");
      const topics = await within(admin.listTopics(), requestTimeoutMs, "listing kafka's topics");
      if (!topics.includes(topic)) {
        if (options.createTopic === false) throw new Error(`topic ${topic} does not exist and topic creation is off`);
        await within(
          admin.createTopics({
            waitForLeaders: true,
            timeout: requestTimeoutMs,
            topics: [{ topic, numPartitions: options.partitions ?? 3, replicationFactor: options.replicationFactor ?? 1 }],
          }),
          requestTimeoutMs + SLACK_MS,
          "creating the audit topic",
        );
      }
      topicReady = true;
    } finally {
      await disconnect(admin);
    }
  }

  async function send(messages: Message[]): Promise<void> {
    await ensureTopic();
    if (producer === undefined || renewProducer) {
      const old = producer;
      producer = undefined;
      if (old !== undefined) await disconnect(old);
      const fresh = kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        createPartitioner: Partitioners.DefaultPartitioner,
        retry: PRODUCER_RETRY,
      });
      try {
        await within(fresh.connect(), requestTimeoutMs, "connecting the producer");
      } catch (error) {
        await disconnect(fresh);
        throw error;
      }
      producer = fresh;
      renewProducer = false;
    }
    try {
      await within(
        producer.send({ topic, acks: -1, timeout: requestTimeoutMs, messages }),
        requestTimeoutMs + SLACK_MS,
        "a produce request",
      );
    } catch (error) {
      // A request that got no answer (a frozen broker) leaves its connection stuck: the next try starts afresh.
      if (lostProducerState(error) || error instanceof RequestTimeout) renewProducer = true;
      throw error;
    }
  }

  function toMessages(records: readonly ParsedRecord[]): Message[] {
    return records.map((record) => ({
      key: inquiryIdOf(record.payload),
      value: record.payload,
      headers: { ...AUDIT_MESSAGE_HEADERS },
    }));
  }

  async function run(waits: CommitWait): Promise<void> {
    while (!stopping) {
      if (cursor === undefined) return;
      try {
        waits.looking();
        const batch = await cursor.next(maxBatchBytes);
        if (batch === undefined) {
          await waits.idle(IDLE_WAIT_MS);
          continue;
        }
        const started = performance.now();
        await send(toMessages(batch.records));
        events?.onShipped?.(batch.records.length, (performance.now() - started) / 1000, batch.end.sequence);
        cursor.advance(batch.end);
        const { segment, offset, sequence } = batch.end;
        // Kafka has the batch: the segments before it are released even if the checkpoint cannot be written (a
        // full disk), since deleting them is what frees the disk. A checkpoint left behind only resends records.
        let unsaved: unknown;
        await writeCheckpoint(join(journal.dir, CHECKPOINT_FILE), JSON.stringify({ segment, offset, sequence: sequence.toString() })).catch(
          (error: unknown) => {
            unsaved = error;
          },
        );
        await journal.release(segment, KAFKA_SHIPPER_READER);
        if (unsaved !== undefined) throw unsaved;
        if (batch.records.length < 100) await waits.sleep(SHIP_LINGER_MS);
        if (!healthy) events?.onRecovered?.();
        healthy = true;
        failures = 0;
      } catch (thrown) {
        healthy = false;
        failures += 1;
        events?.onShipError?.(thrown instanceof Error ? thrown : new Error(String(thrown)));
        if (stopping) return;
        await waits.sleep(Math.min(maxRetryBackoffMs, 100 * 2 ** Math.min(failures - 1, 10)) * (0.75 + Math.random() / 2));
      }
    }
  }

  return {
    kind: "kafka",

    async start(): Promise<void> {
      if (loop !== undefined) return;
      const start = await startPosition(journal.dir, await readCheckpoint(journal.dir, (problem) => logger?.warn({}, problem)));
      journal.hold(KAFKA_SHIPPER_READER, start.segment);
      cursor = createJournalCursor(
        journal.dir,
        () => journal.committed(),
        start,
        (payload) => fromBinary(AuditEventSchema, payload).sequence,
        // The shipper holds its segments: only a segment removed by hand is passed over.
        (from, to) =>
          logger?.error(
            { from: from.toString(), to: to.toString() },
            "audit records were removed from the journal before they were shipped: they are not in Kafka",
          ),
      );
      waits = createCommitWait(journal);
      loop = run(waits);
    },

    backlog: () => Number(journal.committed().sequence - (cursor?.position().sequence ?? 0n)),

    connected: () => healthy,

    async close(timeoutMs = 2000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (healthy && journal.committed().sequence > (cursor?.position().sequence ?? 0n) && Date.now() < deadline) {
        waits?.interrupt();
        await new Promise((r) => setTimeout(r, 10));
      }
      stopping = true;
      waits?.stop();
      // A produce request in flight to an absent broker is not waited for beyond the deadline.
      await Promise.race([loop, new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now()) + 100))]);
      if (producer !== undefined) await disconnect(producer);
    },
  };
}
