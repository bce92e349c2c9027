// The kafka audit shipper, on a thread of its own (the gateway's default) and on the answering thread
// (ESTELAM_AUDIT_SHIPPER_THREAD=false): it delivers what the journal has made durable, in order, lets the
// journal delete what was delivered, resumes from its checkpoint after a stop, and, with the broker out of
// reach, keeps every record in the journal, says it is not connected and stops within its bound. A damaged
// checkpoint is as none (records are sent again, none lost); one that cannot be written does not keep shipped
// segments on a full disk. The thread, stopped by a checkpoint it cannot read, is reported and started again. Real journal files, a real broker, a real
// worker thread.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fromBinary } from "@bufbuild/protobuf";
import { afterEach, describe, expect, it, vi } from "vitest";
import { AuditEventSchema } from "../../gen/estelam/audit/v1/audit_pb.js";
import { createAuditKey } from "../../observability/audit/event.ts";
import { type AuditJournal, createAuditJournal } from "../../observability/audit/journal.ts";
import { listSegments } from "../../observability/audit/journal-format.ts";
import { CHECKPOINT_FILE, createKafkaShipper, readCheckpoint } from "../../observability/audit/kafka-shipper.ts";
import type { AuditShipper } from "../../observability/audit/shipper.ts";
import { createThreadedKafkaShipper } from "../../observability/audit/shipper-thread.ts";
import { sampleEvent } from "../helpers/audit-events.ts";
import { deleteTopics, kafkaBrokers, readMessages, uniqueTopicName } from "../helpers/kafka.ts";

const key = createAuditKey("thread-test-audit-key-0123456789");
const cleanups: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

/** A started journal in a new folder, and a topic name of its own; both removed after the test. */
async function freshJournal(): Promise<{ dir: string; topic: string; journal: AuditJournal }> {
  const dir = await mkdtemp(join(tmpdir(), "shipper-"));
  const topic = uniqueTopicName("shipper");
  cleanups.push(
    () => rm(dir, { recursive: true, force: true }),
    () => deleteTopics([topic]),
  );
  // Small segments, so that shipping crosses segments and releasing them shows.
  const journal = createAuditJournal({ dir, key, segmentBytes: 4096 });
  await journal.start();
  cleanups.push(() => journal.close());
  return { dir, topic, journal };
}

async function appendEvents(journal: AuditJournal, from: number, to: number): Promise<void> {
  const appends: Promise<void>[] = [];
  for (let n = from; n <= to; n++) {
    const e = sampleEvent(n);
    e.gatewayInstance = "thread-test";
    e.keyId = key.id;
    appends.push(journal.append(e));
  }
  await Promise.all(appends);
}

type Where = "its own thread" | "the answering thread";

