// The inquiry type's audit policy in the registry: `payloads: encrypted` keeps the params and the answer in
// the record, encrypted (AES-256-GCM under a key derived from the audit key), never in clear;
// `whenAuditUnavailable: answer` lets that type be answered when the journal cannot take records, while
// every other type is refused as the default policy says.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Outcome } from "../../gen/estelam/audit/v1/audit_pb.js";
import { createAuditKey, decryptPayload } from "../../observability/audit/event.ts";
import { listSegments } from "../../observability/audit/journal-format.ts";
import { readJournal } from "../helpers/audit-events.ts";
import { estelam } from "../helpers/cli.ts";
import { findDocument, KEYS, startTestGateway, type TestGateway } from "../helpers/gateway.ts";

const KEY = "integration-test-audit-key-0123456789";
const identity = {
  inquiryType: "nocr.identity-match.v1",
  params: { national_code: "0012345679", birth_date: "1348/01/31" },
  purpose: "kyc.account-opening",
  endUser: "teller-7",
};
const address = {
  inquiryType: "post.address-by-postcode.v1",
  params: { postal_code: "1193653471" },
  purpose: "kyc.address-verification",
  endUser: "teller-7",
};

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway({
    audit: "journal",
    // The journal alone, small: nothing ships it away, so it fills.
    env: { ESTELAM_AUDIT_JOURNAL_MAX_BYTES: "24576", ESTELAM_AUDIT_SEGMENT_BYTES: "8192" },
    editDocuments(documents) {
      findDocument(documents, "InquiryType", "post.address-by-postcode.v1").spec.audit = {
        payloads: "encrypted",
        whenAuditUnavailable: "answer",
      };
    },
  });
});
afterAll(async () => {
  await t?.close();
});

const admin = (): Record<string, string> => ({ ESTELAM_GRPC_ADDRESS: t.gateway.grpcAddress, ESTELAM_API_KEY: KEYS.admin });

describe("audit policy per inquiry type", () => {
  it("keeps the payload of an `encrypted` type encrypted in its record, and only digests for the others", async () => {
    const asked = await t.client.inquire(address);
    const other = await t.client.inquire(identity);
    if (!asked.ok || !other.ok) throw new Error("the inquiries were not answered");
    const events = await readJournal(t.journalDir);
    const record = events.find((e) => e.inquiryId === asked.response.inquiryId);
    expect(record?.payload?.ciphertext.length).toBeGreaterThan(16);
    expect(events.find((e) => e.inquiryId === other.response.inquiryId)?.payload).toBeUndefined();

    const key = createAuditKey(KEY);
    const plain = JSON.parse(
      decryptPayload(key, asked.response.inquiryId, record?.payload ?? { nonce: new Uint8Array(), ciphertext: new Uint8Array() }),
    );
    expect(plain.params).toEqual({ postal_code: "1193653471" });
    expect(plain.answer).toMatchObject(asked.response.result ?? {});
    // Bound to its record: under another record's id it does not decrypt.
    expect(() =>
      decryptPayload(key, other.response.inquiryId, record?.payload ?? { nonce: new Uint8Array(), ciphertext: new Uint8Array() }),
    ).toThrow();
    // An admin with the audit key reads it back through the index.
    await expect
      .poll(async () => (await estelam(["audit", "show", asked.response.trackingCode], admin())).code, { timeout: 10_000 })
      .toBe(0);
    const shown = await estelam(["audit", "show", asked.response.trackingCode, "--decrypt"], { ...admin(), ESTELAM_AUDIT_KEY: KEY });
    expect(shown.stderr).toBe("");
    expect(shown.stdout).toContain('payload      {"params":{"postal_code":"1193653471"},"answer":{');
    // Nothing in clear on disk.
    for (const segment of await listSegments(t.journalDir)) {
      const bytes = await readFile(join(t.journalDir, segment.name));
      expect(bytes.includes("1193653471")).toBe(false);
      expect(bytes.includes("0012345679")).toBe(false);
    }
  });

  it("answers a type whose policy allows it when the journal is full, and refuses the others before asking their agency", async () => {
    for (let i = 0; i < 500; i++) {
      const result = await t.client.inquire(identity);
      if (!result.ok) break;
    }
    const asked = t.agencies.stats().nocr.received;
    const refused = await t.client.inquire(identity);
    expect(!refused.ok && refused.status.reason).toBe("AUDIT_UNAVAILABLE");
    expect(t.agencies.stats().nocr.received).toBe(asked);
    expect((await fetch(`${t.gateway.httpUrl}/readyz`)).status).toBe(503);

    // Fill the reserve too, so that even the record of this answer cannot be written.
    for (let i = 0; i < 100; i++) await t.client.inquire(identity);
    const answered = await t.client.inquire(address);
    expect(answered.ok).toBe(true);
    const line = t.logs.parsed().find((l) => l.inquiry_id === (answered.ok ? answered.response.inquiryId : ""));
    expect(line).toMatchObject({ audit: "answered_without_record", inquiry_type: "post.address-by-postcode.v1" });
    expect((await readJournal(t.journalDir)).filter((e) => e.outcome === Outcome.ANSWERED && e.faultReason !== "")).toEqual([]);
  });
});
