// The one place where errors become gRPC statuses, and back. Free of any transport library: the gateway's
// gRPC edge (gateway/grpc/status.ts) and the command line's client (cli/client.ts) put these parts into and
// take them out of grpc-js metadata. The reason picks the code; a google.rpc.Status (ErrorInfo,
// BadRequest, RetryInfo) rides in `grpc-status-details-bin`; plain ASCII trailers repeat reason, origin,
// agency and the inquiry's ids for callers whose gRPC library cannot decode rich details.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { anyPack, anyUnpack, durationFromMs, durationMs } from "@bufbuild/protobuf/wkt";
import { BadRequest_FieldViolationSchema, BadRequestSchema, ErrorInfoSchema, RetryInfoSchema } from "../gen/google/rpc/error_details_pb.js";
import { StatusSchema } from "../gen/google/rpc/status_pb.js";
import { EstelamError, type FieldViolation, type Origin } from "./errors.ts";

/** Domain of every google.rpc.ErrorInfo the gateway sends. */
export const ERROR_DOMAIN = "estelam.ir";

export const STATUS_DETAILS_KEY = "grpc-status-details-bin";
export const REASON_TRAILER = "estelam-reason";
export const ORIGIN_TRAILER = "estelam-origin";
export const AGENCY_TRAILER = "estelam-agency";
export const INQUIRY_ID_TRAILER = "estelam-inquiry-id";
export const TRACKING_CODE_TRAILER = "estelam-tracking-code";

/** The text callers see for INTERNAL faults; the real cause stays in the gateway's logs. */
const INTERNAL_MESSAGE = "internal error";

/** A status ready for any gRPC transport. */
export interface EncodedStatus {
  readonly code: number;
  /** The `grpc-message` text. */
  readonly message: string;
  /** The encoded google.rpc.Status for the `grpc-status-details-bin` trailer. */
  readonly details: Uint8Array;
  /** Plain ASCII trailers (`estelam-reason`, ...). */
  readonly trailers: Readonly<Record<string, string>>;
}

/**
 * Upper bounds on what a status puts in trailers. HTTP/2 peers limit header lists (grpc-js and most clients
 * to 8–16 KiB), and an oversized trailer is a protocol error that tears down the caller's whole connection.
 */
const MAX_MESSAGE_CHARS = 1024;
const MAX_DETAILS_BYTES = 4096;

function bounded(text: string): string {
  return text.length <= MAX_MESSAGE_CHARS ? text : `${text.slice(0, MAX_MESSAGE_CHARS - 1)}…`;
}

/** Metadata values must be printable ASCII; anything else (e.g. Persian text) is percent-encoded. */
function asciiSafe(value: string): string {
  return /^[ -~]*$/.test(value) ? value : encodeURI(value);
}

/** Maps anything thrown to the status sent on the wire. Never throws. */
export function encodeStatus(error: unknown): EncodedStatus {
  try {
    return encode(EstelamError.from(error));
  } catch {
    // Only a malformed error object gets here (e.g. a reason outside the catalogue): still answer.
    return encode(new EstelamError("INTERNAL", INTERNAL_MESSAGE));
  }
}

