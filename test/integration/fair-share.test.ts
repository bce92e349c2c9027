// One greedy caller cannot take an agency endpoint from everyone else. The post agency is slowed to 1 s per
// answer through the simulator's control API and its endpoint takes 20 inquiries at once; the demo bank keeps
// 60 inquiries in flight (as many as it can), while the counter office asks on its own. Without fair shares
// the counter office finds the endpoint full every time; with them the bank is held to its share as soon as
// the counter office asks, and the counter office is answered.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createInquiryClient } from "../helpers/client.ts";
import { findDocument, KEYS, scrapeMetrics, startTestGateway, type TestGateway } from "../helpers/gateway.ts";

const CAPACITY = 20;
let t: TestGateway;

beforeAll(async () => {
  t = await startTestGateway({
    audit: "journal",
    editDocuments(documents) {
      const endpoint = findDocument(documents, "Endpoint", "post/main");
      endpoint.spec.breaker = { ...(endpoint.spec.breaker as object), maxConcurrent: CAPACITY };
    },
  });
});
afterAll(async () => {
  await t?.close();
});

const address = { inquiryType: "post.address-by-postcode.v1", params: { postal_code: "1193653471" }, endUser: "clerk-9" };

interface Tally {
  answered: number;
  refused: Record<string, number>;
}

/** `workers` loops asking one inquiry after another until `until`; a refusal waits 20 ms before the next try. */
async function ask(apiKey: string, purpose: string, workers: number, until: number): Promise<Tally> {
  const client = createInquiryClient(t.gateway.grpcAddress, apiKey);
  const tally: Tally = { answered: 0, refused: {} };
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (Date.now() < until) {
        const outcome = await client.inquire({ ...address, purpose }, { deadlineMs: 5000 });
        if (outcome.ok) tally.answered += 1;
        else {
          const reason = outcome.status.reason ?? String(outcome.status.code);
          tally.refused[reason] = (tally.refused[reason] ?? 0) + 1;
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    }),
  );
  client.close();
  return tally;
}

describe("fair share of an endpoint", () => {
  it("keeps answering a second asking agency while a greedy one keeps the endpoint full", async () => {
    const set = await fetch(`${t.agencies.url}/_control/faults`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ agency: "post", mode: "ok", latencyMs: 1000 }),
    });
    expect(set.status).toBe(200);
    try {
      const until = Date.now() + 5000;
      const greedy = ask(KEYS.demoBank, "kyc.address-verification", 60, until);
      await new Promise((r) => setTimeout(r, 300)); // the bank has filled the endpoint
      const [bank, counter] = await Promise.all([greedy, ask(KEYS.counterOffice, "counter.service-request", 6, until)]);

      // The counter office is answered most of the time after its first refusals, the bank keeps the rest.
      expect(counter.answered).toBeGreaterThanOrEqual(12);
      expect(bank.answered).toBeGreaterThanOrEqual(counter.answered);
      expect(Object.keys(bank.refused)).toEqual(["AGENCY_SATURATED"]);
      const samples = await scrapeMetrics(t.gateway);
      const refusedShare = samples.find(
        (s) => s.name === "estelam_fair_share_refusals_total" && s.labels.requester === "demo-bank" && s.labels.endpoint === "post/main",
      );
      expect(refusedShare?.value).toBeGreaterThan(0);
    } finally {
      t.agencies.faults.reset();
    }
  }, 30_000);
});
