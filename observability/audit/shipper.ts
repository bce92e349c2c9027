// The audit shipper extension point: what carries the local journal (journal.ts) on to a central trail.
// Built-in kind: `kafka` (observability/audit/kafka-shipper.ts). A shipper reads what the journal has made
// durable, in order, records how far the destination has acknowledged it (a checkpoint beside the journal,
// so a restart resumes there) and lets the journal release what was delivered. It never holds up an answer:
// while the destination is away the journal grows, and the backlog is reported.
import type { HeapInfo } from "node:v8";
import type { AuditJournal } from "./journal.ts";

/** What a shipper uses of the journal: where its files are, how far they are durable, and holding segments. */
export type ShippedJournal = Pick<AuditJournal, "dir" | "committed" | "onCommit" | "hold" | "release">;

export interface AuditShipper {
  /** `kafka`, ... */
  readonly kind: string;
  /** Starts shipping in the background; resolves at once (the destination may be away). */
  start(): Promise<void>;
  /** Records durable in the journal and not yet acknowledged by the destination. */
  backlog(): number;
  /** Whether the last attempt to deliver succeeded (or nothing needed delivering). */
  connected(): boolean;
  /** The JavaScript heap of the thread it ships on, if it has one (for the gateway's metrics); undefined while it is not running. */
  threadHeap?(): Promise<HeapInfo | undefined>;
  /** Delivers what it can within `timeoutMs`, then stops; what is left is delivered after the next start. */
  close(timeoutMs?: number): Promise<void>;
}

/** Observer hooks a shipper reports to; the gateway wires them to metrics and logs. */
export interface AuditShipperEvents {
  /** `count` records, up to sequence `through`, were acknowledged by the destination in one request taking `seconds`. */
  onShipped?(count: number, seconds: number, through: bigint): void;
  /** Delivery failed; the shipper retries with backoff. */
  onShipError?(error: Error): void;
  /** Delivery works again after failures. */
  onRecovered?(): void;
}
