// The three demo inquiries answered through the real gRPC port by the demo agencies, each leaving exactly
// one audit event on Kafka that identifies the inquiry, the agencies and the outcome — and holds no
// identifier in clear.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_EXAMPLES } from "../../gateway/demo-examples.ts";
import { parseTrackingCode } from "../../gateway/ids.ts";
import { FaultOrigin, Outcome } from "../../gen/estelam/audit/v1/audit_pb.js";
import { Answer } from "../../gen/estelam/inquiry/v1/inquiry_pb.js";
import { createAuditEventFactory, createAuditKey } from "../../observability/audit/event.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { countMessages, decodeAuditEvent, readMessages } from "../helpers/kafka.ts";

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway();
});
afterAll(async () => {
  await t?.close();
});

const request = (index: number) => {
  const body = DEMO_EXAMPLES[index]?.body;
  if (body === undefined) throw new Error("no such example");
  return { inquiryType: body.inquiry_type, params: { ...body.params }, purpose: body.purpose, endUser: body.end_user };
};

describe("demo inquiries", () => {
  const answers: Array<{ inquiryId: string; trackingCode: string; responder: string }> = [];

  it("NOCR confirms an identity", async () => {
    const outcome = await t.client.inquire({ ...request(0), caseReference: "case-42", clientMessageId: "msg-1" });
    if (!outcome.ok) throw new Error(outcome.status.message);
    const r = outcome.response;
    expect(r.answer).toBe(Answer.FOUND);
    expect(r.responder).toBe("nocr");
    expect(r.result).toMatchObject({ match: true, alive: true, first_name: "حسین", last_name: "جلالی" });
    expect(r.inquiryId).toMatch(/^[0-9a-f-]{36}$/);
    expect(parseTrackingCode(r.trackingCode)).toBe(r.trackingCode);
    expect(Number(r.timings?.total?.seconds ?? 0n) * 1e9 + (r.timings?.total?.nanos ?? 0)).toBeGreaterThan(0);
    expect(r.timings?.upstream).toBeDefined();
    answers.push(r);
  });

  it("NOCR tells a wrong birth date from a match", async () => {
    const outcome = await t.client.inquire({ ...request(0), params: { national_code: "0012345679", birth_date: "1370/01/15" } });
    expect(outcome.ok && outcome.response.result).toMatchObject({ match: false });
    if (outcome.ok) answers.push(outcome.response);
  });

  it("Iran Post gives the address behind a postal code (Persian digits accepted)", async () => {
    const outcome = await t.client.inquire({ ...request(1), params: { postal_code: "۱۱۹۳۶۵۳۴۷۱" } });
    if (!outcome.ok) throw new Error(outcome.status.message);
    expect(outcome.response.responder).toBe("post");
    expect(outcome.response.result).toMatchObject({ province: "تهران", city: "تهران" });
    answers.push(outcome.response);
  });

  it("the Central Bank names an IBAN's bank and owner", async () => {
    const outcome = await t.client.inquire(request(2));
    if (!outcome.ok) throw new Error(outcome.status.message);
    expect(outcome.response.responder).toBe("cbi");
    expect(outcome.response.result).toMatchObject({ bank_code: "017", account_status: "active" });
    expect(typeof outcome.response.result?.owner_name).toBe("string");
    answers.push(outcome.response);
  });

  it("a refusal is audited too", async () => {
    const outcome = await t.client.inquire({ ...request(0), purpose: "marketing.campaign" });
    expect(outcome.ok).toBe(false);
  });

  it("leaves exactly one audit event per inquiry on Kafka, with ids, agencies, outcome and no clear identifiers", async () => {
    // The first record is the registry's seeding (revision 1); then one per inquiry.
    const all = await readMessages(t.topic, 6);
    expect(await countMessages(t.topic)).toBe(6);
    expect(decodeAuditEvent(all[0]?.value ?? new Uint8Array()).registryChange?.revision).toBe(1n);
    const raw = all.slice(1);
    const events = raw.map((m) => decodeAuditEvent(m.value));
    expect(events.every((e) => e.registryChange === undefined)).toBe(true);
    expect(raw.map((m) => m.key)).toEqual(events.map((e) => e.inquiryId));
    expect(raw[0]?.headers.proto).toBe("estelam.audit.v1.AuditEvent");

    for (const answer of answers) {
      const event = events.find((e) => e.inquiryId === answer.inquiryId);
      expect(event, `event for ${answer.inquiryId}`).toBeDefined();
      expect(event).toMatchObject({
        trackingCode: answer.trackingCode,
        requester: "demo-bank",
        requesterCredential: "demo-bank/dev",
        responder: answer.responder,
        outcome: Outcome.ANSWERED,
        grpcStatus: 0,
        gatewayInstance: "test-gateway",
      });
      expect(event?.requestIn).toBeDefined();
      expect(event?.requestOut).toBeDefined();
      expect(event?.responseIn).toBeDefined();
      expect(event?.responseDigest.length).toBe(32);
    }
    const first = events.find((e) => e.inquiryId === answers[0]?.inquiryId);
    expect(first).toMatchObject({
      inquiryType: "nocr.identity-match.v1",
      endpoint: "nocr/main",
      purpose: "kyc.account-opening",
      endUser: "branch-1021/teller-7",
      caseReference: "case-42",
      clientMessageId: "msg-1",
    });

    const refused = events.find((e) => e.outcome === Outcome.FAILED);
    expect(refused).toMatchObject({ faultReason: "PURPOSE_NOT_ALLOWED", faultOrigin: FaultOrigin.CLIENT, grpcStatus: 7, responder: "" });

    // Subject identifiers are keyed digests: the same national code gives the same digest (so "who looked
    // me up" works), and the clear value is nowhere in the records.
    const factory = createAuditEventFactory({ key: createAuditKey("integration-test-audit-key-0123456789"), instance: "x" });
    const digest = Buffer.from(factory.subjectDigest("national-code", "0012345679")).toString("hex");
    const identityEvents = events.filter((e) => e.inquiryType === "nocr.identity-match.v1");
    expect(identityEvents).toHaveLength(3);
    for (const e of identityEvents) expect(e.subjects.map((s) => Buffer.from(s.digest).toString("hex"))).toContain(digest);
    const everything = Buffer.concat(raw.map((m) => m.value)).toString("latin1");
    for (const clear of ["0012345679", "1193653471", "IR100170889862171595799372", "100170889862171595799372", "1348/01/31"]) {
      expect(everything).not.toContain(clear);
    }
  });
});
