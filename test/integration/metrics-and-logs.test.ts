// /metrics carries the gRPC and inquiry metrics with catalogue ids only; the log has one JSON line per
// inquiry; and no national code, IBAN or mobile number ever appears in either — whatever the caller sends.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { INQUIRY_BUCKETS } from "../../observability/metrics.ts";
import type { InquireInit } from "../helpers/client.ts";
import { scrapeMetrics, startTestGateway, type TestGateway } from "../helpers/gateway.ts";

let t: TestGateway;
const inquiryIds: string[] = [];

const [NC1, NC2, NC_BAD] = ["0012345679", "1234567891", "0012345678"] as const;
const [IBAN1, IBAN_BAD] = ["IR100170889862171595799372", "IR020540889862171595799373"] as const;
const [MOBILE1, MOBILE2] = ["09121234567", "+989121234567"] as const;
const NATIONAL_CODES = [NC1, NC2, NC_BAD];
const IBANS = [IBAN1, IBAN_BAD];
const MOBILES = [MOBILE1, MOBILE2];

beforeAll(async () => {
  t = await startTestGateway({ audit: "journal" });
  const asks: InquireInit[] = [
    {
      inquiryType: "nocr.identity-match.v1",
      params: { national_code: NC1, birth_date: "1348/01/31" },
      purpose: "kyc.account-opening",
      endUser: "teller-7",
    },
    {
      inquiryType: "nocr.identity-match.v1",
      params: { national_code: NC2, birth_date: "1371/02/16" },
      purpose: "kyc.account-opening",
      endUser: "teller-7",
    },
    // Bad checksum: the error names the field, and the log must still not hold the value.
    {
      inquiryType: "nocr.identity-match.v1",
      params: { national_code: NC_BAD, birth_date: "1348/01/31" },
      purpose: "kyc.account-opening",
      endUser: "teller-7",
    },
    { inquiryType: "cbi.iban-owner.v1", params: { iban: IBAN1 }, purpose: "payment.beneficiary-check", endUser: "teller-7" },
    { inquiryType: "cbi.iban-owner.v1", params: { iban: IBAN_BAD }, purpose: "payment.beneficiary-check", endUser: "teller-7" },
    // Identifiers where they do not belong: an unknown parameter, the inquiry type, references.
    {
      inquiryType: "nocr.identity-match.v1",
      params: { national_code: NC1, birth_date: "1348/01/31", mobile: MOBILE1 },
      purpose: "kyc.account-opening",
      endUser: "teller-7",
    },
    {
      inquiryType: `nocr.${NC1}.v1`,
      params: { iban: IBAN1 },
      purpose: "kyc.account-opening",
      endUser: MOBILE2,
      caseReference: NC2,
      clientMessageId: IBAN1,
    },
  ];
  for (const ask of asks) {
    const outcome = await t.client.inquire(ask);
    if (outcome.ok) inquiryIds.push(outcome.response.inquiryId);
  }
  // Unauthenticated, with an identifier as the "key".
  await t.client.inquire(
    {
      inquiryType: "nocr.identity-match.v1",
      params: { national_code: NC1, birth_date: "1348/01/31" },
      purpose: "kyc.account-opening",
      endUser: "teller-7",
    },
    { apiKey: `${NC1}-as-a-bearer-key` },
  );
});
afterAll(async () => {
  await t?.close();
});

