// The request path, declared in one place and in order. Audit, metrics and logs observe the result of
// the whole path (gateway/inquiry-service.ts), so they see refusals as well as answers.
import type { Upstreams } from "../connectors/upstreams.ts";
import type { AuditSink } from "../observability/audit/sink.ts";
import { composeChain, type InquiryHandler } from "./chain.ts";
import { auditGate } from "./interceptors/audit-gate.ts";
import { authenticate } from "./interceptors/authenticate.ts";
import { authorize } from "./interceptors/authorize.ts";
import { validate } from "./interceptors/validate.ts";
import { createRouter } from "./router.ts";

export function createRequestPath(options: { readonly upstreams: Upstreams; readonly audit: AuditSink }): InquiryHandler {
  return composeChain(
    [
      authenticate(), // who is asking → CREDENTIAL_MISSING / CREDENTIAL_INVALID
      validate(), // envelope, inquiry type, params → INVALID_REQUEST / UNKNOWN_INQUIRY_TYPE / INVALID_PARAMS
      authorize(), // grant and purpose → ACCESS_DENIED / PURPOSE_NOT_ALLOWED
      auditGate(options.audit), // evidence can be recorded → AUDIT_UNAVAILABLE
    ],
    createRouter(options.upstreams), // route → breaker → connector
  );
}
