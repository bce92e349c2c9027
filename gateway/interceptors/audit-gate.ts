// Refuses before any agency is asked when the audit trail cannot take records: no personal data is fetched
// that could not be accounted for. An inquiry type whose registry policy says `whenAuditUnavailable: answer`
// is let through (the inquiry service then answers it even if its record cannot be written, and says so in
// the log and metrics); the default policy refuses.

import { EstelamError } from "../../core/errors.ts";
import type { AuditSink } from "../../observability/audit/sink.ts";
import type { InquiryInterceptor } from "../chain.ts";

export function auditGate(sink: AuditSink): InquiryInterceptor {
  return (next) => async (ctx) => {
    if (!sink.ready() && ctx.inquiryType?.audit.whenAuditUnavailable !== "answer")
      throw new EstelamError("AUDIT_UNAVAILABLE", `the audit trail (${sink.kind}) is not accepting records; no agency was asked`);
    return next(ctx);
  };
}
