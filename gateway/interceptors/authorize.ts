// Deny by default: the asking agency (or its sub-unit) needs a grant for the inquiry type that lists the
// stated purpose; a suspended agency asks nothing, and an admin credential changes the registry only.
import { EstelamError } from "../../core/errors.ts";
import type { Credential, Grant, RegistrySnapshot } from "../../registry/catalogue.ts";
import type { InquiryInterceptor } from "../chain.ts";

/** The grant that lets `credential` ask `inquiryType`; throws ACCESS_DENIED without one. */
export function grantFor(snapshot: RegistrySnapshot, credential: Credential, inquiryType: string): Grant {
  const requester = credential.agency;
  if (credential.role !== "agency")
    throw new EstelamError(
      "ACCESS_DENIED",
      `credential '${credential.id}' is an admin credential: it manages the registry and asks no inquiries`,
    );
  if (snapshot.agencies.get(requester)?.status === "suspended")
    throw new EstelamError("ACCESS_DENIED", `agency '${requester}' is suspended`);
  const grant = snapshot.grant(requester, credential.subUnit, inquiryType);
  if (grant === undefined) {
    const who = credential.subUnit === undefined ? `agency '${requester}'` : `agency '${requester}' (sub-unit '${credential.subUnit}')`;
    throw new EstelamError("ACCESS_DENIED", `${who} holds no grant for '${inquiryType}'`);
  }
  return grant;
}

export function authorize(): InquiryInterceptor {
  return (next) => async (ctx) => {
    const credential = ctx.credential;
    const type = ctx.inquiryType?.id ?? "";
    if (credential === undefined) throw new EstelamError("INTERNAL", "authorization reached before authentication");
    const grant = grantFor(ctx.snapshot, credential, type);
    if (!grant.purposes.has(ctx.request.purpose)) {
      throw new EstelamError(
        "PURPOSE_NOT_ALLOWED",
        `agency '${credential.agency}' may ask '${type}' only for: ${[...grant.purposes].join(", ")}`,
      );
    }
    return next(ctx);
  };
}
