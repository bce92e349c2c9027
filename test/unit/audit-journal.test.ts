// The local audit journal: records are durable and chained across restarts, a torn tail left by a crash is
// set aside, the zero-filled space ahead of the last record is never read as records, the bound refuses at once and clears as segments are released, and any change to a stored
// record is named by verify.
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { AuditEventSchema } from "../../gen/estelam/audit/v1/audit_pb.js";
import { createAuditKey } from "../../observability/audit/event.ts";
import { type AuditJournal, createAuditJournal } from "../../observability/audit/journal.ts";
import { createJournalCursor } from "../../observability/audit/journal-cursor.ts";
import { listSegments, parseRecords, segmentName } from "../../observability/audit/journal-format.ts";
import { lateAuditWrite } from "../../observability/audit/sink.ts";
import { verifyJournal, verifyRecords } from "../../observability/audit/verify.ts";
import { expectAuditUnavailable, sampleEvent } from "../helpers/audit-events.ts";

const key = createAuditKey("unit-test-audit-key-0123456789");
const keys = new Map([[key.id, key.secret]]);

async function journalIn(dir: string, options: { maxBytes?: number; segmentBytes?: number } = {}): Promise<AuditJournal> {
  const journal = createAuditJournal({ dir, key, ...options });
  await journal.start();
  return journal;
}

function event(n: number) {
  const e = sampleEvent(n);
  e.gatewayInstance = "unit";
  e.keyId = key.id;
  return e;
}

/** A closed journal of `count` records in one segment: its folder, and its segment's name and path. */
async function closedJournalWith(count: number): Promise<{ dir: string; name: string; path: string }> {
  const dir = await mkdtemp(join(tmpdir(), "journal-"));
  const journal = await journalIn(dir);
  for (let n = 1; n <= count; n++) await journal.append(event(n));
  await journal.close();
  const [segment] = await listSegments(dir);
  const name = segment?.name ?? "";
  return { dir, name, path: join(dir, name) };
}

async function allEvents(dir: string) {
  const out = [];
  for (const segment of await listSegments(dir)) {
    for (const record of parseRecords(await readFile(join(dir, segment.name))).records)
      out.push(fromBinary(AuditEventSchema, record.payload));
  }
  return out;
}

