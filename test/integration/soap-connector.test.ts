// The soap connector against SOAP services it did not write: the Social Security agency is served by the
// `soap` npm package's own server from its WSDL (SOAP 1.1), the company register by a separate hand-written
// SOAP 1.2 service. WS-Security UsernameTokens (text and digest) are accepted by both; faults map to
// business answers or catalogue errors as the binding says.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Connector, ConnectorRequest } from "../../connectors/connector.ts";
import { soapConnector } from "../../connectors/soap/index.ts";
import { EstelamError } from "../../core/errors.ts";
import { consentCodeFor } from "../../simulators/demo-agencies/records/people.ts";
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

function connector(agency: string, endpoint: Record<string, unknown>, operation: Record<string, unknown>) {
  const e = soapConnector.validateEndpoint(endpoint, "spec.options");
  const o = soapConnector.validateOperation(operation, "operation");
  if (!e.ok) throw new Error(JSON.stringify(e.issues));
  if (!o.ok) throw new Error(JSON.stringify(o.issues));
  const c = soapConnector.create(e.options, { agency, endpoint: "main" });
  open.push(c);
  return (params: Record<string, unknown>) => c.call(request(params), o.options);
}

function request(params: Record<string, unknown>): ConnectorRequest {
  return {
    inquiryId: "01a20511-0000-7000-8000-000000000000",
    inquiryType: "test.soap.v1",
    requester: "demo-bank",
    purpose: "test",
    params: params as ConnectorRequest["params"],
    signal: AbortSignal.timeout(3_000),
    deadline: Date.now() + 3_000,
  };
}

async function failure(call: Promise<unknown>): Promise<EstelamError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(EstelamError);
  return error as EstelamError;
}

const HISTORY = {
  action: "urn:ir.tamin:insurance:v1/GetInsuranceHistory",
  namespace: "urn:ir.tamin:insurance:v1",
  request: "GetInsuranceHistoryRequest",
  body: { nationalCode: "{national_code}", consentCode: "{consent_code}" },
  result: "GetInsuranceHistoryResponse",
  outcome: {
    field: "resultCode",
    found: ["OK"],
    notFound: ["NOT_FOUND"],
    rejected: ["CONSENT_REQUIRED", "CONSENT_INVALID", "RESTRICTED"],
    message: "resultMessage",
  },
  lists: ["records.record"],
  fields: { insurance_number: "insuranceNumber", total_days: "totalDays", records: "records.record" },
  types: { total_days: "integer", "records.days": "integer", "records.monthlyWage": "integer" },
};

const sso = (token: Record<string, unknown> = { username: "estelam", password: "sso-demo-pass-91fa" }) =>
  connector("sso", { url: `${agencies.url}/sso/InsuranceHistoryService`, version: "1.1", usernameToken: token }, HISTORY);

describe("SOAP 1.1 against the soap package's server, from its WSDL", () => {
  it.each(["text", "digest"])("answers with a %s UsernameToken, lists and numbers read as the binding says", async (passwordType) => {
    const before = agencies.soapPackageRequests();
    const answer = await sso({ username: "estelam", password: "sso-demo-pass-91fa", passwordType })({
      national_code: "0012345679",
      consent_code: consentCodeFor("0012345679"),
    });
    expect(agencies.soapPackageRequests()).toBe(before + 1);
    if (answer.answer !== "found") throw new Error(JSON.stringify(answer));
    expect(answer.result).toMatchObject({ insurance_number: "4944764905" });
    expect(typeof answer.result.total_days).toBe("number");
    const records = answer.result.records as Array<Record<string, unknown>>;
    expect(Array.isArray(records)).toBe(true);
    for (const record of records) expect(typeof record.days).toBe("number");
  });

  it("reads business outcomes from the result code, with the agency's message", async () => {
    const ask = sso();
    expect(await ask({ national_code: "9990000001", consent_code: consentCodeFor("9990000001") })).toMatchObject({ answer: "not_found" });
    const refused = await ask({ national_code: "0012345679", consent_code: "000000" });
    expect(refused.answer).toBe("rejected");
    expect(refused.answer !== "found" && refused.message.length).toBeGreaterThan(0);
  });

  it("a refused token is the agency refusing the gateway (soap:Client fault) → AGENCY_BAD_RESPONSE", async () => {
    const e = await failure(sso({ username: "estelam", password: "wrong" })({ national_code: "0012345679", consent_code: "951106" }));
    expect(e.reason).toBe("AGENCY_BAD_RESPONSE");
    expect(e.message).toMatch(/SOAP fault \(Client\).*FailedAuthentication/);
  });

  it("an agency in trouble (soap:Server fault) → AGENCY_UNAVAILABLE", async () => {
    agencies.faults.set({ agency: "sso", mode: "error" });
    const e = await failure(sso()({ national_code: "0012345679", consent_code: "951106" }));
    agencies.faults.reset();
    expect(e.reason).toBe("AGENCY_UNAVAILABLE");
    expect(e.message).toMatch(/SOAP fault \(Server/);
  });
});

describe("SOAP 1.2 against a hand-written service", () => {
  const COMPANY = {
    action: "urn:ir.ssaa:company:v1/GetCompanyByNationalId",
    namespace: "urn:ir.ssaa:company:v1",
    request: "GetCompanyByNationalIdRequest",
    body: { NationalId: "{national_id}" },
    result: "GetCompanyByNationalIdResponse.Company",
    faults: { CompanyNotFound: "not_found", AccessRestricted: "rejected" },
  };
  const ssaa = (version: "1.1" | "1.2" = "1.2") =>
    connector(
      "ssaa",
      {
        url: `${agencies.url}/ssaa/CompanyInquiryService`,
        version,
        usernameToken: { username: "estelam", password: "ssaa-demo-pass-6b2d", passwordType: "digest" },
      },
      COMPANY,
    );

  it("maps faults by subcode to business answers", async () => {
    expect(await ssaa()({ national_id: "10380284790" })).toMatchObject({ answer: "found", result: { Status: "ACTIVE" } });
    expect(await ssaa()({ national_id: "19900000004" })).toMatchObject({ answer: "not_found" });
    expect(await ssaa()({ national_id: "19700000002" })).toMatchObject({ answer: "rejected" });
  });

  it("a fault the binding does not map: env:Sender → AGENCY_BAD_RESPONSE with the agency's reason", async () => {
    const e = await failure(ssaa()({ national_id: "1038028479" }));
    expect(e.reason).toBe("AGENCY_BAD_RESPONSE");
    expect(e.message).toMatch(/SOAP fault \(Sender\)/);
  });

  it("the wrong SOAP version is refused by the agency, and said so", async () => {
    const e = await failure(ssaa("1.1")({ national_id: "10380284790" }));
    expect(e.reason).toBe("AGENCY_BAD_RESPONSE");
  });
});
