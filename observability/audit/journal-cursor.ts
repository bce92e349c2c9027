// Reads a journal's durable records in order from a position, batch by batch, moving from segment to segment:
// what the shipper sends to Kafka and the audit index takes in.
import { open, stat } from "node:fs/promises";
import { join } from "node:path";
import type { JournalPosition } from "./journal.ts";
import { listSegments, type ParsedRecord, parseRecords, RECORD_HEADER_BYTES } from "./journal-format.ts";

export interface JournalBatch {
  readonly records: readonly ParsedRecord[];
  /** The position after the batch's last record. */
  readonly end: JournalPosition;
}

export interface JournalCursor {
  position(): JournalPosition;
  /** The next records after the position, up to about `maxBytes`; undefined when none are durable yet. */
  next(maxBytes: number): Promise<JournalBatch | undefined>;
  /** Moves the position (after a batch was taken in). */
  advance(to: JournalPosition): void;
}

/** Where reading starts: a saved position if its segment still exists, else the first segment. */
export async function startPosition(dir: string, saved: JournalPosition | undefined): Promise<JournalPosition> {
  const segments = await listSegments(dir);
  const first = segments[0];
  if (saved !== undefined && segments.some((s) => s.name === saved.segment)) return saved;
  if (saved !== undefined && first !== undefined && first.name > saved.segment)
    return { segment: first.name, offset: 0, sequence: saved.sequence };
  return { segment: first?.name ?? "", offset: 0, sequence: first === undefined ? 0n : first.first - 1n };
}

/**
 * `sequenceOf` reads a record's sequence from its payload (the caller decodes it anyway). `onGap` is told of
 * records the cursor passes over because their segment was deleted before it read them (sequences `from` to
 * `to`).
 */
export function createJournalCursor(
  dir: string,
  committed: () => JournalPosition,
  start: JournalPosition,
  sequenceOf: (payload: Buffer) => bigint,
  onGap?: (from: bigint, to: bigint) => void,
): JournalCursor {
  let position = start;

  async function readAt(segment: string, offset: number, length: number): Promise<Buffer> {
    const buffer = Buffer.allocUnsafe(length);
    const file = await open(join(dir, segment), "r");
    try {
      const { bytesRead } = await file.read(buffer, 0, length, offset);
      return buffer.subarray(0, bytesRead);
    } finally {
      await file.close();
    }
  }

  async function segmentSize(segment: string): Promise<number | undefined> {
    try {
      return (await stat(join(dir, segment))).size;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
  }

  return {
    position: () => position,
    advance(to) {
      position = to;
    },
    async next(maxBytes) {
      const end = committed();
      for (;;) {
        if (position.sequence >= end.sequence) return undefined;
        const current = position.segment === end.segment;
        const size = current ? end.offset : await segmentSize(position.segment);
        if (size === undefined) {
          // Deleted meanwhile (shipped and released): go on with the oldest segment there is.
          const next = (await listSegments(dir)).find((s) => s.name > position.segment);
          if (next === undefined) return undefined;
          if (next.first - 1n > position.sequence) onGap?.(position.sequence + 1n, next.first - 1n);
          position = { segment: next.name, offset: 0, sequence: next.first - 1n };
          continue;
        }
        if (position.offset >= size) {
          if (current) return undefined;
          const next = (await listSegments(dir)).find((s) => s.name > position.segment);
          if (next === undefined) return undefined;
          position = { segment: next.name, offset: 0, sequence: position.sequence };
          continue;
        }
        let buffer = await readAt(position.segment, position.offset, Math.min(size - position.offset, maxBytes));
        let parsed = parseRecords(buffer, position.offset);
        if (parsed.records.length === 0 && buffer.length >= RECORD_HEADER_BYTES) {
          // One record larger than the batch: read it whole.
          buffer = await readAt(position.segment, position.offset, RECORD_HEADER_BYTES + buffer.readUInt32BE(0));
          parsed = parseRecords(buffer, position.offset);
        }
        const last = parsed.records.at(-1);
        if (last === undefined)
          throw new Error(`journal segment ${position.segment} is damaged at byte ${position.offset}: ${parsed.problem ?? "no record"}`);
        return {
          records: parsed.records,
          end: {
            segment: position.segment,
            offset: last.offset + RECORD_HEADER_BYTES + last.payload.length,
            sequence: sequenceOf(last.payload),
          },
        };
      }
    },
  };
}
