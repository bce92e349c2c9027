// The audit sink extension point: where evidence records go. Built-in kinds: `kafka` (observability/audit/
// kafka-sink.ts) and `file` (observability/audit/file-sink.ts). The request path awaits `append` before an
// answer is released, so a sink must bound the wait (never an unbounded retry) and must never drop an
// event silently: an event it cannot take is refused loudly, with an EstelamError AUDIT_UNAVAILABLE.
import type { AuditEvent } from "../../gen/estelam/audit/v1/audit_pb.js";

export interface AuditSink {
  /** `kafka`, `file`, ... */
  readonly kind: string;
  /** Connects and prepares (e.g. creates the topic). Rejects if the sink cannot work at all. */
  start(): Promise<void>;
  /**
   * Records one event. Resolves once the event is durable (acknowledged by all in-sync Kafka replicas, or
   * written and synced to the local file). Rejects with EstelamError("AUDIT_UNAVAILABLE") when that does not
   * happen within the sink's acknowledgement timeout or its queue is full. An event whose append rejected
   * because of the timeout may still be delivered later; it is never silently discarded while the process runs.
   */
  append(event: AuditEvent): Promise<void>;
  /** Whether the sink can take events now; drives /readyz and lets the gateway refuse before asking an agency. */
  ready(): boolean;
  /** Events accepted but not yet durable. */
  pending(): number;
  /** Flushes what it holds (bounded by its timeout) and disconnects. */
  close(): Promise<void>;
}

/** Observer hooks a sink reports to; the gateway wires them to metrics and logs. */
export interface AuditSinkEvents {
  /** `count` events became durable in one write, taking `seconds`. */
  onWritten?(count: number, seconds: number): void;
  /** A write failed; the sink will retry while its bounds allow. */
  onWriteError?(error: Error): void;
  /** An event was refused (timeout, queue full, sink closed). */
  onRefused?(reason: "timeout" | "queue_full" | "closed"): void;
}
