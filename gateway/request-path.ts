// The request path, declared in one place and in order. Audit, metrics and logs observe the result of
// the whole path (gateway/inquiry-service.ts), so they see refusals as well as answers.
import type { Upstreams } from "../connectors/upstreams.ts";
import type { AuditSink } from "../observability/audit/sink.ts";
import { composeChain, type InquiryHandler, type InquiryInterceptor } from "./chain.ts";
import type { FairShare } from "./fair-share.ts";
import { auditGate } from "./interceptors/audit-gate.ts";
import { authenticate } from "./interceptors/authenticate.ts";
import { authorize } from "./interceptors/authorize.ts";
import { validate } from "./interceptors/validate.ts";
import { createRouter } from "./router.ts";

export interface RequestPathOptions {
  readonly upstreams: Upstreams;
  readonly audit: AuditSink;
  /** Each asking agency's share of an endpoint's concurrency; none: first come, first served. */
  readonly fairShare?: FairShare;
  /** Extra steps after authorisation (e.g. quotas), before the audit gate. */
  readonly limits?: readonly InquiryInterceptor[];
}

export function createRequestPath(options: RequestPathOptions): InquiryHandler {
  return composeChain(
    [
      authenticate(), // who is asking → CREDENTIAL_MISSING / CREDENTIAL_INVALID
      validate(), // envelope, inquiry type, params → INVALID_REQUEST / UNKNOWN_INQUIRY_TYPE / INVALID_PARAMS
      authorize(), // grant and purpose → ACCESS_DENIED / PURPOSE_NOT_ALLOWED
      ...(options.limits ?? []), // the grant's quotas → QUOTA_EXCEEDED
      auditGate(options.audit), // evidence can be recorded → AUDIT_UNAVAILABLE
    ],
    createRouter(options.upstreams, options.fairShare), // route → fair share → breaker → connector
  );
}
