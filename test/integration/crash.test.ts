// No answered inquiry loses its record, even when the gateway process is killed without warning: an
// answer leaves only after its audit event is acknowledged by Kafka.
import { afterAll, describe, expect, it } from "vitest";
import { DEMO_API_KEY } from "../../gateway/demo-examples.ts";
import { createInquiryClient } from "../helpers/client.ts";
import { type GatewayProcess, startGatewayProcess } from "../helpers/gateway-process.ts";
import { createTestTopic, kafkaBrokers, readAuditEvents } from "../helpers/kafka.ts";

let gateway: GatewayProcess | undefined;
afterAll(() => {
  gateway?.child.kill("SIGKILL");
});

describe("gateway crash", () => {
  it("keeps the audit record of every inquiry answered before a SIGKILL", async () => {
    const topic = await createTestTopic({ prefix: "crash" });
    gateway = await startGatewayProcess({
      KAFKA_BROKERS: kafkaBrokers().join(","),
      ESTELAM_AUDIT_TOPIC: topic,
      ESTELAM_AUDIT_KEY: "crash-test-audit-key-0123456789",
    });
    const { child } = gateway;
    const client = createInquiryClient(gateway.grpcAddress, DEMO_API_KEY);
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
    await expect.poll(() => answered.length, { timeout: 30_000, interval: 20 }).toBeGreaterThanOrEqual(300);
    child.kill("SIGKILL");
    await new Promise((done) => child?.once("exit", done));
    // Calls in flight at the kill fail; they were never answered, so they need no record.
    stop = true;
    await Promise.all(workers);
    client.close();
    expect(gateway.stderr()).not.toMatch(/could not start/);

    // One more record than answers: the registry's first revision, seeded at start-up.
    const events = await readAuditEvents(topic, answered.length + 1, 30_000);
    const recorded = new Set(events.map((e) => e.inquiryId));
    const missing = answered.filter((id) => !recorded.has(id));
    expect(missing).toEqual([]);
  }, 120_000);
});
