// One breaker per agency endpoint: agency faults open it, an open breaker fails fast without reaching the
// agency, a half-open probe closes it once the agency recovers; business answers, callers' cancels and their
// own short deadlines never trip it; and one failing or hanging agency does not hold up inquiries to the others.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { ConnectorFactory } from "../../connectors/connector.ts";
import { builtInConnectorKinds, createConnectorKinds } from "../../connectors/kinds.ts";
import { Code } from "../../core/errors.ts";
import { Answer } from "../../gen/estelam/inquiry/v1/inquiry_pb.js";
import { createInquiryClient } from "../helpers/client.ts";
import { findDocument, KEYS, scrapeMetrics, startTestGateway, type TestGateway } from "../helpers/gateway.ts";

const RESET_MS = 700;
const WINDOW_MS = 1000;
let t: TestGateway;

beforeAll(async () => {
  t = await startTestGateway({
    editDocuments(documents) {
      findDocument(documents, "Endpoint", "nocr/main").spec.breaker = {
        volumeThreshold: 4,
        errorThresholdPercentage: 50,
        resetTimeoutMs: RESET_MS,
        rollingWindowMs: 60_000,
        maxConcurrent: 20,
      };
      findDocument(documents, "Endpoint", "passport/main").spec.breaker = {
        volumeThreshold: 4,
        errorThresholdPercentage: 50,
        resetTimeoutMs: RESET_MS,
        rollingWindowMs: 60_000,
        maxConcurrent: 20,
      };
      // A short rolling window: failures older than it no longer count.
      findDocument(documents, "Endpoint", "post/main").spec.breaker = {
        volumeThreshold: 4,
        errorThresholdPercentage: 50,
        resetTimeoutMs: RESET_MS,
        rollingWindowMs: WINDOW_MS,
        maxConcurrent: 20,
      };
    },
  });
});
afterAll(async () => {
  await t?.close();
});
afterEach(async () => {
  t.agencies.faults.reset();
  // Leave the breaker closed for the next test.
  await expect.poll(async () => (await t.client.inquire(identity)).ok, { timeout: 5000, interval: 200 }).toBe(true);
});

const identity = {
  inquiryType: "nocr.identity-match.v1",
  params: { national_code: "0012345679", birth_date: "1348/01/31" },
  purpose: "kyc.account-opening",
  endUser: "teller-7",
};
const address = {
  inquiryType: "post.address-by-postcode.v1",
  params: { postal_code: "1193653471" },
  purpose: "kyc.address-verification",
  endUser: "teller-7",
};

async function breakerState(endpoint: string): Promise<string | undefined> {
  const samples = await scrapeMetrics(t.gateway);
  return samples.find((s) => s.name === "estelam_breaker_state" && s.labels.endpoint === endpoint && s.value === 1)?.labels.state;
}

