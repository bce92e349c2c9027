// Every inquiry type of the demo catalogue that is online is answered through the gateway by the demo
// agencies, each on its own face (REST in several styles, SOAP 1.1 and 1.2, gRPC): found with a result
// that matches the inquiry type's result schema, and the agency's "not found" and refusals as business
// answers. It runs against `node gateway/main.ts --demo`, the process `npm start` runs. (The General
// Conscription Organization is simulated too; the README registers it at run time, from
// registry/catalogues/examples/.)
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_EXAMPLES } from "../../gateway/demo-examples.ts";
import { Answer } from "../../gen/estelam/inquiry/v1/inquiry_pb.js";
import { createInquiryClient, type InquiryClient } from "../helpers/client.ts";
import { demoDocuments, KEYS } from "../helpers/gateway.ts";
import { type GatewayProcess, startGatewayProcess } from "../helpers/gateway-process.ts";

let gateway: GatewayProcess | undefined;
let client: InquiryClient;
beforeAll(async () => {
  gateway = await startGatewayProcess();
  client = createInquiryClient(gateway.grpcAddress, KEYS.demoBank);
});
afterAll(() => {
  client?.close();
  gateway?.child.kill("SIGTERM");
});

type Params = Record<string, unknown>;
interface Case {
  readonly key: string;
  readonly purpose: string;
  readonly found: Params;
  readonly expect: Record<string, unknown>;
  readonly notFound?: Params;
  readonly rejected?: Params;
}

const BANK = { key: KEYS.demoBank } as const;
const COUNTER = { key: KEYS.counterOffice, purpose: "counter.service-request" } as const;

const CASES: Readonly<Record<string, Case>> = {
  "nocr.identity-match.v1": {
    ...BANK,
    purpose: "kyc.account-opening",
    found: { national_code: "0012345679", birth_date: "1348/01/31" },
    expect: { match: true, first_name: "حسین", last_name: "جلالی" },
    notFound: { national_code: "9990000001", birth_date: "1348/01/31" },
  },
  "nocr.alive-status.v1": {
    ...BANK,
    purpose: "kyc.account-opening",
    found: { national_code: "9980000007" },
    expect: { alive: false, death_date: "1369/10/23" },
    notFound: { national_code: "9990000001" },
    rejected: { national_code: "9970000004" },
  },
  "post.address-by-postcode.v1": {
    ...BANK,
    purpose: "kyc.address-verification",
    found: { postal_code: "1193653471" },
    expect: { city: "تهران" },
    notFound: { postal_code: "1193600471" },
  },
  "cbi.iban-owner.v1": {
    ...BANK,
    purpose: "payment.beneficiary-check",
    found: { iban: "IR020540889862171595799372" },
    expect: { bank: "بانک پارسیان", account_status: "active" },
    notFound: { iban: "IR080990889862171595799372" },
    rejected: { iban: "IR220100889862171595799372" },
  },
  "cbi.iban-national-code-match.v1": {
    ...BANK,
    purpose: "kyc.account-opening",
    found: { national_code: "0012345679", birth_date: "1348/01/31", iban: "IR920170000000000012345679" },
    expect: { match: true },
    notFound: { national_code: "0012345679", birth_date: "1348/01/31", iban: "IR900990000000000012345679" },
  },
  "cbi.shahab-id.v1": {
    ...BANK,
    purpose: "kyc.account-opening",
    found: { national_code: "0012345679", birth_date: "1348/01/31" },
    expect: { shahab_code: "1001234567961672" },
    rejected: { national_code: "0012345679", birth_date: "1370/01/15" },
  },
  "cbi.sayad-cheque-status.v1": {
    ...BANK,
    purpose: "cheque.acceptance",
    found: { sayad_id: "1234567890123456" },
    expect: { status: "USABLE", amount: 2_701_800_000, bank_name: "بانک صنعت و معدن" },
    notFound: { sayad_id: "0000123456789012" },
    rejected: { sayad_id: "9999123456789012" },
  },
  "cbi.cheque-credit-status.v1": {
    ...BANK,
    purpose: "cheque.issuance",
    found: { national_code: "2161000969" },
    expect: { colour: "RED" },
    notFound: { national_code: "9990000001" },
    rejected: { national_code: "9970000004" },
  },
  "cra.shahkar-mobile-match.v1": {
    ...BANK,
    purpose: "kyc.account-opening",
    found: { mobile: "09121234567", national_code: "3413893750" },
    expect: { match: true },
    notFound: { mobile: "09001234567", national_code: "3413893750" },
    rejected: { mobile: "09121234567", national_code: "9970000004" },
  },
  "rahvar.traffic-fines.v1": {
    ...COUNTER,
    found: { plate: "12ب345-67" },
    expect: { count: 1, total_amount: 1_000_000 },
    notFound: { plate: "12ب999-67" },
    rejected: { plate: "12پ345-67" },
  },
  "rahvar.driving-licence-status.v1": {
    ...COUNTER,
    found: { national_code: "8898621728", licence_number: "3072553175" },
    expect: { status: "VALID", licence_number: "3072553175" },
    notFound: { national_code: "8898621728", licence_number: "3072553176" },
    rejected: { national_code: "9970000004", licence_number: "3072553175" },
  },
  "rahvar.vehicle-ownership.v1": {
    ...COUNTER,
    found: { national_code: "0012345679", plate: "75ی566-99" },
    expect: { is_owner: true },
    notFound: { national_code: "9990000001" },
    rejected: { national_code: "9970000004" },
  },
  "passport.passport-status.v1": {
    ...COUNTER,
    found: { national_code: "8898621728" },
    expect: { status: "valid" },
    notFound: { national_code: "9990000001" },
    rejected: { national_code: "9970000004" },
  },
  "ssaa.company-by-national-id.v1": {
    ...COUNTER,
    found: { national_id: "10380284790" },
    expect: { status: "ACTIVE", national_id: "10380284790" },
    notFound: { national_id: "19900000004" },
    rejected: { national_id: "19700000002" },
  },
  "sso.insurance-history.v1": {
    ...BANK,
    purpose: "loan.application",
    found: { national_code: "0012345679", consent_code: "951106" },
    expect: { insurance_number: "4944764905" },
    rejected: { national_code: "0012345679", consent_code: "000000" },
  },
  "sso.insurance-status.v1": {
    ...COUNTER,
    found: { national_code: "1259301516" },
    expect: { insured: true },
    notFound: { national_code: "9990000001" },
    rejected: { national_code: "9970000004" },
  },
  "welfare.subsidy-decile.v1": {
    ...COUNTER,
    found: { national_code: "0012345679" },
    expect: { decile: 4, household_size: 5 },
    notFound: { national_code: "9990000001" },
    rejected: { national_code: "9970000004" },
  },
  "centinsur.third-party-insurance.v1": {
    ...COUNTER,
    found: { plate: { two_digits: "12", letter: "ب", three_digits: "345", province_code: "67" } },
    expect: { status: "POLICY_STATUS_VALID", insurer: "بیمه ایران" },
    notFound: { plate: { two_digits: "12", letter: "ب", three_digits: "999", province_code: "67" } },
    rejected: { plate: { two_digits: "12", letter: "پ", three_digits: "345", province_code: "67" } },
  },
};

