// The operators' scoreboard through OperatorService and /metrics, against the real gateway and the demo
// agencies: every connected demo inquiry online, an outage injected through the simulator's control API
// turning its inquiry offline and back, a missed latency objective making it degraded, a registered type
// without a binding not connected, and the agencies' shares in the government reports' buckets.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOperatorClient, type OperatorClient } from "../../cli/operator-client.ts";
import { BreakerState, InquiryStatus, type Scoreboard, ShareBucket } from "../../gen/estelam/operator/v1/operator_pb.js";
import { findDocument, KEYS, scrapeMetrics, startTestGateway, type TestGateway } from "../helpers/gateway.ts";

let gw: TestGateway;
let operator: OperatorClient;

const POST = "post.address-by-postcode.v1";
const CBI = "cbi.iban-owner.v1";
const ask = {
  [POST]: { params: { postal_code: "1193653471" }, purpose: "kyc.address-verification" },
  [CBI]: { params: { iban: "IR100170889862171595799372" }, purpose: "payment.beneficiary-check" },
} as const;

async function inquire(type: keyof typeof ask, times: number): Promise<void> {
  for (let i = 0; i < times; i++) await gw.client.inquire({ inquiryType: type, ...ask[type], endUser: "ops/test" }, { deadlineMs: 5000 });
}

async function control(spec: Record<string, unknown> | undefined): Promise<void> {
  const response = await fetch(`${gw.agencies.url}/_control/faults`, {
    method: spec === undefined ? "DELETE" : "POST",
    headers: { "content-type": "application/json" },
    body: spec === undefined ? undefined : JSON.stringify(spec),
  });
  expect(response.status).toBe(200);
}

async function scoreboard(): Promise<Scoreboard> {
  await gw.gateway.scoreboard.flush();
  const result = await operator.getScoreboard({});
  if (!result.ok) throw new Error(`GetScoreboard failed: ${result.status.message}`);
  const board = result.response.scoreboard;
  if (board === undefined) throw new Error("no scoreboard");
  return board;
}

/** Inquiry types of the served registry that no Binding connects. */
const unboundTypes = (): string[] => {
  const snapshot = gw.gateway.registry.current();
  return [...snapshot.inquiryTypes.keys()].filter((id) => !snapshot.bindings.has(id));
};

/** An agency's inquiry types in the served registry, and how many of them a Binding connects. */
const owned = (agency: string): { total: number; bound: number } => {
  const snapshot = gw.gateway.registry.current();
  const ids = [...snapshot.inquiryTypes.values()].filter((t) => t.agency === agency).map((t) => t.id);
  return { total: ids.length, bound: ids.filter((id) => snapshot.bindings.has(id)).length };
};

const typeOf = (board: Scoreboard, id: string) => {
  const found = board.inquiryTypes.find((t) => t.id === id);
  if (found === undefined) throw new Error(`no ${id} on the scoreboard`);
  return found;
};

beforeAll(async () => {
  gw = await startTestGateway({
    env: { ESTELAM_SCOREBOARD_FLUSH_MS: "60000" },
    // A short reset so that recovery is seen within the test.
    editDocuments: (documents) => {
      findDocument(documents, "Endpoint", "post/main").spec.breaker = { resetTimeoutMs: 300, volumeThreshold: 5 };
    },
  });
  operator = createOperatorClient(gw.gateway.grpcAddress, KEYS.admin);
}, 60_000);

afterAll(async () => {
  operator?.close();
  await gw?.close();
});

