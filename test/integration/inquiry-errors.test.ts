// Every refusal and failure reaches the caller with its catalogue reason, gRPC status and origin, and a
// business answer ("not found", "rejected") is a normal response, never an error.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Code } from "../../core/errors.ts";
import { Answer } from "../../gen/estelam/inquiry/v1/inquiry_pb.js";
import { KEYS, startTestGateway, type TestGateway } from "../helpers/gateway.ts";

const identity = (params: Record<string, string>, purpose = "kyc.account-opening") => ({
  inquiryType: "nocr.identity-match.v1",
  params,
  purpose,
  endUser: "branch-1021/teller-7",
});
const GOOD = { national_code: "0012345679", birth_date: "1348/01/31" };

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway();
});
afterAll(async () => {
  await t?.close();
});
afterEach(() => {
  t.agencies.faults.reset();
});

async function failure(outcome: Awaited<ReturnType<TestGateway["client"]["inquire"]>>) {
  if (outcome.ok) throw new Error(`expected an error, got an answer: ${JSON.stringify(outcome.response.result)}`);
  return outcome.status;
}

describe("business answers are responses, not errors", () => {
  it("not found", async () => {
    const outcome = await t.client.inquire(identity({ national_code: "9990000001", birth_date: "1360/01/01" }));
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(outcome.response.answer).toBe(Answer.NOT_FOUND);
    expect(outcome.response.result).toBeUndefined();
    expect(outcome.response.message).not.toBe("");
    expect(outcome.response.responder).toBe("nocr");
  });

  it("rejected", async () => {
    const outcome = await t.client.inquire({
      inquiryType: "cbi.iban-owner.v1",
      params: { iban: "IR220100889862171595799372" },
      purpose: "payment.beneficiary-check",
      endUser: "clerk-1",
    });
    expect(outcome.ok && outcome.response.answer).toBe(Answer.REJECTED);
  });
});

describe("the caller's faults", () => {
  it("no credential → UNAUTHENTICATED / CREDENTIAL_MISSING", async () => {
    const status = await failure(await t.client.inquire(identity(GOOD), { apiKey: null }));
    expect(status).toMatchObject({ code: Code.UNAUTHENTICATED, reason: "CREDENTIAL_MISSING", origin: "client" });
  });

  it("unknown key → UNAUTHENTICATED / CREDENTIAL_INVALID", async () => {
    const status = await failure(await t.client.inquire(identity(GOOD), { apiKey: "not-a-registered-key-at-all" }));
    expect(status).toMatchObject({ code: Code.UNAUTHENTICATED, reason: "CREDENTIAL_INVALID" });
  });

  it("unknown inquiry type → NOT_FOUND", async () => {
    const status = await failure(await t.client.inquire({ ...identity(GOOD), inquiryType: "nocr.horoscope.v1" }));
    expect(status).toMatchObject({ code: Code.NOT_FOUND, reason: "UNKNOWN_INQUIRY_TYPE", origin: "client" });
    expect(status.message).toContain("nocr.horoscope.v1");
  });

  it("missing purpose and end user → INVALID_ARGUMENT naming both fields", async () => {
    const status = await failure(await t.client.inquire({ inquiryType: "nocr.identity-match.v1", params: GOOD }));
    expect(status).toMatchObject({ code: Code.INVALID_ARGUMENT, reason: "INVALID_REQUEST" });
    expect(status.violations.map((v) => v.field)).toEqual(["purpose", "end_user"]);
  });

  it("bad params → INVALID_ARGUMENT naming the field, without echoing its value", async () => {
    const status = await failure(await t.client.inquire(identity({ national_code: "0012345678", birth_date: "1400/12/30" })));
    expect(status).toMatchObject({ code: Code.INVALID_ARGUMENT, reason: "INVALID_PARAMS", origin: "client" });
    expect(status.violations.map((v) => v.field)).toEqual(["params.national_code", "params.birth_date"]);
    expect(status.message).toContain("params.national_code");
    expect(status.message).not.toContain("0012345678");
  });

  it("thousands of bad params → a bounded INVALID_ARGUMENT, and the caller's connection keeps working", async () => {
    const params: Record<string, string> = { ...GOOD };
    for (let i = 0; i < 3000; i++) params[`unexpected_parameter_${i}`] = "x";
    const status = await failure(await t.client.inquire(identity(params)));
    expect(status).toMatchObject({ code: Code.INVALID_ARGUMENT, reason: "INVALID_PARAMS" });
    expect(status.violations).toHaveLength(20);
    expect(status.message).toContain("and 2990 more");
    const next = await t.client.inquire(identity(GOOD));
    expect(next.ok).toBe(true);
  });

  it("no grant → PERMISSION_DENIED / ACCESS_DENIED", async () => {
    const status = await failure(
      await t.client.inquire(
        {
          inquiryType: "cbi.iban-owner.v1",
          params: { iban: "IR100170889862171595799372" },
          purpose: "counter.service-request",
          endUser: "desk-3",
        },
        { apiKey: KEYS.counterOffice },
      ),
    );
    expect(status).toMatchObject({ code: Code.PERMISSION_DENIED, reason: "ACCESS_DENIED" });
  });

  it("purpose outside the grant → PERMISSION_DENIED / PURPOSE_NOT_ALLOWED", async () => {
    const status = await failure(await t.client.inquire(identity(GOOD, "marketing.campaign")));
    expect(status).toMatchObject({ code: Code.PERMISSION_DENIED, reason: "PURPOSE_NOT_ALLOWED" });
  });
});

