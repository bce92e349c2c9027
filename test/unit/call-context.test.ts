// How a call that ends without a status of ours is classified: a client gives up at its own deadline, which
// started before ours by the request's time in transit, so its cancel arriving just before our deadline is
// the deadline passing (DEADLINE_EXCEEDED in the audit record and metrics); earlier, the caller cancelled.
import { describe, expect, it } from "vitest";
import { DEADLINE_SLACK_MS, deadlinePassed } from "../../gateway/grpc/call-context.ts";

describe("deadlinePassed", () => {
  const deadline = 1_000_000;

  it("takes a cancel at or after the deadline, or just before it, as the deadline passing", () => {
    expect(deadlinePassed(deadline, deadline + 5)).toBe(true);
    expect(deadlinePassed(deadline, deadline)).toBe(true);
    expect(deadlinePassed(deadline, deadline - 10)).toBe(true);
    expect(deadlinePassed(deadline, deadline - DEADLINE_SLACK_MS)).toBe(true);
  });

  it("takes an earlier cancel, or one on a call without a deadline, as the caller cancelling", () => {
    expect(deadlinePassed(deadline, deadline - DEADLINE_SLACK_MS - 1)).toBe(false);
    expect(deadlinePassed(deadline, deadline - 400)).toBe(false);
    expect(deadlinePassed(undefined, deadline)).toBe(false);
    expect(deadlinePassed(Number.POSITIVE_INFINITY, deadline)).toBe(false);
  });
});
