// The gateway's audit index with its embedded database (PGlite runs one transaction at a time): a backlog of
// records is indexed in transactions of bounded size, so other statements are not held up behind the whole
// backlog, and the event loop turns between them; every record is indexed once.
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it, onTestFinished } from "vitest";
import { type AuditIndex, openAuditIndex } from "../../observability/audit/audit-index.ts";
import { createAuditKey } from "../../observability/audit/event.ts";
import { createAuditJournal } from "../../observability/audit/journal.ts";
import { createJournalIndexer } from "../../observability/audit/journal-indexer.ts";
import { openDatabase } from "../../registry/database-open.ts";
import { sampleEvent } from "../helpers/audit-events.ts";

const key = createAuditKey("index-batches-test-key-0123456789");

it("indexes a backlog in transactions of at most 128 KiB, the event loop turning between them, each record once", async () => {
  const database = await openDatabase({ dataDir: await mkdtemp(join(tmpdir(), "idxbatch-db-")), schema: "estelam" });
  onTestFinished(() => database.close());
  const index = await openAuditIndex(database);

  const journal = createAuditJournal({ dir: await mkdtemp(join(tmpdir(), "idxbatch-journal-")), key });
  await journal.start();
  onTestFinished(() => journal.close());
  // A backlog of about 1.1 MB (records of about 750 bytes), as a gateway leaves after a busy stretch.
  const records = 1500;
  await Promise.all(
    Array.from({ length: records }, (_, i) => {
      const e = sampleEvent(i + 1);
      e.gatewayInstance = "test";
      e.keyId = key.id;
      e.caseReference = `case ${"x".repeat(600)}`;
      return journal.append(e);
    }),
  );

  // The real index, watched: the bytes of each transaction, and the turns the event loop took before it.
  let turns = 0;
  const ticker = setInterval(() => turns++, 1);
  onTestFinished(() => clearInterval(ticker));
  const calls: Array<{ bytes: number; turnsBefore: number }> = [];
  const watched: AuditIndex = {
    ...index,
    add(batch, source) {
      calls.push({ bytes: batch.reduce((sum, r) => sum + r.length, 0), turnsBefore: turns });
      return index.add(batch, source);
    },
  };
  const indexer = createJournalIndexer({ journal, index: watched, source: "journal:test" });
  await indexer.start();
  onTestFinished(() => indexer.close());

  await expect.poll(() => index.count(), { timeout: 30_000, interval: 100 }).toBe(records);
  const bound = 128 * 1024;
  expect(calls.length).toBeGreaterThanOrEqual(Math.ceil((records * 750) / bound));
  for (const call of calls) expect(call.bytes).toBeLessThanOrEqual(bound);
  // Timers ran between every two transactions: the backlog was not indexed in one stretch of the thread.
  for (let i = 1; i < calls.length; i++)
    expect((calls[i] as { turnsBefore: number }).turnsBefore).toBeGreaterThan((calls[i - 1] as { turnsBefore: number }).turnsBefore);
  await expect.poll(() => indexer.lag(), { timeout: 5000 }).toBe(0);
}, 60_000);
