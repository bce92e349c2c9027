// Audit events for the audit journal tests, the check that a refusal is the catalogue's AUDIT_UNAVAILABLE,
// and reading a journal folder back.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { create, fromBinary } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { expect } from "vitest";
import { EstelamError } from "../../core/errors.ts";
import { type AuditEvent, AuditEventSchema, FaultOrigin, Outcome } from "../../gen/estelam/audit/v1/audit_pb.js";
import { listSegments, parseRecords } from "../../observability/audit/journal-format.ts";

/** Event number `n`: a distinct, ordered inquiry id; every fifth one a failure. */
export function sampleEvent(n: number): AuditEvent {
  const failed = n % 5 === 0;
  return create(AuditEventSchema, {
    schemaVersion: 1,
    inquiryId: `inq-${String(n).padStart(5, "0")}`,
    trackingCode: `T${n}`,
    inquiryType: "nocr.identity-match.v1",
    requester: "demo-bank",
    endUser: "officer-7",
    purpose: "kyc.account-opening",
    responder: "nocr",
    requestIn: timestampFromMs(1_760_000_000_000 + n),
    outcome: failed ? Outcome.FAILED : Outcome.ANSWERED,
    faultReason: failed ? "BREAKER_OPEN" : "",
    faultOrigin: failed ? FaultOrigin.AGENCY : FaultOrigin.UNSPECIFIED,
    grpcStatus: failed ? 14 : 0,
    requestDigest: new Uint8Array([n & 0xff, (n >> 8) & 0xff, 7]),
    subjects: [{ param: "national_code", kind: "national-code", digest: new Uint8Array([9, n & 0xff]) }],
  });
}

export function expectAuditUnavailable(error: unknown): void {
  expect(error).toBeInstanceOf(EstelamError);
  expect((error as EstelamError).reason).toBe("AUDIT_UNAVAILABLE");
}

/** Every record in a journal folder, oldest first, decoded. */
export async function readJournal(dir: string): Promise<AuditEvent[]> {
  const out: AuditEvent[] = [];
  for (const segment of await listSegments(dir)) {
    for (const record of parseRecords(await readFile(join(dir, segment.name))).records)
      out.push(fromBinary(AuditEventSchema, record.payload));
  }
  return out;
}
