// The control API changes how every agency behaves, whatever its protocol: latency (fixed or a
// distribution), error rates and statuses, modes, outages; and stats are kept per agency.
import * as grpc from "@grpc/grpc-js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DEMO_CREDENTIALS } from "../../simulators/demo-agencies/agencies.ts";
import { createFaultControl } from "../../simulators/demo-agencies/faults.ts";
import { WELFARE_SERVICE } from "../../simulators/demo-agencies/grpc/face.ts";
import { type DemoAgencies, startDemoAgencies } from "../../simulators/demo-agencies/server.ts";
import { type AgencyGrpcClient, agencyGrpcClient, call, envelope, postJson, postSoap } from "../helpers/agency-clients.ts";

let agencies: DemoAgencies;
let welfare: AgencyGrpcClient;

beforeAll(async () => {
  agencies = await startDemoAgencies({ port: 0 });
  welfare = agencyGrpcClient(agencies.grpcAddress, WELFARE_SERVICE);
});

afterAll(async () => {
  welfare.close();
  await agencies.close();
});

afterEach(() => {
  agencies.faults.reset();
  agencies.resetStats();
});

const control = (spec: Record<string, unknown>) => postJson(`${agencies.url}/_control/faults`, spec);
const sayad = () =>
  call(`${agencies.url}/sayad/api/v1/cheques/1234567890123456`, {
    headers: { authorization: `Bearer ${DEMO_CREDENTIALS.sayad.bearerToken}` },
  });
const decile = (options: { deadlineMs?: number } = {}) =>
  welfare.unary(
    "GetHouseholdDecile",
    { national_code: "0012345679" },
    { authorization: `Bearer ${DEMO_CREDENTIALS.welfare.bearerToken}` },
    options,
  );
const company = () =>
  postSoap(
    `${agencies.url}/ssaa/CompanyInquiryService`,
    "1.2",
    "urn:ir.ssaa:company:v1/GetCompanyByNationalId",
    envelope(
      "1.2",
      '<c:GetCompanyByNationalIdRequest xmlns:c="urn:ir.ssaa:company:v1"><c:NationalId>10380284790</c:NationalId></c:GetCompanyByNationalIdRequest>',
      DEMO_CREDENTIALS.ssaa,
    ),
  );
const insurance = () =>
  postSoap(
    `${agencies.url}/sso/InsuranceHistoryService`,
    "1.1",
    "urn:ir.tamin:insurance:v1/GetInsuranceStatus",
    envelope(
      "1.1",
      '<t:GetInsuranceStatusRequest xmlns:t="urn:ir.tamin:insurance:v1"><t:nationalCode>0012345679</t:nationalCode></t:GetInsuranceStatusRequest>',
      DEMO_CREDENTIALS.sso,
    ),
  );

describe("latency", () => {
  it("draws a log-normal distribution with the asked median and 99th percentile, repeatably", () => {
    const draws = (): number[] => {
      const faults = createFaultControl();
      faults.set({ agency: "cra", latency: { p50Ms: 40, p99Ms: 400 } });
      return Array.from({ length: 4000 }, () => faults.next("cra").latencyMs).sort((a, b) => a - b);
    };
    const sorted = draws();
    expect(sorted[2000]).toBeGreaterThan(34);
    expect(sorted[2000]).toBeLessThan(46);
    expect(sorted[3960]).toBeGreaterThan(300);
    expect(sorted[3960]).toBeLessThan(530);
    expect(draws()).toEqual(sorted);
  });

  it("delays answers on every face by a uniform distribution", async () => {
    for (const agency of ["sayad", "ssaa", "welfare"])
      expect((await control({ agency, latency: { minMs: 150, maxMs: 200 } })).status).toBe(200);
    for (const ask of [sayad, company, decile]) {
      const started = performance.now();
      await ask();
      expect(performance.now() - started).toBeGreaterThanOrEqual(145);
    }
  });
});

