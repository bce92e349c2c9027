import { type FileHandle, mkdtemp, open, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { equals, fromJsonString } from "@bufbuild/protobuf";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { type AuditEvent, AuditEventSchema } from "../../gen/estelam/audit/v1/audit_pb.js";
import { createFileAuditSink, type FileAuditSinkOptions } from "../../observability/audit/file-sink.ts";
import type { AuditSink, AuditSinkEvents } from "../../observability/audit/sink.ts";
import { expectAuditUnavailable, sampleEvent } from "../helpers/audit-events.ts";

async function readLines(path: string): Promise<string[]> {
  const text = await readFile(path, "utf8");
  expect(text === "" || text.endsWith("\n")).toBe(true);
  return text.split("\n").filter((line) => line !== "");
}

/** Tracks whether a promise has settled, without awaiting it. */
function track(promise: Promise<void>): { settled: () => boolean; promise: Promise<void> } {
  let settled = false;
  const observed = promise.finally(() => {
    settled = true;
  });
  observed.catch(() => {});
  return { settled: () => settled, promise: observed };
}

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

// The real FileHandle.datasync, held back on demand so a test can look at the sink while a sync is pending.
let fileHandlePrototype: { datasync: FileHandle["datasync"] };
let dir: string;
const sinks: AuditSink[] = [];

beforeAll(async () => {
  const scratch = await mkdtemp(join(tmpdir(), "estelam-proto-"));
  const handle = await open(join(scratch, "probe"), "w");
  fileHandlePrototype = Object.getPrototypeOf(handle) as { datasync: FileHandle["datasync"] };
  await handle.close();
  await rm(scratch, { recursive: true, force: true });
});

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "estelam-audit-"));
});

afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(sinks.splice(0).map((sink) => sink.close()));
  await rm(dir, { recursive: true, force: true });
});

async function startedSink(
  options: Partial<FileAuditSinkOptions> = {},
  events?: AuditSinkEvents,
): Promise<{ sink: AuditSink; path: string }> {
  const path = options.path ?? join(dir, "nested", "audit.jsonl");
  const sink = createFileAuditSink({ ...options, path }, events);
  sinks.push(sink);
  await sink.start();
  return { sink, path };
}

function holdSyncs(): { waiting: () => number; release: () => void; failNext: (error: Error) => void } {
  const original = fileHandlePrototype.datasync;
  const held: (() => void)[] = [];
  let holding = true;
  let failure: Error | undefined;
  vi.spyOn(fileHandlePrototype, "datasync").mockImplementation(async function (this: FileHandle) {
    if (holding) await new Promise<void>((resolve) => held.push(resolve));
    if (failure !== undefined) {
      const error = failure;
      failure = undefined;
      throw error;
    }
    return original.call(this);
  });
  return {
    waiting: () => held.length,
    release: () => {
      holding = false;
      for (const resolve of held.splice(0)) resolve();
    },
    failNext: (error) => {
      failure = error;
    },
  };
}

