// Follows the local journal into the audit index (audit-index.ts), in the background: each batch of durable
// records is indexed in one transaction together with the position reached, so a restart resumes exactly
// there and nothing is indexed twice. The indexer never holds journal segments: if the database is away
// long enough for shipped segments to be deleted meanwhile (at start or while it runs), the records it missed
// are indexed from the Kafka topic (`estelam audit index --brokers`), and a warning says so. It never holds up an answer either.
import { fromBinary } from "@bufbuild/protobuf";
import { AuditEventSchema } from "../../gen/estelam/audit/v1/audit_pb.js";
import type { AuditIndex } from "./audit-index.ts";
import { type CommitWait, createCommitWait } from "./commit-wait.ts";
import type { AuditJournal, JournalPosition } from "./journal.ts";
import { createJournalCursor, type JournalCursor, startPosition } from "./journal-cursor.ts";

export interface JournalIndexerEvents {
  onIndexed?(count: number, seconds: number): void;
  onError?(error: Error): void;
  /** Records between `from` and `to` (sequences) were gone from the journal before they were indexed. */
  onSkipped?(from: bigint, to: bigint): void;
}

export interface JournalIndexer {
  start(): Promise<void>;
  /** Records durable in the journal and not yet indexed. */
  lag(): number;
  close(): Promise<void>;
}

/**
 * Bytes of records per transaction (about 200 records). The database runs one transaction at a time (the
 * embedded one on its own thread), so this bounds how long the registry's, quotas' and scoreboard's statements
 * wait behind the index: 512 KiB (about 520 records) took about 20 ms in PGlite, 128 KiB about 8 ms, at about
 * the same cost per record. Between two transactions the journal is read again, and other statements run.
 */
const INDEX_BATCH_BYTES = 128 * 1024;
/**
 * Pause once caught up: the index is written in few transactions, not one per inquiry, and follows within
 * about this long.
 */
const INDEX_INTERVAL_MS = 500;
/** With nothing to index, the wait before looking again unless a commit wakes it (a safety net only). */
const IDLE_WAIT_MS = 10_000;

function parsePosition(text: string | undefined): JournalPosition | undefined {
  if (text === undefined) return undefined;
  const parsed = JSON.parse(text) as { segment: string; offset: number; sequence: string };
  return { segment: parsed.segment, offset: parsed.offset, sequence: BigInt(parsed.sequence) };
}

export function createJournalIndexer(options: {
  readonly journal: AuditJournal;
  readonly index: AuditIndex;
  /** The source's name in the index, e.g. `journal:<instance>`. */
  readonly source: string;
  readonly events?: JournalIndexerEvents;
}): JournalIndexer {
  const { journal, index, source, events } = options;
  let cursor: JournalCursor | undefined;
  let stopping = false;
  let loop: Promise<void> | undefined;
  let waits: CommitWait | undefined;
  let failures = 0;

  async function run(waits: CommitWait): Promise<void> {
    while (!stopping && cursor !== undefined) {
      try {
        waits.looking();
        const batch = await cursor.next(INDEX_BATCH_BYTES);
        if (batch === undefined) {
          await waits.idle(IDLE_WAIT_MS);
          continue;
        }
        const started = performance.now();
        const { segment, offset, sequence } = batch.end;
        await index.add(
          batch.records.map((r) => r.payload),
          { name: source, position: JSON.stringify({ segment, offset, sequence: sequence.toString() }) },
        );
        cursor.advance(batch.end);
        events?.onIndexed?.(batch.records.length, (performance.now() - started) / 1000);
        failures = 0;
        // Caught up (less than half a transaction left): pause, rather than index the few records since.
        const durable = journal.committed();
        if (durable.segment === batch.end.segment && durable.offset - batch.end.offset < INDEX_BATCH_BYTES / 2)
          await waits.sleep(INDEX_INTERVAL_MS);
      } catch (thrown) {
        failures += 1;
        events?.onError?.(thrown instanceof Error ? thrown : new Error(String(thrown)));
        if (stopping) return;
        await waits.sleep(Math.min(5000, 100 * 2 ** Math.min(failures - 1, 10)));
      }
    }
  }

  return {
    async start() {
      if (loop !== undefined) return;
      const saved = parsePosition(await index.position(source));
      const start = await startPosition(journal.dir, saved);
      if (saved !== undefined && start.segment !== saved.segment) {
        const first = BigInt(start.segment.replace(/\.seg$/, ""));
        if (first > saved.sequence + 1n) events?.onSkipped?.(saved.sequence + 1n, first - 1n);
      }
      cursor = createJournalCursor(
        journal.dir,
        () => journal.committed(),
        start,
        (payload) => fromBinary(AuditEventSchema, payload).sequence,
        (from, to) => events?.onSkipped?.(from, to),
      );
      waits = createCommitWait(journal);
      loop = run(waits);
    },
    lag: () => Number(journal.committed().sequence - (cursor?.position().sequence ?? 0n)),
    async close() {
      stopping = true;
      waits?.stop();
      await loop;
    },
  };
}