describe("the bus's and the agency's faults", () => {
  it("registered but not online → UNIMPLEMENTED / NO_ROUTE", async () => {
    const status = await failure(
      await t.client.inquire({
        inquiryType: "nocr.marital-status.v1",
        params: { national_code: "0012345679" },
        purpose: "kyc.account-opening",
        endUser: "x",
      }),
    );
    expect(status).toMatchObject({ code: Code.UNIMPLEMENTED, reason: "NO_ROUTE", origin: "gateway" });
  });

  it("agency answering 5xx → UNAVAILABLE naming the agency", async () => {
    t.agencies.faults.set({ agency: "nocr", mode: "error" });
    const status = await failure(await t.client.inquire(identity(GOOD)));
    expect(status).toMatchObject({ code: Code.UNAVAILABLE, reason: "AGENCY_UNAVAILABLE", origin: "agency", agency: "nocr" });
    expect(status.message).toContain("nocr");
  });

  it("agency dropping the connection → UNAVAILABLE naming the agency", async () => {
    t.agencies.faults.set({ agency: "post", mode: "down" });
    const status = await failure(
      await t.client.inquire({
        inquiryType: "post.address-by-postcode.v1",
        params: { postal_code: "1193653471" },
        purpose: "kyc.address-verification",
        endUser: "x",
      }),
    );
    expect(status).toMatchObject({ code: Code.UNAVAILABLE, reason: "AGENCY_UNAVAILABLE", agency: "post" });
  });

  it("caller's deadline passing while the agency is slow → DEADLINE_EXCEEDED, and the agency call is aborted", async () => {
    t.agencies.faults.set({ agency: "nocr", mode: "ok", latencyMs: 5000 });
    const before = t.agencies.stats().nocr?.abandoned ?? 0;
    const started = Date.now();
    const status = await failure(await t.client.inquire(identity(GOOD), { deadlineMs: 400 }));
    expect(status.code).toBe(Code.DEADLINE_EXCEEDED);
    expect(Date.now() - started).toBeLessThan(3000);
    await expect.poll(() => t.agencies.stats().nocr?.abandoned ?? 0, { timeout: 3000 }).toBeGreaterThan(before);
  });

  it("caller's deadline passing while the agency hangs → DEADLINE_EXCEEDED", async () => {
    t.agencies.faults.set({ agency: "nocr", mode: "hang" });
    const status = await failure(await t.client.inquire(identity(GOOD), { deadlineMs: 300 }));
    expect(status.code).toBe(Code.DEADLINE_EXCEEDED);
  });

  it("inquiry type timeout passing → DEADLINE_EXCEEDED naming the agency", async () => {
    t.agencies.faults.set({ agency: "post", mode: "ok", latencyMs: 2600 }); // post's timeout is 2000 ms
    const status = await failure(
      await t.client.inquire(
        {
          inquiryType: "post.address-by-postcode.v1",
          params: { postal_code: "1193653471" },
          purpose: "kyc.address-verification",
          endUser: "x",
        },
        { deadlineMs: 10_000 },
      ),
    );
    expect(status).toMatchObject({ code: Code.DEADLINE_EXCEEDED, reason: "DEADLINE_EXCEEDED", origin: "agency", agency: "post" });
  });
});
