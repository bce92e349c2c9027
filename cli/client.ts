// A grpc-js client for the gateway, as an agency's back end would use it: InquiryService/Inquire with
// protobuf-es (de)serialisation, and the standard grpc.health.v1.Health/Check. Failures come back as a
// tagged result whose status is decoded from the google.rpc.Status details (core/status.ts),
// never thrown, so callers branch on `ok` as they would on a grpc-js StatusOr. Used by the `estelam`
// CLI and the integration tests. Decoding is core/status.ts's; this file only reads it out of grpc-js.
import { create, fromBinary, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { Client, status as GrpcCode, Metadata, type ServiceError, type StatusObject } from "@grpc/grpc-js";
import { type DecodedStatus, decodeStatus, STATUS_DETAILS_KEY } from "../core/status.ts";
import { InquireRequestSchema, type InquireResponse, InquireResponseSchema } from "../gen/estelam/inquiry/v1/inquiry_pb.js";
import {
  HealthCheckRequestSchema,
  type HealthCheckResponse,
  HealthCheckResponse_ServingStatus,
  HealthCheckResponseSchema,
} from "../gen/grpc/health/v1/health_pb.js";
import { channelCredentials } from "./tls.ts";

/** The default deadline of a call, in milliseconds. */
export const DEFAULT_DEADLINE_MS = 10_000;

const INQUIRE_PATH = "/estelam.inquiry.v1.InquiryService/Inquire";
const HEALTH_CHECK_PATH = "/grpc.health.v1.Health/Check";
const HEALTH_WATCH_PATH = "/grpc.health.v1.Health/Watch";

export type InquireRequestInit = MessageInitShape<typeof InquireRequestSchema>;

/** A failed call: the decoded status and the raw grpc-js error. */
export interface CallFailure {
  readonly ok: false;
  readonly status: DecodedStatus;
  readonly error: ServiceError;
}

export type InquireResult = { readonly ok: true; readonly response: InquireResponse } | CallFailure;

export interface InquiryClientOptions {
  /** API key of the asking agency, sent as `authorization: Bearer <key>`. Unset: no credential is sent. */
  readonly apiKey?: string | undefined;
}

export interface InquireCallOptions {
  /** This call's API key instead of the client's; null sends no credential at all. */
  readonly apiKey?: string | null | undefined;
  /** How long the call may take; default DEFAULT_DEADLINE_MS. */
  readonly deadlineMs?: number | undefined;
  /** Aborting it cancels the call, which then ends with CANCELLED. */
  readonly signal?: AbortSignal | undefined;
}

export interface InquiryClient {
  inquire(request: InquireRequestInit, options?: InquireCallOptions): Promise<InquireResult>;
  close(): void;
}

/** One unary call over `client` with protobuf-es messages; resolves with the response or the failure. */
export function unary<Req, Res>(
  client: Client,
  path: string,
  serialize: (request: Req) => Buffer,
  deserialize: (bytes: Buffer) => Res,
  request: Req,
  metadata: Metadata,
  options: { readonly deadlineMs?: number | undefined; readonly signal?: AbortSignal | undefined },
): Promise<{ readonly ok: true; readonly response: Res } | CallFailure> {
  const deadline = Date.now() + (options.deadlineMs ?? DEFAULT_DEADLINE_MS);
  return new Promise((resolve) => {
    const { signal } = options;
    const onAbort = (): void => call.cancel();
    const call = client.makeUnaryRequest(path, serialize, deserialize, request, metadata, { deadline }, (error, response) => {
      signal?.removeEventListener("abort", onAbort);
      if (error) resolve({ ok: false, status: fromGrpcStatus(error), error });
      else resolve({ ok: true, response: response as Res });
    });
    if (signal?.aborted) call.cancel();
    else signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** A client of InquiryService at `address` (`host:port`), over one HTTP/2 channel (TLS as ESTELAM_TLS_* say). */
export function createInquiryClient(address: string, options: InquiryClientOptions = {}): InquiryClient {
  const client = new Client(address, channelCredentials());
  return {
    inquire(request, callOptions = {}) {
      const metadata = new Metadata();
      const key = callOptions.apiKey === undefined ? options.apiKey : callOptions.apiKey;
      if (key !== null && key !== undefined && key !== "") metadata.set("authorization", `Bearer ${key}`);
      return unary(
        client,
        INQUIRE_PATH,
        (message: InquireRequestInit) => Buffer.from(toBinary(InquireRequestSchema, create(InquireRequestSchema, message))),
        (bytes: Buffer) => fromBinary(InquireResponseSchema, bytes),
        request,
        metadata,
        callOptions,
      );
    },
    close: () => client.close(),
  };
}

export type ServingStatus = "SERVING" | "NOT_SERVING" | "SERVICE_UNKNOWN" | "UNKNOWN";

export type HealthResult = { readonly ok: true; readonly status: ServingStatus } | CallFailure;

export interface HealthCheckOptions {
  /** Service to ask about; "" (the default) is the gateway as a whole. */
  readonly service?: string | undefined;
  readonly deadlineMs?: number | undefined;
  readonly signal?: AbortSignal | undefined;
}

/** Asks grpc.health.v1.Health/Check of the gateway at `address`. */
export async function checkHealth(address: string, options: HealthCheckOptions = {}): Promise<HealthResult> {
  const client = new Client(address, channelCredentials());
  try {
    const result = await unary(
      client,
      HEALTH_CHECK_PATH,
      (service: string) => Buffer.from(toBinary(HealthCheckRequestSchema, create(HealthCheckRequestSchema, { service }))),
      (bytes: Buffer) => fromBinary(HealthCheckResponseSchema, bytes),
      options.service ?? "",
      new Metadata(),
      options,
    );
    if (!result.ok) return result;
    return { ok: true, status: servingStatus(result.response) };
  } finally {
    client.close();
  }
}

export interface HealthWatch {
  /** Stops watching; `ended` then resolves with CANCELLED. */
  cancel(): void;
  /** Resolves with the status the stream ended with (the gateway ends it when it shuts down). */
  readonly ended: Promise<DecodedStatus>;
}

/**
 * Follows grpc.health.v1.Health/Watch: `onStatus` gets the current status, then each change, until the
 * stream ends or `cancel()` is called.
 */
export function watchHealth(address: string, service: string, onStatus: (status: ServingStatus) => void): HealthWatch {
  const client = new Client(address, channelCredentials());
  const call = client.makeServerStreamRequest(
    HEALTH_WATCH_PATH,
    (name: string) => Buffer.from(toBinary(HealthCheckRequestSchema, create(HealthCheckRequestSchema, { service: name }))),
    (bytes: Buffer) => fromBinary(HealthCheckResponseSchema, bytes),
    service,
  );
  call.on("data", (response: HealthCheckResponse) => onStatus(servingStatus(response)));
  // Errors also arrive as the final status; listening here keeps them from being thrown.
  call.on("error", () => undefined);
  const ended = new Promise<DecodedStatus>((resolve) => {
    call.on("status", (status: StatusObject) => {
      client.close();
      resolve(fromGrpcStatus(status));
    });
  });
  return { cancel: () => call.cancel(), ended };
}

function servingStatus(response: HealthCheckResponse): ServingStatus {
  switch (response.status) {
    case HealthCheckResponse_ServingStatus.SERVING:
      return "SERVING";
    case HealthCheckResponse_ServingStatus.NOT_SERVING:
      return "NOT_SERVING";
    case HealthCheckResponse_ServingStatus.SERVICE_UNKNOWN:
      return "SERVICE_UNKNOWN";
    default:
      return "UNKNOWN";
  }
}

/** The name of a gRPC status code, e.g. 3 → INVALID_ARGUMENT. */
export function grpcCodeName(code: number): string {
  const name = (GrpcCode as unknown as Record<number, string | undefined>)[code];
  return name ?? `CODE_${code}`;
}

/** The parts of a grpc-js ServiceError (or StatusObject) that fromGrpcStatus reads. */
export interface StatusLike {
  readonly code: number;
  readonly details?: string | undefined;
  readonly metadata?: Metadata | undefined;
}

/** Decodes a status received through grpc-js. */
export function fromGrpcStatus(status: StatusLike): DecodedStatus {
  const raw = status.metadata?.get(STATUS_DETAILS_KEY)[0];
  return decodeStatus({
    code: status.code,
    message: status.details ?? "",
    details: raw instanceof Uint8Array ? raw : undefined,
    trailer(name) {
      const value = status.metadata?.get(name)[0];
      return typeof value === "string" ? value : undefined;
    },
  });
}
