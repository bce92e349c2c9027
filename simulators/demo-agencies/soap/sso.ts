// Social security (SSO) over SOAP 1.1, served by the `soap` npm package's server from the agency's own
// WSDL (sso-insurance.wsdl): an implementation of SOAP we did not write, for connectors to be proven
// against. POST a text/xml envelope with a WS-Security UsernameToken to /sso/InsuranceHistoryService;
// the WSDL is at /sso/InsuranceHistoryService?wsdl. Business outcomes are in the answer's resultCode;
// unreadable requests and failed authentication are soap:Client faults (HTTP 500, as SOAP 1.1 says).
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createRequire } from "node:module";
import { listen, type Server as SoapServer } from "soap";
import { parseNationalCode } from "../../../core/identifiers.ts";
import { DEMO_CREDENTIALS } from "../agencies.ts";
import type { AgencyStyle, DelegatedRoute, Reply } from "../http/route.ts";
import type { Lookup } from "../records/lookup.ts";
import { insuranceHistory, insuranceStatus } from "../records/people.ts";
import { checkUsernameToken, escapeXml, PASSWORD_TEXT, SOAP11_NS, type UsernameToken } from "./envelope.ts";

export const SSO_PATH = "/sso/InsuranceHistoryService";
export const SSO_NS = "urn:ir.tamin:insurance:v1";
const WSDL_TEMPLATE = readFileSync(new URL("./sso-insurance.wsdl", import.meta.url), "utf8");
const SOAP11_TYPE = "text/xml; charset=utf-8";

/** The version of the `soap` package serving this agency. */
export const SOAP_PACKAGE_VERSION: string = (createRequire(import.meta.url)("soap/package.json") as { version: string }).version;

function fault11(status: number, code: "soap:Client" | "soap:Server", message: string): Reply {
  return {
    status,
    contentType: SOAP11_TYPE,
    body: `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="${SOAP11_NS}"><soap:Body><soap:Fault><faultcode>${code}</faultcode><faultstring>${escapeXml(message)}</faultstring></soap:Fault></soap:Body></soap:Envelope>`,
  };
}

const style: AgencyStyle = {
  format: "soap11",
  unavailable: (status) => fault11(status, "soap:Server", "the insurance service is temporarily unavailable"),
  methodNotAllowed: (allowed) => ({
    ...fault11(405, "soap:Client", `use ${allowed.join(" or ")}`),
    headers: { allow: allowed.join(", ") },
  }),
  tooLarge: (limit) => ({ ...fault11(413, "soap:Client", `the message must be at most ${limit} bytes`), headers: { connection: "close" } }),
};

/** A fault the `soap` package's server sends as it is (SOAP 1.1 form). */
class ClientFault {
  readonly Fault: { faultcode: string; faultstring: string; statusCode: number };
  constructor(message: string) {
    this.Fault = { faultcode: "soap:Client", faultstring: message, statusCode: 500 };
  }
}

function field(args: unknown, name: string): string | undefined {
  if (typeof args !== "object" || args === null) return undefined;
  const value = (args as Record<string, unknown>)[name];
  if (typeof value === "string") return value;
  if (typeof value === "number") return String(value);
  return undefined;
}

function nationalCodeOf(args: unknown): string {
  const raw = field(args, "nationalCode");
  if (raw === undefined || raw === "") throw new ClientFault("nationalCode is required");
  const code = parseNationalCode(raw);
  if (!code.ok) throw new ClientFault(`nationalCode ${code.problem}`);
  return code.value;
}

function outcome<T>(lookup: Lookup<T>, answer: (record: T) => Record<string, unknown>): Record<string, unknown> {
  switch (lookup.kind) {
    case "found":
      return { resultCode: "OK", resultMessage: "", ...answer(lookup.record) };
    case "not_found":
      return { resultCode: "NOT_FOUND", resultMessage: lookup.message };
    case "rejected":
      return { resultCode: lookup.code, resultMessage: lookup.message };
  }
}

