// The queue and micro-batching shared by the audit sinks. A sink supplies `write(batch)`, which makes a batch
// durable or throws; the batcher groups appends into batches, keeps one write in flight, retries a failed
// batch with backoff, bounds every append by an acknowledgement timeout and the queue by a size, and refuses
// loudly (EstelamError AUDIT_UNAVAILABLE) whatever it cannot take. An event whose append timed out stays
// queued and is still written: the caller was told "not recorded in time", not "discarded".
import { EstelamError } from "../../core/errors.ts";
import type { AuditSinkEvents } from "./sink.ts";

export interface BatcherOptions<T> {
  /** Makes `batch` durable, in order; throws if it could not. Called with one batch at a time. */
  write(batch: readonly T[]): Promise<void>;
  /** Names the destination in refusal messages, e.g. `kafka topic estelam.audit`. */
  readonly target: string;
  /** Wait after the first queued item before a batch is written. */
  readonly lingerMs: number;
  /** Items per write; a full batch is written at once. */
  readonly maxBatch: number;
  /** Items held (queued and in flight, timed out or not); more are refused at once. */
  readonly maxQueue: number;
  /** How long an append may wait for its item to become durable. */
  readonly ackTimeoutMs: number;
  /** First delay before a failed batch is written again; doubles per failure up to `maxRetryBackoffMs`. */
  readonly retryBackoffMs?: number;
  readonly maxRetryBackoffMs?: number;
  readonly events?: AuditSinkEvents | undefined;
}

export interface Batcher<T> {
  /** Queues `item`; resolves once its batch is durable, rejects with AUDIT_UNAVAILABLE (timeout, full, closed). */
  add(item: T): Promise<void>;
  /** Items accepted but not yet durable (including those whose append already timed out). */
  pending(): number;
  /** False after a failed write or a timed-out append until a write succeeds again, or above the high-water mark. */
  healthy(): boolean;
  /** Resolves true once everything accepted so far is durable, false if `timeoutMs` passes first. */
  drain(timeoutMs: number): Promise<boolean>;
  /** Refuses further adds, drains (bounded by `timeoutMs`), then stops retrying; returns the items left unwritten. */
  close(timeoutMs: number): Promise<number>;
}

/** Above this share of `maxQueue` the batcher reports itself unhealthy, before it starts refusing. */
export const HIGH_WATER_RATIO = 0.8;
const DEFAULT_RETRY_BACKOFF_MS = 50;
const DEFAULT_MAX_RETRY_BACKOFF_MS = 2_000;

interface Entry<T> {
  readonly item: T;
  resolve: (() => void) | undefined;
  reject: ((error: Error) => void) | undefined;
  timer: NodeJS.Timeout | undefined;
}

