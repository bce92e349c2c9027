// The audit journal: the local, append-only, durable trail every evidence record is written to before the
// answer it accounts for leaves the gateway. Records are sealed into a hash chain (journal-format.ts),
// framed with a checksum and appended to segment files; appends that arrive while a write is on its way are
// written together in one durable write (the segments are open with O_DSYNC: write + fdatasync in one call),
// so durability costs one disk sync per batch (group commit), not one per inquiry. As PostgreSQL does with
// its WAL, the segment being written is zero-filled a little ahead of its last record: a record then
// overwrites space the file already has, and its sync need not also commit a new file size to the file
// system's journal (on ext4 a quarter less time and two fifths less kernel CPU per sync, measured). A segment
// is cut back to its records when the next one starts and when the journal closes or reopens. A shipper
// (shipper.ts) sends the journal on to Kafka and releases segments once Kafka has them; without one, the
// journal is the trail.
//
// When the journal cannot be written (disk full, I/O error) or holds more than its bound, it says so at once:
// `ready()` turns false (the gateway refuses new inquiries before asking any agency) and appends are refused
// without waiting. A small reserve above the bound still takes the records of inquiries already under way and
// of the refusals themselves. It recovers by itself: a failed disk is probed every second, and the bound
// clears as shipped segments are released.
import { constants } from "node:fs";
import { type FileHandle, mkdir, open, readFile, stat, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fromBinary } from "@bufbuild/protobuf";
import { EstelamError } from "../../core/errors.ts";
import { type AuditEvent, AuditEventSchema } from "../../gen/estelam/audit/v1/audit_pb.js";
import type { AuditKey } from "./event.ts";
import { listSegments, parseRecords, sealRecord, segmentName } from "./journal-format.ts";
import { type AuditSink, type AuditSinkEvents, LateAuditWrite } from "./sink.ts";

export interface AuditJournalOptions {
  /** Folder of the segment files (and the shipper's checkpoint); created at start. */
  readonly dir: string;
  /** The key that seals the chain (the audit key; its id is in every record). */
  readonly key: AuditKey;
  /** Bytes the journal may hold; above it the gateway refuses new inquiries. Default 1 GiB. */
  readonly maxBytes?: number;
  /** A segment is closed and a new one started once it holds this many bytes. Default 64 MiB. */
  readonly segmentBytes?: number;
  /** How long an append may wait for its sync before it is refused. Default 5000. */
  readonly ackTimeoutMs?: number;
  /** How often a failed journal is probed for recovery. Default 1000. */
  readonly probeIntervalMs?: number;
  /**
   * How long a write waits, once a record arrives and no write is under way, for more records to join it
   * (as PostgreSQL's commit_delay). Default 0: at once.
   */
  readonly commitDelayMs?: number;
}

/** Where the journal's durable end is: the segment, the byte offset after its last synced record, that record's sequence. */
export interface JournalPosition {
  readonly segment: string;
  readonly offset: number;
  readonly sequence: bigint;
}

export interface AuditJournal extends AuditSink {
  readonly dir: string;
  /** The end of what is durable. */
  committed(): JournalPosition;
  /** Calls `listener` after each sync; returns a function that stops it. */
  onCommit(listener: () => void): () => void;
  /**
   * Registers a reader (the shipper, the index) that needs the segments from `segment` on: nothing it has not
   * released is deleted.
   */
  hold(reader: string, segment: string): void;
  /** The reader is done with the segments before `segment`; those no reader holds are deleted (never the one being written). */
  release(segment: string, reader: string): Promise<void>;
  /** Bytes in the journal's segments. */
  bytes(): number;
  /** Why the journal is not ready, or undefined when it is. */
  problem(): string | undefined;
}

interface Pending {
  readonly record: Buffer;
  readonly sequence: bigint;
  readonly digest: Uint8Array;
  /** When it was appended (performance.now()): the ack time-out counts from here. */
  readonly appendedAt: number;
  resolve: (() => void) | undefined;
  reject: ((error: Error) => void) | undefined;
  /** Set once the append was refused for its time-out: told, in the end, whether the record was written. */
  written?: (written: boolean) => void;
}

