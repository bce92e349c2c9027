// The record tells what the caller got: an answer the gateway could not deliver (a hostile answer nested too
// deep to encode, a call the caller cancelled, a deadline that passed) is recorded as the failure the caller
// saw, never as answered; and an inquiry whose agency was asked always has its record.

import { rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Code } from "../../core/errors.ts";
import { type AuditEvent, Outcome } from "../../gen/estelam/audit/v1/audit_pb.js";
import { readJournal } from "../helpers/audit-events.ts";
import { estelam } from "../helpers/cli.ts";
import { KEYS, scrapeMetrics, startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { type FreezableDisk, mountFreezableDiskForTest, mountSmallDiskForTest, type SmallDisk } from "../helpers/small-disk.ts";

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

describe("a caller that goes away while its record is being synced", () => {
  // Each write to the journal waits a second for company (ESTELAM_AUDIT_COMMIT_DELAY_MS): the window between
  // the last check that the caller is there and the record being durable, which on a fast disk lasts a
  // fraction of a millisecond, is held open long enough to go away in.
  let slow: TestGateway;
  beforeAll(async () => {
    slow = await startTestGateway({ audit: "journal", env: { ESTELAM_AUDIT_COMMIT_DELAY_MS: "1000" } });
  });
  afterAll(async () => {
    await slow?.close();
  });

  async function newRecords(before: ReadonlySet<string>, count: number): Promise<AuditEvent[]> {
    let found: AuditEvent[] = [];
    await expect
      .poll(
        async () => {
          found = (await readJournal(slow.journalDir)).filter((e) => !before.has(e.inquiryId) && e.registryChange === undefined);
          return found.length;
        },
        { timeout: 10_000 },
      )
      .toBe(count);
    return found;
  }

  it("gets an amending record saying DEADLINE_EXCEEDED, and the report and `audit show` give that outcome", async () => {
    const before = new Set((await readJournal(slow.journalDir)).map((e) => e.inquiryId));
    const asked = slow.agencies.stats().nocr.received;
    // The agency answers at once; the deadline passes during the one-second sync.
    const result = await slow.client.inquire(identity, { deadlineMs: 600 });
    expect(!result.ok && result.status.code).toBe(Code.DEADLINE_EXCEEDED);
    expect(slow.agencies.stats().nocr.received).toBe(asked + 1);

    const [original, amending] = await newRecords(before, 2);
    // The first record was written while the caller was there: it says what the gateway was about to send.
    expect(original?.outcome).toBe(Outcome.ANSWERED);
    expect(original?.amends).toBe("");
    expect(amending).toMatchObject({
      amends: original?.inquiryId,
      trackingCode: original?.trackingCode,
      outcome: Outcome.FAILED,
      faultReason: "DEADLINE_EXCEEDED",
      grpcStatus: Code.DEADLINE_EXCEEDED,
      requester: original?.requester,
      responder: original?.responder,
      sequence: (original?.sequence ?? 0n) + 1n,
      previousDigest: original?.chainDigest,
    });
    expect(amending?.inquiryId).not.toBe(original?.inquiryId);
    expect(amending?.subjects).toEqual(original?.subjects);

    // Readers give the inquiry the outcome the caller got, and list it once.
    const admin = { ESTELAM_GRPC_ADDRESS: slow.gateway.grpcAddress, ESTELAM_API_KEY: KEYS.admin };
    await expect
      .poll(async () => (await fetch(`${slow.gateway.httpUrl}/metrics`)).text(), { timeout: 10_000 })
      .toMatch(/^estelam_audit_index_lag_events 0$/m);
    const report = await estelam(["audit", "report", identity.params.national_code, "--json"], admin);
    expect(report.stderr).toBe("");
    const { accesses } = JSON.parse(report.stdout) as { accesses: Array<Record<string, string>> };
    const entries = accesses.filter((a) => a.trackingCode === original?.trackingCode);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ inquiryId: original?.inquiryId, outcome: "OUTCOME_FAILED", faultReason: "DEADLINE_EXCEEDED" });
    const show = await estelam(["audit", "show", original?.trackingCode ?? ""], admin);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain(`amends       ${original?.inquiryId}`);
    expect(show.stdout).toContain("outcome      failed DEADLINE_EXCEEDED");
  });

  it("gets an amending record saying CANCELLED when it cancels during the sync", async () => {
    const before = new Set((await readJournal(slow.journalDir)).map((e) => e.inquiryId));
    const asked = slow.agencies.stats().nocr.received;
    const controller = new AbortController();
    const pending = slow.client.inquire(identity, { signal: controller.signal });
    // Cancel once the agency has answered: the record is then on its way to disk.
    await expect.poll(() => slow.agencies.stats().nocr.received, { timeout: 5000 }).toBe(asked + 1);
    await new Promise((r) => setTimeout(r, 200));
    controller.abort();
    const result = await pending;
    expect(!result.ok && result.status.code).toBe(Code.CANCELLED);
    const [original, amending] = await newRecords(before, 2);
    expect(original?.outcome).toBe(Outcome.ANSWERED);
    expect(amending).toMatchObject({ amends: original?.inquiryId, outcome: Outcome.FAILED, faultReason: "CANCELLED" });
  });

  it("gets no amending record when the caller stays: one record per answered inquiry", async () => {
    const before = new Set((await readJournal(slow.journalDir)).map((e) => e.inquiryId));
    const result = await slow.client.inquire(identity, { deadlineMs: 5000 });
    expect(result.ok).toBe(true);
    await new Promise((r) => setTimeout(r, 1500));
    const records = await newRecords(before, 1);
    expect(records[0]).toMatchObject({ outcome: Outcome.ANSWERED, amends: "" });
  });
});

