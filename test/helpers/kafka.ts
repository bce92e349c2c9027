// Kafka helpers for the integration tests: the broker of this run (test/global-setup.ts), throw-away topics,
// and reading a topic back as raw records or decoded AuditEvents.
import { randomBytes } from "node:crypto";
import { fromBinary } from "@bufbuild/protobuf";
import "../../observability/audit/kafkajs-idle-timer.ts";
import type { IResourceConfigEntry, Kafka as KafkaClient } from "kafkajs";
import kafkajs from "kafkajs";
import { inject } from "vitest";
import { type AuditEvent, AuditEventSchema } from "../../gen/estelam/audit/v1/audit_pb.js";

const { Kafka, logLevel, ConfigResourceTypes } = kafkajs;

/** The broker list of this test run. */
export function kafkaBrokers(): string[] {
  return inject("kafkaBrokers").split(",");
}

/** A kafkajs client that logs nothing and gives up quickly. */
export function testKafkaClient(clientId = "estelam-test"): KafkaClient {
  return new Kafka({
    clientId,
    brokers: kafkaBrokers(),
    logLevel: logLevel.NOTHING,
    connectionTimeout: 2000,
    requestTimeout: 10_000,
    retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1000 },
  });
}

/** A topic name no other test uses. */
export function uniqueTopicName(prefix = "test"): string {
  return `estelam.${prefix}.${Date.now().toString(36)}-${randomBytes(4).toString("hex")}`;
}

export interface CreateTestTopicOptions {
  readonly prefix?: string;
  readonly partitions?: number;
  /** Topic configs, e.g. `{ "min.insync.replicas": "2" }`. */
  readonly config?: Readonly<Record<string, string>>;
}

/** Creates a fresh topic (replication factor 1) and waits for its leaders; returns its name. */
export async function createTestTopic(options: CreateTestTopicOptions = {}): Promise<string> {
  const topic = uniqueTopicName(options.prefix);
  const configEntries: IResourceConfigEntry[] = Object.entries(options.config ?? {}).map(([name, value]) => ({ name, value }));
  const admin = testKafkaClient().admin();
  await admin.connect();
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic, numPartitions: options.partitions ?? 1, replicationFactor: 1, configEntries }],
    });
  } finally {
    await admin.disconnect();
  }
  return topic;
}

/** Changes topic configs in place (e.g. to make produce requests fail and then succeed again). */
export async function setTopicConfig(topic: string, config: Readonly<Record<string, string>>): Promise<void> {
  const admin = testKafkaClient().admin();
  await admin.connect();
  try {
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        { type: ConfigResourceTypes.TOPIC, name: topic, configEntries: Object.entries(config).map(([name, value]) => ({ name, value })) },
      ],
    });
  } finally {
    await admin.disconnect();
  }
}

/** Best-effort removal of test topics. */
export async function deleteTopics(topics: readonly string[]): Promise<void> {
  if (topics.length === 0) return;
  const admin = testKafkaClient().admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics: [...topics] }).catch(() => {});
  } finally {
    await admin.disconnect();
  }
}

/** Number of records in `topic` (sum over partitions of high watermark minus low watermark). */
export async function countMessages(topic: string): Promise<number> {
  const admin = testKafkaClient().admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, p) => sum + (Number(p.high) - Number(p.low)), 0);
  } finally {
    await admin.disconnect();
  }
}

export interface RawMessage {
  readonly partition: number;
  readonly offset: string;
  readonly key: string | null;
  readonly value: Buffer;
  /** Header values as UTF-8 strings. */
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * Reads `count` records of `topic` from the beginning with a fresh consumer group. Records come in order per
 * partition (partitions one after the other, by number). Rejects if fewer arrive within `timeoutMs`.
 */
export async function readMessages(topic: string, count: number, timeoutMs = 20_000): Promise<RawMessage[]> {
  const consumer = testKafkaClient().consumer({
    groupId: `estelam-test-reader-${randomBytes(6).toString("hex")}`,
    sessionTimeout: 10_000,
    heartbeatInterval: 1000,
    maxWaitTimeInMs: 200,
  });
  const received: RawMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`read ${received.length} of ${count} messages from ${topic} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      consumer
        .run({
          eachMessage: async ({ partition, message }) => {
            if (message.value === null) throw new Error(`null value at ${topic}/${partition}@${message.offset}`);
            const headers: Record<string, string> = {};
            for (const [name, value] of Object.entries(message.headers ?? {})) {
              if (value !== undefined) headers[name] = Array.isArray(value) ? value.map(String).join(",") : value.toString();
            }
            received.push({ partition, offset: message.offset, key: message.key?.toString() ?? null, value: message.value, headers });
            if (received.length >= count) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch((error: unknown) => {
          clearTimeout(timer);
          reject(error instanceof Error ? error : new Error(String(error)));
        });
    });
  } finally {
    await consumer.disconnect();
  }
  return received.sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)));
}

/** Decodes a record value written by the Kafka audit sink. */
export function decodeAuditEvent(value: Uint8Array): AuditEvent {
  return fromBinary(AuditEventSchema, value);
}

/** Reads `count` records and decodes them; see readMessages for ordering. */
export async function readAuditEvents(topic: string, count: number, timeoutMs?: number): Promise<AuditEvent[]> {
  return (await readMessages(topic, count, timeoutMs)).map((m) => decodeAuditEvent(m.value));
}
