// The company register (SSAA) over SOAP 1.2, written by hand against its own WSDL (ssaa-company.wsdl):
// POST an application/soap+xml envelope with a WS-Security UsernameToken to /ssaa/CompanyInquiryService;
// the WSDL is at /ssaa/CompanyInquiryService?wsdl. "No such company", "restricted" and "unreadable
// request" are the WSDL's declared faults (env:Sender, HTTP 400); the service's own trouble is an
// env:Receiver fault.
import { readFileSync } from "node:fs";
import { parseLegalEntityId } from "../../../core/identifiers.ts";
import { DEMO_CREDENTIALS } from "../agencies.ts";
import type { AgencyRequest, AgencyStyle, HandledRoute, Reply } from "../http/route.ts";
import { companyByNationalId } from "../records/companies.ts";
import { checkUsernameToken, child, escapeXml, parseEnvelope, SOAP11_NS, SOAP12_NS, text, usernameTokenOf, WSSE_NS } from "./envelope.ts";

export const SSAA_PATH = "/ssaa/CompanyInquiryService";
export const SSAA_NS = "urn:ir.ssaa:company:v1";
const WSDL_TEMPLATE = readFileSync(new URL("./ssaa-company.wsdl", import.meta.url), "utf8");
const SOAP12_TYPE = "application/soap+xml; charset=utf-8";

function envelope(body: string): string {
  return `<?xml version="1.0" encoding="utf-8"?><env:Envelope xmlns:env="${SOAP12_NS}" xmlns:c="${SSAA_NS}" xmlns:wsse="${WSSE_NS}"><env:Body>${body}</env:Body></env:Envelope>`;
}

interface Fault {
  readonly status: number;
  readonly code: "env:Sender" | "env:Receiver" | "env:VersionMismatch";
  readonly subcode?: string;
  readonly reason: string;
  readonly detail?: string;
}

function fault(f: Fault): Reply {
  const subcode = f.subcode === undefined ? "" : `<env:Subcode><env:Value>${f.subcode}</env:Value></env:Subcode>`;
  const detail = f.detail === undefined ? "" : `<env:Detail>${f.detail}</env:Detail>`;
  return {
    status: f.status,
    contentType: SOAP12_TYPE,
    body: envelope(
      `<env:Fault><env:Code><env:Value>${f.code}</env:Value>${subcode}</env:Code><env:Reason><env:Text xml:lang="en">${escapeXml(f.reason)}</env:Text></env:Reason>${detail}</env:Fault>`,
    ),
  };
}

function invalidRequest(message: string, field?: string): Reply {
  const fieldXml = field === undefined ? "" : `<c:Field>${field}</c:Field>`;
  return fault({
    status: 400,
    code: "env:Sender",
    subcode: "c:InvalidRequest",
    reason: message,
    detail: `<c:InvalidRequestFault>${fieldXml}<c:Message>${escapeXml(message)}</c:Message></c:InvalidRequestFault>`,
  });
}

const style: AgencyStyle = {
  format: "soap12",
  unavailable: (status) =>
    fault({ status, code: "env:Receiver", subcode: "c:ServiceUnavailable", reason: "the company register is temporarily unavailable" }),
  methodNotAllowed: (allowed) => ({
    ...fault({ status: 405, code: "env:Sender", reason: `use ${allowed.join(" or ")}` }),
    headers: { allow: allowed.join(", ") },
  }),
  tooLarge: (limit) => ({
    ...fault({ status: 413, code: "env:Sender", reason: `the message must be at most ${limit} bytes` }),
    headers: { connection: "close" },
  }),
};

function wsdl(request: AgencyRequest): Reply {
  return {
    status: 200,
    contentType: "text/xml; charset=utf-8",
    body: WSDL_TEMPLATE.replace("{{LOCATION}}", escapeXml(`${request.origin}${SSAA_PATH}`)),
  };
}

function isWsdlRequest(method: string | undefined, url: URL): boolean {
  return method === "GET" && url.search.toLowerCase().startsWith("?wsdl");
}

function company(request: AgencyRequest): Reply {
  const mediaType = (request.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
  if (mediaType !== "application/soap+xml")
    return { status: 415, contentType: "text/plain; charset=utf-8", body: "this is a SOAP 1.2 endpoint: send application/soap+xml\n" };
  const message = parseEnvelope(request.body.toString("utf8"));
  if (message === undefined) return invalidRequest("the message is not a well-formed SOAP envelope (DTDs are not allowed)");
  if (message.envelopeNs === SOAP11_NS || message.envelopeNs !== SOAP12_NS)
    return fault({ status: 500, code: "env:VersionMismatch", reason: "only SOAP 1.2 envelopes are understood here" });
  const token = checkUsernameToken(usernameTokenOf(message.header), DEMO_CREDENTIALS.ssaa);
  if (token === "missing")
    return fault({ status: 400, code: "env:Sender", subcode: "wsse:InvalidSecurity", reason: "a WS-Security UsernameToken is required" });
  if (token === "failed")
    return fault({
      status: 400,
      code: "env:Sender",
      subcode: "wsse:FailedAuthentication",
      reason: "the security token could not be authenticated",
    });
  const operation = child(message.body, "GetCompanyByNationalIdRequest");
  if (operation === undefined) return invalidRequest("the body must hold a GetCompanyByNationalIdRequest");
  const raw = text(child(operation, "NationalId"));
  if (raw === undefined || raw === "") return invalidRequest("NationalId is required", "NationalId");
  const id = parseLegalEntityId(raw);
  if (!id.ok) return invalidRequest(`NationalId ${id.problem}`, "NationalId");
  const lookup = companyByNationalId(id.value);
  switch (lookup.kind) {
    case "not_found":
      return fault({
        status: 400,
        code: "env:Sender",
        subcode: "c:CompanyNotFound",
        reason: lookup.message,
        detail: `<c:CompanyNotFoundFault><c:Message>${escapeXml(lookup.message)}</c:Message></c:CompanyNotFoundFault>`,
      });
    case "rejected":
      return fault({
        status: 400,
        code: "env:Sender",
        subcode: "c:AccessRestricted",
        reason: lookup.message,
        detail: `<c:AccessRestrictedFault><c:Code>${lookup.code}</c:Code><c:Message>${escapeXml(lookup.message)}</c:Message></c:AccessRestrictedFault>`,
      });
    case "found": {
      const c = lookup.record;
      const fields: Array<[string, string]> = [
        ["NationalId", id.value],
        ["Name", c.name],
        ["LegalForm", c.legalForm],
        ["Status", c.status],
        ["RegistrationNumber", c.registrationNumber],
        ["RegistrationDate", c.registrationDate],
        ["RegistrationOffice", c.registrationOffice],
        ["PostalCode", c.postalCode],
        ["Address", c.address],
      ];
      const xml = fields.map(([name, value]) => `<c:${name}>${escapeXml(value)}</c:${name}>`).join("");
      return {
        status: 200,
        contentType: SOAP12_TYPE,
        body: envelope(`<c:GetCompanyByNationalIdResponse><c:Company>${xml}</c:Company></c:GetCompanyByNationalIdResponse>`),
      };
    }
  }
}

export const SSAA_ROUTES: readonly HandledRoute[] = [
  {
    agency: "ssaa",
    methods: ["POST"],
    path: SSAA_PATH,
    style,
    passThrough: (req, url) => isWsdlRequest(req.method, url),
    handle: (request) => (isWsdlRequest(request.method, request.url) ? wsdl(request) : company(request)),
  },
];
