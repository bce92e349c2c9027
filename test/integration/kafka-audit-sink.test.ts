import { createServer } from "node:net";
import { create, equals } from "@bufbuild/protobuf";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { AuditEventSchema } from "../../gen/estelam/audit/v1/audit_pb.js";
import { createKafkaAuditSink, type KafkaAuditSinkOptions } from "../../observability/audit/kafka-sink.ts";
import type { AuditSink, AuditSinkEvents } from "../../observability/audit/sink.ts";
import { expectAuditUnavailable, sampleEvent } from "../helpers/audit-events.ts";
import {
  countMessages,
  createTestTopic,
  decodeAuditEvent,
  deleteTopics,
  kafkaBrokers,
  readMessages,
  setTopicConfig,
  testKafkaClient,
  uniqueTopicName,
} from "../helpers/kafka.ts";

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A loopback port where nothing listens. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

// Topic settings under which the broker refuses, then accepts, the sink's produce requests.
const REFUSING = { "max.message.bytes": "64" };
const ACCEPTING = { "max.message.bytes": "1048588" };

const sinks: AuditSink[] = [];
const topics: string[] = [];

function sinkFor(topic: string, options: Partial<KafkaAuditSinkOptions> = {}, events?: AuditSinkEvents): AuditSink {
  const sink = createKafkaAuditSink({ brokers: kafkaBrokers(), topic, clientId: "estelam-audit-test", ...options }, events);
  sinks.push(sink);
  topics.push(topic);
  return sink;
}

afterEach(async () => {
  await Promise.all(sinks.splice(0).map((sink) => sink.close()));
});

afterAll(async () => {
  await deleteTopics(topics);
});

