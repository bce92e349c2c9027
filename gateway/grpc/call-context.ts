// What a handler knows about the call it serves. Deliberately free of grpc-js types: handlers and
// connectors depend on this interface only, and gateway/grpc/adapter.ts fills it from the grpc-js call.
import { EstelamError } from "../../core/errors.ts";
import type { PeerIdentity } from "./peer-certificate.ts";

export interface CallContext {
  /** Full method name, e.g. `estelam.inquiry.v1.InquiryService/Inquire`. */
  readonly method: string;
  /** First string value of a request metadata key (case-insensitive); binary (`-bin`) keys read as undefined. */
  header(name: string): string | undefined;
  /** Remote address, e.g. `127.0.0.1:53412`. */
  readonly peer: string;
  /** The client certificate the TLS handshake verified (mutual TLS), when there is one. */
  readonly peerCertificate?: PeerIdentity;
  /** The caller's deadline in epoch milliseconds, or undefined when the caller set none. */
  readonly deadline: number | undefined;
  /**
   * Aborted when the caller cancels or its deadline passes. The abort reason is an EstelamError
   * (CANCELLED or DEADLINE_EXCEEDED), so a handler may simply rethrow `signal.reason`.
   */
  readonly signal: AbortSignal;
  /** Adds an ASCII response header; only effective before the first response message. */
  setHeader(name: string, value: string): void;
  /** Adds an ASCII trailer, sent with the final status (on success and on error). */
  setTrailer(name: string, value: string): void;
}

/** The abort reason used when the caller cancels the call. */
export function cancelledError(): EstelamError {
  return new EstelamError("CANCELLED", "the caller cancelled the call");
}

/**
 * How close to its deadline a call's cancel is taken as the deadline passing. The caller's client cancels at
 * its own deadline, which started before ours by the request's time in transit (grpc-timeout counts from when
 * the request was sent), so under load its cancel can arrive a few milliseconds before our deadline.
 */
export const DEADLINE_SLACK_MS = 50;

/** Whether a call that ends now, without a status of ours, ended because its deadline passed. */
export function deadlinePassed(deadlineMs: number | undefined, nowMs = Date.now()): boolean {
  return deadlineMs !== undefined && Number.isFinite(deadlineMs) && nowMs >= deadlineMs - DEADLINE_SLACK_MS;
}

/** The abort reason used when the caller's deadline passes. */
export function deadlineError(): EstelamError {
  return new EstelamError("DEADLINE_EXCEEDED", "the caller's deadline passed");
}

export interface CallContextOptions {
  readonly method: string;
  /** Request metadata; keys are matched case-insensitively. */
  readonly headers?: Readonly<Record<string, string>>;
  readonly peer?: string;
  readonly peerCertificate?: PeerIdentity;
  readonly deadline?: number;
  readonly signal?: AbortSignal;
}

/** A context with its response metadata kept in memory, for handler tests that need no server. */
export interface StandaloneCallContext extends CallContext {
  readonly responseHeaders: Map<string, string>;
  readonly trailers: Map<string, string>;
}

/** Builds a CallContext without a transport, for exercising handlers directly. */
export function createCallContext(options: CallContextOptions): StandaloneCallContext {
  const headers = new Map(Object.entries(options.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  const responseHeaders = new Map<string, string>();
  const trailers = new Map<string, string>();
  return {
    method: options.method,
    header: (name) => (name.toLowerCase().endsWith("-bin") ? undefined : headers.get(name.toLowerCase())),
    peer: options.peer ?? "local",
    ...(options.peerCertificate === undefined ? {} : { peerCertificate: options.peerCertificate }),
    deadline: options.deadline,
    signal: options.signal ?? new AbortController().signal,
    setHeader: (name, value) => void responseHeaders.set(name.toLowerCase(), value),
    setTrailer: (name, value) => void trailers.set(name.toLowerCase(), value),
    responseHeaders,
    trailers,
  };
}