describe("audit journal", () => {
  it("makes appends durable in order and continues the same chain after a restart", async () => {
    const dir = await mkdtemp(join(tmpdir(), "journal-"));
    const first = await journalIn(dir);
    await Promise.all([1, 2, 3].map((n) => first.append(event(n))));
    expect(first.committed().sequence).toBe(3n);
    await first.close();

    const second = await journalIn(dir);
    await second.append(event(4));
    await second.close();
    const events = await allEvents(dir);
    expect(events.map((e) => e.inquiryId)).toEqual(["inq-00001", "inq-00002", "inq-00003", "inq-00004"]);
    expect(events.map((e) => e.sequence)).toEqual([1n, 2n, 3n, 4n]);
    expect(events[3]?.previousDigest).toEqual(events[2]?.chainDigest);
    const report = await verifyJournal(dir, keys);
    expect(report.breaks).toEqual([]);
    expect(report.records).toBe(4);
    expect(report.instances.get("unit")).toEqual({ first: 1n, last: 4n });
  });

  it("sets a torn tail aside at start and goes on from the last whole record", async () => {
    const dir = await mkdtemp(join(tmpdir(), "journal-"));
    const journal = await journalIn(dir);
    await journal.append(event(1));
    await journal.close();
    const [segment] = await listSegments(dir);
    const path = join(dir, segment?.name ?? "");
    // Half a record, as a crash in the middle of a write leaves it.
    await writeFile(path, Buffer.concat([await readFile(path), Buffer.from([0, 0, 1, 0, 9, 9])]));

    const again = await journalIn(dir);
    await again.append(event(2));
    await again.close();
    expect((await allEvents(dir)).map((e) => e.sequence)).toEqual([1n, 2n]);
    expect((await readdir(dir)).some((name) => name.includes(".torn-"))).toBe(true);
    expect((await verifyJournal(dir, keys)).breaks).toEqual([]);
  });

  it("zero-fills ahead of the last record while open; readers see the records only; a restart and close cut it off", async () => {
    const dir = await mkdtemp(join(tmpdir(), "journal-"));
    const journal = await journalIn(dir);
    for (let n = 1; n <= 3; n++) await journal.append(event(n));
    const [segment] = await listSegments(dir);
    const path = join(dir, segment?.name ?? "");
    // The space after the records is made in the background: wait for it.
    await expect.poll(async () => (await stat(path)).size, { timeout: 2000 }).toBeGreaterThan(journal.committed().offset);
    const open = await readFile(path);
    expect(open.subarray(journal.committed().offset).every((byte) => byte === 0)).toBe(true);
    // A reader of the open journal (or of one left by a crash) sees the three records and no damage.
    const parsed = parseRecords(open);
    expect(parsed.records).toHaveLength(3);
    expect(parsed.problem).toBeUndefined();
    expect((await verifyJournal(dir, keys)).breaks).toEqual([]);

    // As after kill -9: a copy of the folder as it is now, zero-filled space and all, is opened again.
    const copy = await mkdtemp(join(tmpdir(), "journal-"));
    await writeFile(join(copy, segment?.name ?? ""), open);
    const again = await journalIn(copy);
    await again.append(event(4));
    await again.close();
    expect((await allEvents(copy)).map((e) => e.sequence)).toEqual([1n, 2n, 3n, 4n]);
    expect((await readdir(copy)).some((name) => name.includes(".torn-"))).toBe(false);
    expect((await stat(join(copy, segment?.name ?? ""))).size).toBe(again.committed().offset);

    await journal.close();
    expect((await stat(path)).size).toBe(journal.committed().offset);
  });

  it("names a record whose length was zeroed as damage, not as the end of the records", async () => {
    const { dir, name, path } = await closedJournalWith(3);
    const content = await readFile(path);
    const second = parseRecords(content).records[1] as { offset: number };
    content.fill(0, second.offset, second.offset + 8);
    await writeFile(path, content);
    const parsed = parseRecords(content);
    expect(parsed.records).toHaveLength(1);
    expect(parsed.problem).toBe("a record claims 0 bytes");
    const report = await verifyJournal(dir, keys);
    expect(report.breaks.map((b) => b.where)).toEqual([`${name}@${second.offset}`]);
  });

  it("starts new segments and deletes released ones", async () => {
    const dir = await mkdtemp(join(tmpdir(), "journal-"));
    const journal = await journalIn(dir, { segmentBytes: 1024 });
    for (let n = 1; n <= 20; n++) await journal.append(event(n));
    const segments = await listSegments(dir);
    expect(segments.length).toBeGreaterThan(2);
    const before = journal.bytes();
    await journal.release((segments.at(-1) as { name: string }).name, "test");
    expect((await listSegments(dir)).map((s) => s.name)).toEqual([(segments.at(-1) as { name: string }).name]);
    expect(journal.bytes()).toBeLessThan(before);
    await journal.close();
  });

  it("refuses at once above its bound, and takes records again once segments are released", async () => {
    const dir = await mkdtemp(join(tmpdir(), "journal-"));
    const journal = await journalIn(dir, { maxBytes: 4096, segmentBytes: 1024 });
    let n = 0;
    while (journal.ready()) await journal.append(event(++n));
    expect(journal.problem()).toMatch(/at or above its bound of 4096/);
    // The reserve above the bound still takes records (of inquiries under way, of refusals) ...
    await journal.append(event(++n));
    // ... until it is gone; then a refusal comes at once.
    let refused: unknown;
    for (let i = 0; i < 100 && refused === undefined; i++) {
      const started = performance.now();
      await journal.append(event(++n)).catch((error: unknown) => {
        refused = error;
        expect(performance.now() - started).toBeLessThan(50);
      });
    }
    expectAuditUnavailable(refused);
    expect((refused as Error).message).toMatch(/is full/);

    await journal.release(journal.committed().segment, "test");
    expect(journal.ready()).toBe(true);
    await journal.append(event(++n));
    await journal.close();
  });

  it("refuses at once when a write fails, keeps the chain without a gap, and recovers by itself", async () => {
    const dir = await mkdtemp(join(tmpdir(), "journal-"));
    const journal = createAuditJournal({ dir, key, segmentBytes: 1024, probeIntervalMs: 50 });
    await journal.start();
    // The next segments cannot be created: their names are taken (as by a damaged file system).
    const blocked = Array.from({ length: 40 }, (_, i) => join(dir, segmentName(BigInt(i + 2))));
    for (const path of blocked) await mkdir(path);
    let n = 0;
    let failure: unknown;
    while (failure === undefined && n < 40) await journal.append(event(++n)).catch((error: unknown) => (failure = error));
    expectAuditUnavailable(failure);
    expect(journal.ready()).toBe(false);
    expect(journal.problem()).toMatch(/cannot be written/);
    const started = performance.now();
    await expect(journal.append(event(++n))).rejects.toThrow(/cannot be written/);
    expect(performance.now() - started).toBeLessThan(20);

    for (const path of blocked) await rm(path, { recursive: true });
    await expect.poll(() => journal.ready(), { timeout: 2000 }).toBe(true);
    await journal.append(event(++n));
    await journal.close();
    const report = await verifyJournal(dir, keys);
    expect(report.breaks).toEqual([]);
    const events = await allEvents(dir);
    expect(events.map((e) => e.sequence)).toEqual(events.map((_, i) => BigInt(i + 1)));
    expect(events.at(-1)?.inquiryId).toBe(`inq-${String(n).padStart(5, "0")}`);
  });

  it("tells each append whose sync outlasts the time-out so, each after its own wait, and still writes the records", async () => {
    const dir = await mkdtemp(join(tmpdir(), "journal-"));
    // A disk slower than the time-out: every write waits 600 ms before it starts.
    const journal = createAuditJournal({ dir, key, ackTimeoutMs: 250, commitDelayMs: 600 });
    await journal.start();
    const settled = (promise: Promise<void>, from: number) =>
      promise.then(
        () => ({ ok: true, afterMs: performance.now() - from, error: undefined as unknown }),
        (error: unknown) => ({ ok: false, afterMs: performance.now() - from, error }),
      );
    const started = performance.now();
    const first = settled(journal.append(event(1)), started);
    await new Promise((r) => setTimeout(r, 100));
    const second = settled(journal.append(event(2)), started);
    const [a, b] = await Promise.all([first, second]);
    expect(a.ok).toBe(false);
    expectAuditUnavailable(a.error);
    expect(String(a.error)).toMatch(/did not sync the record within 250 ms/);
    expect(b.ok).toBe(false);
    // Each waited its own 250 ms: the second, appended 100 ms later, was not refused with the first.
    expect(a.afterMs).toBeGreaterThanOrEqual(245);
    expect(a.afterMs).toBeLessThan(450);
    expect(b.afterMs - a.afterMs).toBeGreaterThanOrEqual(80);
    // Refused in time, yet written: the trail holds both, in order, and each refusal says so in the end (the
    // gateway then amends the record with what its caller got).
    await expect.poll(() => journal.committed().sequence, { timeout: 3000 }).toBe(2n);
    expect(await lateAuditWrite(a.error)?.written).toBe(true);
    expect(await lateAuditWrite(b.error)?.written).toBe(true);
    // The watch goes on after it went quiet: a later append is refused after its own 250 ms, not at once.
    const third = await settled(journal.append(event(3)), performance.now());
    expect(third.ok).toBe(false);
    expect(third.afterMs).toBeGreaterThanOrEqual(245);
    expect(third.afterMs).toBeLessThan(450);
    await expect.poll(() => journal.committed().sequence, { timeout: 3000 }).toBe(3n);
    await journal.close();
    expect((await allEvents(dir)).map((e) => e.inquiryId)).toEqual(["inq-00001", "inq-00002", "inq-00003"]);
    expect((await verifyJournal(dir, keys)).breaks).toEqual([]);
  });

  it("tells an append refused for its time-out that its record was dropped when the write then fails", async () => {
    const dir = await mkdtemp(join(tmpdir(), "journal-"));
    // Every write waits 300 ms, past the 200 ms time-out; the second segment cannot be created.
    const journal = createAuditJournal({ dir, key, segmentBytes: 1024, ackTimeoutMs: 200, commitDelayMs: 300, probeIntervalMs: 50 });
    await journal.start();
    const refusal = (n: number) =>
      journal.append(event(n)).then(
        () => undefined,
        (error: unknown) => error,
      );
    const first = await Promise.all(Array.from({ length: 6 }, (_, i) => refusal(i + 1)));
    for (const error of first) expect(await lateAuditWrite(error)?.written).toBe(true);
    expect(journal.committed().sequence).toBe(6n);
    await mkdir(join(dir, segmentName(7n)));
    const dropped = await refusal(7);
    expectAuditUnavailable(dropped);
    expect(await lateAuditWrite(dropped)?.written).toBe(false);
    expect(journal.problem()).toMatch(/cannot be written/);
    await rm(join(dir, segmentName(7n)), { recursive: true });
    await expect.poll(() => journal.ready(), { timeout: 2000 }).toBe(true);
    await journal.close();
    expect((await allEvents(dir)).map((e) => e.sequence)).toEqual([1n, 2n, 3n, 4n, 5n, 6n]);
  });

  it("without a shipper, takes records again once an operator moves old segments out of its folder", async () => {
    const dir = await mkdtemp(join(tmpdir(), "journal-"));
    const archive = await mkdtemp(join(tmpdir(), "journal-archive-"));
    const journal = createAuditJournal({ dir, key, maxBytes: 4096, segmentBytes: 1024, probeIntervalMs: 50 });
    await journal.start();
    let n = 0;
    while (journal.ready()) await journal.append(event(++n));
    expect(journal.problem()).toMatch(/at or above its bound of 4096/);
    const segments = await listSegments(dir);
    for (const { name } of segments.slice(0, -1)) await rename(join(dir, name), join(archive, name));
    await expect.poll(() => journal.ready(), { timeout: 2000 }).toBe(true);
    expect(journal.bytes()).toBeLessThan(4096);
    await journal.append(event(++n));
    await journal.close();
    expect((await allEvents(dir)).at(-1)?.sequence).toBe(BigInt(n));
  });

  it("a reader whose next segment was deleted before it read it is told which records it passed over", async () => {
    const dir = await mkdtemp(join(tmpdir(), "journal-"));
    const journal = await journalIn(dir, { segmentBytes: 1024 });
    for (let n = 1; n <= 30; n++) await journal.append(event(n));
    const [oldest, second] = await listSegments(dir);
    const gaps: Array<[bigint, bigint]> = [];
    const cursor = createJournalCursor(
      dir,
      () => journal.committed(),
      { segment: oldest?.name ?? "", offset: 0, sequence: 0n },
      (payload) => fromBinary(AuditEventSchema, payload).sequence,
      (from, to) => gaps.push([from, to]),
    );
    await rm(join(dir, oldest?.name ?? ""));
    const batch = await cursor.next(64 * 1024);
    expect(gaps).toEqual([[1n, (second?.first ?? 0n) - 1n]]);
    expect(fromBinary(AuditEventSchema, batch?.records[0]?.payload ?? new Uint8Array()).sequence).toBe(second?.first);
    await journal.close();
  });

  it("names the record that was altered, whether its checksum was fixed or not", async () => {
    const { dir, name, path } = await closedJournalWith(5);
    const original = await readFile(path);
    const records = parseRecords(original).records;
    const third = records[2] as { offset: number; payload: Buffer };

    // A careful forger: changes the purpose of record 3 and fixes the record's checksum.
    const forged = fromBinary(AuditEventSchema, third.payload);
    forged.purpose = "something.else";
    const payload = Buffer.from(toBinary(AuditEventSchema, forged));
    const header = Buffer.alloc(8);
    header.writeUInt32BE(payload.length, 0);
    header.writeUInt32BE(crc32(payload), 4);
    const end = third.offset + 8 + third.payload.length;
    await writeFile(path, Buffer.concat([original.subarray(0, third.offset), header, payload, original.subarray(end)]));
    const report = await verifyJournal(dir, keys);
    expect(report.breaks[0]).toMatchObject({ where: `${name}@${third.offset}`, sequence: 3n, instance: "unit" });
    expect(report.breaks[0]?.problem).toMatch(/altered/);

    // A careless one: flips a byte, so the checksum no longer matches.
    const flipped = Buffer.from(original);
    flipped[third.offset + 20] = (flipped[third.offset + 20] as number) ^ 0xff;
    await writeFile(path, flipped);
    const careless = await verifyJournal(dir, keys);
    expect(careless.breaks[0]).toMatchObject({ where: `${name}@${third.offset}` });
    expect(careless.breaks[0]?.problem).toMatch(/checksum/);

    // Removing a record breaks the chain at the record after it.
    await writeFile(path, Buffer.concat([original.subarray(0, third.offset), original.subarray(end)]));
    const removed = await verifyJournal(dir, keys);
    expect(removed.breaks[0]).toMatchObject({ where: `${name}@${third.offset}`, sequence: 4n });
    expect(removed.breaks[0]?.problem).toMatch(/records 3 are missing/);
  });

  it("verifies records in any order, counting identical copies and naming a conflicting one", async () => {
    const dir = await mkdtemp(join(tmpdir(), "journal-"));
    const journal = await journalIn(dir);
    for (let n = 1; n <= 4; n++) await journal.append(event(n));
    await journal.close();
    const [segment] = await listSegments(dir);
    const stored = parseRecords(await readFile(join(dir, segment?.name ?? ""))).records.map((r, i) => ({
      where: `t/0@${i}`,
      payload: r.payload,
    }));
    const shuffled = [stored[2], stored[0], stored[3], stored[1], stored[1]].filter((r) => r !== undefined);
    const report = verifyRecords(shuffled, keys);
    expect(report).toMatchObject({ records: 4, duplicates: 1, breaks: [] });

    const other = fromBinary(AuditEventSchema, (stored[1] as { payload: Buffer }).payload);
    other.endUser = "someone-else";
    const forged = verifyRecords([...stored, { where: "t/1@0", payload: toBinary(AuditEventSchema, other) }], keys);
    expect(forged.breaks[0]).toMatchObject({ where: "t/1@0", sequence: 2n });
  });
});
