// Deny by default: the asking agency needs a grant for the inquiry type that lists the stated purpose.
import { EstelamError } from "../../core/errors.ts";
import type { InquiryInterceptor } from "../chain.ts";

export function authorize(): InquiryInterceptor {
  return (next) => async (ctx) => {
    const requester = ctx.credential?.agency ?? "";
    const type = ctx.inquiryType?.id ?? "";
    const grant = ctx.snapshot.grant(requester, type);
    if (grant === undefined) throw new EstelamError("ACCESS_DENIED", `agency '${requester}' holds no grant for '${type}'`);
    if (!grant.purposes.has(ctx.request.purpose)) {
      throw new EstelamError("PURPOSE_NOT_ALLOWED", `agency '${requester}' may ask '${type}' only for: ${[...grant.purposes].join(", ")}`);
    }
    return next(ctx);
  };
}
