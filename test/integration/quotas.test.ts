// Grant quotas: an inquiry over its grant's quota per second or per day is refused with RESOURCE_EXHAUSTED /
// QUOTA_EXCEEDED and a retry hint, before the agency is asked, and counted per asking agency in /metrics.
// The daily quota holds across two gateway instances sharing one PostgreSQL schema.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRegistryClient } from "../../cli/registry-client.ts";
import { Code } from "../../core/errors.ts";
import { msUntilTehranMidnight, tehranDay } from "../../gateway/quotas.ts";
import type { RegistryDocument } from "../../registry/documents.ts";
import { demoDocuments, findDocument, KEYS, scrapeMetrics, startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { TEST_DATABASE_URL } from "../helpers/postgres.ts";
import { startDatabaseProxy } from "../helpers/tcp-proxy.ts";

const address = {
  inquiryType: "post.address-by-postcode.v1",
  params: { postal_code: "1193653471" },
  purpose: "kyc.address-verification",
  endUser: "teller-7",
};
const identity = {
  inquiryType: "nocr.identity-match.v1",
  params: { national_code: "0012345679", birth_date: "1348/01/31" },
  purpose: "kyc.account-opening",
  endUser: "teller-7",
};

function withQuotas(documents: RegistryDocument[]): void {
  findDocument(documents, "Grant", "demo-bank/post.address-by-postcode.v1").spec.quota = { perSecond: 2 };
  findDocument(documents, "Grant", "demo-bank/nocr.identity-match.v1").spec.quota = { perDay: 5 };
}

async function quotaRefusals(t: TestGateway, window: string): Promise<number> {
  return (
    (await scrapeMetrics(t.gateway)).find(
      (s) => s.name === "estelam_quota_refusals_total" && s.labels.requester === "demo-bank" && s.labels.window === window,
    )?.value ?? 0
  );
}

describe("the Tehran calendar day", () => {
  it("turns at midnight Tehran time (UTC+03:30)", () => {
    const beforeMidnight = Date.UTC(2026, 2, 20, 20, 29, 59); // 23:59:59 in Tehran
    expect(tehranDay(beforeMidnight)).toBe("2026-03-20");
    expect(tehranDay(beforeMidnight + 1000)).toBe("2026-03-21");
    expect(msUntilTehranMidnight(beforeMidnight)).toBe(1000);
  });
});

describe("grant quotas across two instances sharing PostgreSQL", () => {
  let a: TestGateway;
  let b: TestGateway;
  beforeAll(async () => {
    a = await startTestGateway({ audit: "journal", database: "postgres", editDocuments: withQuotas, env: { ESTELAM_INSTANCE: "gw-a" } });
    b = await startTestGateway({
      audit: "journal",
      database: "postgres",
      schema: a.schema,
      editDocuments: withQuotas,
      env: { ESTELAM_INSTANCE: "gw-b", ESTELAM_QUOTA_SYNC_MS: "200" },
    });
  }, 60_000);
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it("refuses over the per-day quota on either instance, with the time until the day turns", async () => {
    const received = a.agencies.stats().nocr.received + b.agencies.stats().nocr.received;
    const onA = await Promise.all([1, 2, 3].map(() => a.client.inquire(identity)));
    const onB = [];
    for (let i = 0; i < 4; i++) onB.push(await b.client.inquire(identity));
    const again = await a.client.inquire(identity);

    expect(onA.every((o) => o.ok)).toBe(true);
    expect(onB.map((o) => o.ok)).toEqual([true, true, false, false]);
    for (const refused of [onB[2], onB[3], again]) {
      expect(refused?.ok).toBe(false);
      if (refused !== undefined && !refused.ok) {
        expect(refused.status).toMatchObject({ code: Code.RESOURCE_EXHAUSTED, reason: "QUOTA_EXCEEDED", origin: "client" });
        expect(refused.status.retryAfterMs).toBeGreaterThan(0);
        expect(refused.status.retryAfterMs).toBeLessThanOrEqual(86_400_000);
        expect(refused.status.inquiryId).toBeTruthy();
      }
    }
    // Refused before the agency was asked.
    expect(a.agencies.stats().nocr.received + b.agencies.stats().nocr.received - received).toBe(5);
    expect(await quotaRefusals(b, "day")).toBe(2);
    expect(await quotaRefusals(a, "day")).toBe(1);
  });

  it("refuses over the per-second quota with a retry hint under a second, and answers again after it", async () => {
    // Both instances are live, so each admits about 1 per second of the grant's 2.
    const outcomes = [];
    for (let i = 0; i < 4; i++) outcomes.push(await b.client.inquire(address));
    const refused = outcomes.find((o) => !o.ok);
    expect(outcomes[0]?.ok).toBe(true);
    expect(refused).toBeDefined();
    if (refused === undefined || refused.ok) return;
    expect(refused.status).toMatchObject({ code: Code.RESOURCE_EXHAUSTED, reason: "QUOTA_EXCEEDED" });
    expect(refused.status.retryAfterMs).toBeGreaterThan(0);
    expect(refused.status.retryAfterMs).toBeLessThanOrEqual(1000);
    expect(refused.status.message).toContain("2 gateway instances share it");
    await new Promise((r) => setTimeout(r, refused.status.retryAfterMs ?? 1000));
    expect((await b.client.inquire(address)).ok).toBe(true);
    expect(await quotaRefusals(b, "second")).toBeGreaterThanOrEqual(1);
  });
});

describe("grant quotas on one instance (embedded database)", () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({ audit: "journal", editDocuments: withQuotas });
  });
  afterAll(async () => {
    await t?.close();
  });

  it("admits the whole per-second quota on the only instance, then refuses until the next unit is due", async () => {
    const outcomes = [];
    for (let i = 0; i < 3; i++) outcomes.push(await t.client.inquire(address));
    expect(outcomes.slice(0, 2).every((o) => o.ok)).toBe(true);
    const refused = outcomes[2];
    expect(refused !== undefined && !refused.ok && refused.status).toMatchObject({
      code: Code.RESOURCE_EXHAUSTED,
      reason: "QUOTA_EXCEEDED",
    });
    if (refused !== undefined && !refused.ok) {
      expect(refused.status.retryAfterMs).toBeLessThanOrEqual(500);
      expect(refused.status.message).not.toContain("instances share it");
    }
    expect(
      (await scrapeMetrics(t.gateway)).find((s) => s.name === "estelam_quota_admitted_total" && s.labels.requester === "demo-bank")?.value,
    ).toBe(2);
  });
});

