// When the audit trail cannot record, answers are withheld (AUDIT_UNAVAILABLE), readiness drops and no
// further agency is asked; when it recovers, the held records are delivered and answers flow again. The
// outage is real: this suite runs its own single-node broker and stops it mid-run.
import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { fromBinary } from "@bufbuild/protobuf";
import kafkajs from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkHealth, watchHealth } from "../../cli/client.ts";
import { Code } from "../../core/errors.ts";
import { startGateway } from "../../gateway/app.ts";
import { resolveConfig } from "../../gateway/config.ts";
import { type AuditEvent, AuditEventSchema, Outcome } from "../../gen/estelam/audit/v1/audit_pb.js";
import { InquiryService } from "../../gen/estelam/inquiry/v1/inquiry_pb.js";
import { createLogger } from "../../observability/logger.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { freePort } from "../helpers/gateway-process.ts";

const run = promisify(execFile);
const SCRIPT = resolve(import.meta.dirname, "../../scripts/kafka.sh");
// A broker of its own on free ports, so stopping it leaves the suite's shared broker (and any other run on
// this machine) alone.
const OWN = {
  KAFKA_PORT: String(await freePort()),
  KAFKA_CONTROLLER_PORT: String(await freePort()),
  KAFKA_STATE_DIR: ".cache/kafka-outage-test",
};
const OWN_BROKER = `127.0.0.1:${OWN.KAFKA_PORT}`;

async function broker(command: "start" | "stop" | "reset"): Promise<void> {
  await run("bash", [SCRIPT, command], { env: { ...process.env, ...OWN }, timeout: 180_000 });
}

async function readAll(topic: string, atLeast: number): Promise<AuditEvent[]> {
  const kafka = new kafkajs.Kafka({ brokers: [OWN_BROKER], logLevel: kafkajs.logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `outage-reader-${Date.now()}`, maxWaitTimeInMs: 200 });
  const events: AuditEvent[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((done, fail) => {
      const timer = setTimeout(() => fail(new Error(`read ${events.length} of ${atLeast} events`)), 30_000);
      void consumer.run({
        eachMessage: async ({ message }) => {
          if (message.value !== null) events.push(fromBinary(AuditEventSchema, message.value));
          if (events.length >= atLeast) {
            clearTimeout(timer);
            // Give a duplicate the chance to show up before we stop reading.
            setTimeout(done, 1500);
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return events;
}

const identity = {
  inquiryType: "nocr.identity-match.v1",
  params: { national_code: "0012345679", birth_date: "1348/01/31" },
  purpose: "kyc.account-opening",
  endUser: "teller-7",
};

describe("audit trail outage", () => {
  let t: TestGateway;
  beforeAll(async () => {
    await broker("reset");
    await broker("start");
    t = await startTestGateway({ env: { KAFKA_BROKERS: OWN_BROKER, ESTELAM_AUDIT_ACK_TIMEOUT_MS: "1500" } });
  }, 240_000);
  afterAll(async () => {
    await t?.close();
    await broker("stop");
  }, 120_000);

  it("withholds answers while Kafka is down, stops asking agencies, then recovers and delivers every record once", async () => {
    // gRPC health follows readiness: a probe watching the inquiry service sees the outage and the recovery.
    const watched: string[] = [];
    const watch = watchHealth(t.gateway.grpcAddress, InquiryService.typeName, (status) => watched.push(status));
    await expect.poll(() => watched).toEqual(["SERVING"]);

    const before = await t.client.inquire(identity);
    expect(before.ok).toBe(true);

    await broker("stop");
    const asked = t.agencies.stats().nocr.received;
    const during = await t.client.inquire(identity, { deadlineMs: 20_000 });
    expect(during.ok).toBe(false);
    if (!during.ok) expect(during.status).toMatchObject({ code: Code.UNAVAILABLE, reason: "AUDIT_UNAVAILABLE", origin: "gateway" });
    expect(t.agencies.stats().nocr.received).toBe(asked + 1); // asked, but the answer was not released
    const log = t.logs.parsed().find((l) => l.msg === "inquiry not recorded in the audit trail");
    expect(log).toMatchObject({ audit: "failed", outcome: "audit_unavailable" });

    await expect.poll(async () => (await fetch(`${t.gateway.httpUrl}/readyz`)).status, { timeout: 15_000 }).toBe(503);
    const body = (await (await fetch(`${t.gateway.httpUrl}/readyz`)).json()) as { checks: Record<string, string> };
    expect(body.checks.audit).toBe("not_ready");
    for (const service of ["", InquiryService.typeName]) {
      expect(await checkHealth(t.gateway.grpcAddress, { service })).toEqual({ ok: true, status: "NOT_SERVING" });
    }
    expect(watched).toEqual(["SERVING", "NOT_SERVING"]);
    const refused = await t.client.inquire(identity);
    expect(!refused.ok && refused.status.reason).toBe("AUDIT_UNAVAILABLE");
    // The refusal names its inquiry, which has its own audit record below.
    const refusedIds = refused.ok ? undefined : { inquiryId: refused.status.inquiryId, trackingCode: refused.status.trackingCode };
    expect(refusedIds?.inquiryId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/);
    expect(refusedIds?.trackingCode).toMatch(/^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/);
    expect(t.agencies.stats().nocr.received).toBe(asked + 1); // refused before any agency was asked

    await broker("start");
    await expect.poll(async () => (await fetch(`${t.gateway.httpUrl}/readyz`)).status, { timeout: 60_000, interval: 500 }).toBe(200);
    const after = await t.client.inquire(identity);
    expect(after.ok).toBe(true);
    expect(await checkHealth(t.gateway.grpcAddress, { service: InquiryService.typeName })).toEqual({ ok: true, status: "SERVING" });
    await expect.poll(() => watched).toEqual(["SERVING", "NOT_SERVING", "SERVING"]);
    watch.cancel();

    // Every inquiry has exactly one record: the answered ones, the withheld one and the refused one (beside
    // the record of the registry's first revision).
    const all = await readAll(t.topic, 5);
    expect(all.filter((e) => e.registryChange !== undefined)).toHaveLength(1);
    const events = all.filter((e) => e.registryChange === undefined);
    const ids = events.map((e) => e.inquiryId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(4);
    if (before.ok) expect(ids).toContain(before.response.inquiryId);
    if (after.ok) expect(ids).toContain(after.response.inquiryId);
    expect(events.filter((e) => e.outcome === Outcome.ANSWERED)).toHaveLength(3);
    expect(events.filter((e) => e.faultReason === "AUDIT_UNAVAILABLE")).toHaveLength(1);
    const refusedEvent = events.find((e) => e.inquiryId === refusedIds?.inquiryId);
    expect(refusedEvent).toMatchObject({
      trackingCode: refusedIds?.trackingCode,
      faultReason: "AUDIT_UNAVAILABLE",
      outcome: Outcome.FAILED,
    });
  }, 240_000);
});

describe("audit trail missing at start-up", () => {
  it("stops start-up with a message naming the audit trail", async () => {
    const config = resolveConfig({
      ESTELAM_GRPC_ADDRESS: "127.0.0.1:0",
      ESTELAM_HTTP_ADDRESS: "127.0.0.1:0",
      KAFKA_BROKERS: "127.0.0.1:1",
      ESTELAM_AUDIT_KEY: "integration-test-audit-key-0123456789",
    });
    const started = Date.now();
    await expect(startGateway({ config, logger: createLogger({ level: "silent" }), defaultMetrics: false })).rejects.toThrow(
      /audit trail \(kafka\) cannot start/,
    );
    expect(Date.now() - started).toBeLessThan(60_000);
  });
});
