// Every inquiry type of the simulated agencies answers found, not found and rejected for the example
// inputs of simulators/demo-agencies/README.md, each through its agency's own face and credentials.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nationalCodeFromSeed } from "../../core/identifiers.ts";
import { DEMO_CREDENTIALS } from "../../simulators/demo-agencies/agencies.ts";
import { CENTINSUR_SERVICE, WELFARE_SERVICE } from "../../simulators/demo-agencies/grpc/face.ts";
import { ibanOfPerson } from "../../simulators/demo-agencies/records/finance.ts";
import { consentCodeFor } from "../../simulators/demo-agencies/records/people.ts";
import { type DemoAgencies, startDemoAgencies } from "../../simulators/demo-agencies/server.ts";
import { type AgencyGrpcClient, agencyGrpcClient, call, envelope, postJson, postSoap } from "../helpers/agency-clients.ts";

let agencies: DemoAgencies;
let welfare: AgencyGrpcClient;
let centinsur: AgencyGrpcClient;

beforeAll(async () => {
  agencies = await startDemoAgencies({ port: 0 });
  welfare = agencyGrpcClient(agencies.grpcAddress, WELFARE_SERVICE);
  centinsur = agencyGrpcClient(agencies.grpcAddress, CENTINSUR_SERVICE);
});

afterAll(async () => {
  welfare.close();
  centinsur.close();
  await agencies.close();
});

const PERSIAN = /^[\u0600-\u06ff\u200c ،()0-9]+$/u;
const PERSON = "0012345679"; // حسین جلالی, born 1348/01/31
const UNKNOWN = "9990000001";
const RESTRICTED = "9970000004";
const DECEASED = "9980000007";

describe("NOCR alive status (REST, POST)", () => {
  const alive = (national_code: string) => postJson(`${agencies.url}/nocr/alive-status`, { national_code });
  it("answers alive, deceased with a date, not found and rejected", async () => {
    expect(await alive(PERSON)).toMatchObject({ status: 200, json: { alive: true, death_date: null } });
    const dead = await alive(DECEASED);
    expect(dead.json).toMatchObject({ alive: false, death_date: "1369/10/23" });
    expect(await alive(UNKNOWN)).toMatchObject({ status: 404, json: { error: "not_found" } });
    expect(await alive(RESTRICTED)).toMatchObject({ status: 422, json: { error: "rejected" } });
    const bad = await alive("0012345678");
    expect(bad.status).toBe(400);
    expect(bad.text).not.toContain("0012345678");
  });
});

describe("CBI IBAN–national code match and Shahab id (REST, POST)", () => {
  const match = (national_code: string, birth_date: string, iban: string) =>
    postJson(`${agencies.url}/cbi/iban-match`, { national_code, birth_date, iban });
  it("matches the owner named by the IBAN's last ten digits, with the right birth date", async () => {
    const iban = ibanOfPerson(PERSON, "017");
    expect(iban).toBe("IR920170000000000012345679");
    expect((await match(PERSON, "1348/01/31", iban)).json).toEqual({ match: true });
    expect((await match(PERSON, "1370/01/15", iban)).json).toEqual({ match: false });
    expect((await match(nationalCodeFromSeed(1), "1344/02/28", iban)).json).toEqual({ match: false });
    expect((await match(PERSON, "1348/01/31", "IR900990000000000012345679")).status).toBe(404);
    expect((await match(PERSON, "1348/01/31", "IR070100000000000012345679")).status).toBe(422);
    expect((await match(RESTRICTED, "1348/01/31", iban)).status).toBe(422);
  });

  it("gives the Shahab id only with the registered birth date", async () => {
    const shahab = (national_code: string, birth_date: string) => postJson(`${agencies.url}/cbi/shahab`, { national_code, birth_date });
    expect(await shahab(PERSON, "1348/01/31")).toMatchObject({ status: 200, json: { shahab_code: "1001234567961672" } });
    expect((await shahab(PERSON, "1370/01/15")).status).toBe(422);
    expect((await shahab(UNKNOWN, "1370/01/15")).status).toBe(404);
    expect((await shahab(PERSON, "1348/13/01")).status).toBe(400);
  });
});