interface Segment {
  readonly name: string;
  /** Bytes of records. */
  size: number;
}

const PROBE_BYTES = 4096;
/** How far ahead of its last record the segment being written is zero-filled. */
const PREALLOCATE_BYTES = 1024 * 1024;
/** After zero-filling failed (the disk is full), records are appended as they come for this long. */
const PREALLOCATE_RETRY_MS = 10_000;

function settle(entry: Pending, error?: Error): void {
  const { resolve, reject } = entry;
  entry.resolve = undefined;
  entry.reject = undefined;
  if (error === undefined) resolve?.();
  else reject?.(error);
  // An append refused earlier for its time-out learns whether its record was written after all.
  entry.written?.(error === undefined);
  entry.written = undefined;
}

/** `bytes` without the zeros at its end. */
function withoutZeroTail(bytes: Buffer): Buffer {
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === 0) end--;
  return bytes.subarray(0, end);
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** The last record of the journal before `segments[index]` (inclusive), read from disk. */
async function lastEvent(dir: string, segments: readonly Segment[], index: number): Promise<AuditEvent | undefined> {
  for (let i = index; i >= 0; i--) {
    const segment = segments[i] as Segment;
    const { records } = parseRecords(await readFile(join(dir, segment.name)));
    const last = records.at(-1);
    if (last !== undefined) return fromBinary(AuditEventSchema, last.payload);
  }
  return undefined;
}

