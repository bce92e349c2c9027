// Each protocol face of the simulated agencies, exercised by a real client of that protocol: the WSDLs
// are well-formed and readable by the `soap` package's client, WS-Security and SOAP faults behave in 1.1
// and 1.2, the soap-built agency really is served by the `soap` package, and the gRPC face serves
// reflection that lists and describes both agencies' services (also to `buf curl`, a client we did not write).
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { XMLValidator } from "fast-xml-parser";
import { createClientAsync, WSSecurity } from "soap";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_CREDENTIALS } from "../../simulators/demo-agencies/agencies.ts";
import { CENTINSUR_SERVICE, WELFARE_SERVICE } from "../../simulators/demo-agencies/grpc/face.ts";
import { type DemoAgencies, startDemoAgencies } from "../../simulators/demo-agencies/server.ts";
import { call, envelope, postSoap, reflect } from "../helpers/agency-clients.ts";

const ROOT = resolve(import.meta.dirname, "../..");
let agencies: DemoAgencies;

beforeAll(async () => {
  agencies = await startDemoAgencies({ port: 0 });
});

afterAll(async () => {
  await agencies.close();
});

const SSAA = () => `${agencies.url}/ssaa/CompanyInquiryService`;
const SSO = () => `${agencies.url}/sso/InsuranceHistoryService`;
const companyRequest = (id: string) =>
  `<c:GetCompanyByNationalIdRequest xmlns:c="urn:ir.ssaa:company:v1"><c:NationalId>${id}</c:NationalId></c:GetCompanyByNationalIdRequest>`;
const statusRequest = (code: string) =>
  `<t:GetInsuranceStatusRequest xmlns:t="urn:ir.tamin:insurance:v1"><t:nationalCode>${code}</t:nationalCode></t:GetInsuranceStatusRequest>`;

describe("WSDLs", () => {
  it("are well-formed, served at ?wsdl with the address they were reached at", async () => {
    for (const [url, file, binding] of [
      [SSAA(), "ssaa-company.wsdl", "soap12:binding"],
      [SSO(), "sso-insurance.wsdl", "soap:binding"],
    ] as const) {
      const source = readFileSync(resolve(ROOT, "simulators/demo-agencies/soap", file), "utf8");
      expect(XMLValidator.validate(source), file).toBe(true);
      const served = await call(`${url}?wsdl`);
      expect(served.status).toBe(200);
      expect(served.headers.get("content-type")).toContain("xml");
      expect(XMLValidator.validate(served.text)).toBe(true);
      expect(served.text).toContain(`location="${url}"`);
      expect(served.text).toContain(binding);
    }
  });

  it("are read by the soap package's client, which then calls both agencies with WS-Security", async () => {
    const sso = await createClientAsync(`${SSO()}?wsdl`);
    expect(Object.keys(sso.describe().InsuranceService.InsuranceServiceSoap)).toEqual(["GetInsuranceHistory", "GetInsuranceStatus"]);
    sso.setSecurity(new WSSecurity(DEMO_CREDENTIALS.sso.username, DEMO_CREDENTIALS.sso.password, { passwordType: "PasswordDigest" }));
    const [history] = (await sso.GetInsuranceHistoryAsync({ nationalCode: "0012345679", consentCode: "951106" })) as [
      Record<string, unknown>,
    ];
    expect(history).toMatchObject({ resultCode: "OK", insuranceNumber: "4944764905" });
    expect(Array.isArray((history.records as { record: unknown[] }).record)).toBe(true);

    const ssaa = await createClientAsync(`${SSAA()}?wsdl`, { forceSoap12Headers: true });
    ssaa.setSecurity(new WSSecurity(DEMO_CREDENTIALS.ssaa.username, DEMO_CREDENTIALS.ssaa.password, { passwordType: "PasswordText" }));
    const [company] = (await ssaa.GetCompanyByNationalIdAsync({ NationalId: "10380284790" })) as [{ Company: Record<string, unknown> }];
    expect(company.Company).toMatchObject({ NationalId: "10380284790", Status: "ACTIVE", PostalCode: "1831683096" });
    await expect(ssaa.GetCompanyByNationalIdAsync({ NationalId: "19900000004" })).rejects.toThrow(/CompanyNotFound/);
  });
});

describe("the soap-built agency", () => {
  it("is served by the soap package's server", async () => {
    const before = agencies.soapPackageRequests();
    const answer = await postSoap(
      SSO(),
      "1.1",
      "urn:ir.tamin:insurance:v1/GetInsuranceStatus",
      envelope("1.1", statusRequest("0012345679"), DEMO_CREDENTIALS.sso),
    );
    expect(answer.status).toBe(200);
    expect(agencies.soapPackageRequests()).toBe(before + 1);
    const described = (await call(`${agencies.url}/_control/agencies`)).json as {
      soapPackage: { version: string; requestsHandled: number };
    };
    expect(described.soapPackage.version).toBe(JSON.parse(readFileSync(resolve(ROOT, "node_modules/soap/package.json"), "utf8")).version);
    expect(described.soapPackage.requestsHandled).toBe(before + 1);
  });
});

