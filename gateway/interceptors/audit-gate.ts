// Refuses before any agency is asked when the audit trail cannot take records: no personal data is fetched
// that could not be accounted for.

import { EstelamError } from "../../core/errors.ts";
import type { AuditSink } from "../../observability/audit/sink.ts";
import type { InquiryInterceptor } from "../chain.ts";

export function auditGate(sink: AuditSink): InquiryInterceptor {
  return (next) => async (ctx) => {
    if (!sink.ready())
      throw new EstelamError("AUDIT_UNAVAILABLE", `the audit trail (${sink.kind}) is not accepting records; no agency was asked`);
    return next(ctx);
  };
}