describe("the scoreboard", () => {
  it("shows every connected demo inquiry online and the one without a binding not connected", async () => {
    await inquire(POST, 3);
    const board = await scoreboard();
    expect(board.windowMinutes).toBe(5);
    expect(board.instances).toEqual(["test-gateway"]);
    // The demo registers one inquiry type without a connector, to show NO_ROUTE.
    const unbound = unboundTypes();
    expect(unbound.length).toBeGreaterThan(0);
    expect(board.inquiryTypes.map((t) => t.id).sort()).toEqual([...gw.gateway.registry.current().inquiryTypes.keys()].sort());
    for (const t of board.inquiryTypes) {
      if (unbound.includes(t.id)) {
        expect(t.status).toBe(InquiryStatus.NOT_CONNECTED);
        expect(t.reasons).toEqual(["no connector binding"]);
        expect(t.breaker).toBe(BreakerState.UNSPECIFIED);
      } else {
        expect(t.status, `${t.id}: ${t.reasons.join("; ")}`).toBe(InquiryStatus.ONLINE);
        expect(t.breaker).toBe(BreakerState.CLOSED);
      }
    }
    const post = typeOf(board, POST);
    expect(post.volumeToday).toBeGreaterThanOrEqual(3n);
    expect(post.answered).toBeGreaterThanOrEqual(3n);
    expect(post.successRate).toBe(1);
    expect(post.p50Ms).toBeGreaterThan(0);
    expect(post.objectives).toMatchObject({ latencyP99Ms: 150, successRate: 0.995 });
    expect(post.series).toHaveLength(60);
    expect(post.series.at(-1)?.volume).toBeGreaterThanOrEqual(3n);
  });

  it("ranks answering agencies and buckets their share online as government reports do", async () => {
    const board = await scoreboard();
    const nocr = board.agencies.find((a) => a.id === "nocr");
    const post = board.agencies.find((a) => a.id === "post");
    // nocr answers some of its inquiry types online; one is registered without a connector.
    const { total, bound } = owned("nocr");
    expect(bound).toBeLessThan(total);
    expect(bound / total).toBeGreaterThanOrEqual(0.5);
    expect(nocr).toMatchObject({ inquiryTypes: total, online: bound, shareOnline: bound / total, bucket: ShareBucket.FROM_50_TO_90 });
    expect(post).toMatchObject({ inquiryTypes: 1, online: 1, shareOnline: 1, bucket: ShareBucket.ABOVE_90 });
    expect(post?.rank).toBeLessThan(nocr?.rank ?? 0);
    expect(board.agencies.map((a) => a.rank)).toEqual(board.agencies.map((_, i) => i + 1));
    // Agencies that only ask (the demo bank) are not scored.
    expect(board.agencies.some((a) => a.id === "demo-bank")).toBe(false);
    const counts = Object.fromEntries(board.buckets.map((b) => [ShareBucket[b.bucket], b.agencies]));
    const tally = (bucket: ShareBucket) => board.agencies.filter((a) => a.bucket === bucket).length;
    expect(counts).toEqual({
      ABOVE_90: tally(ShareBucket.ABOVE_90),
      FROM_50_TO_90: tally(ShareBucket.FROM_50_TO_90),
      BELOW_50: 0,
      NONE: 0,
    });
    expect((counts.ABOVE_90 ?? 0) + (counts.FROM_50_TO_90 ?? 0)).toBe(board.agencies.length);
    // Today's sample is kept for the daily and weekly trend.
    expect(nocr?.daily.at(-1)?.shareOnline).toBeCloseTo(bound / total, 4);
    expect(nocr?.weekly.length).toBeGreaterThan(0);
  });

  it("turns an inquiry offline when its agency's outage opens the breaker, and back when it recovers", async () => {
    await control({ agency: "post", mode: "error" });
    await inquire(POST, 8);
    let board = await scoreboard();
    let post = typeOf(board, POST);
    expect(post.status).toBe(InquiryStatus.OFFLINE);
    expect(post.breaker).toBe(BreakerState.OPEN);
    expect(post.faults).toBeGreaterThanOrEqual(5n);
    expect(post.reasons[0]).toMatch(/breaker open/);
    expect(board.agencies.find((a) => a.id === "post")).toMatchObject({ online: 0, bucket: ShareBucket.NONE });
    const samples = await scrapeMetrics(gw.gateway);
    const status = (s: string) =>
      samples.find((m) => m.name === "estelam_inquiry_type_status" && m.labels.inquiry_type === POST && m.labels.status === s)?.value;
    expect(status("offline")).toBe(1);
    expect(status("online")).toBe(0);
    expect(samples.find((m) => m.name === "estelam_agency_share_online_ratio" && m.labels.agency === "post")?.value).toBe(0);
    const breakers = await operator.listBreakers({});
    expect(breakers.ok && breakers.response.breakers.find((b) => b.endpoint === "post/main")).toMatchObject({
      state: BreakerState.OPEN,
      inquiryTypes: [POST],
    });

    await control(undefined);
    await new Promise((r) => setTimeout(r, 400));
    await inquire(POST, 20);
    board = await scoreboard();
    post = typeOf(board, POST);
    expect(post.breaker).toBe(BreakerState.CLOSED);
    // Answering again, but the window still holds the outage's failures: degraded, not offline.
    expect(post.status).toBe(InquiryStatus.DEGRADED);
    expect(post.reasons.join(";")).toMatch(/success .* under the 99.5 % objective/);
    expect(post.errorBurn).toBeGreaterThan(1);
  });

  it("is degraded when answers miss the latency objective", async () => {
    await control({ agency: "cbi", latencyMs: 300 });
    try {
      await inquire(CBI, 10);
    } finally {
      await control(undefined);
    }
    const cbi = typeOf(await scoreboard(), CBI);
    expect(cbi.status).toBe(InquiryStatus.DEGRADED);
    expect(cbi.p99Ms).toBeGreaterThan(250);
    expect(cbi.reasons).toEqual([expect.stringMatching(/^p99 \d+ ms over the 250 ms objective$/)]);
    expect(cbi.latencyBurn).toBeGreaterThan(1);
  });

  it("does not count the caller's own mistakes against the agency", async () => {
    const before = typeOf(await scoreboard(), "nocr.identity-match.v1");
    for (let i = 0; i < 12; i++)
      await gw.client.inquire({
        inquiryType: "nocr.identity-match.v1",
        params: { national_code: "0012345670", birth_date: "1348/01/31" },
        purpose: "kyc.account-opening",
        endUser: "ops/test",
      });
    const after = typeOf(await scoreboard(), "nocr.identity-match.v1");
    expect(after.refused - before.refused).toBe(12n);
    expect(after.faults).toBe(before.faults);
    expect(after.status).toBe(InquiryStatus.ONLINE);
  });

  it("answers only admin credentials", async () => {
    const bank = createOperatorClient(gw.gateway.grpcAddress, KEYS.demoBank);
    try {
      const result = await bank.getScoreboard({});
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.status.reason).toBe("ADMIN_REQUIRED");
    } finally {
      bank.close();
    }
  });
});