export function createBatcher<T>(options: BatcherOptions<T>): Batcher<T> {
  const { write, target, lingerMs, maxBatch, maxQueue, ackTimeoutMs, events } = options;
  const retryBackoffMs = options.retryBackoffMs ?? DEFAULT_RETRY_BACKOFF_MS;
  const maxRetryBackoffMs = options.maxRetryBackoffMs ?? DEFAULT_MAX_RETRY_BACKOFF_MS;
  const highWater = Math.max(1, Math.floor(maxQueue * HIGH_WATER_RATIO));

  // FIFO with a moving head, compacted now and then, so taking a batch is not O(queue length).
  let queue: Entry<T>[] = [];
  let head = 0;
  let inFlight: Entry<T>[] = [];
  let lingerTimer: NodeJS.Timeout | undefined;
  let backoffTimer: NodeJS.Timeout | undefined;
  // After a failure the same batch is written again, unchanged: a producer that deduplicates by sequence
  // number (Kafka's idempotent producer) recognises a resent batch only if it is identical.
  let retryBatchSize = 0;
  let failures = 0;
  let degraded = false;
  let closing = false;
  let stopped = false;
  let drainWaiters: (() => void)[] = [];

  const queued = (): number => queue.length - head;
  const pending = (): number => queued() + inFlight.length;

  function refuse(reason: "timeout" | "queue_full" | "closed", message: string): EstelamError {
    events?.onRefused?.(reason);
    return new EstelamError("AUDIT_UNAVAILABLE", message);
  }

  function settle(entry: Entry<T>, error?: Error): void {
    if (entry.timer !== undefined) clearTimeout(entry.timer);
    entry.timer = undefined;
    const { resolve, reject } = entry;
    entry.resolve = undefined;
    entry.reject = undefined;
    if (error === undefined) resolve?.();
    else reject?.(error);
  }

  function onAckTimeout(entry: Entry<T>): void {
    entry.timer = undefined;
    if (entry.reject === undefined) return;
    degraded = true;
    settle(entry, refuse("timeout", `audit event not recorded in ${target} within ${ackTimeoutMs} ms; it stays queued`));
  }

  function notifyDrained(): void {
    if (pending() > 0 || drainWaiters.length === 0) return;
    const waiters = drainWaiters;
    drainWaiters = [];
    for (const waiter of waiters) waiter();
  }

  function schedule(): void {
    if (stopped || inFlight.length > 0 || backoffTimer !== undefined || queued() === 0) return;
    if (queued() >= maxBatch || closing || retryBatchSize > 0) {
      void flush();
      return;
    }
    lingerTimer ??= setTimeout(() => {
      lingerTimer = undefined;
      void flush();
    }, lingerMs);
  }

  async function flush(): Promise<void> {
    if (lingerTimer !== undefined) clearTimeout(lingerTimer);
    lingerTimer = undefined;
    if (stopped || inFlight.length > 0 || queued() === 0) return;
    const size = Math.min(retryBatchSize > 0 ? retryBatchSize : maxBatch, queued());
    inFlight = queue.slice(head, head + size);
    head += size;
    if (head > 1024 && head * 2 > queue.length) {
      queue = queue.slice(head);
      head = 0;
    }
    const batch = inFlight;
    const started = performance.now();
    try {
      await write(batch.map((entry) => entry.item));
    } catch (thrown) {
      const error = thrown instanceof Error ? thrown : new Error(String(thrown));
      failures += 1;
      degraded = true;
      events?.onWriteError?.(error);
      if (stopped) {
        inFlight = [];
        return;
      }
      // Back to the front, in order, to be written again after a pause.
      queue = [...batch, ...queue.slice(head)];
      head = 0;
      inFlight = [];
      retryBatchSize = batch.length;
      const delay = Math.min(maxRetryBackoffMs, retryBackoffMs * 2 ** Math.min(failures - 1, 20));
      backoffTimer = setTimeout(
        () => {
          backoffTimer = undefined;
          schedule();
        },
        delay * (0.75 + Math.random() / 2),
      );
      return;
    }
    inFlight = [];
    retryBatchSize = 0;
    failures = 0;
    degraded = false;
    events?.onWritten?.(batch.length, (performance.now() - started) / 1000);
    for (const entry of batch) settle(entry);
    notifyDrained();
    // What arrived during the write has waited at least that long already: write it now.
    if (queued() > 0) void flush();
  }

  function drain(timeoutMs: number): Promise<boolean> {
    if (pending() === 0) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        drainWaiters = drainWaiters.filter((waiter) => waiter !== done);
        resolve(false);
      }, timeoutMs);
      drainWaiters.push(done);
      // Draining writes what is queued without waiting for the linger.
      if (lingerTimer !== undefined) void flush();
    });
  }

  return {
    add(item: T): Promise<void> {
      if (closing) return Promise.reject(refuse("closed", `audit sink for ${target} is closed`));
      if (pending() >= maxQueue) {
        return Promise.reject(refuse("queue_full", `audit queue for ${target} is full (${maxQueue} events not yet recorded)`));
      }
      return new Promise<void>((resolve, reject) => {
        const entry: Entry<T> = { item, resolve, reject, timer: undefined };
        entry.timer = setTimeout(onAckTimeout, ackTimeoutMs, entry);
        queue.push(entry);
        schedule();
      });
    },

    pending,

    healthy(): boolean {
      return !degraded && !stopped && pending() < highWater;
    },

    drain,

    async close(timeoutMs: number): Promise<number> {
      closing = true;
      await drain(timeoutMs);
      stopped = true;
      if (lingerTimer !== undefined) clearTimeout(lingerTimer);
      if (backoffTimer !== undefined) clearTimeout(backoffTimer);
      lingerTimer = undefined;
      backoffTimer = undefined;
      const left = [...inFlight, ...queue.slice(head)];
      queue = [];
      head = 0;
      inFlight = [];
      for (const entry of left) {
        if (entry.reject !== undefined) settle(entry, refuse("closed", `audit sink for ${target} closed before the event was recorded`));
      }
      return left.length;
    },
  };
}