describe("Sayad (REST, GET, bearer token, envelope)", () => {
  const auth = { authorization: `Bearer ${DEMO_CREDENTIALS.sayad.bearerToken}` };
  it("answers cheque statuses in its envelope", async () => {
    const found = await call(`${agencies.url}/sayad/api/v1/cheques/1234567890123456`, { headers: auth });
    expect(found).toMatchObject({
      status: 200,
      json: { status: "SUCCESS", data: { sayadId: "1234567890123456", status: "USABLE", currency: "IRR" } },
    });
    expect(await call(`${agencies.url}/sayad/api/v1/cheques/0000123456789012`, { headers: auth })).toMatchObject({
      status: 404,
      json: { status: "ERROR", error: { code: "CHEQUE_NOT_FOUND" } },
    });
    expect(await call(`${agencies.url}/sayad/api/v1/cheques/9999123456789012`, { headers: auth })).toMatchObject({
      status: 403,
      json: { status: "ERROR", error: { code: "CHEQUE_SEIZED" } },
    });
    expect((await call(`${agencies.url}/sayad/api/v1/cheques/12345`, { headers: auth })).status).toBe(400);
  });

  it("answers a person's cheque credit colour", async () => {
    const status = (code: string) => call(`${agencies.url}/sayad/api/v1/credit-status?nationalCode=${code}`, { headers: auth });
    expect((await status(PERSON)).json).toMatchObject({ status: "SUCCESS", data: { colour: "WHITE", bouncedCheques: 0 } });
    expect((await status(nationalCodeFromSeed(8))).json).toMatchObject({ data: { colour: "RED" } });
    expect((await status(UNKNOWN)).status).toBe(404);
    expect((await status(RESTRICTED)).status).toBe(403);
  });

  it("refuses calls without the bearer token", async () => {
    const refused = await call(`${agencies.url}/sayad/api/v1/cheques/1234567890123456`, { headers: { authorization: "Bearer wrong" } });
    expect(refused).toMatchObject({ status: 401, json: { status: "ERROR", error: { code: "UNAUTHORIZED" } } });
    expect(refused.headers.get("www-authenticate")).toContain("Bearer");
  });
});

describe("Shahkar (REST, POST, X-API-Key, codes in a 200 body)", () => {
  const key = { [DEMO_CREDENTIALS.cra.header]: DEMO_CREDENTIALS.cra.apiKey };
  const shahkar = (serviceNumber: string, identificationNo: string, headers: Record<string, string> = key) =>
    postJson(`${agencies.url}/cra/shahkar/v1/match`, { requestId: "r-1", serviceNumber, identificationType: 0, identificationNo }, headers);
  it("matches a line to its subscriber only", async () => {
    expect(await shahkar("09121234567", "3413893750")).toMatchObject({
      status: 200,
      json: { requestId: "r-1", response: 200, result: { match: true } },
    });
    expect((await shahkar("+98 912 123 4567", PERSON)).json).toMatchObject({ response: 200, result: { match: false } });
    expect(await shahkar("09001234567", PERSON)).toMatchObject({ status: 200, json: { response: 404 } });
    expect(await shahkar("09121234567", RESTRICTED)).toMatchObject({ status: 200, json: { response: 403 } });
    expect(await shahkar("0812345678", PERSON)).toMatchObject({ status: 200, json: { response: 400 } });
    expect((await shahkar("09121234567", PERSON, {})).status).toBe(401);
  });
});

