// Builds the evidence record of one inquiry. Identifiers and contents are never stored in clear: subject
// identifiers, the request and the answer appear as HMAC-SHA-256 digests under the deployment's audit key,
// so the trail can answer "who looked this national code up" (digest the code with the same key and
// search) while a leaked trail reveals no identifiers. Plain hashes would not do: a 10-digit national code
// is guessed from its SHA-256 in seconds.

import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createSecretKey,
  hkdfSync,
  type KeyObject,
  randomBytes,
} from "node:crypto";
import { clone, create, type JsonValue } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { Origin } from "../../core/errors.ts";
import { type AuditEvent, AuditEventSchema, FaultOrigin, Outcome } from "../../gen/estelam/audit/v1/audit_pb.js";

/** The audit key of demo mode (`npm start`): public, so never for real records. */
export const DEMO_AUDIT_KEY = "estelam-demo-audit-key-do-not-use-in-production";

export interface AuditKey {
  /** A KeyObject, made once: createHmac with a raw Buffer key costs several times more per digest. */
  readonly secret: KeyObject;
  /** The AES-256-GCM key of encrypted payloads, derived from the secret. */
  readonly payloadKey: Buffer;
  /** Short public id of the key (derived from it), recorded in each event so keys can rotate. */
  readonly id: string;
}

/** Derives the key id: the first 8 hex digits of SHA-256 over the secret, never the secret itself. */
export function createAuditKey(secret: string | Buffer): AuditKey {
  const bytes = typeof secret === "string" ? Buffer.from(secret, "utf8") : secret;
  return {
    secret: createSecretKey(bytes),
    payloadKey: Buffer.from(hkdfSync("sha256", bytes, new Uint8Array(), "estelam audit payload v1", 32)),
    id: createHash("sha256").update(bytes).digest("hex").slice(0, 8),
  };
}

/** Encrypts a record's payload (AES-256-GCM, the inquiry id as additional data). */
export function encryptPayload(key: AuditKey, inquiryId: string, plain: string): { nonce: Uint8Array; ciphertext: Uint8Array } {
  const nonce = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key.payloadKey, nonce);
  cipher.setAAD(Buffer.from(inquiryId, "utf8"));
  const ciphertext = Buffer.concat([cipher.update(plain, "utf8"), cipher.final(), cipher.getAuthTag()]);
  return { nonce: new Uint8Array(nonce), ciphertext: new Uint8Array(ciphertext) };
}

/** Decrypts a record's payload; throws when the key is wrong or the payload was altered or moved. */
export function decryptPayload(key: AuditKey, inquiryId: string, payload: { nonce: Uint8Array; ciphertext: Uint8Array }): string {
  const data = Buffer.from(payload.ciphertext);
  const decipher = createDecipheriv("aes-256-gcm", key.payloadKey, payload.nonce);
  decipher.setAAD(Buffer.from(inquiryId, "utf8"));
  decipher.setAuthTag(data.subarray(data.length - 16));
  return Buffer.concat([decipher.update(data.subarray(0, data.length - 16)), decipher.final()]).toString("utf8");
}

/** JSON with object keys sorted at every level, so equal content always digests the same. */
export function canonicalJson(value: JsonValue | undefined): string {
  if (value === undefined) return "";
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) {
    let out = "[";
    for (let i = 0; i < value.length; i++) out += (i === 0 ? "" : ",") + canonicalJson(value[i]);
    return `${out}]`;
  }
  const keys = Object.keys(value).sort();
  let out = "{";
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string;
    out += `${i === 0 ? "" : ","}${JSON.stringify(k)}:${canonicalJson(value[k])}`;
  }
  return `${out}}`;
}

/** Everything the gateway knows about one finished inquiry, in plain terms. */
export interface InquiryRecord {
  readonly inquiryId: string;
  readonly trackingCode: string;
  readonly clientMessageId: string;
  readonly inquiryType: string;
  readonly requester: string;
  readonly requesterCredential: string;
  readonly endUser: string;
  readonly caseReference: string;
  readonly purpose: string;
  readonly responder: string;
  readonly endpoint: string;
  readonly requestInMs: number;
  readonly requestOutMs: number | undefined;
  readonly responseInMs: number | undefined;
  readonly responseOutMs: number;
  /** Validated params, when validation got that far. */
  readonly params: JsonValue | undefined;
  /** What the agency answered: its result object, or its not-found / rejected message. */
  readonly answer: JsonValue | undefined;
  readonly outcome: "answered" | "not_found" | "rejected" | "failed";
  readonly faultReason: string;
  readonly faultOrigin: Origin | undefined;
  readonly grpcStatus: number;
  readonly subjects: ReadonlyArray<{ readonly param: string; readonly kind: string; readonly value: string }>;
  /** Keep the params and the answer themselves, encrypted (the inquiry type's `audit.payloads: encrypted`). */
  readonly retainPayload?: boolean;
}