describe("WS-Security and SOAP faults", () => {
  it("SOAP 1.2: a missing token, a wrong password and a stale digest are env:Sender faults; a fresh digest passes", async () => {
    const post = (credentials?: { username: string; password: string; digest?: boolean }) =>
      postSoap(SSAA(), "1.2", "urn:ir.ssaa:company:v1/GetCompanyByNationalId", envelope("1.2", companyRequest("10380284790"), credentials));
    const missing = await post();
    expect(missing.status).toBe(400);
    expect(missing.text).toContain("<env:Value>wsse:InvalidSecurity</env:Value>");
    const wrong = await post({ username: "estelam", password: "wrong" });
    expect(wrong.text).toContain("<env:Value>wsse:FailedAuthentication</env:Value>");
    expect((await post({ ...DEMO_CREDENTIALS.ssaa, digest: true })).status).toBe(200);
    const stale = envelope("1.2", companyRequest("10380284790"), { ...DEMO_CREDENTIALS.ssaa, digest: true }).replace(
      /<wsu:Created>[^<]+<\/wsu:Created>/,
      "<wsu:Created>2020-01-01T00:00:00.000Z</wsu:Created>",
    );
    expect((await postSoap(SSAA(), "1.2", "urn:ir.ssaa:company:v1/GetCompanyByNationalId", stale)).text).toContain(
      "wsse:FailedAuthentication",
    );
  });

  it("SOAP 1.2 endpoint: refuses SOAP 1.1 (VersionMismatch, or 415 for text/xml) and DTDs", async () => {
    const asSoap11Envelope = envelope("1.1", companyRequest("10380284790"), DEMO_CREDENTIALS.ssaa);
    const mismatch = await call(SSAA(), { method: "POST", body: asSoap11Envelope, headers: { "content-type": "application/soap+xml" } });
    expect(mismatch.status).toBe(500);
    expect(mismatch.text).toContain("env:VersionMismatch");
    expect((await postSoap(SSAA(), "1.1", "x", asSoap11Envelope)).status).toBe(415);
    const withDtd = `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "e">]>${envelope("1.2", companyRequest("10380284790"), DEMO_CREDENTIALS.ssaa).replace('<?xml version="1.0" encoding="utf-8"?>', "")}`;
    expect((await postSoap(SSAA(), "1.2", "x", withDtd)).text).toContain("c:InvalidRequest");
  });

  it("SOAP 1.1: failed authentication and unreadable input are soap:Client faults with HTTP 500", async () => {
    const post = (credentials?: { username: string; password: string; digest?: boolean }, code = "0012345679") =>
      postSoap(SSO(), "1.1", "urn:ir.tamin:insurance:v1/GetInsuranceStatus", envelope("1.1", statusRequest(code), credentials));
    for (const answer of [await post(), await post({ username: "estelam", password: "wrong" })]) {
      expect(answer.status).toBe(500);
      expect(answer.text).toContain("<faultcode>soap:Client</faultcode>");
    }
    expect((await post()).text).toContain("wsse:InvalidSecurity");
    expect((await post({ ...DEMO_CREDENTIALS.sso, digest: true })).status).toBe(200);
    const invalid = await post(DEMO_CREDENTIALS.sso, "0012345678");
    expect(invalid.status).toBe(500);
    expect(invalid.text).toContain("nationalCode checksum does not match");
    expect(invalid.text).not.toContain("0012345678");
  });
});

describe("gRPC reflection", () => {
  it("lists both agencies' services and describes them", async () => {
    const listed = await reflect(agencies.grpcAddress, { list_services: "" });
    const names = (listed.list_services_response as { service: Array<{ name: string }> }).service.map((s) => s.name);
    expect(names).toEqual(expect.arrayContaining([WELFARE_SERVICE, CENTINSUR_SERVICE]));
    const described = await reflect(agencies.grpcAddress, { file_containing_symbol: CENTINSUR_SERVICE });
    const files = (described.file_descriptor_response as { file_descriptor_proto: Buffer[] }).file_descriptor_proto;
    expect(files.length).toBeGreaterThan(0);
    expect(Buffer.concat(files).toString("latin1")).toContain("GetPolicy");
  });

  it("is enough for buf curl to find the methods", async () => {
    const buf = resolve(ROOT, "node_modules/.bin/buf");
    const { stdout } = await promisify(execFile)(
      buf,
      ["curl", "--protocol", "grpc", "--http2-prior-knowledge", "--list-methods", `http://${agencies.grpcAddress}`],
      {
        timeout: 20_000,
      },
    );
    expect(stdout.split("\n")).toEqual(expect.arrayContaining([`${WELFARE_SERVICE}/GetHouseholdDecile`, `${CENTINSUR_SERVICE}/GetPolicy`]));
  });
});

describe("the map of faces", () => {
  it("names every agency, its face and where to call it", async () => {
    const described = (await call(`${agencies.url}/_control/agencies`)).json as {
      grpc: string;
      vars: Record<string, string>;
      agencies: Array<{ id: string; face: string; endpoints: string[]; contract?: string; inquiries: string[] }>;
    };
    expect(described.grpc).toBe(agencies.grpcAddress);
    expect(described.vars.DEMO_AGENCIES_URL).toBe(agencies.url);
    expect(described.agencies).toHaveLength(12);
    expect(described.agencies.flatMap((a) => a.inquiries)).toHaveLength(19);
    expect(new Set(described.agencies.map((a) => a.face))).toEqual(new Set(["rest", "soap11", "soap12", "grpc"]));
    const ssaa = described.agencies.find((a) => a.id === "ssaa");
    expect(ssaa?.contract).toBe(`${SSAA()}?wsdl`);
    expect(described.agencies.find((a) => a.id === "sayad")?.endpoints).toEqual([
      `GET ${agencies.url}/sayad/api/v1/cheques/{sayadId}`,
      `GET ${agencies.url}/sayad/api/v1/credit-status`,
    ]);
  });
});