describe("a caller that goes away while its record is synced, and the journal's disk fills before the amending record", () => {
  let disk: SmallDisk | undefined;
  let full: TestGateway | undefined;
  afterEach(async () => {
    await full?.close();
    full = undefined;
    await disk?.unmount();
    disk = undefined;
  });

  /**
   * A gateway with its journal on a 1 MiB disk; a caller whose deadline passes during its record's sync; the
   * disk filled between that record and the one amending it. Checks what the caller and the operator see.
   */
  async function amendingRecordRefused(skip: (note: string) => void) {
    disk = await mountSmallDiskForTest(1024 * 1024, skip);
    // Segments of 1 KiB (the smallest) and records of over 512 bytes (long case and end-user references):
    // the amending record needs a new segment, and with it new space on the disk.
    const journalDir = join(disk.dir, "audit");
    const gateway = await startTestGateway({
      audit: "journal",
      env: { ESTELAM_AUDIT_COMMIT_DELAY_MS: "1000", ESTELAM_AUDIT_JOURNAL_DIR: journalDir, ESTELAM_AUDIT_SEGMENT_BYTES: "1024" },
    });
    full = gateway;
    const before = new Set((await readJournal(journalDir)).map((e) => e.inquiryId));
    const newRecords = async () =>
      (await readJournal(journalDir)).filter((e) => !before.has(e.inquiryId) && e.registryChange === undefined);
    const pending = gateway.client.inquire({ ...identity, caseReference: "c".repeat(128), endUser: "u".repeat(128) }, { deadlineMs: 600 });
    // The first record is on disk (the caller is gone by then); the amending one waits a second to be written.
    await expect.poll(async () => (await newRecords()).length, { timeout: 5000, interval: 20 }).toBe(1);
    const filler = await disk.fill();
    const result = await pending;
    expect(!result.ok && result.status.code).toBe(Code.DEADLINE_EXCEEDED);

    await expect
      .poll(
        async () =>
          (await scrapeMetrics(gateway.gateway)).find((m) => m.name === "estelam_audit_events_total" && m.labels.result === "not_amended")
            ?.value,
        { timeout: 5000 },
      )
      .toBe(1);
    const [original, ...rest] = await newRecords();
    expect(rest).toEqual([]);
    expect(original?.outcome).toBe(Outcome.ANSWERED);
    const line = gateway.logs.lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.audit === "not_amended");
    expect(line).toMatchObject({ inquiry_id: original?.inquiryId, level: "error" });
    expect(line?.audit_reason).toMatch(/ENOSPC/);
    // The journal cannot be written: not ready, and the next inquiry is refused before its agency is asked.
    expect((await fetch(`${gateway.gateway.httpUrl}/readyz`)).status).toBe(503);
    const asked = gateway.agencies.stats().nocr.received;
    const refused = await gateway.client.inquire(identity);
    expect(!refused.ok && refused.status.reason).toBe("AUDIT_UNAVAILABLE");
    expect(gateway.agencies.stats().nocr.received).toBe(asked);
    return { gateway, original: original as AuditEvent, filler, newRecords };
  }

  it("answers DEADLINE_EXCEEDED, logs and counts not_amended, refuses until space is freed, then writes the amending record", async (ctx) => {
    const { gateway, original, filler, newRecords } = await amendingRecordRefused((note) => ctx.skip(note));
    // Space freed: the gateway serves again by itself, and the amending record that waited is written.
    await rm(filler);
    await expect.poll(async () => (await fetch(`${gateway.gateway.httpUrl}/readyz`)).status, { timeout: 5000 }).toBe(200);
    const again = await gateway.client.inquire(identity, { deadlineMs: 5000 });
    expect(again.ok).toBe(true);
    let amending: AuditEvent | undefined;
    await expect
      .poll(
        async () => {
          amending = (await newRecords()).find((e) => e.amends === original.inquiryId);
          return amending !== undefined;
        },
        { timeout: 5000 },
      )
      .toBe(true);
    expect(amending).toMatchObject({ outcome: Outcome.FAILED, faultReason: "DEADLINE_EXCEEDED", trackingCode: original.trackingCode });
    const late = (await scrapeMetrics(gateway.gateway)).find(
      (m) => m.name === "estelam_audit_events_total" && m.labels.result === "amended_late",
    );
    expect(late?.value).toBe(1);
    expect(gateway.logs.lines.some((l) => l.includes('"audit":"amended_late"') && l.includes(original.inquiryId))).toBe(true);
  });

  it("names the inquiry whose amending record is still waiting when the gateway stops before space is freed", async (ctx) => {
    const { gateway, original, newRecords } = await amendingRecordRefused((note) => ctx.skip(note));
    await gateway.close();
    full = undefined;
    const stopLines = gateway.logs.lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.audit === "not_amended" && l.amending_id !== undefined);
    expect(stopLines).toHaveLength(1);
    expect(stopLines[0]).toMatchObject({ inquiry_id: original.inquiryId, tracking_code: original.trackingCode, level: "error" });
    expect(stopLines[0]?.msg).toMatch(/stops before/);
    // The record stands alone: nothing was written after it.
    expect((await newRecords()).map((e) => e.inquiryId)).toEqual([original.inquiryId]);
  });
});

