// No answered inquiry loses its record, even when the gateway process is killed without warning while it
// answers at load: an answer leaves only after its record is synced to the local journal, and a restarted
// gateway ships what Kafka had not yet acknowledged. A crash between Kafka's acknowledgement and the
// shipper's checkpoint may send a few records twice; they are counted here, and verify sees them as copies.
import { afterAll, describe, expect, it } from "vitest";
import { DEMO_API_KEY } from "../../gateway/demo-examples.ts";
import { createAuditKey } from "../../observability/audit/event.ts";
import { verifyRecords } from "../../observability/audit/verify.ts";
import { createInquiryClient } from "../helpers/client.ts";
import { type GatewayProcess, shippingBacklog, startGatewayProcess } from "../helpers/gateway-process.ts";
import { countMessages, createTestTopic, decodeAuditEvent, kafkaBrokers, readMessages } from "../helpers/kafka.ts";

const KEY = "crash-test-audit-key-0123456789";
const processes: GatewayProcess[] = [];
afterAll(() => {
  for (const p of processes) p.child.kill("SIGKILL");
});

describe("gateway crash", () => {
  it("keeps the record of every inquiry answered before a SIGKILL at load, and ships it after the restart", async () => {
    const topic = await createTestTopic({ prefix: "crash", partitions: 3 });
    const env = {
      KAFKA_BROKERS: kafkaBrokers().join(","),
      ESTELAM_AUDIT_TOPIC: topic,
      ESTELAM_AUDIT_KEY: KEY,
      ESTELAM_INSTANCE: "crash-gateway",
    };
    const first = await startGatewayProcess(env);
    processes.push(first);
    const client = createInquiryClient(first.grpcAddress, DEMO_API_KEY);
    const answered: string[] = [];
    let stop = false;
    const worker = async (): Promise<void> => {
      while (!stop) {
        const outcome = await client.inquire(
          {
            inquiryType: "post.address-by-postcode.v1",
            params: { postal_code: "1193653471" },
            purpose: "kyc.address-verification",
            endUser: "crash-test",
          },
          { deadlineMs: 5000 },
        );
        if (outcome.ok) answered.push(outcome.response.inquiryId);
      }
    };
    const workers = Array.from({ length: 16 }, () => worker());
    await expect.poll(() => answered.length, { timeout: 30_000, interval: 20 }).toBeGreaterThanOrEqual(500);
    first.child.kill("SIGKILL");
    await new Promise((done) => first.child.once("exit", done));
    // Calls in flight at the kill fail; the caller saw no answer.
    stop = true;
    await Promise.all(workers);
    client.close();
    expect(first.stderr()).not.toMatch(/could not start/);

    // The same data folder: the journal is found, its torn end (if any) set aside, and shipping resumes.
    const second = await startGatewayProcess(env, { dataDir: first.dataDir });
    processes.push(second);
    await expect.poll(() => shippingBacklog(second.httpUrl), { timeout: 60_000, interval: 200 }).toBe(0);
    second.child.kill("SIGTERM");
    await new Promise((done) => second.child.once("exit", done));

    const messages = await readMessages(topic, await countMessages(topic), 60_000);
    const events = messages.map((m) => decodeAuditEvent(m.value));
    const recorded = new Set(events.map((e) => e.inquiryId));
    expect(answered.filter((id) => !recorded.has(id))).toEqual([]);

    // The chain on the topic is whole from the first record on; copies are counted, and rare.
    const key = createAuditKey(KEY);
    const report = verifyRecords(
      messages.map((m) => ({ where: `${topic}/${m.partition}@${m.offset}`, payload: m.value })),
      new Map([[key.id, key.secret]]),
    );
    expect(report.breaks).toEqual([]);
    expect(report.instances.get("crash-gateway")?.first).toBe(1n);
    expect(report.records).toBeGreaterThan(answered.length);
    expect(report.duplicates).toBe(events.length - recorded.size);
    console.info(`crash test: ${answered.length} answered, ${report.records} records, ${report.duplicates} sent twice`);
    // The shipper sends one batch at a time and checkpoints it once Kafka has acknowledged it, so a kill can
    // resend only the batch it was sending: the copies are one run of consecutive sequences, each sent twice.
    const copies = new Map<bigint, number>();
    for (const e of events) copies.set(e.sequence, (copies.get(e.sequence) ?? 0) + 1);
    const twice = [...copies].filter(([, n]) => n > 1);
    expect(twice.every(([, n]) => n === 2)).toBe(true);
    if (twice.length > 0) {
      const sequences = twice.map(([sequence]) => sequence).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      expect(Number((sequences.at(-1) as bigint) - (sequences[0] as bigint)) + 1).toBe(sequences.length);
    }
    expect(report.duplicates).toBeLessThan(report.records / 2);
  }, 180_000);
});
