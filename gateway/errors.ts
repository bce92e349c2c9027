// The one error catalogue of Estelam. Every failure the gateway reports has a reason from this closed set;
// each reason has exactly one gRPC status and one origin (who is at fault). The wire mapping lives in
// gateway/grpc/status.ts; docs/errors.md and the README list exactly these reasons (a test checks it).
//
// A business answer of an agency ("not found", "rejected") is NOT an error: it travels in the response.

/** gRPC status codes (numbering of grpc/status.h), the subset the catalogue uses plus OK. */
export const Code = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;
export type Code = (typeof Code)[keyof typeof Code];

/** Who caused a failure: the caller, the gateway itself, or the responding agency. */
export type Origin = "client" | "gateway" | "agency";

export interface ReasonSpec {
  readonly code: Code;
  readonly origin: Origin;
  /** Whether the same request may succeed if retried later. */
  readonly retryable: boolean;
  /** One line for docs and operators. */
  readonly summary: string;
}

export const REASONS = {
  CREDENTIAL_MISSING: {
    code: Code.UNAUTHENTICATED, origin: "client", retryable: false,
    summary: "The call carries no `authorization: Bearer <key>` credential.",
  },
  CREDENTIAL_INVALID: {
    code: Code.UNAUTHENTICATED, origin: "client", retryable: false,
    summary: "The credential is malformed or belongs to no registered agency.",
  },
  INVALID_REQUEST: {
    code: Code.INVALID_ARGUMENT, origin: "client", retryable: false,
    summary: "The request envelope is invalid (e.g. missing purpose or end user); the field is named.",
  },
  INVALID_PARAMS: {
    code: Code.INVALID_ARGUMENT, origin: "client", retryable: false,
    summary: "The params do not match the inquiry type's schema or fail an identifier checksum; the field is named.",
  },
  UNKNOWN_INQUIRY_TYPE: {
    code: Code.NOT_FOUND, origin: "client", retryable: false,
    summary: "No inquiry type with this id is registered.",
  },
  ACCESS_DENIED: {
    code: Code.PERMISSION_DENIED, origin: "client", retryable: false,
    summary: "The asking agency holds no grant for this inquiry type.",
  },
  PURPOSE_NOT_ALLOWED: {
    code: Code.PERMISSION_DENIED, origin: "client", retryable: false,
    summary: "The asking agency's grant does not cover the stated purpose.",
  },
  NO_ROUTE: {
    code: Code.UNIMPLEMENTED, origin: "gateway", retryable: false,
    summary: "The inquiry type is registered but no agency answers it online yet (no connector binding).",
  },
  AGENCY_UNAVAILABLE: {
    code: Code.UNAVAILABLE, origin: "agency", retryable: true,
    summary: "The responding agency could not be reached or answered with a server error; the agency is named.",
  },
  AGENCY_BAD_RESPONSE: {
    code: Code.UNAVAILABLE, origin: "agency", retryable: true,
    summary: "The responding agency answered something the connector could not understand; the agency is named.",
  },
  AGENCY_SATURATED: {
    code: Code.RESOURCE_EXHAUSTED, origin: "agency", retryable: true,
    summary: "Too many inquiries are already in flight to the responding agency; the agency is named.",
  },
  BREAKER_OPEN: {
    code: Code.UNAVAILABLE, origin: "agency", retryable: true,
    summary: "The circuit breaker for the agency's endpoint is open after recent failures; the call failed fast.",
  },
  DEADLINE_EXCEEDED: {
    code: Code.DEADLINE_EXCEEDED, origin: "agency", retryable: true,
    summary: "The caller's deadline or the inquiry type's timeout passed before the agency answered.",
  },
  CANCELLED: {
    code: Code.CANCELLED, origin: "client", retryable: false,
    summary: "The caller cancelled the call.",
  },
  AUDIT_UNAVAILABLE: {
    code: Code.UNAVAILABLE, origin: "gateway", retryable: true,
    summary: "The audit trail could not record the inquiry, so no answer is released.",
  },
  INTERNAL: {
    code: Code.INTERNAL, origin: "gateway", retryable: false,
    summary: "An unexpected fault inside the gateway.",
  },
} as const satisfies Record<string, ReasonSpec>;

export type Reason = keyof typeof REASONS;
export const ALL_REASONS = Object.keys(REASONS) as readonly Reason[];

/** A field-level problem with the request, reported as a google.rpc.BadRequest violation. */
export interface FieldViolation {
  readonly field: string;
  readonly description: string;
}

export interface EstelamErrorOptions {
  /** Agency concerned (the responder for agency faults). */
  readonly agency?: string;
  /** Field violations for INVALID_REQUEST / INVALID_PARAMS. */
  readonly violations?: readonly FieldViolation[];
  /** Hint for the caller when to retry, in milliseconds. */
  readonly retryAfterMs?: number;
  readonly cause?: unknown;
}

/** The one error type of the gateway. Anything else caught is normalised with `EstelamError.from`. */
export class EstelamError extends Error {
  override readonly name = "EstelamError";
  readonly reason: Reason;
  readonly agency: string | undefined;
  readonly violations: readonly FieldViolation[];
  readonly retryAfterMs: number | undefined;

  constructor(reason: Reason, message: string, options: EstelamErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.reason = reason;
    this.agency = options.agency;
    this.violations = options.violations ?? [];
    this.retryAfterMs = options.retryAfterMs;
  }

  get code(): Code {
    return REASONS[this.reason].code;
  }

  get origin(): Origin {
    return REASONS[this.reason].origin;
  }

  /** Normalises anything thrown into an EstelamError (unknown faults become INTERNAL). */
  static from(thrown: unknown): EstelamError {
    if (thrown instanceof EstelamError) return thrown;
    const message = thrown instanceof Error ? thrown.message : String(thrown);
    return new EstelamError("INTERNAL", `internal error: ${message}`, { cause: thrown });
  }
}

/** Field violations reported at most (the rest are counted): the status travels in HTTP/2 trailers, whose size is limited. */
export const MAX_VIOLATIONS = 20;
const MAX_VIOLATIONS_IN_MESSAGE = 10;

/** Builds an INVALID_PARAMS / INVALID_REQUEST error whose message names the bad fields (the first ten, then a count). */
export function invalid(reason: "INVALID_REQUEST" | "INVALID_PARAMS", violations: readonly FieldViolation[]): EstelamError {
  const named = violations.slice(0, MAX_VIOLATIONS_IN_MESSAGE).map((v) => `${v.field}: ${v.description}`);
  const more = violations.length - named.length;
  const text = more > 0 ? `${named.join("; ")}; and ${more} more` : named.join("; ");
  return new EstelamError(reason, text, { violations: violations.slice(0, MAX_VIOLATIONS) });
}
