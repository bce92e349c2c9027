// The gRPC edge of the error mapping: core/status.ts decides what a failure looks like on the wire; this
// file puts it into grpc-js metadata. ProtocolStatusError is for the few statuses a standard gRPC protocol
// fixes rather than the catalogue (health Check of an unknown service must be NOT_FOUND).
import { Metadata } from "@grpc/grpc-js";
import type { Code } from "../../core/errors.ts";
import { encodeStatus, STATUS_DETAILS_KEY } from "../../core/status.ts";

export interface GrpcStatus {
  readonly code: number;
  readonly details: string;
  readonly metadata: Metadata;
}

/** A status that travels bare, with no Estelam details. */
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
  const status = encodeStatus(error);
  const metadata = new Metadata();
  metadata.set(STATUS_DETAILS_KEY, Buffer.from(status.details));
  for (const [name, value] of Object.entries(status.trailers)) metadata.set(name, value);
  // grpc-js percent-encodes the message itself (grpc-message), so it may hold any text.
  return { code: status.code, details: status.message, metadata };
}
