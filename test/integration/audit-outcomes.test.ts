// The record tells what the caller got: an answer the gateway could not deliver (a hostile answer nested too
// deep to encode, a call the caller cancelled, a deadline that passed) is recorded as the failure the caller
// saw, never as answered; and an inquiry whose agency was asked always has its record.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Code } from "../../core/errors.ts";
import { type AuditEvent, Outcome } from "../../gen/estelam/audit/v1/audit_pb.js";
import { readJournal } from "../helpers/audit-events.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";

const identity = {
  inquiryType: "nocr.identity-match.v1",
  params: { national_code: "0012345679", birth_date: "1348/01/31" },
  purpose: "kyc.account-opening",
  endUser: "teller-7",
};

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway({ audit: "journal" });
});
afterAll(async () => {
  await t?.close();
});
afterEach(async () => {
  await fault({ agency: "*", mode: "ok", latencyMs: 0 });
});

async function fault(spec: Record<string, unknown>): Promise<void> {
  const response = await fetch(`${t.agencies.url}/_control/faults`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(spec),
  });
  expect(response.status, await response.text()).toBeLessThan(300);
}

async function recordOf(inquiryId: string): Promise<AuditEvent> {
  let found: AuditEvent | undefined;
  await expect
    .poll(
      async () => {
        found = (await readJournal(t.journalDir)).find((e) => e.inquiryId === inquiryId);
        return found !== undefined;
      },
      { timeout: 5000 },
    )
    .toBe(true);
  return found as AuditEvent;
}

describe("the audit record tells what the caller got", () => {
  it("records an answer too deeply nested to pass on as the failure the caller received, though its agency was asked", async () => {
    await fault({ agency: "nocr", mode: "deep-json", depth: 20_000 });
    const asked = t.agencies.stats().nocr.received;
    const result = await t.client.inquire(identity);
    expect(t.agencies.stats().nocr.received).toBe(asked + 1);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    // Bounded while it arrives, the answer never reaches encoding: the caller is told the agency answered badly.
    expect(result.status.reason).toBe("AGENCY_BAD_RESPONSE");
    const record = await recordOf(result.status.inquiryId ?? "");
    expect(record.outcome).toBe(Outcome.FAILED);
    expect(record.faultReason).toBe(result.status.reason);
    expect(record.grpcStatus).toBe(result.status.code);
    expect(record.requestOut).toBeDefined();
  });

  it("records a call the caller cancelled while its agency was thinking as CANCELLED, not answered", async () => {
    await fault({ agency: "nocr", mode: "ok", latencyMs: 400 });
    const before = new Set((await readJournal(t.journalDir)).map((e) => e.inquiryId));
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 150);
    const result = await t.client.inquire(identity, { signal: controller.signal });
    expect(result.ok).toBe(false);
    // The caller never learns the inquiry id of a call it cancelled: find the new record.
    let record: AuditEvent | undefined;
    await expect
      .poll(
        async () => {
          record = (await readJournal(t.journalDir)).find((e) => !before.has(e.inquiryId) && e.registryChange === undefined);
          return record !== undefined;
        },
        { timeout: 5000 },
      )
      .toBe(true);
    expect(record?.outcome).toBe(Outcome.FAILED);
    expect(record?.faultReason).toBe("CANCELLED");
    expect(record?.requestOut).toBeDefined();
  });

  it("records an answer that came after the caller's deadline as DEADLINE_EXCEEDED", async () => {
    await fault({ agency: "nocr", mode: "ok", latencyMs: 300 });
    const result = await t.client.inquire(identity, { deadlineMs: 100 });
    expect(!result.ok && result.status.code).toBe(Code.DEADLINE_EXCEEDED);
    await new Promise((r) => setTimeout(r, 500));
    const records = (await readJournal(t.journalDir)).filter((e) => e.registryChange === undefined);
    const last = records.at(-1);
    expect(last?.outcome).toBe(Outcome.FAILED);
    expect(last?.faultReason).toBe("DEADLINE_EXCEEDED");
    expect(records.filter((e) => e.outcome === Outcome.ANSWERED && e.faultReason !== "")).toEqual([]);
  });
});
