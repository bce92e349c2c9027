// Failures below the agency's protocol — refused connections, resets, DNS, TLS — as catalogue errors. A TLS
// failure names the certificate problem, so an operator can tell an expired certificate from a wrong host.
import { EstelamError } from "../core/errors.ts";

const TLS_CODES = new Set([
  "CERT_HAS_EXPIRED",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_NOT_YET_VALID",
  "ERR_SSL_WRONG_VERSION_NUMBER",
  "ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED",
  "ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE",
]);

export function connectionFailure(error: unknown, agency: string): EstelamError {
  const code = (error as { code?: unknown }).code;
  const cause = (error as { cause?: { code?: unknown } }).cause;
  const detail = typeof code === "string" ? code : typeof cause?.code === "string" ? cause.code : (error as Error).message;
  if (TLS_CODES.has(detail) || /certificate|TLS|SSL/i.test((error as Error).message ?? "")) {
    return new EstelamError("AGENCY_UNAVAILABLE", `the TLS handshake with agency '${agency}' failed (${detail})`, { agency, cause: error });
  }
  return new EstelamError("AGENCY_UNAVAILABLE", `agency '${agency}' is unreachable (${detail})`, { agency, cause: error });
}