export function createAuditJournal(options: AuditJournalOptions, events?: AuditSinkEvents): AuditJournal {
  const { dir, key } = options;
  const maxBytes = options.maxBytes ?? 1024 ** 3;
  const segmentBytes = options.segmentBytes ?? 64 * 1024 ** 2;
  const ackTimeoutMs = options.ackTimeoutMs ?? 5000;
  const probeIntervalMs = options.probeIntervalMs ?? 1000;
  const commitDelayMs = options.commitDelayMs ?? 0;
  const hardLimit = maxBytes + Math.max(PROBE_BYTES, Math.floor(maxBytes / 8));
  const preallocateBytes = Math.min(PREALLOCATE_BYTES, segmentBytes);
  let zeros: Buffer | undefined;
  let preallocating: Promise<void> | undefined;
  // Bytes of the segment being written: its records and the zero-filled space after them.
  let allocated = 0;
  let preallocateAfter = 0;

  const segments: Segment[] = [];
  let handle: FileHandle | undefined;
  let total = 0;
  let queuedBytes = 0;
  let queue: Pending[] = [];
  /** The batch being written: appended before everything in `queue`. */
  let batch: readonly Pending[] = [];
  let writing = false;
  // One timer for all waiting appends, set for the oldest one's time-out, instead of a timer per append.
  let watchdog: NodeJS.Timeout | undefined;
  let writeStartedAt = 0;
  let failure: Error | undefined;
  let probeTimer: NodeJS.Timeout | undefined;
  let boundTimer: NodeJS.Timeout | undefined;
  let closed = false;
  // The chain's head as written (committed) and as sealed (including what is queued).
  let committedSequence = 0n;
  let committedDigest: Uint8Array = new Uint8Array();
  let nextSequence = 1n;
  let headDigest: Uint8Array = new Uint8Array();
  const listeners = new Set<() => void>();
  const holds = new Map<string, string>();

  const active = (): Segment => segments.at(-1) as Segment;

  function refuse(reason: "timeout" | "full" | "failed" | "closed", message: string): EstelamError {
    events?.onRefused?.(reason);
    return new EstelamError("AUDIT_UNAVAILABLE", message);
  }

  /**
   * Zero-fills the segment being written from its end to `preallocateBytes` past its last record, in the
   * background; records are written below `allocated` only, so the two never overlap. When it fails (a full
   * disk), records are appended as they come, and it is tried again later.
   */
  function preallocate(): void {
    const file = handle;
    const target = active().size + preallocateBytes;
    if (preallocating !== undefined || file === undefined || allocated >= target - preallocateBytes / 2) return;
    if (performance.now() < preallocateAfter) return;
    const from = allocated;
    zeros ??= Buffer.alloc(preallocateBytes);
    const filler = zeros;
    preallocating = (async () => {
      try {
        let at = from;
        while (at < target) at += (await file.write(filler, 0, Math.min(filler.length, target - at), at)).bytesWritten;
        if (file === handle) allocated = target;
      } catch {
        preallocateAfter = performance.now() + PREALLOCATE_RETRY_MS;
      } finally {
        preallocating = undefined;
      }
    })();
  }

  /**
   * Cuts the segment being written back to its records: the zero-filled space after them, and what a failed
   * write may have left there.
   */
  async function trimActive(): Promise<void> {
    await preallocating;
    const segment = segments.at(-1);
    if (handle === undefined || segment === undefined) return;
    await handle.truncate(segment.size);
    allocated = segment.size;
  }

  async function openSegment(first: bigint): Promise<void> {
    const name = segmentName(first);
    if (handle !== undefined) await trimActive();
    const path = join(dir, name);
    const fresh = await open(path, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_DSYNC);
    try {
      await syncDir(dir);
    } catch (error) {
      // Not started after all: no handle left open, no empty segment left behind.
      await fresh.close().catch(() => {});
      await unlink(path).catch(() => {});
      throw error;
    }
    const old = handle;
    handle = fresh;
    segments.push({ name, size: 0 });
    allocated = 0;
    await old?.close();
    preallocate();
  }

  /** The oldest append still waiting for its sync: the first unsettled one of the batch being written, then of the queue. */
  function oldestWaiting(): Pending | undefined {
    for (const entry of batch) if (entry.resolve !== undefined) return entry;
    for (const entry of queue) if (entry.resolve !== undefined) return entry;
    return undefined;
  }

  function watch(): void {
    if (watchdog !== undefined) return;
    const oldest = oldestWaiting();
    if (oldest === undefined) return;
    watchdog = setTimeout(expire, Math.max(0, oldest.appendedAt + ackTimeoutMs - performance.now()));
  }

  /** The refusal of an append whose sync outlasted the time-out; its record stays queued and may still be written. */
  function syncTimedOut(entry: Pending): EstelamError {
    events?.onRefused?.("timeout");
    const message = `the audit journal did not sync the record within ${ackTimeoutMs} ms`;
    const written = new Promise<boolean>((resolve) => {
      entry.written = resolve;
    });
    return new EstelamError("AUDIT_UNAVAILABLE", message, { cause: new LateAuditWrite(message, written) });
  }

  /** Tells `entry` it was not durable in time: it is refused now, and told later whether it was written. */
  function expireEntry(entry: Pending): void {
    const { reject } = entry;
    entry.resolve = undefined;
    entry.reject = undefined;
    reject?.(syncTimedOut(entry));
  }

  /** Tells the appends that have waited `ackTimeoutMs` that their record was not durable in time. */
  function expire(): void {
    watchdog = undefined;
    const due = performance.now() - ackTimeoutMs;
    // The records stay queued and are still written; their callers are told they were not durable in time.
    for (const entry of batch) if (entry.resolve !== undefined && entry.appendedAt <= due) expireEntry(entry);
    for (const entry of queue) if (entry.resolve !== undefined && entry.appendedAt <= due) expireEntry(entry);
    watch();
  }

  function fail(error: Error, failed: readonly Pending[]): void {
    failure = error;
    events?.onWriteError?.(error);
    // The batch and everything sealed after it are refused, and the chain resumes from the last durable record.
    const refused = [...failed, ...queue];
    queue = [];
    batch = [];
    queuedBytes = 0;
    nextSequence = committedSequence + 1n;
    headDigest = committedDigest;
    const message = `the audit journal in ${dir} cannot be written (${error.message}); nothing is answered until it can`;
    for (const entry of refused) settle(entry, refuse("failed", message));
    probeTimer ??= setInterval(() => void probe(), probeIntervalMs);
  }

  async function probe(): Promise<void> {
    if (closed || failure === undefined || writing) return;
    const path = join(dir, ".probe");
    try {
      await trimActive();
      const file = await open(path, "w");
      try {
        await file.write(Buffer.alloc(PROBE_BYTES));
        await file.datasync();
      } finally {
        await file.close();
      }
      await unlink(path);
      failure = undefined;
      clearInterval(probeTimer);
      probeTimer = undefined;
    } catch {
      await unlink(path).catch(() => {});
    }
  }

  async function pump(): Promise<void> {
    if (writing) return;
    writing = true;
    try {
      while (queue.length > 0 && failure === undefined && handle !== undefined) {
        if (commitDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, commitDelayMs));
        if (failure !== undefined || handle === undefined) break;
        batch = queue;
        queue = [];
        queuedBytes = 0;
        const buffer = batch.length === 1 ? (batch[0] as Pending).record : Buffer.concat(batch.map((e) => e.record));
        writeStartedAt = performance.now();
        try {
          if (active().size > 0 && active().size + buffer.length > segmentBytes) await openSegment((batch[0] as Pending).sequence);
          // Into zero-filled space if it is there (or being made); else appended.
          if (active().size + buffer.length > allocated) await preallocating;
          const segment = active();
          let offset = 0;
          while (offset < buffer.length) {
            // The segment is open with O_DSYNC: a write returns once its data is on disk (as write + fdatasync
            // would, in one call).
            const { bytesWritten } = await handle.write(buffer, offset, buffer.length - offset, segment.size + offset);
            offset += bytesWritten;
          }
          segment.size += buffer.length;
          allocated = Math.max(allocated, segment.size);
          total += buffer.length;
          preallocate();
        } catch (thrown) {
          fail(thrown instanceof Error ? thrown : new Error(String(thrown)), batch);
          break;
        }
        const last = batch.at(-1) as Pending;
        committedSequence = last.sequence;
        committedDigest = last.digest;
        events?.onWritten?.(batch.length, (performance.now() - writeStartedAt) / 1000);
        for (const entry of batch) settle(entry);
        batch = [];
        for (const listener of listeners) listener();
      }
    } finally {
      writing = false;
      writeStartedAt = 0;
    }
  }

  /**
   * At or above the bound, the segments an operator has moved out of the folder (archived) stop counting: the
   * folder is looked at every `probeIntervalMs` until the journal is back under its bound.
   */
  function watchBound(): void {
    if (boundTimer !== undefined || closed) return;
    boundTimer = setInterval(() => void rescan(), probeIntervalMs);
    boundTimer.unref();
  }

  async function rescan(): Promise<void> {
    let present: Set<string>;
    try {
      present = new Set((await listSegments(dir)).map((s) => s.name));
    } catch {
      return;
    }
    // Never the segment being written: it is open, and its size is the journal's own count.
    for (let i = segments.length - 2; i >= 0; i--) {
      const segment = segments[i] as Segment;
      if (present.has(segment.name)) continue;
      segments.splice(i, 1);
      total -= segment.size;
    }
    if (total < maxBytes || closed) {
      clearInterval(boundTimer);
      boundTimer = undefined;
    }
  }

  function stalled(): boolean {
    return writeStartedAt > 0 && performance.now() - writeStartedAt > ackTimeoutMs;
  }

  function problem(): string | undefined {
    if (closed) return "the audit journal is closed";
    if (handle === undefined) return "the audit journal is not started";
    if (failure !== undefined) return `the audit journal cannot be written: ${failure.message}`;
    if (total >= maxBytes) {
      watchBound();
      return `the audit journal holds ${total} bytes, at or above its bound of ${maxBytes}`;
    }
    if (stalled()) return `a write to the audit journal has not finished within ${ackTimeoutMs} ms`;
    return undefined;
  }

  return {
    kind: "journal",
    dir,

    async start(): Promise<void> {
      if (handle !== undefined) return;
      try {
        await mkdir(dir, { recursive: true });
        for (const { name } of await listSegments(dir)) segments.push({ name, size: (await stat(join(dir, name))).size });
        if (segments.length === 0) {
          await openSegment(1n);
          return;
        }
        // A crash may have left the end of the last segment half written (never acknowledged): keep those
        // bytes aside for inspection and continue from the last whole record. The zero-filled space after
        // the records is cut off too.
        const last = active();
        const path = join(dir, last.name);
        const content = await readFile(path);
        const parsed = parseRecords(content);
        if (parsed.validBytes < content.length) {
          if (parsed.problem !== undefined)
            await writeFile(`${path}.torn-${Date.now()}`, withoutZeroTail(content.subarray(parsed.validBytes)));
          const file = await open(path, "r+");
          await file.truncate(parsed.validBytes).finally(() => file.close());
          last.size = parsed.validBytes;
        }
        allocated = last.size;
        for (const segment of segments) total += segment.size;
        const head = await lastEvent(dir, segments, segments.length - 1);
        committedSequence = head?.sequence ?? 0n;
        committedDigest = head?.chainDigest ?? new Uint8Array();
        nextSequence = committedSequence + 1n;
        headDigest = committedDigest;
        handle = await open(path, constants.O_RDWR | constants.O_DSYNC);
        preallocate();
      } catch (error) {
        throw new EstelamError("AUDIT_UNAVAILABLE", `the audit journal in ${dir} cannot be opened: ${(error as Error).message}`, {
          cause: error,
        });
      }
    },

    append(event: AuditEvent): Promise<void> {
      if (closed) return Promise.reject(refuse("closed", "the audit journal is closed"));
      if (handle === undefined) return Promise.reject(refuse("closed", "the audit journal is not started"));
      if (failure !== undefined)
        return Promise.reject(refuse("failed", `the audit journal in ${dir} cannot be written: ${failure.message}`));
      const sequence = nextSequence;
      const record = sealRecord(event, sequence, headDigest, key.secret);
      if (total + queuedBytes + record.length > hardLimit) {
        watchBound();
        return Promise.reject(refuse("full", `the audit journal in ${dir} is full (${total} bytes, bound ${maxBytes})`));
      }
      nextSequence += 1n;
      headDigest = event.chainDigest;
      queuedBytes += record.length;
      return new Promise<void>((resolve, reject) => {
        queue.push({ record, sequence, digest: event.chainDigest, appendedAt: performance.now(), resolve, reject });
        watch();
        void pump();
      });
    },

    ready: () => problem() === undefined,
    problem,
    pending: () => queue.length,
    bytes: () => total,

    committed(): JournalPosition {
      const segment = active();
      return { segment: segment?.name ?? segmentName(1n), offset: segment?.size ?? 0, sequence: committedSequence };
    },

    onCommit(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    hold(reader, segment) {
      holds.set(reader, segment);
    },

    async release(segment, reader): Promise<void> {
      holds.set(reader, segment);
      const until = [...holds.values()].reduce((a, b) => (a < b ? a : b), segment);
      while (segments.length > 1 && (segments[0] as Segment).name < until) {
        const old = segments[0] as Segment;
        await unlink(join(dir, old.name)).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== "ENOENT") throw error;
        });
        // Found gone by a look at the folder meanwhile (an archived segment) if it is no longer listed.
        const at = segments.indexOf(old);
        if (at >= 0) {
          segments.splice(at, 1);
          total -= old.size;
        }
      }
    },

    async close(): Promise<void> {
      if (closed) return;
      // What is queued is written before the file closes.
      const deadline = performance.now() + ackTimeoutMs;
      while ((queue.length > 0 || writing) && failure === undefined && performance.now() < deadline)
        await new Promise((r) => setTimeout(r, 5));
      closed = true;
      clearInterval(probeTimer);
      clearInterval(boundTimer);
      clearTimeout(watchdog);
      // A write still under way has outlasted the time-out: its callers are told so, as the watchdog would, and
      // that it is not known to be written.
      for (const entry of batch) {
        if (entry.resolve !== undefined) expireEntry(entry);
        settle(entry, new Error("the audit journal closed during the write"));
      }
      for (const entry of queue) settle(entry, refuse("closed", "the audit journal closed before the record was written"));
      queue = [];
      await trimActive().catch(() => {});
      const file = handle;
      handle = undefined;
      await file?.close();
    },
  };
}
