// The journal position shared with the shipper's thread: what the answering thread writes is what the other
// thread reads, never half of one write and half of another, and a wake asked for is given once.
import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { segmentName } from "../../observability/audit/journal-format.ts";
import { createSharedPosition, openSharedPosition } from "../../observability/audit/shared-position.ts";

const MODULE_URL = new URL("../../observability/audit/shared-position.ts", import.meta.url).href;
const FORMAT_URL = new URL("../../observability/audit/journal-format.ts", import.meta.url).href;

/** Position number `n`: every field follows from the sequence, so a mixed read shows. */
function positionAt(n: number) {
  const sequence = BigInt(n);
  return { segment: segmentName((sequence / 1000n) * 1000n + 1n), offset: n * 7, sequence };
}

describe("shared journal position", () => {
  it("reads back what was written, including the empty journal and sequences past 2^53", () => {
    const shared = createSharedPosition({ segment: "", offset: 0, sequence: 0n });
    expect(shared.read()).toEqual({ segment: "", offset: 0, sequence: 0n });
    const far = { segment: segmentName(2n ** 60n), offset: 65_000_000, sequence: 2n ** 60n + 5n };
    shared.write(far);
    const other = openSharedPosition(shared.buffer);
    expect(other.read()).toEqual(far);
    expect(other.read()).toBe(other.read());
    shared.write(positionAt(1234));
    expect(other.read()).toEqual(positionAt(1234));
  });

  it("gives a wake that was asked for once, and none that was not", () => {
    const writer = createSharedPosition(positionAt(1));
    const reader = openSharedPosition(writer.buffer);
    expect(writer.takeWakeRequest()).toBe(false);
    reader.requestWake();
    expect(writer.takeWakeRequest()).toBe(true);
    expect(writer.takeWakeRequest()).toBe(false);
  });

  it("refuses memory that is not a shared position", () => {
    expect(() => openSharedPosition(new SharedArrayBuffer(8))).toThrow(/not a shared journal position/);
  });

  it("is never read half-written by another thread while this one writes as fast as it can", async () => {
    const writes = 300_000;
    const shared = createSharedPosition(positionAt(0));
    const worker = new Worker(
      `
      const { workerData, parentPort } = require("node:worker_threads");
      (async () => {
        const { openSharedPosition } = await import(workerData.moduleUrl);
        const { segmentName } = await import(workerData.formatUrl);
        const shared = openSharedPosition(workerData.buffer);
        parentPort.postMessage("ready");
        let reads = 0, mixed = 0, distinct = 0, previous;
        for (;;) {
          const p = shared.read();
          reads++;
          if (p !== previous) {
            distinct++;
            previous = p;
            const s = p.sequence;
            if (p.offset !== Number(s) * 7 || p.segment !== segmentName((s / 1000n) * 1000n + 1n)) mixed++;
          }
          if (p.sequence === BigInt(workerData.last)) break;
        }
        parentPort.postMessage({ reads, mixed, distinct });
      })();
      `,
      { eval: true, workerData: { buffer: shared.buffer, moduleUrl: MODULE_URL, formatUrl: FORMAT_URL, last: writes } },
    );
    const result = new Promise<{ reads: number; mixed: number; distinct: number }>((resolve, reject) => {
      worker.on("message", (message: unknown) => {
        if (message !== "ready") resolve(message as { reads: number; mixed: number; distinct: number });
      });
      worker.on("error", reject);
    });
    await new Promise<void>((resolve) => worker.once("message", () => resolve()));
    for (let n = 1; n <= writes; n++) shared.write(positionAt(n));
    const { reads, mixed, distinct } = await result;
    await worker.terminate();
    expect(mixed).toBe(0);
    expect(distinct).toBeGreaterThan(1);
    expect(reads).toBeGreaterThanOrEqual(distinct);
  });
});
