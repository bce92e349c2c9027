// The `soap` connector: SOAP 1.1 or 1.2 over HTTP, document/literal. The request element is built from the
// operation's templates, a WS-Security UsernameToken goes in the header when the endpoint has one, and the
// answer is read with the kept parser under the endpoint's limits (no DTD, no entities, bounded size, depth
// and element count). SOAP faults are mapped to business answers or catalogue errors as the operation says;
// unmapped Client/Sender faults are AGENCY_BAD_RESPONSE, Server/Receiver faults AGENCY_UNAVAILABLE.
import { createHash, randomBytes } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { EstelamError } from "../../core/errors.ts";
import { AnswerLimitError } from "../answer-limits.ts";
import type { Connector, ConnectorAnswer, ConnectorRequest, ConnectorTarget } from "../connector.ts";
import { abortError } from "../deadline.ts";
import { type BodyPlan, createPool, exchange } from "../http-common.ts";
import { fillValue, isJsonObject, mapFields, pick, readOutcome } from "../mapping.ts";
import { connectionFailure } from "../network-errors.ts";
import { createXmlGuard, escapeXml, parseXml } from "../xml.ts";
import type { FaultOutcome, SoapEndpointOptions, SoapOperation, UsernameTokenOptions } from "./options.ts";

const ENVELOPE_NS = { "1.1": "http://schemas.xmlsoap.org/soap/envelope/", "1.2": "http://www.w3.org/2003/05/soap-envelope" } as const;
const WSSE_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
const WSU_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd";
const TOKEN_PROFILE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0";
const BASE64 = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary";
const MAX_MESSAGE_CHARS = 500;

function securityHeader(token: UsernameTokenOptions): string {
  const user = `<wsse:Username>${escapeXml(token.username)}</wsse:Username>`;
  let secret: string;
  if (token.passwordType === "digest") {
    const nonce = randomBytes(16);
    const created = new Date().toISOString();
    const digest = createHash("sha1")
      .update(Buffer.concat([nonce, Buffer.from(created + token.password, "utf8")]))
      .digest("base64");
    secret =
      `<wsse:Password Type="${TOKEN_PROFILE}#PasswordDigest">${digest}</wsse:Password>` +
      `<wsse:Nonce EncodingType="${BASE64}">${nonce.toString("base64")}</wsse:Nonce><wsu:Created>${created}</wsu:Created>`;
  } else secret = `<wsse:Password Type="${TOKEN_PROFILE}#PasswordText">${escapeXml(token.password)}</wsse:Password>`;
  return `<wsse:Security xmlns:wsse="${WSSE_NS}" xmlns:wsu="${WSU_NS}"><wsse:UsernameToken>${user}${secret}</wsse:UsernameToken></wsse:Security>`;
}

/** Child elements from a filled template: scalars become text, objects nest, lists repeat the element. */
function elements(value: JsonValue | undefined, name: string): string {
  if (value === undefined || value === null) return "";
  if (Array.isArray(value)) return value.map((item) => elements(item, name)).join("");
  if (typeof value === "object") {
    const inner = Object.entries(value)
      .map(([k, v]) => elements(v, k))
      .join("");
    return `<m:${name}>${inner}</m:${name}>`;
  }
  return `<m:${name}>${escapeXml(String(value))}</m:${name}>`;
}

function localName(qualified: string): string {
  const colon = qualified.indexOf(":");
  return colon < 0 ? qualified : qualified.slice(colon + 1);
}

function textOf(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "object" && value !== null && typeof (value as Record<string, unknown>)["#text"] === "string")
    return (value as Record<string, string>)["#text"];
  return undefined;
}

interface Fault {
  /** Local names of the code, subcodes and detail elements. */
  readonly names: readonly string[];
  readonly code: string;
  readonly reason: string;
}

