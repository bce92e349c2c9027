// The AuditService implementation: reads the audit index (observability/audit/audit-index.ts) for an admin —
// an inquiry by tracking code, and a citizen's data-access report (every inquiry about one identifier, with
// who asked, when, why and under which legal basis, and who answered). The identifier is checked like an
// inquiry's parameter and looked up by its keyed digest: neither the index nor the logs hold it in clear.
import { create } from "@bufbuild/protobuf";
import { EstelamError, invalid } from "../core/errors.ts";
import { IDENTIFIER_KINDS, isIdentifierKind } from "../core/identifiers.ts";
import {
  type FindInquiryResponse,
  FindInquiryResponseSchema,
  type SubjectReportResponse,
  SubjectReportResponseSchema,
} from "../gen/estelam/audit/v1/audit_service_pb.js";
import type { AuditIndex } from "../observability/audit/audit-index.ts";
import type { AuditEventFactory } from "../observability/audit/event.ts";
import type { Logger } from "../observability/logger.ts";
import type { Registry } from "../registry/registry.ts";
import type { CallContext } from "./grpc/call-context.ts";
import { credentialOf } from "./interceptors/authenticate.ts";

const SUBJECT_KINDS = new Set(["national-code", "legal-entity-id", "iban", "mobile", "postal-code"]);
const DEFAULT_LIMIT = 1000;
const MAX_LIMIT = 10_000;

export interface AuditServiceOptions {
  readonly registry: Registry;
  /** Undefined when the gateway keeps no index (ESTELAM_AUDIT_INDEX=false). */
  readonly index: AuditIndex | undefined;
  readonly auditEvents: AuditEventFactory;
  /** Event factories of earlier audit keys: a report looks records up under each digest. */
  readonly previousKeys?: readonly AuditEventFactory[];
  readonly logger: Logger;
}

export interface AuditServiceHandlers {
  findInquiry(request: { trackingCode: string }, call: CallContext): Promise<FindInquiryResponse>;
  subjectReport(request: { kind: string; value: string; limit: number }, call: CallContext): Promise<SubjectReportResponse>;
}

function timeOf(event: { readonly requestIn?: { readonly seconds: bigint; readonly nanos: number } | undefined }): number {
  return event.requestIn === undefined ? 0 : Number(event.requestIn.seconds) * 1000 + event.requestIn.nanos / 1e6;
}

export function createAuditService(options: AuditServiceOptions): AuditServiceHandlers {
  const { registry, index, auditEvents, logger } = options;
  const factories = [auditEvents, ...(options.previousKeys ?? [])];

  const admin = (call: CallContext): string => {
    const snapshot = registry.current();
    const credential = credentialOf(call, snapshot);
    if (credential.role !== "admin" || snapshot.agencies.get(credential.agency)?.status !== "active")
      throw new EstelamError(
        "ADMIN_REQUIRED",
        `credential '${credential.id}' is not an active admin credential; only admins read the audit index`,
      );
    return credential.id;
  };

  const available = (): AuditIndex => {
    if (index === undefined) throw new EstelamError("AUDIT_UNAVAILABLE", "this gateway keeps no audit index (ESTELAM_AUDIT_INDEX=false)");
    return index;
  };

  const failed = (error: unknown): never => {
    if (error instanceof EstelamError) throw error;
    throw new EstelamError("AUDIT_UNAVAILABLE", `the audit index cannot be read: ${(error as Error).message}`, { cause: error });
  };

  return {
    async findInquiry(request, call) {
      const by = admin(call);
      const code = request.trackingCode.replace(/[\s-]/g, "");
      if (!/^[0-9A-Za-z]{12}$/.test(code))
        throw invalid("INVALID_REQUEST", [{ field: "tracking_code", description: "must be a tracking code such as 7K3M-9QX2-4HB5" }]);
      const events = await available()
        .findByTrackingCode(code)
        .catch((error: unknown) => failed(error));
      logger.info({ audit_read: "find_inquiry", by, found: events.length }, "audit index read");
      if (events.length === 0) throw new EstelamError("INQUIRY_NOT_FOUND", `no indexed inquiry has tracking code ${request.trackingCode}`);
      return create(FindInquiryResponseSchema, { events });
    },

    async subjectReport(request, call) {
      const by = admin(call);
      const kind = request.kind === "" ? "national-code" : request.kind;
      if (!SUBJECT_KINDS.has(kind) || !isIdentifierKind(kind))
        throw invalid("INVALID_REQUEST", [{ field: "kind", description: `must be one of ${[...SUBJECT_KINDS].join(", ")}` }]);
      const parsed = IDENTIFIER_KINDS[kind](request.value);
      if (!parsed.ok) throw invalid("INVALID_PARAMS", [{ field: "value", description: parsed.problem }]);
      if (request.limit > MAX_LIMIT) throw invalid("INVALID_REQUEST", [{ field: "limit", description: `must be at most ${MAX_LIMIT}` }]);
      const limit = request.limit === 0 ? DEFAULT_LIMIT : request.limit;
      const found = await Promise.all(
        factories.map((factory) => available().subjectReport(factory.subjectDigest(kind, parsed.value), limit + 1)),
      ).catch((error: unknown) => failed(error));
      // Newest first across the keys' digests.
      const hits = found.flat().sort((a, b) => timeOf(b.event) - timeOf(a.event));
      const snapshot = registry.current();
      // The identifier is never logged: only who read a report, and how long it was.
      logger.info({ audit_read: "subject_report", by, kind, entries: Math.min(hits.length, limit) }, "audit index read");
      return create(SubjectReportResponseSchema, {
        truncated: hits.length > limit,
        accesses: hits.slice(0, limit).map(({ event, param, amendment }) => ({
          inquiryId: event.inquiryId,
          trackingCode: event.trackingCode,
          askedAt: event.requestIn,
          requester: event.requester,
          requesterCredential: event.requesterCredential,
          endUser: event.endUser,
          purpose: event.purpose,
          legalBasis: snapshot.inquiryTypes.get(event.inquiryType)?.legalBasis ?? "",
          inquiryType: event.inquiryType,
          responder: event.responder,
          // What the asking agency got: an amending record's outcome overrides the one it amends.
          outcome: (amendment ?? event).outcome,
          faultReason: (amendment ?? event).faultReason,
          param,
        })),
      });
    },
  };
}
