// The fair share of an endpoint, on its own with a fake clock: an asking agency alone may use the whole
// capacity; once another wants it, each is held to its share; an agency that stops asking stops counting
// after the window. Property: whatever the sequence of asks and releases, the endpoint never holds more than
// its capacity, and no agency is admitted beyond its share of those that want the endpoint.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EstelamError } from "../../core/errors.ts";
import { createFairShare } from "../../gateway/fair-share.ts";

const endpoint = { key: "post/main", agency: "post" };

function refusal(take: () => unknown): string | undefined {
  try {
    take();
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(EstelamError);
    expect((error as EstelamError).reason).toBe("AGENCY_SATURATED");
    return (error as EstelamError).message;
  }
}

describe("fair share of an endpoint", () => {
  it("lets a lone caller use it all, then holds it to half once a second caller asks", () => {
    let now = 0;
    const shares = createFairShare({ windowMs: 5000, now: () => now });
    const bank = Array.from({ length: 10 }, () => shares.acquire(endpoint, 10, "demo-bank"));
    expect(refusal(() => shares.acquire(endpoint, 10, "counter-office"))).toContain("already has 10 inquiries in flight");
    // Two of the bank's inquiries finish; the bank asks again but now holds more than its half.
    bank.pop()?.();
    bank.pop()?.();
    expect(refusal(() => shares.acquire(endpoint, 10, "demo-bank"))).toContain("already has its share (5 of 10)");
    const counter = shares.acquire(endpoint, 10, "counter-office");
    expect(shares.inFlight()).toEqual([
      { endpoint: "post/main", requester: "demo-bank", inFlight: 8 },
      { endpoint: "post/main", requester: "counter-office", inFlight: 1 },
    ]);
    // The counter office finishes and stops asking: after the window the bank may use it all again.
    counter();
    now += 5001;
    for (let i = 0; i < 2; i++) bank.push(shares.acquire(endpoint, 10, "demo-bank"));
    expect(shares.inFlight()).toEqual([{ endpoint: "post/main", requester: "demo-bank", inFlight: 10 }]);
  });

  it("never holds more than the capacity, nor admits an agency beyond its share", () => {
    const step = fc.record({
      requester: fc.constantFrom("a", "b", "c", "d"),
      release: fc.boolean(),
      advanceMs: fc.integer({ min: 0, max: 3000 }),
    });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.array(step, { maxLength: 200 }), (capacity, steps) => {
        let now = 0;
        const shares = createFairShare({ windowMs: 5000, now: () => now });
        const held = new Map<string, Array<() => void>>();
        const lastAsked = new Map<string, number>();
        for (const { requester, release, advanceMs } of steps) {
          now += advanceMs;
          const mine = held.get(requester) ?? [];
          held.set(requester, mine);
          if (release && mine.length > 0) {
            mine.pop()?.();
            lastAsked.set(requester, now);
            continue;
          }
          lastAsked.set(requester, now);
          let admitted = true;
          try {
            mine.push(shares.acquire(endpoint, capacity, requester));
          } catch {
            admitted = false;
          }
          const total = [...held.values()].reduce((sum, h) => sum + h.length, 0);
          expect(total).toBeLessThanOrEqual(capacity);
          if (admitted) {
            const wanting = [...held.keys()].filter(
              (r) => (held.get(r)?.length ?? 0) > 0 || now - (lastAsked.get(r) ?? -Infinity) <= 5000,
            ).length;
            expect(mine.length).toBeLessThanOrEqual(Math.max(1, Math.ceil(capacity / wanting)));
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