describe("a daily quota changed or unreachable during the day", () => {
  it("takes a raised perDay at once, on an instance that had used up the old one", async () => {
    const t = await startTestGateway({ audit: "journal", editDocuments: withQuotas });
    const admin = createRegistryClient(t.gateway.grpcAddress, KEYS.admin);
    try {
      for (let i = 0; i < 5; i++) expect((await t.client.inquire(identity)).ok).toBe(true);
      const refused = await t.client.inquire(identity);
      expect(!refused.ok && refused.status.reason).toBe("QUOTA_EXCEEDED");

      const grant = (await demoDocuments()).find(
        (d) => d.content.kind === "Grant" && (d.content.metadata as { name?: string }).name === "demo-bank/nocr.identity-match.v1",
      );
      if (grant === undefined) throw new Error("the demo documents lack the grant");
      (grant.content.spec as { quota?: unknown }).quota = { perDay: 7 };
      const applied = await admin.apply({
        documents: [{ source: "raise.yaml", content: grant.content }],
        message: "raise the daily quota",
      });
      if (!applied.ok) throw new Error(applied.status.message);

      const after = [];
      for (let i = 0; i < 3; i++) after.push(await t.client.inquire(identity));
      expect(after.map((o) => (o.ok ? "answered" : o.status.reason))).toEqual(["answered", "answered", "QUOTA_EXCEEDED"]);
    } finally {
      admin.close();
      await t.close();
    }
  });

  it("lets inquiries through at once, unenforced, while the quota database hangs", async () => {
    const { proxy, url: viaProxy } = await startDatabaseProxy(TEST_DATABASE_URL);
    const t = await startTestGateway({
      audit: "journal",
      database: "postgres",
      databaseUrl: viaProxy,
      editDocuments: withQuotas,
      env: { ESTELAM_AUDIT_INDEX: "false" },
    });
    try {
      expect((await t.client.inquire(identity)).ok).toBe(true);
      // Every connection the gateway holds to the database stops carrying bytes, without closing.
      proxy.silence();
      const started = performance.now();
      const outcomes = await Promise.all(Array.from({ length: 6 }, () => t.client.inquire(identity, { deadlineMs: 5_000 })));
      expect(outcomes.map((o) => (o.ok ? "answered" : o.status.reason))).toEqual(Array.from({ length: 6 }, () => "answered"));
      expect(performance.now() - started).toBeLessThan(3_000);
    } finally {
      await proxy.close();
      await t.close();
    }
  }, 30_000);
});