describe("kafka audit sink", () => {
  it("creates the topic and writes events in order, keyed by inquiry id, decoding to the same events", async () => {
    const topic = uniqueTopicName("audit");
    const sink = sinkFor(topic, { partitions: 1 });
    await sink.start();
    expect(sink.ready()).toBe(true);

    const events = Array.from({ length: 30 }, (_, i) => sampleEvent(i));
    await Promise.all(events.map((event) => sink.append(event)));
    for (const event of events.slice(0, 5).map((e) => create(AuditEventSchema, { ...e, inquiryId: `${e.inquiryId}-again` }))) {
      await sink.append(event);
      events.push(event);
    }
    expect(sink.pending()).toBe(0);

    const admin = testKafkaClient().admin();
    await admin.connect();
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] }).finally(() => admin.disconnect());
    expect(metadata.topics[0]?.partitions).toHaveLength(1);

    const messages = await readMessages(topic, events.length);
    expect(messages.map((m) => m.key)).toEqual(events.map((e) => e.inquiryId));
    for (const [i, message] of messages.entries()) {
      expect(message.headers).toEqual({ "content-type": "application/x-protobuf", proto: "estelam.audit.v1.AuditEvent" });
      expect(equals(AuditEventSchema, decodeAuditEvent(message.value), events[i]!)).toBe(true);
    }
  });

  it("takes 2000 concurrent appends in batches, and each event arrives exactly once", async () => {
    const topic = uniqueTopicName("audit-load");
    const batches: number[] = [];
    const sink = sinkFor(topic, { maxBatch: 500 }, { onWritten: (count) => batches.push(count) });
    await sink.start();

    const events = Array.from({ length: 2000 }, (_, i) => sampleEvent(i));
    await Promise.all(events.map((event) => sink.append(event)));
    expect(sink.pending()).toBe(0);
    expect(batches.reduce((a, b) => a + b, 0)).toBe(2000);
    expect(batches.length).toBeGreaterThanOrEqual(4);
    expect(batches.length).toBeLessThan(200);

    expect(await countMessages(topic)).toBe(2000);
    const messages = await readMessages(topic, 2000, 30_000);
    const keys = messages.map((m) => m.key ?? "");
    expect(new Set(keys).size).toBe(2000);
    expect([...keys].sort()).toEqual(events.map((e) => e.inquiryId));
    // The default topic has 3 partitions; within each one, events keep the order they were appended in.
    expect(new Set(messages.map((m) => m.partition)).size).toBe(3);
    for (const partition of [0, 1, 2]) {
      const inPartition = messages.filter((m) => m.partition === partition).map((m) => m.key ?? "");
      expect(inPartition).toEqual([...inPartition].sort());
    }
  });

  it("start rejects with AUDIT_UNAVAILABLE within connectTimeoutMs when no broker listens", async () => {
    const port = await closedPort();
    const sink = sinkFor(uniqueTopicName("nowhere"), { brokers: [`127.0.0.1:${port}`], connectTimeoutMs: 2000 });
    const started = performance.now();
    const error = await sink.start().catch((e: unknown) => e);
    const elapsed = performance.now() - started;
    expectAuditUnavailable(error);
    expect((error as Error).message).toContain(`127.0.0.1:${port}`);
    expect(elapsed).toBeLessThan(2500);
    expect(sink.ready()).toBe(false);
    expectAuditUnavailable(await sink.append(sampleEvent(1)).catch((e: unknown) => e));
    topics.pop();
  });

  it("start rejects when the topic is missing and createTopic is off", async () => {
    const topic = uniqueTopicName("missing");
    const sink = sinkFor(topic, { createTopic: false });
    const error = await sink.start().catch((e: unknown) => e);
    expectAuditUnavailable(error);
    expect((error as Error).message).toContain(topic);
    topics.pop();
  });

  it("refuses appends it cannot make durable within ackTimeoutMs, turns unready, and delivers them once it can", async () => {
    // A topic that takes no record batch this large: the broker refuses every produce request
    // (MESSAGE_TOO_LARGE) until the limit is raised again.
    const topic = await createTestTopic({ prefix: "audit-refused", config: REFUSING });
    const refused: string[] = [];
    const writeErrors: Error[] = [];
    const sink = sinkFor(
      topic,
      { ackTimeoutMs: 800 },
      { onRefused: (reason) => refused.push(reason), onWriteError: (error) => writeErrors.push(error) },
    );
    await sink.start();
    expect(sink.ready()).toBe(true);

    const events = [sampleEvent(1), sampleEvent(2), sampleEvent(3)];
    const started = performance.now();
    const outcomes = await Promise.all(
      events.map((event) =>
        sink.append(event).then(
          () => "recorded",
          (e: unknown) => e,
        ),
      ),
    );
    const elapsed = performance.now() - started;
    for (const outcome of outcomes) expectAuditUnavailable(outcome);
    expect(elapsed).toBeGreaterThanOrEqual(750);
    expect(elapsed).toBeLessThan(2000);
    expect(refused).toEqual(["timeout", "timeout", "timeout"]);
    expect(sink.ready()).toBe(false);
    expect(sink.pending()).toBe(3);
    await until(() => writeErrors.length > 0, 10_000);
    expect(await countMessages(topic)).toBe(0);

    await setTopicConfig(topic, ACCEPTING);
    await until(() => sink.pending() === 0, 20_000);
    expect(sink.ready()).toBe(true);
    await sink.append(sampleEvent(4));

    const messages = await readMessages(topic, 4);
    expect(messages.map((m) => m.key)).toEqual(["inq-00001", "inq-00002", "inq-00003", "inq-00004"]);
    expect(await countMessages(topic)).toBe(4);
  });

  it("refuses at once when its queue is full", async () => {
    const topic = await createTestTopic({ prefix: "audit-full", config: REFUSING });
    const refused: string[] = [];
    const sink = sinkFor(topic, { maxQueue: 5, ackTimeoutMs: 30_000 }, { onRefused: (reason) => refused.push(reason) });
    await sink.start();
    const held = Array.from({ length: 5 }, (_, i) => sink.append(sampleEvent(i)));
    for (const p of held) p.catch(() => {});
    const started = performance.now();
    const error = await sink.append(sampleEvent(5)).catch((e: unknown) => e);
    expect(performance.now() - started).toBeLessThan(100);
    expectAuditUnavailable(error);
    expect(refused).toEqual(["queue_full"]);
    expect(sink.ready()).toBe(false);

    await setTopicConfig(topic, ACCEPTING);
    await Promise.all(held);
    expect(await countMessages(topic)).toBe(5);
  });
});
