// A binding with several endpoints: inquiries spread over those of the best priority by weight, fail over
// to another when one is down (the caller never sees it), each endpoint has its own breaker, and a backup
// of lower priority takes traffic only when the others cannot. Two separate demo-agency servers play two
// sites of the same agency.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Answer } from "../../gen/estelam/inquiry/v1/inquiry_pb.js";
import type { RegistryDocument } from "../../registry/documents.ts";
import { type DemoAgencies, startDemoAgencies } from "../../simulators/demo-agencies/server.ts";
import { findDocument, scrapeMetrics, startTestGateway, type TestGateway } from "../helpers/gateway.ts";

let t: TestGateway;
let second: DemoAgencies;
let backup: DemoAgencies;

function endpoint(name: string, baseUrl: string): RegistryDocument {
  return {
    source: "test",
    content: {
      apiVersion: "estelam.ir/v1",
      kind: "Endpoint",
      metadata: { name },
      spec: {
        kind: "http-json",
        options: { baseUrl },
        breaker: { volumeThreshold: 4, errorThresholdPercentage: 50, resetTimeoutMs: 60_000 },
      },
    },
  };
}

beforeAll(async () => {
  second = await startDemoAgencies({ port: 0 });
  backup = await startDemoAgencies({ port: 0 });
  t = await startTestGateway({
    audit: "journal",
    editDocuments(documents) {
      documents.push(endpoint("nocr/second-site", second.url), endpoint("nocr/backup", backup.url));
      const binding = findDocument(documents, "Binding", "nocr.identity-match.v1");
      const operation = { path: "/nocr/identity-match" };
      binding.spec.endpoints = [
        { endpoint: "nocr/main", operation, weight: 300 },
        { endpoint: "nocr/second-site", operation, weight: 100 },
        { endpoint: "nocr/backup", operation, priority: 1 },
      ];
    },
  });
});
afterAll(async () => {
  await t?.close();
  await second?.close();
  await backup?.close();
});

const IDENTITY = {
  inquiryType: "nocr.identity-match.v1",
  params: { national_code: "0012345679", birth_date: "1348/01/31" },
  purpose: "kyc.account-opening",
  endUser: "u",
};

async function ask(times: number): Promise<void> {
  for (let i = 0; i < times; i++) {
    const outcome = await t.client.inquire(IDENTITY);
    if (!outcome.ok) throw new Error(outcome.status.message);
    expect(outcome.response.answer).toBe(Answer.FOUND);
  }
}

const received = (agencies: DemoAgencies): number => agencies.stats().nocr?.received ?? 0;

describe("a binding with several endpoints", () => {
  it("spreads inquiries over the best priority by weight, and leaves the backup idle", async () => {
    t.agencies.resetStats();
    second.resetStats();
    await ask(200);
    const main = received(t.agencies);
    const other = received(second);
    expect(main + other).toBe(200);
    // Weights 300 : 100 — about three quarters to the main site.
    expect(main / 200).toBeGreaterThan(0.6);
    expect(main / 200).toBeLessThan(0.9);
    expect(received(backup)).toBe(0);
  });

  it("charges each inquiry to the fair share of the site it is sent to", async () => {
    // Slow sites, so that the inquiries are all in flight at once when counted.
    t.agencies.faults.set({ agency: "nocr", mode: "ok", latencyMs: 1_500 });
    second.faults.set({ agency: "nocr", mode: "ok", latencyMs: 1_500 });
    t.agencies.resetStats();
    second.resetStats();
    try {
      const asked = Array.from({ length: 24 }, () => t.client.inquire(IDENTITY));
      await expect.poll(() => received(t.agencies) + received(second), { timeout: 1_200, interval: 10 }).toBe(24);
      const samples = await scrapeMetrics(t.gateway);
      const charged = (endpoint: string) =>
        samples.find(
          (s) => s.name === "estelam_requester_in_flight" && s.labels.endpoint === endpoint && s.labels.requester === "demo-bank",
        )?.value ?? 0;
      expect({ main: charged("nocr/main"), second: charged("nocr/second-site") }).toEqual({
        main: received(t.agencies),
        second: received(second),
      });
      for (const outcome of await Promise.all(asked)) expect(outcome.ok).toBe(true);
    } finally {
      t.agencies.faults.reset();
      second.faults.reset();
    }
  });

  it("fails over when a site is down: every caller is answered, and only that site's breaker opens", async () => {
    second.faults.set({ agency: "nocr", mode: "down" });
    const states = () => t.gateway.upstreams.states();
    // Every inquiry is answered while the site's failures accumulate in its breaker's window.
    let asked = 0;
    while (states().get("nocr/second-site") !== "open" && asked < 300) {
      await ask(1);
      asked += 1;
    }
    expect(states().get("nocr/second-site")).toBe("open");
    expect(states().get("nocr/main")).toBe("closed");
    expect(second.stats().nocr?.dropped ?? 0).toBeGreaterThan(0);
    // From now on the open site is not asked at all.
    t.agencies.resetStats();
    second.resetStats();
    await ask(20);
    expect(received(t.agencies)).toBe(20);
    expect(received(second)).toBe(0);
    second.faults.reset();
  });

  it("the backup answers when every endpoint of the best priority is down", async () => {
    t.agencies.faults.set({ agency: "nocr", mode: "error" });
    backup.resetStats();
    await ask(10);
    expect(received(backup)).toBe(10);
    t.agencies.faults.reset();
  });
});
