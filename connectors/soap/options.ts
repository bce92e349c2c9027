// Options of the `soap` connector kind: the kind's own JSON Schemas, checked with Ajv when registry documents
// are validated, then resolved into typed, read-only objects.
import { ANSWER_LIMITS_SCHEMA, type AnswerLimits, limitsOf } from "../answer-limits.ts";
import { POOL_SCHEMA, type PoolSettings, poolSettingsOf, urlOption } from "../http-common.ts";
import { OUTCOME_SCHEMA, type OutcomeMapping, outcomeOf } from "../mapping.ts";
import { optionsSchema } from "../options.ts";

export interface UsernameTokenOptions {
  readonly username: string;
  readonly password: string;
  /** `text` sends the password; `digest` sends Base64(SHA-1(nonce + created + password)). */
  readonly passwordType: "text" | "digest";
}

export interface SoapEndpointOptions extends PoolSettings {
  /** The service's address, e.g. `https://ws.ssaa.example/CompanyInquiryService`. */
  readonly url: URL;
  readonly version: "1.1" | "1.2";
  /** WS-Security UsernameToken sent in every request's header. */
  readonly usernameToken: UsernameTokenOptions | undefined;
  readonly limits: AnswerLimits;
  readonly headers: Readonly<Record<string, string>>;
}

export type FaultOutcome = "not_found" | "rejected" | "unavailable" | "bad_response";

export interface SoapOperation {
  /** SOAPAction (1.1 header; 1.2 `action` parameter of the content type). */
  readonly action: string;
  /** Namespace of the request element. */
  readonly namespace: string;
  /** Request element's local name, e.g. `GetCompanyByNationalIdRequest`. */
  readonly request: string;
  /** Child elements of the request, in order: element name → `{param}` template (nested objects allowed). */
  readonly body: Readonly<Record<string, unknown>>;
  /** Dot path (local names) of the result inside the SOAP Body, e.g. `GetCompanyByNationalIdResponse.Company`. */
  readonly result: string;
  /** Result fields: name → dot path inside the result; empty keeps the result as it is. */
  readonly fields: Readonly<Record<string, string>>;
  /** Paths (inside the result) of elements that are always lists, even with one item. */
  readonly lists: readonly string[];
  /** Result fields (after mapping, `a.b` through lists) read as numbers or booleans instead of text. */
  readonly types: Readonly<Record<string, "integer" | "number" | "boolean">>;
  /** Business outcome stated by a code in the answer. */
  readonly outcome: OutcomeMapping | undefined;
  /** SOAP faults by code, subcode or detail element (local name) → what they mean. */
  readonly faults: Readonly<Record<string, FaultOutcome>>;
}

export const ENDPOINT_SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: ["url"],
  properties: {
    url: { type: "string", pattern: "^https?://", "x-message": "must be an http:// or https:// URL" },
    version: { enum: ["1.1", "1.2"], default: "1.1" },
    usernameToken: {
      type: "object",
      additionalProperties: false,
      required: ["username", "password"],
      properties: {
        username: { type: "string", minLength: 1 },
        password: { type: "string" },
        passwordType: { enum: ["text", "digest"], default: "text" },
      },
    },
    headers: { type: "object", additionalProperties: { type: "string" }, propertyNames: { pattern: "^[A-Za-z0-9-]+$" } },
    ...POOL_SCHEMA,
    ...ANSWER_LIMITS_SCHEMA,
  },
};

const NAME = "^[A-Za-z_][A-Za-z0-9_.-]*$";

export const OPERATION_SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: ["action", "namespace", "request", "result"],
  properties: {
    action: { type: "string" },
    namespace: { type: "string", minLength: 1 },
    request: { type: "string", pattern: NAME },
    body: { type: "object", propertyNames: { pattern: NAME } },
    result: { type: "string", minLength: 1 },
    fields: { type: "object", additionalProperties: { type: "string" } },
    lists: { type: "array", items: { type: "string", minLength: 1 } },
    types: { type: "object", additionalProperties: { enum: ["integer", "number", "boolean"] } },
    outcome: OUTCOME_SCHEMA,
    faults: { type: "object", additionalProperties: { enum: ["not_found", "rejected", "unavailable", "bad_response"] } },
  },
};

const endpoint = optionsSchema<SoapEndpointOptions>(ENDPOINT_SCHEMA, (o, path, issues) => {
  const url = urlOption(o.url, `${path}.url`, issues);
  const token = o.usernameToken as UsernameTokenOptions | undefined;
  return {
    url,
    version: o.version as "1.1" | "1.2",
    usernameToken: token,
    limits: limitsOf(o),
    headers: Object.fromEntries(Object.entries((o.headers ?? {}) as Record<string, string>).map(([k, v]) => [k.toLowerCase(), v])),
    ...poolSettingsOf(o, url, path, issues),
  };
});

const operation = optionsSchema<SoapOperation>(OPERATION_SCHEMA, (o) => ({
  action: o.action as string,
  namespace: o.namespace as string,
  request: o.request as string,
  body: (o.body ?? {}) as Record<string, unknown>,
  result: o.result as string,
  fields: (o.fields ?? {}) as Record<string, string>,
  lists: (o.lists ?? []) as string[],
  types: (o.types ?? {}) as Record<string, "integer" | "number" | "boolean">,
  outcome: outcomeOf(o.outcome),
  faults: (o.faults ?? {}) as Record<string, FaultOutcome>,
}));

export const validateEndpoint = endpoint.validate;
export const validateOperation = operation.validate;