function readFault(fault: Record<string, unknown>): Fault {
  const names: string[] = [];
  let code = "";
  let reason = "";
  // SOAP 1.1: faultcode, faultstring, detail.
  const code11 = textOf(fault.faultcode);
  if (code11 !== undefined) {
    code = localName(code11.trim());
    names.push(code);
    reason = textOf(fault.faultstring) ?? "";
  }
  // SOAP 1.2: Code/Value with nested Subcode/Value, Reason/Text, Detail.
  let level: unknown = fault.Code;
  for (let i = 0; i < 8 && typeof level === "object" && level !== null; i++) {
    const value = textOf((level as Record<string, unknown>).Value);
    if (value !== undefined) {
      if (i === 0) code = localName(value.trim());
      names.push(localName(value.trim()));
    }
    level = (level as Record<string, unknown>).Subcode;
  }
  if (fault.Reason !== undefined) {
    const text = pick(fault.Reason, "Text");
    reason = textOf(Array.isArray(text) ? text[0] : text) ?? reason;
  }
  const detail = fault.detail ?? fault.Detail;
  if (typeof detail === "object" && detail !== null) names.push(...Object.keys(detail));
  return { names, code, reason: reason.slice(0, MAX_MESSAGE_CHARS) };
}

function coerce(value: unknown, steps: readonly string[], type: "integer" | "number" | "boolean"): unknown {
  if (Array.isArray(value)) return value.map((item) => coerce(item, steps, type));
  if (steps.length === 0) {
    if (typeof value !== "string") return value;
    if (type === "boolean") return value === "true" || value === "1" ? true : value === "false" || value === "0" ? false : value;
    const n = Number(value);
    if (value.trim() === "" || !Number.isFinite(n) || (type === "integer" && !Number.isInteger(n))) return value;
    return n;
  }
  if (!isJsonObject(value)) return value;
  const [head, ...rest] = steps as [string, ...string[]];
  if (Object.hasOwn(value, head)) (value as Record<string, unknown>)[head] = coerce(value[head], rest, type);
  return value;
}