describe("circuit breaker per agency endpoint", () => {
  it("opens under agency failures, fails fast without calling the agency, and closes after recovery", async () => {
    t.agencies.faults.set({ agency: "nocr", mode: "error" });
    const reasons: string[] = [];
    for (let i = 0; i < 8; i++) {
      const outcome = await t.client.inquire(identity);
      reasons.push(outcome.ok ? "answered" : (outcome.status.reason ?? "?"));
    }
    expect(reasons.slice(0, 4)).toEqual(Array(4).fill("AGENCY_UNAVAILABLE"));
    expect(reasons.slice(4)).toEqual(Array(4).fill("BREAKER_OPEN"));
    expect(await breakerState("nocr/main")).toBe("open");

    const received = t.agencies.stats().nocr.received;
    const fast = await t.client.inquire(identity);
    expect(fast.ok).toBe(false);
    if (!fast.ok) {
      expect(fast.status).toMatchObject({ code: Code.UNAVAILABLE, reason: "BREAKER_OPEN", agency: "nocr", origin: "agency" });
      expect(fast.status.retryAfterMs).toBeGreaterThanOrEqual(0);
      expect(fast.status.retryAfterMs).toBeLessThanOrEqual(RESET_MS);
    }
    expect(t.agencies.stats().nocr.received).toBe(received); // the open breaker did not call the agency

    // Other agencies are unaffected.
    const other = await t.client.inquire(address);
    expect(other.ok && other.response.answer).toBe(Answer.FOUND);
    expect(await breakerState("post/main")).toBe("closed");

    // The agency recovers; after the reset timeout a half-open probe goes through and closes the breaker.
    t.agencies.faults.reset();
    await new Promise((r) => setTimeout(r, RESET_MS + 100));
    const probe = await t.client.inquire(identity);
    expect(probe.ok && probe.response.answer).toBe(Answer.FOUND);
    expect(await breakerState("nocr/main")).toBe("closed");
    const samples = await scrapeMetrics(t.gateway);
    expect(
      samples.find((s) => s.name === "estelam_breaker_short_circuits_total" && s.labels.endpoint === "nocr/main" && s.labels.why === "open")
        ?.value,
    ).toBeGreaterThanOrEqual(5);
  });

  it("forgets failures once they are older than the endpoint's rolling window", async () => {
    // Start from a window with no calls in it (earlier tests asked this agency too).
    await new Promise((r) => setTimeout(r, WINDOW_MS + 300));
    t.agencies.faults.set({ agency: "post", mode: "error" });
    for (let i = 0; i < 3; i++) expect((await t.client.inquire(address)).ok).toBe(false);
    expect(await breakerState("post/main")).toBe("closed");
    // Three failures, under the volume threshold of four; once they have left the window, a fourth does not
    // open the breaker.
    await new Promise((r) => setTimeout(r, WINDOW_MS + 300));
    const fourth = await t.client.inquire(address);
    expect(!fourth.ok && fourth.status.reason).toBe("AGENCY_UNAVAILABLE");
    expect(await breakerState("post/main")).toBe("closed");
    // Within the window the same count does open it.
    for (let i = 0; i < 3; i++) await t.client.inquire(address);
    expect(await breakerState("post/main")).toBe("open");
    t.agencies.faults.reset();
    await expect.poll(async () => (await t.client.inquire(address)).ok, { timeout: 5000, interval: 200 }).toBe(true);
  });

  it("reopens when the half-open probe fails", async () => {
    t.agencies.faults.set({ agency: "nocr", mode: "error" });
    for (let i = 0; i < 5; i++) await t.client.inquire(identity);
    expect(await breakerState("nocr/main")).toBe("open");
    await new Promise((r) => setTimeout(r, RESET_MS + 100));
    const probe = await t.client.inquire(identity);
    expect(!probe.ok && probe.status.reason).toBe("AGENCY_UNAVAILABLE");
    expect(await breakerState("nocr/main")).toBe("open");
    const next = await t.client.inquire(identity);
    expect(!next.ok && next.status.reason).toBe("BREAKER_OPEN");
  });

  it("stays open when the half-open probe is cut short by its caller's own deadline", async () => {
    t.agencies.faults.set({ agency: "nocr", mode: "error" });
    for (let i = 0; i < 5; i++) await t.client.inquire(identity);
    expect(await breakerState("nocr/main")).toBe("open");
    // The agency now hangs; the first caller after the reset time has a short deadline of its own.
    t.agencies.faults.set({ agency: "nocr", mode: "hang" });
    await new Promise((r) => setTimeout(r, RESET_MS + 100));
    const probe = await t.client.inquire(identity, { deadlineMs: 80 });
    expect(!probe.ok && probe.status.code).toBe(Code.DEADLINE_EXCEEDED);
    // The probe showed nothing about the agency: the others still fail fast instead of waiting on it.
    expect(await breakerState("nocr/main")).toBe("open");
    const next = await t.client.inquire(identity, { deadlineMs: 3000 });
    expect(!next.ok && next.status.reason).toBe("BREAKER_OPEN");
  });

  it("is not tripped by callers who cancel while the agency is slow", async () => {
    t.agencies.faults.set({ agency: "passport", mode: "ok", latencyMs: 400 });
    const office = createInquiryClient(t.gateway.grpcAddress, KEYS.counterOffice);
    const asked = t.agencies.stats().passport.received;
    try {
      const passport = {
        inquiryType: "passport.passport-status.v1",
        params: { national_code: "0012345679" },
        purpose: "counter.service-request",
        endUser: "desk-3",
      };
      for (let i = 0; i < 8; i++) {
        const controller = new AbortController();
        setTimeout(() => controller.abort(), 100);
        const outcome = await office.inquire(passport, { signal: controller.signal, deadlineMs: 5000 });
        expect(!outcome.ok && outcome.status.code).toBe(Code.CANCELLED);
      }
      // Every call reached the agency and was cut short there by its caller.
      expect(t.agencies.stats().passport.received).toBe(asked + 8);
      expect(await breakerState("passport/main")).toBe("closed");
    } finally {
      office.close();
    }
  });

  it("opens on an agency's failures even while most of its callers give up before it answers", async () => {
    // The agency fails every call, slowly. Two callers in three cannot wait that long: their calls say
    // nothing about the agency and are not counted, so they cannot dilute the failures of those that wait.
    t.agencies.faults.set({ agency: "passport", mode: "error", latencyMs: 300 });
    const office = createInquiryClient(t.gateway.grpcAddress, KEYS.counterOffice);
    const passport = {
      inquiryType: "passport.passport-status.v1",
      params: { national_code: "0012345679" },
      purpose: "counter.service-request",
      endUser: "desk-3",
    };
    try {
      const seen: Array<string | number> = [];
      for (let i = 0; i < 12 && (await breakerState("passport/main")) === "closed"; i++) {
        const patient = i % 3 === 2;
        const outcome = await office.inquire(passport, { deadlineMs: patient ? 3000 : 100 });
        // A caller's own deadline ends its call on its side, with the status alone.
        seen.push(
          outcome.ok ? "answered" : outcome.status.code === Code.DEADLINE_EXCEEDED ? outcome.status.code : (outcome.status.reason ?? ""),
        );
      }
      expect(seen.filter((r) => r === "AGENCY_UNAVAILABLE")).toHaveLength(4);
      expect(seen.filter((r) => r === Code.DEADLINE_EXCEEDED)).toHaveLength(8);
      expect(await breakerState("passport/main")).toBe("open");
    } finally {
      office.close();
    }
  });

  it("is not tripped by business answers", async () => {
    for (let i = 0; i < 12; i++) {
      const outcome = await t.client.inquire({ ...identity, params: { national_code: "9990000001", birth_date: "1360/01/01" } });
      expect(outcome.ok && outcome.response.answer).toBe(Answer.NOT_FOUND);
    }
    expect(await breakerState("nocr/main")).toBe("closed");
  });

  it("is not tripped by callers whose own deadline is shorter than the agency needs", async () => {
    t.agencies.faults.set({ agency: "nocr", mode: "ok", latencyMs: 400 });
    for (let i = 0; i < 8; i++) {
      const outcome = await t.client.inquire(identity, { deadlineMs: 80 });
      expect(!outcome.ok && outcome.status.code).toBe(Code.DEADLINE_EXCEEDED);
    }
    expect(await breakerState("nocr/main")).toBe("closed");
  });

  it("sheds load beyond the endpoint's concurrency limit with AGENCY_SATURATED", async () => {
    t.agencies.faults.set({ agency: "nocr", mode: "hang" });
    const controller = new AbortController();
    const hanging = Array.from({ length: 20 }, () => t.client.inquire(identity, { signal: controller.signal, deadlineMs: 20_000 }));
    await expect.poll(() => t.agencies.stats().nocr.hung, { timeout: 5000 }).toBeGreaterThanOrEqual(20);
    const extra = await t.client.inquire(identity);
    expect(!extra.ok && extra.status).toMatchObject({ code: Code.RESOURCE_EXHAUSTED, reason: "AGENCY_SATURATED", agency: "nocr" });
    controller.abort();
    const settled = await Promise.all(hanging);
    expect(settled.every((o) => !o.ok && o.status.code === Code.CANCELLED)).toBe(true);
  });
});

