// Validates the envelope, finds the inquiry type, and validates and normalises the params against its
// schema (identifier checksums included). Every bad field is reported at once, by name, never by value.
import type { FieldViolation } from "../../core/errors.ts";
import { EstelamError, invalid } from "../../core/errors.ts";
import type { InquiryInterceptor } from "../chain.ts";

const PURPOSE = /^[a-z][a-z0-9-]*(\.[a-z0-9-]+)*$/;
// Printable text without control characters; end users and references end up in evidence records.
const TEXT = /^[^\p{Cc}\p{Cs}]*$/u;

function text(violations: FieldViolation[], field: string, value: string, required: boolean, max: number): void {
  if (value === "") {
    if (required) violations.push({ field, description: "is required" });
    return;
  }
  if (value.length > max) violations.push({ field, description: `must be at most ${max} characters` });
  else if (!TEXT.test(value)) violations.push({ field, description: "must not contain control characters" });
}

export function validate(): InquiryInterceptor {
  return (next) => async (ctx) => {
    const request = ctx.request;
    const violations: FieldViolation[] = [];
    if (request.inquiryType === "") violations.push({ field: "inquiry_type", description: "is required" });
    if (request.purpose === "")
      violations.push({ field: "purpose", description: "is required (a purpose code such as kyc.account-opening)" });
    else if (request.purpose.length > 100 || !PURPOSE.test(request.purpose))
      violations.push({ field: "purpose", description: "must be a purpose code such as kyc.account-opening" });
    text(violations, "end_user", request.endUser, true, 128);
    text(violations, "case_reference", request.caseReference, false, 128);
    text(violations, "client_message_id", request.clientMessageId, false, 128);
    if (violations.length > 0) throw invalid("INVALID_REQUEST", violations);

    const type = ctx.snapshot.inquiryTypes.get(request.inquiryType);
    if (type === undefined) {
      const shown = request.inquiryType.length > 100 ? `${request.inquiryType.slice(0, 100)}…` : request.inquiryType;
      throw new EstelamError("UNKNOWN_INQUIRY_TYPE", `no inquiry type '${shown}' is registered`);
    }
    ctx.inquiryType = type;
    const checked = type.params.validate(request.params);
    if (!checked.ok) throw invalid("INVALID_PARAMS", checked.violations);
    ctx.params = checked.params;
    ctx.subjects = checked.subjects;
    return next(ctx);
  };
}
