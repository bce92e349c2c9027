// An idle Kafka connection must not wake the event loop every millisecond (kafkajs 2.2.4's re-armed
// negative timer), and requests that have to queue behind the one in flight must still all go out.
import { createRequire } from "node:module";
import kafkajs from "kafkajs";
import { afterAll, describe, expect, it } from "vitest";
import { fixKafkajsIdleTimer } from "../../observability/audit/kafkajs-idle-timer.ts";
import { countMessages, createTestTopic, kafkaBrokers } from "../helpers/kafka.ts";

const require = createRequire(import.meta.url);
const RequestQueue = require("kafkajs/src/network/requestQueue/index.js") as { prototype: { checkPendingRequests(): void } };

const kafka = new kafkajs.Kafka({ brokers: kafkaBrokers(), logLevel: kafkajs.logLevel.NOTHING });
const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
afterAll(async () => {
  await producer.disconnect();
});

describe("kafkajs idle timer", () => {
  it("is corrected for the installed kafkajs", () => {
    expect(fixKafkajsIdleTimer()).toBe(true);
  });

  it("lets an idle connection sleep, and still sends queued requests", async () => {
    const topic = await createTestTopic({ prefix: "idle-timer" });
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: [{ value: "warm-up" }] });

    const original = RequestQueue.prototype.checkPendingRequests;
    let checks = 0;
    RequestQueue.prototype.checkPendingRequests = function counted(this: unknown) {
      checks += 1;
      original.call(this);
    };
    try {
      await new Promise((r) => setTimeout(r, 1000));
      // Unpatched, each connection checks about a thousand times a second.
      expect(checks).toBeLessThan(50);
    } finally {
      RequestQueue.prototype.checkPendingRequests = original;
    }

    // With one request in flight at a time, concurrent sends queue up and depend on the pending checks.
    await Promise.all(Array.from({ length: 200 }, (_, i) => producer.send({ topic, acks: -1, messages: [{ value: `m${i}` }] })));
    expect(await countMessages(topic)).toBe(201);
  });
});