const services = {
  InsuranceService: {
    InsuranceServiceSoap: {
      GetInsuranceHistory(args: unknown) {
        const code = nationalCodeOf(args);
        return outcome(insuranceHistory(code, field(args, "consentCode")?.trim()), (history) => ({
          insuranceNumber: history.insuranceNumber,
          totalDays: history.totalDays,
          records: { record: history.records.map((r) => ({ ...r })) },
        }));
      },
      GetInsuranceStatus(args: unknown) {
        return outcome(insuranceStatus(nationalCodeOf(args)), (status) => ({
          insured: status.insured,
          insuranceNumber: status.insuranceNumber,
          ...(status.insuranceType === null ? {} : { insuranceType: status.insuranceType }),
          ...(status.lastPaidMonth === null ? {} : { lastPaidMonth: status.lastPaidMonth }),
        }));
      },
    },
  },
};

/** The value of an element as the `soap` package reads headers: text, or `{$value, attributes}`. */
function elementText(node: unknown): string | undefined {
  if (typeof node === "string") return node;
  if (typeof node === "object" && node !== null && "$value" in node) {
    const value = (node as { $value: unknown }).$value;
    return typeof value === "string" ? value : undefined;
  }
  return undefined;
}

function attributeOf(node: unknown, name: string): string | undefined {
  if (typeof node !== "object" || node === null || !("attributes" in node)) return undefined;
  const value = (node as { attributes: Record<string, unknown> }).attributes[name];
  return typeof value === "string" ? value : undefined;
}

/** The UsernameToken in the Security header as the `soap` package parsed it. */
function tokenOf(security: unknown): UsernameToken | undefined {
  if (typeof security !== "object" || security === null) return undefined;
  const token = (security as Record<string, unknown>).UsernameToken;
  if (typeof token !== "object" || token === null) return undefined;
  const t = token as Record<string, unknown>;
  return {
    username: elementText(t.Username),
    password: elementText(t.Password),
    passwordType: attributeOf(t.Password, "Type") ?? PASSWORD_TEXT,
    nonce: elementText(t.Nonce),
    created: elementText(t.Created),
  };
}

export interface SsoAgency {
  readonly routes: readonly DelegatedRoute[];
  /** Requests the `soap` package's server has dispatched to an operation (its own `request` event). */
  requestsHandled(): number;
}

function isWsdlRequest(method: string | undefined, url: URL): boolean {
  return method === "GET" && url.search.toLowerCase().startsWith("?wsdl");
}

/** Builds the agency: a `soap` package server attached to a private, never-listening HTTP server. */
export async function createSsoAgency(): Promise<SsoAgency> {
  // The soap package takes over an http.Server's request listeners; a private one it can own, to which
  // the HTTP face forwards this agency's requests once faults have had their say.
  const mount = createServer();
  const xml = WSDL_TEMPLATE.replace("{{LOCATION}}", `http://localhost${SSO_PATH}`);
  const server = await new Promise<SoapServer>((resolve, reject) => {
    const created: SoapServer = listen(mount, {
      path: SSO_PATH,
      services,
      xml,
      suppressStack: true,
      callback: (error: unknown) => (error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve(created)),
    });
  });
  server.authenticate = (security: unknown) => {
    const check = checkUsernameToken(tokenOf(security), DEMO_CREDENTIALS.sso);
    if (check === "missing") throw new ClientFault("wsse:InvalidSecurity: a WS-Security UsernameToken is required");
    if (check === "failed") throw new ClientFault("wsse:FailedAuthentication: the security token could not be authenticated");
    return true;
  };
  let handled = 0;
  server.on("request", () => {
    handled += 1;
  });

  const wsdl = (origin: string): string => WSDL_TEMPLATE.replace("{{LOCATION}}", escapeXml(`${origin}${SSO_PATH}`));
  const route: DelegatedRoute = {
    agency: "sso",
    methods: ["POST"],
    path: SSO_PATH,
    style,
    passThrough: (req, url) => isWsdlRequest(req.method, url),
    delegate(req: IncomingMessage, res: ServerResponse, body: Buffer | undefined) {
      if (body === undefined) {
        // The WSDL, with this face's own address in it.
        const encrypted = "encrypted" in req.socket && req.socket.encrypted === true;
        const text = wsdl(`${encrypted ? "https" : "http"}://${req.headers.host ?? "localhost"}`);
        res.writeHead(200, { "content-type": SOAP11_TYPE, "content-length": Buffer.byteLength(text) });
        res.end(text);
        return;
      }
      // The face has read the body already; the soap package takes a body handed over this way (as
      // from an Express body parser) instead of reading the stream.
      Object.assign(req, { body: body.length > 0 ? body : Buffer.from(" ") });
      mount.emit("request", req, res);
    },
  };
  return { routes: [route], requestsHandled: () => handled };
}
