// The audit sink extension point: where evidence records are made durable before an answer leaves. The
// built-in kind is the local journal (observability/audit/journal.ts), which a shipper (shipper.ts) carries
// on to Kafka. The request path awaits `append` before an answer is released, so a sink must bound the wait
// and must refuse at once, never after a wait, when it cannot take records: with an EstelamError
// AUDIT_UNAVAILABLE.
import type { AuditEvent } from "../../gen/estelam/audit/v1/audit_pb.js";

export interface AuditSink {
  /** `journal`, ... */
  readonly kind: string;
  /** Opens and recovers what is on disk. Rejects if the sink cannot work at all. */
  start(): Promise<void>;
  /**
   * Records one event. Resolves once the event is durable (synced to the journal's disk). Rejects with
   * EstelamError("AUDIT_UNAVAILABLE") at once when the sink cannot take it (full, failed, closed), or when the
   * sync does not finish within the sink's acknowledgement timeout. In that last case the event may still be
   * written: the error's `cause` is then a `LateAuditWrite`, which says in the end whether it was.
   */
  append(event: AuditEvent): Promise<void>;
  /** Whether the sink can take events now; drives /readyz and lets the gateway refuse before asking an agency. */
  ready(): boolean;
  /** Events accepted but not yet durable. */
  pending(): number;
  /** Writes what it holds (bounded by its timeout) and closes. */
  close(): Promise<void>;
}

/**
 * The cause of an append refused because its sync outlasted the acknowledgement timeout. The event stays queued
 * (the records after it are chained to it), so it may still become durable: `written` resolves to true when it
 * does, and to false when it is dropped instead (the write failed, or the sink closed first).
 */
export class LateAuditWrite extends Error {
  override readonly name = "LateAuditWrite";
  readonly written: Promise<boolean>;
  constructor(message: string, written: Promise<boolean>) {
    super(message);
    this.written = written;
  }
}

/** The late write behind an append's refusal, if that is why it was refused. */
export function lateAuditWrite(error: unknown): LateAuditWrite | undefined {
  const cause = error instanceof Error ? error.cause : undefined;
  return cause instanceof LateAuditWrite ? cause : undefined;
}

/** Observer hooks a sink reports to; the gateway wires them to metrics and logs. */
export interface AuditSinkEvents {
  /** `count` events became durable in one write, taking `seconds`. */
  onWritten?(count: number, seconds: number): void;
  /** A write failed; the sink refuses until it recovers. */
  onWriteError?(error: Error): void;
  /** An event was refused (sync timeout, sink full, sink failed, sink closed). */
  onRefused?(reason: "timeout" | "full" | "failed" | "closed"): void;
}