async function ask(inquiryType: string, c: Case, params: Params) {
  const outcome = await client.inquire(
    { inquiryType, params: params as never, purpose: c.purpose, endUser: "demo-test" },
    { apiKey: c.key },
  );
  if (!outcome.ok) throw new Error(`${inquiryType}: ${outcome.status.message}`);
  return outcome.response;
}

describe("the demo catalogue", () => {
  it("binds at least 18 inquiry types of at least 10 agencies, over REST, SOAP and gRPC", async () => {
    const documents = await demoDocuments();
    const content = documents.map((d) => d.content as { kind: string; metadata: { name: string }; spec: { kind?: string } });
    const bound = content.filter((d) => d.kind === "Binding").map((d) => d.metadata.name);
    expect(bound.length).toBeGreaterThanOrEqual(18);
    expect(new Set(bound.map((id) => id.split(".")[0])).size).toBeGreaterThanOrEqual(10);
    expect(bound.sort()).toEqual(Object.keys(CASES).sort());
    const kinds = content.filter((d) => d.kind === "Endpoint").map((d) => d.spec.kind);
    expect(new Set(kinds)).toEqual(new Set(["http-json", "soap", "grpc"]));
  });

  it("answers every example the npm start banner prints, REST, SOAP and gRPC among them", async () => {
    const types = DEMO_EXAMPLES.map((e) => e.body.inquiry_type);
    expect(types).toEqual(expect.arrayContaining(["ssaa.company-by-national-id.v1", "welfare.subsidy-decile.v1"]));
    for (const { body } of DEMO_EXAMPLES) {
      const outcome = await client.inquire({
        inquiryType: body.inquiry_type,
        params: { ...body.params },
        purpose: body.purpose,
        endUser: body.end_user,
      });
      if (!outcome.ok) throw new Error(`${body.inquiry_type}: ${outcome.status.message}`);
      expect(outcome.response.answer, body.inquiry_type).toBe(Answer.FOUND);
    }
  });

  for (const [type, c] of Object.entries(CASES)) {
    it(`${type}: found, not found and rejected on the agency's own face`, async () => {
      const found = await ask(type, c, c.found);
      expect(found.answer, found.message).toBe(Answer.FOUND);
      expect(found.responder).toBe(type.split(".")[0]);
      expect(found.result).toMatchObject(c.expect);
      if (c.notFound !== undefined) expect((await ask(type, c, c.notFound)).answer).toBe(Answer.NOT_FOUND);
      if (c.rejected !== undefined) {
        const rejected = await ask(type, c, c.rejected);
        expect(rejected.answer).toBe(Answer.REJECTED);
        expect(rejected.message.length).toBeGreaterThan(0);
      }
    });
  }
});