describe("file audit sink", () => {
  it("writes events as JSON lines in append order, after what the file already holds", async () => {
    const { sink, path } = await startedSink();
    const first = Array.from({ length: 50 }, (_, i) => sampleEvent(i));
    await Promise.all(first.map((event) => sink.append(event)));
    expect(sink.pending()).toBe(0);
    await sink.close();

    const again = await startedSink({ path });
    const second = Array.from({ length: 5 }, (_, i) => sampleEvent(100 + i));
    for (const event of second) await again.sink.append(event);

    const lines = await readLines(path);
    const written = lines.map((line) => fromJsonString(AuditEventSchema, line));
    const expected = [...first, ...second];
    expect(written.map((e) => e.inquiryId)).toEqual(expected.map((e) => e.inquiryId));
    for (const [i, event] of written.entries()) expect(equals(AuditEventSchema, event, expected[i] as AuditEvent)).toBe(true);
  });

  it("groups concurrent appends into batches of at most maxBatch", async () => {
    const batches: number[] = [];
    const { sink, path } = await startedSink({ maxBatch: 100 }, { onWritten: (count) => batches.push(count) });
    await Promise.all(Array.from({ length: 500 }, (_, i) => sink.append(sampleEvent(i))));
    expect(batches.reduce((a, b) => a + b, 0)).toBe(500);
    expect(Math.max(...batches)).toBeLessThanOrEqual(100);
    expect(batches.length).toBeLessThan(50);
    expect(await readLines(path)).toHaveLength(500);
  });

  it("resolves an append only once its batch is synced", async () => {
    const { sink, path } = await startedSink();
    const syncs = holdSyncs();
    const appends = [0, 1, 2].map((i) => track(sink.append(sampleEvent(i))));
    await until(() => syncs.waiting() === 1);
    // Written but not yet synced: nobody may be told the event is recorded.
    expect(await readLines(path)).toHaveLength(3);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(appends.map((a) => a.settled())).toEqual([false, false, false]);
    expect(sink.pending()).toBe(3);
    syncs.release();
    await Promise.all(appends.map((a) => a.promise));
    expect(sink.pending()).toBe(0);
  });

  it("refuses at once with AUDIT_UNAVAILABLE when the queue is full, and takes events again once it drains", async () => {
    const refused: string[] = [];
    const { sink } = await startedSink({ maxQueue: 3 }, { onRefused: (reason) => refused.push(reason) });
    const syncs = holdSyncs();
    const held = [0, 1, 2].map((i) => sink.append(sampleEvent(i)));
    await until(() => syncs.waiting() === 1);
    expect(sink.ready()).toBe(false);

    const started = performance.now();
    const error = await sink.append(sampleEvent(3)).catch((e: unknown) => e);
    expect(performance.now() - started).toBeLessThan(50);
    expectAuditUnavailable(error);
    expect((error as Error).message).toMatch(/full/);
    expect(refused).toEqual(["queue_full"]);

    syncs.release();
    await Promise.all(held);
    expect(sink.ready()).toBe(true);
    await sink.append(sampleEvent(4));
  });

  it("rejects an append not synced within ackTimeoutMs, keeps the event and still writes it", async () => {
    const refused: string[] = [];
    const { sink, path } = await startedSink({ ackTimeoutMs: 150 }, { onRefused: (reason) => refused.push(reason) });
    const syncs = holdSyncs();
    const started = performance.now();
    const error = await sink.append(sampleEvent(7)).catch((e: unknown) => e);
    const elapsed = performance.now() - started;
    expectAuditUnavailable(error);
    expect(elapsed).toBeGreaterThanOrEqual(140);
    expect(elapsed).toBeLessThan(1000);
    expect(refused).toEqual(["timeout"]);
    expect(sink.pending()).toBe(1);
    expect(sink.ready()).toBe(false);

    syncs.release();
    await until(() => sink.pending() === 0);
    expect(sink.ready()).toBe(true);
    const lines = await readLines(path);
    expect(lines.map((line) => fromJsonString(AuditEventSchema, line).inquiryId)).toEqual(["inq-00007"]);
  });

  it("retries a failed write without leaving a partial or duplicate line", async () => {
    const writeErrors: Error[] = [];
    const { sink, path } = await startedSink({}, { onWriteError: (error) => writeErrors.push(error) });
    const syncs = holdSyncs();
    syncs.failNext(Object.assign(new Error("EIO: i/o error, fdatasync"), { code: "EIO" }));
    const appends = [0, 1, 2].map((i) => sink.append(sampleEvent(i)));
    await until(() => syncs.waiting() === 1);
    syncs.release();
    await Promise.all(appends);
    expect(writeErrors.map((e) => e.message)).toEqual(["EIO: i/o error, fdatasync"]);
    const lines = await readLines(path);
    expect(lines.map((line) => fromJsonString(AuditEventSchema, line).inquiryId)).toEqual(["inq-00000", "inq-00001", "inq-00002"]);
  });

  it("close writes what is still queued, then refuses new appends", async () => {
    const { sink, path } = await startedSink({ lingerMs: 60_000, maxBatch: 1000 });
    const appends = Array.from({ length: 10 }, (_, i) => sink.append(sampleEvent(i)));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await readLines(path)).toHaveLength(0);
    await sink.close();
    await Promise.all(appends);
    expect(await readLines(path)).toHaveLength(10);
    expect(sink.ready()).toBe(false);
    expectAuditUnavailable(await sink.append(sampleEvent(11)).catch((e: unknown) => e));
  });

  it("start rejects with AUDIT_UNAVAILABLE when the path cannot be written", async () => {
    const blocker = join(dir, "blocker");
    await writeFile(blocker, "a regular file where a directory should be");
    const sink = createFileAuditSink({ path: join(blocker, "audit", "audit.jsonl") });
    const error = await sink.start().catch((e: unknown) => e);
    expectAuditUnavailable(error);
    expect((error as Error).message).toContain(join(blocker, "audit", "audit.jsonl"));
    expect(sink.ready()).toBe(false);
    expectAuditUnavailable(await sink.append(sampleEvent(1)).catch((e: unknown) => e));
  });
});