function shipperOn(where: Where, journal: AuditJournal, topic: string, brokers = kafkaBrokers()) {
  const shipped: number[] = [];
  const errors: string[] = [];
  const warnings: string[] = [];
  const settings = { brokers, topic, partitions: 1, requestTimeoutMs: 3000, maxRetryBackoffMs: 500 };
  const events = { onShipped: (count: number) => shipped.push(count), onShipError: (error: Error) => errors.push(error.message) };
  const logger = { warn: (_: object, msg: string) => warnings.push(msg), error: (_: object, msg: string) => warnings.push(msg) };
  const shipper: AuditShipper =
    where === "its own thread"
      ? createThreadedKafkaShipper({ journal, settings, events, logger })
      : createKafkaShipper({ journal, ...settings, events, logger });
  return { shipper, shipped, errors, warnings };
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe.each<Where>(["its own thread", "the answering thread"])("the kafka audit shipper on %s", (where) => {
  it("ships every durable record to the topic in order, checkpoints it, and lets the journal delete shipped segments", async () => {
    const { dir, topic, journal } = await freshJournal();
    const { shipper, shipped, errors } = shipperOn(where, journal, topic);
    cleanups.push(() => shipper.close(0));
    await shipper.start();

    // In batches of ten, as inquiries come: one group commit each, and a new segment every few batches.
    for (let n = 1; n <= 120; n += 10) await appendEvents(journal, n, n + 9);
    await vi.waitFor(() => expect(shipper.backlog()).toBe(0), { timeout: 20_000, interval: 50 });

    const messages = await readMessages(topic, 120);
    const sequences = messages.map((m) => fromBinary(AuditEventSchema, m.value).sequence);
    expect(sequences).toEqual(Array.from({ length: 120 }, (_, i) => BigInt(i + 1)));
    expect(messages.map((m) => m.key)).toEqual(Array.from({ length: 120 }, (_, i) => `inq-${String(i + 1).padStart(5, "0")}`));
    expect(shipped.reduce((a, b) => a + b, 0)).toBe(120);
    expect(errors).toEqual([]);
    expect(shipper.connected()).toBe(true);
    expect((await readCheckpoint(dir))?.sequence).toBe(120n);
    // Delivered segments are deleted; the one being written stays.
    await vi.waitFor(
      async () => {
        const segments = await listSegments(dir);
        expect(segments).toHaveLength(1);
        expect(segments[0]?.first).toBeGreaterThan(100n);
      },
      { timeout: 5000 },
    );
  });

  it("resumes from its checkpoint after a stop: what was written meanwhile is shipped, nothing twice", async () => {
    const { topic, journal } = await freshJournal();

    const first = shipperOn(where, journal, topic);
    await first.shipper.start();
    await appendEvents(journal, 1, 30);
    await vi.waitFor(() => expect(first.shipper.backlog()).toBe(0), { timeout: 20_000, interval: 50 });
    await first.shipper.close();

    await appendEvents(journal, 31, 70); // no shipper running
    const second = shipperOn(where, journal, topic);
    cleanups.push(() => second.shipper.close(0));
    await second.shipper.start();
    expect(second.shipper.backlog()).toBe(40);
    await vi.waitFor(() => expect(second.shipper.backlog()).toBe(0), { timeout: 20_000, interval: 50 });
    expect(second.shipped.reduce((a, b) => a + b, 0)).toBe(40);

    const sequences = (await readMessages(topic, 70)).map((m) => fromBinary(AuditEventSchema, m.value).sequence);
    expect(sequences).toEqual(Array.from({ length: 70 }, (_, i) => BigInt(i + 1)));
  });

  it("treats a damaged checkpoint as none: says so, and ships again from the oldest segment, losing nothing", async () => {
    const { dir, topic, journal } = await freshJournal();
    const first = shipperOn(where, journal, topic);
    await first.shipper.start();
    await appendEvents(journal, 1, 30);
    await vi.waitFor(() => expect(first.shipper.backlog()).toBe(0), { timeout: 20_000, interval: 50 });
    await first.shipper.close();
    // Cut short, as a crash of the machine can leave a file replaced just before it.
    await writeFile(join(dir, CHECKPOINT_FILE), '{"segment":"000');
    const oldest = (await listSegments(dir))[0]?.first ?? 0n;
    expect(oldest).toBeGreaterThan(1n);

    await appendEvents(journal, 31, 40);
    const second = shipperOn(where, journal, topic);
    cleanups.push(() => second.shipper.close(0));
    await second.shipper.start();
    await vi.waitFor(() => expect(second.shipper.backlog()).toBe(0), { timeout: 20_000, interval: 50 });
    expect(second.warnings.some((w) => /checkpoint .* is damaged .* some records are sent to Kafka twice/.test(w))).toBe(true);
    expect(second.errors).toEqual([]);
    // Sent again from the oldest segment there is: 1 to 30 once, the oldest segment's records to 30 twice, 31 to 40 once.
    const resent = 30 - Number(oldest) + 1;
    const sequences = (await readMessages(topic, 40 + resent)).map((m) => fromBinary(AuditEventSchema, m.value).sequence);
    expect(new Set(sequences)).toEqual(new Set(Array.from({ length: 40 }, (_, i) => BigInt(i + 1))));
    expect(sequences).toHaveLength(40 + resent);
    expect((await readCheckpoint(dir))?.sequence).toBe(40n);
  });

  it("deletes shipped segments even when its checkpoint cannot be written (the disk that holds both is full)", async () => {
    const { dir, topic, journal } = await freshJournal();
    // The checkpoint's replacement cannot be written: its name is taken by a folder.
    await mkdir(join(dir, `${CHECKPOINT_FILE}.tmp`));
    const { shipper, errors } = shipperOn(where, journal, topic);
    cleanups.push(() => shipper.close(0));
    await shipper.start();
    for (let n = 1; n <= 120; n += 10) await appendEvents(journal, n, n + 9);
    await vi.waitFor(() => expect(shipper.backlog()).toBe(0), { timeout: 20_000, interval: 50 });
    expect(errors.some((e) => e.includes("EISDIR"))).toBe(true);
    // What Kafka has is released, so the space it took is freed although no checkpoint says so.
    await vi.waitFor(async () => expect(await listSegments(dir)).toHaveLength(1), { timeout: 5000 });
    expect(await readCheckpoint(dir)).toBeUndefined();
    const sequences = (await readMessages(topic, 120)).map((m) => fromBinary(AuditEventSchema, m.value).sequence);
    expect(sequences).toEqual(Array.from({ length: 120 }, (_, i) => BigInt(i + 1)));
  });

  it("with the broker out of reach: keeps every record, reports the failure and the backlog, and stops within its bound", async () => {
    const { dir, topic, journal } = await freshJournal();
    const { shipper, shipped, errors } = shipperOn(where, journal, topic, [`127.0.0.1:${await closedPort()}`]);
    await shipper.start();

    await appendEvents(journal, 1, 60);
    await vi.waitFor(() => expect(shipper.connected()).toBe(false), { timeout: 20_000, interval: 50 });
    expect(errors.length).toBeGreaterThan(0);
    expect(shipped).toEqual([]);
    expect(shipper.backlog()).toBe(60);
    const segments = (await listSegments(dir)).length;
    expect(segments).toBeGreaterThan(1); // nothing was released

    const started = performance.now();
    await shipper.close(500);
    // Its own bound (500 ms) plus disconnecting (at most 2 s) and the thread's exit.
    expect(performance.now() - started).toBeLessThan(3500 + 500);
    expect((await listSegments(dir)).length).toBe(segments);
    expect(await readCheckpoint(dir)).toBeUndefined();
  });
});

describe("the kafka audit shipper's own thread", () => {
  it("stops on a checkpoint it cannot read, is reported and started again, and ships everything once it can", async () => {
    const { dir, topic, journal } = await freshJournal();
    const errors: string[] = [];
    let recovered = 0;
    const shipper = createThreadedKafkaShipper({
      journal,
      settings: { brokers: kafkaBrokers(), topic, partitions: 1, requestTimeoutMs: 3000, maxRetryBackoffMs: 500 },
      events: { onShipError: (error) => errors.push(error.message), onRecovered: () => recovered++ },
      restartDelayMs: 200,
    });
    cleanups.push(() => shipper.close(0));
    await shipper.start();
    // Unreadable while the thread is still starting (a folder where the file should be): it reads the
    // checkpoint then, and cannot go on.
    await mkdir(join(dir, CHECKPOINT_FILE));

    await appendEvents(journal, 1, 10);
    await vi.waitFor(() => expect(errors.filter((e) => e.includes("thread stopped")).length).toBeGreaterThanOrEqual(2), {
      timeout: 20_000,
      interval: 50,
    });
    expect(errors[0]).toMatch(/the audit shipper's thread stopped \(.*EISDIR.*\); it starts again in 200 ms/);
    expect(shipper.connected()).toBe(false);
    expect(shipper.backlog()).toBe(10);

    await rm(join(dir, CHECKPOINT_FILE), { recursive: true });
    await vi.waitFor(() => expect(shipper.backlog()).toBe(0), { timeout: 20_000, interval: 50 });
    expect(shipper.connected()).toBe(true);
    expect(recovered).toBe(1);
    const sequences = (await readMessages(topic, 10)).map((m) => fromBinary(AuditEventSchema, m.value).sequence);
    expect(sequences).toEqual(Array.from({ length: 10 }, (_, i) => BigInt(i + 1)));
    // Each new thread loads the Kafka client anew: on a busy machine the restarts take a while.
  }, 60_000);
});
