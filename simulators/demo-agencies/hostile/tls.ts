// Certificates for the TLS faces, made at start-up (no private key is ever committed): a demo CA, a
// server certificate it signed for 127.0.0.1 and localhost, and the bad ones a connector must refuse —
// expired, issued for another host, self-signed — plus a client certificate for mutual TLS. Keys come
// from node:crypto; node-forge writes the X.509 structures (Node has no API for that). Made once per
// process: signing takes a few hundred milliseconds.
import { generateKeyPairSync, randomBytes } from "node:crypto";
import forge from "node-forge";

export interface KeyAndCertificate {
  /** PEM. */
  readonly cert: string;
  /** PEM (PKCS#1). */
  readonly key: string;
}

export interface TlsMaterial {
  /** The demo CA's certificate (PEM): trust it to reach the `valid` and `mutual` faces. */
  readonly caCertificate: string;
  /** Signed by the CA for 127.0.0.1 and localhost, valid now. */
  readonly valid: KeyAndCertificate;
  /** Signed by the CA for 127.0.0.1 and localhost, expired yesterday. */
  readonly expired: KeyAndCertificate;
  /** Signed by the CA, valid now, but for `agency.example.invalid` only. */
  readonly wrongHost: KeyAndCertificate;
  /** For 127.0.0.1 and localhost, valid now, signed by itself. */
  readonly selfSigned: KeyAndCertificate;
  /** A client certificate signed by the CA, accepted by the `mutual` face. */
  readonly client: KeyAndCertificate;
}

export const WRONG_HOST_NAME = "agency.example.invalid";
const DAY_MS = 86_400_000;

function rsaKeys(): { privateKey: forge.pki.rsa.PrivateKey; publicKey: forge.pki.rsa.PublicKey; pem: string } {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const pem = privateKey.export({ type: "pkcs1", format: "pem" }).toString();
  return {
    privateKey: forge.pki.privateKeyFromPem(pem),
    publicKey: forge.pki.publicKeyFromPem(publicKey.export({ type: "spki", format: "pem" }).toString()),
    pem,
  };
}

interface CertificateSpec {
  readonly commonName: string;
  readonly publicKey: forge.pki.rsa.PublicKey;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly issuer: { readonly commonName: string; readonly key: forge.pki.rsa.PrivateKey };
  readonly extensions: readonly object[];
}

function certificate(spec: CertificateSpec): string {
  const cert = forge.pki.createCertificate();
  cert.publicKey = spec.publicKey;
  // A positive serial: a leading 01 keeps the top bit clear.
  cert.serialNumber = `01${randomBytes(15).toString("hex")}`;
  cert.validity.notBefore = spec.notBefore;
  cert.validity.notAfter = spec.notAfter;
  cert.setSubject([
    { name: "commonName", value: spec.commonName },
    { name: "organizationName", value: "Estelam demo agencies" },
  ]);
  cert.setIssuer([
    { name: "commonName", value: spec.issuer.commonName },
    { name: "organizationName", value: "Estelam demo agencies" },
  ]);
  cert.setExtensions([...spec.extensions]);
  cert.sign(spec.issuer.key, forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}

const LOOPBACK_NAMES = {
  name: "subjectAltName",
  altNames: [
    { type: 7, ip: "127.0.0.1" },
    { type: 2, value: "localhost" },
  ],
};
const SERVER_USE = [
  { name: "basicConstraints", cA: false },
  { name: "keyUsage", digitalSignature: true, keyEncipherment: true },
  { name: "extKeyUsage", serverAuth: true },
];

function make(): TlsMaterial {
  const now = Date.now();
  const ca = rsaKeys();
  const caName = "Estelam demo agencies CA";
  const caIssuer = { commonName: caName, key: ca.privateKey };
  const caCertificate = certificate({
    commonName: caName,
    publicKey: ca.publicKey,
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + 365 * DAY_MS),
    issuer: caIssuer,
    extensions: [
      { name: "basicConstraints", cA: true, critical: true },
      { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
    ],
  });
  const leaf = rsaKeys();
  const current = { notBefore: new Date(now - DAY_MS), notAfter: new Date(now + 30 * DAY_MS) };
  const server = (commonName: string, names: object, dates: { notBefore: Date; notAfter: Date }, issuer = caIssuer): KeyAndCertificate => ({
    cert: certificate({ commonName, publicKey: leaf.publicKey, ...dates, issuer, extensions: [...SERVER_USE, names] }),
    key: leaf.pem,
  });
  return {
    caCertificate,
    valid: server("127.0.0.1", LOOPBACK_NAMES, current),
    expired: server("127.0.0.1", LOOPBACK_NAMES, { notBefore: new Date(now - 60 * DAY_MS), notAfter: new Date(now - DAY_MS) }),
    wrongHost: server(WRONG_HOST_NAME, { name: "subjectAltName", altNames: [{ type: 2, value: WRONG_HOST_NAME }] }, current),
    selfSigned: server("127.0.0.1", LOOPBACK_NAMES, current, { commonName: "127.0.0.1", key: leaf.privateKey }),
    client: {
      cert: certificate({
        commonName: "estelam-gateway",
        publicKey: leaf.publicKey,
        ...current,
        issuer: caIssuer,
        extensions: [
          { name: "basicConstraints", cA: false },
          { name: "keyUsage", digitalSignature: true, keyEncipherment: true },
          { name: "extKeyUsage", clientAuth: true },
        ],
      }),
      key: leaf.pem,
    },
  };
}

let made: TlsMaterial | undefined;

/** The certificates of this process's TLS faces (made on first use). */
export function tlsMaterial(): TlsMaterial {
  made ??= make();
  return made;
}