describe("Traffic police (REST, GET with query strings, basic auth, .NET envelope)", () => {
  const basic = {
    authorization: `Basic ${Buffer.from(`${DEMO_CREDENTIALS.rahvar.username}:${DEMO_CREDENTIALS.rahvar.password}`).toString("base64")}`,
  };
  const get = (path: string, query: Record<string, string>, headers = basic) =>
    call(`${agencies.url}/rahvar/api/${path}?${new URLSearchParams(query)}`, { headers });

  it("lists a vehicle's fines by plate or VIN", async () => {
    const fines = await get("TrafficFines", { Plate: "12ب345-67" });
    expect(fines).toMatchObject({ status: 200, json: { IsSuccess: true, ErrorCode: 0, Data: { TotalAmount: 1_000_000, Count: 1 } } });
    expect((await get("TrafficFines", { plate: "۱۲ ب ۳۴۵ ایران ۶۷" })).json).toEqual(fines.json);
    expect((await get("TrafficFines", { Vin: "NAAM01CA9JK123456" })).json).toMatchObject({ IsSuccess: true });
    expect(await get("TrafficFines", { Plate: "12ب999-67" })).toMatchObject({ status: 404, json: { IsSuccess: false, ErrorCode: 1404 } });
    expect(await get("TrafficFines", { Plate: "12پ345-67" })).toMatchObject({ status: 403, json: { ErrorCode: 1403 } });
    expect((await get("TrafficFines", {})).status).toBe(400);
  });

  it("checks a driving licence against its holder", async () => {
    const holder = nationalCodeFromSeed(1);
    expect((await get("DrivingLicence", { NationalCode: holder, LicenceNumber: "3072553175" })).json).toMatchObject({
      IsSuccess: true,
      Data: { LicenceNumber: "3072553175" },
    });
    expect((await get("DrivingLicence", { NationalCode: holder, LicenceNumber: "3072553176" })).status).toBe(404);
    expect((await get("DrivingLicence", { NationalCode: RESTRICTED, LicenceNumber: "3072553175" })).status).toBe(403);
  });

  it("lists a person's vehicles and says whether a plate is theirs", async () => {
    const all = await get("VehicleOwnership", { NationalCode: PERSON });
    expect(all.json).toMatchObject({ IsSuccess: true, Data: { IsOwner: null } });
    const vehicles = (all.json.Data as { Vehicles: Array<{ Plate: string }> }).Vehicles;
    expect(vehicles.map((v) => v.Plate)).toEqual(["75ی566-99", "76س830-50", "23و600-86"]);
    expect((await get("VehicleOwnership", { NationalCode: PERSON, Plate: "75ی566-99" })).json).toMatchObject({ Data: { IsOwner: true } });
    expect((await get("VehicleOwnership", { NationalCode: PERSON, Plate: "12ب345-67" })).json).toMatchObject({ Data: { IsOwner: false } });
    expect((await get("VehicleOwnership", { NationalCode: UNKNOWN })).status).toBe(404);
    expect((await get("VehicleOwnership", { NationalCode: RESTRICTED })).status).toBe(403);
  });

  it("asks for basic credentials", async () => {
    const refused = await get("VehicleOwnership", { NationalCode: PERSON }, { authorization: "Basic ZXN0ZWxhbTp3cm9uZw==" });
    expect(refused).toMatchObject({ status: 401, json: { IsSuccess: false } });
    expect(refused.headers.get("www-authenticate")).toContain("Basic");
  });
});

describe("Conscription (REST, POST, bearer token, Google-style errors)", () => {
  const status = (nationalCode: string, token: string = DEMO_CREDENTIALS.nezam.bearerToken) =>
    postJson(`${agencies.url}/nezam/api/v2/military-status`, { nationalCode }, { authorization: `Bearer ${token}` });
  it("answers men's status, women's as not applicable, not found and rejected", async () => {
    expect((await status(PERSON)).json).toMatchObject({ result: { status: "COMPLETED", statusFa: "پایان خدمت" } });
    expect((await status(nationalCodeFromSeed(4))).json).toMatchObject({ result: { status: "NOT_APPLICABLE" } });
    expect(await status(UNKNOWN)).toMatchObject({ status: 404, json: { error: { code: 404, status: "NOT_FOUND" } } });
    expect(await status(RESTRICTED)).toMatchObject({ status: 403, json: { error: { status: "PERMISSION_DENIED" } } });
    expect(await status(PERSON, "wrong")).toMatchObject({ status: 401, json: { error: { status: "UNAUTHENTICATED" } } });
  });
});

