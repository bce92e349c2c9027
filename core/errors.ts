// The one error catalogue of Estelam, at the bottom of the house where every room may use it. The reasons
// are declared in the contract (proto/estelam/error/v1/error.proto), each with its gRPC status, origin
// and retry advice as an option on the enum value, so a client in any language has them; this file reads
// that table once and holds the one error class. The mapping to the wire is core/status.ts. The README
// lists exactly these reasons (a test checks it).
//
// A business answer of an agency ("not found", "rejected") is NOT an error: it travels in the response.
import { getOption } from "@bufbuild/protobuf";
import { ReasonSchema, spec, Origin as WireOrigin, Reason as WireReason } from "../gen/estelam/error/v1/error_pb.js";
import { Code } from "../gen/google/rpc/code_pb.js";

export { Code };

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

/** A catalogue reason, e.g. `NO_ROUTE`: the name of an estelam.error.v1.Reason value. */
export type Reason = Exclude<keyof typeof WireReason, "REASON_UNSPECIFIED">;

const ORIGINS: Readonly<Record<WireOrigin, Origin | undefined>> = {
  [WireOrigin.UNSPECIFIED]: undefined,
  [WireOrigin.CLIENT]: "client",
  [WireOrigin.GATEWAY]: "gateway",
  [WireOrigin.AGENCY]: "agency",
};

function readCatalogue(): Readonly<Record<Reason, ReasonSpec>> {
  const table: Partial<Record<Reason, ReasonSpec>> = {};
  for (const value of ReasonSchema.values) {
    if (value.number === WireReason.REASON_UNSPECIFIED) continue;
    const wire = getOption(value, spec);
    const origin = ORIGINS[wire.origin];
    if (origin === undefined || wire.code === Code.OK || wire.summary === "") {
      throw new Error(`error.proto: reason ${value.name} lacks a complete (spec) option`);
    }
    table[value.name as Reason] = Object.freeze({ code: wire.code, origin, retryable: wire.retryable, summary: wire.summary });
  }
  return Object.freeze(table as Record<Reason, ReasonSpec>);
}

/** Every reason with its spec, in the contract's order. */
export const REASONS: Readonly<Record<Reason, ReasonSpec>> = readCatalogue();
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
  /** The inquiry the failure belongs to, so a caller can quote it (its audit record has both). */
  readonly inquiry?: InquiryRef;
  readonly cause?: unknown;
}

/** The ids a caller or a citizen quotes for one inquiry. */
export interface InquiryRef {
  readonly inquiryId: string;
  readonly trackingCode: string;
}

/** The one error type of the gateway. Anything else caught is normalised with `EstelamError.from`. */
export class EstelamError extends Error {
  override readonly name = "EstelamError";
  readonly reason: Reason;
  readonly agency: string | undefined;
  readonly violations: readonly FieldViolation[];
  readonly retryAfterMs: number | undefined;
  readonly inquiry: InquiryRef | undefined;

  constructor(reason: Reason, message: string, options: EstelamErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.reason = reason;
    this.agency = options.agency;
    this.violations = options.violations ?? [];
    this.retryAfterMs = options.retryAfterMs;
    this.inquiry = options.inquiry;
  }

  /** The same error, naming the inquiry it belongs to. */
  forInquiry(inquiry: InquiryRef): EstelamError {
    return new EstelamError(this.reason, this.message, {
      ...(this.agency === undefined ? {} : { agency: this.agency }),
      violations: this.violations,
      ...(this.retryAfterMs === undefined ? {} : { retryAfterMs: this.retryAfterMs }),
      inquiry,
      cause: this.cause,
    });
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
