// The one place where errors become gRPC statuses. Everything a handler throws passes through
// toGrpcStatus: the reason picks the code, google.rpc.Status rides in `grpc-status-details-bin`
// (ErrorInfo, BadRequest, RetryInfo), and plain ASCII trailers repeat reason/origin/agency for callers
// whose gRPC library cannot decode rich details. fromGrpcStatus is the inverse, for clients and tests.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { anyPack, anyUnpack, durationFromMs, durationMs } from "@bufbuild/protobuf/wkt";
import { Metadata } from "@grpc/grpc-js";
import {
  BadRequestSchema,
  BadRequest_FieldViolationSchema,
  ErrorInfoSchema,
  RetryInfoSchema,
} from "../../gen/google/rpc/error_details_pb.js";
import { StatusSchema } from "../../gen/google/rpc/status_pb.js";
import { EstelamError, type Code, type FieldViolation, type Origin } from "../errors.ts";

/** Domain of every google.rpc.ErrorInfo the gateway sends. */
export const ERROR_DOMAIN = "estelam.ir";

export const STATUS_DETAILS_KEY = "grpc-status-details-bin";
export const REASON_TRAILER = "estelam-reason";
export const ORIGIN_TRAILER = "estelam-origin";
export const AGENCY_TRAILER = "estelam-agency";

/** The text callers see for INTERNAL faults; the real cause stays in the gateway's logs. */
const INTERNAL_MESSAGE = "internal error";

export interface GrpcStatus {
  readonly code: number;
  readonly details: string;
  readonly metadata: Metadata;
}

/**
 * A status fixed by a standard gRPC protocol rather than by the catalogue (e.g. health Check of an
 * unknown service must be NOT_FOUND). It travels as a bare status with no Estelam details.
 */
export class ProtocolStatusError extends Error {
  override readonly name = "ProtocolStatusError";
  readonly code: Code;

  constructor(code: Code, message: string) {
    super(message);
    this.code = code;
  }
}

/** Maps anything thrown by a handler to the status sent on the wire. Never throws. */
export function toGrpcStatus(error: unknown): GrpcStatus {
  if (error instanceof ProtocolStatusError) {
    return { code: error.code, details: error.message, metadata: new Metadata() };
  }
  try {
    return richStatus(EstelamError.from(error));
  } catch {
    // Only a malformed error object gets here (e.g. a reason outside the catalogue): still answer.
    return richStatus(new EstelamError("INTERNAL", INTERNAL_MESSAGE));
  }
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

function richStatus(e: EstelamError): GrpcStatus {
  // INTERNAL hides its message and cause: they may carry stack traces, hostnames or personal data.
  const text = e.reason === "INTERNAL" ? INTERNAL_MESSAGE : e.message;
  const message = bounded(`${e.reason}: ${text}`);

  const info: Record<string, string> = { origin: e.origin };
  if (e.agency !== undefined) info.agency = e.agency;
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

  const metadata = new Metadata();
  metadata.set(STATUS_DETAILS_KEY, Buffer.from(encoded));
  metadata.set(REASON_TRAILER, e.reason);
  metadata.set(ORIGIN_TRAILER, e.origin);
  if (e.agency !== undefined) metadata.set(AGENCY_TRAILER, asciiSafe(e.agency));
  // grpc-js percent-encodes the message itself (grpc-message), so it may hold any text.
  return { code: e.code, details: message, metadata };
}

/** What a caller can learn from a failed call. */
export interface DecodedStatus {
  readonly code: number;
  readonly message: string;
  /** Catalogue reason, or undefined when the status carries none (e.g. raised by grpc-js itself). */
  readonly reason: string | undefined;
  readonly origin: Origin | undefined;
  readonly agency: string | undefined;
  readonly violations: readonly FieldViolation[];
  readonly retryAfterMs: number | undefined;
}

/** The parts of a grpc-js ServiceError (or StatusObject) that fromGrpcStatus reads. */
export interface StatusLike {
  readonly code: number;
  readonly details?: string | undefined;
  readonly metadata?: Metadata | undefined;
}

/** Decodes a status received by a client, preferring the rich details over the plain trailers. */
export function fromGrpcStatus(status: StatusLike): DecodedStatus {
  let message = status.details ?? "";
  let reason = firstString(status.metadata, REASON_TRAILER);
  let origin = toOrigin(firstString(status.metadata, ORIGIN_TRAILER));
  let agency = firstString(status.metadata, AGENCY_TRAILER);
  const violations: FieldViolation[] = [];
  let retryAfterMs: number | undefined;

  const raw = status.metadata?.get(STATUS_DETAILS_KEY)[0];
  if (raw instanceof Uint8Array) {
    try {
      const rich = fromBinary(StatusSchema, raw);
      message = rich.message;
      for (const any of rich.details) {
        const info = anyUnpack(any, ErrorInfoSchema);
        if (info) {
          reason = info.reason;
          origin = toOrigin(info.metadata.origin) ?? origin;
          agency = info.metadata.agency ?? agency;
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
  return { code: status.code, message, reason, origin, agency, violations, retryAfterMs };
}

function firstString(metadata: Metadata | undefined, key: string): string | undefined {
  const value = metadata?.get(key)[0];
  return typeof value === "string" ? value : undefined;
}

function toOrigin(value: string | undefined): Origin | undefined {
  return value === "client" || value === "gateway" || value === "agency" ? value : undefined;
}

/** Metadata values must be printable ASCII; anything else (e.g. Persian text) is percent-encoded. */
function asciiSafe(value: string): string {
  return /^[ -~]*$/.test(value) ? value : encodeURI(value);
}