describe("Passport police (REST, GET with the code in the path, Api-Key)", () => {
  const passport = (code: string, key: string = DEMO_CREDENTIALS.passport.apiKey) =>
    call(`${agencies.url}/passport/v1/citizens/${code}/passport`, { headers: { [DEMO_CREDENTIALS.passport.header]: key } });
  it("answers a passport's status, not found and rejected", async () => {
    expect((await passport(nationalCodeFromSeed(1))).json).toMatchObject({ status: "valid", passport_type: "ordinary" });
    expect((await passport(PERSON)).json).toMatchObject({ status: "not_issued", passport_number: null });
    expect((await passport(nationalCodeFromSeed(5))).json).toMatchObject({ status: "expired" });
    expect((await passport(UNKNOWN)).status).toBe(404);
    expect((await passport(RESTRICTED)).status).toBe(403);
    expect((await passport(PERSON, "wrong")).status).toBe(401);
  });
});

describe("SSAA company register (SOAP 1.2, WS-Security)", () => {
  const url = () => `${agencies.url}/ssaa/CompanyInquiryService`;
  const credentials = DEMO_CREDENTIALS.ssaa;
  const company = (id: string) =>
    postSoap(
      url(),
      "1.2",
      "urn:ir.ssaa:company:v1/GetCompanyByNationalId",
      envelope(
        "1.2",
        `<c:GetCompanyByNationalIdRequest xmlns:c="urn:ir.ssaa:company:v1"><c:NationalId>${id}</c:NationalId></c:GetCompanyByNationalIdRequest>`,
        credentials,
      ),
    );
  it("answers a company, a dissolved one, and declared faults for not found and restricted", async () => {
    const found = await company("10380284790");
    expect(found.status).toBe(200);
    expect(found.headers.get("content-type")).toBe("application/soap+xml; charset=utf-8");
    expect(found.text).toContain("<c:Name>شرکت البرز ساختمان (سهامی عام)</c:Name>");
    expect(found.text).toContain("<c:Status>ACTIVE</c:Status>");
    expect((await company("19800000003")).text).toContain("<c:Status>DISSOLVED</c:Status>");
    const missing = await company("19900000004");
    expect(missing.status).toBe(400);
    expect(missing.text).toMatch(/<env:Value>env:Sender<\/env:Value><env:Subcode><env:Value>c:CompanyNotFound<\/env:Value>/);
    const restricted = await company("19700000002");
    expect(restricted.text).toContain("c:AccessRestricted");
    const invalid = await company("10380284791");
    expect(invalid.text).toContain("c:InvalidRequest");
  });
});

