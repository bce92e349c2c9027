// /metrics tells the heap of each thread the gateway runs besides its main one: the embedded database's and
// the audit shipper's. With the main thread's heap they say where the process's memory is, which RSS alone
// does not (a thread's young generation growing is memory no main-heap gauge shows).
import { afterAll, describe, expect, it } from "vitest";
import { scrapeMetrics, startTestGateway, type TestGateway } from "../helpers/gateway.ts";

const started: TestGateway[] = [];
afterAll(async () => {
  await Promise.all(started.map((t) => t.close()));
});

async function threadHeaps(t: TestGateway): Promise<Map<string, { total: number; used: number }>> {
  const samples = await scrapeMetrics(t.gateway);
  const heaps = new Map<string, { total: number; used: number }>();
  for (const s of samples) {
    const thread = s.labels.thread;
    if (thread === undefined) continue;
    const heap = heaps.get(thread) ?? { total: Number.NaN, used: Number.NaN };
    if (s.name === "estelam_thread_heap_size_total_bytes") heap.total = s.value;
    else if (s.name === "estelam_thread_heap_size_used_bytes") heap.used = s.value;
    else continue;
    heaps.set(thread, heap);
  }
  return heaps;
}

const ASK = {
  inquiryType: "nocr.identity-match.v1",
  params: { national_code: "0012345679", birth_date: "1348/01/31" },
  purpose: "kyc.account-opening",
  endUser: "teller-7",
} as const;

describe("thread heap metrics", () => {
  it("show the embedded database's and the Kafka shipper's threads, each heap used within its size", async () => {
    const t = await startTestGateway();
    started.push(t);
    expect((await t.client.inquire(ASK)).ok).toBe(true);
    await t.shipped();
    const heaps = await threadHeaps(t);
    expect([...heaps.keys()].sort()).toEqual(["audit-shipper", "database"]);
    for (const [thread, heap] of heaps) {
      // A thread that runs JavaScript holds at least a megabyte of heap; what it uses fits in what it has.
      expect(heap.used, thread).toBeGreaterThan(1024 * 1024);
      expect(heap.total, thread).toBeGreaterThanOrEqual(heap.used);
    }
  }, 60_000);

  it("show no thread a gateway does not run: a database server and the journal alone", async () => {
    const t = await startTestGateway({ database: "postgres", audit: "journal" });
    started.push(t);
    expect((await t.client.inquire(ASK)).ok).toBe(true);
    expect([...(await threadHeaps(t)).keys()]).toEqual([]);
  }, 60_000);
});
