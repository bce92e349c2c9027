// The asking agency's client certificate, as the gateway names it: the subject in RFC 2253 form (as
// `openssl x509 -noout -subject -nameopt RFC2253` prints it, e.g. `CN=demo-bank,O=Estelam Dev`) and the
// SHA-256 fingerprint of the DER certificate in lowercase hex. Registry Credentials name certificates the
// same way. Only certificates the TLS handshake verified against the client CA ever get here.

import { X509Certificate } from "node:crypto";
import type { PeerCertificate } from "node:tls";

export interface PeerIdentity {
  readonly subject: string;
  readonly sha256Fingerprint: string;
}

/** Parsed identities by fingerprint: a busy agency's certificate is parsed once, not per call. */
const parsed = new Map<string, PeerIdentity>();
const MAX_PARSED = 1000;

export function peerIdentity(certificate: PeerCertificate | undefined | null): PeerIdentity | undefined {
  if (certificate === undefined || certificate === null || !Buffer.isBuffer(certificate.raw) || certificate.raw.length === 0)
    return undefined;
  const key = certificate.fingerprint256;
  const known = key === undefined ? undefined : parsed.get(key);
  if (known !== undefined) return known;
  const x509 = new X509Certificate(certificate.raw);
  const identity: PeerIdentity = {
    // Node lists the subject's attributes one per line, most significant first; RFC 2253 reverses them.
    subject: x509.subject.split("\n").reverse().join(","),
    sha256Fingerprint: x509.fingerprint256.replace(/:/g, "").toLowerCase(),
  };
  if (key !== undefined) {
    if (parsed.size >= MAX_PARSED) parsed.clear();
    parsed.set(key, identity);
  }
  return identity;
}
