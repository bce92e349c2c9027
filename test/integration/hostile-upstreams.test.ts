// Hostile agencies are contained by the connectors: each hostile answer the demo agencies can give — over
// REST, SOAP and gRPC, and behind bad TLS certificates — ends in a clear catalogue error naming the agency,
// within the call's deadline, with nothing followed, fetched or expanded, and with memory bounded.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Connector, ConnectorFactory, ConnectorRequest } from "../../connectors/connector.ts";
import { grpcConnector } from "../../connectors/grpc/index.ts";
import { httpJsonConnector } from "../../connectors/http-json/index.ts";
import { soapConnector } from "../../connectors/soap/index.ts";
import { EstelamError } from "../../core/errors.ts";
import { type DemoAgencies, startDemoAgencies } from "../../simulators/demo-agencies/server.ts";

let agencies: DemoAgencies;
const open: Connector[] = [];

beforeAll(async () => {
  agencies = await startDemoAgencies({ port: 0 });
});
afterAll(async () => {
  await Promise.all(open.map((c) => c.close()));
  await agencies?.close();
});

function connect<E, O>(factory: ConnectorFactory<E, O>, agency: string, endpoint: unknown, operation: unknown) {
  const e = factory.validateEndpoint(endpoint, "options");
  const o = factory.validateOperation(operation, "operation");
  if (!e.ok) throw new Error(JSON.stringify(e.issues));
  if (!o.ok) throw new Error(JSON.stringify(o.issues));
  const connector = factory.create(e.options, { agency, endpoint: "main" });
  open.push(connector as Connector);
  return (params: Record<string, unknown>, timeoutMs = 2_000) => connector.call(request(params, timeoutMs), o.options);
}

function request(params: Record<string, unknown>, timeoutMs: number): ConnectorRequest {
  return {
    inquiryId: "01a20511-0000-7000-8000-000000000000",
    inquiryType: "test.hostile.v1",
    requester: "demo-bank",
    purpose: "test.hostile",
    params: params as ConnectorRequest["params"],
    signal: AbortSignal.timeout(timeoutMs),
    deadline: Date.now() + timeoutMs,
  };
}

async function failure(call: Promise<unknown>): Promise<{ reason: string; agency: string | undefined; message: string; ms: number }> {
  const started = performance.now();
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(EstelamError);
  const e = error as EstelamError;
  return { reason: e.reason, agency: e.agency, message: e.message, ms: performance.now() - started };
}

const IBAN = { iban: "IR020540889862171595799372" };
const cbi = () => connect(httpJsonConnector, "cbi", { baseUrl: agencies.url }, { path: "/cbi/iban-owner" });
const ssaa = () =>
  connect(
    soapConnector,
    "ssaa",
    {
      url: `${agencies.url}/ssaa/CompanyInquiryService`,
      version: "1.2",
      usernameToken: { username: "estelam", password: "ssaa-demo-pass-6b2d" },
    },
    {
      action: "urn:ir.ssaa:company:v1/GetCompanyByNationalId",
      namespace: "urn:ir.ssaa:company:v1",
      request: "GetCompanyByNationalIdRequest",
      body: { NationalId: "{national_id}" },
      result: "GetCompanyByNationalIdResponse.Company",
    },
  );
const welfare = () =>
  connect(
    grpcConnector,
    "welfare",
    { address: agencies.grpcAddress, metadata: { authorization: "Bearer welfare-demo-token-3a7e58" } },
    { method: "ir.mcls.refah.v1.SubsidyService/GetHouseholdDecile" },
  );
const COMPANY = { national_id: "10380284790" };

