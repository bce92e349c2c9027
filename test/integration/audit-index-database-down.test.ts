// The gateway's audit index when PostgreSQL goes away while inquiries go on: the journal keeps every record,
// the indexer backs off instead of retrying at every commit (several a millisecond under load), and once the
// database answers again every record is indexed, none twice.
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it, onTestFinished } from "vitest";
import { type AuditIndex, openAuditIndex } from "../../observability/audit/audit-index.ts";
import { createAuditKey } from "../../observability/audit/event.ts";
import { createAuditJournal } from "../../observability/audit/journal.ts";
import { createJournalIndexer } from "../../observability/audit/journal-indexer.ts";
import type { Database } from "../../registry/database.ts";
import { openDatabase } from "../../registry/database-open.ts";
import { sampleEvent } from "../helpers/audit-events.ts";
import { dropSchema, TEST_DATABASE_URL, uniqueSchema } from "../helpers/postgres.ts";
import { startDatabaseProxy } from "../helpers/tcp-proxy.ts";

const key = createAuditKey("index-down-test-key-0123456789");

it("backs off while PostgreSQL is away under a stream of commits, then indexes every record once", async () => {
  const { proxy, url } = await startDatabaseProxy(TEST_DATABASE_URL);
  onTestFinished(() => proxy.close());
  const schema = uniqueSchema("idxdown");
  onTestFinished(() => dropSchema(schema));
  const database: Database = await openDatabase({ url, dataDir: await mkdtemp(join(tmpdir(), "idxdown-")), schema });
  onTestFinished(() => database.close());
  const index: AuditIndex = await openAuditIndex(database);

  const journal = createAuditJournal({ dir: await mkdtemp(join(tmpdir(), "idxdown-journal-")), key });
  await journal.start();
  onTestFinished(() => journal.close());
  let errors = 0;
  const indexer = createJournalIndexer({ journal, index, source: "journal:test", events: { onError: () => errors++ } });
  await indexer.start();
  onTestFinished(() => indexer.close());

  let n = 0;
  const append = async (count: number) => {
    for (let i = 0; i < count; i++) {
      n += 1;
      const e = sampleEvent(n);
      e.gatewayInstance = "test";
      e.keyId = key.id;
      await journal.append(e);
    }
  };
  await append(20);
  await expect.poll(() => index.count(), { timeout: 10_000 }).toBe(20);

  await proxy.cut();
  // Two seconds of commits, one every few milliseconds.
  const until = Date.now() + 2000;
  while (Date.now() < until) {
    await append(1);
    await new Promise((r) => setTimeout(r, 3));
  }
  const appended = n;
  expect(appended).toBeGreaterThan(100);
  // Back-off 100, 200, 400, 800 ms...: a handful of attempts in two seconds, not one per commit.
  expect(errors).toBeGreaterThan(0);
  expect(errors).toBeLessThanOrEqual(8);
  expect(indexer.lag()).toBeGreaterThan(0);

  await proxy.restore();
  await expect.poll(() => index.count(), { timeout: 15_000, interval: 200 }).toBe(appended);
  await expect.poll(() => indexer.lag(), { timeout: 5000 }).toBe(0);
}, 60_000);
