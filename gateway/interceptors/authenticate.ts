// Identifies the asking agency. Dev mode: an API key sent as `authorization: Bearer <key>`; the registry
// holds only the key's SHA-256. (Client-certificate identity replaces this step later, same contract.)
import { createHash } from "node:crypto";
import { EstelamError } from "../../core/errors.ts";
import type { Credential, RegistrySnapshot } from "../../registry/catalogue.ts";
import type { InquiryInterceptor } from "../chain.ts";
import type { CallContext } from "../grpc/call-context.ts";

const BEARER = /^Bearer ([\x21-\x7e]{16,256})$/i;

/** The registered credential a call carries; throws CREDENTIAL_MISSING or CREDENTIAL_INVALID. */
export function credentialOf(call: CallContext, snapshot: RegistrySnapshot): Credential {
  const header = call.header("authorization");
  if (header === undefined || header.trim() === "") {
    throw new EstelamError("CREDENTIAL_MISSING", "no credential: send metadata `authorization: Bearer <api key>`");
  }
  const key = BEARER.exec(header.trim())?.[1];
  if (key === undefined) throw new EstelamError("CREDENTIAL_INVALID", "the authorization metadata must be `Bearer <api key>`");
  const credential = snapshot.credentialByKeySha256(createHash("sha256").update(key).digest("hex"));
  if (credential === undefined) throw new EstelamError("CREDENTIAL_INVALID", "the API key belongs to no registered agency");
  return credential;
}

export function authenticate(): InquiryInterceptor {
  return (next) => async (ctx) => {
    ctx.credential = credentialOf(ctx.call, ctx.snapshot);
    return next(ctx);
  };
}