/** What the caller got instead of the answer an earlier record says the gateway was about to send. */
export interface Amendment {
  /** The amending record's own id (every record's id is unique). */
  readonly inquiryId: string;
  /** When the caller was found gone. */
  readonly atMs: number;
  readonly faultReason: string;
  readonly faultOrigin: Origin;
  readonly grpcStatus: number;
}

export interface AuditEventFactory {
  build(record: InquiryRecord): AuditEvent;
  /**
   * A record that amends `original` (already written) with what the caller got: the same inquiry, outcome
   * FAILED with the amendment's fault, `amends` naming the original; no payload.
   */
  amend(original: AuditEvent, amendment: Amendment): AuditEvent;
  /** The digest a subject identifier gets in events; for "who looked me up" searches. */
  subjectDigest(kind: string, normalisedValue: string): Uint8Array;
}

const OUTCOMES = { answered: Outcome.ANSWERED, not_found: Outcome.NOT_FOUND, rejected: Outcome.REJECTED, failed: Outcome.FAILED } as const;
const ORIGINS = { client: FaultOrigin.CLIENT, gateway: FaultOrigin.GATEWAY, agency: FaultOrigin.AGENCY } as const;

export function createAuditEventFactory(options: { readonly key: AuditKey; readonly instance: string }): AuditEventFactory {
  const { key, instance } = options;
  // Each digest's input is one string (the parts joined), handed to OpenSSL in one update.
  const hmac = (text: string): Uint8Array => new Uint8Array(createHmac("sha256", key.secret).update(text).digest());
  // The kind is part of the digest so that equal digit strings of different kinds never collide.
  const subjectDigest = (kind: string, value: string): Uint8Array => hmac(`subject\u0000${kind}\u0000${value}`);
  // The answer's digest binds it to the request's: "response", NUL, the request digest, NUL, outcome, NUL, answer.
  const responseDigest = (requestDigest: Uint8Array, outcome: string, answerJson: string): Uint8Array =>
    new Uint8Array(
      createHmac("sha256", key.secret)
        .update("response\u0000")
        .update(requestDigest)
        .update(`\u0000${outcome}\u0000${answerJson}`)
        .digest(),
    );

  return {
    subjectDigest,
    amend(original, a) {
      const event = clone(AuditEventSchema, original);
      event.inquiryId = a.inquiryId;
      event.amends = original.inquiryId;
      event.responseOut = timestampFromMs(a.atMs);
      event.outcome = Outcome.FAILED;
      event.faultReason = a.faultReason;
      event.faultOrigin = ORIGINS[a.faultOrigin];
      event.grpcStatus = a.grpcStatus;
      event.payload = undefined;
      event.sequence = 0n;
      event.previousDigest = new Uint8Array();
      event.chainDigest = new Uint8Array();
      return event;
    },
    build(r) {
      const requestJson = canonicalJson(r.params);
      const answerJson = canonicalJson(r.answer);
      const requestDigest = hmac(`request\u0000${r.inquiryType}\u0000${r.purpose}\u0000${requestJson}`);
      return create(AuditEventSchema, {
        schemaVersion: 1,
        inquiryId: r.inquiryId,
        trackingCode: r.trackingCode,
        clientMessageId: r.clientMessageId,
        inquiryType: r.inquiryType,
        requester: r.requester,
        requesterCredential: r.requesterCredential,
        endUser: r.endUser,
        caseReference: r.caseReference,
        purpose: r.purpose,
        responder: r.responder,
        endpoint: r.endpoint,
        requestIn: timestampFromMs(r.requestInMs),
        requestOut: r.requestOutMs === undefined ? undefined : timestampFromMs(r.requestOutMs),
        responseIn: r.responseInMs === undefined ? undefined : timestampFromMs(r.responseInMs),
        responseOut: timestampFromMs(r.responseOutMs),
        requestSize: Buffer.byteLength(requestJson),
        responseSize: Buffer.byteLength(answerJson),
        outcome: OUTCOMES[r.outcome],
        faultReason: r.faultReason,
        faultOrigin: r.faultOrigin === undefined ? FaultOrigin.UNSPECIFIED : ORIGINS[r.faultOrigin],
        grpcStatus: r.grpcStatus,
        requestDigest,
        responseDigest: r.answer === undefined ? new Uint8Array() : responseDigest(requestDigest, r.outcome, answerJson),
        subjects: r.subjects.map((s) => ({ param: s.param, kind: s.kind, digest: subjectDigest(s.kind, s.value) })),
        gatewayInstance: instance,
        keyId: key.id,
        payload: r.retainPayload
          ? encryptPayload(key, r.inquiryId, JSON.stringify({ params: r.params ?? null, answer: r.answer ?? null }))
          : undefined,
      });
    },
  };
}
