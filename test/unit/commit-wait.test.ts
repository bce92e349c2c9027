// How the journal's readers wait: an idle wait ends with the next commit (or at once when one came while
// they looked), a back-off does not, and stopping ends every wait.
import { describe, expect, it } from "vitest";
import { createCommitWait } from "../../observability/audit/commit-wait.ts";

/** A journal's commit notifications, fired by the test. */
function commits() {
  const listeners = new Set<() => void>();
  return {
    onCommit(listener: () => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    commit: () => {
      for (const listener of listeners) listener();
    },
    listening: () => listeners.size,
  };
}

const elapsed = async (wait: Promise<void>): Promise<number> => {
  const started = performance.now();
  await wait;
  return performance.now() - started;
};

describe("commit wait", () => {
  it("ends an idle wait at the next commit", async () => {
    const journal = commits();
    const waits = createCommitWait(journal);
    waits.looking();
    setTimeout(journal.commit, 20);
    expect(await elapsed(waits.idle(10_000))).toBeLessThan(1000);
    waits.stop();
  });

  it("does not wait at all when a commit came while the reader looked", async () => {
    const journal = commits();
    const waits = createCommitWait(journal);
    waits.looking();
    journal.commit();
    expect(await elapsed(waits.idle(10_000))).toBeLessThan(50);
    // Looking again forgets it.
    waits.looking();
    expect(await elapsed(waits.idle(100))).toBeGreaterThanOrEqual(90);
    waits.stop();
  });

  it("does not cut a back-off short however many commits come", async () => {
    const journal = commits();
    const waits = createCommitWait(journal);
    const storm = setInterval(journal.commit, 2);
    try {
      expect(await elapsed(waits.sleep(300))).toBeGreaterThanOrEqual(290);
    } finally {
      clearInterval(storm);
    }
    waits.stop();
  });

  it("ends any wait when interrupted or stopped, and stops listening", async () => {
    const journal = commits();
    const waits = createCommitWait(journal);
    setTimeout(() => waits.interrupt(), 20);
    expect(await elapsed(waits.sleep(10_000))).toBeLessThan(1000);
    setTimeout(() => waits.stop(), 20);
    expect(await elapsed(waits.idle(10_000))).toBeLessThan(1000);
    expect(journal.listening()).toBe(0);
    expect(await elapsed(waits.sleep(10_000))).toBeLessThan(50);
  });
});