describe("isolation", () => {
  it("a hanging agency does not hold up inquiries to other agencies", async () => {
    t.agencies.faults.set({ agency: "nocr", mode: "hang" });
    let nocrSettled = 0;
    const hanging = Array.from({ length: 15 }, () => t.client.inquire(identity, { deadlineMs: 4000 }).finally(() => (nocrSettled += 1)));
    await expect.poll(() => t.agencies.stats().nocr.hung, { timeout: 5000 }).toBeGreaterThanOrEqual(15);
    for (let i = 0; i < 20; i++) {
      const outcome = await t.client.inquire(address);
      expect(outcome.ok && outcome.response.answer).toBe(Answer.FOUND);
    }
    // All twenty answers came while every NOCR inquiry was still waiting.
    expect(nocrSettled).toBe(0);
    const results = await Promise.all(hanging);
    expect(results.every((o) => !o.ok && o.status.code === Code.DEADLINE_EXCEEDED)).toBe(true);
  });
});

describe("a connector that ignores its request's deadline", () => {
  // The built-in http-json kind, but calling the agency without the request's signal: it waits however long
  // the agency takes. (The conformance kit fails such a connector; the gateway must survive one anyway.)
  function carelessKinds() {
    const builtIn = builtInConnectorKinds();
    const http = builtIn.get("http-json") as ConnectorFactory;
    const careless: ConnectorFactory = {
      ...http,
      kind: "careless-http",
      create(options, target) {
        const c = http.create(options, target);
        return {
          ...c,
          kind: "careless-http",
          call: (request, operation) => c.call({ ...request, signal: new AbortController().signal }, operation),
        };
      },
    };
    return createConnectorKinds([...builtIn.names().map((n) => builtIn.get(n) as ConnectorFactory), careless]);
  }

  let g: TestGateway | undefined;
  afterAll(async () => {
    await g?.close();
  });

  it("ends the inquiry at its deadline and frees the endpoint's place for the next", async () => {
    g = await startTestGateway({
      kinds: carelessKinds(),
      audit: "journal",
      editDocuments(documents) {
        const endpoint = findDocument(documents, "Endpoint", "nocr/main");
        endpoint.spec.kind = "careless-http";
        endpoint.spec.breaker = { maxConcurrent: 2 };
      },
    });
    g.agencies.faults.set({ agency: "nocr", mode: "ok", latencyMs: 5_000 });
    const started = performance.now();
    const slow = await Promise.all([g.client.inquire(identity, { deadlineMs: 200 }), g.client.inquire(identity, { deadlineMs: 200 })]);
    for (const outcome of slow) expect(!outcome.ok && outcome.status.code).toBe(Code.DEADLINE_EXCEEDED);
    expect(performance.now() - started).toBeLessThan(2_000);
    // A second later both places are free again, although the agency has not answered either call yet.
    g.agencies.faults.reset();
    await new Promise((r) => setTimeout(r, 1_000));
    const next = await g.client.inquire(identity, { deadlineMs: 3_000 });
    expect(next.ok ? next.response.answer : next.status.reason).toBe(Answer.FOUND);
  });
});
