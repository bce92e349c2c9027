// The upstream histogram counts only calls that reached the agency: a call refused by the endpoint's
// bulkhead (AGENCY_SATURATED) or by an open breaker (BREAKER_OPEN) is a short circuit, never an upstream
// success; and refusals by the bulkhead do not dilute the breaker's error rate, so a failing agency under
// heavy load still opens its breaker.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { findDocument, scrapeMetrics, startTestGateway, type TestGateway } from "../helpers/gateway.ts";

const MAX_CONCURRENT = 3;
let t: TestGateway;

beforeAll(async () => {
  t = await startTestGateway({
    audit: "journal",
    editDocuments(documents) {
      findDocument(documents, "Endpoint", "nocr/main").spec.breaker = {
        volumeThreshold: 6,
        errorThresholdPercentage: 50,
        resetTimeoutMs: 60_000,
        rollingWindowMs: 60_000,
        maxConcurrent: MAX_CONCURRENT,
      };
    },
  });
});
afterAll(async () => {
  await t?.close();
});
beforeEach(() => {
  t.agencies.faults.reset();
});

const identity = {
  inquiryType: "nocr.identity-match.v1",
  params: { national_code: "0012345679", birth_date: "1348/01/31" },
  purpose: "kyc.account-opening",
  endUser: "teller-7",
};

async function upstream(): Promise<{ ok: number; fault: number; saturated: number; open: number }> {
  const samples = await scrapeMetrics(t.gateway);
  const value = (name: string, labels: Record<string, string>): number =>
    samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value ?? 0;
  return {
    ok: value("estelam_upstream_duration_seconds_count", { endpoint: "nocr/main", result: "ok" }),
    fault: value("estelam_upstream_duration_seconds_count", { endpoint: "nocr/main", result: "fault" }),
    saturated: value("estelam_breaker_short_circuits_total", { endpoint: "nocr/main", why: "saturated" }),
    open: value("estelam_breaker_short_circuits_total", { endpoint: "nocr/main", why: "open" }),
  };
}

async function wave(count: number): Promise<string[]> {
  const outcomes = await Promise.all(Array.from({ length: count }, () => t.client.inquire(identity)));
  return outcomes.map((o) => (o.ok ? "answered" : (o.status.reason ?? "?")));
}

describe("upstream metrics count only calls that reached the agency", () => {
  it("a bulkhead refusal is a short circuit, not an upstream success", async () => {
    t.agencies.faults.set({ agency: "nocr", mode: "ok", latencyMs: 300 });
    const before = await upstream();
    const receivedBefore = t.agencies.stats().nocr.received;
    const reasons = await wave(12);
    const reached = t.agencies.stats().nocr.received - receivedBefore;
    const after = await upstream();

    expect(reasons.filter((r) => r === "answered")).toHaveLength(MAX_CONCURRENT);
    expect(reasons.filter((r) => r === "AGENCY_SATURATED")).toHaveLength(12 - MAX_CONCURRENT);
    expect(reached).toBe(MAX_CONCURRENT);
    expect(after.ok - before.ok).toBe(reached);
    expect(after.fault - before.fault).toBe(0);
    expect(after.saturated - before.saturated).toBe(12 - MAX_CONCURRENT);
  });

  it("a failing agency under saturation still opens its breaker; open-breaker refusals are not upstream calls", async () => {
    t.agencies.faults.set({ agency: "nocr", mode: "error", latencyMs: 100 });
    const before = await upstream();
    const receivedBefore = t.agencies.stats().nocr.received;
    const seen: string[] = [];
    // Waves of 10 where 7 of each are refused by the bulkhead: only the 3 that reach the agency count.
    for (let i = 0; i < 3; i++) seen.push(...(await wave(10)));
    const reached = t.agencies.stats().nocr.received - receivedBefore;
    const after = await upstream();

    expect(seen).toContain("AGENCY_SATURATED");
    expect(seen).toContain("BREAKER_OPEN");
    expect(seen.filter((r) => r === "AGENCY_UNAVAILABLE")).toHaveLength(reached);
    expect(after.fault - before.fault).toBe(reached);
    expect(after.ok - before.ok).toBe(0);
    expect(after.open - before.open).toBe(seen.filter((r) => r === "BREAKER_OPEN").length);
  });
});