describe("an inquiry whose record outlasts its acknowledgement time-out on a stalled disk", () => {
  let disk: FreezableDisk | undefined;
  let stalled: TestGateway | undefined;
  afterEach(async () => {
    // Thawed first, always: a frozen disk would hold the gateway's writes, and the unmount, for ever.
    await disk?.thaw();
    await stalled?.close();
    stalled = undefined;
    await disk?.unmount();
    disk = undefined;
  });

  it("withholds the answer with AUDIT_UNAVAILABLE and, once the stalled record is written after all, amends it with that", async (ctx) => {
    disk = await mountFreezableDiskForTest(16 * 1024 * 1024, (note) => ctx.skip(note));
    const journalDir = join(disk.dir, "audit");
    const gateway = await startTestGateway({
      audit: "journal",
      env: { ESTELAM_AUDIT_JOURNAL_DIR: journalDir, ESTELAM_AUDIT_ACK_TIMEOUT_MS: "500" },
    });
    stalled = gateway;
    const before = new Set((await readJournal(journalDir)).map((e) => e.inquiryId));
    const asked = gateway.agencies.stats().nocr.received;

    await disk.freeze();
    const started = performance.now();
    const result = await gateway.client.inquire(identity, { deadlineMs: 10_000 });
    expect(!result.ok && result.status.reason).toBe("AUDIT_UNAVAILABLE");
    expect(performance.now() - started).toBeLessThan(3000);
    expect(gateway.agencies.stats().nocr.received).toBe(asked + 1);
    // The write under way has outlasted the time-out: not ready, and the next inquiry is refused before its agency is asked.
    await expect.poll(async () => (await fetch(`${gateway.gateway.httpUrl}/readyz`)).status, { timeout: 3000 }).toBe(503);
    // No refusal waits on the stalled disk: its own record is queued, not awaited.
    const refusedAt = performance.now();
    const refused = await gateway.client.inquire(identity);
    expect(!refused.ok && refused.status.reason).toBe("AUDIT_UNAVAILABLE");
    expect(performance.now() - refusedAt).toBeLessThan(250);
    expect(gateway.agencies.stats().nocr.received).toBe(asked + 1);
    const refusedId = !refused.ok && refused.status.inquiryId;
    const refusedLine = () =>
      gateway.logs.lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.inquiry_id === refusedId);
    await expect.poll(refusedLine, { timeout: 3000 }).toMatchObject({ outcome: "audit_unavailable", audit: "queued" });

    await disk.thaw();
    await expect.poll(async () => (await fetch(`${gateway.gateway.httpUrl}/readyz`)).status, { timeout: 5000 }).toBe(200);
    const newRecords = async () =>
      (await readJournal(journalDir)).filter((e) => !before.has(e.inquiryId) && e.registryChange === undefined);
    let records: AuditEvent[] = [];
    await expect
      .poll(
        async () => {
          records = await newRecords();
          return records.some((e) => e.amends !== "");
        },
        { timeout: 5000 },
      )
      .toBe(true);
    // The stalled record says what the gateway was about to send; the record after it, what the caller got.
    const original = records.find((e) => e.outcome === Outcome.ANSWERED);
    expect(original).toBeDefined();
    const amending = records.filter((e) => e.amends === original?.inquiryId);
    expect(amending).toHaveLength(1);
    expect(amending[0]).toMatchObject({
      outcome: Outcome.FAILED,
      faultReason: "AUDIT_UNAVAILABLE",
      grpcStatus: Code.UNAVAILABLE,
      trackingCode: original?.trackingCode,
    });
    // The refusal asked no agency and has its own record, which says so.
    const refusedRecord = records.find((e) => e.inquiryId !== original?.inquiryId && e.amends === "");
    expect(refusedRecord).toMatchObject({ outcome: Outcome.FAILED, faultReason: "AUDIT_UNAVAILABLE" });
    expect(
      (await scrapeMetrics(gateway.gateway)).find((m) => m.name === "estelam_audit_events_total" && m.labels.result === "amended_late")
        ?.value,
    ).toBe(1);
  });
});