export function createSoapConnector(options: SoapEndpointOptions, target: ConnectorTarget): Connector<SoapOperation> {
  const agency = target.agency;
  const envelopeNs = ENVELOPE_NS[options.version];
  const pool = createPool(options.url.origin, options);
  const path = options.url.pathname + options.url.search;
  const bad = (message: string): EstelamError => new EstelamError("AGENCY_BAD_RESPONSE", `agency '${agency}' ${message}`, { agency });

  function envelope(request: ConnectorRequest, operation: SoapOperation): string {
    const filled = fillValue(operation.body as JsonValue, request.params);
    const children = isJsonObject(filled)
      ? Object.entries(filled)
          .map(([name, value]) => elements(value, name))
          .join("")
      : "";
    const header = options.usernameToken === undefined ? "" : `<soap:Header>${securityHeader(options.usernameToken)}</soap:Header>`;
    return (
      `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="${envelopeNs}">${header}<soap:Body>` +
      `<m:${operation.request} xmlns:m="${escapeXml(operation.namespace)}">${children}</m:${operation.request}></soap:Body></soap:Envelope>`
    );
  }

  function headers(request: ConnectorRequest, operation: SoapOperation): Record<string, string> {
    const action = operation.action.replace(/"/g, "");
    const common = {
      ...options.headers,
      "x-estelam-inquiry-id": request.inquiryId,
      "x-estelam-inquiry-type": request.inquiryType,
      "x-estelam-requester": request.requester,
    };
    return options.version === "1.1"
      ? { ...common, "content-type": "text/xml; charset=utf-8", soapaction: `"${action}"`, accept: "text/xml" }
      : {
          ...common,
          "content-type": `application/soap+xml; charset=utf-8${action === "" ? "" : `; action="${action}"`}`,
          accept: "application/soap+xml",
        };
  }

  function faultAnswer(fault: Fault, operation: SoapOperation, statusCode: number): ConnectorAnswer {
    let meaning: FaultOutcome | undefined;
    for (const name of fault.names) {
      meaning = operation.faults[name];
      if (meaning !== undefined) break;
    }
    const message = fault.reason === "" ? `SOAP fault ${fault.code}` : fault.reason;
    if (meaning === "not_found") return { answer: "not_found", message };
    if (meaning === "rejected") return { answer: "rejected", message };
    if (meaning === undefined) meaning = fault.code === "Server" || fault.code === "Receiver" ? "unavailable" : "bad_response";
    if (meaning === "unavailable")
      throw new EstelamError(
        "AGENCY_UNAVAILABLE",
        `agency '${agency}' answered a SOAP fault (${fault.code}, HTTP ${statusCode}): ${message}`,
        {
          agency,
        },
      );
    throw bad(`refused the request with a SOAP fault (${fault.code}): ${message}`);
  }

  /** Reads an answer that says it is XML; never a redirect. */
  function plan(statusCode: number, responseHeaders: IncomingHttpHeaders): BodyPlan {
    const type = String(responseHeaders["content-type"] ?? "");
    if (statusCode >= 300 && statusCode < 400)
      return { refuse: bad(`answered a redirect (HTTP ${statusCode}), which the gateway does not follow`) };
    if (!/^(text|application)\/([a-z0-9.+-]*\+)?xml\s*(;|$)/i.test(type)) {
      if (statusCode >= 500 || statusCode === 408 || statusCode === 429)
        return { refuse: new EstelamError("AGENCY_UNAVAILABLE", `agency '${agency}' answered HTTP ${statusCode}`, { agency }) };
      return { refuse: bad(`answered HTTP ${statusCode} with content type '${type.slice(0, 100) || "none"}', not XML`) };
    }
    return { guard: createXmlGuard(options.limits) };
  }

  return {
    kind: "soap",
    endpoint: `${agency}/${target.endpoint}`,
    async call(request, operation) {
      let statusCode = 0;
      let document: Record<string, unknown> | undefined;
      try {
        const response = await exchange(
          pool,
          { path, method: "POST", headers: headers(request, operation), body: envelope(request, operation), signal: request.signal },
          (status, responseHeaders) => {
            statusCode = status;
            return plan(status, responseHeaders);
          },
        );
        const bytes = response.body;
        const lists = operation.lists.map((list) => `Envelope.Body.${operation.result}.${list}`);
        try {
          document = parseXml(bytes.toString("utf8"), (jpath) => lists.includes(jpath));
        } catch (error) {
          if (error instanceof AnswerLimitError) throw error;
          document = undefined;
        }
      } catch (error) {
        if (request.signal.aborted) throw abortError(request.signal, agency);
        if (error instanceof AnswerLimitError) throw bad(error.message);
        if (error instanceof EstelamError) throw error;
        throw connectionFailure(error, agency);
      }
      const body = pick(document, "Envelope.Body");
      if (!isJsonObject(body)) {
        if (statusCode >= 500) throw new EstelamError("AGENCY_UNAVAILABLE", `agency '${agency}' answered HTTP ${statusCode}`, { agency });
        throw bad(`answered HTTP ${statusCode} with XML that is not a SOAP envelope`);
      }
      const fault = body.Fault;
      if (isJsonObject(fault)) return faultAnswer(readFault(fault), operation, statusCode);
      if (statusCode < 200 || statusCode >= 300) {
        if (statusCode >= 500) throw new EstelamError("AGENCY_UNAVAILABLE", `agency '${agency}' answered HTTP ${statusCode}`, { agency });
        throw bad(`answered HTTP ${statusCode} without a SOAP fault`);
      }
      const result = pick(body, operation.result);
      if (operation.outcome !== undefined) {
        const { outcome, code, message } = readOutcome(operation.outcome, result);
        if (outcome === "not_found") return { answer: "not_found", message: message || "no record found" };
        if (outcome === "rejected") return { answer: "rejected", message: message || "the agency declined the inquiry" };
        if (outcome === "unknown") throw bad(`answered an unknown outcome code '${String(code).slice(0, 40)}'`);
      }
      if (!isJsonObject(result)) throw bad(`answered without the '${operation.result}' element`);
      let mapped: JsonObject = Object.keys(operation.fields).length === 0 ? result : mapFields(result, operation.fields);
      for (const [field, type] of Object.entries(operation.types)) mapped = coerce(mapped, field.split("."), type) as JsonObject;
      return { answer: "found", result: mapped };
    },
    async warm(signal) {
      // Opens one connection (TCP and TLS); the service description is a harmless thing to ask for.
      const response = await pool.dispatcher.request({ path: `${options.url.pathname}?wsdl`, method: "GET", signal });
      await response.body.dump();
    },
    async close() {
      await pool.close();
    },
  };
}
