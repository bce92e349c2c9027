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
   * sync does not finish within the sink's acknowledgement timeout.
   */
  append(event: AuditEvent): Promise<void>;
  /** Whether the sink can take events now; drives /readyz and lets the gateway refuse before asking an agency. */
  ready(): boolean;
  /** Events accepted but not yet durable. */
  pending(): number;
  /** Writes what it holds (bounded by its timeout) and closes. */
  close(): Promise<void>;
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
