// The InquiryService implementation: runs the request path, then records the outcome — the audit event
// first (awaited: an answer is released only once its evidence is durable), then metrics and one log line.
// The record tells what the caller gets: the call is checked for cancellation before the record is written,
// so an answer that cannot be delivered is recorded as the failure it is; and a caller that goes away while
// the record is being synced gets a second record, amending the first with what it got.
import { create, type JsonValue } from "@bufbuild/protobuf";
import { type Duration, DurationSchema, timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { ConnectorAnswer } from "../connectors/connector.ts";
import { EstelamError } from "../core/errors.ts";
import type { AuditEvent } from "../gen/estelam/audit/v1/audit_pb.js";
import {
  Answer,
  type InquireRequest,
  type InquireResponse,
  InquireResponseSchema,
  TimingsSchema,
} from "../gen/estelam/inquiry/v1/inquiry_pb.js";
import type { AuditEventFactory, InquiryRecord } from "../observability/audit/event.ts";
import { type AuditSink, lateAuditWrite } from "../observability/audit/sink.ts";
import { flatLineLogger, type Logger } from "../observability/logger.ts";
import type { GatewayMetrics } from "../observability/metrics.ts";
import type { Scoreboard } from "../observability/scoreboard/scoreboard.ts";
import type { RegistrySnapshot } from "../registry/catalogue.ts";
import type { Registry } from "../registry/registry.ts";
import type { InquiryHandler } from "./chain.ts";
import type { InquiryContext } from "./context.ts";
import type { CallContext } from "./grpc/call-context.ts";
import { newInquiryId, newTrackingCode } from "./ids.ts";

export interface InquiryServiceOptions {
  readonly registry: Registry;
  readonly path: InquiryHandler;
  readonly audit: AuditSink;
  readonly auditEvents: AuditEventFactory;
  readonly metrics: GatewayMetrics;
  readonly logger: Logger;
  /** Counts each inquiry of a registered type for the operators' scoreboard. */
  readonly scoreboard?: Pick<Scoreboard, "record">;
}

export interface InquiryService {
  inquire(request: InquireRequest, call: CallContext): Promise<InquireResponse>;
  /** Writes the amending records still waiting for the journal (one last try) and stops retrying them. */
  close(): Promise<void>;
}

/** At most this many amending records wait in memory for the journal to take records again. */
const MAX_LATE_AMENDMENTS = 10_000;
const LATE_AMENDMENT_RETRY_MS = 1000;

/** A Duration with whole nanoseconds (protobuf-es's durationFromMs keeps fractions, which do not encode). */
function duration(seconds: number): Duration {
  const whole = Math.floor(seconds);
  return create(DurationSchema, { seconds: BigInt(whole), nanos: Math.min(999_999_999, Math.round((seconds - whole) * 1e9)) });
}

const ANSWERS = { found: Answer.FOUND, not_found: Answer.NOT_FOUND, rejected: Answer.REJECTED } as const;

function record(
  ctx: InquiryContext,
  answer: ConnectorAnswer | undefined,
  error: EstelamError | undefined,
  responseOutMs: number,
): InquiryRecord {
  const registered = ctx.inquiryType !== undefined;
  let answerJson: JsonValue | undefined;
  if (error === undefined && answer !== undefined) answerJson = answer.answer === "found" ? answer.result : { message: answer.message };
  return {
    inquiryId: ctx.inquiryId,
    trackingCode: ctx.trackingCode,
    clientMessageId: ctx.request.clientMessageId,
    // An unregistered type is recorded as asked (bounded in length): evidence of what the caller tried.
    inquiryType: registered ? (ctx.inquiryType?.id ?? "") : ctx.request.inquiryType.slice(0, 200),
    requester: ctx.credential?.agency ?? "",
    requesterCredential: ctx.credential?.id ?? "",
    endUser: ctx.request.endUser.slice(0, 128),
    caseReference: ctx.request.caseReference.slice(0, 128),
    purpose: ctx.request.purpose.slice(0, 100),
    responder: ctx.route?.endpoint.agency ?? "",
    endpoint: ctx.route?.endpoint.key ?? "",
    requestInMs: ctx.receivedAt,
    requestOutMs: ctx.requestOutAt,
    responseInMs: ctx.responseInAt,
    responseOutMs,
    params: ctx.params,
    answer: answerJson,
    outcome: error !== undefined || answer === undefined ? "failed" : answer.answer === "found" ? "answered" : answer.answer,
    faultReason: error?.reason ?? "",
    faultOrigin: error?.origin,
    grpcStatus: error?.code ?? 0,
    subjects: ctx.subjects ?? [],
    retainPayload: ctx.inquiryType?.audit.payloads === "encrypted",
  };
}

export function createInquiryService(options: InquiryServiceOptions): InquiryService {
  const { registry, path, audit, auditEvents, metrics } = options;
  // The inquiry line is flat: ids, registry names, outcome and timings.
  const logger = flatLineLogger(options.logger);
  // Amending records the journal refused (it failed in the instant between the two records): written as soon
  // as it takes records again, so the trail ends up telling what the caller got unless the gateway stops first.
  const lateAmendments: AuditEvent[] = [];
  let retryTimer: NodeJS.Timeout | undefined;
  let writingLate: Promise<void> | undefined;

  /** The record amending `original` with what its caller got instead: `got`, now. */
  function amendWith(original: AuditEvent, got: EstelamError): AuditEvent {
    return auditEvents.amend(original, {
      inquiryId: newInquiryId(),
      atMs: Date.now(),
      faultReason: got.reason,
      faultOrigin: got.origin,
      grpcStatus: got.code,
    });
  }

  function amendLater(amending: AuditEvent): boolean {
    if (lateAmendments.length >= MAX_LATE_AMENDMENTS) return false;
    lateAmendments.push(amending);
    retryTimer ??= setInterval(() => void writeLateAmendments(), LATE_AMENDMENT_RETRY_MS).unref();
    return true;
  }

  /**
   * An amending record refused for its sync's time-out is still queued and may yet be written: it is written
   * again later only if it was dropped, so that no amendment is in the trail twice.
   */
  function amendLaterIfDropped(amending: AuditEvent, thrown: unknown): boolean {
    const late = lateAuditWrite(thrown);
    if (late === undefined) return amendLater(amending);
    void late.written.then((written) => {
      if (written) return;
      if (!amendLater(amending))
        logger.error(
          { inquiry_id: amending.amends, amending_id: amending.inquiryId, tracking_code: amending.trackingCode, audit: "not_amended" },
          "the record amending this inquiry was dropped by the audit journal and too many amending records are waiting: its record says answered",
        );
    });
    return true;
  }

  /**
   * The inquiry's record was refused for its sync's time-out and its answer withheld, but the record may still
   * be written, saying what the gateway was about to send. Once it is, a second record amends it with what the
   * caller got.
   */
  function amendWhenWritten(event: AuditEvent, thrown: unknown, got: EstelamError): void {
    const late = lateAuditWrite(thrown);
    if (late === undefined) return;
    void late.written.then(async (written) => {
      if (!written) return;
      const amending = amendWith(event, got);
      try {
        await audit.append(amending);
        metrics.auditEvents.inc({ sink: audit.kind, result: "amended_late" });
      } catch (error) {
        const later = amendLaterIfDropped(amending, error);
        if (!later) metrics.auditEvents.inc({ sink: audit.kind, result: "not_amended" });
        logger.error(
          { inquiry_id: event.inquiryId, amending_id: amending.inquiryId, tracking_code: event.trackingCode, audit: "not_amended" },
          later
            ? "the inquiry's record was written after its answer was withheld, and the record amending it could not be written yet: it is written when the audit journal takes records again"
            : "the inquiry's record was written after its answer was withheld, and the record amending it could not be written: the record says answered",
        );
      }
    });
  }

  /** Writes the waiting amending records, oldest first, while the journal takes them; one run at a time. */
  function writeLateAmendments(): Promise<void> {
    if (writingLate !== undefined || !audit.ready()) return writingLate ?? Promise.resolve();
    writingLate = (async () => {
      for (let amending = lateAmendments[0]; amending !== undefined; amending = lateAmendments[0]) {
        try {
          await audit.append(amending);
        } catch (thrown) {
          // Refused for its time-out, it is still queued: it leaves this list now, and comes back if dropped.
          const late = lateAuditWrite(thrown);
          if (late === undefined) return;
          lateAmendments.shift();
          amendLaterIfDropped(amending, thrown);
          return;
        }
        lateAmendments.shift();
        metrics.auditEvents.inc({ sink: audit.kind, result: "amended_late" });
        logger.warn(
          { inquiry_id: amending.amends, amending_id: amending.inquiryId, tracking_code: amending.trackingCode, audit: "amended_late" },
          "the record amending an inquiry whose caller went away is written, now that the audit journal takes records again",
        );
      }
      clearInterval(retryTimer);
      retryTimer = undefined;
    })().finally(() => {
      writingLate = undefined;
    });
    return writingLate;
  }

  return {
    async close() {
      // A run under way finishes first, so no record is both written and reported as not amended.
      await writeLateAmendments();
      clearInterval(retryTimer);
      retryTimer = undefined;
      for (const amending of lateAmendments.splice(0))
        logger.error(
          { inquiry_id: amending.amends, amending_id: amending.inquiryId, tracking_code: amending.trackingCode, audit: "not_amended" },
          "the gateway stops before the audit journal could take the record amending this inquiry: its record says answered",
        );
    },

    async inquire(request, call) {
      const receivedAt = Date.now();
      // The inquiry keeps this revision to its end; its connections stay open until it lets go.
      const lease = registry.acquire();
      try {
        return await handle(request, call, receivedAt, lease.snapshot);
      } finally {
        registry.release(lease);
      }
    },
  };

  async function handle(
    request: InquireRequest,
    call: CallContext,
    receivedAt: number,
    snapshot: RegistrySnapshot,
  ): Promise<InquireResponse> {
    const ctx: InquiryContext = {
      inquiryId: newInquiryId(receivedAt),
      trackingCode: newTrackingCode(),
      receivedAt,
      startedAt: performance.now(),
      request,
      call,
      snapshot,
    };

    let answer: ConnectorAnswer | undefined;
    let error: EstelamError | undefined;
    try {
      answer = await path(ctx);
    } catch (thrown) {
      error = EstelamError.from(thrown);
    }
    if (answer === undefined && error === undefined) error = new EstelamError("INTERNAL", "the request path ended without an answer");

    const answeredAt = Date.now();
    // The response is encoded once, by the gRPC adapter. Every result it carries has passed the breaker's
    // bounds (plain JSON, RESULT_LIMITS deep and wide), which the wire always carries; an answer beyond them
    // is AGENCY_BAD_RESPONSE before it gets here, and recorded as such.
    const response =
      error === undefined && answer !== undefined
        ? create(InquireResponseSchema, {
            inquiryId: ctx.inquiryId,
            trackingCode: ctx.trackingCode,
            responder: ctx.route?.endpoint.agency ?? "none",
            answer: ANSWERS[answer.answer],
            result: answer.answer === "found" ? answer.result : undefined,
            message: answer.answer === "found" ? "" : answer.message,
          })
        : undefined;
    // A caller that has gone (cancelled, or its deadline passed) gets nothing: the record says so.
    if (error === undefined && call.signal.aborted) error = EstelamError.from(call.signal.reason);
    const done = record(ctx, answer, error, answeredAt);
    let auditFailure: EstelamError | undefined;
    let event: AuditEvent | undefined;
    let recordQueued = false;
    try {
      // With the trail off (measuring what it costs), no event is built: its digests are part of that cost.
      if (audit.kind !== "off") {
        event = auditEvents.build(done);
        const written = audit.append(event);
        // Refused because the trail takes no records now (its disk stalls): no agency was asked and nothing
        // is released, so the caller is not kept waiting on the journal. The record is still written if it
        // can be; if not, the refusal is logged and counted like any record the journal refused.
        if (error?.reason === "AUDIT_UNAVAILABLE" && !audit.ready()) {
          recordQueued = true;
          written.catch((thrown: unknown) => {
            logger.error(
              {
                inquiry_id: ctx.inquiryId,
                tracking_code: ctx.trackingCode,
                audit: "failed",
                audit_reason: EstelamError.from(thrown).message,
              },
              "the record of an inquiry refused while the audit journal took no records could not be written",
            );
          });
        } else await written;
      }
    } catch (thrown) {
      auditFailure = EstelamError.from(thrown);
    }
    // The caller went away while the record was being synced: the answer will not be sent, and the record
    // says it was about to be. A second record amends it with what the caller got.
    let amendFailure: EstelamError | undefined;
    let amendsLater = false;
    if (event !== undefined && auditFailure === undefined && error === undefined && call.signal.aborted) {
      error = EstelamError.from(call.signal.reason);
      const amending = amendWith(event, error);
      try {
        await audit.append(amending);
      } catch (thrown) {
        amendFailure = EstelamError.from(thrown);
        amendsLater = amendLaterIfDropped(amending, thrown);
      }
    }
    // Evidence first: an answer whose record is not durable is withheld — unless the inquiry type's registry
    // policy says to answer without it (`audit.whenAuditUnavailable: answer`), which is logged as such.
    const unaudited = auditFailure !== undefined && error === undefined && ctx.inquiryType?.audit.whenAuditUnavailable === "answer";
    if (auditFailure !== undefined && error === undefined && !unaudited) {
      error = new EstelamError(
        "AUDIT_UNAVAILABLE",
        `the answer is withheld because the audit trail could not record it: ${auditFailure.message}`,
      );
      // A record that outlasted its time-out may still be written, saying answered: it is amended with what the
      // caller got (the withheld answer, or its own going away meanwhile).
      if (event !== undefined) amendWhenWritten(event, auditFailure, call.signal.aborted ? EstelamError.from(call.signal.reason) : error);
    }

    const seconds = (performance.now() - ctx.startedAt) / 1000;
    const inquiryType = ctx.inquiryType?.id ?? "unregistered";
    const requester = ctx.credential?.agency ?? "unidentified";
    const responder = ctx.route?.endpoint.agency ?? "none";
    // The label: the business answer, or the error reason in lowercase (a closed set).
    const outcome = error === undefined ? done.outcome : error.reason.toLowerCase();
    metrics.inquiries.inc({ inquiry_type: inquiryType, requester, responder, outcome });
    if (unaudited) metrics.auditEvents.inc({ sink: audit.kind, result: "answered_without_record" });
    if (amendFailure !== undefined) metrics.auditEvents.inc({ sink: audit.kind, result: "not_amended" });
    metrics.inquirySeconds.observe({ inquiry_type: inquiryType, responder }, seconds);
    if (ctx.inquiryType !== undefined) options.scoreboard?.record(ctx.inquiryType.id, error?.origin, seconds);

    // One line per inquiry: ids, registry names, outcome and timings only. Nothing the caller typed is
    // logged (it may hold personal data), and neither are params nor results.
    const line = {
      inquiry_id: ctx.inquiryId,
      tracking_code: ctx.trackingCode,
      inquiry_type: inquiryType,
      requester,
      responder,
      endpoint: ctx.route?.endpoint.key,
      outcome,
      origin: error?.origin,
      grpc_code: error?.code ?? 0,
      total_ms: Math.round(seconds * 1e6) / 1e3,
      upstream_ms: ctx.upstreamSeconds === undefined ? undefined : Math.round(ctx.upstreamSeconds * 1e6) / 1e3,
      audit: auditFailure === undefined ? (recordQueued ? "queued" : "recorded") : unaudited ? "answered_without_record" : "failed",
    };
    if (error?.reason === "INTERNAL")
      logger.error(
        { ...line, err: error.cause instanceof Error ? { type: error.cause.name, stack: error.cause.stack } : undefined },
        "inquiry failed inside the gateway",
      );
    else if (auditFailure !== undefined)
      logger.error({ ...line, audit_reason: auditFailure.message }, "inquiry not recorded in the audit trail");
    else if (amendFailure !== undefined)
      logger.error(
        { ...line, audit: "not_amended", audit_reason: amendFailure.message },
        amendsLater
          ? "the caller went away while the inquiry's record was synced, and the record amending it could not be written yet: it is written when the audit journal takes records again"
          : "the caller went away while the inquiry's record was synced, and the record amending it could not be written: the record says answered",
      );
    else if (error !== undefined && error.origin !== "client") logger.warn(line, "inquiry failed");
    else logger.info(line, "inquiry");

    // Every refusal has an audit record: name the inquiry so the caller can quote it.
    if (error !== undefined) throw error.forInquiry({ inquiryId: ctx.inquiryId, trackingCode: ctx.trackingCode });
    if (response === undefined) throw new EstelamError("INTERNAL", "unreachable: no answer and no error");
    response.timings = create(TimingsSchema, {
      receivedAt: timestampFromMs(receivedAt),
      answeredAt: timestampFromMs(answeredAt),
      total: duration(seconds),
      upstream: ctx.upstreamSeconds === undefined ? undefined : duration(ctx.upstreamSeconds),
    });
    return response;
  }
}