describe("Social security (SOAP 1.1, the soap package, WS-Security)", () => {
  const url = () => `${agencies.url}/sso/InsuranceHistoryService`;
  const body = (op: string, fields: string) => `<t:${op}Request xmlns:t="urn:ir.tamin:insurance:v1">${fields}</t:${op}Request>`;
  const history = (code: string, consent?: string) =>
    postSoap(
      url(),
      "1.1",
      "urn:ir.tamin:insurance:v1/GetInsuranceHistory",
      envelope(
        "1.1",
        body(
          "GetInsuranceHistory",
          `<t:nationalCode>${code}</t:nationalCode>${consent === undefined ? "" : `<t:consentCode>${consent}</t:consentCode>`}`,
        ),
        DEMO_CREDENTIALS.sso,
      ),
    );
  it("answers the history with the citizen's consent code, and refuses without it", async () => {
    expect(consentCodeFor(PERSON)).toBe("951106");
    const found = await history(PERSON, "951106");
    expect(found.status).toBe(200);
    expect(found.text).toContain("<resultCode>OK</resultCode>");
    expect(found.text).toContain("<insuranceNumber>4944764905</insuranceNumber>");
    expect(found.text).toMatch(/<record><workshopCode>\d{10}<\/workshopCode><workshopName>[^<]+<\/workshopName>/);
    expect((await history(PERSON)).text).toContain("<resultCode>CONSENT_REQUIRED</resultCode>");
    expect((await history(PERSON, "000000")).text).toContain("<resultCode>CONSENT_INVALID</resultCode>");
    expect((await history(UNKNOWN, consentCodeFor(UNKNOWN))).text).toContain("<resultCode>NOT_FOUND</resultCode>");
    expect((await history(RESTRICTED, consentCodeFor(RESTRICTED))).text).toContain("<resultCode>RESTRICTED</resultCode>");
  });

  it("answers insurance status", async () => {
    const status = (code: string) =>
      postSoap(
        url(),
        "1.1",
        "urn:ir.tamin:insurance:v1/GetInsuranceStatus",
        envelope("1.1", body("GetInsuranceStatus", `<t:nationalCode>${code}</t:nationalCode>`), DEMO_CREDENTIALS.sso),
      );
    expect((await status(PERSON)).text).toContain("<insured>false</insured>");
    const insured = await status(nationalCodeFromSeed(3));
    expect(insured.text).toContain("<insured>true</insured>");
    expect(insured.text).toMatch(/<insuranceType>[^<]+<\/insuranceType>/);
    expect((await status(UNKNOWN)).text).toContain("<resultCode>NOT_FOUND</resultCode>");
  });
});

describe("Welfare database (gRPC, bearer metadata)", () => {
  const auth = { authorization: `Bearer ${DEMO_CREDENTIALS.welfare.bearerToken}` };
  it("answers the decile, NOT_FOUND, PERMISSION_DENIED, INVALID_ARGUMENT and UNAUTHENTICATED", async () => {
    const found = await welfare.unary("GetHouseholdDecile", { national_code: PERSON }, auth);
    expect(found.value).toEqual({
      decile: 4,
      household_id: "827618875821",
      household_size: 5,
      head_of_household: false,
      subsidy_eligible: true,
      assessed_on: "1404/02/03",
    });
    expect((await welfare.unary("GetHouseholdDecile", { national_code: UNKNOWN }, auth)).code).toBe(5);
    expect((await welfare.unary("GetHouseholdDecile", { national_code: RESTRICTED }, auth)).code).toBe(7);
    expect((await welfare.unary("GetHouseholdDecile", { national_code: "0012345678" }, auth)).code).toBe(3);
    expect((await welfare.unary("GetHouseholdDecile", { national_code: PERSON })).code).toBe(16);
  });
});

describe("Central Insurance (gRPC, x-api-key metadata)", () => {
  const key = { [DEMO_CREDENTIALS.centinsur.header]: DEMO_CREDENTIALS.centinsur.apiKey };
  const plate = (three_digits: string, letter = "ب") => ({ plate: { two_digits: "12", letter, three_digits, province_code: "67" } });
  it("answers a vehicle's policy by plate or VIN, NOT_FOUND and PERMISSION_DENIED", async () => {
    const found = await centinsur.unary("GetPolicy", plate("345"), key);
    expect(found.value).toMatchObject({
      status: "POLICY_STATUS_VALID",
      insurer: "بیمه ایران",
      starts_on: "1403/10/11",
      ends_on: "1404/10/11",
    });
    expect(String(found.value?.insurer)).toMatch(PERSIAN);
    expect((await centinsur.unary("GetPolicy", { vin: "NAAM01CA9JK123456" }, key)).value).toMatchObject({ status: "POLICY_STATUS_VALID" });
    expect((await centinsur.unary("GetPolicy", plate("999"), key)).code).toBe(5);
    expect((await centinsur.unary("GetPolicy", plate("345", "پ"), key)).code).toBe(7);
    expect((await centinsur.unary("GetPolicy", { vin: "SHORT" }, key)).code).toBe(3);
    expect((await centinsur.unary("GetPolicy", plate("345"))).code).toBe(16);
  });
});