describe("errors", () => {
  it("answer in each agency's own words, with a chosen status", async () => {
    await control({ agency: "sayad", mode: "error", errorStatus: 502 });
    expect(await sayad()).toMatchObject({ status: 502, json: { status: "ERROR", error: { code: "SERVICE_UNAVAILABLE" } } });
    await control({ agency: "ssaa", mode: "error" });
    const soap12 = await company();
    expect(soap12.status).toBe(503);
    expect(soap12.text).toContain("<env:Value>env:Receiver</env:Value>");
    await control({ agency: "sso", mode: "error" });
    const soap11 = await insurance();
    expect(soap11.status).toBe(503);
    expect(soap11.text).toContain("<faultcode>soap:Server</faultcode>");
    await control({ agency: "welfare", mode: "error" });
    expect((await decile()).code).toBe(grpc.status.UNAVAILABLE);
    await control({ agency: "welfare", mode: "error", grpcStatus: "INTERNAL" });
    expect((await decile()).code).toBe(grpc.status.INTERNAL);
  });

  it("follow the error-rate schedule on gRPC too", async () => {
    await control({ agency: "welfare", errorRate: 0.5 });
    const codes: number[] = [];
    for (let i = 0; i < 4; i++) codes.push((await decile()).code);
    expect(codes).toEqual([0, 14, 0, 14]);
    expect(agencies.stats().welfare).toEqual({ received: 4, answered: { OK: 2, UNAVAILABLE: 2 }, dropped: 0, hung: 0, abandoned: 0 });
  });
});

describe("modes", () => {
  it("down drops HTTP connections (the soap package's agency too) and answers UNAVAILABLE on gRPC", async () => {
    await control({ agency: "sso", mode: "down" });
    await expect(insurance()).rejects.toThrow();
    await control({ agency: "welfare", mode: "down" });
    const down = await decile();
    expect(down.code).toBe(grpc.status.UNAVAILABLE);
    expect(down.details).toContain("reset");
    expect(agencies.stats().sso.dropped).toBe(1);
    expect(agencies.stats().welfare.dropped).toBe(1);
  });

  it("hang leaves a gRPC call unanswered until its deadline", async () => {
    await control({ agency: "welfare", mode: "hang" });
    const started = performance.now();
    expect((await decile({ deadlineMs: 300 })).code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(performance.now() - started).toBeGreaterThanOrEqual(280);
    expect(agencies.stats().welfare.hung).toBe(1);
  });
});

describe("outages", () => {
  it("take an agency down for a window, then it recovers", async () => {
    await control({ agency: "sayad", outage: { forMs: 400 } });
    await control({ agency: "welfare", outage: { forMs: 400, mode: "error" } });
    await expect(sayad()).rejects.toThrow();
    expect((await decile()).code).toBe(grpc.status.UNAVAILABLE);
    await new Promise((done) => setTimeout(done, 450));
    expect((await sayad()).status).toBe(200);
    expect((await decile()).code).toBe(grpc.status.OK);
  });

  it("repeat every period", () => {
    let now = 0;
    const faults = createFaultControl({ now: () => now });
    faults.set({ agency: "nocr", outage: { afterMs: 100, forMs: 50, everyMs: 1000, mode: "error" } });
    const at = (t: number) => {
      now = t;
      return faults.next("nocr").action;
    };
    expect([at(0), at(120), at(160), at(1099), at(1100), at(1149), at(1150)]).toEqual([
      "answer",
      "error",
      "answer",
      "answer",
      "error",
      "error",
      "answer",
    ]);
  });
});

describe("the control API", () => {
  it("refuses settings that make no sense, naming the problem", async () => {
    for (const [spec, words] of [
      [{ agency: "welfare", mode: "trickle" }, "not available for welfare"],
      [{ agency: "*", mode: "invalid-json" }, "not available"],
      [{ agency: "nocr", mode: "error", depth: 10 }, "depth applies only"],
      [{ agency: "nocr", latencyMs: 10, latency: { p50Ms: 1, p99Ms: 2 } }, "not both"],
      [{ agency: "nocr", latency: { p50Ms: 10, p99Ms: 5 } }, "p99Ms"],
      [{ agency: "nocr", outage: { forMs: 100, everyMs: 50 } }, "everyMs"],
      [{ agency: "nocr", mode: "redirect", redirectTo: "ftp://x" }, "redirectTo"],
      [{ agency: "welfare", mode: "huge-body", bytes: 1024 ** 3 }, "gRPC"],
      [{ agency: "nocr", errorStatus: 200 }, "errorStatus"],
    ] as const) {
      const answer = await control(spec);
      expect(answer.status, JSON.stringify(spec)).toBe(400);
      expect(String(answer.json.message)).toContain(words);
    }
  });

  it("shows each agency's settings with the mode's defaults, and resets them", async () => {
    await control({ agency: "cbi", mode: "deep-json" });
    const settings = (await call(`${agencies.url}/_control/faults`)).json.faults as Record<string, Record<string, unknown>>;
    expect(settings.cbi).toEqual({ mode: "deep-json", latencyMs: 0, errorRate: 0, depth: 100_000 });
    expect(settings.centinsur).toEqual({ mode: "ok", latencyMs: 0, errorRate: 0 });
    await call(`${agencies.url}/_control/faults`, { method: "DELETE" });
    expect(agencies.faults.settings().cbi.mode).toBe("ok");
  });
});
