// Identifies the asking agency: by its client certificate (mutual TLS), mapped to a Credential by subject or
// SHA-256 fingerprint; or by an API key sent as `authorization: Bearer <key>`, of which the registry holds
// only the SHA-256. The gRPC edge refuses API keys before this step when the deployment forbids them.
import { hash } from "node:crypto";
import { EstelamError } from "../../core/errors.ts";
import type { Credential, RegistrySnapshot } from "../../registry/catalogue.ts";
import type { InquiryInterceptor } from "../chain.ts";
import type { CallContext } from "../grpc/call-context.ts";
import type { PeerIdentity } from "../grpc/peer-certificate.ts";

const BEARER = /^Bearer ([\x21-\x7e]{16,256})$/i;

/** What a call shows of its caller: a verified client certificate and/or an `authorization` header. */
export interface CallerEvidence {
  readonly certificate?: PeerIdentity | undefined;
  readonly authorization?: string | undefined;
}

/** The registered credential a call carries; throws CREDENTIAL_MISSING or CREDENTIAL_INVALID. */
export function credentialOf(call: CallContext, snapshot: RegistrySnapshot): Credential {
  return credentialFrom({ certificate: call.peerCertificate, authorization: call.header("authorization") }, snapshot);
}

/**
 * The registered credential of a caller: its client certificate's, when the registry maps it; else its API
 * key's (unless `apiKeys` is false). Throws CREDENTIAL_MISSING or CREDENTIAL_INVALID.
 */
export function credentialFrom(evidence: CallerEvidence, snapshot: RegistrySnapshot, apiKeys = true): Credential {
  const { certificate } = evidence;
  if (certificate !== undefined) {
    const byCertificate = snapshot.credentialByCertificate(certificate.subject, certificate.sha256Fingerprint);
    if (byCertificate !== undefined) return byCertificate;
  }
  const header = evidence.authorization;
  if (header === undefined || header.trim() === "") {
    if (certificate !== undefined)
      throw new EstelamError(
        "CREDENTIAL_INVALID",
        `the client certificate (subject ${certificate.subject}, SHA-256 ${certificate.sha256Fingerprint}) belongs to no registered agency`,
      );
    throw new EstelamError(
      "CREDENTIAL_MISSING",
      "no credential: present a registered client certificate or send `authorization: Bearer <api key>`",
    );
  }
  if (!apiKeys) throw new EstelamError("CREDENTIAL_INVALID", "this gateway accepts client certificates only; API keys are refused");
  return credentialFromAuthorization(header, snapshot);
}

/** The registered credential an `authorization` header names; throws CREDENTIAL_MISSING or CREDENTIAL_INVALID. */
export function credentialFromAuthorization(header: string | undefined, snapshot: RegistrySnapshot): Credential {
  if (header === undefined || header.trim() === "") {
    throw new EstelamError("CREDENTIAL_MISSING", "no credential: send metadata `authorization: Bearer <api key>`");
  }
  const key = BEARER.exec(header.trim())?.[1];
  if (key === undefined) throw new EstelamError("CREDENTIAL_INVALID", "the authorization metadata must be `Bearer <api key>`");
  const credential = snapshot.credentialByKeySha256(hash("sha256", key, "hex"));
  if (credential === undefined) throw new EstelamError("CREDENTIAL_INVALID", "the API key belongs to no registered agency");
  return credential;
}

export function authenticate(): InquiryInterceptor {
  return (next) => async (ctx) => {
    ctx.credential = credentialOf(ctx.call, ctx.snapshot);
    return next(ctx);
  };
}