function encode(e: EstelamError): EncodedStatus {
  // INTERNAL hides its message and cause: they may carry stack traces, hostnames or personal data.
  const text = e.reason === "INTERNAL" ? INTERNAL_MESSAGE : e.message;
  const message = bounded(`${e.reason}: ${text}`);

  const info: Record<string, string> = { origin: e.origin };
  if (e.agency !== undefined) info.agency = e.agency;
  if (e.inquiry !== undefined) {
    info.inquiry_id = e.inquiry.inquiryId;
    info.tracking_code = e.inquiry.trackingCode;
  }
  const details = [anyPack(ErrorInfoSchema, create(ErrorInfoSchema, { reason: e.reason, domain: ERROR_DOMAIN, metadata: info }))];
  if (e.violations.length > 0) {
    const fieldViolations = e.violations.map((v) =>
      create(BadRequest_FieldViolationSchema, { field: v.field, description: v.description }),
    );
    details.push(anyPack(BadRequestSchema, create(BadRequestSchema, { fieldViolations })));
  }
  if (e.retryAfterMs !== undefined && Number.isFinite(e.retryAfterMs) && e.retryAfterMs >= 0) {
    details.push(anyPack(RetryInfoSchema, create(RetryInfoSchema, { retryDelay: durationFromMs(Math.round(e.retryAfterMs)) })));
  }
  let encoded = toBinary(StatusSchema, create(StatusSchema, { code: e.code, message, details }));
  // Still too large (long field names, say): keep ErrorInfo and RetryInfo, drop the field list.
  if (encoded.length > MAX_DETAILS_BYTES) {
    const slim = details.filter((d) => d.typeUrl !== `type.googleapis.com/${BadRequestSchema.typeName}`);
    encoded = toBinary(StatusSchema, create(StatusSchema, { code: e.code, message, details: slim }));
  }

  const trailers: Record<string, string> = { [REASON_TRAILER]: e.reason, [ORIGIN_TRAILER]: e.origin };
  if (e.agency !== undefined) trailers[AGENCY_TRAILER] = asciiSafe(e.agency);
  if (e.inquiry !== undefined) {
    trailers[INQUIRY_ID_TRAILER] = asciiSafe(e.inquiry.inquiryId);
    trailers[TRACKING_CODE_TRAILER] = asciiSafe(e.inquiry.trackingCode);
  }
  return { code: e.code, message, details: encoded, trailers };
}

/** What a caller can learn from a failed call. */
export interface DecodedStatus {
  readonly code: number;
  readonly message: string;
  /** Catalogue reason, or undefined when the status carries none (e.g. raised by the gRPC library itself). */
  readonly reason: string | undefined;
  readonly origin: Origin | undefined;
  readonly agency: string | undefined;
  readonly inquiryId: string | undefined;
  readonly trackingCode: string | undefined;
  readonly violations: readonly FieldViolation[];
  readonly retryAfterMs: number | undefined;
}

/** A received status, as any gRPC client library exposes it. */
export interface ReceivedStatus {
  readonly code: number;
  readonly message: string;
  /** The `grpc-status-details-bin` bytes, if the status carried them. */
  readonly details: Uint8Array | undefined;
  /** The first value of a plain trailer. */
  trailer(name: string): string | undefined;
}

/** Decodes a received status, preferring the rich details over the plain trailers. */
export function decodeStatus(status: ReceivedStatus): DecodedStatus {
  let message = status.message;
  let reason = status.trailer(REASON_TRAILER);
  let origin = toOrigin(status.trailer(ORIGIN_TRAILER));
  let agency = status.trailer(AGENCY_TRAILER);
  let inquiryId = status.trailer(INQUIRY_ID_TRAILER);
  let trackingCode = status.trailer(TRACKING_CODE_TRAILER);
  const violations: FieldViolation[] = [];
  let retryAfterMs: number | undefined;

  if (status.details !== undefined) {
    try {
      const rich = fromBinary(StatusSchema, status.details);
      message = rich.message;
      for (const any of rich.details) {
        const info = anyUnpack(any, ErrorInfoSchema);
        if (info) {
          reason = info.reason;
          origin = toOrigin(info.metadata.origin) ?? origin;
          agency = info.metadata.agency ?? agency;
          inquiryId = info.metadata.inquiry_id ?? inquiryId;
          trackingCode = info.metadata.tracking_code ?? trackingCode;
          continue;
        }
        const bad = anyUnpack(any, BadRequestSchema);
        if (bad) {
          for (const v of bad.fieldViolations) violations.push({ field: v.field, description: v.description });
          continue;
        }
        const retry = anyUnpack(any, RetryInfoSchema);
        if (retry?.retryDelay) retryAfterMs = durationMs(retry.retryDelay);
      }
    } catch {
      // Undecodable details: fall back to the plain status and trailers.
    }
  }
  return { code: status.code, message, reason, origin, agency, inquiryId, trackingCode, violations, retryAfterMs };
}

function toOrigin(value: string | undefined): Origin | undefined {
  return value === "client" || value === "gateway" || value === "agency" ? value : undefined;
}
