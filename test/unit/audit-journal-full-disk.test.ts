// The audit journal on a disk that really fills (a small tmpfs, ENOSPC from the kernel): records go on into
// the space already zero-filled, then the journal refuses at once and says why, and when space is freed it
// recovers by itself with the chain whole and no damaged record left behind.
import { rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createAuditKey } from "../../observability/audit/event.ts";
import { createAuditJournal } from "../../observability/audit/journal.ts";
import { listSegments } from "../../observability/audit/journal-format.ts";
import { verifyJournal } from "../../observability/audit/verify.ts";
import { expectAuditUnavailable, readJournal, sampleEvent } from "../helpers/audit-events.ts";
import { mountSmallDiskForTest, type SmallDisk } from "../helpers/small-disk.ts";

const key = createAuditKey("unit-test-audit-key-0123456789");
const keys = new Map([[key.id, key.secret]]);

function event(n: number) {
  const e = sampleEvent(n);
  e.gatewayInstance = "unit";
  e.keyId = key.id;
  return e;
}

let disk: SmallDisk | undefined;
afterEach(async () => {
  await disk?.unmount();
  disk = undefined;
});

/** A 1 MiB disk, unmounted after the test. */
async function smallDisk(skip: (note: string) => void): Promise<SmallDisk> {
  disk = await mountSmallDiskForTest(1024 * 1024, skip);
  return disk;
}

describe("audit journal on a full disk", () => {
  it("writes into its zero-filled space while the disk is full, then refuses at once, and recovers when space is freed", async (ctx) => {
    const { dir: mount, fill } = await smallDisk((note) => ctx.skip(note));
    const dir = join(mount, "audit");
    const journal = createAuditJournal({ dir, key, segmentBytes: 64 * 1024, probeIntervalMs: 50 });
    await journal.start();
    let n = 0;
    await journal.append(event(++n));
    const [segment] = await listSegments(dir);
    const path = join(dir, segment?.name ?? "");
    // The segment is zero-filled 64 KiB ahead of its record, in the background.
    await expect.poll(async () => (await stat(path)).size, { timeout: 2000 }).toBeGreaterThanOrEqual(64 * 1024);

    const filler = await fill();
    // The disk has no byte left; records still go into the space reserved for them ...
    let refused: unknown;
    let afterFull = 0;
    while (refused === undefined && afterFull < 2000) {
      await journal.append(event(n + 1)).then(
        () => {
          n += 1;
          afterFull += 1;
        },
        (error: unknown) => {
          refused = error;
        },
      );
    }
    expect(afterFull).toBeGreaterThan(100);
    // ... until it is used up: then the write fails, the journal refuses and is not ready, and says why.
    expectAuditUnavailable(refused);
    expect((refused as Error).message).toMatch(/cannot be written.*ENOSPC/);
    expect(journal.ready()).toBe(false);
    expect(journal.problem()).toMatch(/ENOSPC/);
    // Every further record is refused at once, not after a wait.
    const started = performance.now();
    await expect(journal.append(event(n + 1))).rejects.toThrow(/cannot be written/);
    expect(performance.now() - started).toBeLessThan(20);

    await rm(filler);
    await expect.poll(() => journal.ready(), { timeout: 2000 }).toBe(true);
    for (let i = 0; i < 5; i++) await journal.append(event(++n));
    await journal.close();

    // Exactly the acknowledged records, in one unbroken chain: the failed write left nothing behind.
    const events = await readJournal(dir);
    expect(events.map((e) => e.sequence)).toEqual(events.map((_, i) => BigInt(i + 1)));
    expect(events.map((e) => e.inquiryId)).toEqual(Array.from({ length: n }, (_, i) => `inq-${String(i + 1).padStart(5, "0")}`));
    const report = await verifyJournal(dir, keys);
    expect(report.breaks).toEqual([]);
    expect(report.records).toBe(n);
  });

  it("keeps writing records when the disk is too full to zero-fill ahead, and cuts the segment back to its records on close", async (ctx) => {
    const { dir: mount, fill } = await smallDisk((note) => ctx.skip(note));
    const dir = join(mount, "audit");
    // 32 KiB left: room for records, not for the 256 KiB the journal zero-fills ahead.
    await fill(32 * 1024);
    const journal = createAuditJournal({ dir, key, segmentBytes: 256 * 1024, probeIntervalMs: 50 });
    await journal.start();
    let n = 0;
    for (let i = 0; i < 50; i++) await journal.append(event(++n));
    expect(journal.ready()).toBe(true);
    const [segment] = await listSegments(dir);
    const path = join(dir, segment?.name ?? "");
    // The zero-filling did not get its 256 KiB.
    expect((await stat(path)).size).toBeLessThan(256 * 1024);
    await journal.close();
    const events = await readJournal(dir);
    expect(events.map((e) => e.sequence)).toEqual(events.map((_, i) => BigInt(i + 1)));
    expect(events).toHaveLength(n);
    expect((await verifyJournal(dir, keys)).breaks).toEqual([]);
    // Closed, the segment holds its records and nothing after them.
    expect((await stat(path)).size).toBe(journal.committed().offset);
  });
});