describe("a hostile REST agency", () => {
  it("answers normally when it is not hostile", async () => {
    agencies.faults.reset();
    expect(await cbi()(IBAN)).toMatchObject({ answer: "found", result: { account_status: "active" } });
  });

  it.each([
    ["huge-body", {}, "AGENCY_BAD_RESPONSE", /answered more than 1048576 bytes/],
    ["wrong-content-type", {}, "AGENCY_BAD_RESPONSE", /content type 'text\/html.*not JSON/],
    ["invalid-json", {}, "AGENCY_BAD_RESPONSE", /invalid JSON/],
    ["deep-json", { depth: 100_000 }, "AGENCY_BAD_RESPONSE", /nested more than 32 levels deep/],
    ["deep-json", { depth: 2_000 }, "AGENCY_BAD_RESPONSE", /nested more than 32 levels deep/],
    ["wide-json", { keys: 50_000 }, "AGENCY_BAD_RESPONSE", /more than 10000 keys and elements/],
    ["redirect", {}, "AGENCY_BAD_RESPONSE", /redirect \(HTTP 302\), which the gateway does not follow/],
    ["trickle", { intervalMs: 200 }, "DEADLINE_EXCEEDED", /did not answer within/],
    ["stall-headers", {}, "DEADLINE_EXCEEDED", /did not answer within/],
  ])("%s %j → %s", async (mode, options, reason, message) => {
    agencies.faults.set({ agency: "cbi", mode, ...options } as never);
    const rssBefore = process.memoryUsage().rss;
    const f = await failure(cbi()(IBAN, 1_000));
    agencies.faults.reset();
    expect(f).toMatchObject({ reason, agency: "cbi" });
    expect(f.message).toMatch(message);
    expect(f.ms).toBeLessThan(1_500);
    // A gigabyte offered, a megabyte read: memory stays bounded.
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(64 * 1024 * 1024);
  });

  it("follows no redirect anywhere", async () => {
    for (const redirectTo of ["other-host", "same-host", "loop"]) {
      agencies.faults.set({ agency: "cbi", mode: "redirect", redirectTo } as never);
      expect((await failure(cbi()(IBAN))).reason).toBe("AGENCY_BAD_RESPONSE");
    }
    agencies.faults.reset();
    expect(agencies.traps().redirectsFollowed.cbi).toBe(0);
  });
});

describe("a hostile SOAP agency", () => {
  it("answers normally when it is not hostile", async () => {
    agencies.faults.reset();
    expect(await ssaa()(COMPANY)).toMatchObject({ answer: "found", result: { NationalId: "10380284790", Status: "ACTIVE" } });
  });

  it.each([
    ["xml-bomb", {}, /XML with a DTD, which is refused/],
    ["xxe", {}, /XML with a DTD, which is refused/],
    ["invalid-xml", {}, /not a SOAP envelope/],
    ["deep-xml", { depth: 100_000 }, /XML nested more than 32 levels deep/],
    ["wide-xml", { keys: 50_000 }, /more than 10000 XML elements/],
    ["huge-body", {}, /answered more than 1048576 bytes/],
    ["wrong-content-type", {}, /content type 'text\/html.*not XML/],
  ])("%s %j → AGENCY_BAD_RESPONSE", async (mode, options, message) => {
    agencies.faults.set({ agency: "ssaa", mode, ...options } as never);
    const rssBefore = process.memoryUsage().rss;
    const f = await failure(ssaa()(COMPANY, 1_000));
    agencies.faults.reset();
    expect(f).toMatchObject({ reason: "AGENCY_BAD_RESPONSE", agency: "ssaa" });
    expect(f.message).toMatch(message);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(64 * 1024 * 1024);
  });

  it("never fetches an external entity", async () => {
    agencies.faults.set({ agency: "ssaa", mode: "xxe" } as never);
    await failure(ssaa()(COMPANY));
    agencies.faults.reset();
    expect(agencies.traps().xxeFetches.ssaa).toBe(0);
  });
});

describe("a hostile gRPC agency", () => {
  it("answers normally when it is not hostile", async () => {
    agencies.faults.reset();
    expect(await welfare()({ national_code: "0012345679" })).toMatchObject({ answer: "found", result: { decile: 4 } });
  });

  it("a message that does not decode → AGENCY_BAD_RESPONSE", async () => {
    agencies.faults.set({ agency: "welfare", mode: "invalid-protobuf" } as never);
    const f = await failure(welfare()({ national_code: "0012345679" }));
    agencies.faults.reset();
    expect(f).toMatchObject({ reason: "AGENCY_BAD_RESPONSE", agency: "welfare" });
    expect(f.message).toMatch(/does not decode/);
  });

  it("a message over the endpoint's size limit → AGENCY_BAD_RESPONSE", async () => {
    agencies.faults.set({ agency: "welfare", mode: "huge-body", bytes: 8 * 1024 * 1024 } as never);
    const f = await failure(welfare()({ national_code: "0012345679" }));
    agencies.faults.reset();
    expect(f).toMatchObject({ reason: "AGENCY_BAD_RESPONSE", agency: "welfare" });
    expect(f.message).toMatch(/answered more than 1048576 bytes/);
  });

  it("a hung agency → DEADLINE_EXCEEDED at the caller's deadline, which travels as the gRPC deadline", async () => {
    agencies.faults.set({ agency: "welfare", mode: "hang" } as never);
    const f = await failure(welfare()({ national_code: "0012345679" }, 300));
    agencies.faults.reset();
    expect(f).toMatchObject({ reason: "DEADLINE_EXCEEDED", agency: "welfare" });
    expect(f.ms).toBeLessThan(1_000);
  });
});

describe("TLS", () => {
  const over = (baseUrl: string, tls: Record<string, string> = { caFile: agencies.tls.files.ca }) =>
    connect(httpJsonConnector, "cbi", { baseUrl, tls }, { path: "/cbi/iban-owner" });

  it("a certificate from the endpoint's CA is trusted; a client certificate opens the mutual face", async () => {
    agencies.faults.reset();
    expect((await over(agencies.tls.valid)(IBAN)).answer).toBe("found");
    const files = agencies.tls.files;
    expect((await over(agencies.tls.mutual, { caFile: files.ca, certFile: files.clientCert, keyFile: files.clientKey })(IBAN)).answer).toBe(
      "found",
    );
  });

  it.each([
    ["expired", /TLS handshake with agency 'cbi' failed \(CERT_HAS_EXPIRED\)/],
    ["wrongHost", /TLS handshake with agency 'cbi' failed \(ERR_TLS_CERT_ALTNAME_INVALID\)/],
    ["selfSigned", /TLS handshake with agency 'cbi' failed \((DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN)\)/],
  ] as const)("a %s certificate → AGENCY_UNAVAILABLE naming the problem", async (face, message) => {
    const f = await failure(over(agencies.tls[face])(IBAN));
    expect(f).toMatchObject({ reason: "AGENCY_UNAVAILABLE", agency: "cbi" });
    expect(f.message).toMatch(message);
  });

  it("the mutual face without a client certificate → AGENCY_UNAVAILABLE", async () => {
    const f = await failure(over(agencies.tls.mutual)(IBAN));
    expect(f).toMatchObject({ reason: "AGENCY_UNAVAILABLE", agency: "cbi" });
  });
});