describe("metrics", () => {
  it("count gRPC calls by code and inquiries by type, requester, responder and outcome", async () => {
    const samples = await scrapeMetrics(t.gateway);
    const handled = samples.filter((s) => s.name === "grpc_server_handled_total" && s.labels.grpc_method === "Inquire");
    expect(Object.fromEntries(handled.map((s) => [s.labels.grpc_code, s.value]))).toEqual({
      OK: 3,
      InvalidArgument: 3,
      NotFound: 1,
      Unauthenticated: 1,
    });
    expect(handled.every((s) => s.labels.grpc_service === "estelam.inquiry.v1.InquiryService" && s.labels.grpc_type === "unary")).toBe(
      true,
    );
    const seconds = samples.find((s) => s.name === "grpc_server_handling_seconds_count" && s.labels.grpc_method === "Inquire");
    expect(seconds?.value).toBe(8);

    const inquiries = samples.filter((s) => s.name === "estelam_inquiries_total");
    const key = (s: { labels: Record<string, string> }) =>
      `${s.labels.inquiry_type}|${s.labels.requester}|${s.labels.responder}|${s.labels.outcome}`;
    expect(Object.fromEntries(inquiries.map((s) => [key(s), s.value]))).toEqual({
      "nocr.identity-match.v1|demo-bank|nocr|answered": 2,
      "nocr.identity-match.v1|demo-bank|none|invalid_params": 2,
      "cbi.iban-owner.v1|demo-bank|cbi|answered": 1,
      "cbi.iban-owner.v1|demo-bank|none|invalid_params": 1,
      "unregistered|demo-bank|none|unknown_inquiry_type": 1,
    });
    // The call without a known credential was refused at the gRPC edge, before it became an inquiry.
    expect(samples.find((s) => s.name === "estelam_edge_refusals_total" && s.labels.reason === "credential_invalid")?.value).toBe(1);
  });

  it("have an inquiry latency histogram with fine buckets below 5 ms, and upstream latency per endpoint", async () => {
    const samples = await scrapeMetrics(t.gateway);
    const buckets = samples
      .filter(
        (s) =>
          s.name === "estelam_inquiry_duration_seconds_bucket" &&
          s.labels.inquiry_type === "nocr.identity-match.v1" &&
          s.labels.responder === "nocr",
      )
      .map((s) => s.labels.le);
    expect(buckets).toEqual([...INQUIRY_BUCKETS.map(String), "+Inf"]);
    expect(INQUIRY_BUCKETS.filter((b) => b < 0.005).length).toBeGreaterThanOrEqual(6);
    const upstream = samples.find(
      (s) => s.name === "estelam_upstream_duration_seconds_count" && s.labels.endpoint === "nocr/main" && s.labels.result === "ok",
    );
    expect(upstream?.value).toBe(2);
    expect(samples.some((s) => s.name === "estelam_breaker_state" && s.labels.endpoint === "cbi/main")).toBe(true);
    expect(
      samples.find((s) => s.name === "estelam_audit_events_total" && s.labels.sink === "journal" && s.labels.result === "written")?.value,
    ).toBe(7 + 1); // seven inquiries (the eighth call was refused at the edge), and the registry's first revision
    expect(samples.find((s) => s.name === "estelam_registry_revision")?.value).toBe(1);
    expect(samples.find((s) => s.name === "estelam_registry_stale_seconds")?.value).toBe(0);
    expect(samples.find((s) => s.name === "estelam_audit_pending_events" && s.labels.sink === "journal")?.value).toBe(0);
  });

  it("never carry a personal identifier in a label", async () => {
    const text = await (await fetch(`${t.gateway.httpUrl}/metrics`)).text();
    for (const value of [...NATIONAL_CODES, ...IBANS, ...MOBILES, "9121234567"]) expect(text).not.toContain(value);
  });
});

describe("logs", () => {
  it("hold one JSON line per inquiry with ids, agencies, outcome and timings", () => {
    const lines = t.logs.parsed().filter((l) => l.msg === "inquiry" || l.msg === "inquiry failed");
    expect(lines).toHaveLength(7);
    for (const id of inquiryIds) {
      const line = lines.find((l) => l.inquiry_id === id);
      expect(line).toMatchObject({ outcome: "answered", requester: "demo-bank", grpc_code: 0, audit: "recorded" });
      expect(line?.tracking_code).toMatch(/^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/);
      expect(typeof line?.total_ms).toBe("number");
      expect(typeof line?.upstream_ms).toBe("number");
      expect(["nocr", "cbi"]).toContain(line?.responder);
    }
  });

  it("never hold a national code, IBAN or mobile number, in any form", () => {
    const text = t.logs.lines.join("\n");
    for (const value of [...NATIONAL_CODES, ...IBANS, ...MOBILES, "9121234567", "100170889862171595799372"])
      expect(text).not.toContain(value);
  });
});
