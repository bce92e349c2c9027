// Options of the `http-json` connector kind: the kind's own JSON Schemas, checked with Ajv when registry
// documents are validated (connectors/options.ts), then resolved into typed, read-only objects.
import type { JsonValue } from "@bufbuild/protobuf";
import { ANSWER_LIMITS_SCHEMA, type AnswerLimits, limitsOf } from "../answer-limits.ts";
import { type HttpTls, POOL_SCHEMA, type PoolSettings, poolSettingsOf, urlOption } from "../http-common.ts";
import { OUTCOME_SCHEMA, type OutcomeMapping, outcomeOf } from "../mapping.ts";
import { optionsSchema } from "../options.ts";

export type HttpAuth =
  | { readonly kind: "none" }
  | { readonly kind: "bearer"; readonly token: string }
  | { readonly kind: "basic"; readonly username: string; readonly password: string }
  | { readonly kind: "api-key"; readonly header: string; readonly value: string };

export type { HttpTls };

export interface HttpJsonEndpointOptions extends PoolSettings {
  /** Origin (and optional path prefix) of the agency's service, e.g. `https://api.nocr.example/v1`. */
  readonly baseUrl: URL;
  /** Size, nesting and key limits of an answer; a larger one is AGENCY_BAD_RESPONSE. */
  readonly limits: AnswerLimits;
  /** Extra request headers. */
  readonly headers: Readonly<Record<string, string>>;
  readonly auth: HttpAuth;
}

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

export interface HttpJsonOperation {
  readonly method: HttpMethod;
  /** Path under the base URL with `{param}` placeholders, e.g. `/passport/v1/citizens/{national_code}/passport`. */
  readonly path: string;
  /** Query parameters: name → template; a parameter whose placeholder is absent is left out. */
  readonly query: Readonly<Record<string, string>>;
  /** Request headers: name → template. */
  readonly headers: Readonly<Record<string, string>>;
  /** JSON body template; undefined sends the params as they are (POST, PUT, PATCH) or nothing (GET, DELETE). */
  readonly body: JsonValue | undefined;
  /** Dot path of the result object in the agency's answer ("" = the whole answer). */
  readonly result: string;
  /** Result fields: name → dot path inside the result object; empty keeps the result as it is. */
  readonly fields: Readonly<Record<string, string>>;
  /** Business outcome stated by a code in a 2xx answer. */
  readonly outcome: OutcomeMapping | undefined;
  /** HTTP statuses that mean "no record" (a business answer). */
  readonly notFoundStatuses: ReadonlySet<number>;
  /** HTTP statuses that mean "declined for a business reason"; by default every other 4xx but 401, 407, 408, 429. */
  readonly rejectedStatuses: ReadonlySet<number> | "other-4xx";
  /** Where the agency puts its explanation in error answers. */
  readonly messagePaths: readonly string[];
}

const STRING_MAP = { type: "object", additionalProperties: { type: "string" }, propertyNames: { pattern: "^[A-Za-z0-9_.-]+$" } };
const HEADER_MAP = { type: "object", additionalProperties: { type: "string" }, propertyNames: { pattern: "^[A-Za-z0-9-]+$" } };
const STATUSES = { type: "array", items: { type: "integer", minimum: 400, maximum: 499 } };

export const ENDPOINT_SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: ["baseUrl"],
  properties: {
    baseUrl: { type: "string", pattern: "^https?://", "x-message": "must be an http:// or https:// URL" },
    ...POOL_SCHEMA,
    ...ANSWER_LIMITS_SCHEMA,
    headers: HEADER_MAP,
    auth: {
      type: "object",
      additionalProperties: false,
      minProperties: 1,
      maxProperties: 1,
      properties: {
        bearer: { type: "string", minLength: 1 },
        basic: {
          type: "object",
          additionalProperties: false,
          required: ["username", "password"],
          properties: { username: { type: "string", pattern: "^[^:]*$" }, password: { type: "string" } },
        },
        apiKey: {
          type: "object",
          additionalProperties: false,
          required: ["header", "value"],
          properties: { header: { type: "string", pattern: "^[A-Za-z0-9-]+$" }, value: { type: "string", minLength: 1 } },
        },
      },
    },
  },
};

export const OPERATION_SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: ["path"],
  properties: {
    method: { enum: ["GET", "POST", "PUT", "PATCH", "DELETE"], default: "POST" },
    path: { type: "string", pattern: "^/" },
    query: STRING_MAP,
    headers: HEADER_MAP,
    body: {},
    result: { type: "string", default: "" },
    fields: STRING_MAP,
    outcome: OUTCOME_SCHEMA,
    notFoundStatuses: STATUSES,
    rejectedStatuses: STATUSES,
    messagePaths: { type: "array", items: { type: "string" } },
  },
};

const endpoint = optionsSchema<HttpJsonEndpointOptions>(ENDPOINT_SCHEMA, (o, path, issues) => {
  const baseUrl = urlOption(o.baseUrl, `${path}.baseUrl`, issues);
  if (baseUrl.search !== "") issues.push({ path: `${path}.baseUrl`, message: "must not have a query" });
  const a = (o.auth ?? {}) as {
    bearer?: string;
    basic?: { username: string; password: string };
    apiKey?: { header: string; value: string };
  };
  const auth: HttpAuth =
    a.bearer !== undefined
      ? { kind: "bearer", token: a.bearer }
      : a.basic !== undefined
        ? { kind: "basic", ...a.basic }
        : a.apiKey !== undefined
          ? { kind: "api-key", header: a.apiKey.header.toLowerCase(), value: a.apiKey.value }
          : { kind: "none" };
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries((o.headers ?? {}) as Record<string, string>)) headers[name.toLowerCase()] = value;
  return {
    baseUrl,
    ...poolSettingsOf(o, baseUrl, path, issues),
    limits: limitsOf(o),
    headers,
    auth,
  };
});

const operation = optionsSchema<HttpJsonOperation>(OPERATION_SCHEMA, (o) => ({
  method: o.method as HttpMethod,
  path: o.path as string,
  query: (o.query ?? {}) as Record<string, string>,
  headers: Object.fromEntries(Object.entries((o.headers ?? {}) as Record<string, string>).map(([k, v]) => [k.toLowerCase(), v])),
  body: o.body as JsonValue | undefined,
  result: o.result as string,
  fields: (o.fields ?? {}) as Record<string, string>,
  outcome: outcomeOf(o.outcome),
  notFoundStatuses: new Set((o.notFoundStatuses as number[] | undefined) ?? [404]),
  rejectedStatuses: o.rejectedStatuses === undefined ? "other-4xx" : new Set(o.rejectedStatuses as number[]),
  messagePaths: (o.messagePaths as string[] | undefined) ?? ["message", "error.message", "Message", "comment", "detail"],
}));

export const validateEndpoint = endpoint.validate;
export const validateOperation = operation.validate;
